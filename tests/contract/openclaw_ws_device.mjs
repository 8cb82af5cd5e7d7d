// A client with a fresh device identity, as OpenClaw 2026.9.6's
// gateway client does it (dist/device-auth-*.mjs buildDeviceAuthPayloadV3,
// dist/device-identity-*.mjs): an Ed25519 key, the device id the sha256 of
// its raw public key, the v3 payload signed with the challenge's nonce and
// ts. It connects with the token read from stdin and prints the outcome as
// one JSON line (with the device id, so the test can find its request).
//   node openclaw_ws_device.mjs ws://127.0.0.1:PORT  < token
import { createHash, generateKeyPairSync, sign } from "node:crypto";
import { readFileSync } from "node:fs";

const url = process.argv[2];
const token = readFileSync(0, "utf8").trim();
const { publicKey, privateKey } = generateKeyPairSync("ed25519");
const raw = publicKey.export({ type: "spki", format: "der" }).subarray(-32);
const deviceId = createHash("sha256").update(raw).digest("hex");
const client = { id: "cli", version: "0.0.0", platform: "linux", mode: "cli" };
const role = "operator";
const scopes = ["operator.read"];
const ws = new WebSocket(url);
const done = (outcome) => {
  console.log(JSON.stringify({ deviceId, ...outcome }));
  process.exit(0);
};
// Generous: several real gateways may share two busy cores.
setTimeout(() => done({ outcome: "timeout" }), 60000);
ws.onerror = (e) => done({ outcome: "error", message: String(e.message ?? e) });
ws.onclose = (e) => done({ outcome: "closed", code: e.code, reason: e.reason });
ws.onmessage = (message) => {
  const frame = JSON.parse(message.data);
  if (frame.type === "event" && frame.event === "connect.challenge") {
    const { nonce, ts } = frame.payload;
    const payload = ["v3", deviceId, client.id, client.mode, role, scopes.join(","), String(ts),
      token, nonce, "linux", ""].join("|");
    const signature = sign(null, Buffer.from(payload, "utf8"), privateKey).toString("base64url");
    const params = {
      minProtocol: 4, maxProtocol: 4, client, role, scopes, caps: [],
      auth: { token },
      device: { id: deviceId, publicKey: raw.toString("base64url"), signature, signedAt: ts, nonce },
    };
    ws.send(JSON.stringify({ type: "req", id: "1", method: "connect", params }));
  } else if (frame.type === "res" && frame.id === "1") {
    done(frame.ok
      ? { outcome: "ok", type: frame.payload?.type }
      : { outcome: "refused", code: frame.error?.details?.code ?? frame.error?.code,
          message: frame.error?.message, details: frame.error?.details });
  }
};
