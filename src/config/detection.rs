//! `[detection]`: automatic payment-failure detection (role `detector`): the POS
//! endpoint, the processor probes (each a [`ProbeTarget`], parsed at load), the debounce
//! thresholds and the policy — with the checks serde cannot express.

use super::load::{Checks, Problems};
use super::node::Role;
use crate::protocol::Identifier;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

/// How an automatic incident ends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResolvePolicy {
    /// The detector resolves its incident when payments recover.
    #[default]
    Automatic,
    /// The incident stays until a manager resolves it.
    Manager,
}

/// One check of the payment processor's endpoint.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ProbeConfig {
    /// Source id of this probe's health ("processor"); unique in the venue.
    pub id: Identifier,
    /// What to check: "tcp://host:port" (connects), "tls://host:port" (TLS handshake),
    /// "https://host[:port]/path" or "http://…" (a GET answered below 500).
    pub target: ProbeTarget,
    /// Seconds between checks (1-3600).
    #[serde(default = "default_probe_interval")]
    pub interval_secs: u32,
    /// A check that takes longer than this, in milliseconds, failed (100-60000).
    #[serde(default = "default_probe_timeout")]
    pub timeout_ms: u32,
    /// PEM CA for tls:// and https:// targets; the system's roots when unset.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

fn default_probe_interval() -> u32 {
    5
}
fn default_probe_timeout() -> u32 {
    3000
}

/// Automatic detection (role `detector`): sources, their debounce, and the policy.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DetectionSection {
    /// Loopback address where POS software reports each card authorisation
    /// (POST /v1/authorisations); unset means no POS endpoint.
    #[serde(default)]
    pub pos_listen: Option<SocketAddr>,
    /// Source id of the POS reports; "pos-<node id>" when unset.
    #[serde(default)]
    pub pos_source: Option<Identifier>,
    /// Checks of the payment processor.
    #[serde(default)]
    pub probes: Vec<ProbeConfig>,
    /// A source goes down after this many failures (1-100)…
    #[serde(default = "default_enter_failures")]
    pub enter_failures: u32,
    /// …within this many seconds (1-3600).
    #[serde(default = "default_enter_window")]
    pub enter_window_secs: u32,
    /// A down source comes back after this many healthy checks in a row (1-100)…
    #[serde(default = "default_leave_successes")]
    pub leave_successes: u32,
    /// …spanning at least this many seconds (0-3600).
    #[serde(default = "default_leave_window")]
    pub leave_window_secs: u32,
    /// An automatic incident starts when at least this many sources are down.
    #[serde(default = "default_quorum")]
    pub quorum: u32,
    /// "automatic" (default): the detector resolves its incident when payments recover;
    /// "manager": the incident waits for a manager's resolve.
    #[serde(default)]
    pub resolve: ResolvePolicy,
    /// Source id of this detector's declarations; "auto-<node id>" when unset.
    #[serde(default)]
    pub incident_source: Option<Identifier>,
}

fn default_enter_failures() -> u32 {
    3
}
fn default_enter_window() -> u32 {
    30
}
fn default_leave_successes() -> u32 {
    3
}
fn default_leave_window() -> u32 {
    20
}
fn default_quorum() -> u32 {
    1
}

impl Default for DetectionSection {
    fn default() -> Self {
        Self {
            pos_listen: None,
            pos_source: None,
            probes: Vec::new(),
            enter_failures: default_enter_failures(),
            enter_window_secs: default_enter_window(),
            leave_successes: default_leave_successes(),
            leave_window_secs: default_leave_window(),
            quorum: default_quorum(),
            resolve: ResolvePolicy::default(),
            incident_source: None,
        }
    }
}

impl DetectionSection {
    /// `lan_reports`: a `[[lan.clients]]` may report payments, which is a source too.
    pub(super) fn check(&self, checks: &Checks, lan_reports: bool, problems: &mut Problems) {
        if checks.has_role(Role::Detector)
            && self.probes.is_empty()
            && self.pos_listen.is_none()
            && !lan_reports
        {
            problems.push(
                "detection",
                "the detector role needs a source: set detection.pos_listen, add a [[detection.probes]], or let a [[lan.clients]] report payments",
            );
        }
        if let Some(address) = self.pos_listen.filter(|a| !a.ip().is_loopback()) {
            problems.push(
                "detection.pos_listen",
                format!("{address} is not a loopback address; POS software reports on this machine only (127.0.0.1)"),
            );
        }
        for (key, value, range) in [
            ("detection.enter_failures", self.enter_failures, 1..=100),
            (
                "detection.enter_window_secs",
                self.enter_window_secs,
                1..=3600,
            ),
            ("detection.leave_successes", self.leave_successes, 1..=100),
            (
                "detection.leave_window_secs",
                self.leave_window_secs,
                0..=3600,
            ),
            ("detection.quorum", self.quorum, 1..=100),
        ] {
            if !range.contains(&value) {
                problems.push(
                    key,
                    format!(
                        "{value} is out of range; use {} to {}",
                        range.start(),
                        range.end()
                    ),
                );
            }
        }
        let mut ids = std::collections::BTreeSet::new();
        for probe in &self.probes {
            if !ids.insert(probe.id.clone()) {
                problems.push(
                    "detection.probes",
                    format!("probe id {} is used twice", probe.id),
                );
            }
            if !(1..=3600).contains(&probe.interval_secs) {
                problems.push(
                    "detection.probes",
                    format!("probe {}: interval_secs must be 1 to 3600", probe.id),
                );
            }
            if !(100..=60_000).contains(&probe.timeout_ms) {
                problems.push(
                    "detection.probes",
                    format!("probe {}: timeout_ms must be 100 to 60000", probe.id),
                );
            }
        }
    }
}

