//! A real signage node over a real Mosquitto, drawn offscreen by the same content and
//! bridge code its window uses: normal → cash only → all clear, checking each frame.

mod common;

use common::*;
use raincheck::app::start_node;
use raincheck::model::Presentation;
use raincheck::screen::offscreen::{Frame, OffscreenScreen};
use raincheck::screen::{screen_content, ScreenMode};
use raincheck::shutdown::shutdown_pair;
use std::time::{Duration, Instant};

#[test]
fn a_screen_node_switches_from_normal_to_cash_only_to_all_clear() {
    let Some(broker) = mosquitto("") else { return };
    let runtime = runtime();
    let directory = tempfile::tempdir().unwrap();
    let path = write_config(
        directory.path(),
        "lobby-1",
        // Headless: this test draws the node's presentation itself, and Slint allows one
        // offscreen platform per process.
        &format!(
            "[broker]\nurl = \"{}\"\n[display]\nbackend = \"headless\"\n",
            broker.url()
        ),
    );
    let config = raincheck::config::load(&path).unwrap();
    let (trigger, shutdown) = shutdown_pair();
    let node = runtime
        .block_on(async { start_node(&config, directory.path(), shutdown) })
        .unwrap();
    let mut presentation = node.presentation.clone();
    let screen = OffscreenScreen::new(1920, 1080).unwrap();
    let mut draw = |what: &str, expected: ScreenMode| -> Frame {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let current: Presentation = presentation.borrow_and_update().clone();
            let now = time::OffsetDateTime::now_utc();
            let (content, _) = screen_content(
                &current,
                "Rialto",
                &config.display,
                &config.texts,
                "en",
                now,
            );
            if content.mode == expected {
                screen.show(&content, "en");
                return screen.render();
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for the node to show {what}; it shows {:?}",
                content.mode
            );
            let _ = runtime.block_on(async {
                tokio::time::timeout(Duration::from_millis(500), presentation.changed()).await
            });
        }
    };

    // Nothing declared yet: once the node has heard the broker's retained state it
    // shows the normal screen, and no outage colour.
    let normal = draw("the normal screen", ScreenMode::Normal);
    assert!(normal.share_of((0xff, 0xb3, 0x00)) < 0.01);

    declare(&broker.url(), "start", &["--headline", "Cash only tonight"]);
    let cash = draw("cash only", ScreenMode::CashOnly);
    assert!(
        cash.share_of((0xff, 0xb3, 0x00)) > 0.5,
        "the cash-only frame is amber"
    );
    let labels: Vec<String> = i_slint_backend_testing::ElementHandle::find_by_element_type_name(
        &screen.component,
        "Text",
    )
    .filter_map(|e| e.accessible_label())
    .map(|l| l.to_string())
    .collect();
    assert!(
        labels.contains(&"Cash only tonight".to_owned()),
        "{labels:?}"
    );

    declare(&broker.url(), "resolve", &[]);
    let clear = draw("all clear", ScreenMode::AllClear);
    assert!(
        clear.share_of((0x11, 0x70, 0x3f)) > 0.5,
        "the all-clear frame is green"
    );

    trigger.trigger();
    runtime
        .block_on(async { tokio::time::timeout(Duration::from_secs(10), node.join()).await })
        .expect("node stops");
}
