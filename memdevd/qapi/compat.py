"""QMP's compatibility policy: ``-compat`` (qapi/compat.json ``CompatPolicy``).

What QEMU does with the schema's special features (``deprecated``,
``unstable``) once ``-compat`` says so:

* input ``reject``: a command with the feature fails before its arguments
  are looked at (qmp-dispatch.c, CommandNotFound), a member given with it
  (or a mandatory one) fails as ``Deprecated parameter NAME disabled by
  policy`` and an enum value as ``... value NAME ...`` (the input
  visitor's ``visit_policy_reject``, GenericError); ``crash`` aborts the
  process there (``compat_policy_input_ok1``'s ``abort()``);
* output ``hide``: a member with the feature is left out of a reply or an
  event's data (the output visitor's ``visit_policy_skip``), an event with
  it is not sent, and with ``deprecated-output=hide`` query-qmp-schema
  leaves out deprecated entities and object members (``zap_deprecated``).

The features come from the release's introspection (the types memdevd's
query-qmp-schema serves): this module walks a command's arguments and
replies with those types, in the order QEMU's generated visitors visit them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from memdevd import messages as M
from memdevd.records import record

__all__ = ["CompatPolicy", "PolicyChecker", "PolicyRejected", "input_ok", "zap_deprecated"]


@record(frozen=True)
class CompatPolicy:
    """``CompatPolicy``: each member ``accept`` when -compat does not say
    (the last -compat replaces the whole policy, QAPI_CLONE_MEMBERS)."""

    deprecated_input: str = "accept"
    deprecated_output: str = "accept"
    unstable_input: str = "accept"
    unstable_output: str = "accept"

    @classmethod
    def from_visited(cls, visited: Mapping[str, Any]) -> CompatPolicy:
        return cls(
            str(visited.get("deprecated-input", "accept")),
            str(visited.get("deprecated-output", "accept")),
            str(visited.get("unstable-input", "accept")),
            str(visited.get("unstable-output", "accept")),
        )

    @property
    def is_default(self) -> bool:
        return self == CompatPolicy()

    def hides(self, features: Iterable[str]) -> bool:
        """``qobject_output_policy_skip``."""
        feats = set(features)
        return ("deprecated" in feats and self.deprecated_output == "hide") or (
            "unstable" in feats and self.unstable_output == "hide"
        )


class PolicyRejected(Exception):
    """An input the policy rejects: QEMU's text (the caller knows the class)."""

    def __init__(self, desc: str) -> None:
        super().__init__(desc)
        self.desc = desc


def input_ok(features: Iterable[str], policy: CompatPolicy, kind: str, name: str) -> None:
    """``compat_policy_input_ok``: deprecated first, then unstable."""
    feats = set(features)
    for feature, adjective, action in (
        ("deprecated", "Deprecated", policy.deprecated_input),
        ("unstable", "Unstable", policy.unstable_input),
    ):
        if feature not in feats or action == "accept":
            continue
        if action == "reject":
            raise PolicyRejected(M.COMPAT_POLICY_DISABLED.format(adjective, kind, name))
        os.abort()  # crash: QEMU's abort()


#: a JSON value's kind -> the introspection json-types an alternative may have
_JSON_KIND = {
    dict: ("object",),
    list: ("array",),
    str: ("string",),
    bool: ("boolean",),
    int: ("int", "number"),
    float: ("number",),
    type(None): ("null",),
}


