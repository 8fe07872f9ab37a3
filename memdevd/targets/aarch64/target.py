"""``qemu-system-aarch64`` as the process layer sees it: the aarch64 Target."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from memdevd import messages as M
from memdevd.machine.errors import CoreError
from memdevd.targets import MachineType
from memdevd.targets.aarch64 import machine_types

if TYPE_CHECKING:
    from memdevd.machine.board import Board
    from memdevd.machine.machine import MachineConfig
    from memdevd.releases.table import Release
    from memdevd.util.option_defs import Syntax

#: virt's mc->default_ram_size (hw/core/machine.c: 128 MiB)
DEFAULT_RAM_SIZE = 128 * 1024 * 1024


class AArch64Target:
    name = "aarch64"
    program = "qemu-system-aarch64"

    def syntax(self, release: Release) -> Syntax:
        from memdevd.targets.aarch64.cmdline import syntax

        return syntax(release)

    def machine_list(self, release: Release) -> list[dict[str, Any]]:
        return machine_types.machine_list(release)

    def machine_help(self, release: Release) -> str:
        return machine_types.help_text(release)

    def resolve_machine(self, release: Release, name: str | None) -> MachineType | None:
        if name is None:
            # machine_run_board_init... select_machine(): no default machine.
            raise CoreError(M.NO_MACHINE_DEFAULT, hint=M.MACHINE_HELP_HINT)
        return machine_types.resolve(release, name)

    def is_known_machine(self, release: Release, name: str) -> bool:
        return name in {m["name"] for m in machine_types.machine_list(release)}

    def board(self, mtype: MachineType) -> Board:
        from memdevd.targets.aarch64.board import BOARDS

        return BOARDS[mtype.family]

    def default_ram_size(self, mtype: MachineType) -> int:
        return 0 if mtype.family == "none" else DEFAULT_RAM_SIZE

    def max_cpus(self, release: Release, mtype: MachineType) -> tuple[int, Callable[[], int]]:
        from memdevd.targets.aarch64.board import VIRT
        from memdevd.targets.aarch64.cpus import VIRT_MAX_CPUS

        if mtype.family == "none":
            return 1, lambda: 1
        limit = int(VIRT.compat_props(mtype.name).get("virt.max-cpus", VIRT_MAX_CPUS))
        return 255, lambda: limit

    def resolve_cpu_model(
        self, release: Release, mtype: MachineType, option: str | None, accel: str
    ) -> tuple[str | None, list[str]]:
        from memdevd.targets.aarch64.cpus import DEFAULT_CPU, resolve_cpu_model

        default = None if mtype.family == "none" else DEFAULT_CPU
        return resolve_cpu_model(release, option, default, accel)

    def cpu_help(self, release: Release) -> str:
        from memdevd.targets.aarch64.cpus import cpu_help_text

        return cpu_help_text(release)

    @property
    def board_option_names(self) -> frozenset[str]:
        from memdevd.targets.aarch64.board import BOARD_OPTIONS

        return BOARD_OPTIONS

    def machine_option_names(self, release: Release, mtype: MachineType) -> set[str]:
        from memdevd.releases.recorded import recording

        sample = recording(self.name, release).machine_sample(f"{mtype.name}-machine", mtype.family)
        return {p["name"] for p in sample["qom-list"]} if sample else set()

    def apply_machine_option(
        self, config: MachineConfig, key: str, value: Any, release: Release
    ) -> bool:
        from memdevd.targets.aarch64.board import apply_option

        return apply_option(config, key, value, release)


TARGET = AArch64Target()
