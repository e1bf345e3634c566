//! `[[console.web_screens]]`: signs drawn by a browser (a signage player's web page, a
//! smart TV, a menu board's overlay) that the console serves at `/screen/{id}?key=…` and
//! reports like any screen (docs/CONSOLE.md, "Web screens"). Each has its own key; the
//! config holds only the key's SHA-256 (`sha256:` + 64 hex digits): the key is 256 random
//! bits, so a fast hash is as safe as argon2 and lets the console check a key on every
//! request without a CPU cost a flood could exploit. Revoking is `revoked = true` (or
//! removing the entry), then a restart of the console.

use super::load::{Checks, Problems};
use super::SCREEN_LANGUAGES;
use crate::protocol::Identifier;
use serde::{Deserialize, Serialize};

/// Most web screens one console serves.
pub const MAX_WEB_SCREENS: usize = 2000;

/// How a web screen's page lays the sign out.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum WebLayout {
    /// The whole page is the sign, as on a Slint screen.
    #[default]
    Full,
    /// A strip at the bottom, transparent elsewhere (over a menu board's prices).
    BannerBottom,
    /// A strip at the top, transparent elsewhere.
    BannerTop,
}

/// One sign drawn by a browser.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WebScreenConfig {
    /// Its node id: the console publishes its report on `displays/{id}` (and needs the
    /// broker ACL line `topic write raincheck/v1/{venue}/displays/{id}`).
    pub id: Identifier,
    /// Shown in the console ("Bar menu board").
    pub name: String,
    /// `sha256:` + hex of the page's key; make both with `raincheck console web-screen-key`.
    pub key_hash: String,
    /// Languages it rotates through; the console's `display.languages` when left out.
    #[serde(default)]
    pub languages: Vec<String>,
    /// "full" (default), "banner_bottom" or "banner_top"; `?layout=` in the address wins.
    #[serde(default)]
    pub layout: WebLayout,
    /// A revoked key opens nothing; the page shows nothing of the venue.
    #[serde(default)]
    pub revoked: bool,
    /// Pages open at once with this key (1-64); more are refused with 429.
    #[serde(default = "default_max_pages")]
    pub max_pages: u32,
}

fn default_max_pages() -> u32 {
    4
}

/// Every problem of the web screens list, each with its key.
pub(super) fn check_web_screens(screens: &[WebScreenConfig], _: &Checks, problems: &mut Problems) {
    const KEY: &str = "console.web_screens";
    if screens.len() > MAX_WEB_SCREENS {
        problems.push(
            KEY,
            format!(
                "{} web screens; one console serves at most {MAX_WEB_SCREENS}",
                screens.len()
            ),
        );
    }
    let mut ids = std::collections::BTreeSet::new();
    let mut hashes = std::collections::BTreeSet::new();
    for screen in screens {
        let id = &screen.id;
        if !ids.insert(id.clone()) {
            problems.push(KEY, format!("{id} is listed twice; ids must be unique"));
        }
        let name = screen.name.trim();
        if name.is_empty() || name.chars().count() > 64 {
            problems.push(KEY, format!("the name of {id} must be 1 to 64 characters"));
        }
        if !crate::config::is_access_key_hash(&screen.key_hash) {
            problems.push(
                KEY,
                format!("the key_hash of {id} is not \"sha256:\" and 64 hex digits; make one with `raincheck console web-screen-key`"),
            );
        } else if !hashes.insert(screen.key_hash.clone()) {
            problems.push(
                KEY,
                format!(
                    "{id} shares its key with another web screen; give each screen its own key"
                ),
            );
        }
        for language in &screen.languages {
            if !SCREEN_LANGUAGES.contains(&language.as_str()) {
                problems.push(
                    KEY,
                    format!("{id}: language {language:?} has no bundled texts; use {SCREEN_LANGUAGES:?}"),
                );
            }
        }
        if !(1..=64).contains(&screen.max_pages) {
            problems.push(
                KEY,
                format!(
                    "{id}: max_pages {} is out of range; use 1 to 64",
                    screen.max_pages
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn check_config_names_every_problem_of_the_web_screens() {
        let hash = crate::config::access_key_hash("k");
        let text = format!(
            "[node]\nvenue = \"v\"\nid = \"back-office\"\nroles = [\"console\"]\n\
             [console]\n[[console.managers]]\nname = \"Dana\"\n\
             pin_hash = \"$argon2id$v=19$m=19456,t=2,p=1$cHne0Ym94i4MichYUUmsQA$cnPf/Imh2otvPm8eGW2vLhOPOP9ups08hTPx/OBSHW8\"\n\
             [[console.web_screens]]\nid = \"a\"\nname = \"A\"\nkey_hash = \"{hash}\"\n\
             [[console.web_screens]]\nid = \"a\"\nname = \" \"\nkey_hash = \"{hash}\"\nlanguages = [\"xx\"]\nmax_pages = 0\n\
             [[console.web_screens]]\nid = \"b\"\nname = \"B\"\nkey_hash = \"md5:1234\"\n"
        );
        let report =
            crate::config::load_str_without_file_checks(&text, std::path::Path::new("c.toml"))
                .expect_err("refused")
                .to_string();
        for expected in [
            "a is listed twice",
            "the name of a must be 1 to 64 characters",
            "shares its key",
            "language \"xx\" has no bundled texts",
            "max_pages 0 is out of range",
            "the key_hash of b is not",
        ] {
            assert!(
                report.contains(expected),
                "{expected:?} missing from {report}"
            );
        }
    }
}
