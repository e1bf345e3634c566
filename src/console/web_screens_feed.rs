//! What a web screen's page is told: the console's snapshot turned into the
//! `Presentation` a Slint screen would hold (view, whether the retained set has been read,
//! the link), numbered so a page can say which view it painted, and the `view` event a
//! page draws: for each of the screen's languages, the `ScreenContent` that
//! `screen::screen_content` decides (the same function a Slint sign calls) plus the sign's
//! fixed labels from the same translation catalogues. The page adds no words of its own.

use super::snapshot::ConsoleSnapshot;
use super::web_screens::ServedView;
use crate::config::{DisplaySection, TextsSection};
use crate::model::screen_labels::screen_label;
use crate::model::{LinkState, Presentation};
use crate::screen::{screen_content, ScreenContent, ScreenMode};
use serde_json::{json, Value};
use std::time::Duration;
use time::OffsetDateTime;

/// The sign's fixed labels, by the names the page uses (`ui/signage.slint`'s `@tr`).
const LABELS: [(&str, &str); 6] = [
    ("cash_only", "CASH ONLY"),
    ("your_raincheck", "Your raincheck"),
    ("since", "Since {}"),
    ("welcome", "Welcome"),
    ("link_lost", "Status link lost since {}"),
    ("drill", "TEST — staff drill"),
];

/// Follows the console's snapshots as a screen follows the bus.
pub struct ViewTracker {
    has_state: bool,
    seq: u64,
    current: Option<(String, bool)>,
    shown_since: OffsetDateTime,
}

impl ViewTracker {
    pub fn new(now: OffsetDateTime) -> Self {
        Self {
            has_state: false,
            seq: 0,
            current: None,
            shown_since: now,
        }
    }

    /// The presentation for `snapshot` and the numbered view it shows; the number changes
    /// only when the view (or whether it is the venue's) changes.
    pub fn follow(
        &mut self,
        snapshot: &ConsoleSnapshot,
        now: OffsetDateTime,
    ) -> (Presentation, ServedView) {
        self.has_state |= snapshot.link.connected;
        let link = if snapshot.link.connected {
            LinkState::Up
        } else if self.has_state {
            LinkState::Lost {
                since: snapshot.link.blind_since.unwrap_or(now),
            }
        } else {
            LinkState::Connecting
        };
        let key = (snapshot.view.digest.clone(), self.has_state);
        if self.current.as_ref() != Some(&key) {
            self.seq += 1;
            self.current = Some(key);
            self.shown_since = now;
        }
        let presentation = Presentation {
            view: snapshot.view.view.clone(),
            has_state: self.has_state,
            restored: false,
            link,
            shown_since: self.shown_since,
            drill_full_screen: false,
        };
        let served = ServedView {
            seq: self.seq,
            digest: snapshot.view.digest.clone(),
            view: snapshot.view.view.clone(),
            synced: self.has_state,
        };
        (presentation, served)
    }
}

/// What every sign of the venue shares: its name, display settings and texts.
pub struct SignSettings {
    pub venue_name: String,
    pub display: DisplaySection,
    pub texts: TextsSection,
}

/// The `view` event for a screen showing `languages`, and when it must be recomputed
/// without news (the end of the all-clear period).
pub fn view_event(
    settings: &SignSettings,
    presentation: &Presentation,
    served: &ServedView,
    languages: &[String],
    now: OffsetDateTime,
) -> (String, Option<Duration>) {
    let mut recheck: Option<Duration> = None;
    let contents: Vec<Value> = languages
        .iter()
        .map(|language| {
            let (content, again) = screen_content(
                presentation,
                &settings.venue_name,
                &settings.display,
                &settings.texts,
                language,
                now,
            );
            recheck = match (recheck, again) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            content_json(language, &content)
        })
        .collect();
    let event = json!({
        "seq": served.seq,
        "digest": served.digest,
        "revision": served.view.revision,
        "synced": served.synced,
        "language_secs": settings.display.language_secs.max(3),
        "languages": contents,
    });
    (event.to_string(), recheck)
}

fn content_json(language: &str, content: &ScreenContent) -> Value {
    let labels: serde_json::Map<String, Value> = LABELS
        .iter()
        .map(|(name, english)| {
            (
                (*name).to_owned(),
                Value::from(screen_label(language, english)),
            )
        })
        .collect();
    json!({
        "language": language,
        "mode": match content.mode {
            ScreenMode::Booting => "booting",
            ScreenMode::Normal => "normal",
            ScreenMode::CashOnly => "cash_only",
            ScreenMode::AllClear => "all_clear",
        },
        "normal_style": content.normal_style,
        "venue_name": content.venue_name,
        "headline": content.headline,
        "body": content.body,
        "offer": content.offer,
        "cash_points": content.cash_points,
        "since_time": content.since_time,
        "link_lost_since": content.link_lost_since,
        "drill": content.drill,
        "labels": labels,
    })
}
