//! Automatic detection end to end with real processes and a real Mosquitto: a fake
//! payment processor (a TCP port this test opens and closes) goes down and comes back,
//! the detector's probe notices through its debounce, and three headless screens follow —
//! cash only, then all clear — without a flap. A manager's resolve holds while cards are
//! still down; POS reports through the loopback endpoint raise an incident too.

mod common;

use common::*;
use raincheck::app::{start_node, NodeHandle};
use raincheck::model::{compute_view, ViewMode};
use raincheck::protocol::{Authority, DisplayStatus, PaymentStatus};
use raincheck::shutdown::{shutdown_pair, ShutdownTrigger};
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

fn id(text: &str) -> raincheck::protocol::Identifier {
    raincheck::protocol::Identifier::parse(text).unwrap()
}

const SCREENS: [&str; 3] = ["lobby-1", "lobby-2", "box-office"];
const WAIT: Duration = Duration::from_secs(30);

/// The detector node `backoffice` on the broker at `url`, with `detection` as its
/// `[detection]` section, started in-process on `runtime`; and its shutdown trigger.
fn start_detector(
    runtime: &tokio::runtime::Runtime,
    directory: &Path,
    url: &str,
    detection: &str,
) -> (NodeHandle, ShutdownTrigger) {
    let config = detector_config(directory, url, detection);
    let (trigger, shutdown) = shutdown_pair();
    let detector = runtime
        .block_on(async { start_node(&config, directory, shutdown) })
        .expect("detector starts");
    (detector, trigger)
}

fn detector_config(directory: &Path, url: &str, detection: &str) -> raincheck::config::NodeConfig {
    let path = directory.join("detector.toml");
    std::fs::write(
        &path,
        format!(
            "[node]\nvenue = \"{VENUE}\"\nid = \"backoffice\"\nroles = [\"detector\"]\ndata_dir = \"{}\"\n\
             [broker]\nurl = \"{url}\"\nkeep_alive_secs = 2\nwatchdog_secs = 6\nreconnect_min_ms = 50\nreconnect_max_ms = 500\n\
             [detection]\n{detection}\n",
            directory.join("detector-data").display()
        ),
    )
    .unwrap();
    raincheck::config::load(&path).expect("detector config")
}

/// The modes each screen reported, in order, without repeats.
fn record_modes(state: &raincheck::model::VenueState, modes: &mut BTreeMap<String, Vec<String>>) {
    for report in state.displays.values() {
        if report.status != DisplayStatus::Online {
            continue;
        }
        let Some(mode) = report.mode.clone() else {
            continue;
        };
        let seen = modes.entry(report.node.to_string()).or_default();
        if seen.last() != Some(&mode) {
            seen.push(mode);
        }
    }
}

#[test]
fn screens_follow_a_processor_outage_and_recovery_without_flapping() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let url = broker.url();
    let processor = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = processor.local_addr().unwrap().port();
    let _screens = start_nodes(directory.path(), &SCREENS, &url);
    let runtime = runtime();
    let (detector, trigger) = start_detector(
        &runtime,
        directory.path(),
        &url,
        &format!(
            "enter_failures = 2\nenter_window_secs = 10\nleave_successes = 2\nleave_window_secs = 1\n\
             [[detection.probes]]\nid = \"processor\"\ntarget = \"tcp://127.0.0.1:{port}\"\ninterval_secs = 1\ntimeout_ms = 500\n"
        ),
    );
    let mut processor = Some(processor);
    runtime.block_on(async {
        let mut bus = observer(&url).await;
        let mut modes = BTreeMap::new();
        let healthy = |state: &raincheck::model::VenueState| {
            state
                .payments
                .get(&id("processor"))
                .is_some_and(|h| h.status == PaymentStatus::Ok)
                && all_confirmed(&SCREENS)(state)
        };
        wait_for(
            &mut bus,
            WAIT,
            "the probe reports the processor healthy",
            healthy,
        )
        .await;
        record_modes(&bus.state, &mut modes);

        // The processor goes away: after the debounce, every screen shows cash only.
        drop(processor.take());
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            record_modes(&bus.state, &mut modes);
            let view = compute_view(&bus.state);
            if view.mode == ViewMode::CashOnly && all_confirmed(&SCREENS)(&bus.state) {
                assert_eq!(view.authority, Some(Authority::Automatic));
                break;
            }
            assert!(
                bus.next_change(deadline).await.is_some(),
                "screens did not go cash only within {WAIT:?}"
            );
        }

        // It comes back on the same port: every screen shows all clear.
        processor =
            Some(TcpListener::bind(("127.0.0.1", port)).expect("reopen the processor port"));
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            record_modes(&bus.state, &mut modes);
            let view = compute_view(&bus.state);
            if view.mode == ViewMode::AllClear && all_confirmed(&SCREENS)(&bus.state) {
                break;
            }
            assert!(
                bus.next_change(deadline).await.is_some(),
                "screens did not clear within {WAIT:?}"
            );
        }
        for screen in SCREENS {
            assert_eq!(
                modes.get(screen).map(Vec::as_slice),
                Some(
                    &[
                        "normal".to_owned(),
                        "cash_only".to_owned(),
                        "all_clear".to_owned()
                    ][..]
                ),
                "{screen} flapped or skipped a state"
            );
        }
        bus.close().await;
    });
    drop(processor);
    trigger.trigger();
    runtime.block_on(detector.join());
}

