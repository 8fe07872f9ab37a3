"""The x86 CPU models of a release and what ``-cpu model,opts`` makes of them.

Ports of target/i386/cpu.c as far as the memory map needs it:

* the models (``builtin_x86_defs`` with versions and aliases) as the
  recording lists them (``cpu-models.json``, tools/record_cpu_models.py):
  each model's flags and properties under TCG (``query-cpu-model-expansion``
  type ``full``), ``-cpu help`` verbatim;
* ``x86_cpu_parse_featurestr``: ``+feat``, ``-feat`` and ``name[=value]``
  (the globals of the model's type) with the "Ambiguous" warnings;
* the realize steps that decide the memory map and the start-up outcome:
  applying the globals (``can't apply global ...``), ``+``/``-`` features
  (``x86_cpu_expand_features``), TCG's filter with its warnings and
  ``enforce`` (``x86_cpu_filter_features``), and the physical address width
  (``x86_cpu_realizefn``, host-cpu.c ``host_cpu_adjust_phys_bits``).

The file is read only for a model or an option the vCPU sample of
``cpus.json`` does not answer (plain ``qemu64`` and ``max`` start
without it).  Feature dependencies (``feature_dependencies``) are not
applied to options: a flag turned off does not turn off what depends on it.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from memdevd import messages as M
from memdevd.machine.errors import CoreError
from memdevd.qapi.visitor import InputVisitor, VisitError
from memdevd.records import record
from memdevd.releases.recorded import recording

if TYPE_CHECKING:
    from memdevd.releases.table import Release

TARGET = "x86_64"
#: TCG_PHYS_ADDR_BITS and TARGET_PHYS_ADDR_SPACE_BITS (target/i386/cpu.h).
TCG_PHYS_ADDR_BITS = 40
TARGET_PHYS_ADDR_SPACE_BITS = 52
AMD_VENDOR = "AuthenticAMD"


class CpuModels:
    """One release's CPU models (``cpu-models.json`` of its recording)."""

    def __init__(self, release: Release) -> None:
        self.data: dict[str, Any] = recording(TARGET, release).load("cpu-models")
        self.absent = release.cpu_models_absent

    def names(self) -> list[str]:
        return [d["name"] for d in self.data["definitions"] if d["name"] not in self.absent]

    def exists(self, name: str) -> bool:
        return name not in self.absent and name in self.data["models"]

    def definitions(self) -> list[dict[str, Any]]:
        """``query-cpu-definitions`` under TCG, the release's models only."""
        return [d for d in self.data["definitions"] if d["name"] not in self.absent]

    def help_text(self) -> str:
        """``-cpu help`` (``x86_cpu_list``), without the models the release lacks."""
        lines = self.data["help"].splitlines(keepends=True)
        return "".join(
            line
            for line in lines
            if not (line.startswith("  ") and line.split(None, 1)[0] in self.absent)
        )

    @property
    def properties(self) -> dict[str, str]:
        props: dict[str, str] = self.data["properties"]
        return props

    @property
    def aliases(self) -> dict[str, str]:
        aliases: dict[str, str] = self.data["aliases"]
        return aliases

    @property
    def flags(self) -> frozenset[str]:
        return _flag_set(id(self.data), tuple(self.data["flags"]))

    def tcg_unsupported(self) -> list[list[str]]:
        """[flag, warning text] in the order QEMU warns."""
        out: list[list[str]] = self.data["tcg-unsupported"]
        return out

    def model(self, name: str) -> tuple[set[str], dict[str, Any]]:
        """The model's flags that are on and its other properties."""
        entry = self.data["models"][name]
        props = dict(self.data["base-props"])
        props.update(entry["props"])
        return set(entry["features"]), props


@cache
def _flag_set(_key: int, flags: tuple[str, ...]) -> frozenset[str]:
    return frozenset(flags)


_MODELS: dict[str, CpuModels] = {}


