"""What differs between the emulated QEMU releases (7.2, 8.2, 10.0, 11.1): one table.

QEMU keeps machine-version differences in ``hw_compat_X_Y`` tables; memdevd
keeps release differences here, one :class:`Release` per release, chosen once
at start-up by ``-memdevd version=``.  Each row is the previous one plus its
changes, every change with the QEMU source it follows; docs/versions.md is
the readable form of this table.  Code asks the release
(``release.strict_device_add``, ``release.recorded_as``) and never compares
version numbers: a test fails when a comparison of release or machine-type
versions appears outside this package (machine types: ``machine_compat``).
"""

from __future__ import annotations

from typing import Final

from memdevd import messages as M
from memdevd.records import record, replace


@record(frozen=True)
class Release:
    # --- identity ----------------------------------------------------------------
    version: str
    major: int
    minor: int
    micro: int
    # The reference build's package string (Debian/Ubuntu), reported with
    # memdevd's own name appended so a client can tell it is memdevd.
    reference_package: str
    # Last year of QEMU's copyright line in -version.
    copyright_year: int
    # The release whose recorded data (memdevd/targets/*/data/qemu-X.Y) and
    # generated tables (option tables, QAPI object members) answer for this
    # one: itself where a live QEMU was recorded; 8.2 (source only) uses
    # 10.0's, docs/versions.md lists what that implies.
    recorded_as: str
    # The release whose source trees the tables generated from source
    # answer with: the command-line option tables (targets/options_table.py, from
    # qemu-options.hx).  11.1's source is not at hand: it uses 10.0's, and
    # the live comparison (test_cli_syntax_live.py) shows where they differ.
    source_tables_as: str
    # QemuOptsList keys (list, key) the release dropped from the option
    # tables of source_tables_as (11.1: chardev "reconnect", deprecated in
    # 9.2 for reconnect-ms, seen live as "Invalid parameter 'reconnect'").
    opts_keys_removed: tuple[tuple[str, str], ...]
    # QemuOptsList keys (list, key, QEMU_OPT_ type) the release added to the
    # option tables of source_tables_as (11.1: chardev "encoding" and
    # "logtimestamp", seen live in -chardev socket,help).
    opts_keys_added: tuple[tuple[str, str, str], ...]

    # --- behaviour -------------------------------------------------------------
    # qapi/run-state.json StatusInfo.singlestep (gone after 8.0).
    status_has_singlestep: bool
    # system/qdev-monitor.c: qmp_device_add() parses with from_json=true
    # (strict JSON types, no QemuOpts id check) from 9.2 on.
    strict_device_add: bool
    # hw/mem/memory-device.c (8.2): memory_device_pre_plug() starts with the
    # "not prepared" check; device_memory exists only with maxmem > size.
    device_memory_only_with_maxmem: bool
    # 7.2: check_addable runs inside get_free_addr after the device-memory
    # checks; 8.2+: it runs in pre_plug before alignment.
    check_addable_in_pre_plug: bool
    # Size-vs-alignment check: "allocator" (7.2: full alignment incl.
    # virtio-mem block size, after the hint check), "none" (8.2, dropped by
    # eb1b7c4bd413) or "pre_plug" (9.0: backend alignment only, right after
    # check_addable).
    size_alignment_check: str
    # 8.2: memslot-aware checks and texts, dynamic memslots, empty devices.
    memslot_accounting: bool
    # 8.2: hv-balloon exists.
    has_hv_balloon: bool
    # 8.1: hw/virtio/virtio-md-pci.c unplug rules (virtio-mem unpluggable
    # when unplugged-inaccessible=on and nothing plugged).
    virtio_md_unplug: bool
    # hw/virtio/virtio-mem.c (8.0): the x-early-migration property and the
    # refusal of a memdev with prealloc=on.
    virtio_mem_early_migration: bool
    # hw/virtio/virtio-mem.c: unplugged-inaccessible's default ("on" from
    # 8.1; machine types up to 8.0 keep "auto" through pc_compat_8_0).
    unplugged_inaccessible_default: str
    # iothread.c, util/aio-posix.c: the iothread's poll-weight (0 to 63,
    # default 3), and query-iothreads reporting the poll-grow/poll-shrink in
    # effect (a zero is the default, 2) (11.1, seen live).
    iothread_poll_weight: bool
    # hw/pci/pci.c: every PCI device's read-only "legacy-addr" property
    # (gone in 11.1: its recorded devices lack it).
    pci_legacy_addr: bool
    # net/tap.c, net/socket.c, net/dgram.c: a passed descriptor that cannot
    # be made non-blocking, formatted with (name, fd, strerror): 11.1's
    # qemu_set_blocking() error (seen live for tap fd=, assumed for the others).
    fd_nonblocking_text: str
    # system/vl.c: -mon warns that it is deprecated (11.1: monitors are
    # monitor-hmp/monitor-qmp objects, seen live).
    mon_deprecated: bool
    # util/qemu-config.c qemu_config_foreach(): -readconfig's errors while
    # the file is read print the -readconfig option (ERRP_GUARD reports them
    # after loc_pop()) rather than FILE:LINE (seen live: 7.2 the line).
    readconfig_errors_at_option: bool
    # system/vl.c is_qemuopts_group(): the -readconfig groups recorded as
    # their option would be (crumpled), not QemuOpts (10.0: audiodev too).
    readconfig_keyval_groups: tuple[str, ...]
    # net/tap-linux.c tap_open(): /dev/net/tun that does not open (path, strerror).
    tap_open_tun_text: str
    # hw/acpi/core.c acpi_table_add(): a -acpitable file that does not open
    # (path, strerror): "can't open file" (open()); 11.1 "Could not open"
    # (qemu_open(), seen live).
    acpitable_open_text: str
    # net/tap.c net_init_tap_one(): /dev/vhost-net that does not open (strerror).
    tap_vhost_open_text: str
    # hw/core/qdev.c qdev_set_id(): an id that is not well formed is refused
    # (11.1); before, the strict device_add path (9.2) took any string.
    qdev_id_wellformed_check: bool
    # object-del of a mapped memory backend: user_creatable_del()'s
    # "in use" text, or (11.1) the backend's own, from
    # backends/hostmem.c host_memory_backend_prepare_delete().
    backend_mapped_delete_text: str
    # object-del of a throttle group a node uses: likewise (11.1: its own
    # text, block/throttle-groups.c throttle_group_prepare_delete()).
    throttle_group_delete_text: str
    # 10.0: a second virtio-mem-pci on an occupied PCIe port is refused.
    pcie_slot_occupied_check: bool
    # qapi/misc-target.json SGXInfo.section-size: removed in 8.0.
    sgx_info_has_section_size: bool
    # hw/i386/sgx.c: qemu_open_old() until 9.1 ("Get rid of qemu_open_old()").
    sgx_legacy_open_error: bool
    # hw/mem/cxl_type3.c: 7.2 has only memdev (persistent) and lsa; 8.0 added
    # volatile-memdev and persistent-memdev ("hw/cxl: Add support for
    # volatile memory") and their checks in cxl_setup_memory.
    cxl_type3_volatile: bool
    # system/qdev-monitor.c qdev_unplug(): 7.2 checks the bus's hotplug
    # support before the device class's; 10.0 goes through
    # qdev_hotunplug_allowed() (hw/core/qdev-hotplug.c), class first.
    device_del_checks_class_first: bool
    # accel/kvm/kvm-all.c kvm_init(): error_report() (program name, option
    # location) since 9.2 ("kvm: replace fprintf with error_report/printf()
    # in kvm_init()"); bare fprintf(stderr) lines before.
    kvm_init_error_report: bool
    # util/cutils.c: qemu_strtosz() rewritten in 8.1: a negative value is out
    # of range, hex with a suffix and a fraction rounding to 1.0 are refused,
    # ".5G" is accepted; 7.2's also parses keyval/QOM sizes (legacy).
    strtosz_2023: bool
    # system/vl.c overcommit_parse(): -overcommit mem-lock=on-fault (10.0),
    # with its own error for other values; 7.2 reads mem-lock as a bool.
    overcommit_mem_lock_on_fault: bool
    # migration/migration.c qemu_start_incoming_migration(): 7.2 sends
    # MIGRATION "setup" before it looks at the URI; 8.2 (MigrationChannel,
    # "channels" argument) checks uri/channels and sends none there.
    migrate_incoming_channels: bool
    # chardev/char.c qemu_chr_parse_compat(): "pty:PATH" (9.x).
    chardev_pty_path: bool
    # chardev/char.c qemu_chr_parse_opts() (11.1, seen live): the kinds that
    # take -chardev's encoding= key (the others: "chardev 'ID' does not
    # support encoding option", after the driver's class is found and before
    # its parse); vc reads it as ChardevVCEncoding (qapi_enum_parse).
    # Empty where the release has no encoding key (opts_keys_added).
    chardev_encoding_kinds: frozenset[str]
    # chardev/char.c char_get_class(): the backend kinds the release's
    # binary has a class for (the Debian 7.2 build loads spice and dbus
    # modules; the 10.0 build has neither; "hub" is 9.2's char-hub.c).
    chardev_backend_kinds: frozenset[str]
    # query-chardev-backends: every chardev class of the binary in its (GLib
    # hash) order, recorded from the binary with its modules loaded; a kind
    # of chardev_module_kinds is listed once its module is loaded (the
    # first time that kind is asked for).
    chardev_backends_listed: tuple[str, ...]
    chardev_module_kinds: tuple[tuple[str, str], ...]
    # chardev/char-mux.c: front ends kept in a bitset, freed on detach, a
    # mux without front ends not busy (9.2); before, a counter that only
    # grows and a mux that is always busy.
    chardev_mux_bitset: bool
    # chardev/char.c qmp_chardev_change() on a mux (a hub too, 9.2).
    chardev_mux_hotswap_text: str
    # util/readline.c: ^N, ^P (history) and ^U (kill the line) (9.x).
    readline_ctrl_npu: bool
    # hw/core/machine-smp.c: the -smp keys of the release, the levels it
    # checks against the machine (in its order), whether a zero value is
    # only deprecated (7.2) or an error, and whether pc/q35 support modules
    # (9.1).
    smp_keys: tuple[str, ...]
    smp_level_checks: tuple[str, ...]
    smp_zero_deprecated: bool
    smp_modules: bool
    # target/i386/cpu.c x86_cpu_class_by_name(): abstract CPU classes are
    # refused (9.0); 7.2 takes any recorded type.
    cpu_class_rejects_abstract: bool
    # target/i386/cpu.c builtin_x86_defs: the CPU models of the recording
    # this release does not have (8.2 answers with 10.0's models).
    cpu_models_absent: frozenset[str]
    # target/i386/cpu.c x86_cpuid_set_vendor(): a vendor that is not 12
    # characters long (7.2: QERR_PROPERTY_VALUE_BAD with no type name).
    cpu_vendor_length_text: str
    # hw/i386/pc.c pc_max_used_gpa() for a vCPU without long mode: 7.2 takes
    # 2^phys-bits - 1 only at 32 bits and the 64-bit PCI hole's end above;
    # 8.2 ("improve physical address space bound check for 32-bit x86
    # systems") the end of device memory or of RAM (machine types up to
    # 8.1 keep 2^phys-bits - 1: broken_32bit_mem_addr_check).
    max_used_gpa_by_long_mode: bool
    # target/i386/cpu.c x86_cpu_realizefn(): the flags that give a vCPU
    # without long mode 36 address bits (7.2: PSE36; 8.1: PSE36 or PAE).
    phys_bits_36_flags: frozenset[str]
    # target/i386/cpu-system.c x86_cpu_from_model(): the name a bad value in
    # query-cpu-model-expansion's "props" is reported under (8.2: visited as
    # "model.props" with the props-not-a-dict fix; 7.2: the bare name).
    cpu_expansion_props_prefix: str
    # target/i386/cpu.c: the XSAVE components (CPUID.0DH:EAX) of the flags
    # TCG keeps (9.2) or of all the model requested (7.2, 8.2).
    xsave_components_after_filter: bool
    # target/i386/cpu.c: a vCPU of a package with more than one thread has
    # CPUID_HT (and, not Intel or Zhaoxin, CPUID_EXT3_CMP_LEG) in its
    # features, as feature-words and the "ht" property show (10.0: set in
    # x86_cpu_expand_features, "i386/cpu: Set up CPUID_HT in
    # x86_cpu_expand_features() instead of cpu_x86_cpuid()"; 7.2 and 8.2:
    # only in the CPUID leaf cpu_x86_cpuid answers, not in the features).
    cpu_ht_in_features: bool
    # hw/i386/x86.c x86_cpus_init(): with TCG, an APIC ID above 254 needs
    # kernel-irqchip and X2APIC (7.2; TCG emulates x2APIC since 8.x).
    tcg_apic_id_limit: bool
    # crypto/secret_common.c: the "loaded" property (removed in 8.0).
    secret_has_loaded: bool
    # /backend, the root container of cpr-saved backends (10.0).
    qom_backend_container: bool
    # /audiodevs, the root container of the audio backends as QOM objects
    # (audio-DRIVER), always there (11.1, seen live).
    qom_audiodevs_container: bool
    # hw/virtio/virtio-balloon.c: the six reclaim counters (9.2).
    balloon_reclaim_stats: bool
    # backends/hostmem.c: file and memfd backends whose size is not a
    # multiple of the page size are refused (9.x).
    backend_size_page_aligned: bool
    # migration/cpr.c cpr_find_fd(): a memfd saved under a backend's name is
    # reused by the next backend of that name (10.0).
    cpr_reuses_memfd: bool
    # backends/hostmem-file.c: "offset" and "rom" (9.0).
    file_backend_offset_and_rom: bool
    # hw/core/loader.c rom_add_file reads the ROM with g_file_get_contents
    # (9.1: "rom: file NAME: error GLIB-TEXT"); before, open() and read()
    # ("Could not open option rom 'PATH'", a directory's size aborts).
    rom_file_glib_read: bool
    # backends/hostmem.c (9.0, "hostmem: ... async preallocation"): the
    # -object backends' preallocation runs in the background and a failure
    # stops QEMU once all late backends exist, without the option's location
    # (qemu_finish_async_prealloc_mem); before, each -object fails at once.
    prealloc_async_at_startup: bool
    # qapi/machine.json balloon: the argument named "target" until 8.0
    # ("value" after), as the "not a size" error names it.
    balloon_argument: str
    # qapi/migration.json query-dirty-rate: the calc-time-unit argument (8.2).
    dirty_rate_time_unit: bool
    # target/i386/cpu.c qmp_query_cpu_model_expansion(): 7.2 ignores "props"
    # that are not an object (qobject_to(QDict) is NULL), later ones refuse them.
    cpu_expansion_ignores_bad_props: bool
    # qom/object_interfaces.c object_property_help() (-device TYPE,help):
    # default values as JSON until 10.0, then a string bare and a bool
    # on/off ("qom: Use command line syntax for default values in help").
    help_defaults_as_cmdline: bool
    # net/net.c qemu_del_net_client(): netdev_del of a NIC's backend leaves
    # its cleanup (sockets, descriptors) to the NIC's deletion (10.0,
    # "transfer ownership to it"); 7.2 cleans it up at once.
    netdev_del_defers_cleanup: bool
    # net/tap.c net_init_tap_one(): without vhostforce a vhost that cannot
    # be set up is a warning and the tap is dropped (7.2, whose
    # net_client_init1 then fails an assertion); an error later.
    tap_vhost_failure_warns: bool
    # net/stream.c: the stream netdev's info line says "initializing",
    # "listening", "connecting" and "error: ..." (8.0, with reconnect);
    # 7.2 leaves it empty and says "connection error".
    stream_state_texts: bool
    # net/slirp.c slirp_hostfwd(): ports read by qemu_strtoi() with an end
    # pointer (trailing text ignored, "" refused); 7.2 strtol() and nothing
    # may follow the number ("" is port 0).
    slirp_port_qemu_strtoi: bool
    # net/net.c, hw/i386/pc.c: the NIC rework of 9.0. "-nic help" lists the
    # netdev types and NIC models, "model=help" the models the machine
    # makes; a model the board does not make is a warning once the
    # machine exists.  7.2: "help" is no type, and pc_nic_init() fails on
    # an unknown model ("Unsupported NIC model").
    nic_models_per_bus: bool
    # net/net.c show_netdevs(): the types "-netdev help" (and "-nic help")
    # lists, the build's net_client_init_fun[] in QEMU's order (Debian's:
    # no netmap, no af-xdp); 11.1 adds "passt" after "tap" (net/passt.c,
    # seen live).
    netdev_help_types: tuple[str, ...]
    # hw/isa/piix.c, hw/isa/lpc_ich9.c (8.0-8.2, "hw/isa/piix: ..." series):
    # the south bridges create the RTC and DMA controllers, and PIIX its IDE
    # ("ide"), USB ("uhci") and PM ("pm") functions, as their own children
    # rather than /machine/unattached devices.
    south_bridge_children: bool

    # --- displays (ui/, audio/, system/vl.c) ------------------------------------
    # What the reference build can load decides what -display, -vga, -spice
    # and -audiodev can use: it is the release's package as the recording
    # was made, without the optional module packages (7.2: qemu-system-x86
    # without qemu-system-gui; 10.0: also without qemu-system-modules-spice
    # and -opengl), see memdevd/targets/x86_64/data/README.md.
    # Display types whose UI module is missing: (type, Debian package).
    ui_missing_modules: tuple[tuple[str, str], ...]
    # util/module.c (Debian): 7.2 prints "qemu: module X not found, do you
    # want to install P package?" where it looks for a module; later
    # releases name the package in the error instead.
    module_not_found_notes: bool
    # -vga interfaces whose device's module is missing: (interface, package).
    vga_missing_modules: tuple[tuple[str, str], ...]
    # system/vl.c vga_interface_available(): 7.2 looks up a NULL second
    # class name and prints "type is NULL" (fixed by 8.0's module rework).
    vga_null_type_error: bool
    # ui/console.c qemu_display_help(): the suboption paragraph (8.1).
    display_help_footer: bool
    # system/vl.c qemu_setup_display() (8.2): the display is chosen and its
    # early init runs before the default devices and -vga; 7.2 does it
    # with the early backends, after -vga.
    display_setup_first: bool
    # -spice and query-spice's server: ui/spice-core.c is a module
    # (ui-spice-core) the reference build has (7.2) or lacks (10.0: "There
    # is no option group 'spice'").
    has_spice: bool
    # ui/vnc.c vnc_display_get_address(): websocket on a UNIX socket (8.2).
    vnc_websocket_unix: bool
    # ui/vnc.c vnc_display_open(): without display= the server shows the
    # default console (qemu_console_lookup_default(), 8.2), which
    # query-vnc-servers names; 7.2 names one only with display=.
    vnc_default_console: bool
    # ui/vnc.c vnc_display_password(): its own errors (no display; auth
    # none) instead of qmp_set_password()'s "Could not set password" (11.1).
    vnc_password_errors: bool
    # ui/vnc.c vnc_auto_assign_id(): where a VNC display without id= gets
    # one ("default", "vnc2"...): in vnc_parse, for each -vnc in the option
    # loop, so that vnc_init_func asserts an id (a -readconfig [vnc] group
    # without "id" aborts there); or (11.1: "ui/vnc: Fix crash when
    # specifying [vnc] without id in the config file") in vnc_init_func,
    # each display in turn, skipping the ids the others were given.
    vnc_ids_at_init: bool
    # ...and the failed assertion the build prints before it aborts.
    vnc_no_id_assertion: str
    # system/vl.c display_remote (no default display, no default VNC
    # server): 7.2's qemu_create_default_devices() counts a non-empty "vnc"
    # list (a -readconfig [vnc] group too); 8.2's qemu_setup_display() only
    # the -vnc, -display vnc= and -spice options.
    display_remote_if_vnc_list: bool
    # ui/ui-qmp-cmds.c qmp_expire_password(): a time that is not a number
    # is refused (8.2); 7.2 reads it with strtoull (garbage is 0, "now").
    expire_password_checks_time: bool
    # qapi/audio.json query-audiodevs (8.2).
    has_query_audiodevs: bool
    # hw/core/qdev-properties-system.c set_audiodev(): audio_state_by_name()'s
    # own error, "audiodev 'X' not found" (8.2, assumed); 7.2 reports the
    # property ("Property 'AC97.audiodev' can't find value 'X'").
    audiodev_prop_lookup_error: bool
    # audio/audio.c: 7.2's dolog() texts and an init that returns false;
    # 8.2's error_setg() (exit through error_fatal).
    audio_legacy_errors: bool
    # What each audiodev driver does at audio_init() in the reference build:
    # (driver, "ok" | "oss" (needs /dev/dsp) | "spice" (needs -spice) |
    # "missing:PACKAGE").  Drivers the release's enum lacks are not listed.
    audio_drivers: tuple[tuple[str, str], ...]
    # -audio model=: the sound cards soundhw.c registered, in -audio
    # model=help's order: (name, description, QOM type, on the ISA bus).
    # "hda" is intel_hda_and_codec_init (intel-hda with an hda-duplex).
    soundhw_models: tuple[tuple[str, str, str, bool], ...]
    # -audio without model= defines a default audiodev (8.2) instead of
    # failing with "Parameter 'model' is missing".
    audio_model_optional: bool
    # hw/audio/soundhw.c: show_valid_soundhw()'s header, select_soundhw()'s
    # unknown-model and second-card texts (11.1 says "audio device model"
    # and "-audio" where earlier releases say "sound card" and "-soundhw").
    soundhw_list_header: str
    soundhw_unknown_text: str
    soundhw_only_one_text: str

    # --- the arm virt machine (memdevd/targets/aarch64) ----------------------
    # hw/arm/virt.c valid_cpu_types of an x86 host's build (no KVM or HVF for
    # arm, so no "host"), in QEMU's order (the hint of "Invalid CPU model"
    # lists them).
    virt_valid_cpus: tuple[str, ...]
    # hw/arm/virt.c machvirt_init() (10.0): a second -serial (serial_hd(1))
    # is a second non-secure pl011, made before the first (seen live).
    virt_second_ns_uart: bool
    # hw/core/machine.c is_cpu_type_supported() checks -cpu against
    # valid_cpu_types ("Invalid CPU model: X" and a hint); 7.2's machvirt_init
    # says "mach-virt: CPU type X-arm-cpu not supported".
    virt_cpu_check_in_machine: bool
    # virt_set_memmap: Debian 7.2's text ends in a stray "\n".
    virt_addressing_limited_text: str
    # hw/block/block.c blk_check_size_and_read_all(): a flash image of the
    # wrong size; 9.2 names the device and the backend ("{typename} device
    # '{device}' ... {backend} block backend", an anonymous backend leaving
    # two spaces).
    block_size_mismatch_text: str
    # hw/arm/virt.c's -machine properties of the high memory map besides
    # highmem: highmem-redists/-ecam/-mmio and compact-highmem (8.0: with
    # compact-highmem, a disabled high IO region takes no address space on
    # virt-7.2 and later types; 7.2 has the legacy layout only),
    # highmem-mmio-size (10.0).
    virt_highmem_options: frozenset[str]
    # finalize_gic_version under TCG: without gic-version, GICv3 beyond 8
    # vCPUs (8.2: finalize_gic_version_do); 7.2 always GICv2.
    virt_gic_default_by_cpus: bool
    # gic-version=4 without virtualization=on ({} the accelerator's name).
    virt_gic_v4_text: str
    # msi_nonbroken only with an MSI controller (gicv2m, an ITS): a GICv3
    # without ITS (virt-6.1 and older under TCG, its=off) fails MSI-X
    # (pcie-root-port); 11.1 does not (seen live).
    virt_msi_needs_controller: bool
    # /machine's its reads false with a GICv2 (no ITS to make) and its=on
    # with one is a start-up error: 11.1, seen live; 7.2 and 10.0 read
    # what was set.
    virt_its_needs_gicv3: bool

    # --- texts that differ per release -------------------------------------
    kvm_no_memslots_text: str
    vhost_no_memslots_text: str
    virtio_pmem_unplug_text: str
    kvm_create_vm_failed_text: str
    unsupported_machine_type_text: str
    not_a_device_text: str
    chardev_in_use_text: str
    # util/error.c error_handle(): where qemu_chr_fe_init()'s errors are
    # set, as "FUNC() at FILE:LINE" (a board's qdev_prop_set_chr() passes
    # &error_abort): (chardev in use, mux full).  chardev/char-fe.c; 9.2's
    # chardev/char-mux.c mux_chr_attach_frontend().
    chardev_fe_sites: tuple[str, str]
    smp_level_not_supported_text: str
    hotpluggable_cpus_unsupported_text: str
    backing_store_too_small_text: str
    sgx_vepc_open_failed_text: str
    # hw/cxl/cxl-host.c cxl_fixed_memory_window_config: "must my a" (7.2),
    # the typo fixed in 8.0.
    cxl_fmw_size_text: str
    # hw/core/machine.c machine_run_board_init(): an object named like the
    # default RAM backend; 8.2 reworded it and added a hint (the hint "" before).
    default_ram_id_reserved_text: str
    default_ram_id_reserved_hint: str
    # vl.c: the warning for a machine type query-machines lists as deprecated.
    machine_deprecation_reason: str
    #: qemu_machine_creation_done with a confidential guest object no
    #: accelerator readied (TCG): an error, or 7.2's failed assertion (None).
    cgs_not_ready_text: str | None
    #: vfio_realize's hint without a host device (8.2's iommufd adds fd=).
    vfio_no_host_hint: str
    #: intel-iommu: eim=on without KVM's split irqchip refused (before 9.0).
    vtd_eim_requires_split: bool
    #: intel-iommu's aw-bits text (formatted with mode, aw39, aw48).
    vtd_aw_bits_text: str
    #: -cpu phys-bits= checked against TARGET_PHYS_ADDR_SPACE_BITS (52) too.
    phys_bits_upper_bound: bool
    #: query-chardev of a connected client-mode unix socket: "unix:PATH"
    #: (the peer's address) rather than 7.2's "unix:" (its own, unnamed).
    chardev_client_filename_peer: bool
    #: vhost-vsock's realize without /dev/vhost-vsock (11.1: qemu_open's text).
    vsock_vhost_open_failed_text: str
    #: monitor_fdset_cleanup before 9.1 ("monitor: fdset: Match against
    #: dup_fds" series): remove-fd only marks a descriptor while the VM is
    #: not running (query-fdsets still lists it), and once it runs a set
    #: no duplicate uses loses its descriptors when the last monitor client
    #: leaves.
    fdset_removal_deferred: bool
    #: -fsdev's file system drivers (fsdev/qemu-fsdev.c FsDrivers): 9p-proxy
    #: was removed in 9.2 ("9pfs: remove obsolete 9p-proxy backend").
    fsdev_drivers: tuple[str, ...]
    #: the local driver's open of its share (hw/9pfs/9p-local.c local_init;
    #: 11.1: qemu_open's text, seen live).
    fsdev_local_open_failed_text: str
    #: -machine memory-encryption= warns that it is deprecated (11.1).
    memory_encryption_deprecated: bool
    #: qobject/json-parser.c as a push parser (11.1): QMP and command-line
    #: JSON errors come at once, prefixed "LINE:COLUMN: ", with new texts,
    #: and the streamer recovers by nesting depth (memdevd.qmp.framing).
    json_push_parser: bool
    #: every monitor is a QOM object (11.1): /objects/ID of type monitor-qmp
    #: or monitor-hmp, -qmp/-monitor ones named compat_monitorN as their
    #: chardevs, id-less -mon ones numbered on; object-add/object-del them.
    qom_monitor_objects: bool
    #: each -machine cxl-fmw window is a cxl-fmw sysbus device (11.1):
    #: /machine/unattached/device[N] before the vCPUs, owning its
    #: cxl-fixed-memory-region[0]; before, /machine/cxl-fixed-memory-region[N].
    cxl_fmw_devices: bool
    #: x86_load_linux's unreadable -shim: its text, and whether it is
    #: printed plain (fprintf) rather than error_report()ed (11.1).
    shim_read_failed_text: tuple[str, bool]
    #: system/tpm.c: -tpmdev help lists the backends on stderr, then exits
    #: with this status (11.1: 0).
    tpmdev_help_exit_status: int
    #: target/i386/cpu.c: the features -cpu ...,avx10-version=N turns on
    #: (11.1: avx10 and its 128/256/512 vector lengths, which TCG then
    #: filters with a warning each).
    avx10_version_features: tuple[str, ...]
    # net/net.c net_client_init(): ipv6-net=ADDR/LEN whose LEN is no number.
    ipv6_net_prefixlen_text: str
    # The display texts: formatted with (name, package); 7.2's ignore the package.
    display_not_available_text: str
    vga_not_available_text: str
    opengl_not_supported_text: str
    vnc_audiodev_not_found_text: str
    set_password_vnc_connected_text: str
    # ui/keymaps.c parse_keyboard_layout(): a keymap file not found.
    keymap_unreadable_text: str
    # crypto/tlscreds.c: display-reload of credentials without a reload method.
    tls_creds_no_reload_text: str

    @property
    def is_recorded(self) -> bool:
        """Whether memdevd's data was recorded from this release itself."""
        return self.recorded_as == self.version

    @property
    def version_info(self) -> dict[str, object]:
        """VersionInfo as the greeting and query-version report it."""
        return {
            "qemu": {"major": self.major, "minor": self.minor, "micro": self.micro},
            "package": self.package,
        }

    @property
    def package(self) -> str:
        from memdevd import __version__

        return f"{self.reference_package} memdevd {__version__}"

    @property
    def full_version(self) -> str:
        return f"{self.major}.{self.minor}.{self.micro}"


