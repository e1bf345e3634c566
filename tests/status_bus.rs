//! End-to-end tests of the venue status bus with a real Mosquitto and real `raincheck`
//! node processes: an incident reaches every display and all report the same view;
//! restarts of displays and of the broker converge; bad input changes nothing;
//! managers outrank automatic detection; last wills mark killed nodes offline.

mod common;

use common::*;
use raincheck::model::{compute_view, ViewMode};
use raincheck::protocol::{Authority, DisplayStatus, Identifier};
use std::collections::BTreeSet;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_reaches_every_display_and_all_report_the_same_revision() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let names = ["lobby-1", "lobby-2", "box-office"];
    let _nodes = start_nodes(directory.path(), &names, &broker.url());
    let mut observer = observer(&broker.url()).await;
    wait_for(
        &mut observer,
        WAIT,
        "three nodes online and confirmed",
        all_confirmed(&names),
    )
    .await;

    let (out, _) = declare_and_confirm(
        &mut observer,
        &broker.url(),
        "start",
        &["--headline", "Cash only <b>today</b>", "--wait", "15"],
        &names,
        "every node shows cash only",
    )
    .await;
    assert!(out.contains("3 of 3 screens confirmed"), "{out}");
    let view = observer.view();
    assert_eq!(view.mode, ViewMode::CashOnly);
    assert_eq!(
        view.texts.headline.as_deref(),
        Some("Cash only <b>today</b>"),
        "text is carried verbatim"
    );
    let revisions: BTreeSet<_> = observer
        .state
        .displays
        .values()
        .map(|r| (r.revision, r.digest.clone()))
        .collect();
    assert_eq!(
        revisions.len(),
        1,
        "all nodes report one revision and digest: {revisions:?}"
    );

    let status = cli(&[
        "status",
        "--json",
        "--broker",
        &broker.url(),
        "--venue",
        VENUE,
    ]);
    let json: serde_json::Value =
        serde_json::from_slice(&status.stdout).expect("status --json is JSON");
    assert_eq!(json["view"]["mode"], "cash_only");
    assert_eq!(json["confirmation"]["confirmed"], 3);

    let (out, _) = declare_and_confirm(
        &mut observer,
        &broker.url(),
        "resolve",
        &["--wait", "15"],
        &names,
        "every node shows all clear",
    )
    .await;
    assert!(out.contains("resolved incident"), "{out}");
    assert_eq!(observer.view().mode, ViewMode::AllClear);
    observer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_display_shows_the_incident_from_retained_state_alone() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let mut node = NodeProcess::start(directory.path(), "lobby-1", &broker.url());
    let mut observer = observer(&broker.url()).await;
    declare_and_confirm(
        &mut observer,
        &broker.url(),
        "start",
        &[],
        &["lobby-1"],
        "lobby-1 shows the incident",
    )
    .await;
    node.kill_hard();
    wait_for(
        &mut observer,
        WAIT,
        "lobby-1 marked offline by its last will",
        |s| {
            s.displays
                .values()
                .any(|r| r.node.as_str() == "lobby-1" && r.status == DisplayStatus::Offline)
        },
    )
    .await;
    node.restart();
    wait_for(
        &mut observer,
        WAIT,
        "restarted lobby-1 shows the incident again",
        all_confirmed(&["lobby-1"]),
    )
    .await;
    assert_eq!(observer.view().mode, ViewMode::CashOnly);
    observer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_killed_and_restarted_mid_incident_converges() {
    let persistence = tempfile::tempdir().unwrap();
    let Some(mut broker) = persistent_mosquitto(persistence.path()) else {
        return;
    };
    let directory = tempfile::tempdir().unwrap();
    let names = ["lobby-1", "lobby-2"];
    let _nodes = start_nodes(directory.path(), &names, &broker.url());
    let mut first = observer(&broker.url()).await;
    wait_for(&mut first, WAIT, "nodes online", all_confirmed(&names)).await;
    let declared_at = std::time::SystemTime::now();
    declare_and_confirm(
        &mut first,
        &broker.url(),
        "start",
        &[],
        &names,
        "nodes show the incident",
    )
    .await;
    let incident = first.view();
    first.close().await;
    // A venue broker saves after every change; make sure it has, then kill it hard.
    wait_for_autosave(persistence.path(), declared_at);
    broker.restart().expect("restart mosquitto");

    let mut second = observer(&broker.url()).await;
    assert_eq!(
        second.view(),
        incident,
        "the declaration survived the broker's restart; log:\n{}",
        broker.log()
    );
    wait_for(
        &mut second,
        WAIT,
        "both nodes reconnected and confirm",
        all_confirmed(&names),
    )
    .await;
    declare_and_confirm(
        &mut second,
        &broker.url(),
        "resolve",
        &[],
        &names,
        "both nodes show all clear",
    )
    .await;
    assert_eq!(second.view().mode, ViewMode::AllClear);
    second.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_duplicate_reordered_and_malformed_messages_leave_every_view_equal() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let names = ["lobby-1", "lobby-2"];
    let _nodes = start_nodes(directory.path(), &names, &broker.url());
    let mut observer = observer(&broker.url()).await;
    declare(&broker.url(), "start", &["--headline", "first"]);
    declare_and_confirm(
        &mut observer,
        &broker.url(),
        "update",
        &["--headline", "second"],
        &names,
        "nodes show the update",
    )
    .await;
    let before = observer.view();
    let before_digest = before.digest();
    let current = observer
        .state
        .declarations
        .values()
        .next()
        .expect("the declaration was seen")
        .clone();

    let topic = format!("raincheck/v1/{VENUE}/incident/cli");
    let mut stale = current.clone();
    stale.revision -= 1;
    stale.texts.headline = Some("stale".into());
    let mut future_version = serde_json::to_value(&current).unwrap();
    future_version["v"] = 2.into();
    let mut wrong_type = serde_json::to_value(&current).unwrap();
    wrong_type["revision"] = "high".into();
    let mut huge_revision = current.clone();
    huge_revision.revision = u64::MAX;
    let junk: Vec<(String, Vec<u8>)> = vec![
        (topic.clone(), serde_json::to_vec(&stale).unwrap()),
        (topic.clone(), serde_json::to_vec(&current).unwrap()),
        (topic.clone(), b"{definitely not json".to_vec()),
        (topic.clone(), serde_json::to_vec(&future_version).unwrap()),
        (topic.clone(), serde_json::to_vec(&wrong_type).unwrap()),
        (topic.clone(), serde_json::to_vec(&huge_revision).unwrap()),
        (topic.clone(), vec![b'x'; 64 * 1024]),
        (
            format!("raincheck/v1/{VENUE}/incident/console"),
            serde_json::to_vec(&current).unwrap(),
        ),
        (
            format!("raincheck/v1/{VENUE}/payments/pos-1"),
            b"[]".to_vec(),
        ),
    ];
    // Not retained: a retained overwrite would erase the valid declaration at the broker
    // (only the broker's ACL keeps strangers off a source's topic, see config/mosquitto).
    for (topic, payload) in &junk {
        observer.publish_nowait(topic, payload.clone()).unwrap();
    }
    observer
        .publish_retained_nowait(
            &format!("raincheck/v1/{VENUE}/payments/pos-2"),
            b"{\"v\":1}".to_vec(),
        )
        .unwrap();
    // A flood of 10,000 non-retained garbage messages, as a broken integration might
    // send, from a client that reads nothing back.
    let (flooder, flooding) = raw_publisher(broker.port);
    for index in 0..10_000 {
        let topic = format!("raincheck/v1/{VENUE}/incident/flood-{}", index % 7);
        let payload = format!("{{\"v\":1,\"n\":{index}}}").into_bytes();
        tokio::time::timeout(
            WAIT,
            flooder.publish(topic, rumqttc::QoS::AtMostOnce, false, payload),
        )
        .await
        .expect("the flood is accepted by the broker in time")
        .expect("flood publish");
    }
    // Disconnecting after the flood means every flood packet has been written first.
    flooder.disconnect().await.expect("disconnect the flooder");
    tokio::time::timeout(WAIT, flooding)
        .await
        .expect("the flood is sent in time")
        .expect("flooder task");
    // The next valid declaration must be the only change any node shows.
    declare(&broker.url(), "update", &["--headline", "third"]);
    let mut seen_digests = BTreeSet::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(raincheck::protocol::BusMessage::Display(report)) = &observer.last_applied {
            seen_digests.extend(report.digest.clone());
        }
        if all_confirmed(&names)(&observer.state)
            && observer.view().texts.headline.as_deref() == Some("third")
        {
            break;
        }
        assert!(
            observer.next_change(deadline).await.is_some(),
            "nodes did not confirm the valid update after the junk"
        );
    }
    let after_digest = observer.view().digest();
    seen_digests.remove(&before_digest);
    seen_digests.remove(&after_digest);
    assert!(
        seen_digests.is_empty(),
        "a node showed something the junk produced: {seen_digests:?}"
    );
    observer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_outranks_automatic_detection() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let names = ["lobby-1", "till-2"];
    let _nodes = start_nodes(directory.path(), &names, &broker.url());
    let mut observer = observer(&broker.url()).await;
    let automatic: &[&str] = &["--source", "auto", "--authority", "automatic"];

    declare_and_confirm(
        &mut observer,
        &broker.url(),
        "start",
        automatic,
        &names,
        "automatic incident shown",
    )
    .await;
    assert_eq!(observer.view().authority, Some(Authority::Automatic));

    declare_and_confirm(
        &mut observer,
        &broker.url(),
        "resolve",
        &["--source", "console"],
        &names,
        "manager's resolve shown",
    )
    .await;
    assert_eq!(
        observer.view().mode,
        ViewMode::AllClear,
        "a manager may end an automatic incident"
    );

    declare_and_confirm(
        &mut observer,
        &broker.url(),
        "start",
        &["--source", "console", "--headline", "manager words"],
        &names,
        "manager's incident shown",
    )
    .await;
    let manager_view = observer.view();
    assert_eq!(
        manager_view.texts.headline.as_deref(),
        Some("manager words")
    );
    // Automatic detection now reports recovery; it must not end the manager's incident.
    let (out, _) = declare_and_confirm(
        &mut observer,
        &broker.url(),
        "resolve",
        &["--source", "auto", "--authority", "automatic"],
        &names,
        "nodes confirm",
    )
    .await;
    assert!(
        out.contains("takes precedence"),
        "the CLI says the declaration is outranked: {out}"
    );
    assert_eq!(
        observer.view(),
        manager_view,
        "automatic resolve did not override the manager"
    );

    declare_and_confirm(
        &mut observer,
        &broker.url(),
        "resolve",
        &["--source", "console"],
        &names,
        "all clear",
    )
    .await;
    assert_eq!(observer.view().mode, ViewMode::AllClear);
    // A new failure after the manager's resolve does take over.
    declare_and_confirm(
        &mut observer,
        &broker.url(),
        "start",
        automatic,
        &names,
        "new automatic incident shown",
    )
    .await;
    assert_eq!(
        (observer.view().mode, observer.view().authority),
        (ViewMode::CashOnly, Some(Authority::Automatic))
    );
    observer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_will_marks_a_killed_node_offline_and_sigterm_says_goodbye() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let mut killed = NodeProcess::start(directory.path(), "lobby-1", &broker.url());
    let mut stopped = NodeProcess::start(directory.path(), "lobby-2", &broker.url());
    let mut observer = observer(&broker.url()).await;
    wait_for(
        &mut observer,
        WAIT,
        "nodes online",
        all_confirmed(&["lobby-1", "lobby-2"]),
    )
    .await;
    let offline = |node: &'static str| {
        move |s: &raincheck::model::VenueState| {
            s.displays
                .get(&Identifier::parse(node).unwrap())
                .is_some_and(|r| r.status == DisplayStatus::Offline)
        }
    };
    killed.kill_hard();
    wait_for(
        &mut observer,
        WAIT,
        "lobby-1 offline by last will",
        offline("lobby-1"),
    )
    .await;
    assert!(stopped.terminate(), "SIGTERM ends the node with status 0");
    wait_for(
        &mut observer,
        WAIT,
        "lobby-2 offline by its own goodbye",
        offline("lobby-2"),
    )
    .await;
    let screens = observer
        .confirmations()
        .tally(raincheck::model::NodeKind::Screen);
    assert_eq!(screens.offline, 2, "{}", observer.headline());

    // lobby-1 was taken out of service: a technician forgets it, and it counts nowhere.
    let bus = ["--broker", &broker.url(), "--venue", VENUE];
    let forget = |node: &str, extra: &[&str]| {
        let mut args = vec!["node", "forget", node];
        args.extend(bus);
        args.extend(extra);
        cli(&args)
    };
    let refused = forget("lobby-9", &[]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("no node lobby-9"),
        "an unknown node is refused by name: {}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let forgotten = forget("lobby-1", &[]);
    assert!(
        forgotten.status.success(),
        "{}",
        String::from_utf8_lossy(&forgotten.stderr)
    );
    wait_for(&mut observer, WAIT, "lobby-1 forgotten", |s| {
        !s.displays
            .contains_key(&Identifier::parse("lobby-1").unwrap())
    })
    .await;
    let screens = observer
        .confirmations()
        .tally(raincheck::model::NodeKind::Screen);
    assert_eq!(screens.offline, 1, "{}", observer.headline());
    let again = forget("lobby-1", &[]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("already retired"));
    // A retired node that comes back is shown again: a running screen is never hidden.
    let mut back = NodeProcess::start(directory.path(), "lobby-1", &broker.url());
    wait_for(&mut observer, WAIT, "lobby-1 back online", |s| {
        s.displays
            .get(&Identifier::parse("lobby-1").unwrap())
            .is_some_and(|r| r.status == DisplayStatus::Online)
    })
    .await;
    let online = forget("lobby-1", &["--undo"]);
    assert!(
        online.status.success(),
        "{}",
        String::from_utf8_lossy(&online.stderr)
    );
    back.kill_hard();
    observer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_broker_serves_a_single_box_venue() {
    let directory = tempfile::tempdir().unwrap();
    let port = raincheck::mosquitto::free_port().unwrap();
    let url = format!("mqtt://127.0.0.1:{port}");
    let config = write_config(
        directory.path(),
        "box",
        &format!(
            "[broker]\nmode = \"embedded\"\nlisten = \"127.0.0.1:{port}\"\nkeep_alive_secs = 2\nwatchdog_secs = 6\n"
        ),
    );
    let _single_box = NodeProcess::start_with("box", config);
    let mut other = NodeProcess::start(directory.path(), "lobby-1", &url);
    let mut observer = {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let target = raincheck::client::BusTarget::at_url(&url, VENUE)
                .unwrap()
                .with_timeout(Duration::from_secs(2));
            match raincheck::client::BusSession::open(target, "test").await {
                Ok(session) => break session,
                Err(error) if std::time::Instant::now() < deadline => {
                    eprintln!("waiting for the embedded broker: {error}")
                }
                Err(error) => panic!("embedded broker never answered: {error}"),
            }
        }
    };
    wait_for(
        &mut observer,
        WAIT,
        "both nodes online",
        all_confirmed(&["box", "lobby-1"]),
    )
    .await;
    declare_and_confirm(
        &mut observer,
        &url,
        "start",
        &[],
        &["box", "lobby-1"],
        "both show cash only",
    )
    .await;
    assert_eq!(compute_view(&observer.state).mode, ViewMode::CashOnly);
    other.kill_hard();
    wait_for(
        &mut observer,
        WAIT,
        "the embedded broker publishes the killed node's last will",
        |s| {
            s.displays
                .get(&Identifier::parse("lobby-1").unwrap())
                .is_some_and(|r| r.status == DisplayStatus::Offline)
        },
    )
    .await;
    other.restart();
    wait_for(
        &mut observer,
        WAIT,
        "restarted node converges from the embedded broker's retained state",
        all_confirmed(&["box", "lobby-1"]),
    )
    .await;
    observer.close().await;
}

#[test]
fn watch_prints_each_change_as_it_happens() {
    use std::io::{BufRead, BufReader};
    let Some(broker) = mosquitto("") else { return };
    let mut watch = KillOnDrop(
        std::process::Command::new(binary())
            .args(["watch", "--broker", &broker.url(), "--venue", VENUE])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start watch"),
    );
    let (lines_tx, lines) = std::sync::mpsc::channel();
    let stdout = watch.0.stdout.take().expect("piped stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let wait_line = |what: &str| -> String {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) if line.contains(what) => return line,
                Ok(_) => {}
                Err(_) => panic!("watch never printed {what:?}"),
            }
        }
    };
    wait_line("normal (nothing declared)");
    declare(&broker.url(), "start", &[]);
    wait_line("CASH ONLY");
    declare(&broker.url(), "resolve", &[]);
    wait_line("all clear");
}
