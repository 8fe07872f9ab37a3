#!/bin/sh
# install-qemu.sh: the real QEMUs memdevd's comparison tests run against,
# for both targets: qemu-system-x86_64 and qemu-system-aarch64.
#
#   sh tools/install-qemu.sh            # as root, on Debian 12 (bookworm)
#
# - QEMU 7.2: Debian 12's qemu-system-x86 and qemu-system-arm, installed with
#   apt-get (/usr/bin/qemu-system-x86_64, /usr/bin/qemu-system-aarch64).
# - QEMU 10.0: bookworm-backports' build, unpacked with dpkg -x into
#   $QEMU10_PREFIX (default /opt/qemu-10.0) beside 7.2, with wrappers
#   $QEMU10_PREFIX/bin/qemu-system-x86_64 and .../qemu-system-aarch64 that
#   point it at its own firmware and modules.  Nothing of 10.0 is installed as
#   a package; the system's apt sources are left alone (a private apt
#   configuration reads backports).  `-machine virt` runs without firmware
#   (no -bios; with -S nothing is executed).
# - QEMU 11.1: trixie-backports' build, which needs trixie's libraries (its C
#   library too): a private apt configuration for trixie + trixie-backports
#   with an empty dpkg status downloads the whole closure (of
#   qemu-system-x86 and qemu-system-arm), unpacked with dpkg-deb -x into
#   $QEMU11_PREFIX (default /opt/qemu-11.1); the wrappers
#   $QEMU11_PREFIX/bin/qemu-system-x86_64 and .../qemu-system-aarch64 run the
#   binaries through the prefix's own dynamic loader and library path, with
#   QEMU_MODULE_DIR at its own modules (as 10.0's; a Debian install of 11.1
#   loads them: alsa/oss audio, curses, virtio-gpu/-vga...).  The system is
#   untouched.
# Safe to run again: what is present is kept (each release is checked per
# binary; a missing one is added beside the others, a missing wrapper is
# written, an outdated 11.1 wrapper rewritten).
set -eu

PREFIX=${QEMU10_PREFIX:-/opt/qemu-10.0}
PREFIX11=${QEMU11_PREFIX:-/opt/qemu-11.1}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
TRIPLET=x86_64-linux-gnu
export DEBIAN_FRONTEND=noninteractive

