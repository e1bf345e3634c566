//! Invariant 6 in-process: a node that loses its broker keeps the last known view, says
//! since when the link is lost, and converges again when the broker returns.

mod common;

use common::*;
use raincheck::app::start_node;
use raincheck::model::ViewMode;
use raincheck::model::{LinkState, Presentation};
use raincheck::shutdown::shutdown_pair;
use std::time::Duration;
use tokio::sync::watch;

async fn wait_presentation(
    receiver: &mut watch::Receiver<Presentation>,
    what: &str,
    condition: impl Fn(&Presentation) -> bool,
) -> Presentation {
    let found = tokio::time::timeout(Duration::from_secs(20), receiver.wait_for(|p| condition(p)))
        .await
        .ok()
        .and_then(Result::ok)
        .map(|presentation| presentation.clone());
    found.unwrap_or_else(|| {
        panic!(
            "timed out waiting for: {what}; last: {:?}",
            receiver.borrow()
        )
    })
}

/// A node with a one-second keep-alive and a three-second watchdog, in-process.
fn fast_link_node(
    url: &str,
    directory: &std::path::Path,
) -> (
    raincheck::app::NodeHandle,
    raincheck::shutdown::ShutdownTrigger,
) {
    let path = write_config(
        directory,
        "lobby-1",
        &format!("[broker]\nurl = \"{url}\"\nkeep_alive_secs = 1\nwatchdog_secs = 3\nreconnect_min_ms = 50\nreconnect_max_ms = 300\n"),
    );
    let config = raincheck::config::load(&path).expect("config");
    let (trigger, shutdown) = shutdown_pair();
    (
        start_node(&config, directory, shutdown).expect("node starts"),
        trigger,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_loses_its_broker_keeps_the_last_view_and_says_so() {
    let persistence = tempfile::tempdir().unwrap();
    let Some(mut broker) = persistent_mosquitto(persistence.path()) else {
        return;
    };
    let directory = tempfile::tempdir().unwrap();
    let (node, trigger) = fast_link_node(&broker.url(), directory.path());
    let mut presentation = node.presentation.clone();
    let synced = wait_presentation(&mut presentation, "the retained state heard", |p| {
        p.has_state
    })
    .await;
    assert_eq!(
        synced.view.mode,
        ViewMode::Normal,
        "an empty venue is normal once the broker has answered"
    );

    let declared_at = std::time::SystemTime::now();
    declare(&broker.url(), "start", &[]);
    let shown = wait_presentation(&mut presentation, "cash only shown", |p| {
        p.view.mode == ViewMode::CashOnly
    })
    .await;
    assert!(shown.has_state);

    wait_for_autosave(persistence.path(), declared_at);
    broker.kill();
    let lost = wait_presentation(&mut presentation, "link lost noted", |p| {
        matches!(p.link, LinkState::Lost { .. })
    })
    .await;
    assert_eq!(lost.view, shown.view, "the last known view stays on screen");

    broker.restart().expect("restart");
    let back = wait_presentation(&mut presentation, "link back", |p| p.link == LinkState::Up).await;
    assert_eq!(back.view, shown.view);
    declare(&broker.url(), "resolve", &[]);
    wait_presentation(&mut presentation, "all clear after reconnect", |p| {
        p.view.mode == ViewMode::AllClear
    })
    .await;

    trigger.trigger();
    tokio::time::timeout(Duration::from_secs(10), node.join())
        .await
        .expect("node stops within 10 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_that_goes_silent_without_closing_is_noticed() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let (node, trigger) = fast_link_node(&broker.url(), directory.path());
    let mut presentation = node.presentation.clone();
    wait_presentation(&mut presentation, "connected", |p| {
        p.link == LinkState::Up && p.has_state
    })
    .await;

    // SIGSTOP: the TCP connection stays open but nothing answers, not even pings.
    let pid = broker.pid().expect("broker pid").to_string();
    assert!(std::process::Command::new("kill")
        .args(["-STOP", &pid])
        .status()
        .unwrap()
        .success());
    let noticed = tokio::time::timeout(
        Duration::from_secs(15),
        presentation.wait_for(|p| matches!(p.link, LinkState::Lost { .. })),
    )
    .await
    .is_ok_and(|waited| waited.is_ok());
    assert!(std::process::Command::new("kill")
        .args(["-CONT", &pid])
        .status()
        .unwrap()
        .success());
    assert!(noticed, "a silent broker was not noticed within 15 s");
    wait_presentation(&mut presentation, "link back after the broker wakes", |p| {
        p.link == LinkState::Up
    })
    .await;

    trigger.trigger();
    tokio::time::timeout(Duration::from_secs(10), node.join())
        .await
        .expect("node stops within 10 s");
}
