//! The counter window's glue: the status banner follows the same presentation as the
//! signage; the buttons and the redeem field call the voucher worker through its
//! handle on the runtime, and answers come back through `upgrade_in_event_loop`. The
//! window never waits on the disk or the network.

use super::content::{chosen_texts, screen_content};
use super::counter_words::{fill, CounterWording};
use super::ui::{AnswerKind, CounterWindow, OfferChoice};
use crate::config::NodeConfig;
use crate::model::screen_labels::language_name;
use crate::model::{Drawing, Presentation};
use crate::voucher::lifecycle::{last_day_text, RedeemAnswer, Redemption};
use crate::voucher::CounterHandle;
use crate::voucher::VoucherCode;
use slint::{ComponentHandle, ModelRc, SharedPixelBuffer, VecModel};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

thread_local! {
    /// The voucher on screen (UI thread only), for the "Print" button.
    static LAST_ISSUED: RefCell<Option<(VoucherCode, crate::config::OfferConfig)>> =
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
struct CounterScreen {
    config: NodeConfig,
    /// Index into `display.languages` of the language the counter speaks now.
    language: AtomicUsize,
    /// The signed-in staff number, written into every issue and redemption.
    staff: Mutex<Option<String>>,
}

impl CounterScreen {
    fn new(config: &NodeConfig) -> Self {
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

    fn language(&self) -> &str {
        self.config
            .display
            .languages
            .get(self.language.load(Ordering::Relaxed))
            .map_or("en", String::as_str)
    }

    fn wording(&self) -> CounterWording<'_> {
        let counter = self.config.counter.as_ref();
        CounterWording {
            language: self.language(),
            words: counter.map_or(&NO_WORDS, |c| &c.words),
            offers: counter.map_or(&[], |c| c.offers.as_slice()),
        }
    }

    /// The labels, with the language button naming the next language (none with one).
    fn labels(&self) -> super::ui::CounterLabels {
        let languages = &self.config.display.languages;
        let next = (languages.len() > 1)
            .then(|| &languages[(self.language.load(Ordering::Relaxed) + 1) % languages.len()])
            .map_or("", |language| language_name(language));
        self.wording().labels(next)
    }

    fn staff(&self) -> Option<String> {
        self.staff
            .lock()
            .expect("no panic while holding the staff name")
            .clone()
    }

    fn set_staff(&self, staff: Option<String>) {
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
fn apply_status(window: &CounterWindow, presentation: &Presentation, screen: &CounterScreen) {
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
fn show_answer(window: &CounterWindow, redemption: &Redemption, screen: &CounterScreen) {
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
fn clear_later(window: &CounterWindow, secs: u32) {
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
fn show_issued(
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
fn staff_number(typed: &str) -> Option<String> {
    let typed = typed.trim();
    (!typed.is_empty() && typed.len() <= 8 && typed.bytes().all(|b| b.is_ascii_digit()))
        .then(|| typed.to_owned())
}

/// The incident a voucher issued now makes up for: the active one, if any. One borrow of
/// the watch channel, dropped at once: a second `borrow()` while a `Ref` is alive would
/// deadlock this UI thread if a writer queued in between (tokio's watch docs).
fn incident_to_issue_for(
    presentation: &watch::Receiver<Presentation>,
) -> Option<crate::protocol::Identifier> {
    let presentation = presentation.borrow();
    let view = &presentation.view;
    view.incident_id.clone().filter(|_| view.is_active())
}

/// Creates the counter window, wires its callbacks, and follows the presentation; with
/// `proof`, each new view is proved from a frame the window drew.
pub fn open_counter_window(
    config: &NodeConfig,
    presentation: watch::Receiver<Presentation>,
    proof: Option<watch::Sender<Drawing>>,
    runtime: &tokio::runtime::Handle,
    counter: CounterHandle,
) -> Result<CounterWindow, slint::PlatformError> {
    let window = CounterWindow::new()?;
    let screen = Arc::new(CounterScreen::new(config));
    let answer_secs = config.counter.as_ref().map_or(30, |c| c.answer_secs);
    let offers: Vec<OfferChoice> = config
        .counter
        .iter()
        .flat_map(|c| c.offers.iter())
        .map(|offer| OfferChoice {
            id: offer.id.as_str().into(),
            title: crate::text::one_line(&offer.title).into(),
        })
        .collect();
    window.set_offers(ModelRc::from(Rc::new(VecModel::from(offers))));
    window.set_can_print(config.counter.as_ref().is_some_and(|c| c.printer.is_some()));
    window.set_staff_sign_in(config.counter.as_ref().is_some_and(|c| c.staff_sign_in));
    window.set_kiosk(config.display.fullscreen);
    window.set_labels(screen.labels());
    let current = presentation.borrow().clone();
    apply_status(&window, &current, &screen);

    let (weak, rx, shown) = (window.as_weak(), presentation.clone(), screen.clone());
    window.on_next_language(move || {
        let languages = shown.config.display.languages.len().max(1);
        let next = (shown.language.load(Ordering::Relaxed) + 1) % languages;
        shown.language.store(next, Ordering::Relaxed);
        if let Some(window) = weak.upgrade() {
            window.set_labels(shown.labels());
            let current = rx.borrow().clone();
            apply_status(&window, &current, &shown);
            if let Some(staff) = shown.staff() {
                window.set_staff_shown(shown.wording().say("Staff {}", &[&staff]).into());
            }
            window.set_select_requests(window.get_select_requests().wrapping_add(1));
        }
    });
    let (weak, signing) = (window.as_weak(), screen.clone());
    window.on_sign_in(move |typed| {
        let Some(window) = weak.upgrade() else { return };
        let wording = signing.wording();
        match staff_number(&typed) {
            Some(number) => {
                window.set_staff_shown(wording.say("Staff {}", &[&number]).into());
                window.set_notice("".into());
                signing.set_staff(Some(number));
            }
            None => window.set_notice(wording.say("A staff number is 1 to 8 digits", &[]).into()),
        }
        window.set_typed_staff("".into());
        // The keyboard (and a wedge scanner) goes back to the code field.
        window.set_select_requests(window.get_select_requests().wrapping_add(1));
    });
    let (weak, signing) = (window.as_weak(), screen.clone());
    window.on_sign_out(move || {
        signing.set_staff(None);
        if let Some(window) = weak.upgrade() {
            window.set_staff_shown("".into());
        }
    });

    let (weak, handle, rt, rx, issuing) = (
        window.as_weak(),
        counter.clone(),
        runtime.clone(),
        presentation.clone(),
        screen.clone(),
    );
    window.on_issue(move |offer_id| {
        let (weak, handle) = (weak.clone(), handle.clone());
        let incident = incident_to_issue_for(&rx);
        let Ok(offer) = crate::protocol::Identifier::parse(&offer_id) else {
            return;
        };
        let Some(offer_config) = issuing
            .config
            .counter
            .iter()
            .flat_map(|c| c.offers.iter())
            .find(|o| o.id == offer)
            .cloned()
        else {
            return;
        };
        let staff = issuing.staff();
        let issuing = issuing.clone();
        rt.spawn(async move {
            let result = handle.issue(offer, incident, staff).await;
            let _ = weak.upgrade_in_event_loop(move |window| {
                let shown = &issuing;
                match result {
                    Ok(issued) => {
                        window.set_notice("".into());
                        show_issued(&window, &issued.code, &offer_config.title, shown);
                        clear_later(&window, answer_secs);
                        LAST_ISSUED
                            .with(|last| *last.borrow_mut() = Some((issued.code, offer_config)));
                    }
                    Err(error) => window.set_notice(
                        shown
                            .wording()
                            .say("Not issued: {}", &[&error.to_string()])
                            .into(),
                    ),
                }
            });
        });
    });
    let (weak, handle, rt, redeeming) = (
        window.as_weak(),
        counter.clone(),
        runtime.clone(),
        screen.clone(),
    );
    window.on_redeem(move |typed| {
        let (weak, handle) = (weak.clone(), handle.clone());
        let typed = typed.to_string();
        let staff = redeeming.staff();
        // The answer is worded on the UI thread, where the screen's language lives.
        let redeeming = redeeming.clone();
        rt.spawn(async move {
            let result = handle.redeem(typed, staff).await;
            let _ = weak.upgrade_in_event_loop(move |window| match result {
                Ok(redemption) => {
                    show_answer(&window, &redemption, &redeeming);
                    clear_later(&window, answer_secs);
                }
                Err(error) => window.set_notice(
                    redeeming
                        .wording()
                        .say("Could not check the code: {}", &[&error.to_string()])
                        .into(),
                ),
            });
        });
    });
    let weak = window.as_weak();
    window.on_done(move || {
        LAST_ISSUED.with(|last| last.borrow_mut().take());
        if let Some(window) = weak.upgrade() {
            window.set_issued_code("".into());
        }
    });
    let (weak, printing) = (window.as_weak(), screen.clone());
    window.on_print(move || {
        let Some((code, offer)) = LAST_ISSUED.with(|last| last.borrow().clone()) else {
            return;
        };
        let weak = weak.clone();
        let config = printing.config.clone();
        let printed = printing.wording().say("Receipt printed", &[]);
        let failed = printing.wording().say(
            "The voucher is saved, but the receipt did not print: {}",
            &[],
        );
        // Printing waits on the network or a device: never on the UI thread.
        std::thread::spawn(move || {
            let outcome = crate::voucher::printer::print_voucher(&config, &offer, &code);
            let _ = weak.upgrade_in_event_loop(move |window| {
                window.set_notice(match outcome {
                    Ok(()) => printed.into(),
                    Err(error) => fill(&failed, &[&error.to_string()]).into(),
                })
            });
        });
    });

    follow_presentation(&window, presentation, proof, runtime, screen);
    Ok(window)
}

/// Keeps the banner on the venue view, and proves each new view from a drawn frame when
/// this window is the node's only screen.
fn follow_presentation(
    window: &CounterWindow,
    presentation: watch::Receiver<Presentation>,
    proof: Option<watch::Sender<Drawing>>,
    runtime: &tokio::runtime::Handle,
    screen: Arc<CounterScreen>,
) {
    let weak = window.as_weak();
    let mut receiver = presentation;
    let config = screen.config.clone();
    runtime.spawn(async move {
        // The first pass runs once the event loop turns, after the window is shown.
        let mut current = receiver.borrow_and_update().clone();
        loop {
            // The header follows the venue view exactly like the signs: "card payments are
            // back" gives way to the normal header when the all-clear period ends, even if
            // nothing new arrives.
            let (_, recheck) = screen_content(
                &current,
                &config.node.venue_name,
                &config.display,
                &config.texts,
                "en",
                time::OffsetDateTime::now_utc(),
            );
            let (proof, now, screen) = (proof.clone(), receiver.clone(), screen.clone());
            let presentation = current.clone();
            let shown = weak.upgrade_in_event_loop(move |window| {
                apply_status(&window, &presentation, &screen);
                if let Some(drawing) = proof.filter(|d| d.borrow().is_news(&presentation)) {
                    super::proof::WindowProof {
                        component: window.as_weak(),
                        presentation,
                        current: Box::new(move || Some(now.borrow().clone())),
                        blank_expected: false,
                        drawing,
                    }
                    .start();
                }
            });
            if shown.is_err() {
                break;
            }
            tokio::select! {
                changed = receiver.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    current = receiver.borrow_and_update().clone();
                }
                _ = crate::deadline::sleep_until(recheck.map(|after| tokio::time::Instant::now() + after)) => {}
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ViewMode;
    use std::time::Duration;

    /// Reading the incident while the status worker keeps writing never deadlocks (a
    /// second borrow under a waiting writer would), and reads what is active.
    #[test]
    fn reading_the_incident_never_waits_on_a_writer() {
        let mut start = Presentation::booting(time::OffsetDateTime::UNIX_EPOCH);
        start.view.incident_id = Some(crate::protocol::Identifier::parse("inc-1").unwrap());
        let (sender, receiver) = watch::channel(start);
        let (done, finished) = std::sync::mpsc::channel();
        let writer = std::thread::spawn(move || {
            for round in 0..20_000 {
                sender.send_modify(|p| {
                    p.view.mode = if round % 2 == 0 {
                        ViewMode::CashOnly
                    } else {
                        ViewMode::Normal
                    }
                });
            }
        });
        let reader = std::thread::spawn(move || {
            let mut active = 0;
            for _ in 0..20_000 {
                active += usize::from(incident_to_issue_for(&receiver).is_some());
            }
            let _ = done.send(active);
        });
        let active = finished
            .recv_timeout(Duration::from_secs(60))
            .expect("the reader finished: no deadlock against the writer");
        assert!(active <= 20_000);
        writer.join().unwrap();
        reader.join().unwrap();
    }
}
