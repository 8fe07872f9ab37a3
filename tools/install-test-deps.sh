#!/bin/sh
# install-test-deps.sh: everything the test suite needs on a fresh Debian 12
# machine with Python 3.11: a virtualenv with memdevd and its test extra, and
# (as root) the real QEMU 7.2 and 10.0 the comparison tests run against and
# Debian's chromium for the memory-map picture test.
#
#   sh tools/install-test-deps.sh && .venv/bin/pytest
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ]; then
    sh tools/install-qemu.sh
    # Debian's chromium renders `memdevd map` pages in the browser test.
    if ! command -v chromium >/dev/null; then
        echo "install-test-deps: apt-get install chromium" >&2
        DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends chromium >/dev/null \
            || { apt-get -q update >/dev/null && DEBIAN_FRONTEND=noninteractive \
                 apt-get -q install -y --no-install-recommends chromium >/dev/null; }
    fi
else
    echo "install-test-deps: not root: skipping QEMU and chromium (run tools/install-qemu.sh as root)" >&2
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip >/dev/null
.venv/bin/pip install -q -e '.[test]'
