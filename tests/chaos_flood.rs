//! Chaos on the wire, with real processes: a flood of 1,000 malformed messages (bad JSON,
//! unknown versions, oversized, owners that do not match the topic, revisions out of
//! range, texts too long, garbage on the voucher topics…), some retained, mixed with real
//! declarations and real voucher traffic, changes nothing. Every screen receives and
//! refuses each one it subscribes to (its refusal counters match the flood exactly),
//! only ever reports views that real declarations made, stays alive, and a screen booted
//! into the retained garbage converges too; the counters keep serving and hold exactly
//! the real vouchers. See chaos.rs for the rest of the suite.

mod common;

use common::chaos::*;
use common::*;
use raincheck::model::ViewMode;
use raincheck::protocol::{
    decode_message, DisplayReport, DisplayStatus, Identifier, IncidentDeclaration,
};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use tokio::time::Instant;

const WAIT: Duration = Duration::from_secs(20);

/// One malformed message, and the reason the status gate must refuse it for (`None` for
/// topics that are not status topics of this venue: the counters', or nobody's).
struct Garbage {
    topic: String,
    payload: Vec<u8>,
    retain: bool,
    refused_as: Option<&'static str>,
}

impl Garbage {
    /// Whether a screen hears it: screens follow declarations and payment reports, not
    /// other nodes' display reports (those are for the console, the CLI and observers).
    fn heard_by_screens(&self) -> bool {
        let venue = format!("raincheck/v1/{VENUE}/");
        let kind = self
            .topic
            .strip_prefix(&venue)
            .or_else(|| self.topic.strip_prefix("raincheck/v1/_chain/"))
            .and_then(|rest| rest.split_once('/'));
        matches!(kind, Some(("incident" | "payments", owner)) if !owner.contains('/'))
    }
}

