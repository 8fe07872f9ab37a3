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

* ``x86_cpu_expand_features``: the dependencies between flags
  (``feature_dependencies``, recorded per flag), the flags that conflict
  (11.1's MPX and APX: both go off, warned, as recorded) and the automatic CPUID
  levels (each flag's level as recorded); the machine type's compat
  properties on vCPUs (cpu_compat.py) apply first.

The file is read only for a model or an option the vCPU sample of
``cpus.json`` does not answer (plain ``qemu64`` and ``max`` start
without it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import field
from functools import cache
from typing import TYPE_CHECKING, Any

from memdevd import messages as M
from memdevd.machine.errors import CoreError
from memdevd.qapi.qdict import qdict_key_order
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
        self.release = release
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
        found: frozenset[str] | None = self.__dict__.get("_flags")
        if found is None:
            found = self.__dict__["_flags"] = frozenset(self.data["flags"])
        return found

    def flag_of(self, name: str) -> str | None:
        """The flag a boolean vCPU property is (itself or an alias), or None."""
        names: dict[str, str | None] = self.__dict__.setdefault("_flag_of", {})
        if name not in names:
            canonical = self.aliases.get(name, name)
            if canonical not in self.flags:
                canonical = name.replace("_", "-")  # (an alias the recorder could not tell)
            names[name] = canonical if canonical in self.flags else None
        return names[name]

    def tcg_unsupported(self) -> list[list[str]]:
        """[flag, warning text] in the order QEMU warns."""
        out: list[list[str]] = self.data["tcg-unsupported"]
        return out

    def hidden(self, name: str) -> list[str]:
        """The flags of the model's definition a dependency turned off."""
        entry = self.data["models"].get(name, {})
        hidden: list[str] = entry.get("hidden", [])
        return hidden

    def def_levels(self, name: str) -> dict[str, int] | None:
        """min-level, min-xlevel, min-xlevel2, level-func7 of the definition
        (None: those the recorded expansion shows)."""
        levels: dict[str, int] | None = self.data["models"].get(name, {}).get("def-levels")
        return levels

    @property
    def dependencies(self) -> dict[str, list[str]]:
        deps: dict[str, list[str]] = self.data.get("dependencies", {})
        return deps

    @property
    def dependency_texts(self) -> list[list[str]]:
        texts: list[list[str]] = self.data.get("dependency-texts", [])
        return texts

    @property
    def conflicts(self) -> list[list[list[str]]]:
        """The groups of flags that go off together when all are on, each
        [flag, what it conflicts with, description] in QEMU's order."""
        groups: list[list[list[str]]] = self.data.get("conflicts", [])
        return groups

    @property
    def level_raises(self) -> dict[str, list[int]]:
        raises: dict[str, list[int]] = self.data.get("level-raises", {})
        return raises

    def model(self, name: str) -> tuple[set[str], dict[str, Any]]:
        """The model's flags that are on and its other properties."""
        entry = self.data["models"][name]
        props = dict(self.data["base-props"])
        props.update(entry["props"])
        return set(entry["features"]), props


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
    #: The properties the machine type's compat properties set (the vCPU
    #: object shows them instead of the recorded vCPU's values).
    compat_set: set[str] = field(default_factory=set)
    #: Every property a compat property, ``-cpu`` or an expansion set (QEMU's
    #: user_features, and the levels given explicitly).
    user_set: set[str] = field(default_factory=set)

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
    state.user_set.add(flag if flag in models.flags else name)
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
    compat: Sequence[tuple[str, str, str]] = (),
    extended_topology: bool = False,
    threads_per_package: int = 1,
) -> VcpuState:
    """A vCPU of ``model`` with ``-cpu``'s options, as ``x86_cpu_realizefn``.

    ``base`` replaces the recorded TCG model (the host model under KVM).
    ``compat`` is the machine type's compat properties on vCPUs (driver,
    property, value): those of ``x86_64-cpu`` and of the model's own type
    apply first (``object_apply_compat_props``).  ``extended_topology``:
    ``-smp`` has dies or modules (CPUID leaf 0x1F); ``threads_per_package``
    (CPUID_HT).
    Appends the warnings its realize prints to ``warnings``; raises CoreError
    with QEMU's texts (``can't apply global``, ``Property ... not found``,
    ``TCG doesn't support requested features``, the phys-bits checks).
    """
    typename = f"{model}-x86_64-cpu"
    mine = [(name, value) for driver, name, value in compat if driver in ("x86_64-cpu", typename)]
    options = bool(features.globals or features.plus or features.minus or mine)
    options = options or extended_topology or threads_per_package > 1
    # (the table is read only when a model or an option needs it)
    models = cpu_models(release) if base is None or options else None
    flags, props = base if base is not None else models.model(model)  # type: ignore[union-attr]
    state = VcpuState(model, set(flags), dict(props), 0, [])
    if models is not None:
        # the definition's flags a dependency turns off in x86_cpu_expand_features
        state.flags.update(models.hidden(model))
    # object_apply_compat_props(): the machine type's (valid: &error_abort)
    for name, value in mine:
        _set_prop(models, release, typename, state, name, value)
        state.compat_set.add(name)
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
    if models is not None:
        expand_features(
            models,
            state,
            warnings,
            extended_topology=extended_topology,
            threads_per_package=threads_per_package,
        )
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
    if models is not None and len(state.filtered) > 1:
        # (x86_cpu_get_unavailable_features: feature word, then bit)
        order = _feature_order(id(models), models)
        state.filtered.sort(key=lambda f: order.get(f, (1 << 30, 0)))
    return state


@cache
def _feature_order(_key: int, models: CpuModels) -> dict[str, tuple[int, int]]:
    """Each flag's (feature word, bit) in QEMU's order (``FeatureWord``,
    then bit): TCG's warnings were recorded in that order, a new word where
    the description changes or the bit does not grow (``CPUID.07H:EDX`` is
    three words); a flag only a dependency or a conflict filters takes the
    last word of its description."""
    out: dict[str, tuple[int, int]] = {}
    last_of: dict[str, int] = {}
    word, previous, index = "", -1, -1
    for flag, text in models.tcg_unsupported():
        head, _, bit_text = text.rpartition(" [bit ")
        desc = head[: -len(flag) - 1] if head.endswith("." + flag) else head
        bit = int(bit_text.rstrip("]"))
        if desc != word or bit <= previous:
            index += 1
        word, previous = desc, bit
        last_of[desc] = index
        out.setdefault(flag, (index, bit))
    texts = [*models.dependency_texts, *((f, t) for g in models.conflicts for f, _, t in g)]
    for flag, text in texts:
        head, _, bit_text = text.rpartition(" [bit ")
        desc = head[: -len(flag) - 1] if head.endswith("." + flag) else head
        out.setdefault(flag, (last_of.get(desc, 1 << 20), int(bit_text.rstrip("]"))))
    return out


#: IS_INTEL_CPU and IS_ZHAOXIN_CPU: no CPUID_EXT3_CMP_LEG with CPUID_HT.
_INTEL_LIKE = frozenset({"GenuineIntel", "CentaurHauls", "  Shanghai  "})
#: The level properties x86_cpu_expand_features sets from the minimums,
#: unless given: (minimum, level).
_LEVELS = (
    ("min-level", "level"),
    ("min-xlevel", "xlevel"),
    ("min-xlevel2", "xlevel2"),
    ("level-func7", "level-func7"),
)


def expand_features(
    models: CpuModels,
    state: VcpuState,
    warnings: list[str],
    *,
    extended_topology: bool = False,
    threads_per_package: int = 1,
) -> None:
    """``x86_cpu_expand_features`` after ``+``/``-feat``: the dependencies
    (``feature_dependencies``: a flag whose flag it depends on is off goes
    off; asked for, it is filtered with QEMU's warning), the conflicts (the
    flags of a recorded group, all on, are all filtered, each with its
    warning, asked for or not: 11.1's MPX and APX) and the automatic CPUID
    levels (``x86_cpu_adjust_feat_level``), each flag raising them to what
    the recording saw it raise them to."""
    if threads_per_package > 1 and models.release.cpu_ht_in_features:
        state.flags.add("ht")
        if state.vendor not in _INTEL_LIKE:
            state.flags.add("cmp-legacy")
    gone: set[str] = set()
    for flag, dependents in models.dependencies.items():
        if flag not in state.flags:
            gone.update(d for d in dependents if d in state.flags)
    if gone:
        state.flags.difference_update(gone)
        for flag, text in models.dependency_texts:
            if flag in gone and flag in state.user_set:
                state.filtered.append(flag)
                warnings.append(M.CPU_FEATURE_DEPENDS.format(text))
    for group in models.conflicts:
        if all(flag in state.flags for flag, _with, _text in group):
            # mark_unavailable_features() of each, with its warning
            for flag, other, text in group:
                state.flags.discard(flag)
                state.filtered.append(flag)
                warnings.append(M.CPU_FEATURE_CONFLICT.format(other, text))
    levels = models.def_levels(state.model)
    current = {
        minimum: int(
            state.props.get(minimum, 0)
            if minimum in state.user_set or levels is None
            else levels.get(minimum, state.props.get(minimum, 0))
        )
        for minimum, _ in _LEVELS
    }
    auto = bool(state.props.get("full-cpuid-auto-level", True))
    pt_auto = bool(state.props.get("x-intel-pt-auto-level", True))
    leaf7 = _leaf7_ebx_flags(models) if not auto else frozenset()
    raises = models.level_raises
    for flag in state.flags:
        raised = raises.get(flag)
        if raised is None or (not auto and flag not in leaf7):
            continue
        if flag == "intel-pt" and not pt_auto:
            continue  # (x-intel-pt-auto-level=off, types up to 3.1: below)
        for (minimum, _), value in zip(_LEVELS, raised, strict=True):
            current[minimum] = max(current[minimum], value)
    if auto and not pt_auto and "intel-pt" in state.flags and current["min-level"] < 0x14:
        # mark_unavailable_features(), with its own warning
        text = dict(models.tcg_unsupported()).get("intel-pt", "intel-pt")
        state.flags.discard("intel-pt")
        state.filtered.append("intel-pt")
        warnings.append(M.CPU_INTEL_PT_LEVEL.format(text))
    if (
        auto
        and extended_topology
        and (state.vendor == "GenuineIntel" or not state.props.get("x-vendor-cpuid-only", True))
    ):
        current["min-level"] = max(current["min-level"], 0x1F)
    for minimum, level in _LEVELS:
        if minimum != level:
            state.props[minimum] = current[minimum]
        if level not in state.user_set:
            state.props[level] = current[minimum]


def _leaf7_ebx_flags(models: CpuModels) -> frozenset[str]:
    """The flags of CPUID[EAX=7,ECX=0].EBX, raised whatever
    full-cpuid-auto-level says (flag-bits' entries of qemu64's feature-words)."""
    bits: dict[str, list[int]] = models.data["flag-bits"]
    values = recording(TARGET, models.release).cpu_values("tcg", "qemu64")
    words: list[dict[str, Any]] = values["feature-words"] if values else []
    index = next(
        (
            i
            for i, w in enumerate(words)
            if (w.get("cpuid-input-eax"), w.get("cpuid-input-ecx"), w.get("cpuid-register"))
            == (7, 0, "EBX")
        ),
        None,
    )
    return frozenset(f for f, (i, _bit) in bits.items() if i == index)


# --- query-cpu-model-expansion -------------------------------------------------------


def expand_model(
    release: Release,
    kind: str,
    name: str,
    asked: dict[str, Any] | None,
    compat: Sequence[tuple[str, str, str]] = (),
    cli_option: str = "",
) -> dict[str, Any]:
    """``qmp_query_cpu_model_expansion`` under TCG for a model of the release.

    ``compat``: the machine type's compat properties on vCPUs, which the
    model's object gets before ``asked`` (as in :func:`realize_vcpu`);
    ``cli_option``: ``-cpu``'s text, whose ``name=value`` globals are on the
    ``-cpu`` model's type (before ``asked``) and whose ``+feat``/``-feat``
    every x86 CPU object gets in x86_cpu_expand_features (after it).

    The properties print in the order QEMU printed qemu64's (the same
    properties: its QDict orders them the same).  Raises CoreError with
    QEMU's text for an unknown property in ``asked``.
    """
    models = cpu_models(release)
    flags, props = models.model(name)
    state = VcpuState(name, set(flags) | set(models.hidden(name)), dict(props), 0, [])
    typename = f"{name}-x86_64-cpu"
    # object_new(): the machine type's compat properties on the type, then
    # the globals -cpu registered on its model's type
    for driver, prop, value in compat:
        if driver in ("x86_64-cpu", typename):
            _set_prop(models, release, typename, state, prop, value)
    cli_model, _, cli_features = cli_option.partition(",")
    features = parse_featurestr(cli_features)[0] if cli_features else None
    if features is not None and cli_model == name:
        for prop, value in features.globals:
            _set_prop(models, release, typename, state, prop, value)
    where = release.cpu_expansion_props_prefix
    asked = asked or {}
    for prop in qdict_key_order(asked):
        # object_apply_props(): object_property_set() of each QDict entry in
        # the QDict's order (a QObject input visitor)
        value = asked[prop]
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
    if features is not None:
        for flag in features.plus:
            _set_prop(models, release, typename, state, flag, True)
        for flag in features.minus:
            _set_prop(models, release, typename, state, flag, False)
    expand_features(models, state, [])  # (x86_cpu_from_model; warnings on stderr)
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


def definitions_on(
    release: Release,
    recorded: list[dict[str, Any]],
    compat: Sequence[tuple[str, str, str]],
    features: FeatureString | None = None,
    cli_model: str = "",
) -> list[dict[str, Any]]:
    """``query-cpu-definitions`` under TCG with the machine type's compat
    properties and ``-cpu``'s options (``+feat``/``-feat``: plus_features and
    minus_features apply to every x86 vCPU object QEMU makes; ``name=value``
    globals to ``cli_model``'s type): each model's
    ``unavailable-features`` is what an object of its type loses
    (``x86_cpu_class_check_missing_features``: its dependencies and TCG's
    filter), recomputed for the models these touch."""
    plus = features.plus if features is not None else ()
    minus = features.minus if features is not None else ()
    cli_globals = features.globals if features is not None else ()
    if not compat and not plus and not minus and not cli_globals:
        return recorded
    models = cpu_models(release)
    out = []
    for entry in recorded:
        typename = entry["typename"]
        mine = [(p, v) for d, p, v in compat if d in ("x86_64-cpu", typename)]
        name = entry["name"]
        if name == cli_model:
            mine += cli_globals  # (registered on the -cpu model's type)
        touches = any(models.aliases.get(p, p) in models.flags for p, _ in mine)
        if (not touches and not plus and not minus) or not models.exists(name) or name == "host":
            out.append(entry)
            continue
        missing = _missing(models, name, mine, plus, minus, entry["unavailable-features"])
        out.append({**entry, "unavailable-features": missing})
    return out


def _missing(
    models: CpuModels,
    name: str,
    globals_: Sequence[tuple[str, str]],
    plus: Sequence[str],
    minus: Sequence[str],
    recorded: Sequence[str] = (),
) -> list[str]:
    """The flags an object of model ``name`` loses under TCG.  A flag the
    recording lists as lost that TCG's recorded filter does not name (11.1's
    ``apxf``) stays lost while the object still asks for it, in its place."""
    flags, props = models.model(name)
    state = VcpuState(name, set(flags) | set(models.hidden(name)), dict(props), 0, [])
    typename = f"{name}-x86_64-cpu"
    try:
        for prop, value in globals_:
            _set_prop(models, models.release, typename, state, prop, value)
        for flag in plus:
            _set_prop(models, models.release, typename, state, flag, True)
        for flag in minus:
            _set_prop(models, models.release, typename, state, flag, False)
    except CoreError:
        pass  # (the vCPU's realize refused these already)
    expand_features(models, state, [])
    for flag, _text in models.tcg_unsupported():
        if flag in state.flags:
            state.filtered.append(flag)
    order: dict[str, tuple[float, float]] = dict(_feature_order(id(models), models))
    previous: tuple[float, float] = (-1.0, 0.0)
    for flag in recorded:
        if flag not in order:
            order[flag] = previous = (previous[0], previous[1] + 0.5)
            if flag in state.flags or flag not in models.flags:
                state.filtered.append(flag)
        else:
            previous = order[flag]
    return sorted(dict.fromkeys(state.filtered), key=lambda f: order.get(f, (1 << 30, 0)))
