//! The service user on the server: its uid, gid and home, as the server
//! knows them (not guessed from the name).

use std::time::Duration;

use super::command::RemoteCommand;
use super::session::Session;
use super::HostError;

/// A user account on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
}

/// `stat -c %a` of the service user's home as the design needs it.
const HOME_MODE: &str = "750";

impl Account {
    /// The account cloud-init creates for `name` (home `/home/NAME`, as the
    /// rendered bootstrap assumes), before any server exists: its ids are
    /// not known yet and read 0. For showing what will be written.
    pub fn expected(name: &str) -> Account {
        Account {
            name: name.to_string(),
            uid: 0,
            gid: 0,
            home: format!("/home/{name}"),
        }
    }

    /// `/run/user/<uid>`: what `systemctl --user` needs as XDG_RUNTIME_DIR.
    pub fn runtime_dir(&self) -> String {
        format!("/run/user/{}", self.uid)
    }

    /// Make the home directory 0750, the mode the design relies on (the
    /// unit's hardening assumes other users cannot list it; Debian's
    /// useradd makes it 0755). Returns true when it had to change it. A
    /// home that is not a real directory owned by the user is refused.
    pub async fn ensure_home_mode(&self, session: &Session) -> Result<bool, HostError> {
        let stat = RemoteCommand::root("stat").args(["-c", "%F %u %a", "--", self.home.as_str()]);
        let out = session.check(&stat, None, Duration::from_secs(30)).await?;
        let seen = out.stdout.trim().to_string();
        let Some(mode) = seen.strip_prefix(&format!("directory {} ", self.uid)) else {
            return Err(HostError::Unexpected {
                command: stat.to_string(),
                detail: format!(
                    "the service user's home {} is not a directory owned by uid {} ({seen})",
                    self.home, self.uid
                ),
            });
        };
        if mode == HOME_MODE {
            return Ok(false);
        }
        let chmod = RemoteCommand::root("chmod").args(["0750", "--", self.home.as_str()]);
        session.check(&chmod, None, Duration::from_secs(30)).await?;
        Ok(true)
    }

    /// Look `name` up with `getent passwd`.
    pub async fn lookup(session: &Session, name: &str) -> Result<Account, HostError> {
        let cmd = RemoteCommand::new("getent").arg("passwd").arg(name);
        let out = session.run(&cmd, None, Duration::from_secs(30)).await?;
        if out.status == 2 {
            return Err(HostError::Unexpected {
                command: cmd.to_string(),
                detail: format!(
                    "the service user {name} does not exist on the server (did the bootstrap run?)"
                ),
            });
        }
        if !out.success() {
            return Err(HostError::Remote {
                command: cmd.to_string(),
                status: format!("exit {}", out.status),
                stderr: out.stderr,
            });
        }
        parse_passwd(name, &out.stdout).ok_or_else(|| HostError::Unexpected {
            command: cmd.to_string(),
            detail: "not a passwd line".into(),
        })
    }
}

fn parse_passwd(name: &str, line: &str) -> Option<Account> {
    let f: Vec<&str> = line.lines().next()?.split(':').collect();
    if f.len() != 7 || f[0] != name || !f[5].starts_with('/') {
        return None;
    }
    Some(Account {
        name: name.to_string(),
        uid: f[2].parse().ok()?,
        gid: f[3].parse().ok()?,
        home: f[5].trim_end_matches('/').to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_getent_output() {
        let a = parse_passwd(
            "openclaw",
            "openclaw:x:1001:1002::/home/openclaw:/bin/bash\n",
        )
        .unwrap();
        assert_eq!(
            (a.uid, a.gid, a.home.as_str()),
            (1001, 1002, "/home/openclaw")
        );
        assert_eq!(a.runtime_dir(), "/run/user/1001");
        assert!(parse_passwd("openclaw", "other:x:1:1::/h:/bin/sh").is_none());
        assert!(parse_passwd("openclaw", "openclaw:x:1001").is_none());
        assert!(parse_passwd("openclaw", "openclaw:x:a:1::/h:/bin/sh").is_none());
    }
}
