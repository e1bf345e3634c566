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

/// (mode, field, the text in each of `SCREEN_LANGUAGES`: English, Spanish, French, German).
const WORDING: &[(WordingMode, TextField, [&str; 4])] = &[
    (
        WordingMode::Normal,
        TextField::Headline,
        [
            "All payment methods accepted",
            "Aceptamos todos los medios de pago",
            "Tous les moyens de paiement sont acceptés",
            "Alle Zahlungsarten werden akzeptiert",
        ],
    ),
    (
        WordingMode::CashOnly,
        TextField::Headline,
        [
            "Card payments are down",
            "Los pagos con tarjeta no funcionan",
            "Le paiement par carte est indisponible",
            "Kartenzahlung ist gerade nicht möglich",
        ],
    ),
    (
        WordingMode::CashOnly,
        TextField::Body,
        [
            "Please pay with cash. We are sorry for the wait.",
            "Por favor, pague en efectivo. Sentimos la espera.",
            "Merci de régler en espèces. Veuillez nous excuser pour l'attente.",
            "Bitte zahlen Sie bar. Entschuldigen Sie die Wartezeit.",
        ],
    ),
    (
        WordingMode::CashOnly,
        TextField::Offer,
        [
            "Ask any member of staff for your raincheck.",
            "Pida su vale de cortesía a cualquier miembro del personal.",
            "Demandez votre bon à valoir à un membre du personnel.",
            "Fragen Sie unser Personal nach Ihrem Gutschein.",
        ],
    ),
    (
        WordingMode::CashOnly,
        TextField::CashPoints,
        [
            "Cash is accepted at every till.",
            "Aceptamos efectivo en todas las cajas.",
            "Toutes nos caisses acceptent les espèces.",
            "Barzahlung ist an allen Kassen möglich.",
        ],
    ),
    (
        WordingMode::AllClear,
        TextField::Headline,
        [
            "Card payments are back",
            "Ya aceptamos pagos con tarjeta",
            "Le paiement par carte fonctionne à nouveau",
            "Kartenzahlung ist wieder möglich",
        ],
    ),
    (
        WordingMode::AllClear,
        TextField::Body,
        [
            "Thank you for your patience.",
            "Gracias por su paciencia.",
            "Merci de votre patience.",
            "Vielen Dank für Ihre Geduld.",
        ],
    ),
];

/// The bundled text of `field` on `mode`'s screen in `language` (one of
/// `SCREEN_LANGUAGES`); `None` where the screen shows nothing for that field. Any other
/// language gets English.
pub fn bundled(language: &str, mode: WordingMode, field: TextField) -> Option<&'static str> {
    let column = crate::protocol::translations::SCREEN_LANGUAGES
        .iter()
        .position(|known| *known == language)
        .unwrap_or(0);
    WORDING
        .iter()
        .find(|(m, f, _)| *m == mode && *f == field)
        .map(|(_, _, texts)| texts[column])
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
        let languages = crate::protocol::translations::SCREEN_LANGUAGES;
        assert_eq!(
            languages,
            ["en", "es", "fr", "de"],
            "a language without wording"
        );
        for (mode, field, texts) in WORDING {
            for (column, language) in languages.iter().enumerate() {
                assert_eq!(bundled(language, *mode, *field), Some(texts[column]));
                if column > 0 {
                    assert_ne!(
                        texts[column], texts[0],
                        "{mode:?} {field:?} is not translated to {language}"
                    );
                }
            }
        }
        assert_eq!(bundled("en", WordingMode::AllClear, TextField::Offer), None);
        assert_eq!(
            bundled("it", WordingMode::Normal, TextField::Headline),
            Some("All payment methods accepted"),
            "a language without wording falls back to English"
        );
        let cash = bundled_texts("es", WordingMode::CashOnly);
        assert_eq!(
            cash.headline.as_deref(),
            Some("Los pagos con tarjeta no funcionan")
        );
    }
}
