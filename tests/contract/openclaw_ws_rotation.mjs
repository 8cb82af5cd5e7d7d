// One WebSocket connect to the real OpenClaw gateway as a device that may
// already be paired, for the gateway-token rotation contract
// (tests/openclaw_token_rotation.rs). Signing as in openclaw_ws_device.mjs
// (OpenClaw 2026.9.6 dist/device-auth-*.mjs buildDeviceAuthPayloadV3: the v3
// payload carries the credential sent, shared token or device token).
//
// stdin, one JSON object (secrets never on argv):
//   { "kind": "cli" | "control-ui",
//     "token": "..." | "deviceToken": "...",
//     "privateKey": "<pkcs8 DER, base64url>",  (absent: a fresh device)
//     "buildId": "..." }                        (control-ui: its bundle's)
// prints one JSON line: deviceId, privateKey, and the outcome (ok with the
// hello-ok's auth method and issued deviceToken, or refused with the
// gateway's error code, message and details).
//   node openclaw_ws_rotation.mjs ws://127.0.0.1:PORT  < request.json
//
// "control-ui" connects as the Control UI does (dist/control-ui assets:
// client id openclaw-control-ui, mode webchat) with a browser Origin on the
// gateway's own loopback address, which the gateway requires of it
// (dist/ws-origin-policy-*.mjs, dist/origin-check-*.mjs "local-loopback"),
// and the build id its bundle carries (the package's dist/build-info.json):
// a Control UI served by the gateway with another build id is told to
// reload (dist/message-handler-*.mjs resolveControlUiBuildMismatch).
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign } from "node:crypto";
import { readFileSync } from "node:fs";

const url = process.argv[2];
const req = JSON.parse(readFileSync(0, "utf8"));
let privateKey;
if (req.privateKey) {
  privateKey = createPrivateKey({ key: Buffer.from(req.privateKey, "base64url"), format: "der", type: "pkcs8" });
} else {
  privateKey = generateKeyPairSync("ed25519").privateKey;
}
const publicKey = createPublicKey(privateKey);
const raw = publicKey.export({ type: "spki", format: "der" }).subarray(-32);
const deviceId = createHash("sha256").update(raw).digest("hex");
const exported = privateKey.export({ type: "pkcs8", format: "der" }).toString("base64url");
const ui = req.kind === "control-ui";
const client = ui
  ? { id: "openclaw-control-ui", version: "0.0.0", platform: "linux", mode: "webchat", buildId: req.buildId }
  : { id: "cli", version: "0.0.0", platform: "linux", mode: "cli" };
const role = "operator";
const scopes = ["operator.read"];
const auth = req.deviceToken ? { deviceToken: req.deviceToken } : { token: req.token ?? "" };
const signed = auth.token ?? auth.deviceToken;
const origin = `http://${new URL(url).host}`;
const ws = ui ? new WebSocket(url, { headers: { Origin: origin } }) : new WebSocket(url);
const done = (outcome) => {
  console.log(JSON.stringify({ deviceId, privateKey: exported, ...outcome }));
  process.exit(0);
};
// Generous: the gateway may still be settling on two busy cores.
setTimeout(() => done({ outcome: "timeout" }), 60000);
ws.onerror = (e) => done({ outcome: "error", message: String(e.message ?? e) });
ws.onclose = (e) => done({ outcome: "closed", code: e.code, reason: e.reason });
ws.onmessage = (message) => {
  const frame = JSON.parse(message.data);
  if (frame.type === "event" && frame.event === "connect.challenge") {
    const { nonce, ts } = frame.payload;
    const payload = ["v3", deviceId, client.id, client.mode, role, scopes.join(","), String(ts),
      signed, nonce, client.platform, ""].join("|");
    const signature = sign(null, Buffer.from(payload, "utf8"), privateKey).toString("base64url");
    const params = {
      minProtocol: 4, maxProtocol: 4, client, role, scopes, caps: [], auth,
      device: { id: deviceId, publicKey: raw.toString("base64url"), signature, signedAt: ts, nonce },
    };
    ws.send(JSON.stringify({ type: "req", id: "1", method: "connect", params }));
  } else if (frame.type === "res" && frame.id === "1") {
    done(frame.ok
      ? { outcome: "ok", type: frame.payload?.type, method: frame.payload?.auth?.method,
          deviceToken: frame.payload?.auth?.deviceToken }
      : { outcome: "refused", code: frame.error?.details?.code ?? frame.error?.code,
          message: frame.error?.message, details: frame.error?.details });
  }
};
