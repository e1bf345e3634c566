//! "Next update by" (issue 14, lifecycle) against a real console and Mosquitto: a manager
//! promises the next update when declaring or updating; the promise travels in the
//! declaration to every node, the console counts down to it and warns once it has
//! passed, a resolve clears it; out-of-range promises are refused and change nothing,
//! through the console and the CLI alike, and a declaration on the bus whose promise is
//! before its own time is refused by every node.

mod common;

use common::console::*;
use common::webdriver::browser;
use common::*;
use raincheck::protocol::{
    Authority, DeclarationState, Identifier, IncidentDeclaration, IncidentMode, IncidentTexts,
};
use reqwest::StatusCode;
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

fn promised(snapshot: &Value) -> Option<OffsetDateTime> {
    snapshot["view"]["next_update_by"]
        .as_str()
        .and_then(|t| OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok())
}

fn declaration(
    revision: u64,
    declared: OffsetDateTime,
    next: OffsetDateTime,
) -> IncidentDeclaration {
    IncidentDeclaration {
        v: 1,
        source: Identifier::parse("cli").unwrap(),
        authority: Authority::Manager,
        revision,
        incident_id: Identifier::parse("inc-overdue").unwrap(),
        state: DeclarationState::Active,
        mode: IncidentMode::CashOnly,
        texts: IncidentTexts::default(),
        translations: Default::default(),
        offer_id: None,
        supersedes: Vec::new(),
        started_at: declared,
        declared_at: declared,
        actor: Some("Dana".into()),
        next_update_by: Some(next),
        expires_at: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_promised_update_is_counted_down_warned_about_when_late_and_cleared_by_a_resolve() {
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

    for bad in [0, 4, 1441] {
        let refusal = client
            .post_json("/api/incident", &json!({ "next_update_minutes": bad }))
            .await
            .expect_refusal(StatusCode::BAD_REQUEST, "an out-of-range promise");
        assert!(refusal.contains("5 to 1440 minutes"), "{refusal}");
    }
    assert_eq!(
        client.state().await["view"]["mode"],
        "normal",
        "nothing was declared"
    );

    let before = OffsetDateTime::now_utc();
    let declared = client
        .post_json("/api/incident", &json!({ "next_update_minutes": 30 }))
        .await
        .expect(StatusCode::OK, "declare with a promise")
        .json();
    let revision = declared["revision"].as_u64().unwrap();
    let snapshot = live
        .wait_for_snapshot("the screen shows the declaration", WAIT, |s| {
            view_revision(s) == revision && s["progress"]["phase"] == "confirmed"
        })
        .await;
    let next = promised(&snapshot).expect("the promise is in the view");
    assert!(
        next >= before + Duration::minutes(30)
            && next <= OffsetDateTime::now_utc() + Duration::minutes(30),
        "{next}"
    );
    // An update without a promise withdraws it; with one, moves it.
    let updated = client
        .put_json("/api/incident", &json!({ "next_update_minutes": 15 }))
        .await
        .expect(StatusCode::OK, "update with a new promise")
        .json();
    let snapshot = live
        .wait_for_snapshot("the update shows", WAIT, |s| {
            view_revision(s) == updated["revision"].as_u64().unwrap()
        })
        .await;
    let moved = promised(&snapshot).expect("the new promise");
    assert!(moved < next, "{moved} before {next}");

    // The CLI refuses a promise outside 5-1440 minutes, and one on a resolve.
    let config = directory.path().join("back-office.toml");
    let config = config.to_str().unwrap();
    let output = cli(&[
        "incident",
        "update",
        "--config",
        config,
        "--next-update-in",
        "2",
    ]);
    assert!(!output.status.success());
    assert!(
        stderr_of(&output).contains("5..=1440"),
        "{}",
        stderr_of(&output)
    );
    let output = cli(&[
        "incident",
        "resolve",
        "--config",
        config,
        "--next-update-in",
        "30",
    ]);
    assert!(!output.status.success());
    assert!(
        stderr_of(&output).contains("leave it out of a resolve"),
        "{}",
        stderr_of(&output)
    );

    client
        .post_json("/api/incident/resolve", &json!({}))
        .await
        .expect(StatusCode::OK, "resolve");
    let cleared = live
        .wait_for_snapshot("all clear", WAIT, |s| s["view"]["mode"] == "all_clear")
        .await;
    assert_eq!(promised(&cleared), None, "a resolve promises nothing");

    // A promise already passed: the console warns. One before the declaration's own time
    // is refused by every node (the console's view does not take it).
    let (publisher, _task) = raw_publisher(broker.port);
    let topic = format!("raincheck/v1/{VENUE}/incident/cli");
    let now = OffsetDateTime::now_utc();
    let next_revision = view_revision(&cleared) + 1;
    let backwards = declaration(next_revision, now, now - Duration::minutes(1));
    publisher
        .publish(
            &topic,
            rumqttc::QoS::AtLeastOnce,
            true,
            serde_json::to_vec(&backwards).unwrap(),
        )
        .await
        .unwrap();
    let late = declaration(
        next_revision,
        now - Duration::hours(2),
        now - Duration::hours(1),
    );
    publisher
        .publish(
            &topic,
            rumqttc::QoS::AtLeastOnce,
            true,
            serde_json::to_vec(&late).unwrap(),
        )
        .await
        .unwrap();
    let overdue = live
        .wait_for_snapshot("the late incident shows", WAIT, |s| {
            s["view"]["incident_id"] == "inc-overdue"
        })
        .await;
    assert_eq!(
        promised(&overdue),
        late.next_update_by,
        "the valid one is taken, the backwards one was refused"
    );
    if let Some(tablet) = browser(1280, 800).await {
        tablet.goto(&client.url("/")).await;
        sign_in_in_browser(&tablet).await;
        tablet
            .wait_until(
                "document.querySelector('#next-update').dataset.tone === 'warn'",
                WAIT,
                "the overdue warning",
            )
            .await;
        assert!(tablet
            .text("#next-update")
            .await
            .starts_with("Update overdue"));
        tablet
            .screenshot(&screenshots_dir().join("console-next-update-overdue.png"))
            .await;
        tablet.quit().await;
    }
}

fn payment(status: &str, revision: u64, since: OffsetDateTime) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "v": 1, "source": "pos", "status": status, "revision": revision,
        "since": since.format(&time::format_description::well_known::Rfc3339).unwrap(),
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managers_incident_left_open_after_payments_recovered_is_called_stale() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let (_node, _stop, client) = start_console_signed_in(directory.path(), &broker.url()).await;
    let mut live = client.events().await;
    wait_until_console_reads_the_venue(&client).await;
    let (publisher, _task) = raw_publisher(broker.port);
    let topic = format!("raincheck/v1/{VENUE}/payments/pos");
    let recovered = OffsetDateTime::now_utc() - Duration::hours(2);
    let recovered = recovered.replace_nanosecond(0).unwrap();
    publisher
        .publish(
            &topic,
            rumqttc::QoS::AtLeastOnce,
            true,
            payment("ok", 1, recovered),
        )
        .await
        .unwrap();
    live.wait_for_snapshot("the source is known", WAIT, |s| {
        s["payments"].as_array().is_some_and(|p| !p.is_empty())
    })
    .await;
    client
        .post_json("/api/incident", &json!({}))
        .await
        .expect(StatusCode::OK, "a manager declares");
    let snapshot = live
        .wait_for_snapshot("cash only", WAIT, |s| s["view"]["mode"] == "cash_only")
        .await;
    let at = snapshot["payments_recovered_at"]
        .as_str()
        .map(|t| OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).unwrap());
    assert_eq!(at, Some(recovered), "{snapshot:#}");
    if let Some(tablet) = browser(1280, 800).await {
        tablet.goto(&client.url("/")).await;
        sign_in_in_browser(&tablet).await;
        tablet
            .wait_until(
                "!document.querySelector('#stale-warning').hidden",
                WAIT,
                "the stale warning",
            )
            .await;
        assert!(tablet
            .text("#stale-warning")
            .await
            .contains("end the incident"));
        tablet
            .screenshot(&screenshots_dir().join("console-stale-incident.png"))
            .await;
        tablet.quit().await;
    }
    // A source down again: the incident is needed, nothing is stale.
    publisher
        .publish(
            &topic,
            rumqttc::QoS::AtLeastOnce,
            true,
            payment("down", 2, OffsetDateTime::now_utc()),
        )
        .await
        .unwrap();
    live.wait_for_snapshot("payments down again", WAIT, |s| {
        s["payments_recovered_at"].is_null() && s["payments"][0]["status"] == "down"
    })
    .await;
}
