"""``-audio [driver=]DRIVER[,model=CARD][,prop=value...]`` (system/vl.c,
hw/audio/soundhw.c).

The option defines an audiodev (``id`` defaults to ``audiodev0``) and
selects one sound card, made by ``soundhw_init`` when the command-line
devices are created: a PCI or ISA device on the board's bus with that
audiodev, or for ``hda`` an ``intel-hda`` controller with an
``hda-duplex`` codec on its bus (``intel_hda_and_codec_init``).  The
cards are the release's (``Release.soundhw_models``); 8.2 and later take
``-audio`` without a model as a default audiodev (``audio_define_default``),
which memdevd validates and keeps: no device of memdevd looks for a
default audiodev (docs/divergences.md).  No sound is played.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memdevd import messages as M
from memdevd.util.qemu_opts import Diagnostic, HelpRequested, OptionError

if TYPE_CHECKING:
    from memdevd.app.displays import DisplayRequest
    from memdevd.machine.machine import Machine
    from memdevd.releases.table import Release


def _cards_text(release: Release) -> str:
    """``show_valid_soundhw``."""
    lines = [release.soundhw_list_header]
    lines += [f"{name:<11} {descr}" for name, descr, _, _ in release.soundhw_models]
    return "\n".join(lines) + "\n"


def parse_audio(
    arg: str, loc: str, release: Release, target: str, display: DisplayRequest
) -> tuple[str, str] | None:
    """One ``-audio``: the (card, audiodev id) it selects, or None (8.2:
    no model).  ``display.audiodevs`` gets the audiodev (audio_define)."""
    from memdevd.app.cli import Exit
    from memdevd.app.displays import parse_audiodev
    from memdevd.machine.display import audio_validate_opts
    from memdevd.machine.errors import CoreError
    from memdevd.qapi.qdict import qdict_key_order
    from memdevd.qapi.source_schema import schema_of, visit
    from memdevd.qapi.visitor import InputVisitor, VisitError
    from memdevd.releases.recorded import recording
    from memdevd.util import qemu_opts as Q

    parsed = Q.keyval_parse(arg, "driver")
    values: dict[str, Any] = dict(parsed.values)
    driver = values.get("driver")
    if parsed.help or (isinstance(driver, str) and Q.is_help_option(driver)):
        parse_audiodev("help", release, target)  # audio_help(), exit 0
    if "id" not in values:
        values["id"] = "audiodev0"
    model = values.pop("model", None)
    if model is None and not release.audio_model_optional:
        raise OptionError(M.MISSING_PARAMETER.format("model"))
    if isinstance(model, str) and Q.is_help_option(model):
        raise Exit(0, _cards_text(release))
    v = InputVisitor(values, keyval=True, key_order=qdict_key_order)
    try:
        dev: dict[str, Any] = visit(schema_of(recording(target, release)), v, None, "Audiodev")
        dev = audio_validate_opts(dev)
    except VisitError as exc:
        raise OptionError(exc.desc) from None
    except CoreError as exc:
        raise OptionError(exc.desc) from None
    display.audiodevs.append(dev)
    if model is None:
        return None  # audio_define_default()
    return str(model), str(dev["id"])


def select_soundhw(
    selected: tuple[str, str] | None, card: tuple[str, str], loc: str, release: Release
) -> tuple[str, str]:
    """``select_soundhw``: one card, of the release's."""
    if selected is not None:
        raise OptionError(release.soundhw_only_one_text)
    if not any(name == card[0] for name, _, _, _ in release.soundhw_models):
        error = Diagnostic(release.soundhw_unknown_text.format(card[0]), location=loc)
        raise HelpRequested(_cards_text(release), 1, [error])
    return card


def soundhw_init(machine: Machine, card: str, audiodev: str) -> None:
    """``soundhw_init`` (qemu_create_cli_devices, before the -device
    options): the card on the board's ISA or PCI bus, under
    /machine/unattached, with the audiodev."""
    from memdevd.app.netstart import board_device
    from memdevd.machine.errors import CoreError

    release = machine.release
    name, _, typename, isa = next(m for m in release.soundhw_models if m[0] == card)
    bus_type = "ISA" if isa else machine.config.board.root_bus_type
    if machine.default_bus(bus_type) is None:
        text = M.SOUNDHW_NO_ISA_BUS if isa else M.SOUNDHW_NO_PCI_BUS
        raise OptionError(text.format(name))
    try:
        if name == "hda":
            # intel_hda_and_codec_init(): the controller, then its codec.
            board_device(machine, typename, [])
            board_device(machine, "hda-duplex", [("audiodev", audiodev)])
        else:
            board_device(machine, typename, [("audiodev", audiodev)])
    except CoreError as exc:
        raise OptionError(exc.desc, exc.hint or None) from None
