"""Contract test: the PyPI `tailscale` package (1.0.0) against the simulator.

Driven by tests/sim_contract_tailscale_python.rs, which starts the simulator
and passes:
  SIM_TS_API          the simulator's Tailscale API base, http://HOST:PORT/api/v2
  SIM_TS_TAILNET      the tailnet name
  SIM_TS_CLIENT_ID / SIM_TS_CLIENT_SECRET   an OAuth client (auth_keys,
                      devices:core, tag:openclaw)
and, for the full cycle only,
  SIM_TS_READER_ID / SIM_TS_READER_SECRET   an OAuth client with only
                      devices:core:read
  SIM_TS_API_TOKEN    an API access token (every scope, any tags)

The package hard-codes https://api.tailscale.com/api/v2/; this script swaps
the module's `URL` for one that rewrites that prefix to the simulator's, and
nothing else. Devices come from the simulator's control plane
(POST /sim/tailscale/join), which is not part of Tailscale's API. Every
check uses the package's own calls and models; errors must surface as its
typed exceptions. Prints one "ok: <section>" line per section and
"contract ok" at the end; exits non-zero on the first mismatch.
"""

import asyncio
import json
import os
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import tailscale.tailscale as ts_module
from yarl import URL as _URL

from tailscale import (
    Tailscale,
    TailscaleKey,
    TailscaleNotFoundError,
    TailscalePermissionError,
    TailscaleResponseError,
    TailscaleUnauthorizedError,
)

REAL_BASE = "https://api.tailscale.com/api/v2/"
SIM_API = os.environ["SIM_TS_API"].rstrip("/") + "/"
CONTROL = SIM_API[: -len("api/v2/")] + "sim/tailscale"
TAILNET = os.environ["SIM_TS_TAILNET"]
CLIENT_ID = os.environ["SIM_TS_CLIENT_ID"]
CLIENT_SECRET = os.environ["SIM_TS_CLIENT_SECRET"]
TAG = "tag:openclaw"
SUFFIX = "tail1234.ts.net"


def _redirect(value, *args, **kwargs):
    """yarl.URL, with the real API's base rewritten to the simulator's."""
    if isinstance(value, str) and value.startswith(REAL_BASE):
        value = SIM_API + value[len(REAL_BASE) :]
    return _URL(value, *args, **kwargs)


ts_module.URL = _redirect