def cpu_models(release: Release) -> CpuModels:
    found = _MODELS.get(release.version)
    if found is None:
        found = _MODELS[release.version] = CpuModels(release)
    return found


# --- x86_cpu_parse_featurestr --------------------------------------------------------


@record(frozen=True)
class FeatureString:
    """``-cpu``'s options: the ``+``/``-`` lists and the globals, in order."""

    plus: tuple[str, ...]
    minus: tuple[str, ...]
    globals: tuple[tuple[str, str], ...]


def feat2prop(name: str) -> str:
    return name.replace("_", "-")


def parse_featurestr(features: str) -> tuple[FeatureString, list[str]]:
    """The options and the warnings QEMU prints while parsing them."""
    plus: list[str] = []
    minus: list[str] = []
    globals_: list[tuple[str, str]] = []
    warnings: list[str] = []
    ambiguous = False
    for token in features.split(","):
        if not token:
            continue  # strtok() skips empty tokens
        if token[0] == "+":
            plus.append(token[1:])
            continue
        if token[0] == "-":
            minus.append(token[1:])
            continue
        name, eq, value = token.partition("=")
        if not eq:
            value = "on"
        name = feat2prop(name)
        if name in plus:
            warnings.append(M.CPU_AMBIGUOUS_FEATURE.format("+", name, name, value))
            ambiguous = True
        if name in minus:
            warnings.append(M.CPU_AMBIGUOUS_FEATURE.format("-", name, name, value))
            ambiguous = True
        if name == "tsc-freq":
            freq = _strtosz_metric(value)
            if freq is None or freq > (1 << 63) - 1:
                raise CoreError(M.CPU_BAD_TSC_FREQ.format(value))
            name, value = "tsc-frequency", str(freq)
        globals_.append((name, value))
    if ambiguous:
        warnings.append(M.CPU_AMBIGUOUS_COMPAT)
    return FeatureString(tuple(plus), tuple(minus), tuple(globals_)), warnings


def _strtosz_metric(text: str) -> int | None:
    """``qemu_strtosz_metric``: a number with an optional metric suffix."""
    units = {"": 1, "b": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "p": 10**15}
    digits = text.rstrip("bBkKmMgGtTpPeE")
    suffix = text[len(digits) :].lower()
    if suffix not in units:
        return None
    try:
        number = float(digits) if "." in digits else int(digits, 10)
    except ValueError:
        return None
    return int(number * units[suffix])


# --- realize ---------------------------------------------------------------------------


@record
class VcpuState:
    """What a realized vCPU is, as far as memdevd reads it."""

    model: str
    flags: set[str]
    props: dict[str, Any]
    phys_bits: int
    filtered: list[str]

    @property
    def vendor(self) -> str:
        return str(self.props.get("vendor", ""))

    @property
    def long_mode(self) -> bool:
        return "lm" in self.flags

    @property
    def is_amd(self) -> bool:
        return self.vendor == AMD_VENDOR


def _set_prop(
    models: CpuModels | None,
    release: Release,
    typename: str,
    state: VcpuState,
    name: str,
    value: str | bool,
) -> None:
    """``object_property_parse``/``set_bool`` of one property; CoreError as QEMU."""
    assert models is not None
    kind = models.properties.get(name)
    if kind is None and name in state.props:
        # the model's own properties (max's and host's "migratable")
        value_now = state.props[name]
        kind = (
            "bool"
            if isinstance(value_now, bool)
            else "str"
            if isinstance(value_now, str)
            else "int"
        )
    if kind is None:
        raise CoreError(M.PROPERTY_NOT_FOUND.format(typename, name))
    flag = models.aliases.get(name, name)
    visitor = InputVisitor(value, string=True) if isinstance(value, str) else None
    try:
        if kind == "bool":
            on = visitor.type_bool(name) if visitor is not None else bool(value)
            if flag in models.flags:
                if on:
                    state.flags.add(flag)
                else:
                    state.flags.discard(flag)
            else:
                state.props[name] = on
            return
        if visitor is None:
            raise CoreError(M.INVALID_PARAMETER_TYPE.format(name, kind))
        if kind in ("string", "str"):
            text = visitor.type_str(name)
            if name == "vendor" and len(text) != 12:
                raise CoreError(release.cpu_vendor_length_text.format(text))
            state.props[name] = text
        elif kind in ("int", "int8", "int16", "int32", "int64") or kind.startswith("uint"):
            state.props[name] = visitor.type_int(name, kind)
        else:
            visitor.type_str(name)  # (enums, lists: not read by memdevd)
            state.props[name] = value
    except VisitError as exc:
        raise CoreError(exc.desc) from None


