//! Incidents that end themselves (issue 14, lifecycle) against real Mosquitto, real
//! display nodes and a real console: a declaration's expiry is refused out of range and
//! on a resolve (API and CLI alike, nothing changed, audited); the console shows when it
//! ends, and at that moment it (the venue's keeper) publishes the expiry resolve and every
//! screen shows the all clear together, well before a screen's own margin; the report
//! says it ended itself. A screen with no keeper in the venue ends an expired incident
//! on its own clock once the margin has passed.

mod common;

use common::console::*;
use common::webdriver::browser;
use common::*;
use raincheck::protocol::{
    Authority, DeclarationState, Identifier, IncidentDeclaration, IncidentMode, IncidentTexts,
    EXPIRY_MARGIN,
};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

fn time_in(value: &Value) -> Option<OffsetDateTime> {
    value
        .as_str()
        .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_ends_an_expiring_incident_on_every_screen_at_its_expiry() {
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

    // Out of range: refused, nothing declared, audited.
    for bad in [0, 4321] {
        let refusal = client
            .post_json("/api/incident", &json!({ "expires_in_minutes": bad }))
            .await
            .expect_refusal(StatusCode::BAD_REQUEST, "an out-of-range expiry");
        assert!(refusal.contains("1 to 4320 minutes"), "{refusal}");
    }
    let audit = client
        .get("/api/audit")
        .await
        .expect(StatusCode::OK, "GET /api/audit")
        .json();
    let refused = audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| {
            e["action"] == "declare" && e["outcome"].as_str().unwrap_or("").contains("1 to 4320")
        })
        .count();
    assert_eq!(refused, 2, "both refusals are audited: {audit:#}");
    let config = directory.path().join("back-office.toml");
    let config = config.to_str().unwrap();
    for (arguments, says) in [
        (vec!["start", "--expires-in", "0s"], "out of range"),
        (vec!["start", "--expires-in", "73h"], "out of range"),
        (vec!["start", "--expires-in", "soon"], "not a duration"),
        (
            vec!["resolve", "--expires-in", "5m"],
            "leave it out of a resolve",
        ),
    ] {
        let mut command = vec!["incident"];
        command.extend(&arguments);
        command.extend(["--config", config]);
        let output = cli(&command);
        assert!(!output.status.success(), "{arguments:?} must fail");
        assert!(
            stderr_of(&output).contains(says),
            "{arguments:?}: {}",
            stderr_of(&output)
        );
    }
    assert_eq!(
        client.state().await["view"]["mode"],
        "normal",
        "nothing was declared"
    );

    // An expiry an hour away: the console says when the incident ends itself.
    let declared = client
        .post_json("/api/incident", &json!({ "expires_in_minutes": 60 }))
        .await
        .expect(StatusCode::OK, "declare with an expiry")
        .json();
    let snapshot = live
        .wait_for_snapshot("the declaration shows", WAIT, |s| {
            view_revision(s) == declared["revision"].as_u64().unwrap()
                && s["progress"]["phase"] == "confirmed"
        })
        .await;
    let hour = time_in(&snapshot["view"]["expires_at"]).expect("the expiry is in the view");
    assert!(
        hour > OffsetDateTime::now_utc() + time::Duration::minutes(59),
        "{hour}"
    );
    if let Some(tablet) = browser(1280, 800).await {
        tablet.goto(&client.url("/")).await;
        sign_in_in_browser(&tablet).await;
        tablet
            .wait_until(
                "!document.querySelector('#expires').hidden",
                WAIT,
                "the expiry line",
            )
            .await;
        let line = tablet.text("#expires").await;
        assert!(line.starts_with("Ends by itself at"), "{line}");
        tablet
            .screenshot(&screenshots_dir().join("console-expiry.png"))
            .await;
        tablet.quit().await;
    }

    // Moved to a few seconds away from the CLI: at that moment the console resolves it.
    let output = cli(&[
        "incident",
        "start",
        "--config",
        config,
        "--expires-in",
        "4s",
    ]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(
        stdout_of(&output).contains("it ends itself at"),
        "{}",
        stdout_of(&output)
    );
    let moved_to = printed_revision(&stdout_of(&output));
    let snapshot = live
        .wait_for_snapshot("the new expiry shows", WAIT, |s| {
            view_revision(s) == moved_to
        })
        .await;
    let expiry = time_in(&snapshot["view"]["expires_at"]).expect("the new expiry");
    let incident = snapshot["view"]["incident_id"].clone();
    let cleared = live
        .wait_for_snapshot("every screen shows the all clear", WAIT, |s| {
            s["view"]["mode"] == "all_clear" && s["progress"]["phase"] == "cleared"
        })
        .await;
    let cleared_at = OffsetDateTime::now_utc();
    assert_eq!(
        view_revision(&cleared),
        moved_to + 1,
        "the expiry resolve is one above"
    );
    assert_eq!(cleared["view"]["incident_id"], incident);
    assert_eq!(time_in(&cleared["view"]["declared_at"]), Some(expiry));
    assert_eq!(cleared["progress"]["screens"]["confirmed"], 2);
    // The keeper's resolve, not the screens' own margin, ended it.
    let margin = Duration::try_from(EXPIRY_MARGIN).unwrap();
    assert!(
        cleared_at < expiry + margin / 2,
        "cleared at {cleared_at}, expiry {expiry}: the screens waited for their margin"
    );

    // The report says so.
    let report = client
        .get(&format!(
            "/api/reports/incidents/{}?format=json",
            incident.as_str().unwrap()
        ))
        .await
        .expect(StatusCode::OK, "the report")
        .json();
    let ended = report["timeline"]
        .as_array()
        .expect("a timeline")
        .iter()
        .find(|e| e["event"] == "resolved")
        .cloned()
        .unwrap_or_default();
    assert_eq!(ended["by_expiry"], true, "{report:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_keeper_a_screen_ends_an_expired_incident_once_the_margin_has_passed() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let url = broker.url();
    let _screens = start_nodes(directory.path(), &["lobby-1"], &url);
    let mut observer = observer_once_online(&url, &["lobby-1"], WAIT).await;
    // Declared ten minutes ago; by the screen's clock its margin ends in three seconds.
    let now = OffsetDateTime::now_utc();
    let expires_at = now - EXPIRY_MARGIN + time::Duration::seconds(3);
    let declaration = IncidentDeclaration {
        v: 1,
        source: Identifier::parse("cli").unwrap(),
        authority: Authority::Manager,
        revision: 1,
        incident_id: Identifier::parse("inc-ends").unwrap(),
        state: DeclarationState::Active,
        mode: IncidentMode::CashOnly,
        texts: IncidentTexts::default(),
        translations: Default::default(),
        offer_id: None,
        supersedes: Vec::new(),
        started_at: now - time::Duration::minutes(10),
        declared_at: now - time::Duration::minutes(10),
        actor: None,
        next_update_by: None,
        expires_at: Some(expires_at),
    };
    let (publisher, _task) = raw_publisher(broker.port);
    publisher
        .publish(
            format!("raincheck/v1/{VENUE}/incident/cli"),
            rumqttc::QoS::AtLeastOnce,
            true,
            serde_json::to_vec(&declaration).unwrap(),
        )
        .await
        .unwrap();
    let drew = |mode: &'static str| {
        move |state: &raincheck::model::VenueState| {
            state.displays.values().any(|report| {
                report.node.as_str() == "lobby-1"
                    && report.mode.as_deref() == Some(mode)
                    && report.shown == Some(raincheck::protocol::Shown::Drawn)
            })
        }
    };
    wait_for(
        &mut observer,
        WAIT,
        "the screen draws cash only",
        drew("cash_only"),
    )
    .await;
    let drawn_cash_only = OffsetDateTime::now_utc();
    wait_for(
        &mut observer,
        WAIT,
        "the screen ends it itself",
        drew("all_clear"),
    )
    .await;
    let ended = OffsetDateTime::now_utc();
    assert!(
        drawn_cash_only < expires_at + EXPIRY_MARGIN,
        "cash only was drawn before the margin passed"
    );
    assert!(
        ended >= expires_at + EXPIRY_MARGIN,
        "ended at {ended}, before its margin ({})",
        expires_at + EXPIRY_MARGIN
    );
    let report = observer
        .state
        .displays
        .values()
        .find(|r| r.node.as_str() == "lobby-1")
        .cloned()
        .expect("the screen's report");
    assert_eq!(
        report.revision,
        Some(2),
        "the very resolve a keeper would publish"
    );
    // Nobody published that resolve: the broker still holds the declaration.
    assert_eq!(
        observer
            .state
            .declarations
            .values()
            .map(|d| d.revision)
            .max(),
        Some(1)
    );
}
