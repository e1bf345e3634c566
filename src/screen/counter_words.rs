//! What the counter screen says, in the language staff chose: its fixed labels, and for
//! each answer a headline, a detail that names the offer and the till by name, and the
//! words to say to the guest. Every string is looked up in the catalogues the signs use
//! (`model::screen_labels`), so a new language is one `.po` file and the counter never
//! follows the signs' language rotation; a venue's own lines (`[counter.words]`) replace
//! the bundled ones. No I/O: `screen::counter` calls it and sets the results.

use super::ui::CounterLabels;
use crate::config::{CounterWords, OfferConfig};
use crate::model::screen_labels::screen_label;
use crate::voucher::lifecycle::{last_day_text, RedeemAnswer, Redemption};

/// The bundled words staff say while card payments are down.
pub const SAY_CASH_ONLY: &str = "I'm sorry, our card machines are down, so we can only take cash right now. Here is a raincheck to make up for it.";
/// The bundled words staff say when handing over a new voucher.
pub const SAY_ISSUED: &str = "Here is your raincheck: show this code on your next visit.";

/// The words of one counter screen: its language and the venue's own lines.
pub struct CounterWording<'a> {
    pub language: &'a str,
    pub words: &'a CounterWords,
    pub offers: &'a [OfferConfig],
}

/// An answer as staff read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnswerWords {
    pub headline: String,
    pub detail: String,
    pub say: String,
}

impl CounterWording<'_> {
    /// `english` in this screen's language, its `{}` filled with `values` in order.
    pub fn say(&self, english: &str, values: &[&str]) -> String {
        fill(&screen_label(self.language, english), values)
    }

    /// A venue's own line if it wrote one, else the bundled `english` one.
    fn own_or(&self, own: &Option<String>, english: &str) -> String {
        own.as_deref()
            .map(crate::text::one_line)
            .unwrap_or_else(|| self.say(english, &[]))
    }

    /// The title of the offer with `number`, or "offer N" for a number this till lacks.
    fn offer_title(&self, number: u8) -> String {
        self.offers
            .iter()
            .find(|offer| offer.number == number)
            .map(|offer| crate::text::one_line(&offer.title))
            .unwrap_or_else(|| self.say("offer {}", &[&number.to_string()]))
    }

    /// The words for a redemption's answer.
    pub fn answer(&self, redemption: &Redemption) -> AnswerWords {
        let offer = redemption
            .offer_number
            .map(|number| self.offer_title(number))
            .unwrap_or_default();
        let words = self.words;
        let (detail, say) = match &redemption.answer {
            RedeemAnswer::Valid => (
                self.say("Give the guest: {}", &[&offer]),
                self.own_or(&words.valid, "Your raincheck is valid: enjoy!"),
            ),
            RedeemAnswer::AlreadyRedeemed { first } => {
                let till = first
                    .till
                    .as_deref()
                    .map(crate::text::one_line)
                    .unwrap_or_else(|| first.origin.to_string());
                let when = crate::clock::hour_minute(first.at);
                let day = first.at.date().to_string();
                (
                    self.say("{}: redeemed on {} at {} at {}", &[&offer, &day, &when, &till]),
                    self.own_or(
                        &words.already_redeemed,
                        "I'm sorry, this raincheck has already been used.",
                    ),
                )
            }
            RedeemAnswer::Expired { last_day } => (
                self.say("{}: valid until {}", &[&offer, &last_day_text(*last_day)]),
                self.own_or(&words.expired, "I'm sorry, this raincheck has expired."),
            ),
            RedeemAnswer::Voided { reason } => (
                self.say("{}: voided by a manager ({})", &[&offer, reason]),
                self.own_or(
                    &words.voided,
                    "I'm sorry, this raincheck is no longer valid. Let me call the manager.",
                ),
            ),
            RedeemAnswer::NotForThisVenue => (
                self.say("This is another venue's voucher", &[]),
                self.own_or(
                    &words.not_for_this_venue,
                    "This raincheck is for another of our venues and can only be used there.",
                ),
            ),
            RedeemAnswer::CheckTheCode => (
                self.say(
                    "A symbol is mistyped or two are swapped: correct the code and check again",
                    &[],
                ),
                self.own_or(&words.check_the_code, "One moment, let me check the code again."),
            ),
            RedeemAnswer::NotAVoucher => (
                self.say("This is not one of our vouchers", &[]),
                self.own_or(
                    &words.not_a_voucher,
                    "I'm sorry, this is not one of our rainchecks.",
                ),
            ),
            RedeemAnswer::NotWhileOffline { why } => (
                format!("{offer}: {}", self.say(why, &[])),
                self.own_or(
                    &words.not_while_offline,
                    "Our system is catching up. Could you come back in a few minutes or try the next till?",
                ),
            ),
            RedeemAnswer::TooManyAttempts => (
                self.say(
                    "Too many unreadable codes in the last minute: wait a moment",
                    &[],
                ),
                self.own_or(&words.too_many_attempts, "One moment, please."),
            ),
        };
        AnswerWords {
            headline: self.say(redemption.answer.headline(), &[]),
            detail,
            say,
        }
    }

    /// The screen's fixed labels in this language.
    pub fn labels(&self, next_language: &str) -> CounterLabels {
        let text = |english: &str| self.say(english, &[]).into();
        CounterLabels {
            cash_only: text("CASH ONLY: card payments are down"),
            payments_back: text("Card payments are back"),
            waiting: text("Waiting for the venue status…"),
            normal: text("All payment methods accepted"),
            say: text("Say:"),
            say_cash_only: self.own_or(&self.words.cash_only, SAY_CASH_ONLY).into(),
            say_issued: self.own_or(&self.words.issued, SAY_ISSUED).into(),
            runbook: self
                .words
                .runbook
                .as_deref()
                .map(crate::text::one_line)
                .unwrap_or_default()
                .into(),
            issue_title: text("Issue a raincheck"),
            print: text("Print"),
            done: text("Done"),
            redeem_title: text("Redeem: scan or type the code"),
            check_and_redeem: text("Check and redeem"),
            staff_number: text("Staff number"),
            sign_in: text("Sign in"),
            sign_out: text("Sign out"),
            next_language: next_language.into(),
        }
    }
}