def realize_vcpu(
    release: Release,
    model: str,
    features: FeatureString,
    *,
    accel: str,
    host_phys_bits: int,
    warnings: list[str],
    base: tuple[set[str], dict[str, Any]] | None = None,
) -> VcpuState:
    """A vCPU of ``model`` with ``-cpu``'s options, as ``x86_cpu_realizefn``.

    ``base`` replaces the recorded TCG model (the host model under KVM).
    Appends the warnings its realize prints to ``warnings``; raises CoreError
    with QEMU's texts (``can't apply global``, ``Property ... not found``,
    ``TCG doesn't support requested features``, the phys-bits checks).
    """
    typename = f"{model}-x86_64-cpu"
    options = bool(features.globals or features.plus or features.minus)
    # (the table is read only when a model or an option needs it)
    models = cpu_models(release) if base is None or options else None
    flags, props = base if base is not None else models.model(model)  # type: ignore[union-attr]
    state = VcpuState(model, set(flags), dict(props), 0, [])
    # object_new(): the globals, each parsed into its property.
    for name, value in features.globals:
        try:
            _set_prop(models, release, typename, state, name, value)
        except CoreError as exc:
            raise CoreError(M.GLOBAL_CANT_APPLY.format(typename, name, value, exc.desc)) from None
    # x86_cpu_expand_features(): +feat, then -feat.
    for name in features.plus:
        _set_prop(models, release, typename, state, name, True)
    for name in features.minus:
        _set_prop(models, release, typename, state, name, False)
    avx10_version = int(state.props.get("avx10-version", 0) or 0)
    if avx10_version:
        # 11.1: an AVX10 version turns on AVX10 and its vector lengths.
        state.flags.update(release.avx10_version_features)
    if accel == "tcg" and models is not None:
        # x86_cpu_filter_features(cpu, check || enforce)
        verbose = bool(state.props.get("check", True)) or bool(state.props.get("enforce", False))
        for flag, text in models.tcg_unsupported():
            if flag in state.flags:
                state.flags.discard(flag)
                state.filtered.append(flag)
                if verbose:
                    warnings.append(M.CPU_TCG_UNSUPPORTED_FEATURE.format(text))
        filtered = bool(state.filtered)
        # an AVX10 version without AVX10 (TCG has none): "avx10.N."
        avx10 = int(state.props.get("avx10-version", 0) or 0)
        if avx10 and "avx10" not in state.flags:
            if verbose:
                warnings.append(M.CPU_TCG_UNSUPPORTED_FEATURE.format(f"avx10.{avx10}."))
            filtered = True
        if filtered and state.props.get("enforce", False):
            raise CoreError(M.CPU_TCG_UNSUPPORTED_FEATURES)
    # x86_cpu_hyperv_realize(), then the default microcode revision (KVM's)
    if not state.props.get("hv-vendor-id"):
        state.props["hv-vendor-id"] = "Microsoft Hv"
    if not state.props.get("ucode-rev"):
        state.props["ucode-rev"] = 0x01000065 if state.is_amd else 0x100000000
    phys_bits = int(state.props.get("phys-bits", 0))
    if state.long_mode:
        if accel == "kvm":
            # host_cpu_realizefn() -> host_cpu_adjust_phys_bits()
            mismatch = M.CPU_HOST_PHYS_BITS_MISMATCH.format(host_phys_bits, phys_bits)
            if phys_bits not in (0, host_phys_bits) and mismatch not in warnings:
                warnings.append(mismatch)  # (warn_report_once)
            if state.props.get("host-phys-bits", False):
                phys_bits = host_phys_bits
                limit = int(state.props.get("host-phys-bits-limit", 0))
                if limit and phys_bits > limit:
                    phys_bits = limit
        if phys_bits and not release.phys_bits_upper_bound and phys_bits < 32:
            raise CoreError(M.CPU_PHYS_BITS_AT_LEAST_32.format(phys_bits))
        if (
            phys_bits
            and release.phys_bits_upper_bound
            and not 32 <= phys_bits <= TARGET_PHYS_ADDR_SPACE_BITS
        ):
            raise CoreError(M.CPU_PHYS_BITS_RANGE.format(TARGET_PHYS_ADDR_SPACE_BITS, phys_bits))
        if phys_bits == 0:
            phys_bits = TCG_PHYS_ADDR_BITS
    else:
        if phys_bits != 0:
            raise CoreError(M.CPU_PHYS_BITS_32BIT)
        phys_bits = 36 if release.phys_bits_36_flags & state.flags else 32
    state.phys_bits = phys_bits
    state.props["phys-bits"] = phys_bits
    return state


