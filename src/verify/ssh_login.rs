//! The SSH server as a client sees it, over the route the host phase uses
//! (the node's MagicDNS name, or `--ssh-host`): root is refused even with
//! the admin's own key, and neither password nor keyboard-interactive
//! authentication is offered. `host.sshd` reads the configuration; this
//! check shows what the running daemon actually does.

use std::time::Duration;

use super::check::CheckResult;
use crate::host::{route, target, HostInputs, Silent};
use crate::secrets::Secret;

const ID: &str = "host.ssh_login";

pub async fn check(inputs: &HostInputs<'_>, key: &Secret) -> CheckResult {
    let (target, policy) = route(inputs);
    let stream = match target::reach(&target, policy, inputs.reach_deadline, &Silent).await {
        Ok((_, stream)) => stream,
        Err(e) => return CheckResult::error(ID, format!("{target} did not answer: {e}")),
    };
    let admin = inputs.stack.host.admin_user.clone();
    let key = key.clone();
    let shown = target.to_string();
    let seen = tokio::task::spawn_blocking(move || {
        let mut ssh = ssh2::Session::new().map_err(|e| e.to_string())?;
        ssh.set_timeout(Duration::from_secs(30).as_millis() as u32);
        ssh.set_tcp_stream(stream);
        ssh.handshake()
            .map_err(|e| format!("handshake: {}", e.message()))?;
        let methods = ssh
            .auth_methods(&admin)
            .map(str::to_string)
            .unwrap_or_default();
        let root = ssh
            .userauth_pubkey_memory("root", None, key.expose(), None)
            .is_ok();
        Ok::<_, String>((methods, root))
    })
    .await;
    let (methods, root) = match seen {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => return CheckResult::error(ID, format!("{shown}: {e}")),
        Err(e) => return CheckResult::error(ID, format!("{shown}: {e}")),
    };
    let offered: Vec<&str> = methods.split(',').filter(|m| !m.is_empty()).collect();
    let mut bad = vec![];
    for m in ["password", "keyboard-interactive"] {
        if offered.contains(&m) {
            bad.push(format!("{m} authentication is offered"));
        }
    }
    if root {
        bad.push("root logged in with the admin's key".into());
    }
    if bad.is_empty() {
        CheckResult::pass(
            ID,
            format!(
                "{shown} offers {} only; root refused",
                if offered.is_empty() {
                    "nothing".to_string()
                } else {
                    offered.join(",")
                }
            ),
        )
    } else {
        CheckResult::fail(ID, format!("{shown}: {}", bad.join("; ")))
    }
}
