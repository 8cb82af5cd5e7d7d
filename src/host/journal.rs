//! The journalctl command lines for the gateway's logs (`clawprov logs`,
//! and the tail the host phase shows when the unit will not start).
//!
//! journalctl runs as root with explicit field matches. Two things rule out
//! the obvious spellings:
//! - `journalctl --user-unit=U` pairs the unit with the *caller's* uid
//!   (`add_matches_for_user_unit(j, unit, getuid())` in systemd), which
//!   under sudo is root's, and finds nothing of the service user's unit;
//! - `journalctl --user -u U` as the service user reads that user's own
//!   journal files, which journald only splits off on persistent storage
//!   (journald.conf `SplitMode=`: "only available for journals stored
//!   persistently"), and the service user is not in `systemd-journal`.
//!
//! So: the unit's own output (`_SYSTEMD_USER_UNIT=U _UID=N`) OR (`+`) what
//! the user manager said about it (`USER_UNIT=U _UID=N`, such as "bad unit
//! file setting" or "Started ..."), as root, who reads every journal file.

use super::account::Account;
use super::command::RemoteCommand;
use super::paths::GATEWAY_UNIT;
use crate::error::Error;

/// What part of the gateway's journal to show.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JournalQuery {
    /// The last N lines (journalctl `-n`).
    pub lines: Option<u32>,
    /// A journalctl time spec (`--since`), checked by [`TimeSpec::parse`].
    pub since: Option<TimeSpec>,
    /// Keep printing new lines until interrupted (`-f`). After Ctrl-C the
    /// remote journalctl, which has no terminal, ends at its next write
    /// into the closed channel (EPIPE), as with `ssh host journalctl -f`.
    pub follow: bool,
    /// One JSON object per line (`-o json`) instead of the message text.
    pub json: bool,
}

/// A `--since` value journalctl accepts: `YYYY-MM-DD [HH:MM[:SS]]`,
/// `HH:MM[:SS]`, `today`/`yesterday`/`now`, or a relative `-1h`/`5 min ago`.
/// Checked here so a typo is bad input (exit 2) and not a remote failure,
/// and so nothing but these characters reaches the remote command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeSpec(String);

/// A `--since` value that is none of the forms above.
#[derive(Debug, thiserror::Error)]
#[error(
    "--since {given:?}: not a journalctl time (use e.g. \"2026-12-01 10:00\", \"10:00\", \
     \"yesterday\", \"-1h\", \"30 min ago\")"
)]
pub struct BadTimeSpec {
    given: String,
}

impl From<BadTimeSpec> for Error {
    fn from(e: BadTimeSpec) -> Self {
        Error::bad_input(e)
    }
}

/// The units systemd's time span parser knows (`parse_time_span`).
const UNITS: &[&str] = &[
    "us", "usec", "ms", "msec", "s", "sec", "second", "seconds", "m", "min", "minute", "minutes",
    "h", "hr", "hour", "hours", "d", "day", "days", "w", "week", "weeks", "M", "month", "months",
    "y", "year", "years",
];

