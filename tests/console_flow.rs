//! What a manager watches through the console API, against a real console node, real
//! headless display node processes and a real Mosquitto: declare cash only with a hostile
//! headline and follow the live snapshot stream until every screen confirms it verbatim,
//! update it, resolve it and follow the all clear through a frozen screen's last will and
//! its return; and see each screen's thumbnail exactly as published, anything but a PNG
//! ignored.

mod common;

use common::console::*;
use common::{mosquitto, raw_publisher, NodeProcess};
use reqwest::StatusCode;
use rumqttc::QoS;
use serde_json::{json, Value};
use std::time::Duration;

/// A headline that would run script if the page ever treated data as HTML.
const HOSTILE: &str = r#"<img src=x onerror="window.__pwned=1">"#;

/// Sends a signal (`-STOP`, `-CONT`) to a node process.
fn signal(process: &NodeProcess, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([signal, &process.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill {signal} {}", process.node);
}

/// The process state letter from /proc ("T" once stopped).
fn process_state(process: &NodeProcess) -> String {
    std::fs::read_to_string(format!("/proc/{}/stat", process.pid()))
        .unwrap_or_default()
        .rsplit(") ")
        .next()
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or("?")
        .to_owned()
}

/// Freezes a node and waits (bounded) until the kernel reports it stopped, so nothing
/// sent afterwards can reach its code.
fn freeze(process: &NodeProcess) {
    signal(process, "-STOP");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while process_state(process) != "T" {
        assert!(
            std::time::Instant::now() < deadline,
            "{} did not stop",
            process.node
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn screen_rows(snapshot: &Value) -> Vec<&Value> {
    snapshot["nodes"]
        .as_array()
        .map(|rows| rows.iter().filter(|row| row["kind"] == "screen").collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declaration_reaches_every_screen_and_the_console_follows_it_to_all_clear() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let names = ["lobby-1", "lobby-2", "lobby-3"];
    let screens = start_display_nodes(directory.path(), &names, &broker.url());
    let (_node, _stop, client) = start_console_signed_in(directory.path(), &broker.url()).await;
    let mut events = client.events().await;
    events
        .wait_for_snapshot(
            "the link is up and three screens confirm the normal view",
            WAIT,
            |s| s["link"]["connected"] == true && s["progress"]["screens"]["confirmed"] == 3,
        )
        .await;
    wait_until_console_reads_the_venue(&client).await;

    // Declare, with a headline that must travel as text.
    let declared = client
        .post_json(
            "/api/incident",
            &json!({ "texts": { "headline": HOSTILE }, "offer_id": "popcorn" }),
        )
        .await
        .expect(StatusCode::OK, "declare cash only")
        .json();
    let incident = declared["incident_id"]
        .as_str()
        .expect("an incident id")
        .to_owned();
    let revision = declared["revision"].as_u64().expect("a revision");
    assert_eq!(declared["shown_revision"], revision, "{declared}");
    assert_eq!(declared["note"], Value::Null, "{declared}");
    let confirmed = events
        .wait_for_snapshot("every screen confirms the declaration", WAIT, |s| {
            view_revision(s) == revision && phase(s) == "confirmed"
        })
        .await;
    assert!(
        headline(&confirmed).starts_with("3 of 3 screens confirmed"),
        "{}",
        headline(&confirmed)
    );
    let view = &confirmed["view"];
    assert_eq!(view["texts"]["headline"], HOSTILE, "the headline verbatim");
    assert_eq!(
        (&view["mode"], &view["incident_id"], &view["offer_id"]),
        (&json!("cash_only"), &json!(incident), &json!("popcorn"))
    );
    assert_eq!(
        (&view["source"], &view["authority"]),
        (&json!("console"), &json!("manager"))
    );
    assert_eq!(confirmed["progress"]["done"], true);
    assert_eq!(
        confirmed["progress"]["screens"],
        json!({ "total": 3, "confirmed": 3, "lagging": 0, "syncing": 0, "offline": 0, "headless": 0 })
    );
    for row in screen_rows(&confirmed) {
        assert_eq!(
            (&row["standing"], &row["revision"]),
            (&json!("confirmed"), &json!(revision)),
            "{row}"
        );
    }
    assert_eq!(
        client.state().await["view"],
        confirmed["view"],
        "GET /api/state agrees"
    );

    // Update: same incident, a higher revision, the new text.
    let updated = client
        .put_json(
            "/api/incident",
            &json!({ "texts": { "headline": "Cash only until 21:00" } }),
        )
        .await
        .expect(StatusCode::OK, "update the incident")
        .json();
    assert_eq!(updated["incident_id"], incident.as_str());
    let update_revision = updated["revision"].as_u64().unwrap();
    assert!(update_revision > revision, "{updated}");
    let shown = events
        .wait_for_snapshot("every screen confirms the update", WAIT, |s| {
            view_revision(s) == update_revision && phase(s) == "confirmed"
        })
        .await;
    assert_eq!(shown["view"]["texts"]["headline"], "Cash only until 21:00");
    assert_eq!(shown["view"]["offer_id"], "popcorn", "the offer stays");

    // Resolve while lobby-3 is frozen: it holds the all clear back until its last will.
    freeze(&screens[2]);
    let resolved = client
        .post_json("/api/incident/resolve", &json!({}))
        .await
        .expect(StatusCode::OK, "resolve")
        .json();
    assert_eq!(resolved["incident_id"], incident.as_str());
    let resolve_revision = resolved["revision"].as_u64().unwrap();
    assert!(resolve_revision > update_revision, "{resolved}");
    let clearing = events
        .wait_for_snapshot("the frozen screen holds the all clear back", WAIT, |s| {
            view_revision(s) == resolve_revision && phase(s) == "clearing"
        })
        .await;
    assert_eq!(clearing["view"]["mode"], "all_clear");
    assert!(
        headline(&clearing).contains("lobby-3 not yet"),
        "{}",
        headline(&clearing)
    );
    let cleared = events
        .wait_for_snapshot(
            "the all clear is done once lobby-3's last will says offline",
            WAIT,
            |s| view_revision(s) == resolve_revision && phase(s) == "cleared",
        )
        .await;
    assert_eq!(process_state(&screens[2]), "T", "lobby-3 stayed frozen");
    let frozen = node_row(&cleared, "lobby-3").expect("lobby-3 still listed");
    assert_eq!(frozen["standing"], "offline", "{frozen}");
    assert!(
        frozen["offline_since"].is_string(),
        "seen going offline: {frozen}"
    );
    assert_eq!(
        cleared["progress"]["screens"],
        json!({ "total": 3, "confirmed": 2, "lagging": 0, "syncing": 0, "offline": 1, "headless": 0 })
    );
    let line = headline(&cleared);
    assert!(
        line.starts_with("2 of 3 screens cleared — ") && line.contains("lobby-3 offline since "),
        "{line}"
    );

    // Woken up, it reconnects and catches up.
    signal(&screens[2], "-CONT");
    let back = events
        .wait_for_snapshot("lobby-3 is back and shows the all clear", WAIT, |s| {
            s["progress"]["screens"]["confirmed"] == 3 && view_revision(s) == resolve_revision
        })
        .await;
    assert_eq!(headline(&back), "3 of 3 screens cleared");
    assert_eq!(
        node_row(&back, "lobby-3").unwrap()["offline_since"],
        Value::Null
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thumbnails_are_served_as_published_and_anything_but_a_png_is_ignored() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let _screens = start_display_nodes(directory.path(), &["lobby-1"], &broker.url());
    let (_node, _stop, client) = start_console_signed_in(directory.path(), &broker.url()).await;
    let mut events = client.events().await;
    events
        .wait_for_snapshot("lobby-1 and the console report", WAIT, |s| {
            node_row(s, "lobby-1").is_some() && node_row(s, "back-office").is_some()
        })
        .await;
    for node in ["lobby-1", "no-such-node", "Not%20an%20id"] {
        client
            .get(&format!("/api/nodes/{node}/thumbnail"))
            .await
            .expect_refusal(StatusCode::NOT_FOUND, &format!("the thumbnail of {node}"));
    }

    let (publisher, _task) = raw_publisher(broker.port);
    let picture = tiny_png([0xff, 0xb3, 0x00]);
    publisher
        .publish(
            thumbnail_topic("lobby-1"),
            QoS::AtLeastOnce,
            true,
            picture.clone(),
        )
        .await
        .unwrap();
    let with_thumbnail = events
        .wait_for_snapshot("lobby-1 has a thumbnail", WAIT, |s| {
            node_row(s, "lobby-1").is_some_and(|row| row["thumbnail"].is_u64())
        })
        .await;
    let version = node_row(&with_thumbnail, "lobby-1").unwrap()["thumbnail"].clone();
    let served = client
        .get("/api/nodes/lobby-1/thumbnail")
        .await
        .expect(StatusCode::OK, "lobby-1's thumbnail");
    assert_eq!(served.header("content-type"), Some("image/png"));
    assert!(served.body == picture, "the PNG comes back byte-identical");

    // Not a PNG: ignored. The console's own thumbnail, published after it on the same
    // connection, marks the point where the console has read it.
    publisher
        .publish(
            thumbnail_topic("lobby-1"),
            QoS::AtLeastOnce,
            true,
            b"GIF89a not a png".to_vec(),
        )
        .await
        .unwrap();
    let marker = tiny_png([0x11, 0x70, 0x3f]);
    publisher
        .publish(
            thumbnail_topic("back-office"),
            QoS::AtLeastOnce,
            true,
            marker.clone(),
        )
        .await
        .unwrap();
    let after = events
        .wait_for_snapshot("the marker thumbnail arrived", WAIT, |s| {
            node_row(s, "back-office").is_some_and(|row| row["thumbnail"].is_u64())
        })
        .await;
    assert_eq!(
        node_row(&after, "lobby-1").unwrap()["thumbnail"],
        version,
        "no new version"
    );
    let still = client
        .get("/api/nodes/lobby-1/thumbnail")
        .await
        .expect(StatusCode::OK, "lobby-1's thumbnail after junk");
    assert!(still.body == picture, "still the PNG, not the junk");
    let own = client.get("/api/nodes/back-office/thumbnail").await;
    assert!(own.expect(StatusCode::OK, "the marker").body == marker);

    // An empty retained message takes the thumbnail away.
    publisher
        .publish(
            thumbnail_topic("lobby-1"),
            QoS::AtLeastOnce,
            true,
            Vec::new(),
        )
        .await
        .unwrap();
    events
        .wait_for_snapshot("lobby-1's thumbnail is gone", WAIT, |s| {
            node_row(s, "lobby-1").is_some_and(|row| row.get("thumbnail").is_none())
        })
        .await;
    client
        .get("/api/nodes/lobby-1/thumbnail")
        .await
        .expect_refusal(StatusCode::NOT_FOUND, "a cleared thumbnail");
}
