//! `[console]`: the manager's tablet console (role `console`): where it listens, HTTPS,
//! sessions, limits, when the business day starts (a [`TimeOfDay`], parsed at load), and
//! the managers who may sign in — with the checks serde cannot express.

use super::load::{Checks, Problems};
use super::node::Role;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

/// Longest manager name, in characters (it is shown in the audit log and on the page).
pub const MAX_MANAGER_NAME: usize = 64;

/// One manager who may sign in to the console.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ManagerAccount {
    /// The name typed at sign-in and written to the audit log ("Dana").
    pub name: String,
    /// Argon2 hash of the manager's PIN; make one with `raincheck console hash-pin`.
    pub pin_hash: String,
}

/// Every problem with a list of managers (`[[console.managers]]`, `[[counter.managers]]`):
/// names present, short and unique, PIN hashes argon2.
pub(super) fn check_managers(key: &str, managers: &[ManagerAccount], problems: &mut Problems) {
    let mut names = std::collections::BTreeSet::new();
    for manager in managers {
        let name = manager.name.trim();
        if name.is_empty() || name.chars().count() > MAX_MANAGER_NAME {
            problems.push(
                key,
                format!("a manager's name must be 1 to {MAX_MANAGER_NAME} characters"),
            );
        } else if !names.insert(name.to_lowercase()) {
            problems.push(
                key,
                format!("{name:?} is listed twice; names must be unique (ignoring case)"),
            );
        }
        if argon2::PasswordHash::new(&manager.pin_hash).is_err() {
            problems.push(
                key,
                format!(
                    "the pin_hash of {name:?} is not an argon2 hash; make one with `raincheck console hash-pin`"
                ),
            );
        }
    }
}

/// The manager's console (role `console`): an HTTP(S) server for the tablet page.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleSection {
    /// Address and port the console listens on. Use the back-office LAN address, not
    /// 0.0.0.0, if the machine has a guest-facing network too.
    #[serde(default = "default_console_listen")]
    pub listen: SocketAddr,
    /// PEM certificate chain for HTTPS; with `tls_key_file`. Without both, plain HTTP
    /// (keep that to a closed back-office network).
    #[serde(default)]
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key for HTTPS (chmod 600).
    #[serde(default)]
    pub tls_key_file: Option<PathBuf>,
    /// Minutes a sign-in stays valid (5-1440).
    #[serde(default = "default_session_minutes")]
    pub session_minutes: u32,
    /// Largest request body accepted, in bytes (1024-1048576); larger gets 413.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// Local time ("05:00") at which a new business day starts, for "tonight" figures.
    #[serde(default = "default_business_day_starts")]
    pub business_day_starts: TimeOfDay,
    /// Managers who may sign in.
    #[serde(default)]
    pub managers: Vec<ManagerAccount>,
    /// Where incident events are POSTed (`[[console.webhooks]]`, docs/INTEGRATION.md).
    #[serde(default)]
    pub webhooks: Vec<super::webhooks::WebhookEndpoint>,
    /// Signs drawn by a browser (`[[console.web_screens]]`, docs/CONSOLE.md).
    #[serde(default)]
    pub web_screens: Vec<super::web_screens::WebScreenConfig>,
    /// Live streams of web screen pages one address may hold open (1 to
    /// `max_connections_per_address`: a page holds its stream and a connection to post on).
    #[serde(default = "default_web_streams_per_address")]
    pub web_streams_per_address: u32,
    /// Connections the console holds open at once (16-8192); more wait in the kernel's
    /// backlog. Each open tablet page and web screen holds one or two, and each needs a
    /// file descriptor (`LimitNOFILE`).
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    /// Connections one client address may hold open at once (4-4096), so one host cannot
    /// take every slot. Raise it only where many pages share one address (a NAT, a
    /// player running several browsers); it never exceeds `max_connections` in effect.
    #[serde(default = "default_max_connections_per_address")]
    pub max_connections_per_address: u32,
    /// Minutes after every payment source has recovered that a manager's cash-only
    /// incident still open is called stale on the Status tab (5-1440; default 30).
    #[serde(default = "default_stale_incident_minutes")]
    pub stale_incident_minutes: u32,
    /// The read-only feeds: CAP 1.2 and JSON status (`[console.feeds]`).
    #[serde(default)]
    pub feeds: super::feeds::FeedsSection,
}

fn default_console_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_web_streams_per_address() -> u32 {
    16
}
// The listener's own defaults (`web_server::ConnectionLimits`): a venue's tablets and a
// few dozen web screens, each on its own address.
fn default_max_connections() -> u32 {
    512
}
fn default_max_connections_per_address() -> u32 {
    32
}
fn default_stale_incident_minutes() -> u32 {
    30
}
fn default_session_minutes() -> u32 {
    720
}
fn default_max_body_bytes() -> usize {
    16 * 1024
}
fn default_business_day_starts() -> TimeOfDay {
    TimeOfDay(time::macros::time!(05:00))
}

impl Default for ConsoleSection {
    fn default() -> Self {
        Self {
            listen: default_console_listen(),
            tls_cert_file: None,
            tls_key_file: None,
            session_minutes: default_session_minutes(),
            max_body_bytes: default_max_body_bytes(),
            business_day_starts: default_business_day_starts(),
            managers: Vec::new(),
            webhooks: Vec::new(),
            web_screens: Vec::new(),
            web_streams_per_address: default_web_streams_per_address(),
            max_connections: default_max_connections(),
            max_connections_per_address: default_max_connections_per_address(),
            stale_incident_minutes: default_stale_incident_minutes(),
            feeds: Default::default(),
        }
    }
}

