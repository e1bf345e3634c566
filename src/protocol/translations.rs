//! An incident's wording per language. A declaration's `texts` are shown in every
//! language; `translations` holds, per language tag (`"es"`), texts shown instead on
//! screens showing that language. Each screen then fills what neither gives from its
//! own template in its language, else the bundled wording (`screen::content`). A
//! language no screen speaks is carried and ignored, so a newer console may know more.

use super::texts::IncidentTexts;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The languages raincheck's screens have bundled wording for (`model::wording`, whose
/// table has a column per language in this order) and sign translations (`ui/translations`).
pub const SCREEN_LANGUAGES: [&str; 4] = ["en", "es", "fr", "de"];

/// Per language tag, the texts screens showing that language use over the shared ones.
pub type Translations = BTreeMap<String, IncidentTexts>;

/// Most languages one declaration carries (the payload stays far under its size limit).
pub const MAX_TRANSLATIONS: usize = 8;

/// What is wrong with a declaration's translations.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TranslationProblem {
    #[error("{0:?} is not a language tag (two or three lowercase letters, such as \"es\")")]
    NotALanguage(String),
    #[error("{count} languages; the limit is {MAX_TRANSLATIONS}")]
    TooMany { count: usize },
    #[error(
        "the {language} {field} is {chars} characters; the limit is {}",
        IncidentTexts::MAX_CHARS
    )]
    TooLong {
        language: String,
        field: &'static str,
        chars: usize,
    },
}

/// The first problem of `translations`, if any.
pub fn check_translations(translations: &Translations) -> Result<(), TranslationProblem> {
    if translations.len() > MAX_TRANSLATIONS {
        return Err(TranslationProblem::TooMany {
            count: translations.len(),
        });
    }
    for (language, texts) in translations {
        if !is_language_tag(language) {
            return Err(TranslationProblem::NotALanguage(language.clone()));
        }
        if let Some((field, chars)) = texts.too_long().next() {
            return Err(TranslationProblem::TooLong {
                language: language.clone(),
                field: field.name(),
                chars,
            });
        }
    }
    Ok(())
}

fn is_language_tag(tag: &str) -> bool {
    (2..=3).contains(&tag.len()) && tag.bytes().all(|b| b.is_ascii_lowercase())
}

/// Texts as a person wrote them for one language (the console's form): unknown names are
/// refused, as in a config file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(transparent)]
pub struct WrittenTexts(
    #[serde(deserialize_with = "IncidentTexts::deserialize_strict")] pub IncidentTexts,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_counts_and_lengths_are_checked() {
        let texts = |headline: &str| IncidentTexts {
            headline: Some(headline.into()),
            ..Default::default()
        };
        let fine: Translations = [("es".to_owned(), texts("Solo efectivo"))].into();
        assert_eq!(check_translations(&fine), Ok(()));
        let odd: Translations = [("ES-x".to_owned(), texts("x"))].into();
        assert!(matches!(
            check_translations(&odd),
            Err(TranslationProblem::NotALanguage(_))
        ));
        let long: Translations = [("de".to_owned(), texts(&"x".repeat(501)))].into();
        assert!(matches!(
            check_translations(&long),
            Err(TranslationProblem::TooLong { .. })
        ));
        let many: Translations = ["aa", "ab", "ac", "ad", "ae", "af", "ag", "ah", "ai"]
            .into_iter()
            .map(|tag| (tag.to_owned(), texts("x")))
            .collect();
        assert!(matches!(
            check_translations(&many),
            Err(TranslationProblem::TooMany { count: 9 })
        ));
        let written: BTreeMap<String, WrittenTexts> =
            serde_json::from_str(r#"{"es":{"headline":"Hola"}}"#).unwrap();
        assert_eq!(written["es"].0.headline.as_deref(), Some("Hola"));
        let misspelt: Result<BTreeMap<String, WrittenTexts>, _> =
            serde_json::from_str(r#"{"es":{"headlin":"Hola"}}"#);
        assert!(misspelt.is_err());
    }
}