class PolicyChecker:
    """The policy over one schema (introspection entries by name)."""

    def __init__(self, entries: Iterable[Mapping[str, Any]], policy: CompatPolicy) -> None:
        self.by_name: dict[str, Mapping[str, Any]] = {e["name"]: e for e in entries}
        self.policy = policy

    def features(self, name: str) -> list[str]:
        """A command's or event's features (none if the schema lacks it)."""
        return list(self.by_name.get(name, {}).get("features", ()))

    # -- input -------------------------------------------------------------------

    def check_command(self, name: str) -> None:
        """qmp_dispatch's check of the command itself (CommandNotFound)."""
        input_ok(self.features(name), self.policy, "command", name)

    def check_arguments(self, command: str, args: Mapping[str, Any]) -> None:
        """The marshaller's visit of ``args``: each member's features before
        its value, the branch the tag selects after the common members."""
        entry = self.by_name.get(command)
        if entry is None or "arg-type" not in entry:
            return
        self._in(str(entry["arg-type"]), args)

    def _in(self, type_name: str, value: Any) -> None:
        entry = self.by_name.get(type_name)
        if entry is None:
            return
        meta = entry["meta-type"]
        if meta == "object" and isinstance(value, dict):
            self._in_members(entry, value)
        elif meta == "enum" and isinstance(value, str):
            for member in entry.get("members", ()):
                if member["name"] == value:
                    input_ok(member.get("features", ()), self.policy, "value", value)
        elif meta == "array" and isinstance(value, list):
            for item in value:
                self._in(str(entry["element-type"]), item)
        elif meta == "alternate":
            branch = self._alternative(entry, value)
            if branch is not None:
                self._in(branch, value)

    def _in_members(self, entry: Mapping[str, Any], value: dict[str, Any]) -> None:
        for member in entry.get("members", ()):
            name = member["name"]
            if "default" in member and name not in value:
                continue
            input_ok(member.get("features", ()), self.policy, "parameter", name)
            if name in value:
                self._in(str(member["type"]), value[name])
        variant = self._variant(entry, value)
        if variant is not None:
            self._in_members(variant, value)

    def _variant(self, entry: Mapping[str, Any], value: dict[str, Any]) -> Mapping[str, Any] | None:
        tag = entry.get("tag")
        if tag is None:
            return None
        for variant in entry.get("variants", ()):
            if variant["case"] == value.get(tag):
                return self.by_name.get(str(variant["type"]))
        return None

    def _alternative(self, entry: Mapping[str, Any], value: Any) -> str | None:
        kinds = _JSON_KIND.get(type(value), ())
        for member in entry.get("members", ()):
            alt = self.by_name.get(str(member["type"]))
            if alt is None:
                continue
            meta = alt["meta-type"]
            json = alt.get("json-type") if meta == "builtin" else meta
            if json == "enum":
                json = "string"
            if json in kinds:
                return str(member["type"])
        return None

    # -- output ------------------------------------------------------------------

    def hide_reply(self, command: str, value: Any) -> Any:
        """A reply as the output visitor writes it (hidden members left out)."""
        entry = self.by_name.get(command)
        if entry is None or "ret-type" not in entry:
            return value
        return self._out(str(entry["ret-type"]), value)

    def event(self, name: str, data: Any) -> tuple[bool, Any]:
        """(whether the event is sent, its data as the output visitor writes it)."""
        entry = self.by_name.get(name)
        if entry is None:
            return True, data
        if self.policy.hides(entry.get("features", ())):
            return False, data
        if data is None or "arg-type" not in entry:
            return True, data
        return True, self._out(str(entry["arg-type"]), data)

    def _out(self, type_name: str, value: Any) -> Any:
        entry = self.by_name.get(type_name)
        if entry is None:
            return value
        meta = entry["meta-type"]
        if meta == "object" and isinstance(value, dict):
            members = {m["name"]: m for m in entry.get("members", ())}
            variant = self._variant(entry, value)
            if variant is not None:
                members.update({m["name"]: m for m in variant.get("members", ())})
            out = {}
            for key, item in value.items():
                member = members.get(key)
                if member is None:
                    out[key] = item
                elif not self.policy.hides(member.get("features", ())):
                    out[key] = self._out(str(member["type"]), item)
            return out
        if meta == "array" and isinstance(value, list):
            element = str(entry["element-type"])
            return [self._out(element, item) for item in value]
        if meta == "alternate":
            branch = self._alternative(entry, value)
            return value if branch is None else self._out(branch, value)
        return value


def zap_deprecated(schema: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """query-qmp-schema under ``deprecated-output=hide``: deprecated entities
    and deprecated object members left out (qmp-cmds-control.c)."""
    out = []
    for entry in schema:
        if "deprecated" in entry.get("features", ()):
            continue
        if entry["meta-type"] == "object":
            members = [m for m in entry["members"] if "deprecated" not in m.get("features", ())]
            if len(members) != len(entry["members"]):
                entry = {**entry, "members": members}
        out.append(entry)
    return out