_SMP_KEYS_10_0: Final = (
    *("cpus", "drawers", "books", "sockets", "dies", "clusters"),
    *("modules", "cores", "threads", "maxcpus"),
)

_GUI: Final = "qemu-system-gui"
_SPICE_PKG: Final = "qemu-system-modules-spice"
_OPENGL_PKG: Final = "qemu-system-modules-opengl"
# bookworm-backports' qemu-system-x86 10.0 without qemu-system-gui,
# qemu-system-modules-spice and qemu-system-modules-opengl (seen live).
# Where qemu_chr_fe_init() sets its error (Debian's 7.2 builds out of tree).
_FE_INIT_7_2: Final = "qemu_chr_fe_init() at ../../chardev/char-fe.c:220"
_FE_INIT_10_0: Final = "qemu_chr_fe_init() at chardev/char-fe.c:204"
_UI_MISSING_10_0: Final = (
    ("gtk", _GUI),
    ("sdl", _GUI),
    ("egl-headless", _OPENGL_PKG),
    ("spice-app", _GUI),
    ("dbus", _OPENGL_PKG),
)
# qxl-vga is in qemu-system-modules-spice; Debian's hint for the SPARC
# framebuffers (no module on x86) names the opengl package.
_VGA_MISSING_10_0: Final = (("qxl", _SPICE_PKG), ("tcx", _OPENGL_PKG), ("cg3", _OPENGL_PKG))
_AUDIO_DRIVERS_10_0: Final = (
    ("none", "ok"),
    ("alsa", "ok"),
    ("dbus", f"missing:{_OPENGL_PKG}"),
    ("jack", f"missing:{_GUI}"),
    ("oss", "oss"),
    ("pa", f"missing:{_GUI}"),
    ("pipewire", f"missing:{_GUI}"),
    ("sdl", f"missing:{_GUI}"),
    ("spice", f"missing:{_SPICE_PKG}"),
    ("wav", "ok"),
)
_CHARDEV_KINDS_7_2: Final = frozenset(
    {"file", "serial", "parallel", "pipe", "socket", "udp", "pty", "null", "mux", "msmouse"}
    | {"wctablet", "braille", "testdev", "stdio", "spicevmc", "spiceport", "qemu-vdagent"}
    | {"dbus", "vc", "ringbuf", "memory"}
)
_CHARDEV_LISTED_7_2: Final = (
    "testdev", "pty", "wctablet", "serial", "file", "memory", "udp", "dbus", "parallel",
    "vc", "spiceport", "braille", "socket", "msmouse", "null", "qemu-vdagent", "pipe",
    "mux", "spicevmc", "ringbuf", "stdio",
)  # fmt: skip
# Debian's modules: chardev-spice, chardev-baum, ui-dbus.
_CHARDEV_MODULES_7_2: Final = (
    ("spicevmc", "spice"), ("spiceport", "spice"), ("braille", "baum"), ("dbus", "dbus"),
)  # fmt: skip
_CHARDEV_KINDS_10_0: Final = (_CHARDEV_KINDS_7_2 - {"spicevmc", "spiceport", "dbus"}) | {"hub"}
_CHARDEV_LISTED_10_0: Final = (
    "testdev", "serial", "wctablet", "file", "udp", "memory", "parallel", "vc", "braille",
    "socket", "msmouse", "null", "hub", "pty", "qemu-vdagent", "pipe", "mux", "ringbuf",
    "stdio",
)  # fmt: skip
_CHARDEV_MODULES_10_0: Final = (("braille", "baum"),)
# The 11.1 build: 10.0's drivers (braille from its chardev-baum module,
# listed once loaded), in its own GLib hash order (seen live).
_CHARDEV_LISTED_11_1: Final = (
    "testdev", "stdio", "wctablet", "file", "udp", "memory", "parallel", "vc", "braille",
    "socket", "msmouse", "null", "hub", "pty", "qemu-vdagent", "pipe", "mux", "serial",
    "ringbuf",
)  # fmt: skip

