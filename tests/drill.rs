//! Staff drills (issue 14) against real Mosquitto, real display nodes and a real console:
//! a manager starts a drill; every screen draws the drill view and confirms it from its
//! frame; the console keeps the result screen by screen as a dated report (JSON and a
//! printable page, drawn in Chromium); a real declaration during the drill takes every
//! screen at once and the report says the drill was interrupted; a drill during an
//! incident, bad durations and unknown screens are refused and audited; and a drill left
//! alone ends by itself when its time is up.

mod common;

use common::console::*;
use common::webdriver::browser;
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn drill_id(snapshot: &Value) -> Option<&str> {
    snapshot["view"]["drill"]["drill_id"].as_str()
}

fn audit_actions(audit: &Value, action: &str) -> Vec<Value> {
    audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|entry| entry["action"] == action)
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drill_is_confirmed_by_every_screen_reported_and_loses_to_a_real_incident() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let url = broker.url();
    let _screens = start_display_nodes(directory.path(), &["lobby-1", "lobby-2"], &url);
    let (_node, _stop, client) = start_console_signed_in(directory.path(), &url).await;
    let mut live = client.events().await;
    live.wait_for_snapshot("both screens confirm", WAIT, |s| {
        s["progress"]["screens"]["confirmed"] == 2
    })
    .await;
    wait_until_console_reads_the_venue(&client).await;

    // Bad input: refused, nothing started, audited.
    for (body, says) in [
        (json!({ "seconds": 5 }), "10 to 600 seconds"),
        (json!({ "full_screen": ["lobby-9"] }), "no screen lobby-9"),
        (json!({ "minutes": 2 }), "unknown field"),
    ] {
        let refusal = client
            .post_json("/api/drill", &body)
            .await
            .expect_refusal(StatusCode::BAD_REQUEST, "a bad drill");
        assert!(refusal.contains(says), "{body}: {refusal}");
    }
    let refusal = client
        .post_json("/api/drill/end", &json!({}))
        .await
        .expect_refusal(StatusCode::CONFLICT, "no drill to end");
    assert!(refusal.contains("no drill is running"), "{refusal}");
    assert!(client.state().await["view"]["drill"].is_null());

    // The drill: the marker on lobby-1, the full cash-only screen on lobby-2.
    let started = client
        .post_json(
            "/api/drill",
            &json!({ "seconds": 120, "full_screen": ["lobby-2"] }),
        )
        .await
        .expect(StatusCode::OK, "start a drill")
        .json();
    let id = started["drill_id"].as_str().expect("a drill id").to_owned();
    let drilling = live
        .wait_for_snapshot("both screens confirm the drill", WAIT, |s| {
            drill_id(s) == Some(id.as_str()) && s["progress"]["screens"]["confirmed"] == 2
        })
        .await;
    assert_eq!(drilling["view"]["mode"], "normal", "a drill is no incident");
    assert_eq!(drilling["view"]["drill"]["full_screen"], json!(["lobby-2"]));
    if let Some(tablet) = browser(1280, 800).await {
        tablet.goto(&client.url("/")).await;
        sign_in_in_browser(&tablet).await;
        tablet
            .wait_until(
                "document.querySelector('#drill-card').dataset.done === 'true'",
                WAIT,
                "the drill card counts both screens",
            )
            .await;
        let progress = tablet.text("#drill-progress").await;
        assert!(
            progress.starts_with("2 of 2 screens and counters show the drill"),
            "{progress}"
        );
        tablet
            .screenshot(&screenshots_dir().join("console-drill-running.png"))
            .await;
        tablet.quit().await;
    }

    // Another drill while this one runs, and a drill end by hand later: refused / fine.
    let refusal = client
        .post_json("/api/drill", &json!({}))
        .await
        .expect_refusal(StatusCode::CONFLICT, "a second drill");
    assert!(refusal.contains("already running"), "{refusal}");

    // A real incident takes every screen at once; the drill does not come back.
    let declared = client
        .post_json("/api/incident", &json!({}))
        .await
        .expect(StatusCode::OK, "a real declaration")
        .json();
    let revision = declared["revision"].as_u64().unwrap();
    let real = live
        .wait_for_snapshot("every screen shows the real incident", WAIT, |s| {
            view_revision(s) == revision && s["progress"]["phase"] == "confirmed"
        })
        .await;
    assert!(real["view"]["drill"].is_null(), "the real incident wins");
    let refusal = client
        .post_json("/api/drill", &json!({}))
        .await
        .expect_refusal(StatusCode::CONFLICT, "a drill during an incident");
    assert!(refusal.contains("real incident is in force"), "{refusal}");
    client
        .post_json("/api/incident/resolve", &json!({}))
        .await
        .expect(StatusCode::OK, "resolve");
    let cleared = live
        .wait_for_snapshot("all clear everywhere", WAIT, |s| {
            s["progress"]["phase"] == "cleared"
        })
        .await;
    assert!(cleared["view"]["drill"].is_null(), "the drill stays over");

    // The report, kept by the console.
    let listed = client
        .get("/api/reports/drills")
        .await
        .expect(StatusCode::OK, "the drill list")
        .json();
    let line = &listed["drills"][0];
    assert_eq!(line["drill_id"], id.as_str());
    assert_eq!(line["confirmed"], 2);
    assert_eq!(line["total"], 2);
    assert_eq!(line["interrupted"], true);
    let report = client
        .get(&format!("/api/reports/drills/{id}?format=json"))
        .await
        .expect(StatusCode::OK, "the drill report")
        .json();
    let nodes = report["nodes"].as_array().expect("nodes");
    for node in nodes {
        assert_eq!(node["outcome"], "confirmed", "{report:#}");
        assert!(node["after_ms"].as_u64().is_some(), "{report:#}");
    }
    assert_eq!(
        nodes.iter().find(|n| n["node"] == "lobby-2").unwrap()["full_screen"],
        true
    );
    client
        .get("/api/reports/drills/drill-unknown?format=json")
        .await
        .expect_refusal(StatusCode::NOT_FOUND, "an unknown drill");
    client
        .get(&format!("/api/reports/drills/{id}?format=pdf"))
        .await
        .expect_refusal(StatusCode::BAD_REQUEST, "a format not offered");
    if let Some(printer) = browser(1024, 900).await {
        printer.goto(&client.url("/")).await;
        sign_in_in_browser(&printer).await;
        printer
            .goto(&client.url(&format!("/api/reports/drills/{id}?format=html")))
            .await;
        let page = printer.text("body").await;
        assert!(
            page.contains("2 of 2 screens and counters confirmed"),
            "{page}"
        );
        assert!(page.contains("the full cash-only screen"), "{page}");
        printer
            .screenshot(&screenshots_dir().join("drill-report.png"))
            .await;
        printer.quit().await;
    }

    // Every start, end and refusal is in the audit log as a drill.
    let audit = client
        .get("/api/audit")
        .await
        .expect(StatusCode::OK, "the audit log")
        .json();
    let starts = audit_actions(&audit, "drill start");
    assert_eq!(starts.len(), 6, "{audit:#}");
    assert_eq!(
        starts
            .iter()
            .filter(
                |e| e["outcome"] == "ok" && e["detail"].as_str().unwrap_or("").contains("lobby-2")
            )
            .count(),
        1
    );
    assert_eq!(audit_actions(&audit, "drill end").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drill_left_alone_ends_when_its_time_is_up() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let url = broker.url();
    let _screens = start_display_nodes(directory.path(), &["lobby-1"], &url);
    let (_node, _stop, client) = start_console_signed_in(directory.path(), &url).await;
    let mut live = client.events().await;
    live.wait_for_snapshot("the screen confirms", WAIT, |s| {
        s["progress"]["screens"]["confirmed"] == 1
    })
    .await;
    wait_until_console_reads_the_venue(&client).await;
    let started = client
        .post_json("/api/drill", &json!({ "seconds": 10 }))
        .await
        .expect(StatusCode::OK, "a short drill")
        .json();
    let id = started["drill_id"].as_str().unwrap().to_owned();
    live.wait_for_snapshot("the drill shows", WAIT, |s| {
        drill_id(s) == Some(id.as_str())
    })
    .await;
    let over = live
        .wait_for_snapshot("the drill ends by itself", WAIT, |s| {
            drill_id(s).is_none() && s["progress"]["screens"]["confirmed"] == 1
        })
        .await;
    assert_eq!(over["view"]["mode"], "normal");
    let report = client
        .get(&format!("/api/reports/drills/{id}?format=json"))
        .await
        .expect(StatusCode::OK, "its report")
        .json();
    assert!(report["ended_at"].is_string(), "{report:#}");
    assert_eq!(report["interrupted"], false);
    assert_eq!(report["nodes"][0]["outcome"], "confirmed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_technician_runs_a_drill_from_the_cli_and_reads_each_screens_result() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let url = broker.url();
    let _screens = start_nodes(directory.path(), &["lobby-1", "lobby-2"], &url);
    let mut observer = observer_once_online(&url, &["lobby-1", "lobby-2"], WAIT).await;
    let drill = |extra: &[&str]| {
        let mut args = vec!["drill", "start", "--broker", url.as_str(), "--venue", VENUE];
        args.extend_from_slice(extra);
        cli(&args)
    };
    for (extra, says) in [
        (vec!["--for", "5s"], "a drill runs for 10s to 10m"),
        (vec!["--for", "5é"], "is not a duration"),
        (vec!["--full-screen", "lobby-9"], "no such screen"),
    ] {
        let output = drill(&extra);
        assert!(!output.status.success(), "{extra:?} must fail");
        assert!(
            stderr_of(&output).contains(says),
            "{extra:?}: {}",
            stderr_of(&output)
        );
    }
    assert!(observer.state.drills.is_empty(), "nothing was published");

    let output = drill(&["--for", "1m", "--full-screen", "lobby-2", "--wait", "20"]);
    let out = stdout_of(&output);
    assert!(output.status.success(), "{out}\n{}", stderr_of(&output));
    for node in ["lobby-1", "lobby-2"] {
        assert!(out.contains(&format!("{node}: confirmed in ")), "{out}");
    }
    assert!(out.contains("ended: every screen returns"), "{out}");
    wait_for(&mut observer, WAIT, "the drill's end", |state| {
        raincheck::model::latest_drill(state)
            .is_some_and(|order| order.state == raincheck::protocol::DrillState::Ended)
    })
    .await;
    assert!(raincheck::model::compute_view(&observer.state)
        .drill
        .is_none());

    // During a real incident a drill is refused, and `drill end` with none running too.
    declare(&url, "start", &[]);
    let output = drill(&[]);
    assert!(!output.status.success());
    assert!(
        stderr_of(&output).contains("real incident is in force"),
        "{}",
        stderr_of(&output)
    );
    let output = cli(&["drill", "end", "--broker", url.as_str(), "--venue", VENUE]);
    assert!(!output.status.success());
    assert!(
        stderr_of(&output).contains("no drill is running"),
        "{}",
        stderr_of(&output)
    );
}
