//! What the feeds say, in words: the venue's mode and, per language of the venue's
//! screens, the very words a screen shows — taken from `screen::content`, the one place
//! that decides them (incident translation, incident texts, config template, bundled
//! wording) — and the JSON status document for websites built from them. Pure: the view,
//! the config and `now` in.

use super::cap::LanguageWords;
use crate::config::{DisplaySection, TextsSection};
use crate::model::{LinkState, Presentation, VenueView};
use crate::protocol::Identifier;
use crate::screen::content::{screen_content, ScreenMode};
use serde::Serialize;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// The config a feed reads its words from.
pub struct WordsConfig<'a> {
    pub venue_name: &'a str,
    pub display: &'a DisplaySection,
    pub texts: &'a TextsSection,
    pub languages: &'a [String],
}

/// The mode and words a screen in each language shows at `at` for `view`.
pub fn words_at(
    view: &VenueView,
    config: &WordsConfig,
    at: OffsetDateTime,
) -> (ScreenMode, Vec<LanguageWords>) {
    let presentation = Presentation {
        view: view.clone(),
        has_state: true,
        restored: false,
        link: LinkState::Up,
        shown_since: at,
        drill_full_screen: false,
    };
    let english = ["en".to_owned()];
    let languages = if config.languages.is_empty() {
        &english[..]
    } else {
        config.languages
    };
    let mut mode = ScreenMode::Normal;
    let words = languages
        .iter()
        .map(|language| {
            let (content, _) = screen_content(
                &presentation,
                config.venue_name,
                config.display,
                config.texts,
                language,
                at,
            );
            mode = content.mode;
            LanguageWords {
                language: language.clone(),
                headline: content.headline,
                body: content.body,
                offer: content.offer,
                cash_points: content.cash_points,
            }
        })
        .collect();
    (mode, words)
}

#[derive(Serialize, Debug)]
pub struct StatusWords {
    pub headline: String,
    pub body: String,
    pub offer: String,
    pub cash_points: String,
}

/// `GET /feeds/status.json` (docs/CONSOLE.md, "Feeds").
#[derive(Serialize, Debug)]
pub struct StatusDocument {
    pub venue: Identifier,
    pub venue_name: String,
    /// `normal`, `cash_only` or `all_clear` — what the venue's screens show now.
    pub mode: &'static str,
    pub incident_id: Option<Identifier>,
    pub revision: u64,
    /// Since when the mode holds: the incident's start, or its resolve for all clear.
    #[serde(with = "time::serde::rfc3339::option")]
    pub since: Option<OffsetDateTime>,
    /// When the declaration shown was made (the latest update).
    #[serde(with = "time::serde::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
    /// When the venue promised its next update during cash only (a website can say
    /// "next update by 20:15"); null otherwise.
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_update_by: Option<OffsetDateTime>,
    /// When the incident ends itself during cash only, if the manager set that; null
    /// otherwise.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    pub texts: BTreeMap<String, StatusWords>,
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
}

/// The status document: what a screen would show now, in every language.
pub fn status_document(
    venue: &Identifier,
    view: &VenueView,
    config: &WordsConfig,
    now: OffsetDateTime,
) -> StatusDocument {
    let (mode, words) = words_at(view, config, now);
    let (mode, since, incident) = match mode {
        ScreenMode::CashOnly => ("cash_only", view.started_at, view.incident_id.clone()),
        ScreenMode::AllClear => ("all_clear", view.declared_at, view.incident_id.clone()),
        ScreenMode::Normal | ScreenMode::Booting => ("normal", None, None),
    };
    StatusDocument {
        venue: venue.clone(),
        venue_name: crate::text::one_line(config.venue_name),
        mode,
        incident_id: incident.clone(),
        revision: if incident.is_some() { view.revision } else { 0 },
        since,
        updated_at: incident.and(view.declared_at),
        next_update_by: (mode == "cash_only")
            .then_some(view.next_update_by)
            .flatten(),
        expires_at: (mode == "cash_only").then_some(view.expires_at).flatten(),
        texts: words
            .into_iter()
            .map(|w| {
                (
                    w.language,
                    StatusWords {
                        headline: w.headline,
                        body: w.body,
                        offer: w.offer,
                        cash_points: w.cash_points,
                    },
                )
            })
            .collect(),
        generated_at: now,
    }
}
