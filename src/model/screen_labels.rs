//! The signs' fixed labels ("CASH ONLY", "Your raincheck", "Since {}") in each language,
//! read from the same translation catalogues the Slint screens are compiled with
//! (`ui/translations/*/LC_MESSAGES/raincheck.po`), so the console's preview of a
//! Spanish screen says what the screen says without a second copy of the wording.

/// (language, catalogue) for every language with a catalogue; English is the msgid.
const CATALOGUES: [(&str, &str); 3] = [
    (
        "es",
        include_str!("../../ui/translations/es/LC_MESSAGES/raincheck.po"),
    ),
    (
        "fr",
        include_str!("../../ui/translations/fr/LC_MESSAGES/raincheck.po"),
    ),
    (
        "de",
        include_str!("../../ui/translations/de/LC_MESSAGES/raincheck.po"),
    ),
];

/// The sign's label `english` in `language`; English where there is no translation.
pub fn screen_label(language: &str, english: &str) -> String {
    CATALOGUES
        .iter()
        .find(|(code, _)| *code == language)
        .and_then(|(_, catalogue)| translation(catalogue, english))
        .unwrap_or_else(|| english.to_owned())
}

/// The `msgstr` of `msgid` in a catalogue of single-line entries.
fn translation(catalogue: &str, msgid: &str) -> Option<String> {
    let mut lines = catalogue.lines().map(str::trim);
    while let Some(line) = lines.next() {
        let Some(id) = quoted(line, "msgid ") else {
            continue;
        };
        if id == msgid {
            let text = lines.next().and_then(|next| quoted(next, "msgstr "))?;
            return (!text.is_empty()).then_some(text);
        }
    }
    None
}

fn quoted(line: &str, keyword: &str) -> Option<String> {
    let inner = line
        .strip_prefix(keyword)?
        .strip_prefix('"')?
        .strip_suffix('"')?;
    Some(inner.replace("\\\"", "\"").replace("\\\\", "\\"))
}

/// A language's own name, as its speakers write it (the console's language tabs).
pub fn language_name(language: &str) -> &'static str {
    match language {
        "es" => "Español",
        "fr" => "Français",
        "de" => "Deutsch",
        _ => "English",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_translates_every_sign_label() {
        for label in [
            "CASH ONLY",
            "Your raincheck",
            "Since {}",
            "Welcome",
            "TEST — staff drill",
        ] {
            for language in ["es", "fr", "de"] {
                let translated = screen_label(language, label);
                assert_ne!(translated, label, "{label:?} has no {language} translation");
            }
            assert_eq!(screen_label("en", label), label);
        }
        assert_eq!(screen_label("es", "CASH ONLY"), "SOLO EFECTIVO");
        assert_eq!(screen_label("de", "Since {}"), "Seit {}");
    }
}
