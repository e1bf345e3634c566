//! `[texts]`: a venue's own wording per screen mode, shared by every language
//! (`[texts.cash_only]`) or per language (`[texts.es.cash_only]`), used where a
//! declaration carries none. A text left out falls back to the screens' bundled wording,
//! which is translated (`model::wording`); a text written here is shown as written. Each
//! mode's texts are the protocol's [`IncidentTexts`] read strictly: a misspelt name is
//! refused, and so is a language the screens have no wording for.

use super::load::{Checks, Problems};
use crate::protocol::{IncidentTexts, Translations};
use serde::{Deserialize, Serialize};

/// A venue's own wording for each screen mode.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModeTexts {
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

impl ModeTexts {
    fn modes(&self) -> [(&'static str, &IncidentTexts); 3] {
        [
            ("normal", &self.normal),
            ("cash_only", &self.cash_only),
            ("all_clear", &self.all_clear),
        ]
    }

    /// Field by field, `self`'s text where it has one, else `fallback`'s.
    fn over(&self, fallback: &ModeTexts) -> ModeTexts {
        let merge = |own: &IncidentTexts, other: &IncidentTexts| {
            IncidentTexts::from_fn(|field| {
                own.get(field)
                    .or_else(|| other.get(field))
                    .map(str::to_owned)
            })
        };
        ModeTexts {
            normal: merge(&self.normal, &fallback.normal),
            cash_only: merge(&self.cash_only, &fallback.cash_only),
            all_clear: merge(&self.all_clear, &fallback.all_clear),
        }
    }
}

/// `[texts]`: `[texts.cash_only]` and its siblings are shown as written in every language;
/// `[texts.es.cash_only]` and the like only on screens showing that language, and win over
/// the shared ones there. One table per language the screens speak (`SCREEN_LANGUAGES`).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TextsSection {
    /// Shown while nothing is declared (headline only), in every language.
    #[serde(default, deserialize_with = "IncidentTexts::deserialize_strict")]
    pub normal: IncidentTexts,
    /// Shown while cards are down, unless the manager wrote their own, in every language.
    #[serde(default, deserialize_with = "IncidentTexts::deserialize_strict")]
    pub cash_only: IncidentTexts,
    /// Shown for a while after the incident is resolved, in every language.
    #[serde(default, deserialize_with = "IncidentTexts::deserialize_strict")]
    pub all_clear: IncidentTexts,
    /// English screens' own wording.
    #[serde(default)]
    pub en: ModeTexts,
    /// Spanish screens' own wording.
    #[serde(default)]
    pub es: ModeTexts,
    /// French screens' own wording.
    #[serde(default)]
    pub fr: ModeTexts,
    /// German screens' own wording.
    #[serde(default)]
    pub de: ModeTexts,
}

impl TextsSection {
    /// The venue's wording for screens showing `language`: that language's own texts,
    /// else the shared ones; what neither gives is the bundled wording's to fill.
    pub fn in_language(&self, language: &str) -> ModeTexts {
        let shared = self.shared();
        match self.language(language) {
            Some(own) => own.over(&shared),
            None => shared,
        }
    }

    /// Each language's own cash-only wording, where it has some: what the detector's
    /// automatic incidents carry, so every screen shows its language's template.
    pub fn cash_only_translations(&self) -> Translations {
        super::SCREEN_LANGUAGES
            .iter()
            .filter_map(|language| {
                let own = &self.language(language)?.cash_only;
                (*own != IncidentTexts::default()).then(|| (language.to_string(), own.clone()))
            })
            .collect()
    }

    /// The texts for every language. (Its three fields repeat `ModeTexts` because serde
    /// cannot flatten a struct into one that refuses unknown fields, and a misspelt
    /// `[texts.cash_onyl]` must be refused.)
    fn shared(&self) -> ModeTexts {
        ModeTexts {
            normal: self.normal.clone(),
            cash_only: self.cash_only.clone(),
            all_clear: self.all_clear.clone(),
        }
    }

    fn language(&self, language: &str) -> Option<&ModeTexts> {
        match language {
            "en" => Some(&self.en),
            "es" => Some(&self.es),
            "fr" => Some(&self.fr),
            "de" => Some(&self.de),
            _ => None,
        }
    }

    pub(super) fn check(&self, _: &Checks, problems: &mut Problems) {
        let shared = self.shared();
        let mut sections = vec![(String::new(), &shared)];
        for language in super::SCREEN_LANGUAGES {
            if let Some(own) = self.language(language) {
                sections.push((format!("{language}."), own));
            }
        }
        for (prefix, texts) in sections {
            for (mode, texts) in texts.modes() {
                for (field, chars) in texts.too_long() {
                    problems.push(
                        &format!("texts.{prefix}{mode}.{}", field.name()),
                        format!(
                            "{chars} characters; the limit is {}",
                            IncidentTexts::MAX_CHARS
                        ),
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
    fn a_languages_own_wording_wins_there_and_only_there() {
        let texts: TextsSection = toml::from_str(
            "[cash_only]\nheadline = \"Cash only\"\nbody = \"Shared body\"\n\
             [es.cash_only]\nheadline = \"Solo efectivo\"\n",
        )
        .unwrap();
        let spanish = texts.in_language("es").cash_only;
        assert_eq!(spanish.headline.as_deref(), Some("Solo efectivo"));
        assert_eq!(spanish.body.as_deref(), Some("Shared body"));
        let german = texts.in_language("de").cash_only;
        assert_eq!(german.headline.as_deref(), Some("Cash only"));
        let unknown: Result<TextsSection, _> = toml::from_str("[it.cash_only]\nheadline = \"x\"\n");
        let refusal = unknown
            .expect_err("a language without bundled texts")
            .to_string();
        assert!(refusal.contains("unknown field `it`"), "{refusal}");
    }
}
