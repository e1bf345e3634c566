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
    /// Voucher settings for the `counter` role (required there). A console with this
    /// section keeps a replica of the venue's vouchers and offers them to managers.
    #[serde(default)]
    pub counter: Option<CounterSection>,
    /// The manager's web console, for nodes with the `console` role.
    #[serde(default)]
    pub console: ConsoleSection,
    /// Automatic payment-failure detection, for nodes with the `detector` role.
    #[serde(default)]
    pub detection: DetectionSection,
    /// The Prometheus metrics endpoint.
    #[serde(default)]
    pub metrics: MetricsSection,
}

/// Prometheus metrics (any role).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSection {
    /// Address for `GET /metrics` (e.g. "127.0.0.1:9464"); unset means no endpoint.
    /// Metrics say nothing secret, but keep it on the management network.
    #[serde(default)]
    pub listen: Option<SocketAddr>,
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
    /// Watches payments (POS reports, processor probes) and raises automatic incidents.
    Detector,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Signage => "signage",
            Role::Counter => "counter",
            Role::Console => "console",
            Role::Detector => "detector",
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
    /// Roles this node plays: "signage", "counter", "console", "detector" (at least one).
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
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            format!("{url:?} has no scheme; write mqtt://host:port or mqtts://host:port")
        })?;
        let tls = match scheme {
            "mqtt" | "tcp" => false,
            "mqtts" | "ssl" => true,
            other => {
                return Err(format!(
                    "scheme {other:?} is not supported; use mqtt:// or mqtts://"
                ))
            }
        };
        let rest = rest.trim_end_matches('/');
        if rest.contains('@') {
            // Never echo the URL here: the part before '@' is likely a password.
            return Err("credentials do not belong in the broker URL; use broker.username and broker.password_file".into());
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => {
                let port = port
                    .parse::<u16>()
                    .map_err(|_| format!("port {port:?} is not a number from 1 to 65535"))?;
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
        Ok(Self {
            tls,
            host: host.to_owned(),
            port,
        })
    }
}

/// Texts of one mode. A text left out falls back to the screen's bundled wording, which
/// is translated (English, Spanish); a text written here is shown as written.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ModeTexts {
    /// The big line, readable from ten metres.
    #[serde(default)]
    pub headline: Option<String>,
    /// One or two sentences under the headline.
    #[serde(default)]
    pub body: Option<String>,
    /// The raincheck offer (cash-only mode).
    #[serde(default)]
    pub offer: Option<String>,
    /// Where cash is accepted (cash-only mode).
    #[serde(default)]
    pub cash_points: Option<String>,
}

impl ModeTexts {
    pub fn fields(&self) -> [(&'static str, &Option<String>); 4] {
        [
            ("headline", &self.headline),
            ("body", &self.body),
            ("offer", &self.offer),
            ("cash_points", &self.cash_points),
        ]
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TextsSection {
    /// Shown while nothing is declared (headline only).
    #[serde(default)]
    pub normal: ModeTexts,
    /// Shown while cards are down, unless the manager wrote their own.
    #[serde(default)]
    pub cash_only: ModeTexts,
    /// Shown for a while after the incident is resolved.
    #[serde(default)]
    pub all_clear: ModeTexts,
}

/// What a signage screen shows while nothing is declared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NormalStyle {
    /// The venue's name and "All payment methods accepted".
    #[default]
    Welcome,
    /// A black screen.
    Dark,
    /// A transparent layer, for screens that show other content underneath.
    Transparent,
}

/// Which windowing backend a screen uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScreenBackend {
    /// A window if a display server is there (X11/Wayland), else headless.
    #[default]
    Auto,
    /// Always a winit window; headless (with a log line) if none can be opened.
    Winit,
    /// Linux KMS/DRM without a display server (binary built with `--features kms`).
    Kms,
    /// No window: compute and report the view only.
    Headless,
}

/// Screen settings. Read by nodes with the `signage` or `counter` role.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DisplaySection {
    /// Open the window full-screen (kiosks) instead of a desktop window.
    #[serde(default)]
    pub fullscreen: bool,
    /// "auto" (default), "winit", "kms" or "headless".
    #[serde(default)]
    pub backend: ScreenBackend,
    /// Screen rotation in degrees clockwise: 0, 90, 180 or 270. Applied by the KMS backend
    /// and to thumbnails; on X11/Wayland rotate the output with the compositor instead.
    #[serde(default)]
    pub rotation: u16,
    /// While nothing is declared: "welcome" (default), "dark" or "transparent".
    #[serde(default)]
    pub normal_style: NormalStyle,
    /// Seconds the "card payments are back" screen stays before the normal screen.
    #[serde(default = "default_all_clear_secs")]
    pub all_clear_secs: u32,
    /// Languages the screen rotates through, from "en" and "es".
    #[serde(default = "default_languages")]
    pub languages: Vec<String>,
    /// Seconds each language stays on screen when more than one is listed (at least 3).
    #[serde(default = "default_language_secs")]
    pub language_secs: u32,
    /// Publish a small PNG of what the screen shows, for the manager's console.
    #[serde(default)]
    pub thumbnails: bool,
    /// Thumbnail width in pixels (80-640).
    #[serde(default = "default_thumbnail_width")]
    pub thumbnail_width: u32,
    /// At most one thumbnail per this many seconds (at least 5).
    #[serde(default = "default_thumbnail_secs")]
    pub thumbnail_secs: u32,
}

