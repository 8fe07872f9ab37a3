"""The block graph: nodes (BlockDriverState), their children and backends.

``blockdev-add`` opens a tree of nodes as ``bdrv_open_inherit`` does: a
format node's ``file`` child first (a reference to an existing node or an
inline definition with a generated name), then the node itself gets its
name (``bdrv_assign_node_name``: well-formed, not a device's name, not a
duplicate, shorter than 32), then the driver opens it (file: the file must
be there; qcow2: its header; raw: offset and size), then its ``backing``
child.  Nothing is kept until the whole tree opened: a failure leaves the
graph as it was, except the generated-name counter, which QEMU advances
too.  Nodes are listed in the order QEMU's ``graph_bdrv_states`` keeps
them (by name assignment).

memdevd reads files and never writes them (but for the temporary overlay
of a ``snapshot=on`` drive, :meth:`BlockLayer.append_temp_snapshot`); the
drivers it does not model are refused by name (``BLOCK_DRIVER_NOT_EMULATED``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import field
from typing import TYPE_CHECKING, Any, Final

from memdevd import messages as M
from memdevd.machine.block import image, perms
from memdevd.machine.errors import CoreError
from memdevd.qapi.json_writer import to_json
from memdevd.records import record
from memdevd.util.cutils import id_wellformed

if TYPE_CHECKING:
    from memdevd.machine.block.drive import DriveInfo
    from memdevd.machine.block.throttle import ThrottleGroup
    from memdevd.machine.qdev import Device

#: sizeof(bs->node_name)
NODE_NAME_MAX: Final = 32
PROTOCOL_DRIVERS: Final = frozenset({"file", "host_device", "host_cdrom", "null-co", "null-aio"})
#: BlockDriver.strong_runtime_opts: options that change what the node reads
STRONG_OPTIONS: Final = {
    "null-co": ("size", "read-zeroes"),
    "null-aio": ("size", "read-zeroes"),
    "raw": ("offset", "size"),
    "qcow2": ("encrypt.key-secret",),
    "throttle": ("throttle-group",),
}
FORMAT_DRIVERS: Final = frozenset({"raw", "qcow2"})
#: drivers with is_filter: one "file" child, passed through
FILTER_DRIVERS: Final = frozenset({"throttle", "copy-on-read"})
#: null-co's default length (block/null.c)
NULL_DEFAULT_SIZE: Final = 1 << 30
SECTOR: Final = 512


@record
class BlockNode:
    """A node: its driver, name, options, children and what it read."""

    node_name: str
    driver: str
    options: dict[str, Any]
    read_only: bool = False
    # bs->filename after bdrv_refresh_filename(): exact_filename, else
    # "json:" and the full open options
    filename: str = ""
    exact_filename: str = ""
    full_options: dict[str, Any] = field(default_factory=dict)
    # bs->auto_backing_file: the backing file the image names (after an
    # implicit open, the backing node's filename)
    auto_backing_file: str = ""
    # bdrv_getlength(): whole sectors
    length: int = 0
    # bdrv_get_allocated_file_size() (None: -ENOTSUP)
    allocated: int | None = None
    file: BlockNode | None = None
    backing: BlockNode | None = None
    qcow2: image.Qcow2Header | None = None
    # blockdev-add's root (bdrv_set_monitor_owned)
    monitor_owned: bool = False
    # the node has a generated name ("#block...")
    implicit_name: bool = False
    # parents: nodes using it as a child, and backends using it as root
    refcnt: int = 0
    # the parents' edges, newest first (bs->parents)
    parents: list[Edge] = field(default_factory=list)
    # file nodes: whether they lock the file (``locking``) and its identity
    locking: bool = False
    file_id: tuple[int, int] | None = None
    force_share: bool = False
    # block-set-write-threshold (0: none)
    write_threshold: int = 0
    # the iothread whose AioContext the node is in (None: the main loop)
    iothread: str | None = None
    # the format was probed, not given (raw then aligns requests to sectors)
    probed: bool = False

    @property
    def cache_direct(self) -> bool:
        return bool((self.options.get("cache") or {}).get("direct", False))

    @property
    def cache_no_flush(self) -> bool:
        return bool((self.options.get("cache") or {}).get("no-flush", False))

    @property
    def detect_zeroes(self) -> str:
        return str(self.options.get("detect-zeroes", "off"))

    def children(self) -> list[BlockNode]:
        return [c for c in (self.file, self.backing) if c is not None]


@record
class Edge:
    """A BdrvChild: who uses the node, as which child, needing what."""

    user: str  # "node 'q0'" (get_parent_desc)
    child_name: str  # "file", "backing"
    parent: Any  # the parent node or backend
    role: int
    perm: int = 0
    shared: int = perms.ALL


@record
class BlockBackend:
    """A BlockBackend: named (``-drive id=``) or a device's anonymous one."""

    name: str
    root: BlockNode | None
    device: Device | None = None
    # its edge to the root node (perm and shared as the device set them)
    edge: Edge | None = None
    # blk_enable_write_cache(): the device's write-cache (auto: on)
    write_cache: bool = True
    # -drive: its DriveInfo (drive.py), error actions, accounting, the
    # root state of an empty drive, its throttle group
    dinfo: DriveInfo | None = None
    on_read_error: str = "report"
    on_write_error: str = "enospc"
    account_invalid: bool = True
    account_failed: bool = True
    intervals: list[int] = field(default_factory=list)
    root_read_only: bool = False
    root_detect_zeroes: str = "off"
    throttle: ThrottleGroup | None = None
    # blockdev_mark_auto_del(): goes with the device that used it
    auto_del: bool = False

    def user(self) -> str:
        """``blk_root_get_parent_desc``."""
        if self.name:
            return f"block device '{self.name}'"
        dev = self.device
        if dev is not None:
            return f"block device '{dev.id or dev.canonical_path()}'"
        return "an unnamed block device"


