//! Voucher sync between real counter nodes (in-process, each with its own sled store and
//! MQTT sessions) over a real Mosquitto: each other's vouchers verify and redeem, a
//! double redemption during a partition is reported on both once the link heals, and a
//! brand-new terminal catches up with the whole history.

mod common;

use common::*;
use raincheck::app::{start_node, NodeHandle};
use raincheck::protocol::Identifier;
use raincheck::shutdown::{shutdown_pair, ShutdownTrigger};
use raincheck::voucher::lifecycle::RedeemAnswer;
use raincheck::voucher::CounterHandle;
use std::path::Path;
use std::time::Duration;

fn counter_node(
    directory: &Path,
    node: &str,
    terminal: u8,
    url: &str,
) -> (NodeHandle, ShutdownTrigger, CounterHandle) {
    let path = write_counter_config(directory, node, terminal, "allow", Some(url));
    let config = raincheck::config::load(&path).expect("config");
    let (trigger, shutdown) = shutdown_pair();
    let node = start_node(&config, directory, shutdown).expect("counter starts");
    let counter = node
        .counter
        .clone()
        .expect("a counter node has a voucher worker");
    (node, trigger, counter)
}

/// Waits (bounded) until `condition` holds for the counter's view of `code`.
async fn eventually(
    counter: &CounterHandle,
    code: &str,
    what: &str,
    condition: impl Fn(&raincheck::voucher::events::VoucherRecord) -> bool,
) {
    // Long enough for a replay lost on the way to be sent again (REPLAY_MEMORY plus a
    // marks heartbeat): sync repairs itself, and the test waits for that.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(45);
    loop {
        let (_, record) = counter.lookup(code.to_owned()).await.expect("lookup");
        if record.as_ref().is_some_and(&condition) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}; record: {record:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn popcorn() -> Identifier {
    Identifier::parse("popcorn").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_redeem_each_others_vouchers_and_report_a_partition_double_redemption() {
    let Some(mut broker) = mosquitto("") else {
        return;
    };
    let directory = tempfile::tempdir().unwrap();
    let (_a, _stop_a, till_1) = counter_node(directory.path(), "till-1", 1, &broker.url());
    let (_b, _stop_b, till_2) = counter_node(directory.path(), "till-2", 2, &broker.url());

    let first = till_1
        .issue(popcorn(), None, Some("ana".into()))
        .await
        .expect("issue")
        .code
        .to_string();
    eventually(&till_2, &first, "till-2 learns of till-1's voucher", |r| {
        r.issued.is_some()
    })
    .await;
    assert_eq!(
        till_2
            .redeem(first.clone(), Some("ben".into()))
            .await
            .unwrap(),
        RedeemAnswer::Valid
    );
    eventually(&till_1, &first, "till-1 learns of the redemption", |r| {
        r.redemptions.len() == 1
    })
    .await;
    assert!(matches!(
        till_1.redeem(first.clone(), None).await.unwrap(),
        RedeemAnswer::AlreadyRedeemed { .. }
    ));

    // A partition: the broker goes away and both tills redeem the same voucher.
    let second = till_1
        .issue(popcorn(), None, None)
        .await
        .unwrap()
        .code
        .to_string();
    eventually(&till_2, &second, "till-2 has the second voucher", |r| {
        r.issued.is_some()
    })
    .await;
    broker.kill();
    tokio::time::timeout(Duration::from_secs(10), async {
        // Redemptions are decided offline now (offline_redemption = "allow").
        assert_eq!(
            till_1
                .redeem(second.clone(), Some("ana".into()))
                .await
                .unwrap(),
            RedeemAnswer::Valid
        );
        assert_eq!(
            till_2
                .redeem(second.clone(), Some("ben".into()))
                .await
                .unwrap(),
            RedeemAnswer::Valid
        );
    })
    .await
    .expect("offline redemptions answer at once");
    broker.restart().expect("the broker comes back");
    for till in [&till_1, &till_2] {
        eventually(
            till,
            &second,
            "the double redemption is reported on both tills",
            |r| r.is_conflict(),
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_brand_new_terminal_catches_up_with_the_whole_history() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let (_a, _stop_a, till_1) = counter_node(directory.path(), "till-1", 1, &broker.url());
    let mut codes = Vec::new();
    for _ in 0..1200 {
        codes.push(
            till_1
                .issue(popcorn(), None, None)
                .await
                .unwrap()
                .code
                .to_string(),
        );
    }
    till_1
        .void(
            codes[7].clone(),
            "printed twice".into(),
            Some("maria".into()),
        )
        .await
        .unwrap();
    let (_c, _stop_c, till_9) = counter_node(directory.path(), "till-9", 9, &broker.url());
    eventually(
        &till_9,
        codes.last().unwrap(),
        "the new terminal has the newest voucher",
        |r| r.issued.is_some(),
    )
    .await;
    eventually(&till_9, &codes[7], "and the void", |r| r.voided.is_some()).await;
    for code in codes.iter().step_by(97) {
        let (_, record) = till_9.lookup(code.clone()).await.unwrap();
        assert!(
            record.is_some_and(|r| r.issued.is_some()),
            "{code} missing after catch-up"
        );
    }
    assert!(matches!(
        till_9.redeem(codes[7].clone(), None).await.unwrap(),
        RedeemAnswer::Voided { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_at_a_terminal_is_throttled() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let (_a, _stop_a, till_1) = counter_node(directory.path(), "till-1", 1, &broker.url());
    let real = till_1
        .issue(popcorn(), None, None)
        .await
        .unwrap()
        .code
        .to_string();
    for attempt in 0..20 {
        let answer = till_1
            .redeem(format!("GUESS-{attempt:04}-0000-000"), None)
            .await
            .unwrap();
        assert!(answer.is_unreadable(), "attempt {attempt}: {answer:?}");
    }
    assert_eq!(
        till_1.redeem(real.clone(), None).await.unwrap(),
        RedeemAnswer::TooManyAttempts
    );
    // Looking a code up is throttled alike: otherwise it answers what redeeming won't.
    assert!(matches!(
        till_1.lookup(real.clone()).await,
        Err(raincheck::voucher::CounterError::TooManyAttempts)
    ));
    let records = till_1.records().await.unwrap();
    assert_eq!(records.len(), 1, "only the real voucher was issued");
    let record = &records[0];
    assert!(
        record.redemptions.is_empty(),
        "a throttled attempt changes nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_restored_from_an_old_backup_refuses_to_reuse_codes() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let (a, stop_a, till_1) = counter_node(directory.path(), "till-1", 1, &broker.url());
    let (_b, _stop_b, till_2) = counter_node(directory.path(), "till-2", 2, &broker.url());
    let last = issue_many(&till_1, 3).await;
    eventually(&till_2, &last, "till-2 holds till-1's vouchers", |r| {
        r.issued.is_some()
    })
    .await;
    wait_for_marks(broker.port, "till-2", "till-1", 3).await;
    stop(a, stop_a).await;

    // The terminal's disk is replaced by an empty one, as after a bad restore.
    std::fs::remove_dir_all(directory.path().join("till-1-data")).unwrap();
    let (_a2, _stop_a2, till_1) = counter_node(directory.path(), "till-1", 1, &broker.url());
    // Requests wait until the counter has heard every retained mark, so the very first
    // issue is already refused: no code can repeat one that till-2 holds.
    let refusal = till_1
        .issue(popcorn(), None, None)
        .await
        .expect_err("an old store must not issue");
    assert!(refusal.to_string().contains("behind"), "{refusal}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_terminal_gets_a_departed_terminals_history_from_the_others() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let (a, stop_a, till_1) = counter_node(directory.path(), "till-1", 1, &broker.url());
    let (_b, _stop_b, till_2) = counter_node(directory.path(), "till-2", 2, &broker.url());
    let last = issue_many(&till_1, 50).await;
    eventually(&till_2, &last, "till-2 holds till-1's vouchers", |r| {
        r.issued.is_some()
    })
    .await;
    // till-1 leaves for good (its goodbye marks it offline).
    stop(a, stop_a).await;
    wait_for_offline(broker.port, "till-1").await;
    let (_c, _stop_c, till_3) = counter_node(directory.path(), "till-3", 3, &broker.url());
    eventually(
        &till_3,
        &last,
        "till-3 gets till-1's history from till-2",
        |r| r.issued.is_some(),
    )
    .await;
}

/// Waits (bounded) until `node`'s retained voucher marks say it holds `origin` up to `seq`.
async fn wait_for_marks(port: u16, node: &str, origin: &str, seq: u64) {
    let what = format!("{node}'s marks holding {origin} up to {seq}");
    wait_for_retained_marks(port, node, &what, |marks| {
        marks["marks"][origin].as_u64().unwrap_or(0) >= seq
    })
    .await;
}

/// Waits (bounded) until `node`'s retained voucher marks say it is offline.
async fn wait_for_offline(port: u16, node: &str) {
    let what = format!("{node}'s goodbye on its voucher marks topic");
    wait_for_retained_marks(port, node, &what, |marks| marks["online"] == false).await;
}

/// Reads `node`'s voucher marks topic with a bare client until `done` holds (20 s at most).
async fn wait_for_retained_marks(
    port: u16,
    node: &str,
    what: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) {
    let mut options = rumqttc::MqttOptions::new(
        format!("marks-reader-{}-{node}", std::process::id()),
        "127.0.0.1",
        port,
    );
    options.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 10);
    client
        .subscribe(
            format!("raincheck/v1/{VENUE}/voucher-marks/{node}"),
            rumqttc::QoS::AtMostOnce,
        )
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let Ok(event) = tokio::time::timeout_at(deadline, eventloop.poll()).await else {
            panic!("timed out waiting for {what}");
        };
        if let Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(publish))) = event {
            let marks: serde_json::Value =
                serde_json::from_slice(&publish.payload).unwrap_or_default();
            if done(&marks) {
                return;
            }
        }
    }
}

/// Issues `count` popcorn vouchers at `till`; returns the last code.
async fn issue_many(till: &CounterHandle, count: usize) -> String {
    let mut last = String::new();
    for _ in 0..count {
        last = till
            .issue(popcorn(), None, None)
            .await
            .expect("issue")
            .code
            .to_string();
    }
    last
}

/// Stops a counter node and waits (bounded) for its workers.
async fn stop(node: NodeHandle, trigger: ShutdownTrigger) {
    trigger.trigger();
    tokio::time::timeout(Duration::from_secs(10), node.join())
        .await
        .expect("the counter stops within 10 s");
}