#: show_netdevs(): the types of Debian's 7.2 build (10.0's alike).
_NETDEVS_7_2: Final = (
    "socket", "stream", "dgram", "hubport", "tap", "user", "l2tpv3", "vde", "bridge",
    "vhost-user", "vhost-vdpa",
)  # fmt: skip

#: soundhw.c's cards as 7.2 registers them (hw/audio/*.c type_init order)
_SOUNDHW_7_2: Final = (
    ("ac97", "Intel 82801AA AC97 Audio", "AC97", False),
    ("adlib", "Yamaha YM3812 (OPL2)", "adlib", True),
    ("cs4231a", "CS4231A", "cs4231a", True),
    ("es1370", "ENSONIQ AudioPCI ES1370", "ES1370", False),
    ("gus", "Gravis Ultrasound GF1", "gus", True),
    ("hda", "Intel HD Audio", "intel-hda", False),
    ("sb16", "Creative Sound Blaster 16", "sb16", True),
)

QEMU_7_2: Final = Release(
    version="7.2",
    major=7,
    minor=2,
    micro=22,
    reference_package="Debian 1:7.2+dfsg-7+deb12u18+b3",
    copyright_year=2022,
    recorded_as="7.2",
    source_tables_as="7.2",
    opts_keys_removed=(),
    opts_keys_added=(),
    status_has_singlestep=True,
    strict_device_add=False,
    device_memory_only_with_maxmem=False,
    check_addable_in_pre_plug=False,
    size_alignment_check="allocator",
    memslot_accounting=False,
    has_hv_balloon=False,
    virtio_md_unplug=False,
    virtio_mem_early_migration=False,
    unplugged_inaccessible_default="auto",
    pcie_slot_occupied_check=False,
    qdev_id_wellformed_check=False,
    tap_open_tun_text=M.TAP_OPEN_TUN_FAILED,
    acpitable_open_text=M.ACPITABLE_CANT_OPEN,
    tap_vhost_open_text=M.TAP_VHOST_OPEN_FAILED,
    mon_deprecated=False,
    readconfig_errors_at_option=False,  # util/qemu-config.c (seen live)
    readconfig_keyval_groups=("object", "machine", "smp-opts", "boot-opts"),  # softmmu/vl.c
    fd_nonblocking_text=M.TAP_CANT_USE_FD,
    pci_legacy_addr=True,
    iothread_poll_weight=False,
    backend_mapped_delete_text=M.OBJECT_IN_USE,
    throttle_group_delete_text=M.OBJECT_IN_USE,
    sgx_info_has_section_size=True,
    sgx_legacy_open_error=True,
    cxl_type3_volatile=False,
    device_del_checks_class_first=False,
    kvm_init_error_report=False,
    strtosz_2023=False,
    overcommit_mem_lock_on_fault=False,
    migrate_incoming_channels=False,
    chardev_pty_path=False,
    chardev_encoding_kinds=frozenset(),
    chardev_backend_kinds=_CHARDEV_KINDS_7_2,
    chardev_backends_listed=_CHARDEV_LISTED_7_2,
    chardev_module_kinds=_CHARDEV_MODULES_7_2,
    chardev_mux_bitset=False,
    chardev_mux_hotswap_text=M.CHARDEV_MUX_HOTSWAP_7_2,
    readline_ctrl_npu=False,
    smp_keys=("cpus", "sockets", "dies", "clusters", "cores", "threads", "maxcpus"),
    smp_level_checks=("dies", "clusters"),
    smp_zero_deprecated=True,
    smp_modules=False,
    cpu_class_rejects_abstract=False,
    cpu_models_absent=frozenset(),
    cpu_vendor_length_text=M.PROPERTY_DOESNT_TAKE_VALUE.format("", "vendor", "{}"),
    max_used_gpa_by_long_mode=False,
    phys_bits_36_flags=frozenset({"pse36"}),
    cpu_expansion_props_prefix="",
    xsave_components_after_filter=False,
    cpu_ht_in_features=False,
    tcg_apic_id_limit=True,
    secret_has_loaded=True,
    qom_backend_container=False,
    qom_audiodevs_container=False,
    balloon_reclaim_stats=False,
    backend_size_page_aligned=False,
    cpr_reuses_memfd=False,
    prealloc_async_at_startup=False,
    file_backend_offset_and_rom=False,
    rom_file_glib_read=False,
    balloon_argument="target",
    dirty_rate_time_unit=False,
    cpu_expansion_ignores_bad_props=True,
    help_defaults_as_cmdline=False,
    south_bridge_children=False,
    kvm_no_memslots_text=M.KVM_NO_FREE_MEMSLOTS_7_2,
    vhost_no_memslots_text=M.VHOST_NO_FREE_MEMSLOTS_7_2,
    virtio_pmem_unplug_text=M.VIRTIO_MD_UNPLUG_7_2,
    kvm_create_vm_failed_text=M.KVM_CREATE_VM_FAILED_7_2,
    unsupported_machine_type_text=M.UNSUPPORTED_MACHINE_TYPE_7_2,
    not_a_device_text=M.NOT_A_DEVICE_7_2,
    chardev_in_use_text=M.CHARDEV_IN_USE_7_2,
    chardev_fe_sites=(_FE_INIT_7_2, _FE_INIT_7_2),
    smp_level_not_supported_text=M.SMP_LEVEL_NOT_SUPPORTED_7_2,
    hotpluggable_cpus_unsupported_text=M.HOTPLUGGABLE_CPUS_DISABLED_7_2,
    backing_store_too_small_text=M.BACKING_STORE_SIZE_MISMATCH_7_2,
    sgx_vepc_open_failed_text=M.SGX_VEPC_OPEN_FAILED_7_2,
    cxl_fmw_size_text=M.CXL_FMW_SIZE_7_2,
    default_ram_id_reserved_text=M.DEFAULT_RAM_ID_RESERVED_7_2,
    default_ram_id_reserved_hint="",
    machine_deprecation_reason=M.MACHINE_DEPRECATION_REASON_7_2,
    cgs_not_ready_text=None,  # softmmu/vl.c: assert(machine->cgs->ready)
    vfio_no_host_hint=M.VFIO_NO_HOST_HINT_7_2,
    vtd_eim_requires_split=True,
    vtd_aw_bits_text=M.VTD_AW_BITS_7_2,
    phys_bits_upper_bound=True,
    chardev_client_filename_peer=False,
    vsock_vhost_open_failed_text=M.VSOCK_VHOST_OPEN_FAILED,
    fdset_removal_deferred=True,
    fsdev_drivers=("local", "synth", "proxy"),
    fsdev_local_open_failed_text=M.V9FS_LOCAL_OPEN_FAILED,
    memory_encryption_deprecated=False,
    json_push_parser=False,
    qom_monitor_objects=False,
    cxl_fmw_devices=False,
    shim_read_failed_text=(M.SHIM_READ_FAILED, True),
    tpmdev_help_exit_status=1,
    avx10_version_features=(),
    netdev_del_defers_cleanup=False,
    tap_vhost_failure_warns=True,
    stream_state_texts=False,
    slirp_port_qemu_strtoi=False,
    nic_models_per_bus=False,
    netdev_help_types=_NETDEVS_7_2,
    ipv6_net_prefixlen_text=M.NET_IPV6_NET_PREFIXLEN_7_2,
    ui_missing_modules=(("gtk", _GUI), ("sdl", _GUI)),
    module_not_found_notes=True,
    vga_missing_modules=(),
    vga_null_type_error=True,
    display_help_footer=False,
    display_setup_first=False,
    has_spice=True,
    vnc_websocket_unix=False,
    vnc_default_console=False,
    vnc_password_errors=False,
    vnc_ids_at_init=False,
    vnc_no_id_assertion=M.VNC_INIT_ID_ASSERTION_7_2,  # ui/vnc.c vnc_init_func (seen live)
    display_remote_if_vnc_list=True,  # softmmu/vl.c (seen live)
    expire_password_checks_time=False,
    has_query_audiodevs=False,
    soundhw_models=_SOUNDHW_7_2,
    audio_model_optional=False,
    soundhw_list_header=M.SOUNDHW_LIST_HEADER,
    soundhw_unknown_text=M.SOUNDHW_UNKNOWN,
    soundhw_only_one_text=M.SOUNDHW_ONLY_ONE,
    virt_second_ns_uart=False,
    virt_valid_cpus=(
        "cortex-a7",
        "cortex-a15",
        "cortex-a35",
        "cortex-a53",
        "cortex-a57",
        "cortex-a72",
        "cortex-a76",
        "a64fx",
        "neoverse-n1",
        "max",
    ),
    virt_cpu_check_in_machine=False,
    virt_addressing_limited_text=M.VIRT_ADDRESSING_LIMITED_7_2,
    block_size_mismatch_text=M.BLOCK_DEVICE_SIZE_MISMATCH_7_2,
    virt_highmem_options=frozenset(),
    virt_gic_default_by_cpus=False,
    virt_gic_v4_text=M.VIRT_GIC_V4_NEEDS_VIRT_7_2,
    virt_msi_needs_controller=True,
    virt_its_needs_gicv3=False,
    audiodev_prop_lookup_error=False,
    audio_legacy_errors=True,
    audio_drivers=(
        ("none", "ok"),
        ("alsa", "ok"),
        ("coreaudio", f"missing:{_GUI}"),
        ("dbus", "ok"),
        ("dsound", f"missing:{_GUI}"),
        ("jack", f"missing:{_GUI}"),
        ("oss", "oss"),
        ("pa", f"missing:{_GUI}"),
        ("sdl", f"missing:{_GUI}"),
        ("sndio", "ok"),
        ("spice", "spice"),
        ("wav", "ok"),
    ),
    display_not_available_text=M.DISPLAY_NOT_AVAILABLE_7_2,
    vga_not_available_text=M.VGA_NOT_AVAILABLE_7_2,
    opengl_not_supported_text=M.OPENGL_NOT_SUPPORTED_7_2,
    vnc_audiodev_not_found_text=M.VNC_AUDIODEV_NOT_FOUND_7_2,
    set_password_vnc_connected_text=M.INVALID_PARAMETER.format("connected"),
    keymap_unreadable_text=M.KEYMAP_UNREADABLE,
    tls_creds_no_reload_text=M.TLS_CREDS_NO_RELOAD,
)

