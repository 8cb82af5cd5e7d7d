//! The human form of a plan: one line per step, then the cost.

use super::{Op, Plan, Purpose, TailnetOp};

/// `openclaw.version` -> `openclaw`.
fn short(field: &str) -> &str {
    field.split('.').next().unwrap_or(field)
}

pub(super) fn render(plan: &Plan) -> String {
    let mut out = format!(
        "stack {} ({}):\n",
        plan.stack,
        match plan.purpose {
            Purpose::Converge => "up",
            Purpose::Teardown => "destroy",
        }
    );
    if plan.steps.is_empty() {
        out.push_str("  nothing carries the stack's labels: nothing to do\n");
    }
    let name_w = plan.steps.iter().map(|s| s.name.len()).max().unwrap_or(0);
    for s in &plan.steps {
        let marker = match s.op {
            Op::NoOp => " ",
            Op::Create => "+",
            Op::Update => "~",
            Op::Replace => "!",
            Op::Delete => "-",
            Op::Wait => ".",
        };
        let id = s.id.map(|i| format!("#{i}")).unwrap_or_default();
        out.push_str(&format!(
            "  {marker} {:<7} {:<8} {:<name_w$} {:<8} {}\n",
            s.op.as_str(),
            s.resource.as_str(),
            s.name,
            id,
            s.reason
        ));
    }
    let id = plan
        .host
        .server
        .map(|i| format!("#{i}"))
        .unwrap_or_default();
    for c in &plan.host.changes {
        out.push_str(&format!(
            "  ~ {:<13} {:<16} {} {}\n",
            if c.field == "user-data" {
                "relabel"
            } else {
                "upgrade"
            },
            match &c.from {
                Some(from) => format!("{} {from} -> {}", short(c.field), c.to),
                None => format!("{} ? -> {}", short(c.field), c.to),
            },
            id,
            c.reason
        ));
    }
    if let Some(c) = &plan.host.config {
        out.push_str(&format!(
            "  ~ {:<13} {:<16} {} {}\n",
            "configure", "openclaw.json", id, c.reason
        ));
        for k in &c.keys {
            out.push_str(&format!("      {k}\n"));
        }
    }
    if let Some(e) = &plan.host.env {
        out.push_str(&format!(
            "  ~ {:<13} {:<16} {} {}\n",
            "redeliver", "gateway.env", id, e.reason
        ));
    }
    for w in &plan.host.warnings {
        out.push_str(&format!("  warning: {w}\n"));
    }
    let t = &plan.tailnet;
    let tw = t.steps.iter().map(|s| s.name.len()).max().unwrap_or(0);
    for s in &t.steps {
        let marker = match s.op {
            TailnetOp::DeleteDevice | TailnetOp::RevokeKey => "-",
            TailnetOp::MintKey => "+",
            TailnetOp::AwaitJoin => ".",
            TailnetOp::DisableKeyExpiry => "~",
        };
        let id = s.id.as_deref().map(|i| format!("#{i}")).unwrap_or_default();
        out.push_str(&format!(
            "  {marker} {:<13} {:<tw$} {} {}\n",
            s.op.as_str(),
            s.name,
            id,
            s.reason
        ));
    }
    for w in &t.warnings {
        out.push_str(&format!("  warning: {w}\n"));
    }
    if let Some(r) = &t.refusal {
        out.push_str(&format!("  refused: {r}\n"));
    }
    if let Some(c) = &plan.cost {
        let mut parts = vec![format!("server {}", c.server)];
        if let Some(b) = &c.backups {
            parts.push(format!("backups {b}"));
        }
        if let Some(ip) = &c.primary_ipv4 {
            parts.push(format!("IPv4 {ip}"));
        }
        out.push_str(&format!(
            "  monthly cost: {} ({})\n",
            c.total,
            parts.join(", ")
        ));
    }
    out
}