impl TimeSpec {
    pub fn parse(given: &str) -> Result<TimeSpec, BadTimeSpec> {
        let bad = || BadTimeSpec {
            given: given.to_string(),
        };
        let s = given;
        let ok =
            matches!(s, "now" | "today" | "yesterday" | "tomorrow") || absolute(s) || relative(s);
        if ok {
            Ok(TimeSpec(s.to_string()))
        } else {
            Err(bad())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS]`, or `HH:MM[:SS]`.
fn absolute(s: &str) -> bool {
    let date = |d: &str| {
        let p: Vec<&str> = d.split('-').collect();
        p.len() == 3
            && p[0].len() == 4
            && p[1].len() == 2
            && p[2].len() == 2
            && p.iter().all(|x| x.chars().all(|c| c.is_ascii_digit()))
    };
    let time = |t: &str| {
        let p: Vec<&str> = t.split(':').collect();
        (2..=3).contains(&p.len())
            && p.iter()
                .all(|x| x.len() == 2 && x.chars().all(|c| c.is_ascii_digit()))
    };
    match s.split_once(' ') {
        Some((d, t)) => date(d) && time(t),
        None => date(s) || time(s),
    }
}

/// `-1h`, `-2d 3h`, `5 min ago`, `+30s`.
fn relative(s: &str) -> bool {
    let (body, signed) = if let Some(rest) = s.strip_suffix(" ago") {
        (rest, true)
    } else if let Some(rest) = s.strip_prefix('-').or_else(|| s.strip_prefix('+')) {
        (rest, true)
    } else {
        (s, false)
    };
    if !signed || body.trim_matches(' ').is_empty() {
        return false;
    }
    // Number-unit pairs, with or without a space between them.
    let mut rest = body.trim_matches(' ');
    while !rest.is_empty() {
        let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return false;
        }
        rest = rest[digits..].trim_start_matches(' ');
        let unit_len = rest.chars().take_while(|c| c.is_ascii_alphabetic()).count();
        if !UNITS.contains(&&rest[..unit_len]) {
            return false;
        }
        rest = rest[unit_len..].trim_start_matches(' ');
    }
    true
}

/// The gateway unit's journal as `query` asks for it (root, explicit matches).
pub fn gateway(account: &Account, query: &JournalQuery) -> RemoteCommand {
    let unit = format!("_SYSTEMD_USER_UNIT={GATEWAY_UNIT}");
    let manager = format!("USER_UNIT={GATEWAY_UNIT}");
    let uid = format!("_UID={}", account.uid);
    // `short-iso`: the message with its time and source, for a person.
    let format = if query.json { "json" } else { "short-iso" };
    let mut cmd = RemoteCommand::root("journalctl")
        .args([&unit, &uid, "+", &manager, &uid])
        .args(["--no-pager", "-o", format]);
    if let Some(n) = query.lines {
        cmd = cmd.arg("-n").arg(n.to_string());
    }
    if let Some(since) = &query.since {
        cmd = cmd.arg(format!("--since={}", since.as_str()));
    }
    if query.follow {
        cmd = cmd.arg("--follow");
    }
    cmd
}

/// The unit's last `n` lines (for error messages). `-o short`, not `cat`:
/// journalctl then shows a message holding control characters as
/// `[N blob data]` rather than as it is (the service user writes these
/// messages); what is left is escaped again where it is printed.
pub fn tail(account: &Account, n: u32) -> RemoteCommand {
    let unit = format!("_SYSTEMD_USER_UNIT={GATEWAY_UNIT}");
    let manager = format!("USER_UNIT={GATEWAY_UNIT}");
    let uid = format!("_UID={}", account.uid);
    RemoteCommand::root("journalctl")
        .args([&unit, &uid, "+", &manager, &uid])
        .args(["-n", &n.to_string(), "--no-pager", "-o", "short"])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> Account {
        Account {
            name: "openclaw".into(),
            uid: 1001,
            gid: 1001,
            home: "/home/openclaw".into(),
        }
    }

    #[test]
    fn accepts_the_time_specs_journalctl_takes() {
        for ok in [
            "2026-12-01",
            "2026-12-01 10:00",
            "2026-12-01 10:00:30",
            "10:00",
            "yesterday",
            "today",
            "now",
            "-1h",
            "-2d 3h",
            "-90min",
            "5 min ago",
            "1h30m ago",
        ] {
            assert!(TimeSpec::parse(ok).is_ok(), "{ok} must be accepted");
        }
    }

    #[test]
    fn refuses_anything_else() {
        for bad in [
            "",
            "1h",
            "last tuesday",
            "2026-1-1",
            "10",
            "-1 fortnight",
            "-",
            "ago",
            "2026-12-01; id",
            "$(id)",
            "-1h\n",
        ] {
            let err = TimeSpec::parse(bad).err();
            assert!(err.is_some(), "{bad:?} must be refused");
        }
        let e: Error = TimeSpec::parse("soon").unwrap_err().into();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("--since \"soon\""), "{e}");
    }

    #[test]
    fn matches_the_service_users_unit_as_root() {
        let q = JournalQuery {
            lines: Some(50),
            since: Some(TimeSpec::parse("-1h").unwrap()),
            follow: true,
            json: true,
        };
        assert_eq!(
            gateway(&account(), &q).line().unwrap(),
            "'sudo' '-n' '--' 'journalctl' '_SYSTEMD_USER_UNIT=clawprov-gateway.service' \
             '_UID=1001' '+' 'USER_UNIT=clawprov-gateway.service' '_UID=1001' '--no-pager' \
             '-o' 'json' '-n' '50' '--since=-1h' '--follow'"
        );
        let plain = gateway(&account(), &JournalQuery::default());
        assert!(plain.line().unwrap().ends_with("'-o' 'short-iso'"));
    }
}
