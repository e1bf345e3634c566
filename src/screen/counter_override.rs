//! The counter window's issue flow with its manager's override: an offer tapped is issued
//! through the voucher worker; a reached cap opens the override form (the cap in words,
//! a manager's name and PIN, or a code from the console), and the form issues past the
//! cap through the same handle, where the PIN is checked and the code verified offline.
//! A refusal of the override stays on the form; nothing is issued. Split from
//! `counter.rs`, which wires the rest of the window.

use super::counter_view::{clear_later, show_issued, CounterScreen, LAST_ISSUED};
use super::ui::CounterWindow;
use crate::protocol::Identifier;
use crate::voucher::handle::OverrideOffer;
use crate::voucher::CounterHandle;
use slint::ComponentHandle;
use std::sync::Arc;

/// Where a PIN typed on this screen comes from, for the PIN throttle and the log.
const FROM: &str = "counter-screen";

/// One issue: of `offer` for `incident`, past a cap with `past_cap`; the outcome is shown
/// on the window when the worker answers.
pub(super) fn issue(
    window: &CounterWindow,
    screen: &Arc<CounterScreen>,
    counter: &CounterHandle,
    runtime: &tokio::runtime::Handle,
    offer_id: &str,
    incident: Option<Identifier>,
    past_cap: Option<OverrideOffer>,
) {
    let Ok(offer) = Identifier::parse(offer_id) else {
        return;
    };
    let Some(offer_config) = screen
        .config
        .counter
        .iter()
        .flat_map(|c| c.offers.iter())
        .find(|o| o.id == offer)
        .cloned()
    else {
        return;
    };
    let answer_secs = screen.config.counter.as_ref().map_or(30, |c| c.answer_secs);
    let overriding = past_cap.is_some();
    let (weak, counter, screen) = (window.as_weak(), counter.clone(), screen.clone());
    let staff = screen.staff();
    runtime.spawn(async move {
        let result = counter.issue_with(offer, incident, staff, past_cap).await;
        let _ = weak.upgrade_in_event_loop(move |window| match result {
            Ok(issued) => {
                close(&window);
                window.set_notice("".into());
                show_issued(&window, &issued.code, &offer_config.title, &screen);
                clear_later(&window, answer_secs);
                LAST_ISSUED.with(|last| *last.borrow_mut() = Some((issued.code, offer_config)));
            }
            Err(error) => {
                let words = screen.wording().refusal(&error);
                if overriding {
                    // The PIN is never left in the field after a refusal.
                    window.set_typed_pin("".into());
                    window.set_override_error(words.into());
                } else if error.cap_reached().is_some() {
                    open(&window, offer_config.id.as_str(), &words);
                } else {
                    window.set_notice(screen.wording().say("Not issued: {}", &[&words]).into());
                }
            }
        });
    });
}

fn open(window: &CounterWindow, offer: &str, message: &str) {
    window.set_override_message(message.into());
    window.set_override_error("".into());
    window.set_typed_manager("".into());
    window.set_typed_pin("".into());
    window.set_typed_override_code("".into());
    window.set_override_offer(offer.into());
}

fn close(window: &CounterWindow) {
    window.set_override_offer("".into());
    window.set_typed_pin("".into());
    window.set_typed_override_code("".into());
    window.set_override_error("".into());
}

/// Wires the override form: issue past the cap with a code if one was typed, else with
/// the manager's name and PIN; cancel closes it.
pub(super) fn wire(
    window: &CounterWindow,
    screen: &Arc<CounterScreen>,
    counter: &CounterHandle,
    runtime: &tokio::runtime::Handle,
    incident: impl Fn() -> Option<Identifier> + 'static,
) {
    window.set_override_labels(screen.wording().override_labels());
    let (weak, screen, counter, runtime) = (
        window.as_weak(),
        screen.clone(),
        counter.clone(),
        runtime.clone(),
    );
    window.on_override_issue(move |offer, manager, pin, code| {
        let Some(window) = weak.upgrade() else { return };
        let (manager, code) = (manager.trim().to_owned(), code.trim().to_owned());
        let past_cap = if !code.is_empty() {
            OverrideOffer::Code {
                code,
                from: FROM.to_owned(),
            }
        } else if !manager.is_empty() && !pin.is_empty() {
            OverrideOffer::Pin {
                manager,
                pin: pin.to_string(),
                from: FROM.to_owned(),
            }
        } else {
            return;
        };
        issue(
            &window,
            &screen,
            &counter,
            &runtime,
            &offer,
            incident(),
            Some(past_cap),
        );
    });
    let weak = window.as_weak();
    window.on_override_cancel(move || {
        if let Some(window) = weak.upgrade() {
            close(&window);
            window.set_select_requests(window.get_select_requests().wrapping_add(1));
        }
    });
}
