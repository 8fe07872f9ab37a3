#!/bin/sh
# install-test-deps.sh: everything the test suite needs on a fresh Debian 12
# machine with Python 3.11: a virtualenv with memdevd and its test extra, and
# (as root) the real QEMU 7.2, 10.0 and 11.1 (qemu-system-x86_64 and
# qemu-system-aarch64) the comparison tests run against,
# qemu-img for the images the block comparisons open,
# Debian's chromium for the memory-map picture test and Debian's libvirt 9.0
# for the end-to-end tests in tests/libvirt.
#
#   sh tools/install-test-deps.sh && .venv/bin/pytest
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ]; then
    sh tools/install-qemu.sh
    # qemu-img (qemu-utils) makes the images the block comparisons open.
    if ! command -v qemu-img >/dev/null; then
        echo "install-test-deps: apt-get install qemu-utils" >&2
        DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends qemu-utils >/dev/null \
            || { apt-get -q update >/dev/null && DEBIAN_FRONTEND=noninteractive \
                 apt-get -q install -y --no-install-recommends qemu-utils >/dev/null; }
    fi
    # Debian's chromium renders `memdevd map` pages in the browser test.
    if ! command -v chromium >/dev/null; then
        echo "install-test-deps: apt-get install chromium" >&2
        DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends chromium >/dev/null \
            || { apt-get -q update >/dev/null && DEBIAN_FRONTEND=noninteractive \
                 apt-get -q install -y --no-install-recommends chromium >/dev/null; }
    fi
    # libvirt 9.0 (the monolithic libvirtd) for tests/libvirt, which run a
    # private libvirtd and virtlogd of their own.  The postinst starts the
    # packaged daemons only when booted with systemd, so in a container
    # nothing is left running.
    if ! command -v libvirtd >/dev/null || ! command -v virsh >/dev/null; then
        echo "install-test-deps: apt-get install libvirt" >&2
        libvirt="libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients libvirt-daemon-system"
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends $libvirt >/dev/null \
            || { apt-get -q update >/dev/null && DEBIAN_FRONTEND=noninteractive \
                 apt-get -q install -y --no-install-recommends $libvirt >/dev/null; }
    fi
else
    echo "install-test-deps: not root: skipping QEMU, chromium and libvirt (run tools/install-qemu.sh as root)" >&2
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip >/dev/null
.venv/bin/pip install -q -e '.[test]'
