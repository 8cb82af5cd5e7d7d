#!/bin/sh
# Prepares the Python venv the simulator contract tests drive independent
# clients from: the official hcloud-python library (tests/sim_contract_python.rs)
# and the PyPI `tailscale` package (tests/sim_contract_tailscale_python.rs).
# Idempotent: re-running only installs what is missing. Override the location
# with CLAWPROV_CONTRACT_VENV (the tests read the same variable).
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
venv=${CLAWPROV_CONTRACT_VENV:-"$repo/target/contract-venv"}
# Pinned so a new upstream release cannot silently change what "the official
# client" (or "the independent Tailscale client") means for these tests.
hcloud_version=2.27.0
tailscale_version=1.0.0
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import hcloud, sys; sys.exit(hcloud.__version__ != '$hcloud_version')" 2>/dev/null; then
    "$venv/bin/pip" install --quiet "hcloud==$hcloud_version"
fi
# The tailscale package has no __version__: ask the installed distribution.
if ! "$venv/bin/python" -c "import importlib.metadata as m, sys; import tailscale; sys.exit(m.version('tailscale') != '$tailscale_version')" 2>/dev/null; then
    "$venv/bin/pip" install --quiet "tailscale==$tailscale_version"
fi
"$venv/bin/python" -c "import hcloud; print('hcloud-python', hcloud.__version__, 'in $venv')"
"$venv/bin/python" -c "import importlib.metadata as m; print('tailscale (PyPI)', m.version('tailscale'), 'in $venv')"
