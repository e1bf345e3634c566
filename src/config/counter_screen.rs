//! `[counter.words]` and the counter screen's own settings: what staff say for each answer
//! (a venue's runbook lines replace the bundled wording), in which language the screen
//! starts, and whether staff sign in with a short number. The wording itself is chosen in
//! `screen::counter_words`; this file only holds and checks what the venue wrote.

use super::load::Problems;
use serde::{Deserialize, Serialize};

/// Longest line a venue may write for staff, in characters: it must fit one line of the
/// counter's answer slot at a glance.
pub const MAX_WORDS_CHARS: usize = 200;

/// A venue's own lines for staff; each replaces the bundled wording (in every language,
/// as the venue wrote it). Unset lines use the bundled wording of the screen's language.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CounterWords {
    /// What staff say while card payments are down ("I'm sorry, our card machines…").
    #[serde(default)]
    pub cash_only: Option<String>,
    /// A staff-only instruction shown under it during an incident, e.g. the POS's own
    /// runbook line: "Switch the card reader's Wi-Fi off and on once".
    #[serde(default)]
    pub runbook: Option<String>,
    /// Said when a voucher is issued ("Here is your raincheck…").
    #[serde(default)]
    pub issued: Option<String>,
    /// Said when a voucher is valid and redeemed now.
    #[serde(default)]
    pub valid: Option<String>,
    /// Said when the voucher was used before.
    #[serde(default)]
    pub already_redeemed: Option<String>,
    /// Said when the voucher is past its last day.
    #[serde(default)]
    pub expired: Option<String>,
    /// Said when a manager voided the voucher.
    #[serde(default)]
    pub voided: Option<String>,
    /// Said for another venue's voucher.
    #[serde(default)]
    pub not_for_this_venue: Option<String>,
    /// Said while staff retype a code with a typo.
    #[serde(default)]
    pub check_the_code: Option<String>,
    /// Said for a code that is not a voucher at all.
    #[serde(default)]
    pub not_a_voucher: Option<String>,
    /// Said when this till may not redeem while cut off from the venue.
    #[serde(default)]
    pub not_while_offline: Option<String>,
    /// Said while the till throttles a burst of unreadable codes.
    #[serde(default)]
    pub too_many_attempts: Option<String>,
}

impl CounterWords {
    /// Every line with its config key, for checks.
    fn lines(&self) -> [(&'static str, &Option<String>); 12] {
        [
            ("cash_only", &self.cash_only),
            ("runbook", &self.runbook),
            ("issued", &self.issued),
            ("valid", &self.valid),
            ("already_redeemed", &self.already_redeemed),
            ("expired", &self.expired),
            ("voided", &self.voided),
            ("not_for_this_venue", &self.not_for_this_venue),
            ("check_the_code", &self.check_the_code),
            ("not_a_voucher", &self.not_a_voucher),
            ("not_while_offline", &self.not_while_offline),
            ("too_many_attempts", &self.too_many_attempts),
        ]
    }

    pub(super) fn check(&self, problems: &mut Problems) {
        for (key, line) in self.lines() {
            let Some(line) = line else { continue };
            let chars = line.chars().count();
            if line.trim().is_empty() || chars > MAX_WORDS_CHARS {
                problems.push(
                    &format!("counter.words.{key}"),
                    format!(
                        "is {chars} characters; write 1 to {MAX_WORDS_CHARS}, or leave it out \
                         for the bundled wording"
                    ),
                );
            } else if line.chars().any(char::is_control) {
                problems.push(
                    &format!("counter.words.{key}"),
                    "contains a line break or control character; write one line",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_long_and_multi_line_words_are_each_named() {
        let words = CounterWords {
            runbook: Some("  ".into()),
            valid: Some("x".repeat(MAX_WORDS_CHARS + 1)),
            expired: Some("two\nlines".into()),
            voided: Some("Fine as it is".into()),
            ..CounterWords::default()
        };
        let mut problems = Problems::default();
        words.check(&mut problems);
        assert_eq!(
            problems.keys(),
            [
                "counter.words.runbook",
                "counter.words.valid",
                "counter.words.expired"
            ]
        );
    }
}
