//! `[broker]`: how a node reaches the venue's MQTT broker, or runs one in-process. The
//! broker address is a [`BrokerUrl`], parsed (with the `url` crate) when the file is
//! loaded, so a bad address is refused with its line before anything connects.

use super::load::{Checks, Problems};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

/// Whether this node uses the venue's broker or runs one in-process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BrokerMode {
    /// Connect to the broker at `url` (a venue Mosquitto).
    #[default]
    External,
    /// Run an MQTT broker inside this process on `listen` (single-box venues) and
    /// connect to it.
    Embedded,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerSection {
    /// "external" (default) or "embedded".
    #[serde(default)]
    pub mode: BrokerMode,
    /// Broker address: mqtt://host:port, or mqtts://host:port for TLS.
    #[serde(default = "default_url")]
    pub url: BrokerUrl,
    /// Where the embedded broker listens (mode = "embedded" only). Keep it on loopback
    /// unless other machines must connect.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// MQTT username, if the broker requires one.
    #[serde(default)]
    pub username: Option<String>,
    /// File holding the MQTT password (first line). Kept out of this file so configs can
    /// be shared and logged; it must not be readable by other users.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// PEM file of the CA that signed the broker's certificate (mqtts:// only). Without
    /// it the system's roots are used.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// MQTT keep-alive interval in seconds (1–3600).
    #[serde(default = "default_keep_alive")]
    pub keep_alive_secs: u16,
    /// Seconds without any packet from the broker after which the link is declared lost
    /// and re-established; must exceed keep_alive_secs (pings arrive every interval).
    #[serde(default = "default_watchdog")]
    pub watchdog_secs: u16,
    /// First reconnect delay in milliseconds; doubles per failure up to the maximum.
    #[serde(default = "default_reconnect_min")]
    pub reconnect_min_ms: u32,
    /// Cap of the reconnect delay in milliseconds (jitter is added on top, up to 50 %).
    #[serde(default = "default_reconnect_max")]
    pub reconnect_max_ms: u32,
}

fn default_url() -> BrokerUrl {
    BrokerUrl::for_listener(default_listen())
}
fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 1883))
}
fn default_keep_alive() -> u16 {
    5
}
fn default_watchdog() -> u16 {
    15
}
fn default_reconnect_min() -> u32 {
    200
}
fn default_reconnect_max() -> u32 {
    10_000
}

impl Default for BrokerSection {
    fn default() -> Self {
        Self {
            mode: BrokerMode::default(),
            url: default_url(),
            listen: default_listen(),
            username: None,
            password_file: None,
            ca_file: None,
            keep_alive_secs: default_keep_alive(),
            watchdog_secs: default_watchdog(),
            reconnect_min_ms: default_reconnect_min(),
            reconnect_max_ms: default_reconnect_max(),
        }
    }
}

impl BrokerSection {
    /// Where clients connect: the url, or the embedded broker's listener.
    pub fn connect_url(&self) -> BrokerUrl {
        match self.mode {
            BrokerMode::External => self.url.clone(),
            BrokerMode::Embedded => BrokerUrl::for_listener(self.listen),
        }
    }

    pub(super) fn check(&self, checks: &Checks, problems: &mut Problems) {
        if !(1..=3600).contains(&self.keep_alive_secs) {
            problems.push(
                "broker.keep_alive_secs",
                format!("{} is out of range; use 1 to 3600", self.keep_alive_secs),
            );
        }
        if self.watchdog_secs <= self.keep_alive_secs {
            problems.push(
                "broker.watchdog_secs",
                format!(
                    "{} must exceed keep_alive_secs ({}), or a healthy link would be cut between pings",
                    self.watchdog_secs, self.keep_alive_secs
                ),
            );
        }
        if self.reconnect_min_ms == 0 || self.reconnect_min_ms > self.reconnect_max_ms {
            problems.push(
                "broker.reconnect_min_ms",
                "must be at least 1 and at most reconnect_max_ms",
            );
        }
        checks.file_exists(problems, "broker.password_file", &self.password_file);
        checks.file_exists(problems, "broker.ca_file", &self.ca_file);
        if self.password_file.is_some() && self.username.is_none() {
            problems.push(
                "broker.username",
                "password_file is set but username is not",
            );
        }
    }
}

/// A parsed broker address: `mqtt://host[:port]` (1883) or `mqtts://host[:port]` (8883);
/// `tcp://` and `ssl://` are accepted as their synonyms. IPv6 hosts in brackets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerUrl {
    pub tls: bool,
    /// Without brackets for IPv6, as a socket address needs it.
    pub host: String,
    pub port: u16,
}

impl BrokerUrl {
    /// The address of a broker listening on `address` (the embedded one).
    pub fn for_listener(address: SocketAddr) -> Self {
        Self {
            tls: false,
            host: address.ip().to_string(),
            port: address.port(),
        }
    }
}

impl FromStr for BrokerUrl {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if !text.contains("://") {
            return Err(format!(
                "{text:?} has no scheme; write mqtt://host:port or mqtts://host:port"
            ));
        }
        if text.contains('@') {
            // Never echo the URL here: the part before '@' is likely a password.
            return Err("credentials do not belong in the broker URL; use broker.username and broker.password_file".into());
        }
        let url = url::Url::parse(text).map_err(|error| format!("{text:?}: {error}"))?;
        let tls = match url.scheme() {
            "mqtt" | "tcp" => false,
            "mqtts" | "ssl" => true,
            other => {
                return Err(format!(
                    "scheme {other:?} is not supported; use mqtt:// or mqtts://"
                ))
            }
        };
        let host = match url.host() {
            Some(url::Host::Ipv6(address)) => address.to_string(),
            Some(url::Host::Ipv4(address)) => address.to_string(),
            Some(url::Host::Domain(name)) if !name.is_empty() => name.to_owned(),
            _ => return Err(format!("{text:?} has no valid host")),
        };
        if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
            return Err(format!(
                "{text:?} has a path; a broker address is only mqtt://host:port"
            ));
        }
        let port = url.port().unwrap_or(if tls { 8883 } else { 1883 });
        if port == 0 {
            return Err("port 0 is not valid".into());
        }
        Ok(Self { tls, host, port })
    }
}

impl fmt::Display for BrokerUrl {
    /// The same form `from_str` reads, e.g. `mqtts://[::1]:8883`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "mqtts" } else { "mqtt" };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

string_value!(BrokerUrl);

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<BrokerUrl, String> {
        text.parse()
    }

    #[test]
    fn broker_urls() {
        assert_eq!(parse("mqtt://127.0.0.1:1883").unwrap().port, 1883);
        assert!(parse("mqtts://broker.local").unwrap().tls);
        assert_eq!(parse("mqtts://broker.local").unwrap().port, 8883);
        assert_eq!(parse("mqtt://[::1]:1884").unwrap().host, "::1");
        assert_eq!(
            parse("mqtt://[::1]:1884").unwrap().to_string(),
            "mqtt://[::1]:1884"
        );
        assert!(parse("broker.local").is_err());
        assert!(parse("mqtt://:1883").is_err());
        assert!(parse("mqtt://h:99999").is_err());
        assert!(parse("mqtt://h:0").is_err());
        assert!(parse("mqtt://h/x").is_err());
        assert!(parse("http://h").unwrap_err().contains("not supported"));
        let with_password = parse("mqtt://user:hunter22@h:1883").unwrap_err();
        assert!(!with_password.contains("hunter22"), "{with_password}");
    }
}
