//! `[[console.webhooks]]`: where the console POSTs the venue's incident events (start,
//! update, resolve, every screen confirmed) for other systems — pause online ordering,
//! tell a chat channel, trigger a signage player's action. Each endpoint has a name (for
//! the delivery log), a URL parsed at load, a private secret file for its HMAC signature
//! and the events it wants. Delivery itself is `console::webhooks`.

use super::load::{Checks, Problems};
use crate::protocol::Identifier;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// An event a webhook endpoint can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HookEvent {
    /// Cash only was declared (a new incident).
    Started,
    /// The incident's texts or offer changed.
    Updated,
    /// The incident ended.
    Resolved,
    /// Every online screen and counter shows the current view (cash only, or all clear).
    Confirmed,
}

impl HookEvent {
    pub const ALL: [HookEvent; 4] = [
        HookEvent::Started,
        HookEvent::Updated,
        HookEvent::Resolved,
        HookEvent::Confirmed,
    ];

    /// The name in the JSON body and the `X-Raincheck-Event` header ("incident.started").
    pub fn name(self) -> &'static str {
        match self {
            HookEvent::Started => "incident.started",
            HookEvent::Updated => "incident.updated",
            HookEvent::Resolved => "incident.resolved",
            HookEvent::Confirmed => "screens.confirmed",
        }
    }
}

fn every_event() -> Vec<HookEvent> {
    HookEvent::ALL.to_vec()
}

/// An `http://` or `https://` URL with a host, parsed when the config is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookUrl(pub url::Url);

impl FromStr for WebhookUrl {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let url = url::Url::parse(text.trim())
            .map_err(|error| format!("{text:?} is not a URL ({error})"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "{text:?} is not http:// or https://; webhooks are HTTP POSTs"
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("{text:?} has no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!(
                "{text:?} carries a user name or password; the signature authenticates raincheck, so leave them out"
            ));
        }
        Ok(Self(url))
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de> Deserialize<'de> for WebhookUrl {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for WebhookUrl {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.as_str())
    }
}

/// One receiver of the venue's events.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpoint {
    /// Short name in the console's delivery log ("ordering", "chat").
    pub name: Identifier,
    /// Where the events are POSTed: "https://orders.example/hooks/raincheck".
    pub url: WebhookUrl,
    /// File holding this endpoint's signing secret (at least 16 bytes, chmod 600); each
    /// body is signed with HMAC-SHA256 in the `X-Raincheck-Signature` header.
    pub secret_file: PathBuf,
    /// Which events it gets: started, updated, resolved, confirmed (default: all).
    #[serde(default = "every_event")]
    pub events: Vec<HookEvent>,
    /// A CA file for an `https://` receiver with a private certificate; default: the
    /// system's roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

/// Most endpoints one console delivers to.
pub const MAX_WEBHOOKS: usize = 16;

/// Checks every endpoint; each problem is named by its position and name.
pub(super) fn check_webhooks(
    endpoints: &[WebhookEndpoint],
    checks: &Checks,
    problems: &mut Problems,
) {
    if endpoints.len() > MAX_WEBHOOKS {
        problems.push(
            "console.webhooks",
            format!("{} endpoints; at most {MAX_WEBHOOKS}", endpoints.len()),
        );
    }
    let mut names = std::collections::BTreeSet::new();
    for endpoint in endpoints {
        let name = &endpoint.name;
        if !names.insert(name.clone()) {
            problems.push("console.webhooks", format!("{name} is named twice"));
        }
        if endpoint.events.is_empty() {
            problems.push(
                "console.webhooks",
                format!("{name} asks for no events; leave `events` out for all of them"),
            );
        }
        if endpoint.ca_file.is_some() && endpoint.url.0.scheme() != "https" {
            problems.push(
                "console.webhooks",
                format!("{name} has a ca_file but an http:// URL"),
            );
        }
        if checks.files {
            let secret = checks.base.join(&endpoint.secret_file);
            match crate::secret_file::check_private(&secret) {
                Err(crate::secret_file::SecretFileError::Missing { .. }) => problems.push(
                    "console.webhooks",
                    format!("{name}: {} does not exist; create it with `head -c 32 /dev/urandom | base64 > FILE && chmod 600 FILE` and give the receiver the same secret", secret.display()),
                ),
                Err(other) => problems.push("console.webhooks", format!("{name}: {other}")),
                Ok(bytes) if bytes < 16 => problems.push(
                    "console.webhooks",
                    format!("{name}: the secret holds fewer than 16 bytes"),
                ),
                Ok(_) => {}
            }
            if let Some(ca) = &endpoint.ca_file {
                let ca = checks.base.join(ca);
                if !ca.is_file() {
                    problems.push(
                        "console.webhooks",
                        format!("{name}: ca_file {} does not exist", ca.display()),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls_are_http_with_a_host_and_no_credentials() {
        assert!("https://orders.example/hooks".parse::<WebhookUrl>().is_ok());
        assert!("http://127.0.0.1:9000/x".parse::<WebhookUrl>().is_ok());
        for bad in [
            "ftp://x/y",
            "not a url",
            "https://user:pw@x.example/",
            "file:///etc",
        ] {
            assert!(bad.parse::<WebhookUrl>().is_err(), "{bad}");
        }
    }
}
