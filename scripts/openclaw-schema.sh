#!/usr/bin/env bash
# Vendors what the pinned OpenClaw release accepts, so that clawprov's own
# tests can check rendered openclaw.json and model ids against it offline:
#
#   vendor/openclaw/<OPENCLAW_VERSION>/config-schema.json
#       `openclaw config schema --json`, keys sorted, 2-space indent
#   vendor/openclaw/<OPENCLAW_VERSION>/models.txt
#       the `provider/model` ids of the release's bundled model catalog,
#       one a line, sorted
#
#   scripts/openclaw-schema.sh [--check] [NODE_VERSION [OPENCLAW_VERSION]]
#
# Defaults: Node 24.22.3, OpenClaw 2026.9.6. `--check` rebuilds both files
# in a temporary directory and compares them with the vendored copies:
# exit 0 when equal, 1 (with a unified diff) when they differ or are missing.
#
# The release comes from tests/contract/openclaw-setup.sh (cached under
# ~/.cache/clawprov-test). The schema is taken in an empty, temporary state
# dir in which only the channel plugins clawprov installs are installed, at
# the OpenClaw version (below): Telegram is bundled with OpenClaw; Discord
# and Slack are separate packages. Those installs need the npm registry and
# take a minute or two; nothing else touches the network.
#
# The model catalog: `openclaw models list --all --json` shows, with no
# gateway and no credentials, only the rows of providers that need none
# (claude-cli), so the ids are read from the bundled plugins' manifests
# (dist/extensions/*/openclaw.plugin.json, modelCatalog.providers.*.models),
# the same rows the CLI lists once a provider is authenticated. The CLI's
# offline listing is checked to be a subset of them.
set -euo pipefail

check=false
if [ "${1:-}" = "--check" ]; then
    check=true
    shift
fi
node_version=${1:-24.22.3}
openclaw_version=${2:-2026.9.6}

# The channel plugins clawprov installs (src/host/plugins.rs), as npm
# packages; each is installed at the OpenClaw version.
plugins=(@openclaw/discord @openclaw/slack)

root=$(cd "$(dirname "$0")/.." && pwd)
vendor="$root/vendor/openclaw/$openclaw_version"

node_dir=$("$root/tests/contract/openclaw-setup.sh" "$node_version" "$openclaw_version" | tail -n 1)
release="$(dirname "$node_dir")/release"
node="$node_dir/bin/node"
package="$release/node_modules/openclaw"
if [ ! -x "$node" ] || [ ! -d "$package" ]; then
    echo "openclaw-schema: no release at $release" >&2
    exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT
mkdir -p "$tmp/home" "$tmp/out"

extra_ca=()
[ -f /etc/ssl/certs/ca-certificates.crt ] && extra_ca=(NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt)

# `openclaw ARGS` in a clean environment whose home and state dir are the
# temporary ones.
openclaw() {
    env -i HOME="$tmp/home" PATH="$node_dir/bin:/usr/bin:/bin" \
        OPENCLAW_STATE_DIR="$tmp/home/.openclaw" "${extra_ca[@]}" \
        "$node" "$release/node_modules/.bin/openclaw" "$@"
}

version=$(openclaw --version)
case "$version" in
*" $openclaw_version "* | *" $openclaw_version") ;;
*)
    echo "openclaw-schema: $release runs \"$version\", not $openclaw_version" >&2
    exit 1
    ;;
esac

for plugin in "${plugins[@]}"; do
    echo "openclaw-schema: openclaw plugins install $plugin@$openclaw_version" >&2
    openclaw plugins install "$plugin@$openclaw_version" >&2
done

# Sorted keys, 2-space indent, trailing newline. Fails unless stdin is
# exactly one JSON document.
cat >"$tmp/normalize.js" <<'EOF'
const text = require("fs").readFileSync(0, "utf8");
const sort = (v) =>
  Array.isArray(v)
    ? v.map(sort)
    : v !== null && typeof v === "object"
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort(v[k])]))
      : v;
process.stdout.write(JSON.stringify(sort(JSON.parse(text)), null, 2) + "\n");
EOF
openclaw config schema --json >"$tmp/schema.raw"
"$node" "$tmp/normalize.js" <"$tmp/schema.raw" >"$tmp/out/config-schema.json"

# provider/model of every row of every bundled manifest's model catalog.
cat >"$tmp/models.js" <<'EOF'
const fs = require("fs");
const path = require("path");
const dir = path.join(process.argv[2], "dist", "extensions");
const ids = new Set();
for (const plugin of fs.readdirSync(dir)) {
  const file = path.join(dir, plugin, "openclaw.plugin.json");
  if (!fs.existsSync(file)) continue;
  const catalog = JSON.parse(fs.readFileSync(file, "utf8")).modelCatalog || {};
  for (const [provider, entry] of Object.entries(catalog.providers || {})) {
    for (const model of entry.models || []) {
      if (typeof model.id !== "string" || model.id === "") {
        throw new Error(`${file}: a ${provider} model without an id`);
      }
      ids.add(`${provider}/${model.id}`);
    }
  }
}
if (ids.size === 0) throw new Error(`no model catalog under ${dir}`);
const sorted = [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
process.stdout.write(sorted.join("\n") + "\n");
EOF
"$node" "$tmp/models.js" "$package" >"$tmp/out/models.txt"

# The CLI's own offline listing must not know a model the manifests lack.
openclaw models list --all --json >"$tmp/models-cli.json" 2>/dev/null
cat >"$tmp/cli-keys.js" <<'EOF'
const fs = require("fs");
const listed = JSON.parse(fs.readFileSync(process.argv[2], "utf8")).models.map((m) => m.key);
const known = new Set(fs.readFileSync(process.argv[3], "utf8").split("\n"));
const unknown = listed.filter((k) => !known.has(k));
if (unknown.length) {
  console.error(`openclaw-schema: models list shows ids missing from the manifests: ${unknown.join(" ")}`);
  process.exit(1);
}
EOF
"$node" "$tmp/cli-keys.js" "$tmp/models-cli.json" "$tmp/out/models.txt"

if $check; then
    status=0
    for f in config-schema.json models.txt; do
        if [ ! -f "$vendor/$f" ]; then
            echo "openclaw-schema: $vendor/$f is missing (run scripts/openclaw-schema.sh $node_version $openclaw_version)" >&2
            status=1
        elif ! diff -u "$vendor/$f" "$tmp/out/$f"; then
            echo "openclaw-schema: $vendor/$f differs from OpenClaw $openclaw_version's (run scripts/openclaw-schema.sh $node_version $openclaw_version)" >&2
            status=1
        fi
    done
    exit "$status"
fi

mkdir -p "$vendor"
for f in config-schema.json models.txt; do
    cp "$tmp/out/$f" "$vendor/$f"
done
echo "openclaw-schema: wrote $vendor/config-schema.json ($(wc -l <"$vendor/models.txt") models in models.txt)" >&2