/// Where a probe points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeTarget {
    Tcp {
        host: String,
        port: u16,
    },
    Tls {
        host: String,
        port: u16,
    },
    Http {
        tls: bool,
        host: String,
        port: u16,
        /// The path and query to GET.
        path: String,
    },
}

impl ProbeTarget {
    /// The host and port to connect to.
    pub fn address(&self) -> (&str, u16) {
        match self {
            ProbeTarget::Tcp { host, port }
            | ProbeTarget::Tls { host, port }
            | ProbeTarget::Http { host, port, .. } => (host, *port),
        }
    }
}

impl FromStr for ProbeTarget {
    type Err = String;

    /// "tcp://host:port", "tls://host[:port]", "https://host[:port]/path", "http://…".
    fn from_str(text: &str) -> Result<Self, String> {
        if !text.contains("://") {
            return Err(format!(
                "{text:?} has no scheme; write tcp://, tls://, https:// or http://"
            ));
        }
        let url = url::Url::parse(text).map_err(|error| format!("{text:?}: {error}"))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err("credentials do not belong in a probe target".into());
        }
        let default_port = match url.scheme() {
            "https" | "tls" => Some(443),
            "http" => Some(80),
            "tcp" => None,
            other => {
                return Err(format!(
                    "scheme {other:?} is not supported; use tcp, tls, https or http"
                ))
            }
        };
        let host = match url.host() {
            Some(url::Host::Ipv6(address)) => address.to_string(),
            Some(url::Host::Ipv4(address)) => address.to_string(),
            Some(url::Host::Domain(name)) if !name.is_empty() => name.to_owned(),
            _ => return Err(format!("{text:?} needs a host and a port")),
        };
        let Some(port) = url.port().or(default_port).filter(|port| *port != 0) else {
            return Err(format!("{text:?} needs a host and a port"));
        };
        Ok(match url.scheme() {
            "tcp" => ProbeTarget::Tcp { host, port },
            "tls" => ProbeTarget::Tls { host, port },
            scheme => {
                let mut path = match url.path() {
                    "" => "/".to_owned(),
                    path => path.to_owned(),
                };
                if let Some(query) = url.query() {
                    path.push('?');
                    path.push_str(query);
                }
                ProbeTarget::Http {
                    tls: scheme == "https",
                    host,
                    port,
                    path,
                }
            }
        })
    }
}

impl fmt::Display for ProbeTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bracketed = |host: &str| {
            if host.contains(':') {
                format!("[{host}]")
            } else {
                host.to_owned()
            }
        };
        match self {
            ProbeTarget::Tcp { host, port } => write!(f, "tcp://{}:{port}", bracketed(host)),
            ProbeTarget::Tls { host, port } => write!(f, "tls://{}:{port}", bracketed(host)),
            ProbeTarget::Http {
                tls,
                host,
                port,
                path,
            } => {
                let scheme = if *tls { "https" } else { "http" };
                write!(f, "{scheme}://{}:{port}{path}", bracketed(host))
            }
        }
    }
}

string_value!(ProbeTarget);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_with_default_ports_and_refuse_nonsense() {
        let parse = |text: &str| text.parse::<ProbeTarget>();
        assert_eq!(
            parse("tcp://10.0.0.1:443").unwrap(),
            ProbeTarget::Tcp {
                host: "10.0.0.1".into(),
                port: 443
            }
        );
        assert_eq!(
            parse("https://api.example.com/health").unwrap(),
            ProbeTarget::Http {
                tls: true,
                host: "api.example.com".into(),
                port: 443,
                path: "/health".into()
            }
        );
        assert_eq!(
            parse("tls://[::1]").unwrap(),
            ProbeTarget::Tls {
                host: "::1".into(),
                port: 443
            }
        );
        for bad in [
            "api.example.com",
            "ftp://x:1",
            "tcp://host",
            "https://user:pw@x/",
            "http://:80/",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
