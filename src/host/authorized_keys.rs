//! The admin's `~/.ssh/authorized_keys`: cloud-init writes it at first
//! boot from the user-data, and from then on it is the host phase's (the
//! operator keys are not part of the user-data fingerprint, so a new key
//! is not a new server): exactly the vault's key, an interrupted key
//! rotation's pending key, and the stack's `host.authorized_keys`.
//!
//! Written as the admin (it is the admin's file, in the admin's home; the
//! service user cannot enter it), atomically: a new file beside it, then
//! a rename, so sshd never reads half a file and a kill leaves the old one.

use std::time::Duration;

use zeroize::Zeroizing;

use super::command::RemoteCommand;
use super::session::Session;
use super::HostError;

const TIMEOUT: Duration = Duration::from_secs(30);

const READ: &str = r#"f="$HOME/.ssh/authorized_keys"; if [ -e "$f" ]; then cat -- "$f"; fi"#;
const WRITE: &str = r#"umask 077 && mkdir -p -- "$HOME/.ssh" && cat > "$HOME/.ssh/.authorized_keys.clawprov" && mv -f -- "$HOME/.ssh/.authorized_keys.clawprov" "$HOME/.ssh/authorized_keys""#;

/// `ssh-ed25519 AAAA... comment` -> `ssh-ed25519 AAAA...`: what identifies
/// a key (the comment does not).
pub fn key_material(line: &str) -> Option<String> {
    let mut w = line.split_whitespace();
    Some(format!("{} {}", w.next()?, w.next()?))
}

/// The keys a file's text holds (comments and blank lines skipped).
pub fn keys_in(text: &str) -> Vec<String> {
    let mut keys: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(key_material)
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// The admin's keys on the node, as key material.
pub async fn read(session: &Session) -> Result<Vec<String>, HostError> {
    let out = session
        .check(&RemoteCommand::new("sh").args(["-c", READ]), None, TIMEOUT)
        .await?;
    Ok(keys_in(&out.stdout))
}

/// Make the admin's authorized_keys exactly `keys` (full lines, comments
/// kept); whether it had to be written.
pub async fn ensure(session: &Session, keys: &[String]) -> Result<bool, HostError> {
    let mut want: Vec<String> = keys.iter().filter_map(|k| key_material(k)).collect();
    want.sort();
    want.dedup();
    if read(session).await? == want {
        return Ok(false);
    }
    let mut text = String::new();
    for k in keys {
        text.push_str(k.trim());
        text.push('\n');
    }
    session
        .check(
            &RemoteCommand::new("sh").args(["-c", WRITE]),
            Some(Zeroizing::new(text.into_bytes())),
            TIMEOUT,
        )
        .await?;
    let now = read(session).await?;
    if now != want {
        return Err(HostError::Unexpected {
            command: "write ~/.ssh/authorized_keys".into(),
            detail: format!(
                "the file holds {} keys after the write, not the {} written",
                now.len(),
                want.len()
            ),
        });
    }
    Ok(true)
}

/// The keys the admin's file must hold for `stack` and `vault`: the
/// vault's key, a pending one of an interrupted `rotate ssh-key` (so a
/// host phase in between does not take away the key the rotation is
/// about to make current), and the stack's own.
pub fn declared(
    stack: &crate::stack::Stack,
    vault: &crate::secrets::Vault,
) -> Result<Vec<String>, HostError> {
    let public = |key: &str| -> Result<Option<String>, HostError> {
        vault
            .get(key)
            .map(|k| {
                crate::secrets::public_key_of(k).map_err(|e| HostError::BadKey {
                    reason: format!("{key}: {e}"),
                })
            })
            .transpose()
    };
    let mut keys: Vec<String> = public("ssh_private_key")?.into_iter().collect();
    keys.extend(public(crate::secrets::PENDING_SSH_PRIVATE_KEY)?);
    keys.extend(stack.host.authorized_keys.iter().cloned());
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_compared_without_comments_blank_lines_or_order() {
        let text = "# managed\nssh-ed25519 BBB two\n\nssh-ed25519 AAA one\nssh-ed25519 AAA again\n";
        assert_eq!(keys_in(text), ["ssh-ed25519 AAA", "ssh-ed25519 BBB"]);
        assert_eq!(key_material("ssh-ed25519"), None);
    }
}