# QEMU 8.2 (Ubuntu 24.04's 8.2.2), from source: what changed since 7.2.
QEMU_8_2: Final = replace(
    QEMU_7_2,
    # util/qemu-config.c: ERRP_GUARD in qemu_config_foreach ("qemu-config: Use
    # ERRP_GUARD() where obviously appropriate", 8.0; 10.0 and 11.1 seen live)
    readconfig_errors_at_option=True,
    # softmmu/vl.c is_qemuopts_group(): "vl: recognize audiodev groups in
    # configuration files" (8.2)
    readconfig_keyval_groups=("object", "audiodev", "machine", "smp-opts", "boot-opts"),
    version="8.2",
    major=8,
    minor=2,
    micro=2,
    south_bridge_children=True,  # 8.2: hw/isa/piix.c owns IDE/USB/PM, RTC and DMA moved
    reference_package="Debian 1:8.2.2+ds-0ubuntu1",
    copyright_year=2023,
    recorded_as="10.0",
    source_tables_as="10.0",
    status_has_singlestep=False,  # 8.1: StatusInfo.singlestep removed
    device_memory_only_with_maxmem=True,  # 8.2: memory-device.c rework (766aa0a654 series)
    check_addable_in_pre_plug=True,
    size_alignment_check="none",  # eb1b7c4bd413
    memslot_accounting=True,  # 8.2: memslot-aware memory devices
    has_hv_balloon=True,  # 8.2: hw/hyperv/hv-balloon.c
    virtio_md_unplug=True,  # 8.1: hw/virtio/virtio-md-pci.c
    virtio_mem_early_migration=True,  # 8.0: hw/virtio/virtio-mem.c
    unplugged_inaccessible_default="on",  # 8.1: virtio-mem default
    sgx_info_has_section_size=False,  # 8.0: qapi/misc-target.json
    strtosz_2023=True,  # 8.1: util/cutils.c qemu_strtosz rewrite
    # As the 10.0 syntax (8.2 answers with 10.0's command-line tables).
    chardev_pty_path=True,
    # 8.2: "migration: New migrate and migrate-incoming argument 'channels'"
    migrate_incoming_channels=True,
    # 8.2's -smp keys are 10.0's (drawers and books arrived in 8.2, modules in 9.1).
    smp_keys=_SMP_KEYS_10_0,
    smp_level_checks=("modules", "clusters", "dies", "books", "drawers"),
    smp_zero_deprecated=False,
    smp_modules=True,
    # 10.0's models that came after 8.2, from qemu-devel's pulls and release
    # announcements (no 8.2 build or tree at hand): Icelake-Server-v7,
    # SapphireRapids-v3 and SierraForest in 9.1 (the 9.1.0 announcement),
    # GraniteRapids-v2 in 9.2 (pull of 2024-10-31), SierraForest-v2,
    # ClearwaterForest and YongFeng in 10.0 (pulls of 2025-01-24 and
    # 2025-02-27; YongFeng-v2 10.0.x).  The models 8.1 added (EPYC-Genoa,
    # EPYC-v4, EPYC-Rome-v3/-v4, EPYC-Milan-v2, GraniteRapids-v1,
    # SapphireRapids-v2, docs/system/cpu-models-x86-abi.csv of July 2023)
    # are 8.2's; none was removed since.
    cpu_models_absent=frozenset(
        {
            "ClearwaterForest",
            "ClearwaterForest-v1",
            "GraniteRapids-v2",
            "Icelake-Server-v7",
            "SapphireRapids-v3",
            "SierraForest",
            "SierraForest-v1",
            "SierraForest-v2",
            "YongFeng",
            "YongFeng-v1",
            "YongFeng-v2",
        }
    ),
    cpu_vendor_length_text=M.CPU_VENDOR_LENGTH,  # 8.0: x86_cpuid_set_vendor()
    max_used_gpa_by_long_mode=True,  # 8.2: hw/i386/pc.c pc_max_used_gpa()
    # 8.2: "target/i386: Fix physical address truncation" series (PAE too)
    phys_bits_36_flags=frozenset({"pse36", "pae"}),
    cpu_expansion_props_prefix="model.props.",  # with cpu_expansion_ignores_bad_props
    tcg_apic_id_limit=False,
    secret_has_loaded=False,  # 8.0: "loaded" removed (deprecated in 6.0)
    balloon_argument="value",
    dirty_rate_time_unit=True,  # 8.2: calc-time-unit
    cpu_expansion_ignores_bad_props=False,
    kvm_no_memslots_text=M.KVM_NO_FREE_MEMSLOTS,
    vhost_no_memslots_text=M.VHOST_NO_FREE_MEMSLOTS,
    virtio_pmem_unplug_text=M.VIRTIO_PMEM_UNPLUG,
    unsupported_machine_type_text=M.UNSUPPORTED_MACHINE_TYPE,
    not_a_device_text=M.NOT_A_DEVICE,
    chardev_in_use_text=M.CHARDEV_IN_USE,
    # (assumed: 10.0's file and line, the build's relative paths)
    chardev_fe_sites=(_FE_INIT_10_0, _FE_INIT_10_0),
    smp_level_not_supported_text=M.SMP_LEVEL_NOT_SUPPORTED,
    hotpluggable_cpus_unsupported_text=M.HOTPLUGGABLE_CPUS_UNSUPPORTED,
    backing_store_too_small_text=M.BACKING_STORE_TOO_SMALL,
    sgx_vepc_open_failed_text=M.SGX_VEPC_OPEN_FAILED,
    cxl_fmw_size_text=M.CXL_FMW_SIZE,  # 8.0: hw/cxl/cxl-host.c typo fixed
    cxl_type3_volatile=True,  # 8.0: hw/mem/cxl_type3.c volatile memory
    # 8.2: "machine: Improve error message when using default RAM backend id"
    default_ram_id_reserved_text=M.DEFAULT_RAM_ID_RESERVED,
    default_ram_id_reserved_hint=M.DEFAULT_RAM_ID_RESERVED_HINT,
    machine_deprecation_reason=M.MACHINE_DEPRECATION_REASON,
    # As 10.0 (assumed): the assertion became an error in 9.1 (SEV-SNP series).
    cgs_not_ready_text=M.CGS_NOT_READY,
    vfio_no_host_hint=M.VFIO_NO_HOST_HINT,  # 8.2: the iommufd backend (CONFIG_IOMMUFD)
    # 8.2 as 7.2 (assumed): EIM without KVM and the mode-named aw-bits text
    # came with 9.x's intel_iommu changes.
    vtd_eim_requires_split=True,
    vtd_aw_bits_text=M.VTD_AW_BITS_7_2,
    chardev_client_filename_peer=True,  # as 10.0 (assumed)
    stream_state_texts=True,  # 8.0: net/stream.c reconnect series
    # As 10.0 (assumed; no 8.2 source at hand): errors since the tap rework.
    tap_vhost_failure_warns=False,
    slirp_port_qemu_strtoi=True,  # as 10.0 (assumed): slirp_add_hostxfwd rework
    # Displays: assumed as 10.0 (the reference build without the optional
    # module packages, and the changes of 8.1/8.2 below).
    ui_missing_modules=_UI_MISSING_10_0,
    module_not_found_notes=False,
    vga_missing_modules=_VGA_MISSING_10_0,
    vga_null_type_error=False,
    display_help_footer=True,  # 8.1: ui/console.c qemu_display_help()
    display_setup_first=True,  # 8.2: system/vl.c qemu_setup_display()
    has_spice=False,  # qemu-system-modules-spice not installed
    vnc_no_id_assertion=M.VNC_INIT_ID_ASSERTION,  # 10.0's build (8.2 assumed so)
    display_remote_if_vnc_list=False,  # with display_setup_first: qemu_setup_display()
    vnc_websocket_unix=True,  # 8.2: "Allow unix file for VNC Websocket" (assumed)
    vnc_default_console=True,  # 8.2: qemu_console_lookup_default()
    expire_password_checks_time=True,  # qmp_expire_password() checks the number
    has_query_audiodevs=True,  # 8.2: qapi/audio.json
    # 8.2: hw/audio/virtio-snd-pci.c registers "virtio"
    soundhw_models=(*_SOUNDHW_7_2, ("virtio", "Virtio Sound", "virtio-sound-pci", False)),
    audio_model_optional=True,  # 8.2: "vl: support -audio without model" (assumed 8.2)
    audiodev_prop_lookup_error=True,  # audio_state_by_name(name, errp) (assumed 8.2)
    audio_legacy_errors=False,  # 8.2: "audio: Be more strict during audio backend initialisation"
    audio_drivers=_AUDIO_DRIVERS_10_0,
    display_not_available_text=M.DISPLAY_NOT_AVAILABLE,
    vga_not_available_text=M.VGA_NOT_AVAILABLE,
    opengl_not_supported_text=M.OPENGL_NOT_SUPPORTED,
    vnc_audiodev_not_found_text=M.AUDIODEV_NOT_FOUND,
    set_password_vnc_connected_text=M.SET_PASSWORD_VNC_CONNECTED,
    # hw/arm/virt.c: cortex-a55, neoverse-v1 (8.1), cortex-a710 and
    # neoverse-n2 (9.0) came later; valid_cpu_types reordered (assumed 8.2).
    virt_valid_cpus=(
        "cortex-a7",
        "cortex-a15",
        "cortex-a35",
        "cortex-a55",
        "cortex-a72",
        "cortex-a76",
        "a64fx",
        "neoverse-n1",
        "neoverse-v1",
        "cortex-a53",
        "cortex-a57",
        "max",
    ),
    virt_cpu_check_in_machine=True,  # 8.2: machine.c is_cpu_type_supported()
    virt_gic_default_by_cpus=True,  # hw/arm/virt.c finalize_gic_version_do (assumed 8.2)
    virt_gic_v4_text=M.VIRT_GIC_V4_UNSUPPORTED,
    # 8.0: "hw/arm/virt: Add 'compact-highmem' property" and the three switches
    virt_highmem_options=frozenset(
        {"compact-highmem", "highmem-redists", "highmem-ecam", "highmem-mmio"}
    ),
)

