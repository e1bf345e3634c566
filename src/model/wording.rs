//! The screens' bundled wording: what a sign says in each mode and language when neither
//! the incident nor the venue's config gives a text. This table is the one source of it:
//! the signage screen draws it (through `screen::content`), the console pre-fills its
//! declare form from it (`/api/templates`), and nothing else spells it out.

use crate::protocol::{IncidentTexts, TextField};

/// Which screen the wording is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WordingMode {
    Normal,
    CashOnly,
    AllClear,
}

/// (mode, field, English, Spanish).
const WORDING: &[(WordingMode, TextField, &str, &str)] = &[
    (
        WordingMode::Normal,
        TextField::Headline,
        "All payment methods accepted",
        "Aceptamos todos los medios de pago",
    ),
    (
        WordingMode::CashOnly,
        TextField::Headline,
        "Card payments are down",
        "Los pagos con tarjeta no funcionan",
    ),
    (
        WordingMode::CashOnly,
        TextField::Body,
        "Please pay with cash. We are sorry for the wait.",
        "Por favor, pague en efectivo. Sentimos la espera.",
    ),
    (
        WordingMode::CashOnly,
        TextField::Offer,
        "Ask any member of staff for your raincheck.",
        "Pida su vale de cortesía a cualquier miembro del personal.",
    ),
    (
        WordingMode::CashOnly,
        TextField::CashPoints,
        "Cash is accepted at every till.",
        "Aceptamos efectivo en todas las cajas.",
    ),
    (
        WordingMode::AllClear,
        TextField::Headline,
        "Card payments are back",
        "Ya aceptamos pagos con tarjeta",
    ),
    (
        WordingMode::AllClear,
        TextField::Body,
        "Thank you for your patience.",
        "Gracias por su paciencia.",
    ),
];

/// The bundled text of `field` on `mode`'s screen in `language` (one of the config's
/// `SCREEN_LANGUAGES`); `None` where the screen shows nothing for that field. Any other
/// language gets English.
pub fn bundled(language: &str, mode: WordingMode, field: TextField) -> Option<&'static str> {
    WORDING
        .iter()
        .find(|(m, f, _, _)| *m == mode && *f == field)
        .map(|(_, _, english, spanish)| match language {
            "es" => *spanish,
            _ => *english,
        })
}

/// Every bundled text of `mode` in `language`.
pub fn bundled_texts(language: &str, mode: WordingMode) -> IncidentTexts {
    IncidentTexts::from_fn(|field| bundled(language, mode, field).map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_bundled_text() {
        assert_eq!(
            crate::config::SCREEN_LANGUAGES,
            ["en", "es"],
            "a language without wording"
        );
        for (mode, field, english, spanish) in WORDING {
            assert_eq!(bundled("en", *mode, *field), Some(*english));
            assert_eq!(bundled("es", *mode, *field), Some(*spanish));
            assert_ne!(english, spanish, "{mode:?} {field:?} is not translated");
        }
        assert_eq!(bundled("en", WordingMode::AllClear, TextField::Offer), None);
        let cash = bundled_texts("es", WordingMode::CashOnly);
        assert_eq!(
            cash.headline.as_deref(),
            Some("Los pagos con tarjeta no funcionan")
        );
    }
}
