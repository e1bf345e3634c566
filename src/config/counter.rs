//! `[counter]`: a staff terminal's voucher settings: its terminal number, the venue's
//! voucher secret, the offers, what it may redeem while cut off, its receipt printer
//! (a [`PrinterTarget`], parsed at load) and its local API.

use super::counter_screen::CounterWords;
use super::load::{Checks, Problems};
use super::node::Role;
use crate::protocol::Identifier;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;

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
    /// The older name of `till_cap` (at most this many per incident on this till); set
    /// one or the other.
    #[serde(default)]
    pub per_incident_cap: Option<u32>,
    /// At most this many of this offer per incident issued by this till; unset means no
    /// cap. Past it, a manager's override is needed (docs/INTEGRATION.md, "Limits").
    #[serde(default)]
    pub till_cap: Option<u32>,
    /// At most this much face value ("100.00") of this offer per incident issued by this
    /// till; needs `face_value`.
    #[serde(default)]
    pub till_value_cap: Option<super::Money>,
    /// At most this many of this offer per incident across the whole venue, as far as this
    /// till has heard from the others (a till cut off counts only what it has received).
    #[serde(default)]
    pub venue_cap: Option<u32>,
    /// At most this much face value of this offer per incident across the whole venue, as
    /// far as this till has heard; needs `face_value`.
    #[serde(default)]
    pub venue_value_cap: Option<super::Money>,
    /// What one voucher is worth to the venue ("4.50", in `counter.currency`), for the
    /// outstanding liability in incident reports and the value caps; unset means the
    /// report counts it only.
    #[serde(default)]
    pub face_value: Option<super::Money>,
}

impl OfferConfig {
    /// This till's count cap per incident: `till_cap`, or its older name.
    pub fn till_count_cap(&self) -> Option<u32> {
        self.till_cap.or(self.per_incident_cap)
    }

    /// Every problem with the offer's caps, one line each.
    fn check_caps(&self, problems: &mut Problems) {
        if self.till_cap.is_some() && self.per_incident_cap.is_some() {
            problems.push(
                "counter.offers",
                format!(
                    "offer {} sets both till_cap and per_incident_cap (its older name); keep till_cap",
                    self.id
                ),
            );
        }
        for (key, cap) in [
            ("till_cap", self.till_cap),
            ("per_incident_cap", self.per_incident_cap),
            ("venue_cap", self.venue_cap),
        ] {
            if cap == Some(0) {
                problems.push(
                    "counter.offers",
                    format!(
                        "offer {} has {key} = 0; use 1 or more, or leave it out for no cap",
                        self.id
                    ),
                );
            }
        }
        for (key, cap) in [
            ("till_value_cap", self.till_value_cap),
            ("venue_value_cap", self.venue_value_cap),
        ] {
            match cap {
                Some(cap) if self.face_value.is_none() => problems.push(
                    "counter.offers",
                    format!(
                        "offer {} has {key} = \"{cap}\" but no face_value; a value cap counts face values, so set face_value (\"4.50\")",
                        self.id
                    ),
                ),
                Some(super::Money(0)) => problems.push(
                    "counter.offers",
                    format!("offer {} has {key} = \"0.00\"; use more, or leave it out for no cap", self.id),
                ),
                _ => {}
            }
        }
    }
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
    pub printer: Option<PrinterTarget>,
    /// The offers staff can issue.
    pub offers: Vec<OfferConfig>,
    /// Loopback address of the counter's local API (issue, redeem, look up) for the till
    /// software on this machine; unset means none. See docs/DEPLOY.md.
    #[serde(default)]
    pub api_listen: Option<SocketAddr>,
    /// Seconds an answer or an issued code stays on the counter screen before it clears
    /// for the next guest (2-600; default 30).
    #[serde(default = "default_answer_secs")]
    pub answer_secs: u32,
    /// The counter screen's language when it starts: one of `display.languages` (default:
    /// the first). Staff switch languages with the screen's language button.
    #[serde(default)]
    pub language: Option<String>,
    /// Whether staff sign in on the counter screen with their staff number (1 to 8
    /// digits), written into every voucher they issue or redeem. Off by default.
    #[serde(default)]
    pub staff_sign_in: bool,
    /// The currency of the offers' face values ("EUR", "GBP", "USD"), printed in reports.
    #[serde(default)]
    pub currency: Option<String>,
    /// The venue's own words for staff (see `CounterWords`).
    #[serde(default)]
    pub words: CounterWords,
    /// Managers who may override an offer's cap at this till with their PIN
    /// (`[[counter.managers]]`, the format `raincheck console hash-pin` prints).
    #[serde(default)]
    pub managers: Vec<super::console::ManagerAccount>,
}

