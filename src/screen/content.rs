//! What a signage screen shows, decided without Slint: the screen mode (booting, normal,
//! cash only, all clear), the texts (the incident's, else the config's, else empty so the
//! screen uses its bundled, translated wording), "since 19:42", and the link-lost note.
//! The only clock it reads is `now`, for how long "all clear" stays up.

use crate::clock::hour_minute;
use crate::config::{DisplaySection, NormalStyle, TextsSection};
use crate::model::ViewMode;
use crate::node::{LinkState, Presentation};
use crate::text::printable;
use std::time::Duration;
use time::OffsetDateTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScreenMode {
    /// No status received since start: a calm neutral screen.
    Booting,
    Normal,
    CashOnly,
    AllClear,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScreenContent {
    pub mode: ScreenMode,
    pub normal_style: NormalStyle,
    pub venue_name: String,
    /// Empty strings mean "the screen's bundled wording".
    pub headline: String,
    pub body: String,
    pub offer: String,
    pub cash_points: String,
    /// "19:42", when the incident started; empty if unknown.
    pub since_time: String,
    /// "19:50" while the status link is lost; empty while it is up.
    pub link_lost_since: String,
}

/// The content to show now, and when it must be recomputed even without news (the end
/// of the all-clear period).
pub fn screen_content(
    presentation: &Presentation,
    venue_name: &str,
    display: &DisplaySection,
    texts: &TextsSection,
    now: OffsetDateTime,
) -> (ScreenContent, Option<Duration>) {
    let view = &presentation.view;
    let all_clear_for = Duration::from_secs(u64::from(display.all_clear_secs));
    // Timed from the resolve's own timestamp, not from when this screen heard it, so a
    // screen that restarts after the resolve does not show "all clear" longer than its
    // neighbours. A publisher clock ahead of ours counts as "just now" (skew margin).
    let resolved_at = view.declared_at.unwrap_or(presentation.shown_since);
    let shown_for = Duration::try_from(now - resolved_at).unwrap_or(Duration::ZERO);
    let (mode, recheck) = match view.mode {
        _ if !presentation.has_state => (ScreenMode::Booting, None),
        ViewMode::Normal => (ScreenMode::Normal, None),
        ViewMode::CashOnly => (ScreenMode::CashOnly, None),
        ViewMode::AllClear if shown_for < all_clear_for => {
            (ScreenMode::AllClear, Some(all_clear_for - shown_for))
        }
        ViewMode::AllClear => (ScreenMode::Normal, None),
    };
    let template = match mode {
        ScreenMode::CashOnly => &texts.cash_only,
        ScreenMode::AllClear => &texts.all_clear,
        ScreenMode::Normal | ScreenMode::Booting => &texts.normal,
    };
    // Incident texts belong to the incident's own screens, not to the normal screen.
    let incident_texts = matches!(mode, ScreenMode::CashOnly | ScreenMode::AllClear);
    let pick = |from_incident: &Option<String>, from_template: &Option<String>| {
        incident_texts
            .then(|| from_incident.clone())
            .flatten()
            .or_else(|| from_template.clone())
            .map(|text| printable(&text))
            .unwrap_or_default()
    };
    let content = ScreenContent {
        mode,
        normal_style: display.normal_style,
        venue_name: printable(venue_name),
        headline: pick(&view.texts.headline, &template.headline),
        body: pick(&view.texts.body, &template.body),
        offer: pick(&view.texts.offer, &template.offer),
        cash_points: pick(&view.texts.cash_points, &template.cash_points),
        since_time: match mode {
            ScreenMode::CashOnly => view.started_at.map(hour_minute).unwrap_or_default(),
            _ => String::new(),
        },
        link_lost_since: match presentation.link {
            LinkState::Lost { since } => hour_minute(since),
            _ => String::new(),
        },
    };
    (content, recheck)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::VenueView;
    use crate::protocol::IncidentTexts;

    fn presentation(mode: ViewMode, shown_since: OffsetDateTime) -> Presentation {
        let mut view = VenueView::normal();
        view.mode = mode;
        view.texts = IncidentTexts {
            headline: Some("Manager's <b>words</b>\u{7}".into()),
            ..Default::default()
        };
        view.started_at = Some(shown_since);
        view.declared_at = Some(shown_since);
        Presentation {
            view,
            has_state: true,
            link: LinkState::Up,
            shown_since,
        }
    }

    #[test]
    fn all_clear_stays_for_the_configured_time_then_normal() {
        let start = OffsetDateTime::UNIX_EPOCH;
        let display = DisplaySection {
            all_clear_secs: 60,
            ..Default::default()
        };
        let texts = TextsSection::default();
        let p = presentation(ViewMode::AllClear, start);
        let (content, recheck) = screen_content(
            &p,
            "Rialto",
            &display,
            &texts,
            start + Duration::from_secs(10),
        );
        assert_eq!(
            (content.mode, recheck),
            (ScreenMode::AllClear, Some(Duration::from_secs(50)))
        );
        let (content, recheck) = screen_content(
            &p,
            "Rialto",
            &display,
            &texts,
            start + Duration::from_secs(60),
        );
        assert_eq!((content.mode, recheck), (ScreenMode::Normal, None));
        assert_eq!(
            content.headline, "",
            "incident texts do not leak onto the normal screen"
        );
    }

    /// Content with default settings at the epoch.
    fn default_content(p: &Presentation) -> ScreenContent {
        let defaults = (DisplaySection::default(), TextsSection::default());
        screen_content(
            p,
            "Rialto",
            &defaults.0,
            &defaults.1,
            OffsetDateTime::UNIX_EPOCH,
        )
        .0
    }

    #[test]
    fn a_screen_that_restarts_after_the_resolve_does_not_prolong_all_clear() {
        let resolved = OffsetDateTime::UNIX_EPOCH;
        let display = DisplaySection {
            all_clear_secs: 60,
            ..Default::default()
        };
        let mut p = presentation(ViewMode::AllClear, resolved);
        p.shown_since = resolved + Duration::from_secs(50); // this screen rebooted late
        let (content, recheck) = screen_content(
            &p,
            "Rialto",
            &display,
            &TextsSection::default(),
            resolved + Duration::from_secs(55),
        );
        assert_eq!(
            (content.mode, recheck),
            (ScreenMode::AllClear, Some(Duration::from_secs(5)))
        );
    }

    #[test]
    fn manager_text_is_kept_as_text_and_control_characters_are_dropped() {
        let p = presentation(ViewMode::CashOnly, OffsetDateTime::UNIX_EPOCH);
        let content = default_content(&p);
        assert_eq!(content.headline, "Manager's <b>words</b>");
        assert_eq!(content.since_time, "00:00");
        assert_eq!(
            content.body, "",
            "no config template: the bundled wording is used"
        );
    }

    #[test]
    fn booting_and_link_lost() {
        let mut p = Presentation::booting(OffsetDateTime::UNIX_EPOCH);
        assert_eq!(default_content(&p).mode, ScreenMode::Booting);
        p.link = LinkState::Lost {
            since: OffsetDateTime::UNIX_EPOCH + Duration::from_secs(19 * 3600 + 50 * 60),
        };
        assert_eq!(default_content(&p).link_lost_since, "19:50");
    }
}
