#!/bin/sh
# install-qemu.sh: the real QEMUs memdevd's comparison tests run against.
#
#   sh tools/install-qemu.sh            # as root, on Debian 12 (bookworm)
#
# - QEMU 7.2: Debian 12's qemu-system-x86, installed with apt-get
#   (/usr/bin/qemu-system-x86_64).
# - QEMU 10.0: bookworm-backports' build, unpacked with dpkg -x into
#   $QEMU10_PREFIX (default /opt/qemu-10.0) beside 7.2, with a wrapper
#   $QEMU10_PREFIX/bin/qemu-system-x86_64 that points it at its own firmware
#   and modules.  Nothing of 10.0 is installed as a package; the system's apt
#   sources are left alone (a private apt configuration reads backports).
# - QEMU 11.1: trixie-backports' build, which needs trixie's libraries (its C
#   library too): a private apt configuration for trixie + trixie-backports
#   with an empty dpkg status downloads the whole closure, unpacked with
#   dpkg-deb -x into $QEMU11_PREFIX (default /opt/qemu-11.1); the wrapper
#   $QEMU11_PREFIX/bin/qemu-system-x86_64 runs the binary through the
#   prefix's own dynamic loader and library path.  The system is untouched.
# Safe to run again: what is present is kept.
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
need qemu-system-x86 debian-archive-keyring ca-certificates
/usr/bin/qemu-system-x86_64 --version | head -n1 >&2

# --- QEMU 10.0 -----------------------------------------------------------------
if [ -x "$PREFIX/bin/qemu-system-x86_64" ] && \
   "$PREFIX/bin/qemu-system-x86_64" --version 2>/dev/null | grep -q 'version 10\.0\.'; then
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
    sv=$(bpo apt-cache madison seabios | awk -F'|' '{gsub(/ /,"",$2); print $2; exit}')
    say "downloading qemu $qv and seabios $sv from bookworm-backports"
    rm -f "$apt_dir/debs/"*.deb
    (cd "$apt_dir/debs" && bpo apt-get -q download "qemu-system-x86=$qv" \
        "qemu-system-common=$qv" "qemu-system-data=$qv" "seabios=$sv" >/dev/null)
    rm -rf "$PREFIX/usr" "$PREFIX/etc"
    for deb in "$apt_dir/debs/"*.deb; do dpkg -x "$deb" "$PREFIX"; done
    # The shared libraries it links against come from bookworm itself.
    deps=$(dpkg-deb -f "$apt_dir/debs/"qemu-system-x86_*.deb Depends | tr ',' '\n' |
           sed 's/(.*)//; s/|.*//; s/[[:space:]]//g' | grep -v -E '^(qemu-|seabios$|ipxe-qemu$|$)' |
           sort -u | tr '\n' ' ')
    # shellcheck disable=SC2086
    need $deps ipxe-qemu
    ldd "$PREFIX/usr/bin/qemu-system-x86_64" | grep 'not found' >&2 && die "libraries missing"
    mkdir -p "$PREFIX/bin"
    cat >"$PREFIX/bin/qemu-system-x86_64" <<WRAP
#!/bin/sh
# QEMU 10.0 (bookworm-backports) unpacked by memdevd's tools/install-qemu.sh.
QEMU_MODULE_DIR=$PREFIX/usr/lib/$TRIPLET/qemu
export QEMU_MODULE_DIR
exec $PREFIX/usr/bin/qemu-system-x86_64 -L $PREFIX/usr/share/qemu \\
    -L $PREFIX/usr/share/seabios -L /usr/lib/ipxe/qemu "\$@"
WRAP
    chmod 755 "$PREFIX/bin/qemu-system-x86_64"
fi
"$PREFIX/bin/qemu-system-x86_64" --version | head -n1 >&2

# --- QEMU 11.1 -----------------------------------------------------------------
if [ -x "$PREFIX11/bin/qemu-system-x86_64" ] && \
   "$PREFIX11/bin/qemu-system-x86_64" --version 2>/dev/null | grep -q 'version 11\.1\.'; then
    say "QEMU 11.1 already in $PREFIX11"
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
    qv=$(trixie apt-cache madison qemu-system-x86 | awk -F'|' '{gsub(/ /,"",$2); print $2}' |
         grep '^1:11\.1\.' | head -n1)
    [ -n "$qv" ] || die "trixie-backports has no QEMU 11.1"
    say "downloading qemu $qv and its closure from trixie(-backports)"
    rm -f "$apt_dir/cache/archives/"*.deb
    trixie apt-get -q -y install --download-only -t trixie-backports "qemu-system-x86=$qv" >/dev/null
    rm -rf "$PREFIX11/usr" "$PREFIX11/etc" "$PREFIX11/lib" "$PREFIX11/lib64" "$PREFIX11/bin"
    for deb in "$apt_dir/cache/archives/"*.deb; do dpkg-deb -x "$deb" "$PREFIX11"; done
    rm -f "$apt_dir/cache/archives/"*.deb
    mkdir -p "$PREFIX11/bin"
    cat >"$PREFIX11/bin/qemu-system-x86_64" <<WRAP
#!/bin/sh
# QEMU 11.1 (trixie-backports) unpacked by memdevd's tools/install-qemu.sh,
# run through its own loader and trixie's libraries.
exec $PREFIX11/usr/lib64/ld-linux-x86-64.so.2 --library-path $PREFIX11/usr/lib/$TRIPLET \\
    $PREFIX11/usr/bin/qemu-system-x86_64 -L $PREFIX11/usr/share/qemu \\
    -L $PREFIX11/usr/share/seabios "\$@"
WRAP
    chmod 755 "$PREFIX11/bin/qemu-system-x86_64"
fi
"$PREFIX11/bin/qemu-system-x86_64" --version | head -n1 >&2
