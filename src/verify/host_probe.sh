# clawprov verify: what the host checks read, in one pass, as root.
# Fed to `sudo -n -- bash -s` on stdin (never argv): the values below,
# including the secret patterns and MARK, are set by clawprov ahead of this
# text. Prints sections `@@MARK NAME`; clawprov parses them
# (src/verify/host.rs). MARK is random per run and exists only in this
# script (a shell variable, never exported), so nothing the service user
# prints can start a section. Whatever the service user can influence
# (its processes' output, names in its home, answers of its user manager)
# is printed base64-encoded on one line, bounded, so it cannot add lines
# of its own to a section either.
set -u
export LC_ALL=C
# The whole probe is one function, parsed before it runs and run with
# stdin from /dev/null: a command reading stdin cannot eat the rest of this
# script (bash -s reads it from the same stdin).
probe() {
sec() { printf '\n@@%s %s\n' "$MARK" "$1"; }
# KEY=<base64 of stdin, at most CAP bytes> on one line.
b64() { printf '%s=' "$1"; head -c "${2:-1048576}" | base64 -w0; echo; }
work=$(mktemp -d) || return 1
trap 'rm -rf -- "$work"' EXIT
svc_uid=$(id -u "$SVC" 2>/dev/null || echo 0)
# One pattern per line, no empty line (an empty pattern would match everything).
pats() { printf '%s' "$PATTERNS" | grep -v '^$'; }

sec cloud_init
cloud-init status --format json 2>&1
echo "exit=$?"
if [ -e /var/lib/clawprov/bootstrap-complete ]; then echo "marker=yes"; else echo "marker=no"; fi

sec sshd
sshd -T 2>&1

sec users
getent passwd "$SVC"
passwd -S "$SVC" 2>&1
echo "groups=$(id -nG "$SVC" 2>&1)"
if sudo -l -n -U "$SVC" 2>&1 | grep -q 'may run the following'; then echo "sudo=yes"; else echo "sudo=no"; fi
if getent passwd ubuntu >/dev/null; then echo "ubuntu=present"; else echo "ubuntu=absent"; fi

sec authorized_keys
admin_home=$(getent passwd "$ADMIN" | cut -d: -f6)
cat -- "$admin_home/.ssh/authorized_keys" 2>&1

sec ufw
ufw status verbose 2>&1
grep -E '^(IPV6|DEFAULT_FORWARD_POLICY)=' /etc/default/ufw
echo "ip_forward=$(sysctl -n net.ipv4.ip_forward) ipv6_forwarding=$(sysctl -n net.ipv6.conf.all.forwarding)"

sec metadata
echo "v4=$(iptables -w -S OUTPUT 2>&1 | sed -n 2p)"
echo "v6=$(ip6tables -w -S OUTPUT 2>&1 | sed -n 2p)"
runuser -u "$SVC" -- curl -sS -m 5 -o /dev/null http://169.254.169.254/hetzner/v1/metadata 2>/dev/null
echo "curl_as_service_user=$?"

sec listeners
# -e: the owner's uid (ss prints uid:N for a uid other than 0); the
# process name is the service user's to choose.
ss -ltnupHe 2>&1

sec gateway
# The user manager's socket is in a directory of the service user's.
runuser -u "$SVC" -- env XDG_RUNTIME_DIR="/run/user/$svc_uid" \
    systemctl --user show -p ActiveState -p UnitFileState clawprov-gateway.service 2>&1 | b64 unit 4096
loginctl show-user "$SVC" -p Linger 2>&1

sec state
cd -- "$HOME_DIR" 2>/dev/null &&
    stat -c '%a %U:%G %F %n' . .openclaw .openclaw/openclaw.json .config/openclaw .config/openclaw/gateway.env 2>&1
find "$HOME_DIR/.openclaw" "$HOME_DIR/.config/openclaw" -type l -print0 2>/dev/null | b64 symlinks 65536

sec config
# Read by the service user (a link or a FIFO there is its own business,
# and bounded), hashed and searched by root in root's own directory.
if runuser -u "$SVC" -- timeout 10 head -c 4194304 -- "$HOME_DIR/.openclaw/openclaw.json" \
    2>/dev/null | cat >"$work/config" && [ "${PIPESTATUS[0]}" -eq 0 ]; then
    echo "sha256=$(sha256sum <"$work/config" | cut -d' ' -f1)"
    found=$(grep -cF -f <(pats) -- "$work/config")
    echo "secrets=$found"
    # The content, for naming drifted keys; never when it holds a secret.
    [ "$found" = 0 ] && b64 content 4194304 <"$work/config"
fi

sec tailscale
# Tailscale's view of the node, stdout only: around a package upgrade the
# CLI warns of a client/daemon version mismatch on stderr. The status
# holds the node's own name (Serve's handler must be keyed to it) and tags;
# without peers (`--peers=false`, cmd/tailscale/cli/status.go at v1.90.9 and
# v1.102.3), so its size does not grow with the tailnet.
tailscale status --json --peers=false 2>/dev/null | b64 status 1048576
tailscale serve status --json 2>/dev/null | b64 serve 1048576
# The node's settings: `tailscale get --json` where the client has it
# (1.100.0 on), else the unlisted `tailscale debug prefs` (1.90-1.98).
if tailscale get --json >"$work/get" 2>/dev/null; then
    b64 get 1048576 <"$work/get"
else
    tailscale debug prefs 2>/dev/null | b64 prefs 1048576
fi

sec audit
# As the gateway runs: the service user, the env file loaded into the
# environment (never onto a command line).
runuser -u "$SVC" -- env -i HOME="$HOME_DIR" PATH="$NODE_BIN_DIR:$OPENCLAW_BIN_DIR:/usr/local/bin:/usr/bin:/bin" \
    timeout 120 bash -c 'set -a; . "$1"; set +a; exec "$2" "$3" security audit --json' audit \
    "$HOME_DIR/.config/openclaw/gateway.env" "$NODE_BIN_DIR/node" "$OPENCLAW_BIN_DIR/openclaw" 2>/dev/null |
    b64 output 4194304
echo "exit=${PIPESTATUS[0]}"

sec tree
# The installed tree as npm reads it from disk, one `PATH:NAME@VERSION` line
# a package, as the service user in the release directory (its output is
# the service user's: encoded, bounded). npm turns Node's compile cache on:
# in the home, as everywhere the service user's node runs (by default it is
# the shared /tmp/node-compile-cache).
runuser -u "$SVC" -- env -i -C "$OPENCLAW_DIR" HOME="$HOME_DIR" PATH="$NODE_BIN_DIR:/usr/bin:/bin" \
    NODE_COMPILE_CACHE="$HOME_DIR/.cache/node-compile-cache" \
    timeout 120 "$NODE_BIN_DIR/node" "$NODE_BIN_DIR/npm" ls --all --parseable --long \
    --no-update-notifier 2>/dev/null | b64 listing 4194304

sec traces
ls -d /var/log/clawprov-bootstrap.log /run/clawprov/ts-authkey /var/lib/cloud/instance/user-data.txt* \
    /var/lib/cloud/instances/*/user-data.txt* /var/lib/cloud/instances/*/cloud-config.txt \
    /var/lib/cloud/instances/*/scripts/runcmd 2>/dev/null

sec secrets
grep -rlZF -f <(pats) -- /var/log /var/lib/cloud /run /home /root /tmp 2>/dev/null | b64 files
echo "journal=$(journalctl -o export --no-pager 2>/dev/null | grep -cF -f <(pats))"

sec upgrades
apt-config dump 2>/dev/null | grep -E '^(APT::Periodic::Unattended-Upgrade|APT::Periodic::Update-Package-Lists|Unattended-Upgrade::Origins-Pattern::|Unattended-Upgrade::Automatic-Reboot)'

sec versions
runuser -u "$SVC" -- timeout 30 "$NODE_BIN_DIR/node" --version 2>&1 | b64 node 256
runuser -u "$SVC" -- timeout 30 "$NODE_BIN_DIR/node" -p \
    "require('$OPENCLAW_PACKAGE/package.json').version" 2>&1 | b64 openclaw 256
echo "tailscale=$(dpkg-query -W -f='${Version}' tailscale 2>&1)"
}
probe </dev/null
