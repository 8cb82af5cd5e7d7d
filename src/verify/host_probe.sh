# clawprov verify: what the host checks read, in one pass, as root.
# Fed to `sudo -n -- bash -s` on stdin (never argv): the values below,
# including the secret patterns, are set by clawprov ahead of this text.
# Prints sections `@@ NAME`; clawprov parses them (src/verify/host.rs).
set -u
export LC_ALL=C
# The whole probe is one function, parsed before it runs and run with
# stdin from /dev/null: a command reading stdin cannot eat the rest of this
# script (bash -s reads it from the same stdin).
probe() {
sec() { printf '\n@@ %s\n' "$1"; }
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
ss -ltnupH 2>&1

sec gateway
runuser -u "$SVC" -- env XDG_RUNTIME_DIR="/run/user/$svc_uid" \
    systemctl --user show -p ActiveState -p UnitFileState clawprov-gateway.service 2>&1
loginctl show-user "$SVC" -p Linger 2>&1

sec state
cd -- "$HOME_DIR" 2>/dev/null &&
    stat -c '%a %U:%G %F %n' . .openclaw .openclaw/openclaw.json .config/openclaw .config/openclaw/gateway.env 2>&1
find "$HOME_DIR/.openclaw" "$HOME_DIR/.config/openclaw" -type l 2>/dev/null | sed 's/^/symlink /'

sec config
echo "sha256=$(sha256sum <"$HOME_DIR/.openclaw/openclaw.json" 2>/dev/null | cut -d' ' -f1)"
echo "secrets=$(grep -cF -f <(pats) -- "$HOME_DIR/.openclaw/openclaw.json" 2>/dev/null)"

sec serve
tailscale serve status --json 2>&1

sec tailscale_prefs
tailscale debug prefs 2>&1

sec audit
# As the gateway runs: the service user, the env file loaded into the
# environment (never onto a command line).
runuser -u "$SVC" -- env -i HOME="$HOME_DIR" PATH="$NODE_BIN_DIR:$OPENCLAW_DIR/bin:/usr/local/bin:/usr/bin:/bin" \
    bash -c 'set -a; . "$1"; set +a; exec "$2" "$3" security audit --json' audit \
    "$HOME_DIR/.config/openclaw/gateway.env" "$NODE_BIN_DIR/node" "$OPENCLAW_DIR/bin/openclaw" 2>/dev/null
audit_exit=$?
echo
echo "exit=$audit_exit"

sec traces
ls -d /var/log/clawprov-bootstrap.log /run/clawprov/ts-authkey /var/lib/cloud/instance/user-data.txt* \
    /var/lib/cloud/instances/*/user-data.txt* /var/lib/cloud/instances/*/cloud-config.txt \
    /var/lib/cloud/instances/*/scripts/runcmd 2>/dev/null

sec secrets
grep -rlF -f <(pats) -- /var/log /var/lib/cloud /run /home /root /tmp 2>/dev/null | sort
echo "journal=$(journalctl -o export --no-pager 2>/dev/null | grep -cF -f <(pats))"

sec upgrades
apt-config dump 2>/dev/null | grep -E '^(APT::Periodic::Unattended-Upgrade|APT::Periodic::Update-Package-Lists|Unattended-Upgrade::Origins-Pattern::|Unattended-Upgrade::Automatic-Reboot)'

sec versions
echo "node=$(runuser -u "$SVC" -- "$NODE_BIN_DIR/node" --version 2>&1)"
echo "openclaw=$(runuser -u "$SVC" -- "$NODE_BIN_DIR/node" -p \
    "require('$OPENCLAW_DIR/lib/node_modules/openclaw/package.json').version" 2>&1)"
echo "tailscale=$(dpkg-query -W -f='${Version}' tailscale 2>&1)"
}
probe </dev/null
