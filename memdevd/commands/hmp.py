"""``human-monitor-command``: QEMU's HMP ``info`` commands about memory.

Management tools and people still read HMP text (``virsh
qemu-monitor-command --hmp``, Proxmox's ``qm monitor``).  memdevd answers
the ``info`` commands of its subject exactly as QEMU formats them
(hw/core/machine-hmp-cmds.c, hw/core/machine-qmp-cmds.c, system/memory.c),
from the same data as the QMP queries, with QEMU's ``\\r\\n`` line ends:

``info memory-devices``, ``info memdev``, ``info memory_size_summary``,
``info numa``, ``info mtree`` (the ``memory`` address space down to the
device-memory region and what is mapped in it, and the CXL host register
region and fixed memory windows), ``info status``,
``info version``, ``info name``, ``info kvm``; ``help info NAME``.

The command-line parsing follows monitor/hmp.c: an unknown command gets
``unknown command: '...'``, trailing words ``extraneous characters``.  HMP
commands outside memdevd's subject answer a memdevd text saying so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from memdevd import messages as M
from memdevd.commands.base import Runtime, command, parse_args
from memdevd.qapi.control import HumanMonitorCommandArgs
from memdevd.qmp.session import Session
from memdevd.records import record

MiB = 1 << 20


@record(frozen=True)
class InfoCommand:
    args: str
    help: str
    run: Callable[[Runtime, list[str]], str]


def _bool(value: bool) -> str:
    return "true" if value else "false"


# --- info memory-devices (hmp_info_memory_devices) -----------------------------------


def info_memory_devices(rt: Runtime, _args: list[str]) -> str:
    out: list[str] = []
    for info in rt.machine.memory.device_list():
        kind, d = info["type"], info["data"]
        out.append(f'Memory device [{kind}]: "{d.get("id", "")}"')
        if kind in ("dimm", "nvdimm"):
            out.append(f"  addr: 0x{d['addr']:x}")
            out.append(f"  slot: {d['slot']}")
            out.append(f"  node: {d['node']}")
            out.append(f"  size: {d['size']}")
            out.append(f"  memdev: {d['memdev']}")
            out.append(f"  hotplugged: {_bool(d['hotplugged'])}")
            out.append(f"  hotpluggable: {_bool(d['hotpluggable'])}")
        elif kind == "virtio-pmem":
            out.append(f"  memaddr: 0x{d['memaddr']:x}")
            out.append(f"  size: {d['size']}")
            out.append(f"  memdev: {d['memdev']}")
        elif kind == "virtio-mem":
            out.append(f"  memaddr: 0x{d['memaddr']:x}")
            out.append(f"  node: {d['node']}")
            out.append(f"  requested-size: {d['requested-size']}")
            out.append(f"  size: {d['size']}")
            out.append(f"  max-size: {d['max-size']}")
            out.append(f"  block-size: {d['block-size']}")
            out.append(f"  memdev: {d['memdev']}")
        elif kind == "sgx-epc":
            out.append(f"  memaddr: 0x{d['memaddr']:x}")
            out.append(f"  size: {d['size']}")
            out.append(f"  node: {d['node']}")
            out.append(f"  memdev: {d['memdev']}")
        elif kind == "hv-balloon":
            if "memaddr" in d:
                out.append(f"  memaddr: 0x{d['memaddr']:x}")
            out.append(f"  max-size: {d['max-size']}")
            if "memdev" in d:
                out.append(f"  memdev: {d['memdev']}")
    return "".join(line + "\n" for line in out)


# --- info memdev (hmp_info_memdev) ---------------------------------------------------


def _uint16_list(values: list[int]) -> str:
    """The string output visitor's uint16List: ranges collapse to ``a-b``."""
    parts: list[str] = []
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[j] + 1:
            j += 1
        parts.append(str(values[i]) if i == j else f"{values[i]}-{values[j]}")
        i = j + 1
    return ",".join(parts)


def info_memdev(rt: Runtime, _args: list[str]) -> str:
    out: list[str] = []
    for m in rt.machine.memdev_list():
        out.append(f"memory backend: {m['id']}")
        out.append(f"  size:  {m['size']}")
        out.append(f"  merge: {_bool(m['merge'])}")
        out.append(f"  dump: {_bool(m['dump'])}")
        out.append(f"  prealloc: {_bool(m['prealloc'])}")
        out.append(f"  share: {_bool(m['share'])}")
        if "reserve" in m:
            out.append(f"  reserve: {_bool(m['reserve'])}")
        out.append(f"  policy: {m['policy']}")
        out.append(f"  host nodes: {_uint16_list(m['host-nodes'])}")
    out.append("")
    return "".join(line + "\n" for line in out)


def info_memory_size_summary(rt: Runtime, _args: list[str]) -> str:
    summary = rt.machine.memory_size_summary()
    text = f"base memory: {summary['base-memory']}\n"
    if "plugged-memory" in summary:
        text += f"plugged memory: {summary['plugged-memory']}\n"
    return text


# --- info numa (qmp_x_query_numa) ----------------------------------------------------


