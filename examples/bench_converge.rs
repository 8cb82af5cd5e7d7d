//! Benchmark of `up`/`destroy` against the embedded simulator; writes
//! BENCHMARKS.md. Run with `scripts/bench.sh`. Not a test: numbers only.
//!
//! 1. One stack, for simulated actions of 0.5, 2, 5, 15 and 30 s: requests
//!    per fresh up / no-op up / destroy, and the wall time `up` spends while
//!    no action is running (its overhead over the simulator's own waits).
//! 2. 50 stacks at once against a bucket of 100 requests refilling 5/s:
//!    failures, 429s seen by the client (absorbed by its limiter), and total
//!    time against the bound the bucket and the action chain impose.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use clawprov::converge;
use clawprov::hetzner::{Hetzner, RequestCounts};
use clawprov::plan::{observe, Desired, Plan};
use clawprov::render::{self, RenderInputs, Templates, UserData};
use clawprov::secrets::{self, Secret};
use clawprov::sim::{RateLimit, SimConfig, SimServer, DEFAULT_TOKEN};
use clawprov::ui::Ui;

/// The 50-stack run's action duration.
const ACTION: Duration = Duration::from_secs(5);
/// The one-stack runs' action durations.
const DURATIONS: [Duration; 5] = [
    Duration::from_millis(500),
    Duration::from_secs(2),
    Duration::from_secs(5),
    Duration::from_secs(15),
    Duration::from_secs(30),
];
/// BENCHMARKS.md keeps other sections; this run owns the text between these.
const BEGIN: &str = "<!-- bench_converge: begin -->";
const END: &str = "<!-- bench_converge: end -->";

fn prepared(name: &str) -> (Desired, UserData) {
    let text = format!(
        "name: {name}\nhetzner: {{backups: false}}\ntailscale: {{tailnet: tail1.ts.net, hostname: gw-{name}}}\n"
    );
    let stack =
        clawprov::stack::parse(text.as_bytes(), std::path::Path::new("bench.yaml")).expect("stack");
    let (private, _) = secrets::generate_ssh_key("bench").expect("key");
    let public = secrets::public_key_of(&private).expect("public");
    let auth = Secret::new("tskey-auth-bench");
    let ud = render::render(
        &Templates::Embedded,
        &RenderInputs {
            stack: &stack,
            operator_keys: std::slice::from_ref(&public),
            tailscale_auth_key: &auth,
        },
    )
    .expect("render");
    (Desired::new(&stack, &public, &ud.fingerprint()), ud)
}

