//! The counter window's glue: the status banner follows the same presentation as the
//! signage; the buttons and the redeem field call the voucher worker through its
//! handle on the runtime, and answers come back through `upgrade_in_event_loop`. The
//! window never waits on the disk or the network. What it shows is set by
//! `counter_view`.

use super::content::screen_content;
use super::counter_view::{
    apply_status, clear_later, show_answer, staff_number, CounterScreen, LAST_ISSUED,
};
use super::counter_words::fill;
use super::ui::{CounterWindow, OfferChoice};
use crate::config::NodeConfig;
use crate::model::{Drawing, Presentation};
use crate::voucher::CounterHandle;
use slint::{ComponentHandle, ModelRc, VecModel};
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::watch;
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
            window.set_override_labels(shown.wording().override_labels());
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
        if let Some(window) = weak.upgrade() {
            let incident = incident_to_issue_for(&rx);
            super::counter_override::issue(
                &window, &issuing, &handle, &rt, &offer_id, incident, None,
            );
        }
    });
    let rx = presentation.clone();
    super::counter_override::wire(&window, &screen, &counter, runtime, move || {
        incident_to_issue_for(&rx)
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
