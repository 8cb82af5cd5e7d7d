#!/usr/bin/env node
// Test stand-in for the `openclaw` npm package, served by the real-boot
// tests' npm registry stand-in (tests/vm/). It never reaches the product.
//
// Why a stand-in: the real OpenClaw tree is ~700 MB and its gateway takes
// minutes to start under qemu's software emulation; tests/openclaw_contract.rs
// proves the real package with clawprov's files, argv and environment. What
// the host phase needs of the gateway is kept here the way 2026.9 does it:
// - `openclaw --version`, `openclaw gateway --bind loopback --port N` (the
//   unit's argv; an unknown flag or mode exits 1 as commander does);
// - the config is ~/.openclaw/openclaw.json; gateway.auth.token is a
//   SecretRef {source: "env", id} resolved from the environment (the unit's
//   EnvironmentFile); an unresolvable one exits 78 (EX_CONFIG);
// - it listens on 127.0.0.1:PORT only, and POST /tools/invoke answers 401
//   without the token or with a wrong one, 200 with it, and 403 to a
//   request carrying X-Forwarded-For from a peer not in gateway.trustedProxies;
// - it logs to logging.file (and stdout, the journal) without any secret,
//   and, as the real gateway does at start, the agent model it uses
//   ("agent model: PROVIDER/MODEL");
// - a config the release cannot load exits 78 (EX_CONFIG) before listening,
//   as the real gateway does (its own unit has RestartPreventExitStatus=78).
//   Which config that is, is the test's to say: a dotted key listed in
//   /etc/clawprov-test/refused-keys (root's, planted by real_boot.rs) plays a
//   key this release refuses, so that the host phase's rollback of
//   openclaw.json and the env file is exercised on a real user manager.
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
// Its one dependency, from the locked tree: a tree npm did not install
// completely does not run.
import dep from "clawprov-standin-dep";

if (dep.name !== "clawprov-standin-dep") {
  process.stderr.write("error: the stand-in's dependency is not its own\n");
  process.exit(1);
}
const VERSION = "2026.9.6";
const args = process.argv.slice(2);

function die(code, msg) {
  process.stderr.write(`error: ${msg}\n`);
  process.exit(code);
}

if (args[0] === "--version" || args[0] === "-V") {
  console.log(VERSION);
  process.exit(0);
}
if (args[0] === "security" && args[1] === "audit" && args[2] === "--json") {
  // The real audit's JSON shape (summary + findings), from a few of its
  // checks: token auth that resolves, and a config only its owner can read.
  const home = os.homedir();
  const file = process.env.OPENCLAW_CONFIG_PATH || path.join(home, ".openclaw", "openclaw.json");
  const findings = [];
  let cfg = {};
  try {
    cfg = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    findings.push({ severity: "critical", checkId: "config.unreadable", message: e.message });
  }
  const auth = (cfg.gateway || {}).auth || {};
  const ref = auth.token;
  const resolved = ref && typeof ref === "object" ? process.env[ref.id] : ref;
  if (auth.mode !== "token" || !resolved) {
    findings.push({ severity: "critical", checkId: "gateway.auth", message: "the gateway has no usable token" });
  }
  try {
    if ((fs.statSync(file).mode & 0o077) !== 0) {
      findings.push({ severity: "critical", checkId: "fs.config.perms", message: `${file} is readable by others` });
    }
  } catch {}
  const count = (s) => findings.filter((f) => f.severity === s).length;
  console.log(JSON.stringify({ summary: { critical: count("critical"), warn: count("warn"), info: 0 }, findings }));
  process.exit(0);
}
if (args[0] !== "gateway") die(1, `openclaw (test stand-in) does not implement: ${args.join(" ")}`);

let bind = "loopback";
let port = Number(process.env.OPENCLAW_GATEWAY_PORT || 18789);
for (let i = 1; i < args.length; i++) {
  const a = args[i];
  if (a === "--bind") bind = args[++i];
  else if (a === "--port") port = Number(args[++i]);
  else die(1, `unknown option '${a}'`);
}
const hosts = { loopback: "127.0.0.1", lan: "0.0.0.0" };
if (!(bind in hosts)) die(1, `invalid --bind ${bind}`);
if (!Number.isInteger(port) || port < 1 || port > 65535) die(1, `invalid --port`);

const home = os.homedir();
const configPath = process.env.OPENCLAW_CONFIG_PATH || path.join(home, ".openclaw", "openclaw.json");
let config;
try {
  config = JSON.parse(fs.readFileSync(configPath, "utf8"));
} catch (e) {
  die(78, `cannot read config ${configPath}: ${e.message}`);
}
let refused = [];
try {
  refused = fs.readFileSync("/etc/clawprov-test/refused-keys", "utf8").split("\n").filter(Boolean);
} catch {}
for (const key of refused) {
  const value = key.split(".").reduce((v, k) => (v && typeof v === "object" ? v[k] : undefined), config);
  if (value !== undefined) die(78, `config: ${key} is not supported by this release`);
}
const gw = config.gateway || {};
const ref = gw.auth && gw.auth.token;
let token;
if (ref && typeof ref === "object" && ref.source === "env") {
  token = process.env[ref.id];
  if (!token) die(78, `gateway.auth.token: environment variable ${ref.id} is not set`);
} else if (typeof ref === "string") {
  token = ref;
} else {
  die(78, "gateway.auth.token is missing");
}
const trusted = new Set(gw.trustedProxies || []);
const logFile = config.logging && config.logging.file;

function log(msg) {
  const line = JSON.stringify({ time: new Date().toISOString(), msg });
  console.log(msg);
  if (logFile) {
    fs.mkdirSync(path.dirname(logFile), { recursive: true, mode: 0o700 });
    fs.appendFileSync(logFile, line + "\n", { mode: 0o600 });
  }
}

const server = http.createServer((req, res) => {
  const answer = (status, body) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", () => {
    if (req.method === "GET") return answer(200, { ui: "control" });
    if (req.method !== "POST" || req.url !== "/tools/invoke") return answer(404, { error: "not_found" });
    const peer = req.socket.remoteAddress.replace(/^::ffff:/, "");
    if (req.headers["x-forwarded-for"] && !trusted.has(peer)) {
      return answer(403, { error: "proxy_attribution_required" });
    }
    if (req.headers.authorization !== `Bearer ${token}`) return answer(401, { error: "unauthorized" });
    answer(200, { ok: true });
  });
});
const model = config.agents && config.agents.defaults && config.agents.defaults.model;
server.listen(port, hosts[bind], () => {
  log(`gateway listening on ${hosts[bind]}:${port} (stand-in ${VERSION})`);
  log(`agent model: ${(model && model.primary) || "none"}`);
});
process.on("SIGTERM", () => {
  log("gateway stopping (SIGTERM)");
  server.close(() => process.exit(0));
});
