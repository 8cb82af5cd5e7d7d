#!/bin/bash
# Builds, once per set of inputs, the Debian image the real-boot tests
# (tests/real_boot.rs) boot under qemu: a stand-in for Hetzner's Ubuntu
# image, plus test-only parts that never reach the product.
#
#   tests/vm/build-image.sh
#
# Prints the image directory on its last line. It holds base.qcow2 (each
# test boots a throwaway overlay of it), vmlinuz and initrd.img (qemu boots
# them directly: no boot loader), and the test CA (ca.crt, ca.key) the
# guest trusts and the download stand-in's certificate is signed with.
# Cached in ${CLAWPROV_TEST_CACHE:-~/.cache/clawprov-test}/vm/image-<hash>,
# the hash taken over this script and tests/vm/guest/; a finished image
# carries .complete, a half-built one is rebuilt. Needs root (mmdebstrap
# into a directory, mkfs.ext4 -d).
#
# What is in it, and why:
# - Debian trixie (cloud-init 25.x, systemd 257), the release closest to
#   Hetzner's Ubuntu 24.04 that the Debian mirror here serves.
# - The packages Hetzner's image has and the bootstrap relies on: systemd,
#   udev, dbus, cloud-init and netplan, openssh-server, sudo, ufw,
#   iptables, curl, ca-certificates, gnupg, unattended-upgrades, iproute2,
#   procps, xz-utils (nvm unpacks Node's .tar.xz), locales (cloud-init's
#   locale module fails without it) and libnss-myhostname (sudo resolves
#   the host name). Not dbus-user-session: the bootstrap must not need the
#   user session bus (issue 9), so the image proves it does without.
# - Test-only (tests/vm/guest/): the test CA in the system store;
#   /etc/hosts sending the download hosts to the address qemu forwards to
#   the stand-in server, and controlplane.tailscale.com to the one it
#   forwards to the tailnet helper; a tailscaled drop-in naming the helper's
#   ACME directory (TS_DEBUG_ACME_DIRECTORY_URL) in place of Let's Encrypt's;
#   a reporter on virtio-serial that runs the test's checks as root;
#   no resolver in /etc/resolv.conf, so the Debian mirror the image names
#   fails at once instead of after DNS timeouts (apt only warns).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
suite=trixie
mirror=${CLAWPROV_DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=(
    linux-image-amd64 systemd-sysv udev dbus libpam-systemd
    cloud-init netplan.io python3-netifaces
    openssh-server sudo ufw iptables curl ca-certificates gnupg
    unattended-upgrades iproute2 procps e2fsprogs xz-utils
    locales libnss-myhostname python3
)

for tool in mmdebstrap mkfs.ext4 qemu-img openssl; do
    command -v "$tool" >/dev/null || {
        echo "build-image: $tool is missing (apt-get install mmdebstrap e2fsprogs qemu-utils openssl)" >&2
        exit 1
    }
done

key=$( (cat "$0"; printf '%s\n' "$suite" "${packages[@]}"; cd "$here/guest" && find . -type f | LC_ALL=C sort | xargs sha256sum) \
    | sha256sum | cut -c1-16)
cache=${CLAWPROV_TEST_CACHE:-"$HOME/.cache/clawprov-test"}/vm
out="$cache/image-$key"
if [ -f "$out/.complete" ]; then
    echo "$out"
    exit 0
fi
mkdir -p "$cache"
exec 9>"$cache/.image.lock"
flock 9
if [ -f "$out/.complete" ]; then
    echo "$out"
    exit 0
fi
rm -rf -- "$out"
mkdir -p "$out"
work=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf -- "$work"' EXIT

# The test CA: the guest trusts it, the stand-in's certificate comes from it.
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=clawprov test CA" \
    -keyout "$out/ca.key" -out "$out/ca.crt" 2>/dev/null
chmod 0600 "$out/ca.key"

echo "build-image: mmdebstrap $suite (${#packages[@]} packages)" >&2
mmdebstrap --variant=apt --include="$(IFS=,; echo "${packages[*]}")" \
    --customize-hook="cp -a '$here/guest/.' \"\$1/\"" \
    --customize-hook="cp '$out/ca.crt' \"\$1/usr/local/share/ca-certificates/clawprov-test-ca.crt\"" \
    --customize-hook='chroot "$1" update-ca-certificates' \
    --customize-hook='echo "/dev/vda / ext4 defaults 0 1" >"$1/etc/fstab"' \
    --customize-hook='rm -f "$1"/etc/ssh/ssh_host_*' \
    --customize-hook='printf "# test image: no resolver (names come from /etc/hosts)\n" >"$1/etc/resolv.conf"' \
    --customize-hook='cat "$1/etc/hosts.clawprov-test" >>"$1/etc/hosts" && rm "$1/etc/hosts.clawprov-test"' \
    --customize-hook='chroot "$1" systemctl enable clawprov-test-reporter.service' \
    --customize-hook='rm -f "$1/etc/machine-id" && : >"$1/etc/machine-id"' \
    --customize-hook="cp -L \"\$1/vmlinuz\" '$out/vmlinuz' && cp -L \"\$1/initrd.img\" '$out/initrd.img'" \
    "$suite" "$work/rootfs" "$mirror" >&2

echo "build-image: ext4 + qcow2" >&2
truncate -s 4G "$work/root.raw"
mkfs.ext4 -q -F -L root -d "$work/rootfs" "$work/root.raw"
qemu-img convert -O qcow2 "$work/root.raw" "$out/base.qcow2"
printf '%s\n' "$suite" "${packages[@]}" >"$out/inputs"
touch "$out/.complete"
# Older builds (other inputs) only take disk space now.
find "$cache" -maxdepth 1 -name 'image-*' ! -name "image-$key" -exec rm -rf -- {} +
echo "$out"
