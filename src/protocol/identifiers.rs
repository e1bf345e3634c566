//! Identifiers of venues, nodes and sources. They appear inside topic names, so they are
//! restricted to a small, printable alphabet that can never contain MQTT wildcards or
//! separators; one validated type keeps that rule in one place.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// A venue, node or source id: 1–64 characters of `a-z`, `0-9`, `-` and `_`, starting
/// with a letter or digit (a leading `_` is reserved for `_chain`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Identifier(String);

/// Why a string is not a valid identifier; the message says what would be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    #[error("is empty; use 1 to 64 characters of a-z, 0-9, '-' and '_'")]
    Empty,
    #[error("is {0} characters long; the limit is 64")]
    TooLong(usize),
    #[error("contains {0:?}; use only a-z, 0-9, '-' and '_'")]
    BadCharacter(char),
    #[error("starts with {0:?}; start with a letter or a digit")]
    BadStart(char),
}

impl Identifier {
    pub const MAX_LEN: usize = 64;

    pub fn parse(text: &str) -> Result<Self, IdentifierError> {
        let first = text.chars().next().ok_or(IdentifierError::Empty)?;
        if text.len() > Self::MAX_LEN {
            return Err(IdentifierError::TooLong(text.chars().count()));
        }
        if let Some(bad) = text
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
        {
            return Err(IdentifierError::BadCharacter(bad));
        }
        if !first.is_ascii_alphanumeric() {
            return Err(IdentifierError::BadStart(first));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Identifier {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Identifier::parse(&text).map_err(|error| {
            // The value may be kilobytes of junk; the log needs only its start.
            let shown: String = text.chars().take(70).collect();
            serde::de::Error::custom(format!("{shown:?} {error}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_ids_and_rejects_wildcards_and_separators() {
        assert!(Identifier::parse("lobby-1").is_ok());
        assert!(Identifier::parse("pos_2").is_ok());
        for bad in [
            "",
            "+",
            "#",
            "a/b",
            "Lobby",
            "_chain",
            "-x",
            "é",
            &"a".repeat(65),
        ] {
            assert!(Identifier::parse(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
