//! Hands a [`ScreenContent`] to the Slint window: properties only, no logic.

use super::content::{ScreenContent, ScreenMode};
use super::ui;
use crate::config::NormalStyle;

pub fn apply(window: &ui::SignageWindow, content: &ScreenContent) {
    window.set_state(screen_state(content.mode));
    window.set_normal_style(match content.normal_style {
        NormalStyle::Welcome => ui::NormalStyle::Welcome,
        NormalStyle::Dark => ui::NormalStyle::Dark,
        NormalStyle::Transparent => ui::NormalStyle::Transparent,
    });
    window.set_venue_name(content.venue_name.as_str().into());
    window.set_headline(content.headline.as_str().into());
    window.set_body(content.body.as_str().into());
    window.set_offer(content.offer.as_str().into());
    window.set_cash_points(content.cash_points.as_str().into());
    window.set_since_time(content.since_time.as_str().into());
    window.set_link_lost_since(content.link_lost_since.as_str().into());
    window.set_drill(content.drill);
}

/// The Slint state of a screen mode (shared by the signage and counter windows).
pub fn screen_state(mode: ScreenMode) -> ui::ScreenState {
    match mode {
        ScreenMode::Booting => ui::ScreenState::Booting,
        ScreenMode::Normal => ui::ScreenState::Normal,
        ScreenMode::CashOnly => ui::ScreenState::CashOnly,
        ScreenMode::AllClear => ui::ScreenState::AllClear,
    }
}

/// Switches the bundled translation; "en" is the built-in wording.
pub fn select_language(language: &str) {
    let language = if language == "en" { "" } else { language };
    if let Err(error) = slint::select_bundled_translation(language) {
        tracing::warn!("cannot switch the screen to language {language:?}: {error}");
    }
}
