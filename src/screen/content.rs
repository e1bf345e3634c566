//! What a signage screen shows, decided without Slint: the screen mode (booting, normal,
//! cash only, all clear), the texts in the language on screen (the incident's, else the
//! config's, else the bundled wording of `model::wording`), "since 19:42", and the
//! link-lost note. The only clock it reads is `now`, for how long "all clear" stays up.

use crate::clock::hour_minute;
use crate::config::{DisplaySection, ModeTexts, NormalStyle, TextsSection};
use crate::model::{bundled, LinkState, Presentation, ViewMode, WordingMode};
use crate::protocol::{IncidentTexts, TextField};
use crate::text::printable;
use std::time::Duration;
use time::OffsetDateTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScreenMode {
    /// No status received since start: a calm neutral screen.
    Booting,
    Normal,
    CashOnly,
    AllClear,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ScreenContent {
    pub mode: ScreenMode,
    pub normal_style: NormalStyle,
    pub venue_name: String,
    pub headline: String,
    pub body: String,
    pub offer: String,
    pub cash_points: String,
    /// "19:42", when the incident started; empty if unknown.
    pub since_time: String,
    /// "19:50" while the status link is lost; empty while it is up.
    pub link_lost_since: String,
    /// A staff drill runs: the "TEST — staff drill" marker is drawn over the screen.
    pub drill: bool,
}

/// The content to show now in `language`, and when it must be recomputed even without
/// news (the end of the all-clear period).
pub fn screen_content(
    presentation: &Presentation,
    venue_name: &str,
    display: &DisplaySection,
    texts: &TextsSection,
    language: &str,
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
        _ if !presentation.has_state && !presentation.restored => (ScreenMode::Booting, None),
        ViewMode::Normal => (ScreenMode::Normal, None),
        ViewMode::CashOnly => (ScreenMode::CashOnly, None),
        ViewMode::AllClear if shown_for < all_clear_for => {
            (ScreenMode::AllClear, Some(all_clear_for - shown_for))
        }
        ViewMode::AllClear => (ScreenMode::Normal, None),
    };
    let drill = view.drill.is_some() && mode != ScreenMode::Booting;
    // A screen the drill names shows the venue's own cash-only screen (never an old
    // incident's words), with the marker; the others keep what they show.
    let drill_full_screen = drill && presentation.drill_full_screen && mode != ScreenMode::CashOnly;
    let quiet;
    let (mode, words_of) = if drill_full_screen {
        quiet = Presentation {
            view: crate::model::VenueView::normal(),
            ..presentation.clone()
        };
        (ScreenMode::CashOnly, &quiet)
    } else {
        (mode, presentation)
    };
    let chosen = chosen_texts(words_of, mode, &texts.in_language(language), language);
    let wording = match mode {
        ScreenMode::CashOnly => WordingMode::CashOnly,
        ScreenMode::AllClear => WordingMode::AllClear,
        ScreenMode::Normal | ScreenMode::Booting => WordingMode::Normal,
    };
    // A text that is blank once made printable counts as not given: the bundled wording.
    let text = |field: TextField| {
        chosen
            .get(field)
            .map(printable)
            .filter(|text| !text.trim().is_empty())
            .or_else(|| bundled(language, wording, field).map(str::to_owned))
            .unwrap_or_default()
    };
    let content = ScreenContent {
        mode,
        normal_style: display.normal_style,
        venue_name: printable(venue_name),
        headline: text(TextField::Headline),
        body: text(TextField::Body),
        offer: text(TextField::Offer),
        cash_points: text(TextField::CashPoints),
        since_time: match mode {
            ScreenMode::CashOnly if !drill_full_screen => {
                view.started_at.map(hour_minute).unwrap_or_default()
            }
            _ => String::new(),
        },
        link_lost_since: match presentation.link {
            LinkState::Lost { since } => hour_minute(since),
            _ => String::new(),
        },
        drill,
    };
    (content, recheck)
}

