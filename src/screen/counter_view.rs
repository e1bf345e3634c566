//! What the counter window shows, set from Rust: the status banner in the counter's
//! language, an answer in its fixed slot, a freshly issued code with its QR, and the
//! timer that clears them for the next guest. `CounterScreen` holds the window's settings
//! and the choices staff made on it (language, who is signed in). `counter.rs` wires the
//! callbacks and calls these; the words themselves come from `counter_words`.

use super::content::{chosen_texts, screen_content};
use super::counter_words::CounterWording;
use super::ui::{AnswerKind, CounterWindow};
use crate::config::NodeConfig;
use crate::model::screen_labels::language_name;
use crate::model::Presentation;
use crate::voucher::lifecycle::{last_day_text, RedeemAnswer, Redemption};
use crate::voucher::VoucherCode;
use slint::{ComponentHandle, SharedPixelBuffer};
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

thread_local! {
    /// The voucher on screen (UI thread only), for the "Print" button.
    pub(super) static LAST_ISSUED: RefCell<Option<(VoucherCode, crate::config::OfferConfig)>> =
        const { RefCell::new(None) };
}

/// A QR code of `text` as an image (black modules on white, with the quiet zone).
pub fn qr_image(text: &str) -> Option<slint::Image> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    let modules = code.width();
    let colors = code.to_colors();
    const SCALE: usize = 8;
    const QUIET: usize = 4;
    let side = (modules + 2 * QUIET) * SCALE;
    let mut buffer = SharedPixelBuffer::<slint::Rgb8Pixel>::new(side as u32, side as u32);
    let pixels = buffer.make_mut_slice();
    for (index, pixel) in pixels.iter_mut().enumerate() {
        let (x, y) = (index % side / SCALE, index / side / SCALE);
        let dark = x >= QUIET
            && y >= QUIET
            && x < modules + QUIET
            && y < modules + QUIET
            && colors[(y - QUIET) * modules + (x - QUIET)] == qrcode::Color::Dark;
        let value = if dark { 0 } else { 255 };
        *pixel = slint::Rgb8Pixel {
            r: value,
            g: value,
            b: value,
        };
    }
    Some(slint::Image::from_rgb8(buffer))
}

/// One counter window's settings and the choices staff made on it. Shared with the tasks
/// that answer its buttons, which word their answers back on the UI thread.
pub(super) struct CounterScreen {
    pub(super) config: NodeConfig,
    /// Index into `display.languages` of the language the counter speaks now.
    pub(super) language: AtomicUsize,
    /// The signed-in staff number, written into every issue and redemption.
    staff: Mutex<Option<String>>,
}

impl CounterScreen {
    pub(super) fn new(config: &NodeConfig) -> Self {
        let languages = &config.display.languages;
        let start = config
            .counter
            .as_ref()
            .and_then(|c| c.language.as_ref())
            .and_then(|language| languages.iter().position(|l| l == language))
            .unwrap_or(0);
        Self {
            config: config.clone(),
            language: AtomicUsize::new(start),
            staff: Mutex::new(None),
        }
    }

    pub(super) fn language(&self) -> &str {
        self.config
            .display
            .languages
            .get(self.language.load(Ordering::Relaxed))
            .map_or("en", String::as_str)
    }

    pub(super) fn wording(&self) -> CounterWording<'_> {
        let counter = self.config.counter.as_ref();
        CounterWording {
            language: self.language(),
            words: counter.map_or(&NO_WORDS, |c| &c.words),
            offers: counter.map_or(&[], |c| c.offers.as_slice()),
        }
    }

    /// The labels, with the language button naming the next language (none with one).
    pub(super) fn labels(&self) -> super::ui::CounterLabels {
        let languages = &self.config.display.languages;
        let next = (languages.len() > 1)
            .then(|| &languages[(self.language.load(Ordering::Relaxed) + 1) % languages.len()])
            .map_or("", |language| language_name(language));
        self.wording().labels(next)
    }

    pub(super) fn staff(&self) -> Option<String> {
        self.staff
            .lock()
            .expect("no panic while holding the staff name")
            .clone()
    }

    pub(super) fn set_staff(&self, staff: Option<String>) {
        *self
            .staff
            .lock()
            .expect("no panic while holding the staff name") = staff;
    }
}

static NO_WORDS: std::sync::LazyLock<crate::config::CounterWords> =
    std::sync::LazyLock::new(Default::default);

