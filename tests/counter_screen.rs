//! The counter screen on a real counter node (own sled store, real Mosquitto), drawn
//! offscreen: issue a raincheck from the offer button, see the code and its QR, redeem
//! it from the field, and see each answer in large words. Screenshots go to
//! target/screenshots/.

mod common;

use common::*;
use i_slint_backend_testing::ElementHandle;
use raincheck::app::start_node;
use raincheck::screen::counter::open_counter_window;
use raincheck::screen::offscreen::{
    install_offscreen_platform, offscreen_window_of, pump_events, render_window,
};
use raincheck::shutdown::shutdown_pair;
use std::time::{Duration, Instant};

fn texts(component: &raincheck::screen::ui::CounterWindow) -> Vec<String> {
    ElementHandle::find_by_element_type_name(component, "Text")
        .filter_map(|e| e.accessible_label())
        .map(|l| l.to_string())
        .collect()
}

#[test]
fn issue_and_redeem_from_the_counter_screen() {
    let Some(broker) = mosquitto("") else { return };
    let runtime = runtime();
    let directory = tempfile::tempdir().unwrap();
    let path = write_counter_config(directory.path(), "till-1", 1, "allow", Some(&broker.url()));
    // Headless: this test draws the counter window itself, and Slint allows one offscreen
    // platform per process.
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("\"offscreen\"", "\"headless\"\nall_clear_secs = 2")
            .replace("[counter]\n", "[counter]\nanswer_secs = 5\n"),
    )
    .unwrap();
    let config = raincheck::config::load(&path).expect("config");
    let (trigger, shutdown) = shutdown_pair();
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
        handle,
    )
    .expect("window");
    let software = offscreen_window_of(&window, 1280, 800).expect("offscreen");
    let screenshots = screenshots_dir();
    let wait_until = |what: &str, done: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !done() {
            pump_events();
            assert!(Instant::now() < deadline, "timed out waiting for: {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    };

    window.invoke_issue("popcorn".into());
    wait_until("the issued code on screen", &|| {
        !window.get_issued_code().is_empty()
    });
    let code = window.get_issued_code().to_string();
    assert_eq!(code.len(), 19, "{code}");
    assert!(
        window.get_issued_qr().size().width >= 200,
        "a QR code is shown"
    );
    assert!(texts(&window).contains(&code));
    let frame = render_window(&software, 1280, 800);
    std::fs::write(
        screenshots.join("counter-issued-1280x800.png"),
        frame.to_png().unwrap(),
    )
    .unwrap();

    window.invoke_done();
    window.invoke_redeem(code.to_lowercase().into());
    wait_until("an answer", &|| !window.get_answer_headline().is_empty());
    assert_eq!(window.get_answer_headline(), "VALID");
    let frame = render_window(&software, 1280, 800);
    assert!(
        frame.share_of((0x11, 0x70, 0x3f)) > 0.05,
        "VALID is shown in green"
    );
    std::fs::write(
        screenshots.join("counter-valid-1280x800.png"),
        frame.to_png().unwrap(),
    )
    .unwrap();

    window.invoke_redeem(code.clone().into());
    wait_until("the second answer", &|| {
        window.get_answer_headline() != "VALID"
    });
    assert_eq!(window.get_answer_headline(), "ALREADY REDEEMED");
    assert!(texts(&window).contains(&"ALREADY REDEEMED".to_owned()));
    let frame = render_window(&software, 1280, 800);
    assert!(
        frame.share_of((0xb3, 0x26, 0x1e)) > 0.05,
        "a refusal is shown in red"
    );
    std::fs::write(
        screenshots.join("counter-already-redeemed-1280x800.png"),
        frame.to_png().unwrap(),
    )
    .unwrap();

    // One symbol mistyped: the code stays in the field, selected for correction.
    let mut mistyped: Vec<char> = code.chars().collect();
    let at = mistyped.iter().position(|c| *c != '-').expect("a symbol");
    mistyped[at] = if mistyped[at] == 'X' { 'Y' } else { 'X' };
    let mistyped: String = mistyped.into_iter().collect();
    window.set_typed_code(mistyped.as_str().into());
    window.invoke_redeem(mistyped.as_str().into());
    wait_until("the typo answer", &|| {
        window.get_answer_headline() != "ALREADY REDEEMED"
    });
    assert_eq!(window.get_answer_headline(), "CHECK THE CODE");
    assert_eq!(
        window.get_typed_code(),
        mistyped.as_str(),
        "the typed code stays"
    );
    std::fs::write(
        screenshots.join("counter-check-the-code-1280x800.png"),
        render_window(&software, 1280, 800).to_png().unwrap(),
    )
    .unwrap();

    window.set_typed_code("<script>alert(1)</script>".into());
    window.invoke_redeem("<script>alert(1)</script>".into());
    wait_until("the junk answer", &|| {
        window.get_answer_headline() != "CHECK THE CODE"
    });
    assert_eq!(window.get_answer_headline(), "NOT A VOUCHER");
    assert_eq!(
        window.get_typed_code(),
        "",
        "any other answer clears the field"
    );
    wait_until(
        "the answer clears for the next guest (answer_secs = 5)",
        &|| window.get_answer_headline().is_empty(),
    );

    // The header follows the venue like the signs: cash only, all clear, and back to
    // normal when the all-clear period (2 s here) ends, with nothing new arriving.
    use raincheck::screen::ui::ScreenState;
    declare(&broker.url(), "start", &[]);
    wait_until("the cash-only header", &|| {
        window.get_state() == ScreenState::CashOnly
    });
    declare(&broker.url(), "resolve", &[]);
    wait_until("the all-clear header", &|| {
        window.get_state() == ScreenState::AllClear
    });
    wait_until("the normal header once the all clear has passed", &|| {
        window.get_state() == ScreenState::Normal
    });

    trigger.trigger();
    runtime
        .block_on(async { tokio::time::timeout(Duration::from_secs(10), node.join()).await })
        .expect("node stops");
}