fn default_answer_secs() -> u32 {
    30
}

impl CounterSection {
    pub(super) fn check(&self, checks: &Checks, problems: &mut Problems) {
        self.words.check(problems);
        super::console::check_managers("counter.managers", &self.managers, problems);
        if !(2..=600).contains(&self.answer_secs) {
            problems.push(
                "counter.answer_secs",
                format!("{} is out of range; use 2 to 600", self.answer_secs),
            );
        }
        if !(1..=127).contains(&self.terminal) {
            problems.push(
                "counter.terminal",
                format!("{} is out of range; use 1 to 127", self.terminal),
            );
        }
        if checks.files {
            let secret = checks.base.join(&self.secret_file);
            match crate::secret_file::check_private(&secret) {
                Err(crate::secret_file::SecretFileError::Missing { .. }) => problems.push(
                    "counter.secret_file",
                    format!("{} does not exist; create it with `head -c 32 /dev/urandom > FILE && chmod 600 FILE` and copy it to every terminal", secret.display()),
                ),
                Err(other) => problems.push("counter.secret_file", other.to_string()),
                Ok(bytes) if bytes < 16 => problems.push(
                    "counter.secret_file",
                    "holds fewer than 16 bytes; use at least 32 random bytes",
                ),
                Ok(_) => {}
            }
        }
        if let Some(address) = self.api_listen.filter(|a| !a.ip().is_loopback()) {
            problems.push(
                "counter.api_listen",
                format!("{address} is not a loopback address; the counter API is for software on this machine (127.0.0.1)"),
            );
        }
        if let Some(currency) = self
            .currency
            .as_deref()
            .filter(|c| !super::is_currency_code(c))
        {
            problems.push(
                "counter.currency",
                format!(
                    "{currency:?} is not a currency code; write it as three capitals, like \"EUR\""
                ),
            );
        }
        if self.offers.is_empty() {
            problems.push(
                "counter.offers",
                "no offers; add at least one [[counter.offers]]",
            );
        }
        let mut numbers = std::collections::BTreeSet::new();
        let mut ids = std::collections::BTreeSet::new();
        for offer in &self.offers {
            if !(1..=31).contains(&offer.number) {
                problems.push(
                    "counter.offers",
                    format!(
                        "offer {} has number {}; use 1 to 31",
                        offer.id, offer.number
                    ),
                );
            }
            if !numbers.insert(offer.number) {
                problems.push(
                    "counter.offers",
                    format!("number {} is used by two offers", offer.number),
                );
            }
            if !ids.insert(offer.id.clone()) {
                problems.push(
                    "counter.offers",
                    format!("id {} is used by two offers", offer.id),
                );
            }
            if !(1..=3650).contains(&offer.validity_days) {
                problems.push(
                    "counter.offers",
                    format!(
                        "offer {} is valid for {} days; use 1 to 3650",
                        offer.id, offer.validity_days
                    ),
                );
            }
            offer.check_caps(problems);
            if offer.title.trim().is_empty() || offer.title.chars().count() > 120 {
                problems.push(
                    "counter.offers",
                    format!("offer {} needs a title of 1 to 120 characters", offer.id),
                );
            }
        }
    }

    /// The counter role needs this section; its absence is the node's problem.
    pub(super) fn check_absent(checks: &Checks, problems: &mut Problems) {
        if checks.has_role(Role::Counter) {
            problems.push(
                "counter",
                "the counter role needs a [counter] section (terminal, secret_file, offers)",
            );
        }
    }
}

/// The raw port of network receipt printers.
pub const DEFAULT_PRINTER_PORT: u16 = 9100;

/// Where receipts go: a network printer's raw port, or a local device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrinterTarget {
    Tcp(SocketAddr),
    Device(PathBuf),
}

impl FromStr for PrinterTarget {
    type Err = String;

    /// "tcp://192.168.1.50:9100" (port defaults to 9100; IPv6 in brackets) or "/dev/usb/lp0".
    fn from_str(text: &str) -> Result<Self, String> {
        const FORMS: &str = "write tcp://IP:PORT for a network printer (e.g. \
                             tcp://192.168.1.50:9100) or the device path of a USB printer \
                             (e.g. /dev/usb/lp0)";
        let text = text.trim();
        if text.is_empty() {
            return Err(format!("no printer given: {FORMS}"));
        }
        if text.chars().any(char::is_control) {
            return Err(format!(
                "the printer {text:?} contains control characters: {FORMS}"
            ));
        }
        if let Some((scheme, _)) = text.split_once("://") {
            if scheme != "tcp" {
                return Err(format!(
                    "the printer {text:?} uses {scheme}://, which raincheck does not speak: {FORMS}"
                ));
            }
            return tcp_address(text).map(Self::Tcp);
        }
        if text.starts_with('/') {
            if text.ends_with('/') {
                return Err(format!(
                    "the printer {text:?} is a directory, not a device: {FORMS}"
                ));
            }
            return Ok(Self::Device(PathBuf::from(text)));
        }
        Err(format!(
            "the printer {text:?} is neither a tcp:// address nor an absolute device path: {FORMS}"
        ))
    }
}

