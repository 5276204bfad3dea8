#!/usr/bin/env bash
# Prepares the third-party peers the tests talk to: a Python venv holding the PyPI packages
# pinned in scripts/test-peers.txt (servers and tools not written by this project). Source it:
# `source scripts/test-peers.sh` (scripts/test.sh does). The tests start and stop the peer
# processes themselves; this script only installs them, once, under target/test-peers/.
#
# Exports:
#   THERMALIQ_TEST_PYTHON  the venv's python, which can import every pinned package.

set -euo pipefail

peers_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/target/test-peers"
venv="$peers_root/venv"
requirements="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/test-peers.txt"
stamp="$peers_root/installed.txt"

# Reinstall only when the pinned list changed since the last successful install.
if ! cmp -s "$requirements" "$stamp" || [[ ! -x "$venv/bin/python" ]]; then
    mkdir -p "$peers_root"
    python3 -m venv --clear "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        -r "$requirements" >"$peers_root/pip.log" 2>&1 || {
        echo "test-peers: installing $requirements failed, see $peers_root/pip.log" >&2
        return 1 2>/dev/null || exit 1
    }
    cp "$requirements" "$stamp"
fi

export THERMALIQ_TEST_PYTHON="$venv/bin/python"
export PATH="$venv/bin:$PATH"
echo "test-peers: $(grep -cv '^\s*\(#\|$\)' "$requirements") packages at $venv"