/// Every kind of bad message, each dangerous if accepted: the declarations carry a
/// revision far above the real one and a headline no screen may ever show.
fn catalogue(real: &IncidentDeclaration, real_code: &str) -> Vec<Garbage> {
    let venue = format!("raincheck/v1/{VENUE}");
    let mut base = serde_json::to_value(real).unwrap();
    base["revision"] = json!(real.revision + 1000);
    base["texts"]["headline"] = json!("GARBAGE WON");
    let with = |key: &str, value: Value| {
        let mut payload = base.clone();
        payload[key] = value;
        serde_json::to_vec(&payload).unwrap()
    };
    let without_v = {
        let mut payload = base.clone();
        payload.as_object_mut().unwrap().remove("v");
        serde_json::to_vec(&payload).unwrap()
    };
    let long_headline = {
        let mut payload = base.clone();
        payload["texts"]["headline"] = json!("x".repeat(501));
        serde_json::to_vec(&payload).unwrap()
    };
    let oversized = {
        let mut payload = base.clone();
        payload["texts"]["body"] = json!("x".repeat(17 * 1024));
        serde_json::to_vec(&payload).unwrap()
    };
    let nested = format!("{}{}", "[".repeat(3000), "]".repeat(3000)).into_bytes();
    let since = "2026-11-22T19:40:00Z";
    let health = |source: &str, status: &str, revision: Value| {
        serde_json::to_vec(&json!({ "v": 1, "source": source, "status": status,
            "revision": revision, "since": since }))
        .unwrap()
    };
    let display = |node: &str, v: u32, revision: Value| {
        serde_json::to_vec(&json!({ "v": v, "node": node, "status": "online",
            "revision": revision, "digest": "0123456789abcdef", "mode": "cash_only" }))
        .unwrap()
    };
    // A code of this venue's format whose MAC was made with another secret: a forgery.
    let forger =
        raincheck::voucher::VoucherSecret::new(VENUE, b"not-the-venue-secret-0123456789!").unwrap();
    let forged = raincheck::voucher::VoucherCode::issue(
        raincheck::voucher::code::VoucherFields {
            offer: 1,
            terminal: 9,
            serial: 7,
            expiry_day: 4000,
        },
        &forger,
    )
    .unwrap()
    .compact();
    // A real code, spelled the way a person would type it: events must be canonical.
    let misspelt = format!(
        "{}-{}-{}-{}",
        &real_code[..4],
        &real_code[4..8],
        &real_code[8..12],
        &real_code[12..]
    )
    .to_lowercase();
    let event = |v: u32, seq: u64, kind: &str, code: &str| {
        json!({ "v": v, "origin": "till-9", "seq": seq, "at": since, "kind": kind,
            "code": code, "offer_id": "popcorn" })
    };
    let batch = |v: u32, events: Vec<Value>| {
        serde_json::to_vec(&json!({ "v": v, "origin": "till-9", "events": events })).unwrap()
    };
    let marks = |v: u32, node: &str, marks: Value| {
        serde_json::to_vec(&json!({ "v": v, "node": node, "online": true, "marks": marks }))
            .unwrap()
    };
    let screens = |topic: &str, payload: Vec<u8>, retain: bool, kind: &'static str| Garbage {
        topic: format!("{venue}/{topic}"),
        payload,
        retain,
        refused_as: Some(kind),
    };
    let nobody = |topic: String, payload: Vec<u8>| Garbage {
        topic,
        payload,
        retain: false,
        refused_as: None,
    };
    vec![
        // On the real declaration's own topic: never retained, or the broker would
        // replace the real declaration (only the ACL keeps strangers off it).
        screens(
            "incident/cli",
            b"{definitely not json".to_vec(),
            false,
            "malformed",
        ),
        screens("incident/cli", with("v", json!(2)), false, "version"),
        screens("incident/cli", with("v", json!(0)), false, "version"),
        screens("incident/cli", without_v, false, "malformed"),
        screens("incident/cli", with("v", json!("1")), false, "malformed"),
        screens(
            "incident/cli",
            with("revision", json!(u64::MAX)),
            false,
            "revision",
        ),
        screens(
            "incident/cli",
            with("revision", json!(1u64 << 53)),
            false,
            "revision",
        ),
        screens(
            "incident/cli",
            with("revision", json!(0)),
            false,
            "revision",
        ),
        screens(
            "incident/cli",
            with("revision", json!(-1)),
            false,
            "malformed",
        ),
        screens(
            "incident/cli",
            with("revision", json!("high")),
            false,
            "malformed",
        ),
        screens(
            "incident/cli",
            with("revision", json!(1e300)),
            false,
            "malformed",
        ),
        screens(
            "incident/cli",
            with("state", json!("maybe")),
            false,
            "malformed",
        ),
        screens(
            "incident/cli",
            with("started_at", json!("yesterday")),
            false,
            "malformed",
        ),
        screens("incident/cli", long_headline, false, "text"),
        screens("incident/cli", oversized, false, "oversized"),
        screens("incident/cli", Vec::new(), false, "empty"),
        screens(
            "incident/cli",
            vec![0xff, 0xfe, 0x7b, 0x00],
            false,
            "malformed",
        ),
        screens("incident/cli", nested, false, "malformed"),
        screens("incident/console", with("v", json!(1)), false, "owner"),
        // Topics nobody owns: retained, so every (re)connecting node meets them again.
        screens("incident/UPPER", with("v", json!(1)), true, "unknown-topic"),
        screens("incident/-dash", with("v", json!(1)), true, "unknown-topic"),
        screens(
            "incident/garbage",
            with("source", json!("Not An Id")),
            true,
            "malformed",
        ),
        screens(
            "payments/pos-1",
            health("pos-1", "exploded", json!(5)),
            true,
            "malformed",
        ),
        screens(
            "payments/pos-2",
            health("pos-1", "down", json!(5)),
            true,
            "owner",
        ),
        screens(
            "payments/pos-3",
            health("pos-3", "down", json!(u64::MAX)),
            true,
            "revision",
        ),
        screens("displays/ghost", b"{\"v\":1}".to_vec(), true, "malformed"),
        screens(
            "displays/ghost-2",
            display("ghost-2", 1, json!(u64::MAX)),
            true,
            "revision",
        ),
        screens(
            "displays/ghost-3",
            display("ghost-3", 3, json!(1)),
            true,
            "version",
        ),
        // Not retained: it would replace lobby-1's own report at the broker.
        screens(
            "displays/lobby-1",
            display("lobby-2", 1, json!(1)),
            false,
            "owner",
        ),
        Garbage {
            topic: "raincheck/v1/_chain/incident/hq".into(),
            payload: b"{\"v\":1,\"source\":\"hq\"".to_vec(),
            retain: true,
            refused_as: Some("malformed"),
        },
        // Topics no screen subscribes to.
        nobody(
            "raincheck/v1/elsewhere/incident/cli".into(),
            with("v", json!(1)),
        ),
        nobody(format!("{venue}/incident/cli/extra"), with("v", json!(1))),
        nobody(
            format!("raincheck/v2/{VENUE}/incident/cli"),
            with("v", json!(1)),
        ),
        // Garbage for the counters' voucher sync.
        nobody(format!("{venue}/vouchers/till-9"), b"[1,2,".to_vec()),
        nobody(
            format!("{venue}/vouchers/till-9"),
            batch(2, vec![event(1, 1, "issued", &forged)]),
        ),
        nobody(
            format!("{venue}/vouchers/till-9"),
            batch(1, vec![event(1, 1, "issued", &forged)]),
        ),
        nobody(
            format!("{venue}/vouchers/till-9"),
            batch(1, vec![event(1, 2, "redeemed", &misspelt)]),
        ),
        nobody(
            format!("{venue}/vouchers/till-9"),
            batch(1, vec![event(2, 3, "redeemed", real_code)]),
        ),
        nobody(format!("{venue}/vouchers/till-9"), vec![b'x'; 100 * 1024]),
        nobody(
            format!("{venue}/voucher-marks/till-9"),
            b"{\"v\":1,".to_vec(),
        ),
        nobody(
            format!("{venue}/voucher-marks/till-9"),
            marks(1, "till-9", json!({ "till-1": "many" })),
        ),
        // Marks claiming more of till-1's events than till-1 holds: a counter that
        // believed them would think its store was restored from an old backup and stop
        // serving. An unknown version and a payload owner other than the topic's must be
        // refused like any status message.
        nobody(
            format!("{venue}/voucher-marks/till-9"),
            marks(2, "till-9", json!({ "till-1": 1_000_000 })),
        ),
        nobody(
            format!("{venue}/voucher-marks/till-9"),
            marks(1, "till-2", json!({ "till-1": 1_000_000 })),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_malformed_messages_mixed_with_real_traffic_change_nothing() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let url = broker.url();
    let screen_names = ["lobby-1", "lobby-2", "box-office"];
    let mut screens = start_screens(directory.path(), &screen_names, &url);
    let mut counters = vec![
        Counter::start(directory.path(), "till-1", 1, &url),
        Counter::start(directory.path(), "till-2", 2, &url),
    ];
    let everyone = ["lobby-1", "lobby-2", "box-office", "till-1", "till-2"];
    let http = http_client();
    let mut observer = observer_once_online(&url, &everyone, WAIT).await;
    let (_, first) = declare_and_confirm(
        &mut observer,
        &url,
        "start",
        &["--headline", "real 1"],
        &everyone,
        "the real incident shown",
    )
    .await;
    for counter in &counters {
        counter.api.wait_serving(WAIT).await;
    }
    let mut ledger = Ledger::default();
    let real_code = ledger.issue(&counters[0]).await;
    ledger.issue(&counters[1]).await;
    wait_for_voucher_sync(broker.port, &["till-1", "till-2"], &ledger, WAIT).await;
    for (screen, name) in screens.iter().zip(screen_names) {
        let text = metrics_text(&http, &screen.metrics).await.expect("metrics");
        assert!(
            refusals(&text).is_empty(),
            "{name} refused something already:\n{text}"
        );
    }

    let real = observer
        .state
        .declarations
        .values()
        .next()
        .expect("the real declaration")
        .clone();
    let kinds = catalogue(&real, &real_code);
    let garbage: Vec<&Garbage> = kinds.iter().cycle().take(1000).collect();
    // Each piece is garbage by the protocol's own gate, for the reason expected, so the
    // counts below prove the screens received and refused every one.
    let venue = Identifier::parse(VENUE).unwrap();
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    let mut retained: BTreeMap<&str, &'static str> = BTreeMap::new();
    for piece in &garbage {
        if let Some(kind) = piece.refused_as {
            let reason = decode_message(&piece.topic, &piece.payload, &venue)
                .expect_err(&format!("{} must be refused", piece.topic));
            assert_eq!(reason.kind(), kind, "{}: {reason}", piece.topic);
            if piece.heard_by_screens() {
                *expected.entry(kind.to_owned()).or_default() += 1;
                if piece.retain {
                    retained.insert(&piece.topic, kind);
                }
            }
        }
    }
    let mut expected_on_boot: BTreeMap<String, u64> = BTreeMap::new();
    for kind in retained.values() {
        *expected_on_boot.entry((*kind).to_owned()).or_default() += 1;
    }

    // The script: the flood in four bursts, each followed by a real declaration and
    // real voucher traffic, while this task keeps every display report it sees.
    let flood: Vec<(String, Vec<u8>, bool)> = garbage
        .iter()
        .map(|g| (g.topic.clone(), g.payload.clone(), g.retain))
        .collect();
    let apis: Vec<(String, CounterApi)> = counters
        .iter()
        .map(|c| (c.name.clone(), c.api.clone()))
        .collect();
    let (script_url, port) = (url.clone(), broker.port);
    let mut script = tokio::spawn(async move {
        let mut flooder = Flooder::connect(port);
        let mut revisions = Vec::new();
        let mut answers = Vec::new();
        for (burst, chunk) in flood.chunks(250).enumerate() {
            for (topic, payload, retain) in chunk {
                flooder.publish(topic, payload.clone(), *retain).await;
            }
            let headline = format!("real {}", burst + 2);
            revisions.push(
                declare_async(&script_url, "update", &["--headline", &headline])
                    .await
                    .1,
            );
            for (name, api) in &apis {
                answers.push((
                    name.clone(),
                    api.issue().await.map_err(|e| format!("{e:?}")),
                ));
            }
        }
        flooder.wait_acknowledged(WAIT).await;
        (revisions, answers)
    });
    let mut reports: Vec<DisplayReport> = Vec::new();
    let (revisions, answers) = loop {
        tokio::select! {
            done = &mut script => break done.expect("the flood script"),
            change = observer.next_change(Instant::now() + WAIT) => {
                if change.is_some() {
                    record_display(&observer, &mut reports);
                }
            }
        }
    };
    for (name, answer) in answers {
        let code =
            answer.unwrap_or_else(|error| panic!("{name} did not issue during the flood: {error}"));
        ledger.record_issue(&name, code);
    }
    let last = *revisions.last().unwrap();
    wait_recording(
        &mut observer,
        WAIT,
        "every node shows the last real declaration after the flood",
        &mut reports,
        confirmed_after(&everyone, last),
    )
    .await;
    let view = observer.view();
    assert_eq!(
        (view.revision, view.mode, view.texts.headline.as_deref()),
        (last, ViewMode::CashOnly, Some("real 5"))
    );
    let real_revisions: BTreeSet<u64> = revisions.iter().copied().chain([first]).collect();
    let shown: Vec<_> = reports
        .iter()
        .filter(|r| r.status == DisplayStatus::Online)
        .filter(|r| !r.revision.is_some_and(|rev| real_revisions.contains(&rev)))
        .collect();
    assert!(
        shown.is_empty(),
        "nodes reported views no real declaration made: {shown:#?}"
    );

    for (screen, name) in screens.iter().zip(screen_names) {
        assert!(alive(screen.node.pid()), "{name} died in the flood");
        wait_metrics(
            &http,
            &screen.metrics,
            WAIT,
            &format!("{name} to count every refusal: {expected:?}"),
            |text| refusals(text) == expected,
        )
        .await;
    }
    for counter in &counters {
        assert!(alive(counter.pid()), "{} died in the flood", counter.name);
    }

    // A screen killed now boots into the retained garbage and still converges.
    screens[0].node.restart();
    let boot_expected = expected_on_boot.clone();
    let text = wait_metrics(
        &http,
        &screens[0].metrics,
        WAIT,
        &format!("restarted lobby-1 to refuse the retained garbage {boot_expected:?} and show the last real revision"),
        |text| {
            refusals(text) == boot_expected
                && metric(text, "raincheck_view_revision") == Some(last as f64)
        },
    )
    .await;
    assert_eq!(
        metric(&text, "raincheck_view_mode{mode=\"cash_only\"}"),
        Some(1.0)
    );
    wait_for(
        &mut observer,
        WAIT,
        "every node confirms after lobby-1's restart",
        all_confirmed(&everyone),
    )
    .await;
    observer.close().await;

    // The counters were not moved by the voucher garbage: they still serve, and hold
    // exactly the real vouchers.
    let after = ledger.issue(&counters[0]).await;
    ledger.redeem(&counters[1], &after).await;
    ledger.redeem(&counters[0], &real_code).await;
    wait_for_voucher_sync(broker.port, &["till-1", "till-2"], &ledger, WAIT).await;
    let stores = stop_and_read(&mut counters);
    verify_vouchers(&ledger, &stores, Answers::AllAnswered);
}
