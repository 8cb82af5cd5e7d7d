"""Contract test: the official hcloud-python library against the simulator.

Driven by tests/sim_contract_python.rs, which starts the simulator and passes
SIM_ENDPOINT, SIM_TOKEN and SIM_READONLY_TOKEN. Creates, lists (label
selectors, more than 120 items across pages), describes, protects and
deletes ssh keys, firewalls and servers, and checks that the documented
errors surface as APIException with the right code. Exits non-zero on the
first mismatch; prints "contract ok" at the end.
"""

import base64
import os
import struct
import sys

from hcloud import APIException, Client
from hcloud.firewalls.domain import FirewallResource, FirewallRule
from hcloud.images.domain import Image
from hcloud.locations.domain import Location
from hcloud.server_types.domain import ServerType

N = 121  # more than two pages of 50


def fake_ed25519(i: int) -> str:
    """A well-formed ssh-ed25519 public key whose blob is unique per i."""
    body = i.to_bytes(4, "big") * 8
    blob = struct.pack(">I", 11) + b"ssh-ed25519" + struct.pack(">I", 32) + body
    return "ssh-ed25519 " + base64.b64encode(blob).decode() + f" key{i}"


def expect_error(code, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except APIException as e:
        assert e.code == code, f"expected {code}, got {e.code}: {e.message}"
        return e
    raise AssertionError(f"expected APIException {code}, call succeeded")


def main() -> None:
    endpoint = os.environ["SIM_ENDPOINT"]
    token = os.environ["SIM_TOKEN"]
    client = Client(token=token, api_endpoint=endpoint, poll_interval=0.05)

    # --- ssh keys ---------------------------------------------------------
    keys = []
    for i in range(N):
        labels = {"suite": "py", "parity": "even" if i % 2 == 0 else "odd"}
        keys.append(client.ssh_keys.create(name=f"py-key-{i}", public_key=fake_ed25519(i), labels=labels))
    assert len(client.ssh_keys.get_all(label_selector="suite=py")) == N
    assert len(client.ssh_keys.get_all(label_selector="suite=py,parity==even")) == 61
    assert len(client.ssh_keys.get_all(label_selector="parity in (odd),suite")) == 60
    assert len(client.ssh_keys.get_all(label_selector="suite=py,parity notin (odd,even)")) == 0
    assert len(client.ssh_keys.get_all(label_selector="!parity")) == 0
    page = client.ssh_keys.get_list(label_selector="suite=py", page=3, per_page=50)
    assert len(page.ssh_keys) == 21, len(page.ssh_keys)
    assert page.meta.pagination.last_page == 3
    assert page.meta.pagination.total_entries == N
    assert page.meta.pagination.next_page is None
    assert page.meta.pagination.previous_page == 2
    described = client.ssh_keys.get_by_name("py-key-7")
    assert described.id == keys[7].id and described.public_key == fake_ed25519(7)
    assert described.fingerprint == keys[7].fingerprint and described.fingerprint.count(":") == 15
    expect_error("uniqueness_error", client.ssh_keys.create, name="py-key-7", public_key=fake_ed25519(9999))
    expect_error("uniqueness_error", client.ssh_keys.create, name="other", public_key=fake_ed25519(7))
    expect_error("invalid_input", client.ssh_keys.create, name="bad", public_key="ssh-ed25519 nope")
    expect_error("invalid_input", client.ssh_keys.get_all, label_selector="suite in (py")
    expect_error("not_found", client.ssh_keys.get_by_id, 987654)
    updated = client.ssh_keys.update(keys[0], labels={"suite": "py", "parity": "even", "extra": "yes"})
    assert updated.labels["extra"] == "yes"
    assert [k.name for k in client.ssh_keys.get_all(label_selector="extra")] == ["py-key-0"]

    # --- firewalls --------------------------------------------------------
    rules = [FirewallRule(direction="in", protocol="tcp", port="22", source_ips=["100.64.0.0/10"])]
    firewalls = []
    for i in range(N):
        resp = client.firewalls.create(name=f"py-fw-{i}", rules=rules if i == 0 else [], labels={"suite": "py"})
        for a in resp.actions:
            a.wait_until_finished()
        firewalls.append(resp.firewall)
    assert len(client.firewalls.get_all(label_selector="suite=py")) == N
    fw = client.firewalls.get_by_name("py-fw-0")
    assert len(fw.rules) == 1 and fw.rules[0].port == "22" and fw.rules[0].source_ips == ["100.64.0.0/10"]
    bad_rule = FirewallRule(direction="in", protocol="tcp", source_ips=["0.0.0.0/0"])  # tcp without port
    expect_error("invalid_input", client.firewalls.create, name="bad-fw", rules=[bad_rule])
    expect_error("uniqueness_error", client.firewalls.create, name="py-fw-0")
    for a in client.firewalls.set_rules(fw, []):
        a.wait_until_finished()
    assert client.firewalls.get_by_id(fw.id).rules == []

    # --- servers ----------------------------------------------------------
    servers = []
    for i in range(N):
        resp = client.servers.create(
            name=f"py-srv-{i}",
            server_type=ServerType(name="cx22"),
            image=Image(name="ubuntu-24.04"),
            location=Location(name="fsn1"),
            ssh_keys=[keys[0]],
            firewalls=[firewalls[0]] if i == 0 else None,
            labels={"suite": "py", "idx": str(i)},
            user_data="#cloud-config\n",
        )
        assert resp.root_password is None
        servers.append(resp.server)
    resp.action.wait_until_finished()
    for a in resp.next_actions:
        a.wait_until_finished()
    assert client.servers.get_by_id(servers[-1].id).status == "running"
    assert len(client.servers.get_all(label_selector="suite=py")) == N
    assert len(client.servers.get_all(label_selector="suite=py,idx in (1,2,3)")) == 3
    arm = client.servers.create(
        name="py-arm", server_type=ServerType(name="cax11"), image=Image(name="ubuntu-24.04"),
        location=Location(name="hel1"), ssh_keys=[keys[0]], labels={"suite": "py-arm"},
    )
    assert arm.server.image.architecture == "arm", arm.server.image.architecture
    expect_error("invalid_input", client.servers.create, name="too-big", server_type=ServerType(name="cx22"),
                 image=Image(name="ubuntu-24.04"), user_data="x" * (32 * 1024 + 1))
    expect_error("invalid_input", client.servers.create, name="wrong-place", server_type=ServerType(name="cx22"),
                 image=Image(name="ubuntu-24.04"), location=Location(name="ash"))
    expect_error("uniqueness_error", client.servers.create, name="py-srv-0", server_type=ServerType(name="cx22"),
                 image=Image(name="ubuntu-24.04"))

    s0 = client.servers.get_by_name("py-srv-0")
    assert s0.public_net.ipv4.ip and s0.public_net.ipv6.ip
    assert [f.firewall.id for f in s0.public_net.firewalls] == [firewalls[0].id]
    fw0 = client.firewalls.get_by_id(firewalls[0].id)
    assert [r.server.id for r in fw0.applied_to] == [s0.id]
    expect_error("resource_in_use", client.firewalls.delete, fw0)
    expect_error("firewall_already_applied", client.firewalls.apply_to_resources, fw0,
                 [FirewallResource(type="server", server=s0)])

    client.servers.change_protection(s0, delete=True, rebuild=True).wait_until_finished()
    assert client.servers.get_by_id(s0.id).protection["delete"] is True
    expect_error("protected", client.servers.delete, s0)
    client.servers.change_protection(s0, delete=False, rebuild=False).wait_until_finished()

    # A running action locks the server.
    reboot = client.servers.reboot(s0)
    assert reboot.status == "running" and reboot.command == "reboot_server", (reboot.status, reboot.command)
    expect_error("locked", client.servers.delete, s0)
    reboot.wait_until_finished()

    actions = client.actions.get_all(status="success") if hasattr(client, "actions") else []
    assert all(a.status == "success" for a in actions)

    # Read-only and bad tokens.
    ro = Client(token=os.environ["SIM_READONLY_TOKEN"], api_endpoint=endpoint)
    assert len(ro.servers.get_all(label_selector="suite=py")) == N
    expect_error("token_readonly", ro.ssh_keys.create, name="ro", public_key=fake_ed25519(5000))
    bad = Client(token="x" * 64, api_endpoint=endpoint)
    expect_error("unauthorized", bad.servers.get_all)

    # --- delete everything --------------------------------------------------
    for s in client.servers.get_all(label_selector="suite in (py,py-arm)"):
        client.servers.delete(s).wait_until_finished()
    assert client.servers.get_all() == []
    assert client.firewalls.get_by_id(firewalls[0].id).applied_to == []
    for f in client.firewalls.get_all(label_selector="suite=py"):
        client.firewalls.delete(f)
    for k in client.ssh_keys.get_all(label_selector="suite=py"):
        client.ssh_keys.delete(k)
    assert client.firewalls.get_all() == [] and client.ssh_keys.get_all() == []
    print("contract ok")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"contract violated: {e}", file=sys.stderr)
        raise
