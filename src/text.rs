//! Untrusted text (manager-supplied headlines, node names from the bus) made safe to show:
//! control characters would draw as boxes on a screen and could drive an operator's
//! terminal, so every one but the line break becomes a space. Nothing is interpreted.

/// The text with control characters (other than `\n`) replaced by spaces, trimmed.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() && c != '\n' { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Like [`printable`], on one line: for terminals and log-like output.
pub fn one_line(text: &str) -> String {
    printable(text).replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_cannot_reach_a_screen_or_terminal() {
        assert_eq!(printable(" Cash\u{1b}[2J only\u{7} \n"), "Cash [2J only");
        assert_eq!(one_line("a\nb"), "a b");
        assert_eq!(printable("<b>kept</b> as text"), "<b>kept</b> as text");
    }
}