def numa_node_memory(rt: Runtime) -> list[tuple[int, int]]:
    """``query_numa_node_mem``: (size, plugged) per node."""
    machine = rt.machine
    count = machine.numa.num_nodes
    mem = [[0, 0] for _ in range(count)]
    for info in machine.memory.device_list():
        kind, d = info["type"], info["data"]
        if kind in ("dimm", "nvdimm", "virtio-mem"):
            node = d["node"]
            mem[node][0] += d["size"]
            mem[node][1] += d["size"]
        elif kind == "virtio-pmem":
            mem[0][0] += d["size"]
            mem[0][1] += d["size"]
        elif kind == "sgx-epc":
            mem[d["node"]][0] += d["size"]
            mem[d["node"]][1] = 0
    for nodeid, node in machine.numa.nodes.items():
        mem[nodeid][0] += node.mem
    return [(size, plugged) for size, plugged in mem]


def cpu_node(rt: Runtime, cpu_index: int) -> int:
    """The vCPU's ``node-id``: from ``-numa node,cpus=`` or the board's default.

    machine/smp.py assigns it as ``machine_numa_finish_cpu_init`` does.
    """
    slots = rt.machine.cpu_slots
    if cpu_index < len(slots):
        return slots[cpu_index].props.get("node-id", 0)
    return 0


def info_numa(rt: Runtime, _args: list[str]) -> str:
    count = rt.machine.numa.num_nodes
    text = f"{count} nodes\n"
    if not count:
        return text
    for i, (size, plugged) in enumerate(numa_node_memory(rt)):
        cpus = [c for c in range(rt.machine.config.smp_cpus) if cpu_node(rt, c) == i]
        text += f"node {i} cpus:" + "".join(f" {c}" for c in cpus) + "\n"
        text += f"node {i} size: {size >> 20} MB\n"
        text += f"node {i} plugged: {plugged >> 20} MB\n"
    return text


# --- info mtree (mtree_info), the device-memory part ---------------------------------


def _range(addr: int, size: int) -> str:
    return f"{addr:016x}-{addr + size - 1:016x}"


def _backend_region(rt: Runtime, memdev: str) -> tuple[str, str]:
    """(region name, type) of a backend: its id, and ram or rom."""
    name = memdev.rsplit("/", 1)[-1]
    backend = rt.machine.objects.children.get(name)
    return name, "rom" if getattr(backend, "readonly_region", False) else "ram"


def _device_mtree(rt: Runtime, md: Any) -> list[str]:
    """What one memory device maps into device memory (``mtree_print_mr``)."""
    info = md.fill_device_info()
    kind, d = info["type"], info["data"]
    if kind in ("dimm", "virtio-pmem"):
        addr = d["addr"] if kind == "dimm" else d["memaddr"]
        name, mtype = _backend_region(rt, d["memdev"])
        return [f"{_range(addr, d['size'])} (prio 0, {mtype}): {name}"]
    if kind == "nvdimm":
        name, mtype = _backend_region(rt, d["memdev"])
        return [
            f"{_range(d['addr'], d['size'])} (prio 0, nv-{mtype}): alias nvdimm-memory"
            f" @{name} {_range(0, d['size'])}"
        ]
    if kind == "virtio-mem":
        name, mtype = _backend_region(rt, d["memdev"])
        addr, size = d["memaddr"], d["max-size"]
        vmem: Any = getattr(md, "vdev", None)
        if vmem is None or not getattr(vmem, "dynamic_memslots", False):
            return [f"{_range(addr, size)} (prio 0, {mtype}): {name}"]
        # virtio_mem_prepare_mr: a container; active memslots are aliases in it.
        lines = [f"{_range(addr, size)} (prio 0, i/o): virtio-mem"]
        memslot_size = vmem.memslot_size or size
        for idx in range(vmem.mapped_memslots()):
            offset = idx * memslot_size
            length = min(memslot_size, size - offset)
            lines.append(
                f"  {_range(addr + offset, length)} (prio 0, {mtype}): alias memslot-{idx}"
                f" @{name} {_range(offset, length)}"
            )
        return lines
    if kind == "hv-balloon" and "memaddr" in d:
        return [f"{_range(d['memaddr'], d['max-size'])} (prio 0, i/o): hv-balloon"]
    return []


def mtree_device_memory(rt: Runtime) -> list[str]:
    """Lines of the device-memory region and what is mapped in it."""
    machine = rt.machine
    dm = machine.device_memory
    if dm is None or not dm.size:
        # Without maxmem no device-memory region is mapped (7.2 keeps an
        # unmapped empty one for its error texts).
        return []
    lines = [f"    {_range(dm.base, dm.size)} (prio 0, i/o): device-memory"]
    for md in machine.memory.sorted_devices():
        lines.extend("      " + line for line in _device_mtree(rt, md))
    return lines