def join(auth_key, machine, hostname="gw", tags=(TAG,)):
    """What tailscaled does with a new auth key, in the simulator's terms."""
    body = json.dumps(
        {
            "auth_key": auth_key,
            "hostname": hostname,
            "advertise_tags": list(tags),
            "machine": machine,
        }
    ).encode()
    req = urllib.request.Request(
        CONTROL + "/join", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


async def expect(exc_type, coro, status=None, reason=None):
    try:
        await coro
    except exc_type as e:
        if status is not None:
            assert e.status == status, f"expected {status}, got {e.status}: {e.reason}"
        if reason is not None:
            assert reason in e.reason, f"expected {reason!r} in {e.reason!r}"
        return e
    except Exception as e:  # noqa: BLE001
        raise AssertionError(f"expected {exc_type.__name__}, got {type(e).__name__}: {e}")
    raise AssertionError(f"expected {exc_type.__name__}, call succeeded")


async def new_key(ts, **kwargs) -> TailscaleKey:
    params = dict(description="contract gw", expiry_seconds=3600, preauthorized=True, tags=[TAG])
    params.update(kwargs)
    return await ts.create_key(**params)


async def oauth_cycle():
    """Keys, a join, every device call, through the OAuth client."""
    async with Tailscale(
        tailnet=TAILNET, oauth_client_id=CLIENT_ID, oauth_client_secret=CLIENT_SECRET
    ) as ts:
        key = await new_key(ts)
        assert key.key.startswith(f"tskey-auth-{key.key_id}-"), key.key
        assert key.key_id.startswith("k") and key.key_id.endswith("CNTRL"), key.key_id
        create = key.capabilities.devices.create
        assert (create.reusable, create.ephemeral, create.preauthorized) == (False, False, True)
        assert create.tags == [TAG], create.tags
        assert key.expires - key.created == timedelta(seconds=3600), (key.created, key.expires)
        assert key.created.tzinfo is not None
        assert key.description == "contract gw"

        listed = {k.key_id: k for k in await ts.keys()}
        assert key.key_id in listed, listed
        assert listed[key.key_id].key == "", "the list never shows a secret"
        got = await ts.key(key.key_id)
        assert got.key == "" and not got.invalid and got.revoked is None, got
        print("ok: keys")

        status, joined = join(key.key, "vm-1")
        assert status == 200, joined
        device_id = joined["device"]["id"]
        got = await ts.key(key.key_id)
        # Spent, not revoked: `revoked` is what a DELETE sets.
        assert got.invalid and got.revoked is None, f"single-use key spent: {got}"
        assert key.key_id not in {k.key_id for k in await ts.keys()}
        status, refused = join(key.key, "vm-2")
        assert status == 401 and refused["message"].startswith("invalid key: "), refused

        devices = await ts.devices()
        assert list(devices) == [device_id], devices
        d = devices[device_id]
        assert d.name == f"gw.{SUFFIX}", d.name
        assert d.hostname == "gw" and d.tags == [TAG] and d.os == "linux", d
        assert d.node_id.startswith("n") and d.node_id.endswith("CNTRL"), d.node_id
        assert len(d.addresses) == 2 and d.addresses[0].startswith("100."), d.addresses
        assert d.addresses[1].startswith("fd7a:115c:a1e0:"), d.addresses
        assert d.authorized is True and d.connected_to_control is True, d
        assert d.key_expiry_disabled is False and d.is_ephemeral is False, d
        assert d.client_connectivity is not None, "fields=all adds client connectivity"
        now = datetime.now(UTC)
        assert abs(d.created - now) < timedelta(minutes=5), d.created
        assert d.expires - d.created > timedelta(days=170), d.expires
        assert (await ts.device(d.node_id)).device_id == device_id, "nodeId works as id"
        print("ok: devices")

        await ts.authorize_device(device_id, authorized=False)
        assert (await ts.device(device_id)).authorized is False
        await ts.authorize_device(device_id, authorized=True)
        assert (await ts.device(device_id)).authorized is True

        await ts.set_device_tags(device_id, tags=[TAG])
        e = await expect(
            TailscaleResponseError,
            ts.set_device_tags(device_id, tags=["tag:other"]),
            status=400,
            reason="requested tags [tag:other] are invalid or not permitted",
        )
        assert type(e) is TailscaleResponseError, type(e)

        await ts.set_device_key_expiry(device_id, key_expiry_disabled=True)
        d = await ts.device(device_id)
        assert d.key_expiry_disabled is True and d.expires.year == 1, d.expires
        await ts.set_device_key_expiry(device_id, key_expiry_disabled=False)
        await ts.expire_device_key(device_id)
        d = await ts.device(device_id)
        assert d.expires <= datetime.now(UTC) + timedelta(seconds=5), d.expires
        assert d.connected_to_control is False, "an expired node is logged out"
        print("ok: device changes")

        # Re-auth of the same machine with a new key: the same device.
        second = await new_key(ts)
        status, again = join(second.key, "vm-1")
        assert status == 200 and again["device"]["id"] == device_id, again
        d = await ts.device(device_id)
        assert d.connected_to_control is True and d.expires > datetime.now(UTC), d
        # Another machine while "gw" exists: gw-1.
        third = await new_key(ts)
        status, other = join(third.key, "vm-2")
        assert status == 200 and other["device"]["name"] == f"gw-1.{SUFFIX}", other
        assert set(await ts.devices()) == {device_id, other["device"]["id"]}
        print("ok: joins")

        await ts.delete_device(device_id)
        await expect(TailscaleNotFoundError, ts.device(device_id), status=404)
        await expect(TailscaleNotFoundError, ts.delete_device(device_id), status=404)
        assert set(await ts.devices()) == {other["device"]["id"]}

        spare = await new_key(ts, description="spare")
        await ts.delete_key(spare.key_id)
        revoked = await ts.key(spare.key_id)
        assert revoked.invalid and revoked.revoked is not None, revoked
        await expect(TailscaleNotFoundError, ts.delete_key(spare.key_id), status=404)
        await expect(TailscaleNotFoundError, ts.key("kNoSuchKeyCNTRL"), status=404)
        status, refused = join(spare.key, "vm-3")
        assert status == 401 and "revoked" in refused["message"], refused
        print("ok: deletes")

        await expect(
            TailscaleResponseError,
            new_key(ts, tags=["tag:other"]),
            status=400,
            reason="requested tags [tag:other] are invalid or not permitted",
        )
        await expect(TailscaleResponseError, new_key(ts, tags=[]), status=400)
        await expect(TailscaleResponseError, new_key(ts, expiry_seconds=7776001), status=400)
        await expect(TailscaleResponseError, new_key(ts, description="a" * 51), status=400)
        print("ok: key validation")


async def unauthorized():
    async with Tailscale(tailnet=TAILNET, api_key="tskey-api-bogus") as ts:
        await expect(TailscaleUnauthorizedError, ts.devices(), status=401, reason="API token invalid")
        await expect(TailscaleUnauthorizedError, ts.keys(), status=401)
    async with Tailscale(
        tailnet=TAILNET, oauth_client_id=CLIENT_ID, oauth_client_secret="tskey-client-wrong"
    ) as ts:
        await expect(TailscaleUnauthorizedError, ts.devices(), status=401)
    print("ok: unauthorized")


async def permission():
    reader_id = os.environ["SIM_TS_READER_ID"]
    reader_secret = os.environ["SIM_TS_READER_SECRET"]
    async with Tailscale(
        tailnet=TAILNET, oauth_client_id=reader_id, oauth_client_secret=reader_secret
    ) as ts:
        devices = await ts.devices()
        assert devices, "the reader sees the devices"
        some = next(iter(devices))
        await ts.device(some)
        for call in (
            ts.delete_device(some),
            ts.authorize_device(some, authorized=False),
            ts.set_device_tags(some, tags=[TAG]),
            ts.set_device_key_expiry(some, key_expiry_disabled=True),
        ):
            await expect(TailscalePermissionError, call, status=403, reason="devices:core")
        await expect(TailscalePermissionError, ts.keys(), status=403, reason="auth_keys")
        await expect(TailscalePermissionError, new_key(ts), status=403, reason="auth_keys")
    print("ok: permission")


async def api_token():
    """A user's API access token: every scope, keys without tags."""
    async with Tailscale(tailnet="-", api_key=os.environ["SIM_TS_API_TOKEN"]) as ts:
        key = await ts.create_key(description="user key", expiry_seconds=600)
        assert key.capabilities.devices.create.tags == [], key
        status, joined = join(key.key, "laptop-1", hostname="laptop", tags=())
        assert status == 200 and joined["device"]["tags"] == [], joined
        d = (await ts.devices())[joined["device"]["id"]]
        assert d.user and d.user != "tagged-devices", d.user
        await ts.set_device_tags(d.device_id, tags=["tag:anything"])
        assert (await ts.device(d.device_id)).tags == ["tag:anything"]
    print("ok: api token")


async def main():
    await oauth_cycle()
    await unauthorized()
    if os.environ.get("SIM_TS_READER_ID"):
        await permission()
        await api_token()
    print("contract ok")


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except AssertionError as e:
        print(f"contract FAILED: {e}", file=sys.stderr)
        raise