say() { echo "install-qemu: $*" >&2; }
die() { say "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (apt-get, /opt)"
command -v apt-get >/dev/null || die "needs apt-get (Debian 12)"

apt_updated=
need() {  # apt-get install what is missing
    missing=
    for p in "$@"; do
        dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    [ -n "$apt_updated" ] || { apt-get -q update >/dev/null; apt_updated=1; }
    say "apt-get install$missing"
    # shellcheck disable=SC2086
    apt-get -q install -y --no-install-recommends $missing >/dev/null
}

# --- QEMU 7.2 ------------------------------------------------------------------
need qemu-system-x86 qemu-system-arm debian-archive-keyring ca-certificates
/usr/bin/qemu-system-x86_64 --version | head -n1 >&2
/usr/bin/qemu-system-aarch64 --version | head -n1 >&2

# --- QEMU 10.0 -----------------------------------------------------------------
has10() { [ -x "$PREFIX/bin/$1" ] && "$PREFIX/bin/$1" --version 2>/dev/null | grep -q 'version 10\.0\.'; }
wrap10() {  # the wrapper of $PREFIX/usr/bin/$1, with -L for its firmware
    name=$1; shift
    cat >"$PREFIX/bin/$name" <<WRAP
#!/bin/sh
# QEMU 10.0 (bookworm-backports) unpacked by memdevd's tools/install-qemu.sh.
QEMU_MODULE_DIR=$PREFIX/usr/lib/$TRIPLET/qemu
export QEMU_MODULE_DIR
exec $PREFIX/usr/bin/$name $* "\$@"
WRAP
    chmod 755 "$PREFIX/bin/$name"
}
if has10 qemu-system-x86_64 && has10 qemu-system-aarch64; then
    say "QEMU 10.0 already in $PREFIX"
else
    apt_dir=$PREFIX/.apt
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs"
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: %s\n' \
        "$MIRROR" "$KEYRING" >"$apt_dir/backports.sources"
    bpo() {
        "$@" -o Dir::Etc::sourcelist="$apt_dir/backports.sources" -o Dir::Etc::sourceparts=- \
             -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache="$apt_dir/cache" \
             -o APT::Sandbox::User=root
    }
    bpo apt-get -q update >/dev/null
    qv=$(bpo apt-cache madison qemu-system-x86 | awk -F'|' '{gsub(/ /,"",$2); print $2}' |
         grep '^1:10\.0\.' | head -n1)
    [ -n "$qv" ] || die "bookworm-backports has no QEMU 10.0"
    rm -f "$apt_dir/debs/"*.deb
    if has10 qemu-system-x86_64; then
        # Only the aarch64 binary is missing: it is added beside x86's, of
        # the same version (common and data unpack over identical files).
        qv=$("$PREFIX/usr/bin/qemu-system-x86_64" --version | sed -n 's/.*(Debian \(.*\)).*/\1/p')
        say "downloading qemu-system-arm $qv from bookworm-backports"
        (cd "$apt_dir/debs" && bpo apt-get -q download "qemu-system-arm=$qv" \
            "qemu-system-common=$qv" "qemu-system-data=$qv" >/dev/null)
    else
        sv=$(bpo apt-cache madison seabios | awk -F'|' '{gsub(/ /,"",$2); print $2; exit}')
        say "downloading qemu $qv and seabios $sv from bookworm-backports"
        (cd "$apt_dir/debs" && bpo apt-get -q download "qemu-system-x86=$qv" "qemu-system-arm=$qv" \
            "qemu-system-common=$qv" "qemu-system-data=$qv" "seabios=$sv" >/dev/null)
        rm -rf "$PREFIX/usr" "$PREFIX/etc"
    fi
    for deb in "$apt_dir/debs/"*.deb; do dpkg -x "$deb" "$PREFIX"; done
    # The shared libraries they link against come from bookworm itself.
    deps=$(for deb in "$apt_dir/debs/"qemu-system-x86_*.deb "$apt_dir/debs/"qemu-system-arm_*.deb; do
               [ -f "$deb" ] && dpkg-deb -f "$deb" Depends
           done | tr ',' '\n' |
           sed 's/(.*)//; s/|.*//; s/[[:space:]]//g' | grep -v -E '^(qemu-|seabios$|ipxe-qemu$|$)' |
           sort -u | tr '\n' ' ')
    # shellcheck disable=SC2086
    need $deps ipxe-qemu
    for b in qemu-system-x86_64 qemu-system-aarch64; do
        ldd "$PREFIX/usr/bin/$b" | grep 'not found' >&2 && die "libraries missing for $b"
    done
    mkdir -p "$PREFIX/bin"
fi
# The wrappers (also written when the binaries were unpacked by hand).
has10 qemu-system-x86_64 || wrap10 qemu-system-x86_64 -L "$PREFIX/usr/share/qemu" \
    -L "$PREFIX/usr/share/seabios" -L /usr/lib/ipxe/qemu
has10 qemu-system-aarch64 || wrap10 qemu-system-aarch64 -L "$PREFIX/usr/share/qemu"
"$PREFIX/bin/qemu-system-x86_64" --version | head -n1 >&2
"$PREFIX/bin/qemu-system-aarch64" --version | head -n1 >&2

# --- QEMU 11.1 -----------------------------------------------------------------
has11() { [ -x "$PREFIX11/bin/$1" ] && "$PREFIX11/bin/$1" --version 2>/dev/null | grep -q 'version 11\.1\.'; }
wrap11() {  # the wrapper of $PREFIX11/usr/bin/$1, through the prefix's loader
    # Rewritten when it differs (an older installer's wrapper set no
    # QEMU_MODULE_DIR, so 11.1 never saw its own modules).
    name=$1; shift
    cat >"$PREFIX11/bin/$name.new" <<WRAP
#!/bin/sh
# QEMU 11.1 (trixie-backports) unpacked by memdevd's tools/install-qemu.sh,
# run through its own loader and trixie's libraries, with its own modules.
QEMU_MODULE_DIR=$PREFIX11/usr/lib/$TRIPLET/qemu
export QEMU_MODULE_DIR
exec $PREFIX11/usr/lib64/ld-linux-x86-64.so.2 --library-path $PREFIX11/usr/lib/$TRIPLET \\
    $PREFIX11/usr/bin/$name $* "\$@"
WRAP
    chmod 755 "$PREFIX11/bin/$name.new"
    if cmp -s "$PREFIX11/bin/$name.new" "$PREFIX11/bin/$name"; then
        rm -f "$PREFIX11/bin/$name.new"
    else
        say "writing $PREFIX11/bin/$name"
        mv -f "$PREFIX11/bin/$name.new" "$PREFIX11/bin/$name"
    fi
}
if has11 qemu-system-x86_64 && has11 qemu-system-aarch64; then
    say "QEMU 11.1 already in $PREFIX11"
elif [ -x "$PREFIX11/usr/bin/qemu-system-x86_64" ] && [ -x "$PREFIX11/usr/bin/qemu-system-aarch64" ]; then
    say "QEMU 11.1 unpacked in $PREFIX11: writing the wrappers"
else
    apt_dir=$PREFIX11/.apt
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/state"
    # An empty dpkg status: apt computes the whole closure (trixie's libc
    # included), as if nothing were installed.
    : >"$apt_dir/state/status"
    printf 'Types: deb\nURIs: %s\nSuites: trixie trixie-backports\nComponents: main\n' \
        "$MIRROR" >"$apt_dir/trixie.sources"
    trixie() {
        "$@" -o Dir::Etc::sourcelist="$apt_dir/trixie.sources" -o Dir::Etc::sourceparts=- \
             -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache="$apt_dir/cache" \
             -o Dir::State::status="$apt_dir/state/status" -o APT::Architecture=amd64 \
             -o Debug::NoLocking=1 -o APT::Install-Recommends=false -o APT::Sandbox::User=root
    }
    trixie apt-get -q update >/dev/null
    if [ -x "$PREFIX11/usr/bin/qemu-system-x86_64" ]; then
        # Only the aarch64 binary is missing: its closure, of x86's version,
        # unpacks over the present one (the shared packages are the same).
        qv=$("$PREFIX11/bin/qemu-system-x86_64" --version | sed -n 's/.*(Debian \(.*\)).*/\1/p')
        pkgs="qemu-system-arm=$qv"
    else
        qv=$(trixie apt-cache madison qemu-system-x86 | awk -F'|' '{gsub(/ /,"",$2); print $2}' |
             grep '^1:11\.1\.' | head -n1)
        pkgs="qemu-system-x86=$qv qemu-system-arm=$qv"
        rm -rf "$PREFIX11/usr" "$PREFIX11/etc" "$PREFIX11/lib" "$PREFIX11/lib64" "$PREFIX11/bin"
    fi
    [ -n "$qv" ] || die "trixie-backports has no QEMU 11.1"
    say "downloading $pkgs and its closure from trixie(-backports)"
    rm -f "$apt_dir/cache/archives/"*.deb
    # shellcheck disable=SC2086
    trixie apt-get -q -y install --download-only -t trixie-backports $pkgs >/dev/null
    for deb in "$apt_dir/cache/archives/"*.deb; do dpkg-deb -x "$deb" "$PREFIX11"; done
    rm -f "$apt_dir/cache/archives/"*.deb
fi
mkdir -p "$PREFIX11/bin"
wrap11 qemu-system-x86_64 -L "$PREFIX11/usr/share/qemu" -L "$PREFIX11/usr/share/seabios"
wrap11 qemu-system-aarch64 -L "$PREFIX11/usr/share/qemu"
"$PREFIX11/bin/qemu-system-x86_64" --version | head -n1 >&2
"$PREFIX11/bin/qemu-system-aarch64" --version | head -n1 >&2
