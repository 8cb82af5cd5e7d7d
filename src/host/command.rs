//! The one builder for remote commands.
//!
//! SSH hands the remote side a single string that the login shell parses,
//! so every command clawprov runs on the server is built here from typed
//! parts and every word is quoted by [`crate::render::quote::sh_quote`]
//! (the crate's one shell-quoting function). No other code in the host
//! layer assembles a command line.
//!
//! Secrets never enter a [`RemoteCommand`]: they travel on the channel's
//! stdin (see `deliver`). Arguments are validated before quoting so that a
//! value which slipped past the stack's validation still cannot smuggle a
//! line break into the server's logs or a NUL into argv.

use std::fmt;

use super::HostError;
use crate::render::quote::sh_quote;

/// Longest argument accepted: paths and flags, never file contents.
const MAX_ARG: usize = 4096;

/// The script [`RemoteCommand::with_env_file`] runs: export every
/// assignment in the file named by `$0`, then exec the remaining words.
const SOURCE_ENV_FILE: &str = r#"set -a && . "$0" && set +a && exec "$@""#;

/// Who runs the program on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Privilege {
    /// The admin user, as logged in.
    Admin,
    /// root, through `sudo -n` (never prompts: a password prompt would hang).
    Root,
    /// Another user through `sudo -n -u USER`, with an explicit environment.
    User(String),
}

/// A program and its arguments, to run over SSH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteCommand {
    privilege: Privilege,
    env: Vec<(&'static str, String)>,
    program: &'static str,
    args: Vec<String>,
}

impl RemoteCommand {
    /// `program` as the admin user.
    pub fn new(program: &'static str) -> Self {
        RemoteCommand {
            privilege: Privilege::Admin,
            env: vec![],
            program,
            args: vec![],
        }
    }

    /// `program` as root (`sudo -n --`).
    pub fn root(program: &'static str) -> Self {
        RemoteCommand {
            privilege: Privilege::Root,
            ..RemoteCommand::new(program)
        }
    }

    /// `program` as `user` (`sudo -n -u USER -- env K=V... program`).
    pub fn as_user(user: &str, program: &'static str) -> Self {
        RemoteCommand {
            privilege: Privilege::User(user.to_string()),
            ..RemoteCommand::new(program)
        }
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// An environment variable for the program (only with [`as_user`](Self::as_user):
    /// sudo resets the environment, so it is passed through `env`).
    pub fn env(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.env.push((name, value.into()));
        self
    }

    /// The same command with the variables of `env_file` (a `KEY='value'`
    /// file on the server, such as the gateway's env file) exported into
    /// its environment first. The file is read by a fixed `sh -c` script
    /// on the server, so its values (the gateway token) never appear in any
    /// argv: `sh -c SCRIPT ENV_FILE PROGRAM ARGS...` (`$0` is the file, the
    /// rest is exec'd). The env file's values are single-quoted without a
    /// `'` inside (`deliver::env_value`), so `.` reads them exactly as
    /// systemd's `EnvironmentFile=` does.
    pub fn with_env_file(mut self, env_file: impl Into<String>) -> Self {
        let mut args = vec![
            "-c".to_string(),
            SOURCE_ENV_FILE.to_string(),
            env_file.into(),
            self.program.to_string(),
        ];
        args.append(&mut self.args);
        self.program = "sh";
        self.args = args;
        self
    }

    /// What runs once sudo has switched users: `env K=V... program args`
    /// (or `program args`). For running the exact command elsewhere, e.g.
    /// the OpenClaw contract test against the real package.
    pub fn argv(&self) -> Vec<String> {
        let mut words = Vec::new();
        if !self.env.is_empty() {
            words.push("env".to_string());
            words.extend(self.env.iter().map(|(k, v)| format!("{k}={v}")));
        }
        words.push(self.program.to_string());
        words.extend(self.args.iter().cloned());
        words
    }

    /// The command line for the remote shell: every word quoted.
    pub fn line(&self) -> Result<String, HostError> {
        self.validate()?;
        let mut words: Vec<String> = Vec::new();
        match &self.privilege {
            Privilege::Admin => {}
            Privilege::Root => words.extend(["sudo", "-n", "--"].map(String::from)),
            Privilege::User(user) => {
                words.extend(["sudo", "-n", "-u", user, "--", "env"].map(String::from));
                words.extend(self.env.iter().map(|(k, v)| format!("{k}={v}")));
            }
        }
        words.push(self.program.to_string());
        words.extend(self.args.iter().cloned());
        Ok(words
            .iter()
            .map(|w| sh_quote(w))
            .collect::<Vec<_>>()
            .join(" "))
    }

    fn validate(&self) -> Result<(), HostError> {
        let bad = |reason: String| HostError::BadCommand {
            program: self.program.to_string(),
            reason,
        };
        if self.program.is_empty()
            || !self
                .program
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(bad("the program must be a bare name found on PATH".into()));
        }
        if let Privilege::User(user) = &self.privilege {
            let ok = !user.is_empty()
                && user.len() <= 32
                && user.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                && user.chars().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-')
                });
            if !ok {
                return Err(bad(format!("{user:?} is not a valid user name")));
            }
        } else if !self.env.is_empty() {
            return Err(bad(
                "environment variables are only passed with as_user".into()
            ));
        }
        for (name, _) in &self.env {
            let ok = name.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
                && name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if !ok {
                return Err(bad(format!("{name:?} is not a valid variable name")));
            }
        }
        let values = self.args.iter().chain(self.env.iter().map(|(_, v)| v));
        for (i, value) in values.enumerate() {
            if value.len() > MAX_ARG {
                return Err(bad(format!("argument {i} is longer than {MAX_ARG} bytes")));
            }
            if value.chars().any(|c| c == '\0' || c == '\n' || c == '\r') {
                return Err(bad(format!("argument {i} contains a NUL or a line break")));
            }
        }
        Ok(())
    }
}

