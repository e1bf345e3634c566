//! Everything the web counter's page says, worded on the server in the language staff
//! chose, so the page adds no words of its own: the native counter's labels, banner,
//! answers and words to say (`screen::counter_words`, the same catalogues and the
//! venue's `[counter.words]`), the venue status from `screen::screen_content` (what the
//! signs decide), and the few phrases only a browser page needs (a PIN field, the link
//! to the counter, the camera, the void form), which live in the same catalogues. No I/O.

use crate::config::{CounterWords, NodeConfig, OfferConfig};
use crate::model::screen_labels::language_name;
use crate::model::Presentation;
use crate::screen::content::chosen_texts;
use crate::screen::counter_words::{CounterWording, SAY_ISSUED};
use crate::screen::{screen_content, ScreenMode};
use crate::voucher::lifecycle::{RedeemAnswer, Redemption};
use serde_json::{json, Value};
use std::time::Duration;
use time::OffsetDateTime;

/// The page's own phrases, by the names the page uses; each is a catalogue msgid.
pub const PAGE_PHRASES: [(&str, &str); 19] = [
    ("pin", "PIN"),
    ("wrong_pin", "Staff number and PIN do not match: check both and try again"),
    ("throttled", "Too many wrong PINs: wait {} s and try again"),
    ("session_ended", "Your sign-in has ended: sign in again"),
    (
        "link_lost",
        "Connection to the counter lost since {}: reconnecting. Issuing and redeeming wait until it is back",
    ),
    (
        "unreachable",
        "Cannot reach the counter: check the network and try again",
    ),
    ("camera", "Scan with the camera"),
    ("camera_close", "Close the camera"),
    ("camera_hint", "Hold the QR code in front of the camera"),
    (
        "camera_needs_https",
        "Camera scanning needs a secure (https) address: type the code or use a scanner",
    ),
    ("void_title", "Void a voucher"),
    ("code", "Code"),
    ("reason", "Reason (required)"),
    ("void", "Void"),
    ("cancel", "Cancel"),
    ("voided", "Voucher {} voided"),
    ("not_voided", "Not voided: {}"),
    ("not_issued", "Not issued: {}"),
    ("not_checked", "Could not check the code: {}"),
];

/// Why staff may not void a voucher at the web counter (see `vouchers.rs`).
pub const STAFF_VOID_LIMIT: &str = "Only a voucher issued at this till and not yet redeemed can be voided here: ask a manager to void it in the console";

static NO_WORDS: std::sync::LazyLock<CounterWords> = std::sync::LazyLock::new(Default::default);

/// The words of one page: the node's settings and the language the page asked for.
pub struct PageWords<'a> {
    config: &'a NodeConfig,
    language: &'a str,
}

impl<'a> PageWords<'a> {
    /// `requested` if the venue's screens speak it, else the counter's own language (as
    /// the native counter starts in), else the first of `display.languages`.
    pub fn new(config: &'a NodeConfig, requested: Option<&str>) -> Self {
        let languages = &config.display.languages;
        let counter_default = config
            .counter
            .as_ref()
            .and_then(|counter| counter.language.as_deref());
        let language = requested
            .into_iter()
            .chain(counter_default)
            .find_map(|wanted| languages.iter().find(|l| *l == wanted))
            .or_else(|| languages.first())
            .map_or("en", String::as_str);
        Self { config, language }
    }

