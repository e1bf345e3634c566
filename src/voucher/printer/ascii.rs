//! Untrusted text made printable on a receipt: control characters removed, common
//! accented letters and typographic punctuation mapped to ASCII for the printer's code
//! page, each field capped in length so a bad config cannot print metres of paper, and
//! greedy word wrap to the paper's columns.

/// Longest field, in characters after sanitising: a few lines of terms, never metres.
pub const MAX_FIELD_CHARACTERS: usize = 300;

/// The text reduced to printable ASCII, at most [`MAX_FIELD_CHARACTERS`] long: control
/// characters removed (tabs and line breaks become spaces, so words stay apart), common
/// accented letters and typographic punctuation mapped to ASCII, anything else `?`.
pub(super) fn printable_ascii(untrusted: &str) -> String {
    let mut text = String::new();
    for character in untrusted.chars() {
        if text.len() >= MAX_FIELD_CHARACTERS {
            break;
        }
        match character {
            '\t' | '\n' | '\r' => text.push(' '),
            ' '..='~' => text.push(character),
            _ if character.is_control() => {}
            _ => text.push_str(ascii_for(character)),
        }
    }
    // Everything pushed is ASCII, so cutting at a byte count is cutting at a character.
    text.truncate(MAX_FIELD_CHARACTERS);
    text
}

/// The ASCII stand-in for a character outside printable ASCII.
fn ascii_for(character: char) -> &'static str {
    const BASE_LETTERS: &[(&str, &str)] = &[
        ("A", "ÀÁÂÃÄÅĀĂĄ"),
        ("a", "àáâãäåāăą"),
        ("C", "ÇĆĈĊČ"),
        ("c", "çćĉċč"),
        ("D", "ĎĐÐ"),
        ("d", "ďđð"),
        ("E", "ÈÉÊËĒĔĖĘĚ"),
        ("e", "èéêëēĕėęě"),
        ("G", "ĜĞĠĢ"),
        ("g", "ĝğġģ"),
        ("H", "ĤĦ"),
        ("h", "ĥħ"),
        ("I", "ÌÍÎÏĨĪĬĮİ"),
        ("i", "ìíîïĩīĭįı"),
        ("J", "Ĵ"),
        ("j", "ĵ"),
        ("K", "Ķ"),
        ("k", "ķ"),
        ("L", "ĹĻĽĿŁ"),
        ("l", "ĺļľŀł"),
        ("N", "ÑŃŅŇ"),
        ("n", "ñńņň"),
        ("O", "ÒÓÔÕÖØŌŎŐ"),
        ("o", "òóôõöøōŏő"),
        ("R", "ŔŖŘ"),
        ("r", "ŕŗř"),
        ("S", "ŚŜŞŠ"),
        ("s", "śŝşš"),
        ("T", "ŢŤŦ"),
        ("t", "ţťŧ"),
        ("U", "ÙÚÛÜŨŪŬŮŰŲ"),
        ("u", "ùúûüũūŭůűų"),
        ("W", "Ŵ"),
        ("w", "ŵ"),
        ("Y", "ÝŶŸ"),
        ("y", "ýÿŷ"),
        ("Z", "ŹŻŽ"),
        ("z", "źżž"),
        ("AE", "Æ"),
        ("ae", "æ"),
        ("OE", "Œ"),
        ("oe", "œ"),
        ("ss", "ß"),
        ("Th", "Þ"),
        ("th", "þ"),
        // Managers paste texts from word processors, which curl quotes and lengthen dashes.
        ("'", "‘’‚′´"),
        ("\"", "“”„″«»"),
        ("-", "‐‑‒–—―−"),
        ("...", "…"),
        ("*", "•·"),
        ("x", "×"),
        (" ", "\u{a0}\u{2002}\u{2003}\u{2007}\u{2009}\u{202f}"),
        ("EUR", "€"),
        ("GBP", "£"),
    ];
    // Invisible formatting (zero-width spaces, direction overrides) would otherwise become
    // stray question marks in the middle of words.
    const INVISIBLE: &str =
        "\u{ad}\u{200b}\u{200c}\u{200d}\u{200e}\u{200f}\u{202a}\u{202b}\u{202c}\u{202d}\u{202e}\u{2060}\u{feff}";
    if INVISIBLE.contains(character) {
        return "";
    }
    BASE_LETTERS
        .iter()
        .find(|(_, variants)| variants.contains(character))
        .map_or("?", |(ascii, _)| ascii)
}

/// Greedy word wrap: words never split unless one alone is wider than the paper.
pub(super) fn wrap(text: &str, columns: usize) -> Vec<String> {
    let columns = columns.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word = word;
        if !line.is_empty() && line.len() + 1 + word.len() > columns {
            lines.push(std::mem::take(&mut line));
        }
        while word.len() > columns {
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // The text is ASCII, so any byte index is a character boundary.
            let (head, rest) = word.split_at(columns);
            lines.push(head.to_owned());
            word = rest;
        }
        if word.is_empty() {
            continue;
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// Font A on 80 mm paper.
    const COLUMNS: usize = 42;

    #[test]
    fn wrapping_never_splits_a_word_that_fits_on_a_line() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(42);
        for _ in 0..2_000 {
            let words: Vec<String> = (0..rng.gen_range(0..40))
                .map(|_| {
                    let length = rng.gen_range(1..=COLUMNS);
                    (0..length)
                        .map(|_| char::from(rng.gen_range(b'a'..=b'z')))
                        .collect()
                })
                .collect();
            let text = words.join(if rng.gen_bool(0.5) { " " } else { "  \t" });
            let lines = wrap(&text, COLUMNS);
            assert!(lines.iter().all(|line| line.len() <= COLUMNS), "{lines:?}");
            let rewrapped: Vec<&str> = lines.iter().flat_map(|l| l.split(' ')).collect();
            assert_eq!(rewrapped, words, "every word kept whole and in order");
        }
    }

    #[test]
    fn a_word_wider_than_the_paper_is_cut_at_the_paper_edge() {
        let long = "x".repeat(100);
        let lines = wrap(&format!("before {long} after"), COLUMNS);
        assert_eq!(
            lines,
            [
                "before",
                &long[..42],
                &long[42..84],
                &format!("{} after", &long[84..])
            ]
        );
        assert_eq!(wrap("   ", COLUMNS), Vec::<String>::new());
    }
}