/// Shows the venue status in the banner: the headline somebody chose, else the
/// counter's own wording, in the counter's language.
pub(super) fn apply_status(
    window: &CounterWindow,
    presentation: &Presentation,
    screen: &CounterScreen,
) {
    let config = &screen.config;
    let language = screen.language();
    let (content, _) = screen_content(
        presentation,
        &config.node.venue_name,
        &config.display,
        &config.texts,
        language,
        time::OffsetDateTime::now_utc(),
    );
    let chosen = chosen_texts(
        presentation,
        content.mode,
        &config.texts.in_language(language),
        language,
    );
    let headline = chosen
        .headline
        .as_deref()
        .map(crate::text::printable)
        .filter(|text| !text.trim().is_empty());
    let wording = screen.wording();
    window.set_state(super::bridge::screen_state(content.mode));
    window.set_headline(headline.unwrap_or_default().as_str().into());
    window.set_since(if content.since_time.is_empty() {
        "".into()
    } else {
        wording.say("Since {}", &[&content.since_time]).into()
    });
    window.set_drill_note(if content.drill {
        wording.say("TEST — staff drill", &[]).into()
    } else {
        "".into()
    });
    window.set_link_lost_note(if content.link_lost_since.is_empty() {
        "".into()
    } else {
        wording
            .say(
                "Venue link lost since {}: issuing and redeeming continue on this terminal",
                &[&content.link_lost_since],
            )
            .into()
    });
}

/// Shows a redemption's answer in the fixed slot, coloured by what staff should do.
pub(super) fn show_answer(window: &CounterWindow, redemption: &Redemption, screen: &CounterScreen) {
    let kind = match redemption.answer {
        RedeemAnswer::Valid => AnswerKind::Good,
        RedeemAnswer::CheckTheCode
        | RedeemAnswer::NotWhileOffline { .. }
        | RedeemAnswer::TooManyAttempts => AnswerKind::Warn,
        _ => AnswerKind::Bad,
    };
    // A mistyped code stays, selected, so staff correct one symbol instead of typing
    // sixteen again; any other answer clears the field for the next guest.
    if matches!(redemption.answer, RedeemAnswer::CheckTheCode) {
        window.set_select_requests(window.get_select_requests().wrapping_add(1));
    } else {
        window.set_typed_code("".into());
    }
    let words = screen.wording().answer(redemption);
    window.set_answer_headline(words.headline.as_str().into());
    window.set_answer_detail(words.detail.as_str().into());
    window.set_answer_say(words.say.as_str().into());
    window.set_answer_kind(kind);
}

thread_local! {
    /// Raised with every answer or issued code shown: a clear timer only clears what was
    /// on screen when it was started, never a newer answer.
    static SHOWN: Cell<u64> = const { Cell::new(0) };
}

/// Clears the answer and the issued code after `secs` seconds unless something newer was
/// shown meanwhile, so the next guest does not see the last one's code or answer.
pub(super) fn clear_later(window: &CounterWindow, secs: u32) {
    let shown = SHOWN.with(|counter| {
        counter.set(counter.get().wrapping_add(1));
        counter.get()
    });
    let weak = window.as_weak();
    slint::Timer::single_shot(Duration::from_secs(u64::from(secs)), move || {
        if SHOWN.with(|counter| counter.get()) != shown {
            return;
        }
        if let Some(window) = weak.upgrade() {
            window.set_answer_kind(AnswerKind::None);
            window.set_answer_headline("".into());
            window.set_answer_detail("".into());
            window.set_answer_say("".into());
            window.set_issued_code("".into());
            LAST_ISSUED.with(|last| last.borrow_mut().take());
        }
    });
}

/// Shows a freshly issued (and already durable) voucher: code and QR.
pub(super) fn show_issued(
    window: &CounterWindow,
    code: &VoucherCode,
    offer_title: &str,
    screen: &CounterScreen,
) {
    let until = last_day_text(code.fields.expiry_day);
    let offer = crate::text::one_line(offer_title);
    window.set_issued_offer(
        screen
            .wording()
            .say("{} — valid until {}", &[&offer, &until])
            .into(),
    );
    window.set_issued_code(code.to_string().into());
    if let Some(qr) = qr_image(&code.compact()) {
        window.set_issued_qr(qr);
    }
}

/// A staff number as signed in: 1 to 8 digits.
pub(super) fn staff_number(typed: &str) -> Option<String> {
    let typed = typed.trim();
    crate::config::is_staff_number(typed).then(|| typed.to_owned())
}
