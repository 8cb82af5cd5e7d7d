#!/bin/sh
# Prepares the Python venv the simulator contract tests drive the official
# hcloud-python library from (tests/sim_contract_python.rs). Idempotent:
# re-running only installs what is missing. Override the location with
# CLAWPROV_CONTRACT_VENV (the test reads the same variable).
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
venv=${CLAWPROV_CONTRACT_VENV:-"$repo/target/contract-venv"}
# Pinned so a new upstream release cannot silently change what "the official
# client" means for these tests.
hcloud_version=2.27.0
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import hcloud, sys; sys.exit(hcloud.__version__ != '$hcloud_version')" 2>/dev/null; then
    "$venv/bin/pip" install --quiet "hcloud==$hcloud_version"
fi
"$venv/bin/python" -c "import hcloud; print('hcloud-python', hcloud.__version__, 'in $venv')"
