#!/usr/bin/env bash
# The test command (README.md, "The two set-up commands"): installs,
# idempotently, the real tools the tests use instead of mocks, then runs the
# whole suite. `scripts/test.sh setup` only installs (.ci/run uses it before
# its lint gates). Needs root for apt-get on a fresh machine; a machine that
# has everything runs no installer.
#
# Installed here: Debian packages (below), the official hcloud Python
# library and the PyPI tailscale client in a venv
# (.ci/sim-contract-setup.sh). Fetched and cached by the
# tests themselves: the real Node and OpenClaw from the npm registry
# (tests/contract/openclaw-setup.sh), the real-boot VM's Debian image
# (tests/vm/build-image.sh, from the Debian mirror) and its download
# stand-ins (tests/vm/build-standins.sh), all under ~/.cache/clawprov-test.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  age                 # age CLI: vault interop both ways
  cloud-init          # `cloud-init schema -c` on rendered user-data
  shellcheck          # shell parts of the user-data
  openssh-server      # real sshd on 127.0.0.1 for the host phase
  sudo                # the admin user's sudo on the stand-in host
  hcloud-cli          # Hetzner's own CLI against the simulator
  python3-venv        # venv for hcloud-python and the PyPI tailscale client
  python3-yaml python3-jsonschema   # ../shared/tools/validate-cloud-config
  libssl-dev pkg-config             # ssh2 links system OpenSSL
  curl                # the host phase's gateway probes (also run by the contract test)
  iproute2            # ss: which addresses the gateway listens on
  util-linux          # flock: one builder of the OpenClaw cache at a time
  # The real-boot VM (tests/real_boot.rs, tests/vm/):
  mmdebstrap e2fsprogs qemu-utils   # the Debian image: rootfs, ext4, qcow2
  cloud-image-utils genisoimage     # cloud-localds: the NoCloud seed
  socat               # qemu's guestfwd to the download stand-in
  apt-utils gnupg dpkg openssl xz-utils   # the stand-ins: signed apt repo, CA, Node tarball; verify::tailnet's TLS server
  iputils-ping        # the outside scenario's path check
  iptables            # verify's outside corpus: ports dropped in a test namespace
  patch               # tests/tailnet/build.sh: testcontrol.patch onto Tailscale's test control plane
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm fetches the real Node and OpenClaw packages; any npm will do (the
# contract test installs OpenClaw with the npm that the pinned Node bundles).
command -v npm >/dev/null || missing+=(npm)
# qemu-system-x86 must be the very version of the installed qemu-utils
# (they share qemu's block modules): this machine kind has qemu-utils from
# bookworm-backports (10.x), which bookworm's 7.2 conflicts with; its
# dependencies then come from the same release (-t).
qemu=()
if ! command -v qemu-system-x86_64 >/dev/null; then
  qemu_version=$(dpkg-query -W -f='${Version}' qemu-utils 2>/dev/null || true)
  qemu=(qemu-system-x86${qemu_version:+=$qemu_version})
  if [[ "$qemu_version" == *bpo* ]]; then
    . /etc/os-release
    qemu=(-t "$VERSION_CODENAME-backports" "${qemu[@]}")
    if ! grep -rqs -- "$VERSION_CODENAME-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
      printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: %s-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
        "$VERSION_CODENAME" >/etc/apt/sources.list.d/clawprov-backports.sources
    fi
  fi
fi
if [ ${#missing[@]} -gt 0 ] || [ ${#qemu[@]} -gt 0 ]; then
  echo "test.sh: installing ${missing[*]} ${qemu[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  [ ${#missing[@]} -eq 0 ] || apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ ${#qemu[@]} -eq 0 ] || apt-get install -y -qq --no-install-recommends "${qemu[@]}" >/dev/null
fi
# validate-cloud-config runs under whatever python3 is first on PATH.
python3 -c 'import yaml, jsonschema' 2>/dev/null || python3 -m pip install -q pyyaml jsonschema
bash .ci/sim-contract-setup.sh
# The real tailnet (tests/tailnet/build.sh): Tailscale's tailscale and
# tailscaled built from the tailscale.com module, and the tailnet helper;
# cached by input hash. Go comes with the machine (Debian's is too old).
command -v go >/dev/null || { echo "test.sh: go is missing: the real-tailnet tests build Tailscale v1.102.5 from its Go module and need Go 1.26" >&2; exit 1; }
bash tests/tailnet/build.sh >/dev/null

[ "${1:-}" = "setup" ] && exit 0
cargo test --locked --all-targets