# --- query-cpu-model-expansion -------------------------------------------------------


def expand_model(
    release: Release, kind: str, name: str, asked: dict[str, Any] | None
) -> dict[str, Any]:
    """``qmp_query_cpu_model_expansion`` under TCG for a model of the release.

    The properties print in the order QEMU printed qemu64's (the same
    properties: its QDict orders them the same).  Raises CoreError with
    QEMU's text for an unknown property in ``asked``.
    """
    models = cpu_models(release)
    flags, props = models.model(name)
    state = VcpuState(name, set(flags), dict(props), 0, [])
    typename = f"{name}-x86_64-cpu"
    where = release.cpu_expansion_props_prefix
    for prop, value in (asked or {}).items():
        # object_property_set() of each QDict entry (a QObject input visitor)
        if prop not in models.properties and prop not in state.props:
            raise CoreError(M.PROPERTY_NOT_FOUND.format(typename, prop))
        kind_of = models.properties.get(
            prop, "bool" if isinstance(state.props.get(prop), bool) else ""
        )
        if kind_of == "bool":
            if not isinstance(value, bool):
                raise CoreError(M.INVALID_PARAMETER_TYPE.format(where + prop, "boolean"))
            _set_prop(models, release, typename, state, prop, value)
        elif kind_of in ("string", "str"):
            if not isinstance(value, str):
                raise CoreError(M.INVALID_PARAMETER_TYPE.format(where + prop, "string"))
            _set_prop(models, release, typename, state, prop, value)
        elif isinstance(value, int) and not isinstance(value, bool):
            _set_prop(models, release, typename, state, prop, str(value))
        else:
            raise CoreError(M.INVALID_PARAMETER_TYPE.format(where + prop, "integer"))
    order: list[str] = models.data[f"{kind}-order"]
    if kind == "full":
        order = models.data["full-orders"].get(name, order)
    board_props: dict[str, Any] = models.data["board-props"]
    out: dict[str, Any] = {}
    # The JSON writer prints a dict in QDict order (qapi/qdict.py): in each
    # bucket the latest insertion first, so QEMU's printed order reversed
    # is an insertion order that prints as QEMU did.
    for key in reversed(order):
        flag = models.aliases.get(key, key)
        if flag in models.flags:
            out[key] = flag in state.flags
        elif key in state.props:
            out[key] = state.props[key]
        else:
            out[key] = board_props.get(key)
    return {"model": {"name": "base" if kind == "static" else name, "props": out}}
