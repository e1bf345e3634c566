//! The texts of a screen mode — headline, body, offer, cash points — as one type with one
//! mapping: [`TextField`] names each text, and every place that combines texts (a
//! declaration filled from a template, the bundled wording, the console's form, a
//! screen's content) goes field by field through it instead of spelling the four out.
//!
//! On the wire, texts are read leniently (unknown fields ignored, so newer publishers stay
//! readable) but strictly typed: each text is a string or absent, and an array is not a
//! set of texts. Where a person writes them (a config file, the console's form), unknown
//! names are refused instead ([`IncidentTexts::deserialize_strict`]), so a misspelt field
//! is an error rather than the template silently shown on every screen.

use serde::de::{DeserializeSeed, Error as _, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// One of the texts a screen mode shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TextField {
    /// The big line, readable from ten metres.
    Headline,
    /// One or two sentences under the headline.
    Body,
    /// The raincheck offer (cash-only mode).
    Offer,
    /// Where cash is accepted (cash-only mode).
    CashPoints,
}

impl TextField {
    pub const ALL: [TextField; 4] = [
        TextField::Headline,
        TextField::Body,
        TextField::Offer,
        TextField::CashPoints,
    ];
    /// The field names, as written in JSON and TOML.
    pub const NAMES: &'static [&'static str] = &["headline", "body", "offer", "cash_points"];

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|field| field.name() == name)
    }
}

/// Texts a manager (or a config template) may set; `None` means "the next fallback":
/// the incident's, the config's template, then the screens' bundled wording.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct IncidentTexts {
    /// The big line, readable from ten metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headline: Option<String>,
    /// One or two sentences under the headline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The raincheck offer (cash-only mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer: Option<String>,
    /// Where cash is accepted (cash-only mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cash_points: Option<String>,
}

impl IncidentTexts {
    /// Longest accepted text per field, in characters; screens must stay readable.
    pub const MAX_CHARS: usize = 500;

    /// Texts made field by field.
    pub fn from_fn(mut text: impl FnMut(TextField) -> Option<String>) -> Self {
        let mut texts = Self::default();
        for field in TextField::ALL {
            *texts.slot(field) = text(field);
        }
        texts
    }

    pub fn get(&self, field: TextField) -> Option<&str> {
        match field {
            TextField::Headline => self.headline.as_deref(),
            TextField::Body => self.body.as_deref(),
            TextField::Offer => self.offer.as_deref(),
            TextField::CashPoints => self.cash_points.as_deref(),
        }
    }

    /// Sets one field.
    pub fn set(&mut self, field: TextField, text: Option<String>) {
        *self.slot(field) = text;
    }

    fn slot(&mut self, field: TextField) -> &mut Option<String> {
        match field {
            TextField::Headline => &mut self.headline,
            TextField::Body => &mut self.body,
            TextField::Offer => &mut self.offer,
            TextField::CashPoints => &mut self.cash_points,
        }
    }

    /// Every field with its name, for checks and messages.
    pub fn fields(&self) -> impl Iterator<Item = (TextField, Option<&str>)> {
        TextField::ALL
            .into_iter()
            .map(move |field| (field, self.get(field)))
    }

    /// Each text longer than [`Self::MAX_CHARS`]: (field, characters).
    pub fn too_long(&self) -> impl Iterator<Item = (TextField, usize)> + '_ {
        self.fields()
            .map(|(field, text)| (field, text.map_or(0, |t| t.chars().count())))
            .filter(|(_, chars)| *chars > Self::MAX_CHARS)
    }

    /// As written by a person (config, console form): unknown names are refused.
    pub fn deserialize_strict<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Self, D::Error> {
        deserializer.deserialize_map(TextsVisitor { strict: true })
    }
}

impl<'de> Deserialize<'de> for IncidentTexts {
    /// As published: unknown names are ignored (newer publishers), wrong types refused.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(TextsVisitor { strict: false })
    }
}

struct TextsVisitor {
    strict: bool,
}

impl<'de> Visitor<'de> for TextsVisitor {
    type Value = IncidentTexts;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a table of texts (headline, body, offer, cash_points)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<IncidentTexts, A::Error> {
        let mut texts = IncidentTexts::default();
        let seed = FieldName {
            strict: self.strict,
        };
        while let Some(name) = map.next_key_seed(seed)? {
            match name {
                Some(field) => {
                    if texts.get(field).is_some() {
                        return Err(A::Error::duplicate_field(field.name()));
                    }
                    *texts.slot(field) = map.next_value::<Option<String>>()?;
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(texts)
    }
}

/// Reads one key: a field, `None` for an unknown name (lenient), or an error raised while
/// the key is read — so a TOML reader puts it on the key's own line.
#[derive(Clone, Copy)]
struct FieldName {
    strict: bool,
}

impl<'de> DeserializeSeed<'de> for FieldName {
    type Value = Option<TextField>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for FieldName {
    type Value = Option<TextField>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("the name of a text")
    }

    fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Self::Value, E> {
        match TextField::from_name(name) {
            Some(field) => Ok(Some(field)),
            None if self.strict => Err(E::unknown_field(name, TextField::NAMES)),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_read_by_name_and_typed() {
        let texts: IncidentTexts =
            serde_json::from_str(r#"{"headline":"Cash only","future":{"x":1}}"#).unwrap();
        assert_eq!(texts.get(TextField::Headline), Some("Cash only"));
        assert!(serde_json::from_str::<IncidentTexts>(r#"["a","b"]"#).is_err());
        assert!(serde_json::from_str::<IncidentTexts>(r#"{"headline":3}"#).is_err());
        let strict = IncidentTexts::deserialize_strict(&mut serde_json::Deserializer::from_str(
            r#"{"headlin":"typo"}"#,
        ));
        let refusal = strict.unwrap_err().to_string();
        assert!(refusal.contains("unknown field `headlin`"), "{refusal}");
    }

    #[test]
    fn one_mapping_round_trips_every_field() {
        let texts = IncidentTexts::from_fn(|field| Some(field.name().to_uppercase()));
        for field in TextField::ALL {
            assert_eq!(texts.get(field), Some(field.name().to_uppercase().as_str()));
            assert_eq!(TextField::from_name(field.name()), Some(field));
        }
        let json = serde_json::to_value(&texts).unwrap();
        assert_eq!(json["cash_points"], "CASH_POINTS");
    }
}