    fn offers(&self) -> &'a [OfferConfig] {
        self.config
            .counter
            .as_ref()
            .map_or(&[], |counter| counter.offers.as_slice())
    }

    pub fn wording(&self) -> CounterWording<'a> {
        CounterWording {
            language: self.language,
            words: self
                .config
                .counter
                .as_ref()
                .map_or(&*NO_WORDS, |counter| &counter.words),
            offers: self.offers(),
        }
    }

    /// `english` (a catalogue msgid) in the page's language, `{}` filled with `values`.
    pub fn say(&self, english: &str, values: &[&str]) -> String {
        self.wording().say(english, values)
    }

    /// Every label of the page: the native counter's, the page's own, the languages to
    /// switch between, the offers, and how long an answer stays.
    pub fn labels(&self) -> Value {
        let languages = &self.config.display.languages;
        let next = languages
            .iter()
            .position(|l| l == self.language)
            .map(|index| &languages[(index + 1) % languages.len()])
            .filter(|_| languages.len() > 1)
            .map_or("", |language| language_name(language));
        let native = self.wording().labels(next);
        let mut labels = json!({
            "cash_only": native.cash_only.as_str(),
            "payments_back": native.payments_back.as_str(),
            "waiting": native.waiting.as_str(),
            "normal": native.normal.as_str(),
            "say": native.say.as_str(),
            "say_issued": native.say_issued.as_str(),
            "issue_title": native.issue_title.as_str(),
            "done": native.done.as_str(),
            "redeem_title": native.redeem_title.as_str(),
            "check_and_redeem": native.check_and_redeem.as_str(),
            "staff_number": native.staff_number.as_str(),
            "sign_in": native.sign_in.as_str(),
            "sign_out": native.sign_out.as_str(),
            "staff": self.say("Staff {}", &[]),
            "next_language": native.next_language.as_str(),
        });
        if let Some(map) = labels.as_object_mut() {
            for (name, english) in PAGE_PHRASES
                .into_iter()
                .chain(crate::screen::override_words::OVERRIDE_LABELS)
            {
                map.insert(name.to_owned(), Value::from(self.say(english, &[])));
            }
        }
        let offers: Vec<Value> = self
            .offers()
            .iter()
            .map(|offer| json!({ "id": offer.id, "title": crate::text::one_line(&offer.title) }))
            .collect();
        json!({
            "language": self.language,
            "languages": languages,
            "venue_name": crate::text::one_line(&self.config.node.venue_name),
            "answer_secs": self.config.counter.as_ref().map_or(30, |c| c.answer_secs),
            "labels": labels,
            "offers": offers,
        })
    }

    /// The status banner for `presentation` at `now`, and when it must be worded again
    /// without news (the end of the all-clear period), as the native counter's banner.
    pub fn status(
        &self,
        presentation: &Presentation,
        now: OffsetDateTime,
    ) -> (Value, Option<Duration>) {
        let config = self.config;
        let (content, recheck) = screen_content(
            presentation,
            &config.node.venue_name,
            &config.display,
            &config.texts,
            self.language,
            now,
        );
        let native = self.wording().labels("");
        // The headline somebody chose for the incident, else the counter's own wording.
        let chosen = chosen_texts(
            presentation,
            content.mode,
            &config.texts.in_language(self.language),
            self.language,
        );
        let headline = chosen
            .headline
            .as_deref()
            .map(crate::text::one_line)
            .filter(|text| !text.trim().is_empty());
        let (mode, banner) = match content.mode {
            ScreenMode::Booting => ("booting", native.waiting.to_string()),
            ScreenMode::Normal => ("normal", native.normal.to_string()),
            ScreenMode::AllClear => ("all_clear", native.payments_back.to_string()),
            ScreenMode::CashOnly => (
                "cash_only",
                headline.unwrap_or_else(|| native.cash_only.to_string()),
            ),
        };
        let cash_only = content.mode == ScreenMode::CashOnly;
        let status = json!({
            "mode": mode,
            "banner": banner,
            "drill": if content.drill { self.say("TEST — staff drill", &[]) } else { String::new() },
            "since": if cash_only && !content.since_time.is_empty() {
                self.say("Since {}", &[&content.since_time])
            } else {
                String::new()
            },
            "say": if cash_only { native.say_cash_only.to_string() } else { String::new() },
            "runbook": if cash_only { native.runbook.to_string() } else { String::new() },
            "venue_link_lost": if content.link_lost_since.is_empty() {
                String::new()
            } else {
                self.say(
                    "Venue link lost since {}: issuing and redeeming continue on this terminal",
                    &[&content.link_lost_since],
                )
            },
        });
        (status, recheck)
    }

    /// A redemption's answer as the native counter words and colours it.
    pub fn answer(&self, redemption: &Redemption) -> Value {
        let words = self.wording().answer(redemption);
        json!({
            "answer": redemption.answer.headline(),
            "kind": answer_kind(&redemption.answer),
            "headline": words.headline,
            "detail": words.detail,
            "say": words.say,
        })
    }

    /// The line under a fresh code ("A free small popcorn — valid until 2027-02-20") and
    /// the words to say when handing it over.
    pub fn issued(&self, offer_title: &str, valid_until: &str) -> (String, String) {
        let offer = crate::text::one_line(offer_title);
        let counter = self.config.counter.as_ref();
        let say = counter
            .and_then(|c| c.words.issued.as_deref())
            .map(crate::text::one_line)
            .unwrap_or_else(|| self.say(SAY_ISSUED, &[]));
        (self.say("{} — valid until {}", &[&offer, valid_until]), say)
    }
}

