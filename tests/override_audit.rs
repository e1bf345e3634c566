//! Overrides in the audit logs and the morning-after report, against real tills, a real
//! console and a real Mosquitto. Two tills cut apart from each other (a TCP proxy between
//! one and the broker drops its link) each accept the same one-time code, as neither can
//! know of the other's use; once the link is back the console's report flags the code as
//! used past its allowance, the console's audit log holds both overrides (heard from the
//! tills, once each), each till's own audit log holds its own — and a wrong PIN, refused,
//! nothing issued — and `raincheck report incident` on the stopped console's files gives
//! the same overrides as JSON and CSV.

mod common;

use common::chaos::TcpProxy;
use common::console::*;
use common::counters::{capped_till, popcorn, start_counter, MarksReader};
use common::{cli, mosquitto, stderr_of, stdout_of};
use raincheck::protocol::Identifier;
use raincheck::voucher::handle::OverrideOffer;
use raincheck::voucher::override_code::OverrideRefusal;
use raincheck::voucher::{CounterError, CounterHandle};
use serde_json::{json, Value};
use std::path::Path;

const INCIDENT: &str = "storm-1";

/// The till's audit log, one JSON value per line, oldest first.
fn till_audit(directory: &Path, till: &str) -> Vec<Value> {
    let path = directory.join(format!("{till}-data")).join("audit.jsonl");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
        .lines()
        .map(|line| serde_json::from_str(line).expect("an audit line is JSON"))
        .collect()
}

async fn issue(
    till: &CounterHandle,
    past_cap: Option<OverrideOffer>,
) -> Result<String, CounterError> {
    let incident = Identifier::parse(INCIDENT).unwrap();
    till.issue_with(popcorn(), Some(incident), None, past_cap)
        .await
        .map(|issued| issued.code.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_used_at_two_tills_cut_apart_is_audited_everywhere_and_reported_over_used() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let proxy = TcpProxy::start(broker.port).await;
    let caps = "till_cap = 1";
    let config_1 = capped_till(directory.path(), "till-1", 1, &broker.url(), caps, None);
    let config_2 = capped_till(directory.path(), "till-2", 2, &proxy.url(), caps, None);
    let (_node_1, _stop_1, till_1) = start_counter(&config_1, directory.path());
    let (_node_2, _stop_2, till_2) = start_counter(&config_2, directory.path());
    let (console, stop_console, client) =
        start_console_signed_in(directory.path(), &broker.url()).await;
    let minted = mint_popcorn_code(&client, 1).await;
    let code = minted["code"].as_str().expect("the code").to_owned();
    let by_code = || {
        Some(OverrideOffer::Code {
            code: code.clone(),
            from: "127.0.0.1".into(),
        })
    };
    issue(&till_1, None).await.expect("till 1's popcorn");
    issue(&till_2, None).await.expect("till 2's popcorn");

    // A wrong PIN at till 2: refused, nothing issued, in till 2's log without the name.
    let wrong = issue(
        &till_2,
        Some(OverrideOffer::Pin {
            manager: "Dana".into(),
            pin: "0000".into(),
            from: "counter-screen".into(),
        }),
    )
    .await;
    assert!(
        matches!(
            wrong,
            Err(CounterError::Override(OverrideRefusal::WrongPin))
        ),
        "{wrong:?}"
    );

    // Cut apart: the broker sees till 2's link die and publishes its last will (not
    // retained: the reader listens first).
    let mut marks = MarksReader::subscribe(broker.port, "till-2").await;
    proxy.cut();
    marks
        .wait("till-2's last will as its link dies", |m| {
            m["online"] == false
        })
        .await;
    let used_1 = issue(&till_1, by_code())
        .await
        .expect("till 1 takes the code");
    let used_2 = issue(&till_2, by_code())
        .await
        .expect("till 2, unable to hear of till 1's use, takes it too");
    proxy.heal();

    let report = report_holding(&client, INCIDENT, 4).await;
    let overrides = report["vouchers"]["overrides"].clone();
    let line = |till: &str| {
        json!({ "till": till, "offer": "popcorn", "code": code, "cap": "till_count",
                "issued": 1, "allowed": 1, "over_used": 2 })
    };
    assert_eq!(
        overrides,
        json!([line("till-1"), line("till-2")]),
        "{report:#}"
    );
    let html = client
        .get(&format!("/api/reports/incidents/{INCIDENT}?format=html"))
        .await
        .text();
    assert!(
        html.contains(&code) && html.contains("(allows 1) <b>used 2× in all"),
        "{html}"
    );

    // The console's log holds both overrides, heard from the tills, once each.
    let audit = client.get("/api/audit?limit=100").await.json();
    let heard: Vec<&Value> = audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|entry| entry["action"] == "override")
        .collect();
    assert_eq!(heard.len(), 2, "{audit:#}");
    for (till, voucher) in [("till-1", &used_1), ("till-2", &used_2)] {
        let entry = heard
            .iter()
            .find(|entry| entry["from"] == till)
            .unwrap_or_else(|| panic!("no override from {till} in {audit:#}"));
        let detail = entry["detail"].as_str().unwrap();
        assert_eq!(entry["outcome"], "ok");
        assert!(
            detail.starts_with(&format!("{till}: popcorn voucher "))
                && detail.ends_with(&format!(
                    "issued past this till's count cap on override code {code}"
                )),
            "{detail}"
        );
        let compact: String = voucher.chars().filter(|c| *c != '-').collect();
        assert!(
            detail.contains(voucher) || detail.contains(&compact),
            "{detail}"
        );
    }

    // Each till's own log: its override, and till 2's refused PIN before it.
    let log_1 = till_audit(directory.path(), "till-1");
    assert_eq!(log_1.len(), 1, "{log_1:#?}");
    assert_eq!(
        (&log_1[0]["from"], &log_1[0]["outcome"]),
        (&json!("127.0.0.1"), &json!("ok"))
    );
    let log_2 = till_audit(directory.path(), "till-2");
    assert_eq!(log_2.len(), 2, "{log_2:#?}");
    assert_eq!(log_2[0]["from"], "counter-screen");
    assert_eq!(log_2[0]["manager"], Value::Null);
    assert!(
        log_2[0]["outcome"]
            .as_str()
            .unwrap()
            .starts_with("refused: "),
        "{log_2:#?}"
    );
    assert!(
        log_2[0]["detail"]
            .as_str()
            .unwrap()
            .ends_with("popcorn voucher past a cap on a manager's PIN"),
        "{log_2:#?}"
    );
    assert_eq!(log_2[1]["outcome"], "ok");

    // The stopped console's files give the same overrides, to accounts as well.
    stop_node(console, stop_console).await;
    let config = directory.path().join("back-office.toml");
    let report_cli = |format: &str| {
        let output = cli(&[
            "report",
            "incident",
            INCIDENT,
            "--config",
            config.to_str().unwrap(),
            "--format",
            format,
        ]);
        assert!(output.status.success(), "{}", stderr_of(&output));
        stdout_of(&output)
    };
    let offline: Value = serde_json::from_str(&report_cli("json")).expect("JSON on stdout");
    assert_eq!(offline["vouchers"]["overrides"], overrides);
    let csv = report_cli("csv");
    for till in ["till-1", "till-2"] {
        assert!(
            csv.lines().any(
                |row| row.starts_with(&format!("override,{till},popcorn,1,"))
                    && row.contains(&code)
            ),
            "{csv}"
        );
    }
}
