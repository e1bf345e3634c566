//! Limits and overrides against real tills, a real console and a real Mosquitto: a till
//! stops at its per-till count cap and its value cap and says which over its HTTP API; a
//! manager's PIN issues one past the cap and the event carries the override, a wrong PIN
//! changes nothing; a code minted on the console is accepted once at a till, refused the
//! second time, refused at a second till once synced, refused when forged or expired;
//! the console audits every mint and every refused one.

mod common;

use common::console::*;
use common::counters::{capped_till, eventually, popcorn, start_counter, wait_till_serving};
use common::{mosquitto, VENUE, VOUCHER_SECRET};
use raincheck::protocol::Identifier;
use raincheck::voucher::events::{CapKind, VoucherChange};
use raincheck::voucher::handle::OverrideOffer;
use raincheck::voucher::override_code::{
    override_minute, OverrideCode, OverrideFields, OverrideRefusal,
};
use raincheck::voucher::store::StoreError;
use raincheck::voucher::{CounterError, CounterHandle, VoucherSecret};
use reqwest::StatusCode;
use serde_json::{json, Value};
use time::OffsetDateTime;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn post(http: &reqwest::Client, url: &str, body: Value) -> (u16, Value) {
    let response = http.post(url).json(&body).send().await.expect(url);
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn incident() -> Identifier {
    Identifier::parse("storm-1").unwrap()
}

/// Every record the till holds, as (offer, override) pairs.
async fn issued(till: &CounterHandle) -> Vec<(String, Option<Value>)> {
    till.records()
        .await
        .unwrap()
        .into_iter()
        .map(|record| {
            let offer = record.offer_id.map(|id| id.to_string()).unwrap_or_default();
            (offer, record.past_cap.map(|past| json!(past)))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caps_refuse_over_the_api_and_a_managers_pin_issues_one_past_them() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = capped_till(
        directory.path(),
        "till-1",
        1,
        &broker.url(),
        "till_cap = 2",
        Some(port),
    );
    let (_node, _stop, till) = start_counter(&config, directory.path());
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    wait_till_serving(&http, &base).await;
    let url = format!("{base}/v1/vouchers");
    let issue = |offer: &str, past: Option<Value>| {
        let mut body = json!({ "offer": offer, "incident": "storm-1", "staff": "Sam" });
        if let Some(past) = past {
            body["override"] = past;
        }
        post(&http, &url, body)
    };

    for _ in 0..2 {
        let (status, answer) = issue("popcorn", None).await;
        assert_eq!(status, 201, "{answer}");
        assert!(answer.get("override").is_none(), "{answer}");
    }
    let (status, refusal) = issue("popcorn", None).await;
    assert_eq!(status, 409, "{refusal}");
    assert_eq!(
        refusal["cap"],
        json!({ "offer": "popcorn", "kind": "till_count", "used": 2, "limit": 2 })
    );
    let error = refusal["error"].as_str().unwrap();
    assert!(
        error.contains("A free small popcorn: this till has issued 2 of 2 for this incident"),
        "{error}"
    );

    // A wrong PIN, an unknown manager, a half-filled override: refused, nothing issued.
    let before = issued(&till).await.len();
    let (status, wrong) = issue("popcorn", Some(json!({ "manager": "Dana", "pin": "1111" }))).await;
    assert_eq!(status, 403, "{wrong}");
    assert!(
        wrong["error"]
            .as_str()
            .unwrap()
            .contains("wrong manager name or PIN"),
        "{wrong}"
    );
    let (status, _) = issue("popcorn", Some(json!({ "manager": "Mallory", "pin": PIN }))).await;
    assert_eq!(status, 403);
    let (status, half) = issue("popcorn", Some(json!({ "manager": "Dana" }))).await;
    assert_eq!(status, 400, "{half}");
    assert_eq!(issued(&till).await.len(), before, "nothing was issued");

    // The manager's PIN issues one past the cap, and the event says who and which cap.
    let (status, past) = issue("popcorn", Some(json!({ "manager": "dana", "pin": PIN }))).await;
    assert_eq!(status, 201, "{past}");
    assert_eq!(
        past["override"],
        json!({ "manager": "Dana", "cap": "till_count" })
    );
    let code = past["code"].as_str().unwrap().to_owned();
    eventually(&till, &code, "the record keeps the override", |record| {
        record.past_cap.as_ref().and_then(|p| p.manager.as_deref()) == Some("Dana")
    })
    .await;
    let (status, _) = issue("popcorn", None).await;
    assert_eq!(status, 409, "the cap still holds after the override");

    // The value cap: two sodas at 3.00 fill 6.00.
    for _ in 0..2 {
        assert_eq!(issue("soda", None).await.0, 201);
    }
    let (status, refusal) = issue("soda", None).await;
    assert_eq!(status, 409, "{refusal}");
    assert_eq!(
        refusal["cap"],
        json!({ "offer": "soda", "kind": "till_value", "used": 600, "limit": 600 })
    );
    assert!(
        refusal["error"]
            .as_str()
            .unwrap()
            .contains("A soda: this till has issued 6.00 of 6.00 in face value for this incident"),
        "{refusal}"
    );
    let overridden: Vec<_> = issued(&till)
        .await
        .into_iter()
        .filter(|(_, past)| past.is_some())
        .collect();
    assert_eq!(overridden.len(), 1, "{overridden:?}");
}

/// A code minted with `secret` for popcorn, any till, `extra` vouchers, expiring at `minute`.
fn crafted_code(secret: &VoucherSecret, extra: u8, minute: u32) -> String {
    let fields = OverrideFields {
        offer: 1,
        terminal: 0,
        extra,
        expires_minute: minute,
    };
    OverrideCode::mint(fields, secret).unwrap().grouped()
}

/// A code typed at the till, as its API passes it on.
fn by_code(code: String) -> OverrideOffer {
    OverrideOffer::Code {
        code,
        from: "127.0.0.1".into(),
    }
}

fn refusal_of(result: Result<impl std::fmt::Debug, CounterError>) -> OverrideRefusal {
    match result {
        Err(CounterError::Override(refusal)) => refusal,
        other => panic!("expected an override refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_code_is_used_once_across_the_venue_and_bad_codes_change_nothing() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let caps = "till_cap = 1";
    let config_1 = capped_till(directory.path(), "till-1", 1, &broker.url(), caps, None);
    let config_2 = capped_till(directory.path(), "till-2", 2, &broker.url(), caps, None);
    let (_node_1, _stop_1, till_1) = start_counter(&config_1, directory.path());
    let (_node_2, _stop_2, till_2) = start_counter(&config_2, directory.path());
    let (_console, _stop_console, client) =
        start_console_signed_in(directory.path(), &broker.url()).await;

    // Bad requests: each refused with its own sentence, nothing minted, all audited.
    for (body, hint) in [
        (
            json!({ "offer": "caviar", "extra": 1, "minutes": 30 }),
            "no offer",
        ),
        (
            json!({ "offer": "popcorn", "extra": 0, "minutes": 30 }),
            "1 to 100",
        ),
        (
            json!({ "offer": "popcorn", "extra": 101, "minutes": 30 }),
            "1 to 100",
        ),
        (
            json!({ "offer": "popcorn", "extra": 1, "minutes": 4 }),
            "5 to 720",
        ),
        (
            json!({ "offer": "popcorn", "extra": 1, "minutes": 721 }),
            "5 to 720",
        ),
        (
            json!({ "offer": "popcorn", "terminal": 200, "extra": 1, "minutes": 30 }),
            "1 to 127",
        ),
    ] {
        let refusal = client
            .post_json("/api/override-codes", &body)
            .await
            .expect_refusal(StatusCode::BAD_REQUEST, "a bad override request");
        assert!(refusal.contains(hint), "{body}: {refusal}");
    }
    let minted = mint_popcorn_code(&client, 1).await;
    let code = minted["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 19, "{minted}");
    assert_eq!(
        (&minted["extra"], &minted["terminal"]),
        (&json!(1), &Value::Null)
    );
    let audit = client.get("/api/audit?limit=50").await.json();
    let entries: Vec<&Value> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["action"] == "override-code")
        .collect();
    assert_eq!(entries.len(), 7, "{audit}");
    assert_eq!(entries[0]["outcome"], "ok");
    assert!(entries[0]["detail"].as_str().unwrap().ends_with(&code));
    assert_eq!(entries[0]["manager"], MANAGER);
    assert!(entries[1..]
        .iter()
        .all(|entry| entry["outcome"].as_str().unwrap().starts_with("refused")));

    // Till 1 reaches its cap; the code lets one more through, once.
    let issue = |till: &CounterHandle, past: Option<OverrideOffer>| {
        let till = till.clone();
        async move {
            till.issue_with(popcorn(), Some(incident()), None, past)
                .await
        }
    };
    let code_offer = || Some(by_code(code.to_lowercase().replace('-', " ")));
    let first = issue(&till_1, None).await.expect("the first popcorn").code;
    assert!(matches!(
        issue(&till_1, None).await,
        Err(CounterError::Store(StoreError::CapReached { .. }))
    ));
    let secret = VoucherSecret::new(VENUE, VOUCHER_SECRET).unwrap();
    let now = override_minute(OffsetDateTime::now_utc());
    let forged = crafted_code(
        &VoucherSecret::new(VENUE, b"not-the-venue-secret-at-all").unwrap(),
        5,
        now + 60,
    );
    assert_eq!(
        refusal_of(issue(&till_1, Some(by_code(forged))).await),
        OverrideRefusal::Forged
    );
    let expired = crafted_code(&secret, 5, now.saturating_sub(1));
    assert!(matches!(
        refusal_of(issue(&till_1, Some(by_code(expired))).await),
        OverrideRefusal::Expired { .. }
    ));
    let mut typo: Vec<char> = code.chars().collect();
    typo[0] = if typo[0] == 'A' { 'B' } else { 'A' };
    assert_eq!(
        refusal_of(issue(&till_1, Some(by_code(typo.into_iter().collect()))).await),
        OverrideRefusal::Mistyped
    );
    assert_eq!(till_1.records().await.unwrap().len(), 1, "nothing issued");

    let past = issue(&till_1, code_offer())
        .await
        .expect("the code's one use");
    let VoucherChange::Issued { past_cap, .. } = &past.event.change else {
        panic!("an issue event");
    };
    let past_cap = past_cap.as_ref().expect("the event carries the override");
    assert_eq!(
        (past_cap.code.as_deref(), past_cap.cap),
        (Some(code.as_str()), CapKind::TillCount)
    );
    assert_eq!(
        refusal_of(issue(&till_1, code_offer()).await),
        OverrideRefusal::UsedUp {
            allowed: 1,
            used: 1
        }
    );

    // Till 2, once it has heard of the use, refuses the code too.
    issue(&till_2, None).await.expect("till 2's own popcorn");
    eventually(
        &till_2,
        &first.to_string(),
        "till 2 holds till 1's first issue",
        |r| r.issued.is_some(),
    )
    .await;
    eventually(
        &till_2,
        &past.code.to_string(),
        "till 2 holds till 1's overridden issue",
        |record| record.past_cap.is_some(),
    )
    .await;
    assert_eq!(
        refusal_of(issue(&till_2, code_offer()).await),
        OverrideRefusal::UsedUp {
            allowed: 1,
            used: 1
        }
    );
    assert_eq!(till_2.records().await.unwrap().len(), 3);

    // The incident report lists the override: which till, offer, code and cap.
    let path = "/api/reports/incidents/storm-1";
    let report = report_holding(&client, "storm-1", 3).await;
    assert_eq!(
        report["vouchers"]["overrides"],
        json!([{ "till": "till-1", "offer": "popcorn", "code": code, "cap": "till_count", "issued": 1, "allowed": 1 }]),
        "{report:#}"
    );
    let html = client.get(&format!("{path}?format=html")).await.text();
    assert!(
        html.contains("Overrides (1 issued past a cap)") && html.contains(&code),
        "{html}"
    );
    let csv = client.get(&format!("{path}?format=csv")).await.text();
    assert!(
        csv.lines()
            .any(|line| line.starts_with("override,till-1,popcorn,1,") && line.contains(&code)),
        "{csv}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_venue_cap_counts_what_every_till_issued_once_it_has_synced() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let caps = "venue_cap = 2";
    let config_1 = capped_till(directory.path(), "till-1", 1, &broker.url(), caps, None);
    let config_2 = capped_till(directory.path(), "till-2", 2, &broker.url(), caps, None);
    let (_node_1, _stop_1, till_1) = start_counter(&config_1, directory.path());
    let (_node_2, _stop_2, till_2) = start_counter(&config_2, directory.path());
    let issue = |till: &CounterHandle| {
        let till = till.clone();
        async move {
            till.issue_with(popcorn(), Some(incident()), None, None)
                .await
        }
    };
    issue(&till_1).await.expect("till 1's first popcorn");
    let second = issue(&till_2).await.expect("till 2's popcorn").code;
    // Till 1 hears till 2's voucher; the venue's two are then used up on till 1 too.
    eventually(
        &till_1,
        &second.to_string(),
        "till 1 has till 2's popcorn",
        |_| true,
    )
    .await;
    match issue(&till_1).await {
        Err(CounterError::Store(StoreError::CapReached { reached, .. })) => {
            assert_eq!(reached.kind, CapKind::IncidentCount);
            assert_eq!((reached.used, reached.limit), (2, 2));
        }
        other => panic!("the venue cap must refuse a third popcorn, got {other:?}"),
    }
    assert_eq!(issued(&till_1).await.len(), 2, "nothing was issued");
}