/// The answer slot's colour: green to give the offer, amber to look again or wait, red
/// to refuse (the native counter's `show_answer`).
fn answer_kind(answer: &RedeemAnswer) -> &'static str {
    match answer {
        RedeemAnswer::Valid => "good",
        RedeemAnswer::CheckTheCode
        | RedeemAnswer::NotWhileOffline { .. }
        | RedeemAnswer::TooManyAttempts => "warn",
        _ => "bad",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LinkState, ViewMode};

    fn config(languages: &[&str]) -> NodeConfig {
        let text = format!(
            "[node]\nvenue = \"rialto\"\nid = \"till-1\"\nroles = [\"counter\"]\n\
             [display]\nlanguages = {languages:?}\n\
             [counter]\nterminal = 1\nsecret_file = \"/nonexistent\"\n\
             [[counter.offers]]\nid = \"popcorn\"\nnumber = 1\ntitle = \"A free small popcorn\"\nvalidity_days = 90\n"
        );
        toml::from_str(&text).expect("a test config")
    }

    #[test]
    fn every_page_phrase_is_translated_in_every_bundled_language() {
        // Words spelled alike in a language are listed, so a missing entry still fails.
        let alike = [("es", "PIN"), ("de", "PIN"), ("fr", "Code"), ("de", "Code")];
        for language in ["es", "fr", "de"] {
            let config = config(&[language]);
            let words = PageWords::new(&config, Some(language));
            for (_, english) in PAGE_PHRASES {
                let translated = words.say(english, &[]);
                let same_word = alike.contains(&(language, english));
                assert!(
                    same_word || translated != english,
                    "{language} lacks a translation of {english:?}"
                );
            }
        }
        let config = config(&["en"]);
        let english = PageWords::new(&config, None);
        assert_eq!(english.say(STAFF_VOID_LIMIT, &[]), STAFF_VOID_LIMIT);
        let spanish = self::config(&["en", "es"]);
        assert_ne!(
            PageWords::new(&spanish, Some("es")).say(STAFF_VOID_LIMIT, &[]),
            STAFF_VOID_LIMIT
        );
    }

    #[test]
    fn a_language_the_venue_does_not_speak_falls_back_and_the_button_names_the_next() {
        let config = config(&["en", "es"]);
        assert_eq!(
            PageWords::new(&config, Some("de")).labels()["language"],
            "en"
        );
        assert_eq!(
            PageWords::new(&config, Some("es")).labels()["language"],
            "es"
        );
        let labels = PageWords::new(&config, Some("en")).labels();
        assert_eq!(labels["labels"]["next_language"], "Español");
        assert_eq!(labels["offers"][0]["title"], "A free small popcorn");
        let single = self::config(&["fr"]);
        let labels = PageWords::new(&single, None).labels();
        assert_eq!(labels["language"], "fr");
        assert_eq!(labels["labels"]["next_language"], "");
    }

    #[test]
    fn the_banner_says_what_the_native_counter_says() {
        let config = config(&["en", "es"]);
        let now = OffsetDateTime::UNIX_EPOCH;
        let mut presentation = Presentation::booting(now);
        let (status, _) = PageWords::new(&config, None).status(&presentation, now);
        assert_eq!(status["mode"], "booting");
        presentation.has_state = true;
        presentation.view.mode = ViewMode::CashOnly;
        presentation.view.started_at = Some(now);
        presentation.link = LinkState::Lost { since: now };
        let (status, _) = PageWords::new(&config, Some("es")).status(&presentation, now);
        assert_eq!(status["mode"], "cash_only");
        assert_ne!(status["say"], "");
        assert!(status["since"].as_str().unwrap().starts_with("Desde"));
        assert_ne!(status["venue_link_lost"], "");
        let valid = PageWords::new(&config, None).answer(&Redemption {
            answer: RedeemAnswer::Valid,
            offer_number: Some(1),
        });
        assert_eq!(valid["kind"], "good");
        assert!(valid["detail"]
            .as_str()
            .unwrap()
            .contains("A free small popcorn"));
    }
}
