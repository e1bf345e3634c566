//! The counter window's glue: the status banner follows the same presentation as the
//! signage; the buttons and the redeem field call the voucher worker through its
//! handle on the runtime, and answers come back through `upgrade_in_event_loop`. The
//! window never waits on the disk or the network.

use super::content::{chosen_texts, screen_content};
use super::ui::{AnswerKind, CounterWindow, OfferChoice};
use crate::config::NodeConfig;
use crate::model::{Drawing, Presentation};
use crate::voucher::lifecycle::{answer_detail, last_day_text, RedeemAnswer};
use crate::voucher::CounterHandle;
use crate::voucher::VoucherCode;
use slint::{ComponentHandle, ModelRc, SharedPixelBuffer, VecModel};
use std::rc::Rc;
use std::time::Duration;
use tokio::sync::watch;

thread_local! {
    /// The voucher on screen (UI thread only), for the "Print" button.
    static LAST_ISSUED: std::cell::RefCell<Option<(VoucherCode, crate::config::OfferConfig)>> =
        const { std::cell::RefCell::new(None) };
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

/// Shows the venue status in the banner: the headline somebody chose, else the
/// counter's own wording (`counter.slint`).
pub fn apply_status(window: &CounterWindow, presentation: &Presentation, config: &NodeConfig) {
    let (content, _) = screen_content(
        presentation,
        &config.node.venue_name,
        &config.display,
        &config.texts,
        "en",
        time::OffsetDateTime::now_utc(),
    );
    let chosen = chosen_texts(
        presentation,
        content.mode,
        &config.texts.in_language("en"),
        "en",
    );
    let headline = chosen
        .headline
        .as_deref()
        .map(crate::text::printable)
        .filter(|text| !text.trim().is_empty());
    window.set_state(super::bridge::screen_state(content.mode));
    window.set_headline(headline.unwrap_or_default().as_str().into());
    window.set_since_time(content.since_time.as_str().into());
    window.set_link_lost_since(content.link_lost_since.as_str().into());
}

/// Shows a redemption answer in large words, coloured by what staff should do.
pub fn show_answer(window: &CounterWindow, answer: &RedeemAnswer) {
    let kind = match answer {
        RedeemAnswer::Valid => AnswerKind::Good,
        RedeemAnswer::CheckTheCode
        | RedeemAnswer::NotWhileOffline { .. }
        | RedeemAnswer::TooManyAttempts => AnswerKind::Warn,
        _ => AnswerKind::Bad,
    };
    let detail = answer_detail(answer);
    // A mistyped code stays, selected, so staff correct one symbol instead of typing
    // sixteen again; any other answer clears the field for the next guest.
    if matches!(answer, RedeemAnswer::CheckTheCode) {
        window.set_select_requests(window.get_select_requests().wrapping_add(1));
    } else {
        window.set_typed_code("".into());
    }
    window.set_answer_headline(answer.headline().into());
    window.set_answer_detail(detail.as_str().into());
    window.set_answer_kind(kind);
}

thread_local! {
    /// Raised with every answer or issued code shown: a clear timer only clears what was
    /// on screen when it was started, never a newer answer.
    static SHOWN: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
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
            window.set_issued_code("".into());
            LAST_ISSUED.with(|last| last.borrow_mut().take());
        }
    });
}

/// Shows a freshly issued (and already durable) voucher: code and QR.
pub fn show_issued(window: &CounterWindow, code: &VoucherCode, offer_title: &str) {
    window.set_issued_offer(
        format!(
            "{offer_title} — valid until {}",
            last_day_text(code.fields.expiry_day)
        )
        .into(),
    );
    window.set_issued_code(code.to_string().into());
    if let Some(qr) = qr_image(&code.compact()) {
        window.set_issued_qr(qr);
    }
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
    let current = presentation.borrow().clone();
    apply_status(&window, &current, config);

    let weak = window.as_weak();
    let (handle, rt, rx, titles) = (
        counter.clone(),
        runtime.clone(),
        presentation.clone(),
        config.clone(),
    );
    window.on_issue(move |offer_id| {
        let (weak, handle, config) = (weak.clone(), handle.clone(), titles.clone());
        let incident = incident_to_issue_for(&rx);
        rt.spawn(async move {
            let Ok(offer) = crate::protocol::Identifier::parse(&offer_id) else {
                return;
            };
            let Some(offer_config) = config
                .counter
                .iter()
                .flat_map(|c| c.offers.iter())
                .find(|o| o.id == offer)
                .cloned()
            else {
                return;
            };
            let result = handle.issue(offer, incident, None).await;
            let _ = weak.upgrade_in_event_loop(move |window| match result {
                Ok(issued) => {
                    window.set_notice("".into());
                    show_issued(&window, &issued.code, &offer_config.title);
                    clear_later(&window, answer_secs);
                    LAST_ISSUED.with(|last| *last.borrow_mut() = Some((issued.code, offer_config)));
                }
                Err(error) => window.set_notice(format!("Not issued: {error}").into()),
            });
        });
    });
    let weak = window.as_weak();
    let (handle, rt) = (counter.clone(), runtime.clone());
    window.on_redeem(move |typed| {
        let (weak, handle) = (weak.clone(), handle.clone());
        let typed = typed.to_string();
        rt.spawn(async move {
            let result = handle.redeem(typed, None).await;
            let _ = weak.upgrade_in_event_loop(move |window| match result {
                Ok(answer) => {
                    show_answer(&window, &answer);
                    clear_later(&window, answer_secs);
                }
                Err(error) => {
                    window.set_notice(format!("Could not check the code: {error}").into())
                }
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
    let weak = window.as_weak();
    let print_config = config.clone();
    window.on_print(move || {
        let Some((code, offer)) = LAST_ISSUED.with(|last| last.borrow().clone()) else {
            return;
        };
        let weak = weak.clone();
        let config = print_config.clone();
        // Printing waits on the network or a device: never on the UI thread.
        std::thread::spawn(move || {
            let outcome = crate::voucher::printer::print_voucher(&config, &offer, &code);
            let _ = weak.upgrade_in_event_loop(move |window| {
                window.set_notice(match outcome {
                    Ok(()) => "Receipt printed".into(),
                    Err(error) => {
                        format!("The voucher is saved, but the receipt did not print: {error}")
                            .into()
                    }
                })
            });
        });
    });

    let weak = window.as_weak();
    let mut receiver = presentation;
    let config = config.clone();
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
            let (shown_config, proof, now) = (config.clone(), proof.clone(), receiver.clone());
            let presentation = current.clone();
            let shown = weak.upgrade_in_event_loop(move |window| {
                apply_status(&window, &presentation, &shown_config);
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
    Ok(window)
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
