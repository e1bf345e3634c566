//! The counter window's glue: the status banner follows the same presentation as the
//! signage; the buttons and the redeem field call the voucher worker through its
//! handle on the runtime, and answers come back through `upgrade_in_event_loop`. The
//! window never waits on the disk or the network.

use super::content::screen_content;
use super::ui::{AnswerKind, CounterWindow, OfferChoice};
use crate::config::NodeConfig;
use crate::node::Presentation;
use crate::voucher::lifecycle::{answer_detail, last_day_text, RedeemAnswer};
use crate::voucher::sync::CounterHandle;
use crate::voucher::VoucherCode;
use slint::{ComponentHandle, ModelRc, SharedPixelBuffer, VecModel};
use std::rc::Rc;
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

/// Shows the venue status in the banner.
pub fn apply_status(window: &CounterWindow, presentation: &Presentation, config: &NodeConfig) {
    let (content, _) = screen_content(
        presentation,
        &config.node.venue_name,
        &config.display,
        &config.texts,
        time::OffsetDateTime::now_utc(),
    );
    window.set_state(super::bridge::screen_state(content.mode));
    window.set_headline(content.headline.as_str().into());
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
    window.set_answer_headline(answer.headline().into());
    window.set_answer_detail(detail.as_str().into());
    window.set_answer_kind(kind);
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

/// Creates the counter window, wires its callbacks, and follows the presentation.
pub fn open_counter_window(
    config: &NodeConfig,
    presentation: watch::Receiver<Presentation>,
    runtime: &tokio::runtime::Handle,
    counter: CounterHandle,
) -> Result<CounterWindow, slint::PlatformError> {
    let window = CounterWindow::new()?;
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
    apply_status(&window, &presentation.borrow(), config);

    let weak = window.as_weak();
    let (handle, rt, rx, titles) = (
        counter.clone(),
        runtime.clone(),
        presentation.clone(),
        config.clone(),
    );
    window.on_issue(move |offer_id| {
        let (weak, handle, config) = (weak.clone(), handle.clone(), titles.clone());
        let incident = rx
            .borrow()
            .view
            .incident_id
            .clone()
            .filter(|_| rx.borrow().view.is_active());
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
                Ok(answer) => show_answer(&window, &answer),
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
        while receiver.changed().await.is_ok() {
            let current = receiver.borrow_and_update().clone();
            let config = config.clone();
            if weak
                .upgrade_in_event_loop(move |window| apply_status(&window, &current, &config))
                .is_err()
            {
                break;
            }
        }
    });
    Ok(window)
}
