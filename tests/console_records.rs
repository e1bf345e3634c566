//! The manager's records through the console API, against a real console node, a real
//! counter node and a real Mosquitto: a counter's voucher reaches the console's replica
//! and can be looked up, voided once (never with a blank reason or a malformed code) and
//! exported as CSV, and the counter hears of the void; every action lands in the audit
//! log with who, from where and how it ended, newest first, still there after the console
//! restarts — also when the log has grown past what is read back at start.

mod common;

use common::console::*;
use common::counters::{eventually, popcorn, start_counter};
use common::{mosquitto, write_counter_config, VENUE, VOUCHER_SECRET};
use raincheck::voucher::lifecycle::RedeemAnswer;
use raincheck::voucher::{VoucherCode, VoucherFields, VoucherSecret};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;
use tokio::time::Instant;

/// Polls the voucher figures (the replica has no event stream) until `done` holds.
async fn wait_for_summary(
    client: &ConsoleClient,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let summary = client
            .get("/api/vouchers/summary")
            .await
            .expect(StatusCode::OK, "GET /api/vouchers/summary")
            .json();
        if done(&summary) {
            return summary;
        }
        assert!(
            Instant::now() < deadline,
            "waited {WAIT:?} for {what}; figures: {summary}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vouchers_from_a_counter_can_be_looked_up_voided_once_and_exported() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let till_config =
        write_counter_config(directory.path(), "till-1", 1, "allow", Some(&broker.url()));
    let (_till_node, _stop_till, till) = start_counter(&till_config, directory.path());
    let (_node, _stop, client) = start_console_signed_in(directory.path(), &broker.url()).await;

    let issued = till
        .issue(popcorn(), None, Some("ana".into()))
        .await
        .expect("the counter issues")
        .code;
    // As printed ("XXXX-XXXX-XXXX-XXXX") and as records keep it (no hyphens).
    let (code, compact) = (issued.to_string(), issued.compact());
    let summary = wait_for_summary(&client, "the replica holds the counter's voucher", |s| {
        s["total"] == 1
    })
    .await;
    assert_eq!(
        summary["tonight"],
        json!({ "issued": 1, "redeemed": 0, "voided": 0 })
    );
    assert_eq!(
        (&summary["incident"], &summary["conflicts"]),
        (&Value::Null, &json!([]))
    );

    let record = client
        .get(&format!("/api/vouchers/{code}"))
        .await
        .expect(StatusCode::OK, "the voucher's record")
        .json();
    assert_eq!(record["code"], compact.as_str(), "{record}");
    assert_eq!(record["offer_id"], "popcorn");
    assert_eq!(
        (&record["issued"]["origin"], &record["issued"]["staff"]),
        (&json!("till-1"), &json!("ana"))
    );
    assert_eq!(
        (&record["redemptions"], &record["voided"]),
        (&json!([]), &Value::Null)
    );
    let typed = compact.to_lowercase();
    let same = client.get(&format!("/api/vouchers/{typed}")).await;
    assert_eq!(
        same.expect(StatusCode::OK, "the code as typed").json(),
        record
    );

    // A genuine code no terminal has reported, and one that is no code at all.
    let secret = VoucherSecret::new(VENUE, VOUCHER_SECRET).unwrap();
    let fields = VoucherFields {
        offer: 1,
        terminal: 50,
        serial: 7,
        expiry_day: VoucherFields::MAX_EXPIRY_DAY,
    };
    let unknown = VoucherCode::issue(fields, &secret).unwrap().to_string();
    client
        .get(&format!("/api/vouchers/{unknown}"))
        .await
        .expect_refusal(StatusCode::NOT_FOUND, "a valid code nobody reported");
    client
        .get("/api/vouchers/NOT-A-CODE")
        .await
        .expect_refusal(StatusCode::BAD_REQUEST, "a malformed code");

    let void = |code: String, reason: String| {
        let client = &client;
        async move {
            client
                .post_json(
                    &format!("/api/vouchers/{code}/void"),
                    &json!({ "reason": reason }),
                )
                .await
        }
    };
    for (target, reason, what) in [
        (code.clone(), String::new(), "an empty reason"),
        (code.clone(), "   ".to_owned(), "a blank reason"),
        (code.clone(), "x".repeat(201), "a 201-character reason"),
        (
            "NOT-A-CODE".to_owned(),
            "printed twice".to_owned(),
            "a malformed code",
        ),
    ] {
        void(target, reason)
            .await
            .expect_refusal(StatusCode::BAD_REQUEST, what);
    }
    let odd = client
        .post_json(
            &format!("/api/vouchers/{code}/void"),
            &json!({ "reason": "x", "why": "y" }),
        )
        .await;
    odd.expect_refusal(StatusCode::BAD_REQUEST, "an unknown field in a void");
    void(code.clone(), "printed twice".into())
        .await
        .expect(StatusCode::NO_CONTENT, "void the voucher");
    let again = void(code.clone(), "printed twice".into())
        .await
        .expect_refusal(StatusCode::CONFLICT, "void it again");
    assert!(again.contains("already voided"), "{again}");

    let record = client.get(&format!("/api/vouchers/{code}")).await.json();
    assert_eq!(record["voided"][1], "printed twice", "{record}");
    let summary = wait_for_summary(&client, "the figures count the void", |s| {
        s["tonight"]["voided"] == 1
    })
    .await;
    assert_eq!(
        summary["tonight"],
        json!({ "issued": 1, "redeemed": 0, "voided": 1 })
    );

    let export = client
        .get("/api/vouchers/export.csv")
        .await
        .expect(StatusCode::OK, "the CSV export");
    assert!(export
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/csv")));
    let disposition = export.header("content-disposition").unwrap_or("");
    assert!(
        disposition.starts_with("attachment;") && disposition.contains(".csv"),
        "{disposition}"
    );
    let csv = export.text();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(raincheck::voucher::export::CSV_HEADER));
    let row = lines
        .find(|line| line.starts_with(&compact))
        .unwrap_or_else(|| panic!("{compact} in {csv}"));
    assert!(
        row.contains(",popcorn,") && row.ends_with(",printed twice"),
        "{row}"
    );

    // The counter hears of the manager's void and refuses the voucher.
    eventually(&till, &code, "the counter learns of the void", |r| {
        r.voided.is_some()
    })
    .await;
    assert!(matches!(
        till.redeem(code, None).await.unwrap().answer,
        RedeemAnswer::Voided { .. }
    ));
}

/// The audit entries, newest first, without the readiness probes (`update` refused).
async fn audit_trail(client: &ConsoleClient) -> Vec<Value> {
    let reply = client
        .get("/api/audit")
        .await
        .expect(StatusCode::OK, "GET /api/audit");
    reply.json()["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|entry| entry["action"] != "update")
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_records_who_did_what_newest_first_and_survives_a_restart() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let config = write_console_config(directory.path(), "back-office", &broker.url(), "");
    let (node, stop, address) = start_console(&config, directory.path());
    let mut client = ConsoleClient::new(address);
    client
        .sign_in(MANAGER, "0000")
        .await
        .expect_refusal(StatusCode::UNAUTHORIZED, "a wrong PIN");
    client.sign_in_as_manager().await;
    wait_until_console_reads_the_venue(&client).await;
    let declared = client
        .post_json(
            "/api/incident",
            &json!({ "texts": { "headline": "Cash only tonight" } }),
        )
        .await
        .expect(StatusCode::OK, "declare")
        .json();
    let replica = node
        .counter
        .clone()
        .expect("the console keeps a voucher replica");
    let code = replica
        .issue(popcorn(), None, None)
        .await
        .expect("issue")
        .code
        .to_string();
    client
        .post_json(
            &format!("/api/vouchers/{code}/void"),
            &json!({ "reason": "printed twice" }),
        )
        .await
        .expect(StatusCode::NO_CONTENT, "void");
    client
        .get("/api/vouchers/export.csv")
        .await
        .expect(StatusCode::OK, "export");
    client
        .delete("/api/session")
        .await
        .expect(StatusCode::NO_CONTENT, "sign out");
    client.sign_in_as_manager().await;

    let trail = audit_trail(&client).await;
    let steps: Vec<(&str, &str)> = trail
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or(""),
                e["outcome"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("sign-in", "ok"),
            ("sign-out", "ok"),
            ("export", "ok"),
            ("void", "ok"),
            ("declare", "ok"),
            ("sign-in", "ok"),
            ("sign-in", "refused: wrong name or PIN"),
        ],
        "newest first: {trail:#?}"
    );
    let mut previous = None;
    for entry in &trail {
        assert_eq!(
            (&entry["manager"], &entry["from"]),
            (&json!(MANAGER), &json!("127.0.0.1")),
            "{entry}"
        );
        let at = time::OffsetDateTime::parse(
            entry["at"].as_str().unwrap_or(""),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap_or_else(|error| panic!("`at` is RFC 3339 ({error}): {entry}"));
        assert!(
            previous.is_none_or(|newer| at <= newer),
            "newest first: {trail:#?}"
        );
        previous = Some(at);
    }
    let detail = |index: usize| trail[index]["detail"].as_str().unwrap_or("").to_owned();
    let incident = declared["incident_id"].as_str().unwrap();
    assert!(
        detail(4).contains(incident) && detail(4).contains("Cash only tonight"),
        "{}",
        detail(4)
    );
    assert_eq!(detail(3), format!("{code}: printed twice"));
    assert!(detail(2).starts_with("1 voucher"), "{}", detail(2));

    let newest = client.get("/api/audit?limit=1").await.json();
    assert_eq!(newest["entries"].as_array().map(Vec::len), Some(1));
    assert_eq!(newest["entries"][0], trail[0]);
    client
        .get("/api/audit?limit=many")
        .await
        .expect_refusal(StatusCode::BAD_REQUEST, "a limit that is no number");

    // The log is on disk: a restarted console still shows it, below its new sign-in.
    stop_node(node, stop).await;
    let (_node, _stop, address) = start_console(&config, directory.path());
    let mut client = ConsoleClient::new(address);
    client.sign_in_as_manager().await;
    let after = audit_trail(&client).await;
    assert_eq!(
        (&after[0]["action"], &after[0]["outcome"]),
        (&json!("sign-in"), &json!("ok"))
    );
    assert_eq!(
        after[1..],
        trail[..],
        "the earlier entries survive the restart"
    );
}

/// Fills `data_dir`'s audit log with more than the 1 MiB the console reads back at start,
/// mostly two-byte characters, so the cut lands inside one; the last entry's detail is
/// `newest`.
fn write_large_audit_log(data_dir: &Path, newest: &str) {
    const TAIL_BYTES: usize = 1024 * 1024;
    let line = |detail: &str| {
        let entry = json!({
            "at": "2026-11-20T21:00:00Z", "manager": "Dana", "from": "10.0.0.5",
            "action": "declare", "detail": detail, "outcome": "ok",
        });
        format!("{entry}\n")
    };
    let mut log = String::new();
    while log.len() < TAIL_BYTES + 64 * 1024 {
        log.push_str(&line(&"é".repeat(290)));
    }
    log.push_str(&line(newest));
    // One more byte at the end moves the cut by one: make it split a character.
    if log.is_char_boundary(log.len() - TAIL_BYTES) {
        log.push('\n');
    }
    assert!(!log.is_char_boundary(log.len() - TAIL_BYTES));
    std::fs::write(data_dir.join("console-audit.jsonl"), log).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_audit_log_is_read_back_whatever_character_the_tail_starts_in() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let config = write_console_config(directory.path(), "back-office", &broker.url(), "");
    write_large_audit_log(
        &directory.path().join("back-office-data"),
        "the newest entry",
    );
    let (_node, _stop, address) = start_console(&config, directory.path());
    let mut client = ConsoleClient::new(address);
    client.sign_in_as_manager().await;
    let audit = client.get("/api/audit?limit=1000").await.json();
    let entries = audit["entries"].as_array().expect("entries");
    assert_eq!(entries[0]["action"], "sign-in");
    assert_eq!(
        entries.get(1).map(|e| &e["detail"]),
        Some(&json!("the newest entry")),
        "the entries before the restart are shown ({} entries)",
        entries.len()
    );
    assert_eq!(entries.len(), 1000, "the page gets the newest 1000");
}
