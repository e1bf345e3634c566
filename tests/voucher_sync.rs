//! Voucher sync between real counter nodes (in-process, each with its own sled store and
//! MQTT sessions) over a real Mosquitto: each other's vouchers verify and redeem, a
//! double redemption during a partition is reported on both once the link heals, and a
//! brand-new terminal catches up with the whole history.

mod common;

use common::console::stop_node;
use common::counters::*;
use common::*;
use raincheck::voucher::lifecycle::RedeemAnswer;
use raincheck::voucher::CounterError;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

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
            .unwrap()
            .answer,
        RedeemAnswer::Valid
    );
    eventually(&till_1, &first, "till-1 learns of the redemption", |r| {
        r.redemptions.len() == 1
    })
    .await;
    assert!(matches!(
        till_1.redeem(first.clone(), None).await.unwrap().answer,
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
                .unwrap()
                .answer,
            RedeemAnswer::Valid
        );
        assert_eq!(
            till_2
                .redeem(second.clone(), Some("ben".into()))
                .await
                .unwrap()
                .answer,
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
        till_9.redeem(codes[7].clone(), None).await.unwrap().answer,
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
            .unwrap()
            .answer;
        assert!(answer.is_unreadable(), "attempt {attempt}: {answer:?}");
    }
    assert_eq!(
        till_1.redeem(real.clone(), None).await.unwrap().answer,
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
    let earlier = issue_many(&till_1, 3).await;
    let last = earlier.last().cloned().expect("three codes");
    eventually(&till_2, &last, "till-2 holds till-1's vouchers", |r| {
        r.issued.is_some()
    })
    .await;
    wait_for_marks(broker.port, "till-2", "till-1", 3).await;
    stop_node(a, stop_a).await;

    // The terminal's disk is replaced by an empty one, as after a bad restore.
    std::fs::remove_dir_all(directory.path().join("till-1-data")).unwrap();
    let (_a2, _stop_a2, till_1) = counter_node(directory.path(), "till-1", 1, &broker.url());
    // Requests wait until the counter has heard every retained mark, so the first issue is
    // refused as behind — unless till-2's replay of till-1's own events won the race and
    // the store caught up first. Either way no code repeats one that till-2 holds.
    match till_1.issue(popcorn(), None, None).await {
        Err(refusal) => assert!(refusal.to_string().contains("behind"), "{refusal}"),
        Ok(issued) => {
            let code = issued.code.to_string();
            assert!(
                !earlier.contains(&code) && issued.code.fields.serial > 3,
                "a caught-up store issues a fresh code, not {code} again"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_terminal_gets_a_departed_terminals_history_from_the_others() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let (a, stop_a, till_1) = counter_node(directory.path(), "till-1", 1, &broker.url());
    let (_b, _stop_b, till_2) = counter_node(directory.path(), "till-2", 2, &broker.url());
    let last = issue_many(&till_1, 50).await.pop().expect("fifty codes");
    eventually(&till_2, &last, "till-2 holds till-1's vouchers", |r| {
        r.issued.is_some()
    })
    .await;
    // till-1 leaves for good (its goodbye marks it offline).
    stop_node(a, stop_a).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_till_restored_from_a_backup_never_issues_a_code_twice() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path().join("till-1-data");
    let backup = directory.path().join("till-1-backup");
    let (a, stop_a, till_1) = counter_node(directory.path(), "till-1", 1, &broker.url());
    let (b, stop_b, _till_2) = counter_node(directory.path(), "till-2", 2, &broker.url());
    let mut handed_out = issue_many(&till_1, 3).await;
    wait_for_marks(broker.port, "till-2", "till-1", 3).await;

    // Backed up while stopped, as docs/DEPLOY.md says; then the evening goes on.
    stop_node(a, stop_a).await;
    copy_dir(&data, &backup);
    let (a, stop_a, till_1) = counter_node(directory.path(), "till-1", 1, &broker.url());
    handed_out.extend(issue_many(&till_1, 4).await);
    wait_for_marks(broker.port, "till-2", "till-1", 7).await;

    // till-2 is switched off for the night: its goodbye keeps what it held.
    stop_node(b, stop_b).await;
    let goodbye = wait_for_offline(broker.port, "till-2").await;
    assert_eq!(
        goodbye["marks"]["till-1"], 7,
        "marks survive the goodbye: {goodbye}"
    );

    // till-1's disk is replaced and the old backup restored.
    stop_node(a, stop_a).await;
    std::fs::remove_dir_all(&data).unwrap();
    copy_dir(&backup, &data);
    let (_a, _stop_a, till_1) = counter_node(directory.path(), "till-1", 1, &broker.url());
    let refusal = till_1
        .issue(popcorn(), None, None)
        .await
        .expect_err("a store behind the venue must not issue");
    assert!(matches!(refusal, CounterError::StoreBehind), "{refusal}");
    let words = refusal.to_string();
    assert!(
        words.contains("Switch the other tills on") && words.contains("use another till"),
        "staff are told what to do: {words}"
    );

    // The other till comes back and gives till-1 its own events: it issues again, and
    // never a code it had handed out before the restore.
    let (_b, _stop_b, _till_2) = counter_node(directory.path(), "till-2", 2, &broker.url());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(45);
    let fresh = loop {
        match till_1.issue(popcorn(), None, None).await {
            Ok(issued) => break issued.code.to_string(),
            Err(CounterError::StoreBehind) => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "till-1 did not catch up from till-2 within 45 s"
                );
                // Polling the till: catching up has no notification to wait on.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(other) => panic!("unexpected refusal: {other}"),
        }
    };
    handed_out.push(fresh);
    handed_out.extend(issue_many(&till_1, 3).await);
    let distinct: BTreeSet<&String> = handed_out.iter().collect();
    assert_eq!(
        distinct.len(),
        handed_out.len(),
        "a code was issued twice: {handed_out:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_till_without_its_broker_waits_to_check_before_issuing() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path().join("till-1-data");
    let (a, stop_a, till_1) = counter_node(directory.path(), "till-1", 1, &broker.url());
    issue_many(&till_1, 2).await;
    stop_node(a, stop_a).await;
    // Restored from a copy onto a till whose broker cannot be reached.
    let copy = directory.path().join("copy");
    copy_dir(&data, &copy);
    std::fs::remove_dir_all(&data).unwrap();
    copy_dir(&copy, &data);
    let nowhere = format!("mqtt://127.0.0.1:{}", free_port());
    let (a, stop_a, till_1) = counter_node(directory.path(), "till-1", 1, &nowhere);
    let refusal = till_1
        .issue(popcorn(), None, None)
        .await
        .expect_err("an unproven copy must not issue offline");
    assert!(matches!(refusal, CounterError::StoreUnproven), "{refusal}");
    assert!(
        refusal
            .to_string()
            .contains("Connect it to the venue network"),
        "{refusal}"
    );
    stop_node(a, stop_a).await;

    // With the broker, the marks show it is current: it issues, and stays proven offline.
    let (a, stop_a, till_1) = counter_node(directory.path(), "till-1", 1, &broker.url());
    till_1
        .issue(popcorn(), None, None)
        .await
        .expect("a current store issues once it has checked");
    stop_node(a, stop_a).await;
    let (_a, _stop_a, till_1) = counter_node(directory.path(), "till-1", 1, &nowhere);
    till_1
        .issue(popcorn(), None, None)
        .await
        .expect("once proven, offline issuing works again");
}

/// A port nothing listens on (bound, then released).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Copies a directory tree as a restore from backup would (new files, new inodes).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
