#!/usr/bin/env bash
# Prepares the third-party peers the connector tests talk to: a Python venv holding pymodbus
# (a Modbus TCP server from PyPI, not written by this project). Source it:
# `source scripts/test-peers.sh` (scripts/test.sh does). The tests start and stop the peer
# processes themselves; this script only installs them, once, under target/test-peers/.
#
# Exports:
#   THERMALIQ_TEST_PYTHON  the venv's python, which can `import pymodbus`.

set -euo pipefail

peers_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/target/test-peers"
venv="$peers_root/venv"
# Pinned: the tests use the 3.16 server API (ModbusDeviceContext, 1-based data blocks).
pymodbus_version="3.16.1"

if ! "$venv/bin/python" -c "import pymodbus, sys; sys.exit(pymodbus.__version__ != '$pymodbus_version')" \
    >/dev/null 2>&1; then
    mkdir -p "$peers_root"
    python3 -m venv --clear "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "pymodbus==$pymodbus_version" >"$peers_root/pip.log" 2>&1 || {
        echo "test-peers: installing pymodbus $pymodbus_version failed, see $peers_root/pip.log" >&2
        return 1 2>/dev/null || exit 1
    }
fi

export THERMALIQ_TEST_PYTHON="$venv/bin/python"
echo "test-peers: pymodbus $pymodbus_version at $THERMALIQ_TEST_PYTHON"
