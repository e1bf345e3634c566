//! `[lan]`: a node's listener on the venue LAN, for machines that cannot run raincheck
//! (docs/INTEGRATION.md, "The LAN listener"). A POS server on another box reports card
//! authorisations to a detector and issues and redeems vouchers with a counter, each
//! POS or till with its own token (`[[lan.clients]]`, stored as a SHA-256 hash made by
//! `raincheck lan client-token`) and only what its token may do; a till that can only
//! run a browser uses the web counter (`[lan.web_counter]`) with a staff number and
//! PIN. HTTPS when a certificate is configured — with the checks serde cannot express.

use super::load::{Checks, Problems};
use super::node::Role;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

/// At most this many clients (each token is compared on every request).
pub const MAX_LAN_CLIENTS: usize = 64;
/// At most this many staff accounts on one web counter.
pub const MAX_WEB_COUNTER_STAFF: usize = 500;

/// What a client's token lets it do.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum LanPermission {
    /// `POST /v1/authorisations`: report card authorisations to this node's detector.
    Payments,
    /// `POST /v1/vouchers`, `POST /v1/redemptions`, `GET /v1/vouchers/{code}`: this
    /// counter's vouchers.
    Vouchers,
}

impl LanPermission {
    /// The word in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            LanPermission::Payments => "payments",
            LanPermission::Vouchers => "vouchers",
        }
    }
}

/// One machine that may call the LAN API.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LanClient {
    /// Who calls with this token ("pos-server", "till-3"); in logs and voucher records.
    pub name: String,
    /// `sha256:` and 64 hex digits; make one with `raincheck lan client-token NAME`.
    pub token_hash: String,
    /// What it may do: "payments" and/or "vouchers".
    pub may: Vec<LanPermission>,
}

/// One member of staff who may sign in to the web counter.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StaffAccount {
    /// Their staff number (1 to 8 digits), typed at sign-in and written into every
    /// voucher they issue or redeem.
    pub number: String,
    /// Argon2 hash of their PIN; make one with `raincheck console hash-pin`.
    pub pin_hash: String,
}

/// The counter page for tills, tablets and phones that can only run a browser.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WebCounterSection {
    /// Minutes a sign-in stays valid (5-1440; default 720, a long shift).
    #[serde(default = "default_session_minutes")]
    pub session_minutes: u32,
    /// Staff who may sign in.
    #[serde(default)]
    pub staff: Vec<StaffAccount>,
}

fn default_session_minutes() -> u32 {
    720
}

/// The LAN listener; absent means none (the loopback APIs only).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LanSection {
    /// Address and port on the venue LAN ("192.168.1.20:8460"). Use the back-office
    /// address, not 0.0.0.0, if the machine also has a guest-facing network.
    pub listen: SocketAddr,
    /// PEM certificate chain for HTTPS; with `tls_key_file`. Without both, plain HTTP
    /// (keep that to a closed back-office network: tokens and PINs cross it).
    #[serde(default)]
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key for HTTPS (chmod 600).
    #[serde(default)]
    pub tls_key_file: Option<PathBuf>,
    /// The machines that may call the API.
    #[serde(default)]
    pub clients: Vec<LanClient>,
    /// The web counter at `/counter`; needs the counter role.
    #[serde(default)]
    pub web_counter: Option<WebCounterSection>,
}

impl LanSection {
    /// Whether any client may use `permission`.
    pub fn grants(&self, permission: LanPermission) -> bool {
        self.clients
            .iter()
            .any(|client| client.may.contains(&permission))
    }

    pub(super) fn check(&self, checks: &Checks, problems: &mut Problems) {
        if self.tls_cert_file.is_some() != self.tls_key_file.is_some() {
            problems.push(
                "lan.tls_cert_file",
                "set both tls_cert_file and tls_key_file for HTTPS, or neither",
            );
        }
        checks.file_exists(problems, "lan.tls_cert_file", &self.tls_cert_file);
        checks.file_exists(problems, "lan.tls_key_file", &self.tls_key_file);
        if self.clients.is_empty() && self.web_counter.is_none() {
            problems.push(
                "lan",
                "serves nothing: add a [[lan.clients]] or a [lan.web_counter], or remove [lan]",
            );
        }
        self.check_clients(checks, problems);
        if let Some(web) = &self.web_counter {
            web.check(checks, problems);
        }
    }