impl ConsoleSection {
    pub(super) fn check(&self, checks: &Checks, problems: &mut Problems) {
        super::webhooks::check_webhooks(&self.webhooks, checks, problems);
        self.feeds.check(problems);
        super::web_screens::check_web_screens(&self.web_screens, checks, problems);
        if !(16..=8192).contains(&self.max_connections) {
            problems.push(
                "console.max_connections",
                format!("{} is out of range; use 16 to 8192", self.max_connections),
            );
        }
        if !(4..=4096).contains(&self.max_connections_per_address) {
            problems.push(
                "console.max_connections_per_address",
                format!(
                    "{} is out of range; use 4 to 4096",
                    self.max_connections_per_address
                ),
            );
        }
        // A page's stream and its posts share the address's connections: more streams
        // than connections could never all be served.
        if !(1..=self.max_connections_per_address).contains(&self.web_streams_per_address) {
            problems.push(
                "console.web_streams_per_address",
                format!(
                    "{} is out of range; use 1 to max_connections_per_address ({})",
                    self.web_streams_per_address, self.max_connections_per_address
                ),
            );
        }
        if checks.has_role(Role::Console) && self.managers.is_empty() {
            problems.push(
                "console.managers",
                "no managers can sign in; add one with `raincheck console hash-pin --config FILE --name NAME`",
            );
        }
        check_managers("console.managers", &self.managers, problems);
        match (&self.tls_cert_file, &self.tls_key_file) {
            (Some(_), None) | (None, Some(_)) => problems.push(
                "console.tls_cert_file",
                "set both tls_cert_file and tls_key_file for HTTPS, or neither for HTTP",
            ),
            _ => {}
        }
        checks.file_exists(problems, "console.tls_cert_file", &self.tls_cert_file);
        checks.file_exists(problems, "console.tls_key_file", &self.tls_key_file);
        if !(5..=1440).contains(&self.stale_incident_minutes) {
            problems.push(
                "console.stale_incident_minutes",
                format!(
                    "{} is out of range; use 5 to 1440",
                    self.stale_incident_minutes
                ),
            );
        }
        if !(5..=1440).contains(&self.session_minutes) {
            problems.push(
                "console.session_minutes",
                format!("{} is out of range; use 5 to 1440", self.session_minutes),
            );
        }
        if !(1024..=1024 * 1024).contains(&self.max_body_bytes) {
            problems.push(
                "console.max_body_bytes",
                format!(
                    "{} is out of range; use 1024 to 1048576",
                    self.max_body_bytes
                ),
            );
        }
    }
}

/// A local time of day written "HH:MM" (24 h), such as when the business day starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeOfDay(pub time::Time);

impl FromStr for TimeOfDay {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let refusal =
            || format!("{text:?} is not a time of day; write it as \"HH:MM\", e.g. \"05:00\"");
        let (hour, minute) = text.split_once(':').ok_or_else(refusal)?;
        if hour.len() != 2 || minute.len() != 2 {
            return Err(refusal());
        }
        let hour: u8 = hour.parse().map_err(|_| refusal())?;
        let minute: u8 = minute.parse().map_err(|_| refusal())?;
        time::Time::from_hms(hour, minute, 0)
            .map(Self)
            .map_err(|_| refusal())
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0.hour(), self.0.minute())
    }
}

string_value!(TimeOfDay);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_of_day() {
        assert_eq!("05:00".parse::<TimeOfDay>().unwrap().to_string(), "05:00");
        assert_eq!("23:59".parse::<TimeOfDay>().unwrap().0.minute(), 59);
        for bad in ["5am", "5:00", "24:00", "05:60", "05:00:00", ""] {
            assert!(bad.parse::<TimeOfDay>().is_err(), "{bad}");
        }
    }

    fn console_problems(keys: &str) -> Vec<String> {
        let text =
            format!("[node]\nvenue = \"v\"\nid = \"c\"\nroles = [\"signage\"]\n[console]\n{keys}");
        match crate::config::load_str(&text, std::path::Path::new("test.toml")) {
            Ok(_) => Vec::new(),
            Err(report) => report.problems.into_iter().map(|p| p.key).collect(),
        }
    }

    #[test]
    fn connection_limits_are_bounded_and_streams_fit_in_them() {
        assert!(console_problems("").is_empty());
        let many = "max_connections = 4096\nmax_connections_per_address = 2048\nweb_streams_per_address = 1000\n";
        assert!(console_problems(many).is_empty(), "a bench host's limits");
        assert_eq!(
            console_problems("max_connections = 15\nmax_connections_per_address = 4097\n"),
            [
                "console.max_connections",
                "console.max_connections_per_address"
            ]
        );
        assert_eq!(
            console_problems("web_streams_per_address = 33\n"),
            ["console.web_streams_per_address"],
            "beyond the default 32 connections per address"
        );
        assert_eq!(
            console_problems("web_streams_per_address = 0\n"),
            ["console.web_streams_per_address"]
        );
    }
}