/// `template` with each `{}` replaced by the next of `values`, in one pass (a value that
/// itself holds "{}" stays as written); missing values leave the rest as written.
pub fn fill(template: &str, values: &[&str]) -> String {
    let mut parts = template.split("{}");
    let mut filled = parts.next().unwrap_or_default().to_owned();
    let mut values = values.iter();
    for part in parts {
        match values.next() {
            Some(value) => filled.push_str(value),
            None => filled.push_str("{}"),
        }
        filled.push_str(part);
    }
    filled
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Identifier;
    use crate::voucher::events::EventMark;

    fn offers() -> Vec<OfferConfig> {
        vec![OfferConfig {
            id: Identifier::parse("popcorn").unwrap(),
            number: 1,
            title: "A free small popcorn".into(),
            terms: String::new(),
            validity_days: 30,
            per_incident_cap: None,
            till_cap: None,
            till_value_cap: None,
            venue_cap: None,
            venue_value_cap: None,
            face_value: None,
        }]
    }

    #[test]
    fn fill_replaces_in_order_and_never_rescans_a_value() {
        assert_eq!(fill("{} at {}", &["a{}", "b"]), "a{} at b");
        assert_eq!(fill("{} and {}", &["only"]), "only and {}");
        assert_eq!(fill("plain", &["unused"]), "plain");
    }

    #[test]
    fn answers_name_the_offer_and_the_till_and_give_words_in_the_language() {
        let offers = offers();
        let words = CounterWords::default();
        let redeemed = Redemption {
            answer: RedeemAnswer::AlreadyRedeemed {
                first: EventMark {
                    origin: Identifier::parse("till-2").unwrap(),
                    seq: 4,
                    at: time::macros::datetime!(2026-12-01 19:05 UTC),
                    staff: None,
                    till: Some("Box office 2".into()),
                },
            },
            offer_number: Some(1),
        };
        for language in crate::config::SCREEN_LANGUAGES {
            let wording = CounterWording {
                language,
                words: &words,
                offers: &offers,
            };
            let answer = wording.answer(&redeemed);
            assert!(answer.detail.contains("A free small popcorn"), "{answer:?}");
            assert!(answer.detail.contains("Box office 2"), "{answer:?}");
            assert!(!answer.detail.contains("{}"), "{answer:?}");
            assert!(!answer.say.is_empty());
            let valid = wording.answer(&Redemption {
                answer: RedeemAnswer::Valid,
                offer_number: Some(1),
            });
            assert!(valid.detail.contains("A free small popcorn"), "{valid:?}");
        }
    }

    /// Every answer and label the counter shows, in `language`.
    fn everything_in(language: &str, offers: &[OfferConfig], words: &CounterWords) -> Vec<String> {
        let wording = CounterWording {
            language,
            words,
            offers,
        };
        let first = EventMark {
            origin: Identifier::parse("till-2").unwrap(),
            seq: 1,
            at: time::macros::datetime!(2026-12-01 19:05 UTC),
            staff: None,
            till: None,
        };
        let answers = [
            RedeemAnswer::Valid,
            RedeemAnswer::AlreadyRedeemed { first },
            RedeemAnswer::Expired { last_day: 9 },
            RedeemAnswer::Voided { reason: "r".into() },
            RedeemAnswer::NotForThisVenue,
            RedeemAnswer::CheckTheCode,
            RedeemAnswer::NotAVoucher,
            RedeemAnswer::NotWhileOffline {
                why: crate::voucher::lifecycle::OFFLINE_DENIED.into(),
            },
            RedeemAnswer::TooManyAttempts,
        ];
        let mut all = Vec::new();
        for answer in answers {
            let words = wording.answer(&Redemption {
                answer,
                offer_number: Some(1),
            });
            all.extend([words.headline, words.detail, words.say]);
        }
        let labels = wording.labels("");
        for label in [
            labels.cash_only,
            labels.payments_back,
            labels.waiting,
            labels.normal,
            labels.say,
            labels.say_cash_only,
            labels.say_issued,
            labels.issue_title,
            labels.print,
            labels.done,
            labels.redeem_title,
            labels.check_and_redeem,
            labels.staff_number,
            labels.sign_in,
            labels.sign_out,
        ] {
            all.push(label.to_string());
        }
        all.push(wording.say("{} — valid until {}", &["x", "y"]));
        all.push(wording.say("Staff {}", &["7"]));
        all.push(wording.say("Not issued: {}", &["x"]));
        all.push(wording.say("Receipt printed", &[]));
        all.push(wording.say(
            "Venue link lost since {}: issuing and redeeming continue on this terminal",
            &["19:50"],
        ));
        all.push(wording.say("Since {}", &["19:50"]));
        all
    }

    #[test]
    fn every_bundled_language_translates_everything_the_counter_says() {
        let (offers, words) = (offers(), CounterWords::default());
        let english = everything_in("en", &offers, &words);
        for language in ["es", "fr", "de"] {
            let translated = everything_in(language, &offers, &words);
            for (english, translated) in english.iter().zip(&translated) {
                assert_ne!(
                    english, translated,
                    "{language} lacks a translation of {english:?}"
                );
            }
        }
    }

    #[test]
    fn a_venues_own_lines_replace_the_bundled_words() {
        let offers = offers();
        let words = CounterWords {
            valid: Some("Enjoy the popcorn!".into()),
            runbook: Some("Switch the card reader's Wi-Fi off and on once".into()),
            ..CounterWords::default()
        };
        let wording = CounterWording {
            language: "es",
            words: &words,
            offers: &offers,
        };
        let valid = wording.answer(&Redemption {
            answer: RedeemAnswer::Valid,
            offer_number: Some(1),
        });
        assert_eq!(valid.say, "Enjoy the popcorn!");
        assert_eq!(
            wording.labels("").runbook,
            "Switch the card reader's Wi-Fi off and on once"
        );
        let unread = wording.answer(&Redemption::unread(RedeemAnswer::NotAVoucher));
        assert_eq!(unread.headline, "NO ES UN VALE");
    }
}
