//! The sections of a node's TOML file. Each field's `///` doc is the reference for
//! operators; `config/*.toml` repeats it as comments.

use crate::protocol::Identifier;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

/// A whole node configuration file.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Who this node is and what it does.
    pub node: NodeSection,
    /// How this node reaches the venue's MQTT broker.
    #[serde(default)]
    pub broker: BrokerSection,
    /// Default texts per mode, used when a declaration carries none.
    #[serde(default)]
    pub texts: TextsSection,
    /// Screen settings for the `signage` and `counter` roles.
    #[serde(default)]
    pub display: DisplaySection,
}

/// What a node does; any combination is allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A guest-facing screen showing the venue's payment status.
    Signage,
    /// A staff terminal that issues and redeems raincheck vouchers.
    Counter,
    /// The manager's web console.
    Console,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Signage => "signage",
            Role::Counter => "counter",
            Role::Console => "console",
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSection {
    /// Venue id shared by every node of the venue (a-z, 0-9, '-', '_').
    pub venue: Identifier,
    /// This node's id, unique within the venue; it names the node's display topic.
    pub id: Identifier,
    /// Human name shown in the console ("Lobby screen 2"). Defaults to the id.
    #[serde(default)]
    pub name: Option<String>,
    /// The venue's name as guests know it, shown on the normal screen.
    #[serde(default = "default_venue_name")]
    pub venue_name: String,
    /// Roles this node plays: "signage", "counter", "console" (at least one).
    pub roles: Vec<Role>,
    /// Where this node keeps its data (vouchers, audit log). Must be writable.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
}

fn default_venue_name() -> String {
    "Welcome".to_owned()
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("/var/lib/raincheck")
}

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
    pub url: String,
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

fn default_url() -> String {
    "mqtt://127.0.0.1:1883".to_owned()
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

/// A parsed broker address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerUrl {
    pub tls: bool,
    pub host: String,
    pub port: u16,
}

impl BrokerUrl {
    pub fn parse(url: &str) -> Result<Self, String> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("{url:?} has no scheme; write mqtt://host:port or mqtts://host:port"))?;
        let tls = match scheme {
            "mqtt" | "tcp" => false,
            "mqtts" | "ssl" => true,
            other => return Err(format!("scheme {other:?} is not supported; use mqtt:// or mqtts://")),
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => {
                let port = port.parse::<u16>().map_err(|_| format!("port {port:?} is not a number from 1 to 65535"))?;
                (host, port)
            }
            None => (rest, if tls { 8883 } else { 1883 }),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || host.contains('/') {
            return Err(format!("{url:?} has no valid host"));
        }
        if port == 0 {
            return Err("port 0 is not valid".into());
        }
        Ok(Self { tls, host: host.to_owned(), port })
    }
}

/// Texts of one mode. Manager-supplied texts replace these per incident.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ModeTexts {
    /// The big line, readable from ten metres.
    pub headline: String,
    /// One or two sentences under the headline.
    #[serde(default)]
    pub body: String,
    /// The raincheck offer (cash-only mode).
    #[serde(default)]
    pub offer: String,
    /// Where cash is accepted (cash-only mode).
    #[serde(default)]
    pub cash_points: String,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TextsSection {
    /// Shown while nothing is declared.
    #[serde(default = "default_normal_texts")]
    pub normal: ModeTexts,
    /// Shown while cards are down, unless the manager wrote their own.
    #[serde(default = "default_cash_only_texts")]
    pub cash_only: ModeTexts,
    /// Shown for a while after the incident is resolved.
    #[serde(default = "default_all_clear_texts")]
    pub all_clear: ModeTexts,
}

fn mode_texts(headline: &str, body: &str, offer: &str, cash_points: &str) -> ModeTexts {
    ModeTexts { headline: headline.into(), body: body.into(), offer: offer.into(), cash_points: cash_points.into() }
}

fn default_normal_texts() -> ModeTexts {
    mode_texts("All payment methods accepted", "", "", "")
}
fn default_cash_only_texts() -> ModeTexts {
    mode_texts(
        "Cash only right now",
        "Our card payments are down. We are sorry for the wait.",
        "Ask any member of staff for your raincheck.",
        "Cash is accepted at every till.",
    )
}
fn default_all_clear_texts() -> ModeTexts {
    mode_texts("Card payments are back", "Thank you for your patience.", "", "")
}

impl Default for TextsSection {
    fn default() -> Self {
        Self {
            normal: default_normal_texts(),
            cash_only: default_cash_only_texts(),
            all_clear: default_all_clear_texts(),
        }
    }
}

/// Screen settings. Read by nodes with the `signage` or `counter` role.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DisplaySection {
    /// Open the window full-screen (kiosks) instead of a desktop window.
    #[serde(default)]
    pub fullscreen: bool,
    /// Seconds the "card payments are back" screen stays before the normal screen.
    #[serde(default = "default_all_clear_secs")]
    pub all_clear_secs: u32,
}

fn default_all_clear_secs() -> u32 {
    300
}

impl Default for DisplaySection {
    fn default() -> Self {
        Self { fullscreen: false, all_clear_secs: default_all_clear_secs() }
    }
}

impl NodeConfig {
    pub fn has_role(&self, role: Role) -> bool {
        self.node.roles.contains(&role)
    }

    /// The node's human name, falling back to its id.
    pub fn display_name(&self) -> String {
        self.node.name.clone().unwrap_or_else(|| self.node.id.to_string())
    }
}
