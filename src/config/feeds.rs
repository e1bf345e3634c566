//! `[console.feeds]`: the console's read-only feeds for outside systems (docs/CONSOLE.md,
//! "Feeds"): the CAP 1.2 alert for signage players and the JSON status for websites.
//! Who may read them (named keys, stored as SHA-256 hashes made by `raincheck console
//! feed-key`), which web origins may read the JSON from a browser, and how long a CAP
//! alert is valid and a Cancel is kept — with the checks serde cannot express.

use super::load::Problems;
use serde::{Deserialize, Serialize};

/// At most this many feed keys (each is checked on every feed request).
pub const MAX_FEED_KEYS: usize = 32;

/// One reader of the feeds: a name for the logs and the hash of its key.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FeedKey {
    /// Who reads with this key ("website", "xibo"); shown in the console's log.
    pub name: String,
    /// `sha256:` and 64 hex digits; make one with `raincheck console feed-key NAME`.
    pub key_hash: String,
}

/// The feeds' settings; without keys the feeds refuse every request.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FeedsSection {
    /// The keys that may read the feeds.
    #[serde(default)]
    pub keys: Vec<FeedKey>,
    /// Web origins ("https://www.rialto.example") whose pages may read
    /// `/feeds/status.json` from the browser (CORS); exact matches only. Empty: none.
    #[serde(default)]
    pub cors_origins: Vec<String>,
    /// Minutes a CAP alert or update stays valid (`expires`) after it was sent
    /// (15-1440); a player that stops hearing from the console drops it then.
    #[serde(default = "default_cap_expires_minutes")]
    pub cap_expires_minutes: u32,
    /// Minutes the CAP feed keeps serving the Cancel after a resolve (5-1440), so
    /// players polling every few minutes all read it; then the feed is empty (204).
    #[serde(default = "default_cap_cancel_minutes")]
    pub cap_cancel_minutes: u32,
}

fn default_cap_expires_minutes() -> u32 {
    240
}
fn default_cap_cancel_minutes() -> u32 {
    60
}

impl Default for FeedsSection {
    fn default() -> Self {
        Self {
            keys: Vec::new(),
            cors_origins: Vec::new(),
            cap_expires_minutes: default_cap_expires_minutes(),
            cap_cancel_minutes: default_cap_cancel_minutes(),
        }
    }
}

/// True if `origin` is what a browser sends as `Origin`: a scheme, a host and maybe a
/// port, with no path, no trailing slash and no wildcard.
pub fn is_web_origin(origin: &str) -> bool {
    let Some((scheme, rest)) = origin.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !rest.is_empty()
        && rest.len() <= 253
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

impl FeedsSection {
    pub(super) fn check(&self, problems: &mut Problems) {
        if self.keys.len() > MAX_FEED_KEYS {
            problems.push(
                "console.feeds.keys",
                format!("{} keys; at most {MAX_FEED_KEYS}", self.keys.len()),
            );
        }
        let mut names = std::collections::BTreeSet::new();
        for key in &self.keys {
            let name = key.name.trim();
            if name.is_empty() || name.chars().count() > 64 {
                problems.push(
                    "console.feeds.keys",
                    "a feed key's name must be 1 to 64 characters",
                );
            } else if !names.insert(name.to_lowercase()) {
                problems.push(
                    "console.feeds.keys",
                    format!("{name:?} is listed twice; names must be unique (ignoring case)"),
                );
            }
            if !crate::config::is_access_key_hash(&key.key_hash) {
                problems.push(
                    "console.feeds.keys",
                    format!(
                        "the key_hash of {name:?} is not \"sha256:\" and 64 hex digits; make one with `raincheck console feed-key {name}`"
                    ),
                );
            }
        }
        for origin in &self.cors_origins {
            if !is_web_origin(origin) {
                problems.push(
                    "console.feeds.cors_origins",
                    format!(
                        "{origin:?} is not a web origin; write it as the browser sends it, e.g. \"https://www.rialto.example\" (no path, no trailing slash, no *)"
                    ),
                );
            }
        }
        if !(15..=1440).contains(&self.cap_expires_minutes) {
            problems.push(
                "console.feeds.cap_expires_minutes",
                format!(
                    "{} is out of range; use 15 to 1440",
                    self.cap_expires_minutes
                ),
            );
        }
        if !(5..=1440).contains(&self.cap_cancel_minutes) {
            problems.push(
                "console.feeds.cap_cancel_minutes",
                format!("{} is out of range; use 5 to 1440", self.cap_cancel_minutes),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_with_bad_feed_settings_names_each_problem() {
        let text = "[node]\nvenue = \"v\"\nid = \"s\"\nroles = [\"signage\"]\n\n[console.feeds]\nkeys = [{ name = \"web\", key_hash = \"plain-key\" }]\ncors_origins = [\"*\"]\ncap_expires_minutes = 1\n";
        let report = crate::config::load_str(text, std::path::Path::new("test.toml"))
            .expect_err("bad feed settings are refused");
        let keys: Vec<&str> = report.problems.iter().map(|p| p.key.as_str()).collect();
        for key in [
            "console.feeds.keys",
            "console.feeds.cors_origins",
            "console.feeds.cap_expires_minutes",
        ] {
            assert!(keys.contains(&key), "{key} in {keys:?}");
        }
    }

    #[test]
    fn hashes_and_origins_have_one_shape() {
        let hash = format!("sha256:{}", "ab".repeat(32));
        assert!(crate::config::is_access_key_hash(&hash));
        for bad in ["", "sha256:", "sha256:AB", "md5:00", &hash[..70]] {
            assert!(!crate::config::is_access_key_hash(bad), "{bad}");
        }
        for good in ["https://www.rialto.example", "http://localhost:8000"] {
            assert!(is_web_origin(good), "{good}");
        }
        for bad in [
            "*",
            "https://x.example/",
            "www.x.example",
            "https://",
            "ftp://x",
        ] {
            assert!(!is_web_origin(bad), "{bad}");
        }
    }
}
