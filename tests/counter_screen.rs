//! The counter screen on a real counter node (own sled store, real Mosquitto), drawn
//! offscreen: issue a raincheck from the offer button, see the code and its QR, redeem
//! it from the field, and see each answer in large words. Screenshots go to
//! target/screenshots/.

mod common;

use common::*;
use i_slint_backend_testing::ElementHandle;
use raincheck::node::start_node;
use raincheck::screen::counter::open_counter_window;
use raincheck::screen::offscreen::{
    install_offscreen_platform, offscreen_window_of, pump_events, render_window, Frame,
};
use raincheck::shutdown::shutdown_pair;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

fn texts(component: &raincheck::screen::ui::CounterWindow) -> Vec<String> {
    ElementHandle::find_by_element_type_name(component, "Text")
        .filter_map(|e| e.accessible_label())
        .map(|l| l.to_string())
        .collect()
}

fn share_of(frame: &Frame, colour: (u8, u8, u8)) -> f64 {
    frame
        .pixels
        .iter()
        .filter(|p| (p.r, p.g, p.b) == colour)
        .count() as f64
        / frame.pixels.len() as f64
}

#[test]
fn issue_and_redeem_from_the_counter_screen() {
    let Some(broker) = mosquitto("") else { return };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let directory = tempfile::tempdir().unwrap();
    let secret = directory.path().join("voucher-secret");
    std::fs::write(&secret, b"a-venue-secret-of-32-bytes-long!").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let path = write_config(
        directory.path(),
        "till-1",
        &format!(
            "[broker]\nurl = \"{}\"\n[counter]\nterminal = 1\nsecret_file = \"{}\"\n[[counter.offers]]\nid = \"popcorn\"\nnumber = 1\ntitle = \"A free small popcorn\"\nvalidity_days = 90\n",
            broker.url(),
            secret.display()
        ),
    );
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("roles = [\"signage\"]", "roles = [\"counter\"]");
    std::fs::write(&path, text).unwrap();
    let config = raincheck::config::load(&path).expect("config");
    let (trigger, shutdown) = shutdown_pair();
    let node = runtime
        .block_on(async { start_node(&config, directory.path(), shutdown) })
        .unwrap();
    let handle = node.counter.clone().expect("counter");

    install_offscreen_platform();
    let window = open_counter_window(&config, node.presentation.clone(), runtime.handle(), handle)
        .expect("window");
    let software = offscreen_window_of(&window, 1280, 800).expect("offscreen");
    let screenshots =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&screenshots).unwrap();
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
        share_of(&frame, (0x11, 0x70, 0x3f)) > 0.05,
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
        share_of(&frame, (0xb3, 0x26, 0x1e)) > 0.05,
        "a refusal is shown in red"
    );
    std::fs::write(
        screenshots.join("counter-already-redeemed-1280x800.png"),
        frame.to_png().unwrap(),
    )
    .unwrap();

    window.invoke_redeem("<script>alert(1)</script>".into());
    wait_until("the junk answer", &|| {
        window.get_answer_headline() != "ALREADY REDEEMED"
    });
    assert_eq!(window.get_answer_headline(), "NOT A VOUCHER");

    trigger.trigger();
    runtime
        .block_on(async { tokio::time::timeout(Duration::from_secs(10), node.join()).await })
        .expect("node stops");
}
