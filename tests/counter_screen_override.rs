//! The native counter screen at a reached cap, on a real counter node (own sled store,
//! real Mosquitto, a real incident), drawn offscreen: the second popcorn of the incident
//! opens the manager's override form with the cap in words; a wrong PIN stays on the form
//! and issues nothing; the manager's PIN issues past the cap and the record says who.

mod common;

use common::*;
use raincheck::app::start_node;
use raincheck::screen::counter::open_counter_window;
use raincheck::screen::offscreen::{
    install_offscreen_platform, offscreen_window_of, pump_events, render_window,
};
use raincheck::screen::ui::ScreenState;
use raincheck::shutdown::shutdown_pair;
use std::time::{Duration, Instant};

#[test]
fn a_reached_cap_opens_the_override_form_and_a_managers_pin_issues_past_it() {
    let Some(broker) = mosquitto("") else { return };
    let runtime = runtime();
    let directory = tempfile::tempdir().unwrap();
    let path = write_counter_config(directory.path(), "till-1", 1, "allow", Some(&broker.url()));
    let pin_hash = raincheck::console::hash_pin("4821").unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("\"offscreen\"", "\"headless\"").replace(
            "validity_days = 90\n",
            &format!(
                "validity_days = 90\ntill_cap = 1\n\
                 [[counter.managers]]\nname = \"Dana\"\npin_hash = \"{pin_hash}\"\n"
            ),
        ),
    )
    .unwrap();
    let config = raincheck::config::load(&path).expect("config");
    let (_trigger, shutdown) = shutdown_pair();
    let node = runtime
        .block_on(async { start_node(&config, directory.path(), shutdown) })
        .unwrap();
    let handle = node.counter.clone().expect("counter");
    install_offscreen_platform();
    let window = open_counter_window(
        &config,
        node.presentation.clone(),
        None,
        runtime.handle(),
        handle.clone(),
    )
    .expect("window");
    let software = offscreen_window_of(&window, 1280, 800).expect("offscreen");
    let wait_until = |what: &str, done: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !done() {
            pump_events();
            assert!(Instant::now() < deadline, "timed out waiting for: {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    };

    // Caps count per incident: the venue goes cash only first.
    declare(&broker.url(), "start", &[]);
    wait_until("the cash-only header", &|| {
        window.get_state() == ScreenState::CashOnly
    });
    window.invoke_issue("popcorn".into());
    wait_until("the first code", &|| !window.get_issued_code().is_empty());
    window.invoke_issue("popcorn".into());
    wait_until("the override form", &|| {
        !window.get_override_offer().is_empty()
    });
    assert_eq!(window.get_override_offer(), "popcorn");
    let message = window.get_override_message().to_string();
    assert!(
        message.contains("A free small popcorn: this till has issued 1 of 1 for this incident")
            && message.contains("A manager can override"),
        "{message}"
    );
    assert_eq!(window.get_override_labels().title, "Manager override");
    std::fs::write(
        std::env::temp_dir().join("counter-override-1280x800.png"),
        render_window(&software, 1280, 800).to_png().unwrap(),
    )
    .unwrap();

    let records = || runtime.block_on(handle.records()).unwrap();
    window.invoke_override_issue("popcorn".into(), "Dana".into(), "1111".into(), "".into());
    wait_until("the wrong PIN's refusal", &|| {
        !window.get_override_error().is_empty()
    });
    assert!(
        window
            .get_override_error()
            .contains("Wrong manager name or PIN"),
        "{}",
        window.get_override_error()
    );
    assert_eq!(
        window.get_override_offer(),
        "popcorn",
        "the form stays open"
    );
    assert_eq!(records().len(), 1, "nothing issued");
    std::fs::write(
        std::env::temp_dir().join("counter-override-wrong-pin-1280x800.png"),
        render_window(&software, 1280, 800).to_png().unwrap(),
    )
    .unwrap();

    let first = window.get_issued_code().to_string();
    window.invoke_override_issue("popcorn".into(), "Dana".into(), "4821".into(), "".into());
    wait_until("the code issued past the cap", &|| {
        window.get_override_offer().is_empty() && window.get_issued_code() != first.as_str()
    });
    let past: Vec<_> = records()
        .into_iter()
        .filter_map(|record| record.past_cap)
        .collect();
    assert_eq!(past.len(), 1, "{past:?}");
    assert_eq!(past[0].manager.as_deref(), Some("Dana"));
}
