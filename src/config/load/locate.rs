//! Where in the config text a problem is: the key or line a serde message names, the
//! innermost key at an offset, and the text of each section on its own (others blanked)
//! so one section's error does not hide the next. Text only; `load.rs` decides.

use super::SECTIONS;
use std::collections::BTreeMap;
use std::ops::Range;

/// Walks a table for the innermost key-value whose text contains `offset`.
pub(super) fn find_key(
    table: &dyn toml_edit::TableLike,
    prefix: &str,
    offset: usize,
    best: &mut Option<(String, Range<usize>)>,
) {
    for (key, item) in table.iter() {
        let path = if prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{prefix}.{key}")
        };
        match item {
            toml_edit::Item::Table(inner) => find_key(inner, &path, offset, best),
            toml_edit::Item::ArrayOfTables(array) => {
                for inner in array.iter() {
                    find_key(inner, &path, offset, best);
                }
            }
            toml_edit::Item::Value(value) => {
                let start = table.key(key).and_then(|k| k.span()).map(|span| span.start);
                if let (Some(start), Some(value_span)) = (start, value.span()) {
                    if (start..value_span.end).contains(&offset) {
                        *best = Some((path, start..value_span.end));
                    }
                }
            }
            toml_edit::Item::None => {}
        }
    }
}

/// "unknown field `x`, expected …" → "x".
pub(super) fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split_once('`').map(|(field, _)| field)
}

/// "missing field `x`" → "x".
pub(super) fn missing_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split_once('`').map(|(field, _)| field)
}

/// Replaces the bytes in `range` with spaces, keeping newlines, so offsets and lines
/// stay those of the file.
pub(super) fn blank(text: &mut String, range: Range<usize>) {
    let blanked = spaces_for(&text[range.clone()]);
    text.replace_range(range, &blanked);
}

/// `text` with every character but a newline replaced by as many spaces as it has bytes:
/// byte offsets (which TOML's error spans are) and lines stay those of the file.
fn spaces_for(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let width = if c == '\n' { 1 } else { c.len_utf8() };
            std::iter::repeat_n(if c == '\n' { '\n' } else { ' ' }, width)
        })
        .collect()
}

/// For each top-level section, the file's text with every other section blanked to
/// spaces, so a section can be read alone with the file's own offsets and lines. Before
/// the first table header, a line belongs to the section its key names (`broker = {…}`,
/// `metrics.listen = …`).
pub(super) fn mask_by_section(text: &str) -> BTreeMap<&'static str, String> {
    let mut owners: Vec<Option<String>> = Vec::new();
    let mut current: Option<String> = None;
    let mut in_multiline: Option<&str> = None;
    let leading_name = |line: &str| -> String {
        line.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect()
    };
    let mut seen_header = false;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if in_multiline.is_none() && trimmed.starts_with('[') {
            current = Some(leading_name(trimmed.trim_start_matches('[').trim_start()));
            seen_header = true;
            owners.push(current.clone());
        } else if !seen_header && in_multiline.is_none() {
            let name = leading_name(trimmed);
            owners.push(Some(name).filter(|name| !name.is_empty()));
        } else {
            owners.push(current.clone());
        }
        for quote in ["\"\"\"", "'''"] {
            if line.matches(quote).count() % 2 == 1 {
                in_multiline = match in_multiline {
                    Some(open) if open == quote => None,
                    None => Some(quote),
                    other => other,
                };
            }
        }
    }
    SECTIONS
        .iter()
        .map(|section| {
            let kept: String = text
                .split_inclusive('\n')
                .zip(&owners)
                .map(|(line, owner)| {
                    if owner.as_deref() == Some(*section) {
                        line.to_owned()
                    } else {
                        spaces_for(line)
                    }
                })
                .collect();
            (*section, kept)
        })
        .collect()
}

pub(super) fn line_of_offset(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The line where a dotted key is written, if it is written at all; for an array of
/// tables, its first `[[…]]` header.
pub(super) fn line_of_key(
    document: &toml_edit::ImDocument<String>,
    text: &str,
    dotted: &str,
) -> Option<usize> {
    let mut table: &dyn toml_edit::TableLike = document.as_table();
    let mut parts = dotted.split('.').peekable();
    while let Some(part) = parts.next() {
        let (key, item) = table.get_key_value(part)?;
        if parts.peek().is_none() {
            if let Some(span) = key.span().or_else(|| item.span()) {
                return Some(line_of_offset(text, span.start));
            }
            return text
                .lines()
                .position(|line| line.trim() == format!("[[{dotted}]]"))
                .map(|index| index + 1);
        }
        table = item.as_table_like()?;
    }
    None
}
