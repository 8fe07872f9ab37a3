"""Shortcuts on the hot-plug path give what the QEMU-shaped paths give.

A backend + DIMM hot-plug takes a few shortcuts for the common, well-formed
case (performance: docs/performance.md): the request check skips QDict
order when no member is wrong, object-add's arguments skip the QAPI
visitor when no value can fail, a class property is resolved once per
class.  Each either declines (the full path runs) or answers exactly as the
full path; these properties compare the two on generated input, and check
that the shortcut is taken where it should be.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from conftest import backend, device_add, dimm, make_machine
from hypothesis import given, settings
from hypothesis import strategies as st

from memdevd.machine import qom
from memdevd.machine.errors import CoreError
from memdevd.qapi import object_options
from memdevd.qapi.object_members import MEMBERS
from memdevd.qapi.object_options import ObjectOptionsError, visit_object_options
from memdevd.qmp.errors import QMPError
from memdevd.qmp.registry import Registry
from memdevd.qmp.server import Server
from memdevd.qmp.session import Session
from memdevd.releases.table import get_release
from memdevd.util.qemu_opts import id_wellformed

VERSIONS = ("7.2", "8.2", "10.0")

# --- the request check (qmp_dispatch_check_obj) ---------------------------------

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.text(max_size=3), st.just("query-version")
)
member_values = st.one_of(scalars, st.dictionaries(st.text(max_size=2), scalars, max_size=2))
requests = st.dictionaries(
    st.sampled_from(["execute", "arguments", "id", "exec-oob", "control", "x"]),
    member_values,
    max_size=4,
)


def _outcome(check: Any, request: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "ok", check(request)
    except QMPError as err:
        return "error", (err.error_class, err.desc)


@settings(max_examples=500, deadline=None)
@given(request=requests, oob=st.booleans())
def test_request_check_agrees_with_qdict_order(request: dict[str, Any], oob: bool) -> None:
    session = Session(Server(Registry(), {}))
    session.capabilities = frozenset({"oob"} if oob else ())
    assert _outcome(session._check_request, request) == _outcome(
        session._check_request_in_order, request
    )


def test_request_check_shortcut_is_taken() -> None:
    session = Session(Server(Registry(), {}))
    args = {"driver": "pc-dimm"}
    with mock.patch.object(session, "_check_request_in_order", side_effect=AssertionError):
        assert session._check_request({"execute": "device_add", "arguments": args}) == (
            "device_add",
            args,
            False,
        )
        assert session._check_request({"execute": "query-version", "id": 1}) == (
            "query-version",
            {},
            False,
        )


# --- object-add's arguments (visit_type_ObjectOptions) ---------------------------


def _visited(args: dict[str, Any], version: str) -> tuple[str, Any]:
    try:
        return "ok", visit_object_options(args, get_release(version))
    except ObjectOptionsError as err:
        return "error", err.desc


def _visited_in_full(args: dict[str, Any], version: str) -> tuple[str, Any]:
    with mock.patch.object(object_options, "_well_formed", return_value=None):
        return _visited(args, version)


def _valid_value(spec: Any) -> st.SearchStrategy[Any]:
    if spec == "bool":
        return st.booleans()
    if spec == "str":
        return st.text(max_size=3)
    if isinstance(spec, tuple) and spec[0] == "enum":
        return st.sampled_from(spec[1])
    if isinstance(spec, tuple):
        return st.lists(st.integers(0, 65535), max_size=2)
    return st.integers(0, (1 << 32) - 1)


any_value = st.one_of(
    st.booleans(),
    st.integers(-(2**64) - 1, 2**65),
    st.sampled_from([-1, 0, (1 << 64) - 1, 1 << 64, -(1 << 63), "", "bind", "on"]),
    st.text(max_size=4),
    st.lists(st.integers(-1, 70000), max_size=2),
    st.none(),
    st.floats(allow_nan=False),
    st.dictionaries(st.text(max_size=1), st.integers(), max_size=1),
)


@st.composite
def object_arguments(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """Mostly valid arguments of an emulated type, with a few changes."""
    version = draw(st.sampled_from(VERSIONS))
    table = MEMBERS[get_release(version).recorded_as]
    qom_type = draw(st.sampled_from(list(table)))
    members = table[qom_type]
    args: dict[str, Any] = {"qom-type": qom_type, "id": "m0"}
    for name, spec, optional in members:
        if not optional or draw(st.integers(0, 3)) == 0:
            args[name] = draw(_valid_value(spec))
    names = [name for name, _, _ in members]
    keys = st.sampled_from([*names, "qom-type", "id", "bogus", "size"])
    for key in draw(st.lists(keys, max_size=2)):
        if draw(st.booleans()):
            args.pop(key, None)
        else:
            args[key] = draw(any_value | st.sampled_from(["iothread", "m1", 7]))
    if draw(st.booleans()):
        # Another insertion order: the properties' order comes from QDict.
        args = dict(draw(st.permutations(list(args.items()))))
    return args, version


@settings(max_examples=800, deadline=None)
@given(case=object_arguments())
def test_object_arguments_agree_with_the_visitor(case: tuple[dict[str, Any], str]) -> None:
    args, version = case
    fast = _visited(args, version)
    assert fast == _visited_in_full(args, version)
    if fast[0] == "ok":
        # Same properties, same order: QEMU sets them in this order.
        assert list(fast[1][0]) == list(_visited_in_full(args, version)[1][0])


@pytest.mark.parametrize("version", VERSIONS)
def test_object_arguments_shortcut_is_taken(version: str) -> None:
    args = {"qom-type": "memory-backend-file", "id": "m0", "size": 1 << 30, "share": True}
    args["mem-path"] = "/dev/shm/x"
    args["policy"] = "bind"
    with mock.patch.object(object_options, "InputVisitor", side_effect=AssertionError):
        props, qom_type, obj_id = visit_object_options(args, get_release(version))
    assert (qom_type, obj_id) == ("memory-backend-file", "m0")
    assert props == {"size": 1 << 30, "share": True, "mem-path": "/dev/shm/x", "policy": "bind"}


# --- id_wellformed (util/id.c) ---------------------------------------------------


def _id_wellformed_by_char(text: str) -> bool:
    def alpha(c: str) -> bool:
        return "a" <= c <= "z" or "A" <= c <= "Z"

    if not text or not alpha(text[0]):
        return False
    return all(alpha(c) or "0" <= c <= "9" or c in "-._" for c in text[1:])


@settings(max_examples=500, deadline=None)
@given(text=st.text(alphabet=st.sampled_from("aZ09-._ \n\x00é٣ﬁK"), max_size=6) | st.text())
def test_id_wellformed_is_qemus(text: str) -> None:
    assert id_wellformed(text) == _id_wellformed_by_char(text)


# --- class properties resolved once ---------------------------------------------


def _behaviour(target: qom.QOMObject, prop: qom.Prop | None) -> tuple[Any, ...]:
    """What a client sees of a property: qom-list's entry and qom-get's value."""
    assert prop is not None
    try:
        value = prop.get(target) if prop.get is not None else None
    except CoreError as err:
        value = ("error", err.desc)
    return prop.name, prop.type, prop.get is None, prop.set is None, prop.static, value


def test_class_property_lookup_is_the_uncached_one() -> None:
    # Machines of every version and both boards in one process share the
    # cache; each object must still get what properties() lists for it.
    targets: list[qom.QOMObject] = []
    for version in VERSIONS:
        for board in ("pc", "q35"):
            m = make_machine(version, board, nvdimm=True)
            backend(m, "m0", "1G")
            backend(m, "m1", "1G")
            targets += [m.objects.children["m0"], dimm(m, "d0", "m0")]
            targets.append(device_add(m, driver="nvdimm", id="nv0", memdev="m1"))
    for target in targets:
        listed = {p.name: p for p in target.properties()}
        first = {name: target.find_prop(name) for name in listed}
        again = {name: target.find_prop(name) for name in listed}
        with mock.patch.dict(qom._SHARED_FOUND, clear=True):
            fresh = {name: target.find_prop(name) for name in listed}
        assert qom._SHARED_FOUND, "class properties are resolved once"
        for name, prop in listed.items():
            seen = _behaviour(target, prop)
            assert _behaviour(target, first[name]) == seen, name
            assert _behaviour(target, again[name]) == seen, name
            assert _behaviour(target, fresh[name]) == seen, name


def test_an_instance_property_added_later_wins_on_that_instance_only() -> None:
    m = make_machine("10.0")
    backend(m, "m0", "1G")
    backend(m, "m1", "1G")
    a, b = m.objects.children["m0"], m.objects.children["m1"]
    shared = a.find_prop("merge")
    assert shared is not None and b.find_prop("merge") == shared
    own = qom.Prop("merge", "bool", get=lambda o: True)
    a.add_prop(own)
    assert a.find_prop("merge") is own
    assert b.find_prop("merge") == shared