/// Languages the screens have bundled texts for.
pub const SCREEN_LANGUAGES: [&str; 2] = ["en", "es"];

fn default_all_clear_secs() -> u32 {
    300
}
fn default_languages() -> Vec<String> {
    vec!["en".to_owned()]
}
fn default_language_secs() -> u32 {
    10
}
fn default_thumbnail_width() -> u32 {
    320
}
fn default_thumbnail_secs() -> u32 {
    30
}

impl Default for DisplaySection {
    fn default() -> Self {
        Self {
            fullscreen: false,
            backend: ScreenBackend::default(),
            rotation: 0,
            normal_style: NormalStyle::default(),
            all_clear_secs: default_all_clear_secs(),
            languages: default_languages(),
            language_secs: default_language_secs(),
            thumbnails: false,
            thumbnail_width: default_thumbnail_width(),
            thumbnail_secs: default_thumbnail_secs(),
        }
    }
}

/// Whether a terminal cut off from the venue's broker may redeem a voucher it has no
/// record of being redeemed elsewhere.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OfflineRedemption {
    /// Redeem; a double redemption during the partition is reported as a conflict later.
    #[default]
    Allow,
    /// Only the terminal that issued the voucher redeems it while offline.
    IssuingTerminalOnly,
    /// No redemptions while offline.
    Deny,
}

/// One raincheck offer the venue gives.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OfferConfig {
    /// Stable id ("popcorn"), used by the console and in declarations.
    pub id: Identifier,
    /// Number 1-31 carried inside every code; never reuse a number for another offer.
    pub number: u8,
    /// What guests get, as printed ("A free small popcorn").
    pub title: String,
    /// Conditions, as printed ("On your next visit. One per guest.").
    #[serde(default)]
    pub terms: String,
    /// Days a voucher stays valid after the day it is issued (1-3650).
    pub validity_days: u16,
    /// At most this many of this offer per incident per terminal; unset means no cap.
    #[serde(default)]
    pub per_incident_cap: Option<u32>,
}

/// Settings of a counter terminal.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CounterSection {
    /// This terminal's number in the venue (1-127), carried inside every code it issues;
    /// unique per venue, never reused.
    pub terminal: u8,
    /// File holding the venue's voucher secret (the same file on every terminal of the
    /// venue, at least 16 bytes, chmod 600). Any terminal verifies any voucher with it.
    pub secret_file: PathBuf,
    /// While cut off from the broker: "allow" (default), "issuing-terminal-only" or "deny".
    #[serde(default)]
    pub offline_redemption: OfflineRedemption,
    /// Receipt printer: "tcp://192.168.1.50:9100" or "/dev/usb/lp0"; unset means codes are
    /// shown on screen as text and QR only.
    #[serde(default)]
    pub printer: Option<String>,
    /// The offers staff can issue.
    pub offers: Vec<OfferConfig>,
    /// Loopback address of the counter's local API (issue, redeem, look up) for the till
    /// software on this machine; unset means none. See docs/DEPLOY.md.
    #[serde(default)]
    pub api_listen: Option<SocketAddr>,
}

/// One manager who may sign in to the console.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ManagerAccount {
    /// The name typed at sign-in and written to the audit log ("Dana").
    pub name: String,
    /// Argon2 hash of the manager's PIN; make one with `raincheck console hash-pin`.
    pub pin_hash: String,
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
    pub business_day_starts: String,
    /// Managers who may sign in.
    #[serde(default)]
    pub managers: Vec<ManagerAccount>,
}

fn default_console_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_session_minutes() -> u32 {
    720
}
fn default_max_body_bytes() -> usize {
    16 * 1024
}
fn default_business_day_starts() -> String {
    "05:00".to_owned()
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
        }
    }
}

impl ConsoleSection {
    /// The business day's start as (hour, minute), if `business_day_starts` is "HH:MM".
    pub fn business_day_start(&self) -> Option<(u8, u8)> {
        let (hour, minute) = self.business_day_starts.split_once(':')?;
        let hour: u8 = hour.parse().ok()?;
        let minute: u8 = minute.parse().ok()?;
        (hour < 24 && minute < 60 && self.business_day_starts.len() == 5).then_some((hour, minute))
    }
}

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
    pub target: String,
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

impl NodeConfig {
    pub fn has_role(&self, role: Role) -> bool {
        self.node.roles.contains(&role)
    }

    /// The node's human name, falling back to its id.
    pub fn display_name(&self) -> String {
        self.node
            .name
            .clone()
            .unwrap_or_else(|| self.node.id.to_string())
    }
}
