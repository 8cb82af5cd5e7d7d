#!/usr/bin/env bash
# Builds the suite's real tailnet: Tailscale's own `tailscale` and
# `tailscaled` at TAILSCALE_VERSION, from the tailscale.com module as
# published (its own go.mod and go.sum, CGO off, -trimpath: the way
# Tailscale's static Linux builds are made), and `tailnet-helper`
# (helper/main.go: the control plane, DERP, ACME and DNS the binaries talk
# to). Prints the directory holding:
#   bin/                tailscale, tailscaled (stamped TAILSCALE_VERSION), tailnet-helper
#   versions/V/         tailscale, tailscaled stamped V, for each of PACKAGE_VERSIONS
#   package/            what Tailscale's own .deb holds beside the binaries
#                       (release/dist/unixpkgs/pkgs.go): the systemd units,
#                       /etc/default/tailscaled, the maintainer scripts
#
# PACKAGE_VERSIONS: the test apt repository offers two versions so a
# `tailscale.version` pin is seen to hold. Only TAILSCALE_VERSION is a real
# release; the other is the same build re-linked with another version stamp
# (the link step only), which is all a pin test needs.
#
# testcontrol is Tailscale's public test control plane
# (tstest/integration/testcontrol); the helper needs a register hook, node
# deletion and a 404 for unknown paths that it does not have, so the build
# copies its file from the module cache at the pinned version and applies
# testcontrol.patch (every change there is marked "clawprov"). Nothing of
# Tailscale's source is committed here.
#
# Cached by input hash under ${CLAWPROV_TEST_CACHE:-~/.cache/clawprov-test}/
# tailnet/<hash>; one builder at a time (flock). Needs Go (the machine's
# go1.26.x) and the Go module proxy: without them it fails, loudly.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
TAILSCALE_VERSION=1.102.5
PACKAGE_VERSIONS=(1.102.5 1.102.6)

command -v go >/dev/null || { echo "tailnet/build.sh: go is missing (the suite builds Tailscale from the tailscale.com module)" >&2; exit 1; }
command -v patch >/dev/null || { echo "tailnet/build.sh: patch is missing (apt-get install patch)" >&2; exit 1; }

go_version=$(go env GOVERSION)
key=$( (cat "$0" "$here/go.mod" "$here/go.sum" "$here/testcontrol.patch" "$here"/helper/*.go; echo "$go_version $TAILSCALE_VERSION") | sha256sum | cut -c1-16)
cache=${CLAWPROV_TEST_CACHE:-"$HOME/.cache/clawprov-test"}/tailnet
out="$cache/$key"
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ -f "$out/.complete" ]; then
    echo "$out"
    exit 0
fi

work=$(mktemp -d "$cache/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
export CGO_ENABLED=0
started=$SECONDS

# --- Tailscale, from its own module.
mod=$(go mod download -json "tailscale.com@v$TAILSCALE_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$mod/cmd/tailscaled" ] || { echo "tailnet/build.sh: tailscale.com@v$TAILSCALE_VERSION did not download" >&2; exit 1; }
stamp="-X tailscale.com/version.shortStamp=$TAILSCALE_VERSION -X tailscale.com/version.longStamp=$TAILSCALE_VERSION-clawprov-test"
(cd "$mod" && go build -trimpath -ldflags "$stamp" -o "$work/bin/" ./cmd/tailscale ./cmd/tailscaled)
for v in "${PACKAGE_VERSIONS[@]}"; do
    vstamp="-X tailscale.com/version.shortStamp=$v -X tailscale.com/version.longStamp=$v-clawprov-test"
    (cd "$mod" && go build -trimpath -ldflags "$vstamp" -o "$work/versions/$v/" ./cmd/tailscale ./cmd/tailscaled)
    [ "$("$work/versions/$v/tailscale" version | head -1)" = "$v" ]
done
mkdir -p "$work/package"
for f in tailscaled.service tailscale-online.target tailscale-wait-online.service tailscaled.defaults; do
    install -m 0644 "$mod/cmd/tailscaled/$f" "$work/package/$f"
done
for f in debian.postinst.sh debian.prerm.sh debian.postrm.sh; do
    install -m 0755 "$mod/release/deb/$f" "$work/package/$f"
done

# --- The helper, with testcontrol copied and patched.
src="$work/src"
mkdir -p "$src/testcontrol"
cp -r "$here/go.mod" "$here/go.sum" "$here/helper" "$src/"
install -m 0644 "$mod/tstest/integration/testcontrol/testcontrol.go" "$src/testcontrol/testcontrol.go"
install -m 0644 "$mod/LICENSE" "$src/testcontrol/LICENSE"
(cd "$src/testcontrol" && patch --quiet --forward -p1 <"$here/testcontrol.patch")
(cd "$src" && go build -trimpath -o "$work/bin/tailnet-helper" ./helper)

[ "$("$work/bin/tailscale" version | head -1)" = "$TAILSCALE_VERSION" ]
echo "tailnet/build.sh: built in $((SECONDS - started)) s" >&2
rm -rf "$src"
touch "$work/.complete"
rm -rf "$out"
mv "$work" "$out"
chmod 0755 "$out"
trap - EXIT
# Older builds (other inputs) only take disk space now.
find "$cache" -mindepth 1 -maxdepth 1 -type d ! -name "$key" ! -name '.*' -exec rm -rf -- {} +
echo "$out"