/// The socket address of a `tcp://IP[:PORT]` printer.
fn tcp_address(text: &str) -> Result<SocketAddr, String> {
    let not_an_address = || {
        format!(
            "the printer address {text} is not IP:PORT: give the printer's IP address, \
             e.g. tcp://192.168.1.50:9100 (the port may be left out for {DEFAULT_PRINTER_PORT}; \
             IPv6 in brackets); host names are not looked up so that printing works with DNS down"
        )
    };
    // An IPv6 address written without brackets (and so without a port) is accepted as
    // it always was; anything else is read as a URL.
    if let Some(ip) = text
        .strip_prefix("tcp://")
        .and_then(|bare| bare.parse::<std::net::Ipv6Addr>().ok())
    {
        return Ok(SocketAddr::new(ip.into(), DEFAULT_PRINTER_PORT));
    }
    let url = url::Url::parse(text).map_err(|_| not_an_address())?;
    if !url.path().is_empty() || url.query().is_some() || !url.username().is_empty() {
        return Err(not_an_address());
    }
    let ip: IpAddr = match url.host() {
        Some(url::Host::Ipv6(address)) => address.into(),
        Some(url::Host::Ipv4(address)) => address.into(),
        // Not a special scheme: an IPv4 address arrives as a "domain".
        Some(url::Host::Domain(name)) => name.parse().map_err(|_| not_an_address())?,
        None => return Err(not_an_address()),
    };
    let port = url.port().unwrap_or(DEFAULT_PRINTER_PORT);
    if port == 0 {
        return Err(format!(
            "the printer address {text} has port 0: use the printer's raw port, usually \
             {DEFAULT_PRINTER_PORT}"
        ));
    }
    Ok(SocketAddr::new(ip, port))
}

impl fmt::Display for PrinterTarget {
    /// The same form `from_str` reads.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tcp(address) => write!(f, "tcp://{address}"),
            Self::Device(path) => write!(f, "{}", path.display()),
        }
    }
}

string_value!(PrinterTarget);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printer_targets_parse_from_config_text() {
        let parsed = |text: &str| text.parse::<PrinterTarget>();
        let tcp = |text: &str| PrinterTarget::Tcp(text.parse().unwrap());
        assert_eq!(
            parsed("tcp://192.168.1.50:9100"),
            Ok(tcp("192.168.1.50:9100"))
        );
        assert_eq!(parsed(" tcp://10.0.0.7 "), Ok(tcp("10.0.0.7:9100")));
        assert_eq!(parsed("tcp://10.0.0.7:9101"), Ok(tcp("10.0.0.7:9101")));
        assert_eq!(parsed("tcp://[::1]:9100"), Ok(tcp("[::1]:9100")));
        assert_eq!(parsed("tcp://[fe80::1]"), Ok(tcp("[fe80::1]:9100")));
        assert_eq!(parsed("tcp://::1"), Ok(tcp("[::1]:9100")));
        assert_eq!(
            parsed("/dev/usb/lp0"),
            Ok(PrinterTarget::Device(PathBuf::from("/dev/usb/lp0")))
        );
        assert_eq!(
            parsed("tcp://10.0.0.7:9100").unwrap().to_string(),
            "tcp://10.0.0.7:9100"
        );

        for (text, hint) in [
            ("", "no printer given"),
            ("   ", "no printer given"),
            ("tcp://printer.local:9100", "host names are not looked up"),
            ("tcp://10.0.0.7:0", "port 0"),
            ("tcp://10.0.0.7:99999", "not IP:PORT"),
            ("tcp://10.0.0.7:9100/", "not IP:PORT"),
            ("tcp://", "not IP:PORT"),
            ("http://10.0.0.7", "http://, which raincheck does not speak"),
            (
                "usb/lp0",
                "neither a tcp:// address nor an absolute device path",
            ),
            ("10.0.0.7:9100", "neither a tcp:// address"),
            ("/dev/usb/", "is a directory"),
            ("/dev/usb/lp0\u{1b}", "control characters"),
        ] {
            let error = parsed(text).expect_err(text);
            assert!(error.contains(hint), "{text:?}: {error}");
            assert!(
                error.contains("tcp://") || error.contains("port"),
                "{error}"
            );
        }
    }
}