/// The texts somebody chose for this screen in `language`: the incident's (on the
/// incident's own screens only: its translation for the language, else its texts for
/// every language), else the venue config's template in the language; `None` where
/// none set one. A blank incident text means "the template" (the console sends the
/// wording a manager left untouched that way, so each screen shows its language).
pub fn chosen_texts(
    presentation: &Presentation,
    mode: ScreenMode,
    templates: &ModeTexts,
    language: &str,
) -> IncidentTexts {
    let template = match mode {
        ScreenMode::CashOnly => &templates.cash_only,
        ScreenMode::AllClear => &templates.all_clear,
        ScreenMode::Normal | ScreenMode::Booting => &templates.normal,
    };
    // Incident texts belong to the incident's own screens, not to the normal screen.
    let incident = matches!(mode, ScreenMode::CashOnly | ScreenMode::AllClear);
    let view = &presentation.view;
    let translated = view.translations.get(language).filter(|_| incident);
    fn given(text: Option<&str>) -> Option<&str> {
        text.filter(|text| !printable(text).is_empty())
    }
    IncidentTexts::from_fn(|field| {
        given(translated.and_then(|texts| texts.get(field)))
            .or_else(|| given(incident.then(|| view.texts.get(field)).flatten()))
            .or_else(|| template.get(field))
            .map(str::to_owned)
    })
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
            restored: false,
            link: LinkState::Up,
            shown_since,
            drill_full_screen: false,
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
            "en",
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
            "en",
            start + Duration::from_secs(60),
        );
        assert_eq!((content.mode, recheck), (ScreenMode::Normal, None));
        assert_eq!(
            content.headline, "All payment methods accepted",
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
            "en",
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
            "en",
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
            content.body, "Please pay with cash. We are sorry for the wait.",
            "no config template: the bundled wording is used"
        );
    }

    #[test]
    fn the_bundled_wording_follows_the_language_and_a_template_wins_over_it() {
        let p = presentation(ViewMode::CashOnly, OffsetDateTime::UNIX_EPOCH);
        let mut texts = TextsSection::default();
        texts.cash_only.offer = Some("A free popcorn".into());
        let display = DisplaySection::default();
        let at = OffsetDateTime::UNIX_EPOCH;
        let (spanish, _) = screen_content(&p, "Rialto", &display, &texts, "es", at);
        assert_eq!(
            spanish.headline, "Manager's <b>words</b>",
            "the incident's, as written"
        );
        assert_eq!(
            spanish.body,
            "Por favor, pague en efectivo. Sentimos la espera."
        );
        assert_eq!(spanish.offer, "A free popcorn", "the venue's template");
        let (english, _) = screen_content(&p, "Rialto", &display, &texts, "en", at);
        assert_eq!(english.cash_points, "Cash is accepted at every till.");
    }

    #[test]
    fn a_blank_text_shows_the_bundled_wording_not_nothing() {
        let mut p = presentation(ViewMode::CashOnly, OffsetDateTime::UNIX_EPOCH);
        p.view.texts.headline = Some(" \u{7} ".into());
        assert_eq!(default_content(&p).headline, "Card payments are down");
    }

    #[test]
    fn a_blank_incident_text_means_the_template_of_the_language_on_screen() {
        let mut p = presentation(ViewMode::CashOnly, OffsetDateTime::UNIX_EPOCH);
        p.view.texts = IncidentTexts {
            headline: Some(String::new()),
            body: Some(String::new()),
            ..Default::default()
        };
        let mut texts = TextsSection::default();
        texts.en.cash_only.headline = Some("Cash only right now".into());
        texts.es.cash_only.headline = Some("Ahora solo efectivo".into());
        let (display, at) = (DisplaySection::default(), OffsetDateTime::UNIX_EPOCH);
        let (spanish, _) = screen_content(&p, "Rialto", &display, &texts, "es", at);
        assert_eq!(spanish.headline, "Ahora solo efectivo");
        assert_eq!(
            spanish.body,
            "Por favor, pague en efectivo. Sentimos la espera."
        );
        let (english, _) = screen_content(&p, "Rialto", &display, &texts, "en", at);
        assert_eq!(english.headline, "Cash only right now");
        let (german, _) = screen_content(&p, "Rialto", &display, &texts, "de", at);
        assert_eq!(german.headline, "Kartenzahlung ist gerade nicht möglich");
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
