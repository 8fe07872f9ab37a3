"""Capability queries and the vCPU queries: what libvirt asks beyond memory.

libvirt's capability probe asks an emulator what it is (``query-target``),
which CPU models it has and what they expand to (``query-cpu-definitions``,
``query-cpu-model-expansion``), its TPM, command-line and SEV support
(``query-tpm-models``, ``query-tpm-types``, ``query-command-line-options``,
``query-sev-capabilities``); a domain start asks for the vCPUs
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
from memdevd.commands.base import Runtime, core, no_args, parse_args
from memdevd.qapi.capabilities import CommandLineOptionsArgs, CpuModelExpansionArgs
from memdevd.qmp.errors import QMPError
from memdevd.qmp.registry import Registry
from memdevd.qmp.session import Session

if TYPE_CHECKING:
    from memdevd.releases.table import Release

#: queries.json labels of query-command-line-options before and after QEMU
#: loaded its modules (qom-list-types loads them all; 7.2's spice module
#: adds the "spice" option).
OPTIONS_LABEL = "query-command-line-options"
OPTIONS_MODULES_LOADED_LABEL = "query-command-line-options@modules-loaded"

#: Runtime.extra key qom-list-types sets (memdevd/commands/qom.py).
MODULES_LOADED = "qom-modules-loaded"


def register(reg: Registry, rt: Runtime) -> None:
    machine = rt.machine
    rec = machine.recording

    def accel() -> str:
        return "kvm" if machine.kvm_enabled else "tcg"

    def recorded_answer(command: str, arguments: dict[str, Any]) -> Any:
        reply = rec.probe_reply(accel(), command, arguments)
        if reply is None:
            raise QMPError(M.ANSWER_NOT_RECORDED.format(accel().upper(), command))
        return _unwrap(reply)

    def fixed(command: str) -> Any:
        def handler(session: Session, args: dict[str, Any]) -> Any:
            no_args(args)
            return recorded_answer(command, {})

        return handler

    def query_command_line_options(session: Session, args: dict[str, Any]) -> Any:
        parsed = parse_args(CommandLineOptionsArgs, args)
        loaded = rt.extra.get(MODULES_LOADED, False)
        label = OPTIONS_MODULES_LOADED_LABEL if loaded else OPTIONS_LABEL
        options = rec.query_reply(label)
        if parsed.option is None:
            return options
        found = [o for o in options if o["option"] == parsed.option]
        if not found:
            raise QMPError(M.INVALID_OPTION_NAME.format(parsed.option))
        return found

    def query_cpu_model_expansion(session: Session, args: dict[str, Any]) -> Any:
        parsed = parse_args(CpuModelExpansionArgs, args)
        question = _expansion_question(rt.release, parsed)
        reply = rec.probe_reply(accel(), "query-cpu-model-expansion", question)
        if reply is not None:
            return _unwrap(reply)
        if not machine.config.board.cpu_model_exists(rt.release, parsed.model.name):
            raise QMPError(M.CPU_MODEL_NOT_FOUND.format(parsed.model.name))
        asked = [
            _describe_expansion(a)
            for c, a in rec.probe_questions(accel())
            if c == "query-cpu-model-expansion"
        ]
        raise QMPError(M.EXPANSION_NOT_RECORDED.format(accel().upper(), "; ".join(asked)))

    def query_hotpluggable_cpus(session: Session, args: dict[str, Any]) -> Any:
        from memdevd.machine.smp import hotpluggable_cpus

        no_args(args)
        return core(hotpluggable_cpus, machine)

    def query_cpus_fast(session: Session, args: dict[str, Any]) -> Any:
        from memdevd.machine.smp import cpus_fast

        no_args(args)
        return cpus_fast(machine)

    reg.register("query-target", fixed("query-target"))
    reg.register("query-cpu-definitions", fixed("query-cpu-definitions"))
    reg.register("query-cpu-model-expansion", query_cpu_model_expansion)
    reg.register("query-tpm-models", fixed("query-tpm-models"))
    reg.register("query-tpm-types", fixed("query-tpm-types"))
    reg.register("query-sev-capabilities", fixed("query-sev-capabilities"))
    reg.register("query-command-line-options", query_command_line_options, allow_preconfig=True)
    reg.register("query-hotpluggable-cpus", query_hotpluggable_cpus, allow_preconfig=True)
    reg.register("query-cpus-fast", query_cpus_fast)


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
