"""``qemu-system-x86_64`` as the process layer sees it: the x86_64 Target."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from memdevd import messages as M
from memdevd.machine.errors import CoreError
from memdevd.targets import MachineType
from memdevd.targets.x86_64 import machine_types

if TYPE_CHECKING:
    from memdevd.machine.board import Board
    from memdevd.machine.machine import MachineConfig
    from memdevd.releases.table import Release
    from memdevd.util.option_defs import Syntax

#: No pc/q35 type of 7.2 or 10.0 allows fewer CPUs (the none machine has 1).
MIN_PC_MAX_CPUS = 255
DEFAULT_RAM_SIZE = 128 * 1024 * 1024


class X86Target:
    name = "x86_64"
    program = "qemu-system-x86_64"

    def syntax(self, release: Release) -> Syntax:
        from memdevd.targets.x86_64.cmdline import syntax

        return syntax(release)

    def machine_list(self, release: Release) -> list[dict[str, Any]]:
        return machine_types.machine_list(release)

    def machine_help(self, release: Release) -> str:
        return machine_types.help_text(release)

    def resolve_machine(self, release: Release, name: str | None) -> MachineType | None:
        # select_machine(): qemu-system-x86_64's default is pc.
        return machine_types.resolve(release, name or "pc")

    def is_known_machine(self, release: Release, name: str) -> bool:
        return name in {m["name"] for m in machine_types.machine_list(release)}

    def board(self, mtype: MachineType) -> Board:
        from memdevd.targets.x86_64.board import BOARDS

        return BOARDS[mtype.family]

    def default_ram_size(self, mtype: MachineType) -> int:
        return 0 if mtype.family == "none" else DEFAULT_RAM_SIZE

    def max_cpus(self, release: Release, mtype: MachineType) -> tuple[int, Callable[[], int]]:
        from memdevd.targets.x86_64.cpus import max_cpus_of

        floor = 1 if mtype.family == "none" else MIN_PC_MAX_CPUS
        return floor, lambda: max_cpus_of(release, mtype.name)

    def resolve_cpu_model(
        self, release: Release, mtype: MachineType, option: str | None, accel: str
    ) -> tuple[str | None, list[str]]:
        from memdevd.targets.x86_64.cpus import resolve_cpu_model

        default = None if mtype.family == "none" else "qemu64"
        return resolve_cpu_model(release, option, default, accel)

    def cpu_help(self, release: Release) -> str:
        from memdevd.targets.x86_64.cpus import cpu_help_text

        return cpu_help_text(release)

    #: The board's own -machine properties, known without reading the
    #: recorded machine.
    board_option_names = frozenset({"max-ram-below-4g", "pflash0", "pflash1", "usb"})

    def machine_option_names(self, release: Release, mtype: MachineType) -> set[str]:
        from memdevd.releases.recorded import recording

        # The recorded instances are megabytes of JSON: read only for an
        # option memdevd does not model.
        sample = recording(self.name, release).machine_sample(f"{mtype.name}-machine", mtype.family)
        names = {p["name"] for p in sample["qom-list"]} if sample else set()
        if mtype.family in ("pc", "q35"):
            # An X86MachineState property (8.2's machine types are not recorded).
            names.add("sgx-epc")
        return names

    def apply_machine_option(
        self, config: MachineConfig, key: str, value: Any, release: Release
    ) -> bool:
        if key == "usb":
            # machine_set_usb: -usb is -machine usb=on (vl.c).
            from memdevd.util.qemu_opts import parse_bool

            config.board_options[key] = parse_bool(str(value), name=key)
            return True
        if key == "max-ram-below-4g":
            from memdevd.util.qemu_opts import parse_size

            size = parse_size(str(value), name=key)
            if size > 4 << 30:
                raise CoreError(M.MAX_RAM_BELOW_4G_TOO_BIG.format(size))
            config.board_options[key] = size
            return True
        if key == "sgx-epc":
            # machine_set_sgx_epc: the list is visited now, the backends are
            # looked up when the board creates the sections.
            from memdevd.targets.x86_64.devices.sgx_epc import parse_sgx_epc_option

            config.board_options[key] = parse_sgx_epc_option(value)
            return True
        if key in ("cxl", "cxl-fmw"):
            # cxl_machine_init's properties (pc and q35): machine_set_cxl,
            # machine_set_cfmw (the windows are checked now).
            from memdevd.machine import cxl

            state = cxl.state_of(config.board_options)
            if key == "cxl":
                state.is_enabled = cxl.parse_cxl_option(value)
            else:
                cxl.set_cfmw(state, cxl.parse_cfmw_option(value), release)
            return True
        if key == "vmport":
            # pc_basic_device_init: off means no vmport and vmmouse (board
            # device numbers).
            if str(value) not in ("on", "off", "auto"):
                # visit_type_OnOffAuto
                raise CoreError(M.ENUM_BAD_VALUE.format(key, value))
            config.board_options[key] = str(value)
            return False
        if key in ("pflash0", "pflash1"):
            # The system flash's "drive" alias (pc and q35 only): the node
            # or drive is looked up once the block devices exist.
            if not config.board.system_flash:
                raise CoreError(M.PROPERTY_NOT_FOUND.format(f"{config.machine_type}-machine", key))
            config.board_options[key] = str(value)
            return True
        return False


TARGET = X86Target()