# QEMU 10.0 (Debian 13 / bookworm-backports 10.0.2): what changed since 8.2.
QEMU_10_0: Final = replace(
    QEMU_8_2,
    version="10.0",
    major=10,
    minor=0,
    micro=2,
    reference_package="Debian 1:10.0.2+ds-2+deb13u1~bpo12+1",
    copyright_year=2025,
    recorded_as="10.0",
    # 9.2: "9pfs: remove obsolete 9p-proxy backend"
    fsdev_drivers=("local", "synth"),
    # 9.1: monitor/fds.c monitor_fdset_cleanup closes what remove-fd removes
    fdset_removal_deferred=False,
    cpu_ht_in_features=True,
    # 9.0: "cpu: Call object_class_dynamic_cast() once in cpu_class_by_name()"
    # series (merged January 2024, after 8.2)
    cpu_class_rejects_abstract=True,
    # 9.2: "target/i386: cpu: set correct supported XCR0 features for TCG" and
    # "do not rely on ExtSaveArea for accelerator-supported XCR0 bits"
    xsave_components_after_filter=True,
    strict_device_add=True,  # 9.2: qmp_device_add() from_json=true
    size_alignment_check="pre_plug",  # 9.0: "reintroduce memory region size check"
    pcie_slot_occupied_check=True,  # hw/pci/pci.c
    device_del_checks_class_first=True,  # qdev_hotunplug_allowed() (assumed after 8.2)
    sgx_legacy_open_error=False,  # 9.1: hw/i386/sgx.c qemu_open_old() dropped
    kvm_init_error_report=True,  # 9.2: kvm_init() error_report()
    qom_backend_container=True,  # 10.0: cpr
    balloon_reclaim_stats=True,  # 9.2: virtio-balloon reclaim counters
    backend_size_page_aligned=True,  # 9.x: backends/hostmem.c
    cpr_reuses_memfd=True,  # 10.0: migration/cpr.c cpr_find_fd()
    prealloc_async_at_startup=True,  # 9.0: backends/hostmem.c async preallocation
    file_backend_offset_and_rom=True,  # 9.0: backends/hostmem-file.c
    rom_file_glib_read=True,  # 9.1: hw/core/loader.c
    kvm_create_vm_failed_text=M.KVM_CREATE_VM_FAILED,  # 9.2: do_kvm_create_vm()
    help_defaults_as_cmdline=True,  # 10.0: object_property_help() command-line syntax
    overcommit_mem_lock_on_fault=True,  # 10.0: "system/vl: introduce mem-lock=on-fault"
    netdev_del_defers_cleanup=True,  # net/net.c: a NIC takes its deleted peer over
    nic_models_per_bus=True,  # 9.0: qemu_create_nic_bus_devices(), "-nic help"
    ipv6_net_prefixlen_text=M.NET_IPV6_NET_PREFIXLEN_10,  # 9.1: QERR_ texts inlined
    # 9.2: chardev/char-hub.c; the 10.0 build has no spice nor dbus module.
    chardev_backend_kinds=_CHARDEV_KINDS_10_0,
    chardev_backends_listed=_CHARDEV_LISTED_10_0,
    chardev_module_kinds=_CHARDEV_MODULES_10_0,
    chardev_mux_bitset=True,  # 9.2: "chardev/mux: use bitset to keep track of frontends"
    chardev_fe_sites=(_FE_INIT_10_0, "mux_chr_attach_frontend() at chardev/char-mux.c:323"),
    chardev_mux_hotswap_text=M.CHARDEV_MUX_HOTSWAP,  # 9.2: with char-hub.c
    readline_ctrl_npu=True,  # util/readline.c: C-n, C-p, C-u
    vtd_eim_requires_split=False,  # hw/i386/intel_iommu.c vtd_decide_config (9.x)
    vtd_aw_bits_text=M.VTD_AW_BITS,  # with x-flts (9.2)
    cpu_models_absent=frozenset(),  # the recording's own models
    virt_second_ns_uart=True,  # hw/arm/virt.c "second_ns_uart_present"
    virt_valid_cpus=(
        "cortex-a7",
        "cortex-a15",
        "cortex-a35",
        "cortex-a55",
        "cortex-a72",
        "cortex-a76",
        "cortex-a710",
        "a64fx",
        "neoverse-n1",
        "neoverse-v1",
        "neoverse-n2",
        "cortex-a53",
        "cortex-a57",
        "max",
    ),
    # hw/arm/virt.c virt_set_memmap: without the stray "\n"
    virt_addressing_limited_text=M.VIRT_ADDRESSING_LIMITED,
    # 9.2: hw/block/block.c blk_check_size_and_read_all(dev, ...)
    block_size_mismatch_text=M.BLOCK_DEVICE_SIZE_MISMATCH,
    # 10.0: hw/arm/virt.c highmem-mmio-size
    virt_highmem_options=QEMU_8_2.virt_highmem_options | {"highmem-mmio-size"},
)