async fn sim(rate: RateLimit, action: Duration) -> SimServer {
    let config = SimConfig {
        action_duration: action,
        rate_limit: rate,
        ..SimConfig::default()
    };
    clawprov::sim::serve(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("sim")
}

async fn up(h: &Hetzner, d: &Desired, ud: &UserData) -> Result<(), String> {
    let observed = observe(h, &d.stack).await.map_err(|e| e.to_string())?;
    let cost = h
        .monthly_cost(&d.server.server_type, &d.server.location, false, true)
        .await
        .map_err(|e| e.to_string())?;
    let plan = Plan::converge(d, &observed).with_cost(&cost);
    converge::apply(h, &plan, &observed, ud, &Ui::new(true, 0))
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

async fn destroy(h: &Hetzner, stack: &str) {
    let observed = observe(h, stack).await.expect("observe");
    let plan = Plan::teardown(stack, &observed);
    converge::teardown(h, &plan, &Ui::new(true, 0))
        .await
        .expect("teardown");
}

/// Seconds within [from, to] during which at least one action ran.
fn action_time(s: &SimServer, from: SystemTime, to: SystemTime) -> f64 {
    let mut spans: Vec<(SystemTime, SystemTime)> = s.sim.with(|w| {
        w.actions
            .values()
            .map(|a| (a.starts.max(from), a.ends.min(to)))
            .filter(|(a, b)| a < b)
            .collect()
    });
    spans.sort();
    let mut total = Duration::ZERO;
    let mut cur: Option<(SystemTime, SystemTime)> = None;
    for (a, b) in spans {
        cur = match cur {
            Some((ca, cb)) if a <= cb => Some((ca, cb.max(b))),
            Some((ca, cb)) => {
                total += cb.duration_since(ca).unwrap_or_default();
                Some((a, b))
            }
            None => Some((a, b)),
        };
    }
    if let Some((ca, cb)) = cur {
        total += cb.duration_since(ca).unwrap_or_default();
    }
    total.as_secs_f64()
}

fn sent(s: &SimServer) -> (usize, usize) {
    let log = s.request_log();
    let m = log.iter().filter(|r| r.method != "GET").count();
    (log.len(), m)
}

#[tokio::main]
async fn main() {
    let mut md = format!(
        "{BEGIN}\n\nMeasured by `scripts/bench.sh` (`examples/bench_converge.rs`) against the embedded simulator; requests are counted from the simulator's request log.\n\n"
    );
    let mark = |ok: bool| if ok { "met" } else { "MISSED" };

    // 1. One stack, each action duration.
    md.push_str(
        "## One stack, by simulated action duration\n\n\
         Targets: a fresh up in <= 15 requests and <= 1 s of wall time beyond the actions' own; \
         a no-op up in <= 4 requests, none mutating.\n\n\
         | action | fresh up: requests (mutating) | wall | with an action running | overhead | no-op up: requests (mutating) | destroy: requests (mutating) | |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    let mut chain_5s = 0.0;
    for action in DURATIONS {
        let s = sim(RateLimit::default(), action).await;
        let h = Hetzner::new(Some(s.endpoint()), Secret::new(DEFAULT_TOKEN)).expect("client");
        let (d, ud) = prepared("bench");
        let from = SystemTime::now();
        let t = Instant::now();
        up(&h, &d, &ud).await.expect("fresh up");
        let wall = t.elapsed().as_secs_f64();
        let busy = action_time(&s, from, SystemTime::now());
        if action == ACTION {
            chain_5s = busy;
        }
        let (fresh, fresh_m) = sent(&s);
        s.sim.clear_request_log();
        up(&h, &d, &ud).await.expect("no-op up");
        let (noop, noop_m) = sent(&s);
        s.sim.clear_request_log();
        destroy(&h, "bench").await;
        let (destroy_n, destroy_m) = sent(&s);
        let overhead = wall - busy;
        md.push_str(&format!(
            "| {:.1} s | {fresh} ({fresh_m}) | {wall:.2} s | {busy:.2} s | {overhead:.2} s | {noop} ({noop_m}) | {destroy_n} ({destroy_m}) | {} |\n",
            action.as_secs_f64(),
            mark(fresh <= 15 && overhead <= 1.0 && noop <= 4 && noop_m == 0),
        ));
        drop(s);
    }
    md.push('\n');

    // 2. Fifty stacks, small bucket.
    let rate = RateLimit {
        capacity: 100,
        refill_per_second: 5.0,
    };
    let s = sim(rate, ACTION).await;
    let h = Hetzner::new(Some(s.endpoint()), Secret::new(DEFAULT_TOKEN)).expect("client");
    let stacks: Vec<_> = (0..50).map(|i| prepared(&format!("b{i:02}"))).collect();
    let t = Instant::now();
    let mut tasks = Vec::new();
    for (d, ud) in stacks {
        let h = h.clone();
        tasks.push(tokio::spawn(async move { up(&h, &d, &ud).await }));
    }
    let mut failed = Vec::new();
    for t in tasks {
        if let Err(e) = t.await.expect("join") {
            failed.push(e);
        }
    }
    let wall = t.elapsed().as_secs_f64();
    let (total, _) = sent(&s);
    let limited = s.request_log().iter().filter(|r| r.status == 429).count();
    let c: RequestCounts = h.requests();
    // The bound: the requests this run needed, minus the bucket, at the
    // refill rate; or one stack's action chain, whichever is longer.
    let chain = chain_5s;
    let bucket = (total.saturating_sub(limited) as f64 - rate.capacity as f64).max(0.0)
        / rate.refill_per_second;
    let bound = chain.max(bucket);
    let within = wall <= bound * 1.15;
    md.push_str(&format!(
        "## 50 stacks in one run (bucket {} requests, refilling {}/s, actions of {} s)\n\n\
         | measure | value |\n|---|---|\n\
         | stacks failed | {} |\n\
         | requests sent (answered, not 429) | {} |\n\
         | 429 answers (absorbed by the shared limiter, never surfaced) | {limited} (client counted {}) |\n\
         | wall time | {wall:.1} s |\n\
         | bound: max(action chain {chain:.1} s, (requests - bucket) / refill {bucket:.1} s) | {bound:.1} s |\n\
         | wall / bound | {:.3} (target <= 1.15: {}) |\n\n",
        rate.capacity,
        rate.refill_per_second,
        ACTION.as_secs(),
        failed.len(),
        total - limited,
        c.rate_limited,
        wall / bound,
        mark(within && failed.is_empty()),
    ));
    if !failed.is_empty() {
        md.push_str(&format!("First failure: {}\n\n", failed[0]));
    }
    md.push_str("Notes: the stacks have backups off, so a fresh up is observe (3) + pricing (1) + three creates + action polls; the firewall's action runs while the server is created and is polled in the same batch. The 50-stack run shares one client, hence one rate limiter for the token, as `up -s ... --parallel 50` does. A debug build was used when the numbers above were recorded unless the script says otherwise; the work is network-bound.\n\n");
    md.push_str(END);
    // Keep what other parts of the project record in BENCHMARKS.md.
    let old = std::fs::read_to_string("BENCHMARKS.md").unwrap_or_default();
    let text = match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if b < e => format!("{}{md}{}", &old[..b], &old[e + END.len()..]),
        _ => {
            let rest = old
                .find("\n## CI cost")
                .map(|i| old[i..].to_string())
                .unwrap_or_default();
            format!("# Benchmarks\n\n{md}\n{rest}")
        }
    };
    std::fs::write("BENCHMARKS.md", &text).expect("write BENCHMARKS.md");
    print!("{md}");
}