@record
class _Opening:
    """What one blockdev-add has opened so far (committed only at the end)."""

    nodes: list[BlockNode] = field(default_factory=list)
    # existing nodes that gain a parent
    referenced: list[BlockNode] = field(default_factory=list)
    # edges added (to undo on failure)
    edges: list[tuple[BlockNode, Edge]] = field(default_factory=list)


class BlockLayer:
    """The machine's block graph and backends."""

    def __init__(self) -> None:
        # graph_bdrv_states order
        self.nodes: dict[str, BlockNode] = {}
        # block_backends order
        self.backends: list[BlockBackend] = []
        # id_generate(ID_BLOCK) counter, global in QEMU
        self.generated = 0
        from memdevd.machine.block.throttle import ThrottleGroups

        self.throttle_groups = ThrottleGroups()
        # whether a throttle-group object of that id exists (the machine's)
        self.group_object: Callable[[str], bool] = lambda name: False

    # -- lookup ----------------------------------------------------------------

    def backend_by_name(self, name: str) -> BlockBackend | None:
        for blk in self.backends:
            if blk.name and blk.name == name:
                return blk
        return None

    def lookup(self, reference: str) -> BlockNode:
        """``bdrv_lookup_bs(reference, reference)``: a backend's root, else a node."""
        blk = self.backend_by_name(reference)
        if blk is not None and blk.root is not None:
            return blk.root
        node = self.nodes.get(reference)
        if node is None:
            raise CoreError(M.BLOCK_CANNOT_FIND.format(reference, reference))
        return node

    def has_backend(self, node: BlockNode) -> bool:
        return any(blk.root is node for blk in self.backends)

    # -- blockdev-add ----------------------------------------------------------

    def blockdev_add(self, options: dict[str, Any]) -> BlockNode:
        """``qmp_blockdev_add`` of visited ``BlockdevOptions``."""
        if options.get("node-name") is None:
            raise CoreError(M.BLOCK_ROOT_NODE_NAME_REQUIRED)
        opening = _Opening()
        try:
            node = self._open(options, opening)
        except CoreError:
            for child, edge in opening.edges:
                child.parents.remove(edge)
            raise
        node.monitor_owned = True
        self._commit(opening)
        return node

    def _commit(self, opening: _Opening) -> None:
        for node in opening.nodes:
            self.nodes[node.node_name] = node
        for node in opening.referenced:
            node.refcnt += 1

    def _generate_name(self) -> str:
        """``id_generate(ID_BLOCK)``: "#block" + counter + two digits QEMU
        draws at random (memdevd derives them from the counter)."""
        n = self.generated
        self.generated += 1
        return f"#block{n}{(n * 37 + 11) % 100:02d}"

    def _assign_name(self, requested: str | None, opening: _Opening) -> tuple[str, bool]:
        """``bdrv_assign_node_name``."""
        if requested is None:
            name, implicit = self._generate_name(), True
        else:
            if not id_wellformed(requested):
                raise CoreError(M.BLOCK_INVALID_NODE_NAME.format(requested))
            name, implicit = requested, False
        if self.backend_by_name(name) is not None:
            raise CoreError(M.BLOCK_NODE_NAME_CONFLICTS_DEVICE.format(name))
        if name in self.nodes or any(n.node_name == name for n in opening.nodes):
            raise CoreError(M.BLOCK_DUPLICATE_NODE_NAME.format(name))
        if len(name) >= NODE_NAME_MAX:
            raise CoreError(M.BLOCK_NODE_NAME_TOO_LONG)
        return name, implicit

    def _child(
        self, ref: Any, opening: _Opening, parent_options: dict[str, Any], cow: bool = False
    ) -> BlockNode:
        """A ``BlockdevRef``: a node name, or options of a new node (which
        inherit the parent's as ``bdrv_inherited_options`` says)."""
        if isinstance(ref, str):
            node = self.lookup(ref)
            opening.referenced.append(node)
            return node
        child = self._open(_inherited(ref, parent_options, cow), opening)
        child.refcnt += 1
        return child

    def _open(
        self, options: dict[str, Any], opening: _Opening, opened_file: BlockNode | None = None
    ) -> BlockNode:
        """``bdrv_open_inherit`` of one node (and its children); a legacy
        open (-drive) has opened the file child already (``opened_file``)."""
        driver = str(options["driver"])
        if driver not in PROTOCOL_DRIVERS | FORMAT_DRIVERS | FILTER_DRIVERS:
            raise CoreError(M.BLOCK_DRIVER_NOT_EMULATED.format(driver))
        file_node = None
        if opened_file is not None:
            file_node = opened_file
            file_node.refcnt += 1
        elif driver not in PROTOCOL_DRIVERS:
            # The image file is opened before the format node gets its name.
            file_node = self._child(options["file"], opening, options)
        if options.get("force-share") and not options.get("read-only"):
            raise CoreError(M.BLOCK_FORCE_SHARE_NEEDS_READ_ONLY)
        name, implicit = self._assign_name(options.get("node-name"), opening)
        node = BlockNode(
            name,
            driver,
            options,
            read_only=bool(options.get("read-only", False)),
            implicit_name=implicit,
            force_share=bool(options.get("force-share", False)),
        )
        opening.nodes.append(node)
        if file_node is not None:
            # The driver's open attaches its file child first of all.
            role = perms.ROLE_DATA | perms.ROLE_METADATA
            if driver == "raw":
                plain = "offset" not in options and "size" not in options
                role = perms.ROLE_FILTERED if plain else perms.ROLE_DATA
            elif driver in FILTER_DRIVERS:
                role = perms.ROLE_FILTERED
            self._attach(node, file_node, "file", role, opening)
            node.file = file_node
        if driver in ("file", "host_device", "host_cdrom"):
            self._open_file(node)
        elif driver in ("null-co", "null-aio"):
            self._open_null(node)
        elif driver == "raw":
            self._open_raw(node)
        elif driver in FILTER_DRIVERS:
            self._open_filter(node)
        else:
            self._open_qcow2(node, opening)
        _refresh_filename(node)
        return node

    # -- permissions -----------------------------------------------------------

    def _cumulative(self, node: BlockNode) -> tuple[int, int]:
        """``bdrv_get_cumulative_perm``."""
        perm, shared = 0, perms.ALL
        for edge in node.parents:
            perm |= edge.perm
            shared &= edge.shared
        return perm, shared

    def _requested(self, parent: BlockNode, child: BlockNode, role: int) -> tuple[int, int]:
        perm, shared = self._cumulative(parent)
        if parent.driver == "copy-on-read":
            new_perm, new_shared = perms.cor_child_perms(perm, shared)
        else:
            new_perm, new_shared = perms.child_perms(role, perm, shared, not parent.read_only)
        if child.force_share:
            new_shared = perms.ALL
        return new_perm, new_shared

    def _attach(
        self, parent: BlockNode, child: BlockNode, name: str, role: int, opening: _Opening
    ) -> None:
        """``bdrv_attach_child``: the edge, then the permission checks."""
        perm, shared = self._requested(parent, child, role)
        edge = Edge(f"node '{parent.node_name}'", name, parent, role, perm, shared)
        child.parents.insert(0, edge)
        opening.edges.append((child, edge))
        self._refresh_perms(child, opening)

    def _refresh_perms(self, node: BlockNode, opening: _Opening) -> None:
        """``bdrv_refresh_perms`` of ``node`` and what is below it."""
        perms.check_parents(
            node.node_name, [(e.user, e.child_name, e.perm, e.shared) for e in node.parents]
        )
        if node.locking and node.file_id is not None:
            perm, shared = self._cumulative(node)
            others = [
                self._cumulative(other)
                for other in (*self.nodes.values(), *opening.nodes)
                if other is not node and other.locking and other.file_id == node.file_id
            ]
            perms.check_locks(node.filename, perm, shared, others)
        for child in node.children():
            for edge in child.parents:
                if edge.parent is node:
                    edge.perm, edge.shared = self._requested(node, child, edge.role)
            self._refresh_perms(child, opening)

    # -- drivers -------------------------------------------------------------------

    def _open_file(self, node: BlockNode) -> None:
        path = str(node.options["filename"])
        read_only = node.read_only
        try:
            facts = image.stat_file(path, node.driver, read_only=read_only)
        except CoreError:
            if read_only or not node.options.get("auto-read-only"):
                raise
            # auto-read-only: a file that cannot be written opens read-only.
            facts = image.stat_file(path, node.driver, read_only=True)
            node.read_only = True
        node.filename = node.exact_filename = path
        node.length = -(-facts.size // SECTOR) * SECTOR
        node.allocated = facts.allocated
        node.locking = node.options.get("locking", "auto") != "off"
        node.file_id = facts.file_id

    def _open_null(self, node: BlockNode) -> None:
        if node.options.get("latency-ns", 0) < 0:
            raise CoreError(M.BLOCK_NULL_LATENCY_INVALID)
        node.filename = f"{node.driver}://"
        node.length = int(node.options.get("size", NULL_DEFAULT_SIZE))
        # bdrv_get_allocated_file_size(): the sum over its (no) children.
        node.allocated = 0

    def _open_raw(self, node: BlockNode) -> None:
        assert node.file is not None
        real = node.file.length
        offset = int(node.options.get("offset", 0))
        size = node.options.get("size")
        if offset > real:
            raise CoreError(M.RAW_OFFSET_TOO_BIG.format(offset, real))
        if size is not None and real - offset < size:
            raise CoreError(M.RAW_OFFSET_SIZE_TOO_BIG.format(offset, size, real))
        if size is not None and size % SECTOR:
            raise CoreError(M.RAW_SIZE_NOT_SECTOR_ALIGNED)
        node.length = int(size) if size is not None else real - offset
        node.allocated = node.file.allocated

    def _open_filter(self, node: BlockNode) -> None:
        """throttle_open / cor_open: the child's length; a throttle node
        joins its group, which must exist (an object or a drive's)."""
        assert node.file is not None
        if node.driver == "throttle":
            group = str(node.options["throttle-group"])
            if group not in self.throttle_groups.groups and not self.group_object(group):
                raise CoreError(M.THROTTLE_GROUP_MISSING.format(group))
        node.length = node.file.length
        node.allocated = node.file.allocated

    def throttle_group_in_use(self, name: str) -> bool:
        """``throttle_group_can_be_deleted`` is false: a node or drive uses it."""
        group = self.throttle_groups.groups.get(name)
        if group is not None and group.refcnt > 0:
            return True
        return any(
            n.driver == "throttle" and n.options.get("throttle-group") == name
            for n in self.nodes.values()
        )

    def _open_qcow2(self, node: BlockNode, opening: _Opening) -> None:
        file_node = node.file
        assert file_node is not None
        # bdrv_pread goes down through raw nodes (their offsets add up) to
        # the protocol node whose bytes are read.
        bottom, base = file_node, 0
        while bottom.driver == "raw" and bottom.file is not None:
            base += int(bottom.options.get("offset", 0))
            bottom = bottom.file
        if bottom.driver.startswith("null"):
            raise CoreError(M.QCOW2_NOT_QCOW2)
        header = image.read_qcow2_header(bottom.filename, base)
        node.qcow2 = header
        node.length = header.size
        node.allocated = file_node.allocated
        node.auto_backing_file = header.backing_file
        if "backing" in node.options:
            ref = node.options["backing"]
            if ref is not None:
                backing = self._child(ref, opening, node.options, cow=True)
                self._attach(node, backing, "backing", perms.ROLE_COW, opening)
                node.backing = backing
            return
        if header.backing_file:
            backing = self._open_backing_file(node, header, opening)
            self._attach(node, backing, "backing", perms.ROLE_COW, opening)
            node.backing = backing
            # An implicit backing file is not an override.
            node.auto_backing_file = node.backing.filename

    def _open_backing_file(
        self, node: BlockNode, header: image.Qcow2Header, opening: _Opening
    ) -> BlockNode:
        """``bdrv_open_backing_file`` from the image header."""
        path = header.backing_file
        if not os.path.isabs(path) and "://" not in path:
            assert node.file is not None
            path = os.path.join(os.path.dirname(node.file.filename), path)
        fmt = header.backing_format
        try:
            if not fmt:
                image.stat_file(path, "file", read_only=True)
                fmt = image.probe_format(path)
            options: dict[str, Any] = {
                "driver": fmt,
                "read-only": True,
                "file": {"driver": "file", "filename": path, "read-only": True},
            }
            # bdrv_inherited_options(BDRV_CHILD_COW): the cache mode too.
            child = self._open(_inherited(options, node.options, True), opening)
        except CoreError as exc:
            raise CoreError(M.BLOCK_BACKING_OPEN_FAILED.format(exc.desc)) from None
        child.refcnt += 1
        return child

    def append_temp_snapshot(self, bs: BlockNode, read_only: bool, opening: _Opening) -> BlockNode:
        """``bdrv_append_temp_snapshot`` (``snapshot=on``, ``-snapshot``): a
        qcow2 image of ``bs``'s length in the temporary directory, opened
        with ``bdrv_temp_snapshot_options`` (cache.direct off, cache.no-flush
        on; read-only as the drive) and ``bs`` (opened read-only, as a
        backing file) as its backing file.  The image file is unlinked once
        open, as QEMU's ``BDRV_O_TEMPORARY`` file node does
        (``raw_open_common``): no other open can share or lock it."""
        path = image.create_temp_overlay(bs.length)
        try:
            # bdrv_create opens the new image to write it: its nodes draw
            # three generated names (seen live on 7.2, 10.0 and 11.1).
            self.generated += 3
            options = {
                "driver": "qcow2",
                "file": {"driver": "file", "filename": path},
                "cache": {"direct": False, "no-flush": True},
                "read-only": read_only,
            }
            overlay = self._open(options, opening)
        finally:
            os.unlink(path)
        assert overlay.file is not None
        overlay.file.file_id = None
        # bdrv_append: bs is the overlay's backing file, the image names none
        self._attach(overlay, bs, "backing", perms.ROLE_COW, opening)
        overlay.backing = bs
        bs.refcnt += 1
        _refresh_filename(overlay)
        return overlay

    # -- devices ---------------------------------------------------------------

    def attach_drive(self, name: str, dev: Device, owner: str, prop: str) -> BlockBackend:
        """``set_drive_helper``: a named backend, else a new one on the node
        ``name``; QEMU's texts when neither exists or it is taken."""
        blk = self.backend_by_name(name)
        created = False
        if blk is None:
            node = self.nodes.get(name)
            if node is not None:
                blk = BlockBackend("", node)
                created = True
        if blk is None:
            raise CoreError(M.CHARDEV_PROP_NOT_FOUND.format(owner, prop, name))
        if blk.device is not None:
            raise CoreError(M.BLOCK_DRIVE_IN_USE.format(name))
        blk.device = dev
        if created:
            assert blk.root is not None
            # blk_new(ctx, 0, BLK_PERM_ALL) + blk_insert_bs(): no needs yet.
            blk.edge = Edge(blk.user(), "root", blk, 0, 0, perms.ALL)
            blk.root.parents.insert(0, blk.edge)
            blk.root.refcnt += 1
            self.backends.append(blk)
        return blk

    def replace_drive(self, blk: BlockBackend, node_name: str) -> None:
        """``set_drive_helper`` on a device that has its drive: the backend
        moves to another node (``blk_replace_bs``); nothing changes if the
        node is missing or cannot take the device's permissions."""
        node = self.nodes.get(node_name)
        if node is None:
            raise CoreError(M.BLOCK_CANNOT_FIND.format("", node_name))
        old, edge = blk.root, blk.edge
        if node is old or old is None or edge is None:
            return
        if edge.perm & (perms.WRITE | perms.WRITE_UNCHANGED) and node.read_only:
            raise CoreError(M.BLOCK_NODE_READ_ONLY)
        old.parents.remove(edge)
        node.parents.insert(0, edge)
        blk.root = node
        # One transaction in QEMU: the old node's needs drop with the new's.
        try:
            self._refresh_perms(old, _Opening())
            self._refresh_perms(node, _Opening())
        except CoreError:
            node.parents.remove(edge)
            old.parents.insert(0, edge)
            blk.root = old
            self._refresh_perms(node, _Opening())
            self._refresh_perms(old, _Opening())
            raise
        node.refcnt += 1
        old.refcnt -= 1
        self._unref(old)

    def empty_backend(self, dev: Device) -> BlockBackend:
        """An anonymous backend without a medium (a CD-ROM without drive)."""
        # blk_new(): an empty root state, so a medium opens read-only.
        blk = BlockBackend("", None, device=dev, root_read_only=True)
        self.backends.append(blk)
        return blk

    def realize_drive(
        self,
        blk: BlockBackend,
        *,
        resizable: bool,
        share_rw: bool,
        read_only: bool | None = None,
    ) -> None:
        """``blkconf_apply_backend_options``: the device's needs on the
        node (write unless ``read_only``; None: unless the node is
        read-only), checked as ``blk_set_perm`` does; nothing changes if
        they conflict."""
        node = blk.root
        if node is None or blk.edge is None:
            return
        if read_only is None:
            read_only = node.read_only
        elif not read_only and node.read_only:
            raise CoreError(M.BLOCK_NODE_READ_ONLY)
        perm = perms.CONSISTENT_READ | (0 if read_only else perms.WRITE)
        shared = perms.CONSISTENT_READ | perms.WRITE_UNCHANGED
        shared |= (perms.RESIZE if resizable else 0) | (perms.WRITE if share_rw else 0)
        old = (blk.edge.perm, blk.edge.shared)
        blk.edge.user = blk.user()
        blk.edge.perm, blk.edge.shared = perm, shared
        try:
            self._refresh_perms(node, _Opening())
        except CoreError:
            blk.edge.perm, blk.edge.shared = old
            self._refresh_perms(node, _Opening())
            raise

    def detach_drive(self, blk: BlockBackend) -> None:
        """``release_drive``: the device lets go; an anonymous backend goes,
        and so does a -drive one the device marked (``blockdev_auto_del``)."""
        blk.device = None
        if blk.auto_del and blk.dinfo is not None:
            self._remove_backend(blk)
            return
        if blk.root is None and not blk.name:
            self.backends.remove(blk)
            return
        if blk.name or blk.root is None:
            return
        node = blk.root
        if blk.edge is not None and blk.edge in node.parents:
            node.parents.remove(blk.edge)
        node.refcnt -= 1
        self.backends.remove(blk)
        self._refresh_perms(node, _Opening())
        self._unref(node)

    def _remove_backend(self, blk: BlockBackend) -> None:
        """``monitor_remove_blk`` + ``blk_unref``: the backend, its throttle
        group membership and its hold on the root go."""
        self.backends.remove(blk)
        if blk.throttle is not None:
            self.throttle_groups.unref(blk.throttle)
            blk.throttle = None
        node = blk.root
        if node is None:
            return
        if blk.edge is not None and blk.edge in node.parents:
            node.parents.remove(blk.edge)
        node.refcnt -= 1
        self._refresh_perms(node, _Opening())
        self._unref(node)

    # -- blockdev-del ----------------------------------------------------------

    def blockdev_del(self, node_name: str) -> None:
        """``qmp_blockdev_del``."""
        node = self.nodes.get(node_name)
        if node is None:
            raise CoreError(M.BLOCK_NODE_NOT_FOUND.format(node_name))
        if self.has_backend(node):
            raise CoreError(M.BLOCK_NODE_IN_USE.format(node_name))
        if not node.monitor_owned:
            raise CoreError(M.BLOCK_NODE_NOT_MONITOR_OWNED.format(node_name))
        if node.refcnt > 0:
            raise CoreError(M.BLOCK_DEVICE_IN_USE.format(node_name))
        node.monitor_owned = False
        self._unref(node)

    def _unref(self, node: BlockNode) -> None:
        """``bdrv_unref``: a node nobody holds closes and drops its children."""
        if node.refcnt > 0 or node.monitor_owned:
            return
        del self.nodes[node.node_name]
        for child in node.children():
            child.refcnt -= 1
            child.parents = [e for e in child.parents if e.parent is not node]
            self._unref(child)


def _inherited(child: dict[str, Any], parent: dict[str, Any], cow: bool) -> dict[str, Any]:
    """``bdrv_inherited_options``: what an inline child takes from its parent
    when it does not say (cache modes, force-share; read-only, or for a
    backing file read-only by default)."""
    out = dict(child)
    parent_cache = parent.get("cache") or {}
    cache = dict(out.get("cache") or {})
    for key in ("direct", "no-flush"):
        if key not in cache and key in parent_cache:
            cache[key] = parent_cache[key]
    if cache:
        out["cache"] = cache
    keys = ("force-share",) if cow else ("force-share", "read-only", "auto-read-only")
    for key in keys:
        if key not in out and key in parent:
            out[key] = parent[key]
    if cow:
        out.setdefault("read-only", True)
        out.setdefault("auto-read-only", False)
    out.setdefault("discard", "unmap")
    return out


def _refresh_filename(node: BlockNode) -> None:
    """``bdrv_refresh_filename`` (its children are refreshed already)."""
    opts: dict[str, Any] = {"driver": node.driver}
    if "filename" in node.options:
        opts["filename"] = node.options["filename"]
    strong = False
    for name in STRONG_OPTIONS.get(node.driver, ()):
        if name in node.options:
            opts[name] = node.options[name]
            strong = True
    overridden = node.driver == "qcow2" and _backing_overridden(node)
    # bs->children: the backing child was attached last, so it comes first.
    if node.backing is not None and overridden:
        opts["backing"] = node.backing.full_options
    if node.file is not None:
        opts["file"] = node.file.full_options
    if overridden and node.backing is None:
        opts["backing"] = None
    node.full_options = opts
    if node.driver in ("null-co", "null-aio"):
        plain = set(opts) <= {"driver", "filename", "latency-ns"}
        node.exact_filename = f"{node.driver}://" if plain else ""
    elif node.driver in FILTER_DRIVERS:
        # is_filter: never the child's name, always json:
        node.exact_filename = ""
    elif node.driver in FORMAT_DRIVERS:
        child = node.file
        plain_child = child is not None and child.driver in PROTOCOL_DRIVERS
        node.exact_filename = ""
        if plain_child and child is not None and not strong and not overridden:
            node.exact_filename = child.exact_filename
    node.filename = node.exact_filename or "json:" + to_json(opts)


def _backing_overridden(node: BlockNode) -> bool:
    """``bdrv_backing_overridden``."""
    if node.backing is not None:
        return node.auto_backing_file != node.backing.filename
    return node.auto_backing_file != ""