# QEMU 11.1 (trixie-backports 11.1.3), recorded live; its source is not at
# hand (no source package, no tree in the index), so what changed since
# 10.0 is learned by comparing live (docs/versions.md).
QEMU_11_1: Final = replace(
    QEMU_10_0,
    version="11.1",
    major=11,
    minor=1,
    micro=3,
    reference_package="Debian 1:11.1.3+ds-2~bpo13+1",
    copyright_year=2026,
    recorded_as="11.1",
    source_tables_as="10.0",
    opts_keys_removed=(("chardev", "reconnect"),),
    opts_keys_added=(("chardev", "encoding", "string"), ("chardev", "logtimestamp", "bool")),
    qdev_id_wellformed_check=True,  # hw/core/qdev.c qdev_set_id() (seen live)
    # target/i386/cpu.c: only "at least 32" is checked (seen live; 64 and up
    # then wrap in pc_max_used_gpa's limit as a C shift does).
    phys_bits_upper_bound=False,
    vsock_vhost_open_failed_text=M.VSOCK_VHOST_OPEN_FAILED_11_1,  # seen live
    fsdev_local_open_failed_text=M.COULD_NOT_OPEN,  # seen live
    memory_encryption_deprecated=True,  # hw/core/machine.c (seen live)
    # qobject/json-parser.c, json-streamer.c, json-lexer.c: Paolo Bonzini's
    # push parser (qemu-devel, 2026-01-07, "json-parser: replace with a push
    # parser" and its series), located as "LINE:COLUMN: " (seen live).
    json_push_parser=True,
    # hw/audio/soundhw.c (seen live)
    soundhw_list_header=M.SOUNDHW_LIST_HEADER_11_1,
    soundhw_unknown_text=M.SOUNDHW_UNKNOWN_11_1,
    soundhw_only_one_text=M.SOUNDHW_ONLY_ONE_11_1,
    # monitor/monitor.c, monitor/qmp.c, monitor/hmp.c: user-creatable
    # monitor-qmp/monitor-hmp, system/vl.c mon_init_func (seen live)
    qom_monitor_objects=True,
    cxl_fmw_devices=True,  # hw/cxl/cxl-host.c TYPE_CXL_FMW (seen live)
    shim_read_failed_text=(M.SHIM_READ_FAILED_11_1, False),  # hw/i386/x86-common.c (seen live)
    tpmdev_help_exit_status=0,  # system/tpm.c (seen live)
    avx10_version_features=("avx10", "avx10-128", "avx10-256", "avx10-512"),  # (seen live)
    iothread_poll_weight=True,  # iothread.c poll-weight, IOThreadInfo (seen live)
    pci_legacy_addr=False,  # hw/pci/pci.c (recorded: no "legacy-addr")
    fd_nonblocking_text=M.FD_CANT_SET_NONBLOCKING,  # qemu_set_blocking() (seen live)
    qom_audiodevs_container=True,  # audio backends as QOM objects (seen live)
    mon_deprecated=True,  # system/vl.c -mon (seen live)
    tap_open_tun_text=M.TAP_OPEN_TUN_FAILED_11_1,  # net/tap-linux.c (seen live)
    acpitable_open_text=M.COULD_NOT_OPEN,  # hw/acpi/core.c (seen live)
    tap_vhost_open_text=M.TAP_VHOST_OPEN_FAILED_11_1,  # net/tap.c (seen live)
    vnc_password_errors=True,  # ui/vnc.c vnc_display_password() (seen live)
    vnc_ids_at_init=True,  # ui/vnc.c vnc_init_func (seen live)
    keymap_unreadable_text=M.KEYMAP_NOT_FOUND_11_1,  # ui/keymaps.c (seen live)
    tls_creds_no_reload_text=M.TLS_CREDS_NO_RELOAD_11_1,  # crypto/tlscreds.c (seen live)
    chardev_backends_listed=_CHARDEV_LISTED_11_1,  # (seen live)
    # (ChardevVC and ChardevDBus have "encoding" in 11.1's schema)
    chardev_encoding_kinds=frozenset({"vc", "dbus"}),
    # net/net.c show_netdevs(), net/passt.c (seen live)
    netdev_help_types=(*_NETDEVS_7_2[:5], "passt", *_NETDEVS_7_2[5:]),
    # backends/hostmem.c host_memory_backend_prepare_delete() (seen live)
    backend_mapped_delete_text=M.BACKEND_MAPPED_NOT_DELETABLE,
    throttle_group_delete_text=M.THROTTLE_GROUP_NOT_DELETABLE,  # (seen live)
    virt_msi_needs_controller=False,  # pcie-root-port on a GICv3 without ITS (seen live)
    virt_its_needs_gicv3=True,  # qom-get /machine its with a GICv2 (seen live)
)

RELEASES: Final[dict[str, Release]] = {
    r.version: r for r in (QEMU_7_2, QEMU_8_2, QEMU_10_0, QEMU_11_1)
}
#: The releases recorded from a live build, whose data and generated tables
#: every release answers with (Release.recorded_as), oldest first.
RECORDINGS: Final[tuple[str, ...]] = tuple(r.version for r in RELEASES.values() if r.is_recorded)

DEFAULT_VERSION: Final = "10.0"


def get_release(version: str) -> Release:
    return RELEASES[version]