def mtree_cxl(rt: Runtime) -> list[str]:
    """``pc_memory_init``'s CXL regions: ``cxl_host_reg`` with one register
    block per pxb-cxl (``pxb_cxl_hook_up_registers``), then the windows."""
    from memdevd.machine.cxl import CXL_COMPONENT_BLOCK_SIZE, CXL_HOST_REG_SIZE, CXLState

    state = rt.machine.config.board_options.get("cxl")
    if not isinstance(state, CXLState) or state.host_reg_base is None:
        return []

    base = state.host_reg_base
    lines = [f"    {_range(base, CXL_HOST_REG_SIZE)} (prio 0, i/o): cxl_host_reg"]
    bridges = [d for d in rt.machine.devices() if d.is_a("pxb-cxl") and d.realized]
    for idx in range(len(bridges)):
        offset = base + idx * CXL_COMPONENT_BLOCK_SIZE
        lines.append(
            f"      {_range(offset, CXL_COMPONENT_BLOCK_SIZE)} (prio 0, i/o): pxb-cxl-host"
        )
    for window in state.fixed_windows:
        lines.append(
            f"    {_range(window.base, window.size)} (prio 0, i/o): cxl-fixed-memory-region"
        )
    return lines


def info_mtree(rt: Runtime, args: list[str]) -> str:
    if args:
        return M.HMP_INFO_NOT_EMULATED.format(f"mtree {' '.join(args)}")
    lines = ["address-space: memory", f"  {_range(0, 1 << 64)} (prio 0, i/o): system"]
    lines += mtree_device_memory(rt)
    lines += mtree_cxl(rt)
    lines.append("")
    return "".join(line + "\n" for line in lines)


# --- small ones ----------------------------------------------------------------------


def info_status(rt: Runtime, _args: list[str]) -> str:
    machine = rt.machine
    text = "VM status: " + ("running" if machine.running else "paused")
    if not machine.running and machine.runstate != "paused":
        text += f" ({machine.runstate})"
    return text + "\n"


def info_version(rt: Runtime, _args: list[str]) -> str:
    v: dict[str, Any] = dict(rt.release.version_info)
    q = v["qemu"]
    return f"{q['major']}.{q['minor']}.{q['micro']}{v['package']}\n"


def info_name(rt: Runtime, _args: list[str]) -> str:
    name = rt.machine.config.name
    return f"{name}\n" if name is not None else ""


def info_kvm(rt: Runtime, _args: list[str]) -> str:
    info = rt.machine.kvm_info()
    if not info["present"]:
        return "kvm support: not compiled\n"
    return "kvm support: " + ("enabled" if info["enabled"] else "disabled") + "\n"


def info_network(rt: Runtime, _args: list[str]) -> str:
    """``hmp_info_network``: hubs and their ports, then the other clients."""
    return rt.machine.net.info_network()


INFO: dict[str, InfoCommand] = {
    "kvm": InfoCommand("", "show KVM information", info_kvm),
    "memdev": InfoCommand("", "show memory backends", info_memdev),
    "memory-devices": InfoCommand("", "show memory devices", info_memory_devices),
    "memory_size_summary": InfoCommand(
        "",
        "show the amount of initially allocated and present hotpluggable (if enabled) "
        "memory in bytes.",
        info_memory_size_summary,
    ),
    "mtree": InfoCommand(
        "[-f][-d][-o][-D]",
        "show memory tree (-f: dump flat view for address spaces;-d: dump dispatch tree, "
        "valid with -f only);-o: dump region owners/parents;-D: dump disabled regions",
        info_mtree,
    ),
    "name": InfoCommand("", "show the current VM name", info_name),
    "network": InfoCommand("", "show the network state", info_network),
    "numa": InfoCommand("", "show NUMA information", info_numa),
    "status": InfoCommand("", "show the current VM status (running|paused)", info_status),
    "version": InfoCommand("", "show the version of QEMU", info_version),
}
_FLAGGED = {"mtree"}


def _help_line(name: str, cmd: InfoCommand) -> str:
    return f"info {name} {cmd.args} -- {cmd.help}\n"


def run_command_line(rt: Runtime, line: str) -> str:
    """What QEMU's HMP prints for one command line (``\\n`` line ends)."""
    words = line.split()
    if not words:
        return ""
    head = words[0]
    if head == "info":
        if len(words) == 1:
            return "".join(_help_line(n, c) for n, c in sorted(INFO.items()))
        name, rest = words[1], words[2:]
        cmd = INFO.get(name)
        if cmd is None:
            return M.HMP_UNKNOWN_COMMAND.format(f"info {name}")
        if rest and name not in _FLAGGED:
            return M.HMP_EXTRANEOUS_CHARACTERS.format(name, f"info {name}")
        return cmd.run(rt, rest)
    if head in ("help", "?"):
        if len(words) >= 3 and words[1] == "info" and words[2] in INFO:
            return _help_line(words[2], INFO[words[2]])
        return "".join(_help_line(n, c) for n, c in sorted(INFO.items()))
    return M.HMP_COMMAND_NOT_EMULATED.format(head)


@command("human-monitor-command")
def human_monitor_command(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    parsed = parse_args(HumanMonitorCommandArgs, args)
    # monitor_puts(): every "\n" goes out as "\r\n".
    return run_command_line(rt, parsed.command_line).replace("\n", "\r\n")
