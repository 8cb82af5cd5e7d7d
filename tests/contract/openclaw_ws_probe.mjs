// The OpenClaw gateway's WebSocket handshake, as a client without a paired
// device would do it (docs/gateway/protocol/handshake.md in the package):
// wait for `connect.challenge`, send `connect` with the token read from
// stdin (none when stdin is empty), print the outcome as one JSON line.
//   node openclaw_ws_probe.mjs ws://127.0.0.1:PORT  < token
import { readFileSync } from "node:fs";

const url = process.argv[2];
const token = readFileSync(0, "utf8").trim();
const ws = new WebSocket(url);
const done = (outcome) => {
  console.log(JSON.stringify(outcome));
  process.exit(0);
};
setTimeout(() => done({ outcome: "timeout" }), 20000);
ws.onerror = (e) => done({ outcome: "error", message: String(e.message ?? e) });
ws.onclose = (e) => done({ outcome: "closed", code: e.code });
ws.onmessage = (message) => {
  const frame = JSON.parse(message.data);
  if (frame.type === "event" && frame.event === "connect.challenge") {
    const params = {
      minProtocol: 4,
      maxProtocol: 4,
      client: { id: "cli", version: "0.0.0", platform: "linux", mode: "cli" },
      role: "operator",
      scopes: ["operator.read"],
      caps: [],
    };
    if (token) params.auth = { token };
    ws.send(JSON.stringify({ type: "req", id: "1", method: "connect", params }));
  } else if (frame.type === "res" && frame.id === "1") {
    done(
      frame.ok
        ? { outcome: "ok", type: frame.payload?.type }
        : { outcome: "refused", code: frame.error?.details?.code ?? frame.error?.code },
    );
  }
};
