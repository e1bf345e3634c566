//! Nothing forgets an outage on restart (issue 11): a single box with the embedded broker,
//! killed with SIGKILL mid-incident and started again, serves its first client the
//! incident (its broker is seeded from the box's kept retained set before it listens);
//! and a screen rebooted while its broker is unreachable shows the view it last knew,
//! with the "status link lost" note, and proves nothing about it until it has synced.

mod common;

use common::*;
use raincheck::app::start_node;
use raincheck::model::{compute_view, Drawing, ViewMode};
use raincheck::screen::{screen_content, ScreenMode};
use raincheck::shutdown::shutdown_pair;
use std::path::Path;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

/// Polls (bounded) until the file at `path` exists and contains `needle`: what a node
/// wrote to its disk, which no event announces.
fn wait_for_file(path: &Path, needle: &str, what: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.contains(needle) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what} in {}: {text:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A session on the embedded broker at `url`, once it accepts clients.
async fn session_once_listening(url: &str) -> raincheck::client::BusSession {
    let deadline = Instant::now() + WAIT;
    loop {
        let target = raincheck::client::BusTarget::at_url(url, VENUE)
            .unwrap()
            .with_timeout(Duration::from_secs(2));
        match raincheck::client::BusSession::open(target, "test").await {
            Ok(session) => return session,
            Err(error) => assert!(
                Instant::now() < deadline,
                "the embedded broker never answered: {error}"
            ),
        }
    }
}

#[test]
fn a_single_box_killed_mid_incident_comes_back_cash_only() {
    let directory = tempfile::tempdir().unwrap();
    let port = raincheck::mosquitto::free_port().unwrap();
    let url = format!("mqtt://127.0.0.1:{port}");
    let config = write_config(
        directory.path(),
        "box",
        &format!("[broker]\nmode = \"embedded\"\nlisten = \"127.0.0.1:{port}\"\nkeep_alive_secs = 2\nwatchdog_secs = 6\n"),
    );
    let mut single_box = NodeProcess::start_with("box", config);
    let runtime = runtime();
    let revision = runtime.block_on(async {
        let mut session = session_once_listening(&url).await;
        wait_for(
            &mut session,
            WAIT,
            "the box online",
            all_confirmed(&["box"]),
        )
        .await;
        let (_, revision) = declare(&url, "start", &["--headline", "Cash only: the storm"]);
        wait_for(
            &mut session,
            WAIT,
            "the box shows cash only",
            confirmed_after(&["box"], revision),
        )
        .await;
        session.close().await;
        revision
    });
    wait_for_file(
        &directory.path().join("box-data/retained.json"),
        "Cash only: the storm",
        "the box's kept retained set",
    );
    single_box.kill_hard();
    single_box.restart();
    runtime.block_on(async {
        // The very first read of the restarted broker already holds the incident.
        let mut session = session_once_listening(&url).await;
        let view = compute_view(&session.state);
        assert_eq!(
            (view.mode, view.revision),
            (ViewMode::CashOnly, revision),
            "{view:?}"
        );
        assert_eq!(view.texts.headline.as_deref(), Some("Cash only: the storm"));
        wait_for(
            &mut session,
            WAIT,
            "the restarted box draws it again",
            confirmed_after(&["box"], revision),
        )
        .await;
        session.close().await;
    });
}

#[test]
fn a_screen_rebooted_without_its_broker_shows_its_last_view_unconfirmed() {
    let Some(mut broker) = mosquitto("") else {
        return;
    };
    let url = broker.url();
    let directory = tempfile::tempdir().unwrap();
    let path = write_config(
        directory.path(),
        "lobby-1",
        &format!("[broker]\nurl = \"{url}\"\nkeep_alive_secs = 2\nwatchdog_secs = 6\nreconnect_min_ms = 50\nreconnect_max_ms = 500\n"),
    );
    let config = raincheck::config::load(&path).unwrap();
    let runtime = runtime();
    runtime.block_on(async {
        let (trigger, shutdown) = shutdown_pair();
        let node = start_node(&config, directory.path(), shutdown).unwrap();
        let mut session = observer_once_online(&url, &["lobby-1"], WAIT).await;
        let (_, revision) = declare(&url, "start", &[]);
        wait_for(
            &mut session,
            WAIT,
            "lobby-1 shows cash only",
            confirmed_after(&["lobby-1"], revision),
        )
        .await;
        session.close().await;
        wait_for_file(
            &directory.path().join("lobby-1-data/last-view.json"),
            "cash_only",
            "the remembered view",
        );
        trigger.trigger();
        node.join().await;
    });
    broker.kill();
    runtime.block_on(async {
        let (trigger, shutdown) = shutdown_pair();
        let node = start_node(&config, directory.path(), shutdown).unwrap();
        let shown = node.presentation.borrow().clone();
        assert!(shown.restored && !shown.has_state, "{shown:?}");
        assert_eq!(shown.view.mode, ViewMode::CashOnly);
        let (content, _) = screen_content(
            &shown,
            "Rialto",
            &config.display,
            &config.texts,
            "en",
            time::OffsetDateTime::now_utc(),
        );
        assert_eq!(
            content.mode,
            ScreenMode::CashOnly,
            "not the neutral boot screen"
        );
        assert!(
            !content.link_lost_since.is_empty(),
            "the link-lost note is on screen"
        );
        // It draws the restored view, but as a frame of an unsynced screen: its report
        // can only say "syncing".
        let mut drawing = node.drawing.subscribe();
        let drawn = tokio::time::timeout(
            WAIT,
            drawing.wait_for(|d| matches!(d, Drawing::Drawn { .. })),
        )
        .await
        .expect("the restored view is drawn")
        .expect("the drawing channel is open")
        .clone();
        assert!(
            matches!(drawn, Drawing::Drawn { synced: false, .. }),
            "{drawn:?}"
        );
        let report = raincheck::status::report::report_of(
            &node.identity,
            &node.presentation.borrow().clone(),
            &drawn,
        );
        assert_eq!(report.shown, Some(raincheck::protocol::Shown::Syncing));
        trigger.trigger();
        node.join().await;
    });
}
