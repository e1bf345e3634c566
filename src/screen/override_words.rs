//! What a counter screen (native or web) says when an issue meets an offer's cap or a
//! manager's override is refused, in the language staff chose: the cap reached, with the
//! offer's title and the figures (`voucher::limits`), and each override refusal
//! (`voucher::override_code`) in the same catalogues as every other counter word. Any
//! other refusal keeps the worker's own sentence. No I/O.

use super::counter_words::CounterWording;
use crate::voucher::override_code::OverrideRefusal;
use crate::voucher::store::StoreError;
use crate::voucher::CounterError;

/// The hint under a reached cap.
pub const OVERRIDE_HINT: &str = "A manager can override: manager name and PIN, or an override code";
/// The override form's labels: title, name, PIN, code, the button.
pub const OVERRIDE_LABELS: [(&str, &str); 6] = [
    ("override_title", "Manager override"),
    ("override_manager", "Manager name"),
    ("override_pin", "Manager PIN"),
    ("override_code", "Override code"),
    ("override_or", "or"),
    ("override_issue", "Issue past the cap"),
];

impl CounterWording<'_> {
    /// The override form's labels on the native counter screen.
    pub fn override_labels(&self) -> super::ui::OverrideLabels {
        let [title, manager, pin, code, or, issue] =
            OVERRIDE_LABELS.map(|(_, english)| self.say(english, &[]).into());
        super::ui::OverrideLabels {
            title,
            manager,
            pin,
            code,
            or,
            issue,
            cancel: self.say("Cancel", &[]).into(),
        }
    }

    /// Why an issue was refused, in this screen's language where it has the words.
    pub fn refusal(&self, error: &CounterError) -> String {
        match error {
            CounterError::Store(StoreError::CapReached { offer, reached, .. }) => {
                let [used, limit] = reached.figures();
                let title = crate::text::one_line(offer);
                format!(
                    "{}. {}",
                    self.say(reached.template(), &[&title, &used, &limit]),
                    self.say(OVERRIDE_HINT, &[])
                )
            }
            CounterError::Override(refusal) => self.override_refusal(refusal),
            other => other.to_string(),
        }
    }

    fn override_refusal(&self, refusal: &OverrideRefusal) -> String {
        match refusal {
            OverrideRefusal::Mistyped => self.say(
                "Check the override code: a symbol is mistyped or two are swapped",
                &[],
            ),
            OverrideRefusal::Forged => self.say("This is not an override code of this venue", &[]),
            OverrideRefusal::NotForThisVenue => {
                self.say("This override code is for another venue", &[])
            }
            OverrideRefusal::Expired { at } => self.say(
                "This override code expired at {} UTC: ask the manager for a new one",
                &[at],
            ),
            OverrideRefusal::OtherTerminal { terminal } => self.say(
                "This override code is for till number {}, not this one",
                &[&terminal.to_string()],
            ),
            OverrideRefusal::OtherOffer => self.say("This override code is for another offer", &[]),
            OverrideRefusal::UsedUp { allowed, .. } => self.say(
                "This override code is used up: it allowed {} past the cap",
                &[&allowed.to_string()],
            ),
            OverrideRefusal::WrongPin => {
                self.say("Wrong manager name or PIN: nothing was issued", &[])
            }
            OverrideRefusal::NoManagers => self.say(
                "No manager can override at this till: ask for an override code from the console",
                &[],
            ),
            OverrideRefusal::TooManyPins { seconds } => self.say(
                "Too many wrong manager PINs: wait {} s and try again",
                &[&seconds.to_string()],
            ),
        }
    }
}

/// Every phrase above, for the catalogue check.
pub const PHRASES: [&str; 19] = [
    "{}: this till has issued {} of {} for this incident",
    "{}: this till has issued {} of {} in face value for this incident",
    "{}: the venue's tills have issued {} of {} for this incident (as far as this till has heard)",
    "{}: the venue's tills have issued {} of {} in face value for this incident (as far as this till has heard)",
    OVERRIDE_HINT,
    "Check the override code: a symbol is mistyped or two are swapped",
    "This is not an override code of this venue",
    "This override code is for another venue",
    "This override code expired at {} UTC: ask the manager for a new one",
    "This override code is for till number {}, not this one",
    "This override code is for another offer",
    "This override code is used up: it allowed {} past the cap",
    "Wrong manager name or PIN: nothing was issued",
    "No manager can override at this till: ask for an override code from the console",
    "Too many wrong manager PINs: wait {} s and try again",
    "Manager override",
    "Manager name",
    "Manager PIN",
    "Override code",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CounterWords;
    use crate::model::screen_labels::screen_label;
    use crate::voucher::limits::{CapKind, CapReached};

    #[test]
    fn every_phrase_is_in_every_catalogue() {
        let phrases = PHRASES
            .iter()
            .copied()
            .chain(OVERRIDE_LABELS.iter().map(|(_, english)| *english));
        for phrase in phrases {
            for language in ["es", "fr", "de"] {
                assert_ne!(
                    screen_label(language, phrase),
                    phrase,
                    "{phrase:?} has no {language} translation"
                );
            }
        }
    }

    #[test]
    fn a_reached_cap_names_the_offer_and_the_figures_in_the_language() {
        let words = CounterWords::default();
        let error = CounterError::Store(StoreError::CapReached {
            offer: "Popcorn".into(),
            offer_id: crate::protocol::Identifier::parse("popcorn").unwrap(),
            reached: CapReached {
                kind: CapKind::TillCount,
                used: 20,
                limit: 20,
            },
        });
        let english = CounterWording {
            language: "en",
            words: &words,
            offers: &[],
        };
        assert_eq!(
            english.refusal(&error),
            format!("Popcorn: this till has issued 20 of 20 for this incident. {OVERRIDE_HINT}")
        );
        let spanish = CounterWording {
            language: "es",
            ..english
        };
        let said = spanish.refusal(&error);
        assert!(said.starts_with("Popcorn") && said.contains("20"), "{said}");
        assert_ne!(said, english.refusal(&error));
    }
}