#[test]
fn a_managers_resolve_holds_while_cards_are_down_and_pos_reports_raise_incidents() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let url = broker.url();
    let pos_port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _screens = start_nodes(directory.path(), &SCREENS[..1], &url);
    let runtime = runtime();
    let (detector, trigger) = start_detector(
        &runtime,
        directory.path(),
        &url,
        &format!(
            "pos_listen = \"127.0.0.1:{pos_port}\"\npos_source = \"pos\"\nenter_failures = 3\nenter_window_secs = 60\nleave_successes = 1\nleave_window_secs = 0\n"
        ),
    );
    runtime.block_on(async {
        let mut bus = observer(&url).await;
        let http = reqwest::Client::new();
        let pos = format!("http://127.0.0.1:{pos_port}/v1/authorisations");
        let report = |outcome: &'static str| {
            let http = http.clone();
            let pos = pos.clone();
            async move {
                http.post(&pos)
                    .json(&serde_json::json!({ "outcome": outcome, "terminal": "till-3" }))
                    .send()
                    .await
                    .expect("the POS endpoint answers")
                    .status()
            }
        };
        wait_for(&mut bus, WAIT, "the POS source announces itself", |s| {
            s.payments.contains_key(&id("pos"))
        })
        .await;
        // A declined card is not an outage; nonsense is refused.
        for _ in 0..5 {
            assert_eq!(report("declined").await, reqwest::StatusCode::ACCEPTED);
        }
        let refused = http
            .post(&pos)
            .json(&serde_json::json!({ "outcome": "maybe" }))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.text().await.unwrap().contains("approved"));
        for _ in 0..3 {
            assert_eq!(report("error").await, reqwest::StatusCode::ACCEPTED);
        }
        wait_for(
            &mut bus,
            WAIT,
            "three POS errors raise an automatic incident",
            |s| compute_view(s).mode == ViewMode::CashOnly && all_confirmed(&SCREENS[..1])(s),
        )
        .await;

        // The manager resolves while the POS still fails: the resolve holds.
        let (_, resolved_at) = declare(&url, "resolve", &[]);
        for _ in 0..3 {
            report("error").await;
        }
        wait_for(&mut bus, WAIT, "the manager's resolve shows", |s| {
            compute_view(s).mode == ViewMode::AllClear
                && confirmed_after(&SCREENS[..1], resolved_at)(s)
        })
        .await;
        // Recovery, then a new failure after the resolve: a new automatic incident.
        report("approved").await;
        wait_for(&mut bus, WAIT, "the POS recovers", |s| {
            s.payments
                .get(&id("pos"))
                .is_some_and(|h| h.status == PaymentStatus::Ok)
        })
        .await;
        assert_eq!(
            compute_view(&bus.state).mode,
            ViewMode::AllClear,
            "nothing re-raised in between"
        );
        for _ in 0..3 {
            report("error").await;
        }
        wait_for(
            &mut bus,
            WAIT,
            "a new failure after the resolve raises a new incident",
            |s| {
                let view = compute_view(s);
                view.mode == ViewMode::CashOnly
                    && view.revision > resolved_at
                    && all_confirmed(&SCREENS[..1])(s)
            },
        )
        .await;
        bus.close().await;
    });
    trigger.trigger();
    runtime.block_on(detector.join());
}