    fn check_clients(&self, checks: &Checks, problems: &mut Problems) {
        const KEY: &str = "lan.clients";
        if self.clients.len() > MAX_LAN_CLIENTS {
            problems.push(
                KEY,
                format!("{} clients; at most {MAX_LAN_CLIENTS}", self.clients.len()),
            );
        }
        let mut names = std::collections::BTreeSet::new();
        let mut hashes = std::collections::BTreeSet::new();
        for client in &self.clients {
            let name = client.name.trim();
            if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
                problems.push(
                    KEY,
                    format!(
                        "client name {:?} must be 1 to 64 characters on one line",
                        client.name
                    ),
                );
            } else if !names.insert(name.to_lowercase()) {
                problems.push(
                    KEY,
                    format!("{name} is listed twice; give each client its own entry"),
                );
            }
            if !crate::machine_keys::is_access_key_hash(&client.token_hash) {
                problems.push(
                    KEY,
                    format!("the token_hash of {name} is not \"sha256:\" and 64 hex digits; make one with `raincheck lan client-token`"),
                );
            } else if !hashes.insert(client.token_hash.clone()) {
                problems.push(
                    KEY,
                    format!("{name} shares its token with another client; give each its own"),
                );
            }
            if client.may.is_empty() {
                problems.push(
                    KEY,
                    format!(
                        "{name} may do nothing; set may = [\"payments\"] and/or [\"vouchers\"]"
                    ),
                );
            }
            for permission in &client.may {
                let (role, needs) = match permission {
                    LanPermission::Payments => (Role::Detector, "the detector role"),
                    LanPermission::Vouchers => (Role::Counter, "the counter role"),
                };
                if !checks.has_role(role) {
                    problems.push(
                        KEY,
                        format!(
                            "{name} may use {:?}, which needs {needs} on this node",
                            permission.as_str()
                        ),
                    );
                }
            }
        }
    }
}

impl WebCounterSection {
    fn check(&self, checks: &Checks, problems: &mut Problems) {
        const KEY: &str = "lan.web_counter";
        if !checks.has_role(Role::Counter) {
            problems.push(
                KEY,
                "the web counter needs the counter role on this node (it serves this till's store)",
            );
        }
        if !(5..=1440).contains(&self.session_minutes) {
            problems.push(
                "lan.web_counter.session_minutes",
                format!("{} is out of range; use 5 to 1440", self.session_minutes),
            );
        }
        if self.staff.is_empty() {
            problems.push(
                "lan.web_counter.staff",
                "nobody can sign in; add a [[lan.web_counter.staff]] with a number and a pin_hash",
            );
        }
        if self.staff.len() > MAX_WEB_COUNTER_STAFF {
            problems.push(
                "lan.web_counter.staff",
                format!(
                    "{} staff; at most {MAX_WEB_COUNTER_STAFF}",
                    self.staff.len()
                ),
            );
        }
        let mut numbers = std::collections::BTreeSet::new();
        for account in &self.staff {
            let number = &account.number;
            if !is_staff_number(number) {
                problems.push(
                    "lan.web_counter.staff",
                    format!("staff number {number:?} must be 1 to 8 digits"),
                );
            } else if !numbers.insert(number.clone()) {
                problems.push(
                    "lan.web_counter.staff",
                    format!("staff number {number} is listed twice"),
                );
            }
            if !crate::access::is_pin_hash(&account.pin_hash) {
                problems.push(
                    "lan.web_counter.staff",
                    format!("the pin_hash of staff {number} is not an argon2 hash; make one with `raincheck console hash-pin`"),
                );
            }
        }
    }
}

/// A staff number: 1 to 8 digits (what the counter screen's sign-in takes too).
pub fn is_staff_number(text: &str) -> bool {
    (1..=8).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems_of(text: &str, roles: &[Role]) -> Vec<String> {
        let section: LanSection = toml::from_str(text).expect("the test's TOML");
        let checks = Checks::for_roles(roles);
        let mut problems = Problems::default();
        section.check(&checks, &mut problems);
        problems.messages()
    }

    #[test]
    fn a_client_needs_a_token_hash_a_permission_and_the_role_behind_it() {
        let hash = crate::machine_keys::access_key_hash("k");
        let good = format!(
            "listen = \"127.0.0.1:0\"\n[[clients]]\nname = \"pos\"\ntoken_hash = \"{hash}\"\nmay = [\"payments\", \"vouchers\"]\n"
        );
        assert!(problems_of(&good, &[Role::Detector, Role::Counter]).is_empty());
        let problems = problems_of(&good, &[Role::Counter]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("detector role"), "{problems:?}");
        let bad = "listen = \"127.0.0.1:0\"\n[[clients]]\nname = \"pos\"\ntoken_hash = \"secret\"\nmay = []\n[[clients]]\nname = \"POS\"\ntoken_hash = \"secret\"\nmay = [\"vouchers\"]\n";
        let problems = problems_of(bad, &[Role::Counter]);
        assert!(problems.iter().any(|p| p.contains("not \"sha256:\"")));
        assert!(problems.iter().any(|p| p.contains("may do nothing")));
        assert!(problems.iter().any(|p| p.contains("listed twice")));
        assert!(
            problems_of("listen = \"127.0.0.1:0\"\n", &[Role::Counter])[0]
                .contains("serves nothing")
        );
    }

    #[test]
    fn web_counter_staff_need_numbers_and_argon2_hashes() {
        let hash = crate::access::hash_pin("4821").expect("a hash");
        let good = format!(
            "listen = \"127.0.0.1:0\"\n[web_counter]\n[[web_counter.staff]]\nnumber = \"412\"\npin_hash = \"{hash}\"\n"
        );
        assert!(problems_of(&good, &[Role::Counter]).is_empty());
        assert!(problems_of(&good, &[Role::Signage])[0].contains("counter role"));
        let bad = "listen = \"127.0.0.1:0\"\n[web_counter]\nsession_minutes = 2\n[[web_counter.staff]]\nnumber = \"12a\"\npin_hash = \"4821\"\n";
        let problems = problems_of(bad, &[Role::Counter]);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(is_staff_number("00412") && !is_staff_number("123456789") && !is_staff_number(""));
    }
}