/// How a command is named in progress and errors: program and arguments,
/// unquoted (none of them is secret).
impl fmt::Display for RemoteCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.privilege {
            Privilege::Admin => {}
            Privilege::Root => f.write_str("sudo ")?,
            Privilege::User(u) => write!(f, "(as {u}) ")?,
        }
        f.write_str(self.program)?;
        for a in &self.args {
            write!(f, " {a}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_is_quoted() {
        let line = RemoteCommand::root("shred")
            .arg("-u")
            .arg("--")
            .arg("/tmp/a b/$(id)'x")
            .line()
            .unwrap();
        assert_eq!(
            line,
            r#"'sudo' '-n' '--' 'shred' '-u' '--' '/tmp/a b/$(id)'\''x'"#
        );
    }

    #[test]
    fn as_user_passes_the_environment_through_env() {
        let line = RemoteCommand::as_user("openclaw", "systemctl")
            .env("XDG_RUNTIME_DIR", "/run/user/1001")
            .args(["--user", "start", "clawprov-gateway.service"])
            .line()
            .unwrap();
        assert_eq!(
            line,
            "'sudo' '-n' '-u' 'openclaw' '--' 'env' 'XDG_RUNTIME_DIR=/run/user/1001' \
             'systemctl' '--user' 'start' 'clawprov-gateway.service'"
        );
    }

    #[test]
    fn the_quoted_line_survives_a_real_shell() {
        let hostile = "a'b\"c $HOME `id` ; | & * ~ \\ \t end";
        let line = RemoteCommand::new("printf")
            .arg("%s")
            .arg(hostile)
            .line()
            .unwrap();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&line)
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), hostile);
    }

    #[test]
    fn refuses_what_cannot_be_one_safe_word() {
        for bad in [
            RemoteCommand::new("rm -rf").arg("x"),
            RemoteCommand::new("").arg("x"),
            RemoteCommand::new("/bin/sh"),
            RemoteCommand::new("echo").arg("a\nb"),
            RemoteCommand::new("echo").arg("a\0b"),
            RemoteCommand::new("echo").arg("x".repeat(MAX_ARG + 1)),
            RemoteCommand::as_user("root; id", "id"),
            RemoteCommand::as_user("Bad", "id"),
            RemoteCommand::as_user("ok", "id").env("not-a-name", "v"),
            RemoteCommand::root("id").env("HOME", "/"),
        ] {
            assert!(bad.line().is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn an_env_file_is_read_by_the_shell_not_passed_in_argv() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("gateway.env");
        std::fs::write(&file, "# comment\nSECRET='s3cr3t value $HOME'\n").unwrap();
        let cmd = RemoteCommand::new("printenv")
            .arg("SECRET")
            .with_env_file(file.display().to_string());
        let line = cmd.line().unwrap();
        assert!(!line.contains("s3cr3t"), "{line}");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&line)
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "s3cr3t value $HOME\n");
        // A missing file stops the command instead of running it bare.
        let missing = RemoteCommand::new("true").with_env_file("/nonexistent/gateway.env");
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(missing.line().unwrap())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(!status.success());
    }

    #[test]
    fn display_names_the_command_without_quotes() {
        let c = RemoteCommand::root("sha256sum").arg("--").arg("/x");
        assert_eq!(c.to_string(), "sudo sha256sum -- /x");
    }
}
