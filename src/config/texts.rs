//! `[texts]`: a venue's own wording per screen mode, used where a declaration carries
//! none. A text left out falls back to the screens' bundled wording, which is translated
//! (`model::wording`); a text written here is shown as written. Each mode's texts are
//! the protocol's [`IncidentTexts`] read strictly: a misspelt name is refused.

use super::load::{Checks, Problems};
use crate::protocol::IncidentTexts;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TextsSection {
    /// Shown while nothing is declared (headline only).
    #[serde(default, deserialize_with = "IncidentTexts::deserialize_strict")]
    pub normal: IncidentTexts,
    /// Shown while cards are down, unless the manager wrote their own.
    #[serde(default, deserialize_with = "IncidentTexts::deserialize_strict")]
    pub cash_only: IncidentTexts,
    /// Shown for a while after the incident is resolved.
    #[serde(default, deserialize_with = "IncidentTexts::deserialize_strict")]
    pub all_clear: IncidentTexts,
}

impl TextsSection {
    pub(super) fn check(&self, _: &Checks, problems: &mut Problems) {
        for (mode, texts) in [
            ("normal", &self.normal),
            ("cash_only", &self.cash_only),
            ("all_clear", &self.all_clear),
        ] {
            for (field, chars) in texts.too_long() {
                problems.push(
                    &format!("texts.{mode}.{}", field.name()),
                    format!(
                        "{chars} characters; the limit is {}",
                        IncidentTexts::MAX_CHARS
                    ),
                );
            }
        }
    }
}
