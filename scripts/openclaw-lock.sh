#!/usr/bin/env bash
# Makes the lock of one OpenClaw release from the real npm registry: the
# exact tree every server installs (`npm ci --ignore-scripts`, as the
# service user) and the contract test proves.
#
#   scripts/openclaw-lock.sh [NODE_VERSION [OPENCLAW_VERSION [OUT_DIR]]]
#
# Defaults: Node 24.22.3, OpenClaw 2026.9.6, OUT_DIR
# vendor/openclaw/<OPENCLAW_VERSION>/lock. Writes OUT_DIR/package.json (one
# dependency: openclaw at exactly the version) and OUT_DIR/package-lock.json
# (lockfileVersion 3: every package's version, resolved tarball and sha512
# integrity), resolved by the npm that the pinned Node bundles, with
# lifecycle scripts off. Nothing is installed.
#
# OpenClaw pins its direct dependencies exactly but ships no lockfile
# (docs/gateway/security/dependency-locking.md in the package), so its
# transitive dependencies resolve anew each time: a lock made later can
# differ. That is why the lock is vendored, and why making one is a
# deliberate step (review its diff like code): a new supported release
# comes with its lock, made by this script. A stack can also name a lock
# of its own (`openclaw.lock`), made the same way with OUT_DIR elsewhere.
set -euo pipefail

node_version=${1:-24.22.3}
openclaw_version=${2:-2026.9.6}
root=$(cd "$(dirname "$0")/.." && pwd)
out=${3:-"$root/vendor/openclaw/$openclaw_version/lock"}

node_dir=$("$root/tests/contract/openclaw-setup.sh" --node-only "$node_version" | tail -n 1)
tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT
mkdir -p "$tmp/home" "$tmp/project"
printf '{\n  "name": "clawprov-openclaw-release",\n  "version": "%s",\n  "private": true,\n  "dependencies": {\n    "openclaw": "%s"\n  }\n}\n' \
    "$openclaw_version" "$openclaw_version" >"$tmp/project/package.json"
extra_ca=()
[ -f /etc/ssl/certs/ca-certificates.crt ] && extra_ca=(NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt)
(cd "$tmp/project" && env -i HOME="$tmp/home" PATH="$node_dir/bin:/usr/bin:/bin" "${extra_ca[@]}" \
    "$node_dir/bin/npm" install --package-lock-only --ignore-scripts --no-fund --no-audit \
    --no-update-notifier >&2)
# Every package must come from the registry with a sha512 integrity, or
# ship inside its parent's tarball (bundleDependencies: covered by the
# parent's integrity).
python3 - "$tmp/project/package-lock.json" <<'PY'
import json, sys
lock = json.load(open(sys.argv[1]))
assert lock["lockfileVersion"] == 3, lock["lockfileVersion"]
bad = [path for path, p in lock["packages"].items()
       if path and not p.get("inBundle")
       and not (p.get("resolved", "").startswith("https://registry.npmjs.org/")
                and p.get("integrity", "").startswith("sha512-"))]
if bad:
    sys.exit(f"openclaw-lock: packages without a registry tarball and sha512: {bad[:10]}")
PY
mkdir -p "$out"
cp "$tmp/project/package.json" "$tmp/project/package-lock.json" "$out/"
echo "openclaw-lock: $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["packages"]) - 1)' "$out/package-lock.json") packages locked in $out" >&2
echo "$out"
