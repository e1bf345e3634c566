//! `[display]`: the screen of a `signage` or `counter` node: backend, orientation, what
//! the normal screen looks like, languages, and thumbnails for the console.

use super::load::{Checks, Problems};
use serde::{Deserialize, Serialize};

/// What a signage screen shows while nothing is declared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NormalStyle {
    /// The venue's name and "All payment methods accepted".
    #[default]
    Welcome,
    /// A black screen.
    Dark,
    /// A transparent layer, for screens that show other content underneath.
    Transparent,
}

/// Which windowing backend a screen uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScreenBackend {
    /// A window if a display server is there (X11/Wayland), else headless.
    #[default]
    Auto,
    /// Always a winit window; headless (with a log line) if none can be opened.
    Winit,
    /// Linux KMS/DRM without a display server (binary built with `--features kms`).
    Kms,
    /// No window: compute the view and report "headless" — nothing is drawn, so this
    /// node never counts as showing the view.
    Headless,
    /// Draw each view into memory with the software renderer and report the rendered
    /// frame, without a window: for tests, benchmarks and many simulated screens in one
    /// process. Not a screen guests can see.
    Offscreen,
}

impl ScreenBackend {
    /// Whether this build can draw with the backend (KMS needs `--features kms`).
    pub fn is_built_in(self) -> bool {
        self != ScreenBackend::Kms || cfg!(feature = "kms")
    }
}

/// Screen settings. Read by nodes with the `signage` or `counter` role.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DisplaySection {
    /// Kiosk mode: the window covers its whole monitor (with or without a window manager),
    /// has no frame, hides the pointer on signs, keeps the counter's keyboard focus, and
    /// keeps an X11 display from blanking (docs/DEPLOY.md, "Kiosk under cage"). Off: a
    /// desktop window.
    #[serde(default)]
    pub fullscreen: bool,
    /// A command that switches the screen on over HDMI-CEC, run once each time an incident
    /// appears on this screen, e.g. `["cec-ctl", "--to", "0", "--image-view-on"]`. Empty
    /// (default): off. A missing or failing command is logged; the screen carries on.
    #[serde(default)]
    pub cec_command: Vec<String>,
    /// "auto" (default), "winit", "kms", "headless" or "offscreen".
    #[serde(default)]
    pub backend: ScreenBackend,
    /// Screen rotation in degrees clockwise: 0, 90, 180 or 270. Applied by the KMS backend
    /// and to thumbnails; on X11/Wayland rotate the output with the compositor instead.
    #[serde(default)]
    pub rotation: u16,
    /// While nothing is declared: "welcome" (default), "dark" or "transparent".
    #[serde(default)]
    pub normal_style: NormalStyle,
    /// Seconds the "card payments are back" screen stays before the normal screen.
    #[serde(default = "default_all_clear_secs")]
    pub all_clear_secs: u32,
    /// Languages the screen rotates through, from "en" and "es".
    #[serde(default = "default_languages")]
    pub languages: Vec<String>,
    /// Seconds each language stays on screen when more than one is listed (at least 3).
    #[serde(default = "default_language_secs")]
    pub language_secs: u32,
    /// Publish a small PNG of what the screen shows, for the manager's console.
    #[serde(default)]
    pub thumbnails: bool,
    /// Thumbnail width in pixels (80-640).
    #[serde(default = "default_thumbnail_width")]
    pub thumbnail_width: u32,
    /// At most one thumbnail per this many seconds (at least 5).
    #[serde(default = "default_thumbnail_secs")]
    pub thumbnail_secs: u32,
}

/// Languages the screens have bundled texts for.
pub use crate::protocol::translations::SCREEN_LANGUAGES;

fn default_all_clear_secs() -> u32 {
    300
}
fn default_languages() -> Vec<String> {
    vec!["en".to_owned()]
}
fn default_language_secs() -> u32 {
    10
}
fn default_thumbnail_width() -> u32 {
    320
}
fn default_thumbnail_secs() -> u32 {
    30
}

impl Default for DisplaySection {
    fn default() -> Self {
        Self {
            fullscreen: false,
            cec_command: Vec::new(),
            backend: ScreenBackend::default(),
            rotation: 0,
            normal_style: NormalStyle::default(),
            all_clear_secs: default_all_clear_secs(),
            languages: default_languages(),
            language_secs: default_language_secs(),
            thumbnails: false,
            thumbnail_width: default_thumbnail_width(),
            thumbnail_secs: default_thumbnail_secs(),
        }
    }
}

impl DisplaySection {
    pub(super) fn check(&self, _: &Checks, problems: &mut Problems) {
        if !self.backend.is_built_in() {
            problems.push(
                "display.backend",
                "\"kms\" needs a binary built with `--features kms`; this one cannot draw on KMS, so the screen would stay dark",
            );
        }
        if ![0, 90, 180, 270].contains(&self.rotation) {
            problems.push(
                "display.rotation",
                format!("{} is not one of 0, 90, 180, 270", self.rotation),
            );
        }
        if self.languages.is_empty() {
            problems.push(
                "display.languages",
                format!("no languages; list at least one of {SCREEN_LANGUAGES:?}"),
            );
        }
        for language in &self.languages {
            if !SCREEN_LANGUAGES.contains(&language.as_str()) {
                problems.push(
                    "display.languages",
                    format!("{language:?} has no bundled texts; use {SCREEN_LANGUAGES:?}"),
                );
            }
        }
        if self.language_secs < 3 {
            problems.push(
                "display.language_secs",
                "must be at least 3, or guests cannot finish reading",
            );
        }
        if self.cec_command.iter().any(|part| part.trim().is_empty()) {
            problems.push(
                "display.cec_command",
                "has an empty part; write the program and each argument, e.g. [\"cec-ctl\", \"--to\", \"0\", \"--image-view-on\"], or leave it out",
            );
        }
        if !(80..=640).contains(&self.thumbnail_width) {
            problems.push(
                "display.thumbnail_width",
                format!("{} is out of range; use 80 to 640", self.thumbnail_width),
            );
        }
        if self.thumbnail_secs < 5 {
            problems.push("display.thumbnail_secs", "must be at least 5");
        }
    }
}
