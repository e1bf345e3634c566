//! The morning-after report against real parts: a real Mosquitto, two signage processes,
//! a till and the console in-process. An incident is declared, confirmed, vouchers are
//! issued and one redeemed at the till, the incident is resolved and cleared; the
//! console's report then holds the timeline (the declaration, each screen's
//! confirmation, the resolve, the all clear) and the vouchers per till and offer with the
//! outstanding liability at the configured face value — as JSON, CSV and a printable
//! HTML page drawn in real headless Chromium. The same report comes from the stopped
//! node's files through `raincheck report incident`; unknown incidents and bad formats
//! are refused with reasons.

mod common;

use common::console::*;
use common::counters::counter_node;
use common::webdriver::browser;
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

fn phase(snapshot: &Value) -> &str {
    snapshot["progress"]["phase"].as_str().unwrap_or("")
}

/// The kinds of timeline entries in a JSON report, in order.
fn events(report: &Value) -> Vec<String> {
    report["timeline"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|e| e["event"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_tells_what_happened_and_what_is_still_owed() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let url = broker.url();
    let _screens = start_display_nodes(directory.path(), &["lobby-1", "lobby-2"], &url);
    let (_till_node, _till_stop, till) = counter_node(directory.path(), "till-1", 1, &url);
    let config = write_console_config(directory.path(), "back-office", &url, "");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace(
            "validity_days = 90\n",
            "validity_days = 90\nface_value = \"4.50\"\n",
        )
        .replace("terminal = 100\n", "terminal = 100\ncurrency = \"EUR\"\n");
    std::fs::write(&config, text).unwrap();
    let (node, stop, address) = start_console(&config, directory.path());
    let mut client = ConsoleClient::new(address);
    client.sign_in_as_manager().await;
    let mut live = client.events().await;
    live.wait_for_snapshot("two screens confirm the normal view", WAIT, |s| {
        s["link"]["connected"] == true && s["progress"]["screens"]["confirmed"] == 2
    })
    .await;

    let declared = client
        .post_json("/api/incident", &json!({ "offer_id": "popcorn" }))
        .await
        .expect(StatusCode::OK, "declare cash only")
        .json();
    let incident = declared["incident_id"].as_str().expect("an id").to_owned();
    live.wait_for_snapshot("every screen shows cash only", WAIT, |s| {
        phase(s) == "confirmed"
    })
    .await;
    let popcorn = raincheck::protocol::Identifier::parse("popcorn").unwrap();
    let incident_id = raincheck::protocol::Identifier::parse(&incident).unwrap();
    let mut codes = Vec::new();
    for _ in 0..3 {
        let issued = till
            .issue(
                popcorn.clone(),
                Some(incident_id.clone()),
                Some("412".into()),
            )
            .await
            .expect("the till issues");
        codes.push(issued.code.to_string());
    }
    let redeemed = till
        .redeem(codes[0].clone(), Some("412".into()))
        .await
        .expect("the till redeems");
    assert_eq!(redeemed.answer.headline(), "VALID");
    client
        .post_json("/api/incident/resolve", &json!({}))
        .await
        .expect(StatusCode::OK, "resolve");
    live.wait_for_snapshot("every screen shows all clear", WAIT, |s| {
        phase(s) == "cleared"
    })
    .await;

    // The timeline is written as the console sees it and the replica fills from the bus:
    // ask until both are complete (bounded).
    let path = format!("/api/reports/incidents/{incident}");
    let deadline = tokio::time::Instant::now() + WAIT;
    let report = loop {
        let report = client
            .get(&path)
            .await
            .expect(StatusCode::OK, "the JSON report")
            .json();
        let complete = events(&report).last().map(String::as_str) == Some("all_confirmed")
            && events(&report).contains(&"resolved".to_owned())
            && report["vouchers"]["redeemed"] == 1
            && report["vouchers"]["issued"] == 3;
        if complete {
            break report;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the report did not complete: {report:#}"
        );
        // Nothing pushes the replica's figures to a client: ask again shortly.
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let kinds = events(&report);
    assert_eq!(
        kinds.first().map(String::as_str),
        Some("declared"),
        "{kinds:?}"
    );
    let confirmed: Vec<&str> = report["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "confirmed" && e["revision"] == declared["revision"])
        .map(|e| e["node"].as_str().unwrap())
        .collect();
    for screen in ["lobby-1", "lobby-2"] {
        assert!(confirmed.contains(&screen), "{screen} confirmed: {kinds:?}");
    }
    let modes: Vec<&str> = report["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "all_confirmed")
        .map(|e| e["mode"].as_str().unwrap())
        .collect();
    assert_eq!(modes, ["cash_only", "all_clear"]);
    let vouchers = &report["vouchers"];
    assert_eq!(
        (
            &vouchers["outstanding"],
            &vouchers["liability"],
            &vouchers["currency"]
        ),
        (&json!(2), &json!("9.00"), &json!("EUR")),
        "{vouchers:#}"
    );
    assert_eq!(vouchers["offers"]["popcorn"]["face_value"], "4.50");
    assert_eq!(
        vouchers["tills"]["till-1"],
        json!({ "issued": 3, "redeemed": 1, "voided": 0 })
    );

    let csv = client
        .get(&format!("{path}?format=csv"))
        .await
        .expect(StatusCode::OK, "CSV")
        .text();
    assert!(
        csv.lines()
            .any(|l| l.starts_with("offer,popcorn,,3,1,0,0,2,4.50,9.00,EUR")),
        "{csv}"
    );
    assert!(
        csv.lines()
            .any(|l| l.starts_with("timeline,confirmed:lobby-1")),
        "{csv}"
    );
    let html = client
        .get(&format!("{path}?format=html"))
        .await
        .expect(StatusCode::OK, "HTML");
    assert_eq!(
        html.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = html.text();
    assert!(
        html.contains("<svg class=\"chart\"") && html.contains("9.00 EUR"),
        "{html}"
    );
    let page = directory.path().join("report.html");
    std::fs::write(&page, &html).unwrap();
    if let Some(chromium) = browser(1000, 1400).await {
        chromium.goto(&format!("file://{}", page.display())).await;
        chromium
            .wait_until(
                "document.querySelector('svg.chart path.steps') !== null",
                WAIT,
                "the chart",
            )
            .await;
        chromium
            .screenshot(&screenshots_dir().join("incident-report.png"))
            .await;
        // The console's Audit tab lists the incident with its report's formats.
        chromium.goto(&format!("http://{address}/")).await;
        sign_in_in_browser(&chromium).await;
        chromium.click("[data-tab='audit']").await;
        chromium
            .wait_until(
                &format!("[...document.querySelectorAll('#reports a')].some(a => a.href.includes('{incident}?format=html'))"),
                WAIT,
                "the incident's report is listed",
            )
            .await;
        chromium
            .screenshot(&screenshots_dir().join("console-incident-reports.png"))
            .await;
        chromium.quit().await;
    }

    // Refusals: an unknown incident, a bad format, no session.
    let refusal = client
        .get("/api/reports/incidents/inc-never")
        .await
        .expect_refusal(StatusCode::NOT_FOUND, "an unknown incident");
    assert!(
        refusal.contains("no record of incident inc-never"),
        "{refusal}"
    );
    let refusal = client
        .get(&format!("{path}?format=pdf"))
        .await
        .expect_refusal(StatusCode::BAD_REQUEST, "a bad format");
    assert!(refusal.contains("use json, csv or html"), "{refusal}");
    let listed = client
        .get("/api/reports/incidents")
        .await
        .expect(StatusCode::OK, "the list")
        .json();
    assert_eq!(listed["incidents"][0]["incident"], incident.as_str());
    client.set_session_token(None);
    client
        .get(&path)
        .await
        .expect_refusal(StatusCode::UNAUTHORIZED, "no session");

    // The stopped console's files give the same report.
    stop_node(node, stop).await;
    let output = cli(&[
        "report",
        "incident",
        &incident,
        "--config",
        config.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    let offline: Value = serde_json::from_str(&stdout_of(&output)).expect("JSON on stdout");
    assert_eq!(offline["vouchers"], report["vouchers"]);
    assert_eq!(events(&offline), events(&report));
    let output = cli(&[
        "report",
        "incident",
        "inc-never",
        "--config",
        config.to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    assert!(
        stderr_of(&output).contains("no record of incident inc-never"),
        "{}",
        stderr_of(&output)
    );
}
