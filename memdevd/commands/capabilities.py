"""Capability queries and the vCPU queries: what libvirt asks beyond memory.

libvirt's capability probe asks an emulator what it is (``query-target``),
which CPU models it has and what they expand to (``query-cpu-definitions``,
``query-cpu-model-expansion``), its TPM, command-line and SEV support
(``query-tpm-models``, ``query-tpm-types``, ``query-command-line-options``,
``query-sev-capabilities``, on arm ``query-gic-capabilities``); a domain start asks for the vCPUs
(``query-hotpluggable-cpus``, ``query-cpus-fast``).

The capability answers are QEMU's, recorded from ``-machine none`` as
libvirt probes (``probe.json``), for the accelerator in use: KVM's when
memdevd emulates a KVM host and KVM was chosen (``-memdevd kvm=on`` and
``accel=kvm``), TCG's otherwise.  ``query-cpu-model-expansion`` answers
only the questions recorded (libvirt 9.0's: models ``host`` and ``max``,
static, static without migratable features, full with hv-passthrough); an
unknown model gets QEMU's ``CPU model 'X' not found``, any other question
memdevd's refusal naming the recorded ones.  The vCPU answers come from
the machine's vCPUs (:mod:`memdevd.machine.smp`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memdevd import messages as M
from memdevd.commands.base import Runtime, command, core, no_args, parse_args
from memdevd.qapi.capabilities import CommandLineOptionsArgs, CpuModelExpansionArgs
from memdevd.qmp.errors import QMPError
from memdevd.qmp.session import Session

if TYPE_CHECKING:
    from memdevd.releases.table import Release

#: queries.json labels of query-command-line-options before and after QEMU
#: loaded its modules (qom-list-types loads them all; 7.2's spice module
#: adds the "spice" option).
OPTIONS_LABEL = "query-command-line-options"
OPTIONS_MODULES_LOADED_LABEL = "query-command-line-options@modules-loaded"


def _accel(rt: Runtime) -> str:
    return "kvm" if rt.machine.kvm_enabled else "tcg"


def _recorded_answer(rt: Runtime, query: str, arguments: dict[str, Any]) -> Any:
    accel = _accel(rt)
    reply = rt.machine.recording.probe_reply(accel, query, arguments)
    if reply is None:
        raise QMPError(M.ANSWER_NOT_RECORDED.format(accel.upper(), query))
    return _unwrap(reply)


# query-target, query-cpu-definitions, query-tpm-models, query-tpm-types and
# query-sev-capabilities take no arguments: their recorded answers as they are.


@command("query-target")
def query_target(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    no_args(args)
    return _recorded_answer(rt, "query-target", {})


@command("query-cpu-definitions")
def query_cpu_definitions(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    no_args(args)
    answer = _recorded_answer(rt, "query-cpu-definitions", {})
    absent = rt.release.cpu_models_absent
    if absent:
        # A release answering with a later one's recording lacks its newer models.
        answer = [d for d in answer if d["name"] not in absent]
    return rt.machine.config.board.cpu_definitions(rt.machine, answer)


@command("query-cpu-model-expansion")
def query_cpu_model_expansion(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    parsed = parse_args(CpuModelExpansionArgs, args)
    rec = rt.machine.recording
    question = _expansion_question(rt.release, parsed)
    board = rt.machine.config.board
    machine_type = rt.machine.config.machine_type
    cpu_option = rt.machine.config.cpu_option or ""
    reply = None
    if _accel(rt) != "tcg" or board.cpu_model_as_recorded(
        rt.release, machine_type, parsed.model.name, cpu_option
    ):
        reply = rec.probe_reply(_accel(rt), "query-cpu-model-expansion", question)
    if reply is not None:
        return _unwrap(reply)
    if not board.cpu_model_exists(rt.release, parsed.model.name):
        raise QMPError(M.CPU_MODEL_NOT_FOUND.format(parsed.model.name))
    if _accel(rt) == "tcg":
        props = question["model"].get("props")
        answer = core(
            board.cpu_model_expansion,
            rt.release,
            parsed.type,
            parsed.model.name,
            props,
            machine_type,
            cpu_option,
        )
        if answer is not None:
            return answer
    asked = [
        _describe_expansion(a)
        for c, a in rec.probe_questions(_accel(rt))
        if c == "query-cpu-model-expansion"
    ]
    raise QMPError(M.EXPANSION_NOT_RECORDED.format(_accel(rt).upper(), "; ".join(asked)))


@command("query-tpm-models")
def query_tpm_models(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    no_args(args)
    return _recorded_answer(rt, "query-tpm-models", {})


@command("query-tpm-types")
def query_tpm_types(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    no_args(args)
    return _recorded_answer(rt, "query-tpm-types", {})


@command("query-sev-capabilities")
def query_sev_capabilities(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    no_args(args)
    return _recorded_answer(rt, "query-sev-capabilities", {})


@command("query-gic-capabilities")
def query_gic_capabilities(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    """The arm binaries' GIC versions (libvirt's probe): QEMU's answer as
    recorded; a binary without the command (x86) does not offer it."""
    no_args(args)
    return _recorded_answer(rt, "query-gic-capabilities", {})


@command("query-command-line-options", allow_preconfig=True)
def query_command_line_options(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    parsed = parse_args(CommandLineOptionsArgs, args)
    label = OPTIONS_MODULES_LOADED_LABEL if rt.qom_modules_loaded else OPTIONS_LABEL
    options = rt.machine.recording.query_reply(label)
    if parsed.option is None:
        return options
    found = [o for o in options if o["option"] == parsed.option]
    if not found:
        raise QMPError(M.INVALID_OPTION_NAME.format(parsed.option))
    return found


@command("query-hotpluggable-cpus", allow_preconfig=True)
def query_hotpluggable_cpus(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    from memdevd.machine.smp import hotpluggable_cpus

    no_args(args)
    return core(hotpluggable_cpus, rt.machine)


@command("query-cpus-fast")
def query_cpus_fast(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    from memdevd.machine.smp import cpus_fast
    from memdevd.qapi.source_schema import schema_of, shape

    no_args(args)
    # Every member any release has, kept as the release's CpuInfoFast has
    # them (qom-type: 11.1).
    return shape(schema_of(rt.machine.recording), "CpuInfoFastList", cpus_fast(rt.machine))


def _unwrap(reply: dict[str, Any]) -> Any:
    """A recorded reply: its return value, or its error raised."""
    if "error" in reply:
        raise QMPError(reply["error"]["desc"], reply["error"]["class"])
    return reply["return"]


def _expansion_question(release: Release, parsed: CpuModelExpansionArgs) -> dict[str, Any]:
    """The arguments as the recorded questions are keyed.

    Empty ``props`` apply nothing, like absent ones; 7.2 also ignores
    ``props`` that are not an object (``qobject_to(QDict, ...)`` is NULL).
    """
    model: dict[str, Any] = {"name": parsed.model.name}
    props = parsed.model.props
    ignored = props == {} or (
        not isinstance(props, dict) and release.cpu_expansion_ignores_bad_props
    )
    if props is not None and not ignored:
        model["props"] = props
    return {"type": parsed.type, "model": model}


def _describe_expansion(arguments: dict[str, Any]) -> str:
    model = arguments["model"]
    props = "".join(f",{k}={v!r}" for k, v in model.get("props", {}).items())
    return f"{arguments['type']} {model['name']}{props}"
