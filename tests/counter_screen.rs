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

/// Where the text `label` is drawn and how big it is: (x, y, width, height).
fn place_of(component: &raincheck::screen::ui::CounterWindow, label: &str) -> (f32, f32, f32, f32) {
    let element = ElementHandle::find_by_element_type_name(component, "Text")
        .find(|e| e.accessible_label().as_deref() == Some(label))
        .unwrap_or_else(|| panic!("{label:?} is on screen: {:?}", texts(component)));
    let (at, size) = (element.absolute_position(), element.size());
    (at.x, at.y, size.width, size.height)
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
        text.replace(
            "\"offscreen\"",
            "\"headless\"\nall_clear_secs = 2\nlanguages = [\"en\", \"es\"]",
        )
        .replace(
            "id = \"till-1\"",
            "id = \"till-1\"\nname = \"Box office 1\"",
        )
        .replace(
            "[counter]\n",
            "[counter]\nanswer_secs = 5\nstaff_sign_in = true\n\
             words = { runbook = \"Switch the card reader's Wi-Fi off and on once\" }\n",
        ),
    )
    .unwrap();
    let config = raincheck::config::load(&path).expect("config");
    let (trigger, shutdown) = shutdown_pair();
    let node = runtime
        .block_on(async { start_node(&config, directory.path(), shutdown) })
        .unwrap();
    let handle = node.counter.clone().expect("counter");
    let handle_for_lookup = handle.clone();

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

    // Staff sign in with their number; it is written into what they issue.
    window.invoke_sign_in("4x".into());
    assert!(
        window.get_staff_shown().is_empty(),
        "a staff number is digits only"
    );
    assert!(
        window.get_notice().contains("1 to 8 digits"),
        "{}",
        window.get_notice()
    );
    window.invoke_sign_in("42".into());
    assert_eq!(window.get_staff_shown(), "Staff 42");

    window.invoke_issue("popcorn".into());
    wait_until("the issued code on screen", &|| {
        !window.get_issued_code().is_empty()
    });
    let code = window.get_issued_code().to_string();
    assert_eq!(code.len(), 19, "{code}");
    let record = runtime
        .block_on(handle_for_lookup.lookup(code.clone()))
        .expect("lookup")
        .1
        .expect("the issued voucher is stored");
    let issued = record.issued.expect("an issue mark");
    assert_eq!(
        issued.staff.as_deref(),
        Some("42"),
        "the staff number is kept"
    );
    assert_eq!(
        issued.till.as_deref(),
        Some("Box office 1"),
        "the till's name is kept"
    );
    // The code is one line, whatever the code: never wrapped, sized to its panel.
    let (_, _, code_width, code_height) = place_of(&window, &code);
    assert!(
        code_height <= 56.0 && code_width < 640.0,
        "one line in its half: {code_width}x{code_height}"
    );
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
    assert_eq!(
        window.get_answer_detail(),
        "Give the guest: A free small popcorn"
    );
    assert!(
        !window.get_answer_say().is_empty(),
        "words to say for every answer"
    );
    let valid_place = place_of(&window, "VALID");
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
    let detail = window.get_answer_detail().to_string();
    assert!(
        detail.contains("A free small popcorn") && detail.contains("Box office 1"),
        "names the offer and the till by name: {detail}"
    );
    let (x, y, _, _) = place_of(&window, "ALREADY REDEEMED");
    assert_eq!(
        (x, y),
        (valid_place.0, valid_place.1),
        "answers share one fixed slot"
    );
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
    assert!(
        texts(&window).contains(&"→ Switch the card reader's Wi-Fi off and on once".to_owned()),
        "the venue's runbook line is shown: {:?}",
        texts(&window)
    );
    std::fs::write(
        screenshots.join("counter-cash-only-1280x800.png"),
        render_window(&software, 1280, 800).to_png().unwrap(),
    )
    .unwrap();
    // Staff switch the counter to Spanish: labels, answers and words to say follow,
    // while the signs' language rotation never touches it.
    assert_eq!(window.get_labels().next_language, "Español");
    window.invoke_next_language();
    assert_eq!(window.get_labels().issue_title, "Entregar un vale");
    assert_eq!(window.get_labels().next_language, "English");
    window.invoke_redeem(code.clone().into());
    wait_until("the Spanish answer", &|| {
        window.get_answer_headline() == "YA CANJEADO"
    });
    assert!(window.get_answer_detail().contains("Box office 1"));
    assert_eq!(
        window.get_answer_say(),
        "Lo siento, este vale ya se ha utilizado."
    );
    std::fs::write(
        screenshots.join("counter-es-already-redeemed-1280x800.png"),
        render_window(&software, 1280, 800).to_png().unwrap(),
    )
    .unwrap();
    window.invoke_next_language();
    declare(&broker.url(), "resolve", &[]);
    wait_until("the all-clear header", &|| {
        window.get_state() == ScreenState::AllClear
    });
    wait_until("the normal header once the all clear has passed", &|| {
        window.get_state() == ScreenState::Normal
    });

    // A staff drill: the till shows the marker in its banner and stays a till.
    let url = broker.url();
    let drill = cli(&["drill", "start", "--broker", url.as_str(), "--venue", VENUE]);
    assert!(drill.status.success(), "{}", stderr_of(&drill));
    wait_until("the drill marker", &|| {
        window.get_drill_note() == "TEST — staff drill"
    });
    assert_eq!(
        window.get_state(),
        ScreenState::Normal,
        "a drill is no incident"
    );
    std::fs::write(
        screenshots.join("counter-drill-1280x800.png"),
        render_window(&software, 1280, 800).to_png().unwrap(),
    )
    .unwrap();
    let ended = cli(&["drill", "end", "--broker", url.as_str(), "--venue", VENUE]);
    assert!(ended.status.success(), "{}", stderr_of(&ended));
    wait_until("the marker goes", &|| window.get_drill_note().is_empty());

    trigger.trigger();
    runtime
        .block_on(async { tokio::time::timeout(Duration::from_secs(10), node.join()).await })
        .expect("node stops");
}
