//! Vouchers on real sled stores in temp directories, through the real binary and the
//! library: every answer at the counter, sync between two terminals with a double
//! redemption reported as a conflict, a foreign store refused, and a crash test that
//! `kill -9`s the binary while it issues and proves nothing reported was lost.

mod common;

use common::*;
use raincheck::config::OfflineRedemption;
use raincheck::protocol::Identifier;
use raincheck::voucher::lifecycle::{RedeemAnswer, RedeemContext};
use raincheck::voucher::store::{voucher_day, IssueRequest, StoreError, VoucherStore};
use raincheck::voucher::VoucherSecret;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

const SECRET: &[u8] = VOUCHER_SECRET;

fn counter_config(directory: &Path, node: &str, terminal: u8, policy: &str) -> PathBuf {
    write_counter_config(directory, node, terminal, policy, None)
}

fn voucher(config: &Path, args: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(binary())
        .arg("voucher")
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("run");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), text)
}

fn issued_codes(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("issued "))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(String::from)
        .collect()
}

#[test]
fn every_answer_at_the_counter() {
    let directory = tempfile::tempdir().unwrap();
    let config = counter_config(directory.path(), "till-1", 1, "allow");
    let (status, out) = voucher(
        &config,
        &[
            "issue", "--offer", "popcorn", "--count", "3", "--staff", "ana",
        ],
    );
    assert_eq!(status, Some(0), "{out}");
    let codes = issued_codes(&out);
    assert_eq!(codes.len(), 3, "{out}");

    let (status, out) = voucher(&config, &["redeem", &codes[0]]);
    assert_eq!((status, out.starts_with("VALID")), (Some(0), true), "{out}");
    let (status, out) = voucher(
        &config,
        &["redeem", &codes[0].to_lowercase().replace('-', " ")],
    );
    assert_eq!(
        (status, out.starts_with("ALREADY REDEEMED")),
        (Some(4), true),
        "{out}"
    );

    let mut typo: Vec<char> = codes[1].chars().collect();
    typo[2] = if typo[2] == 'X' { 'Y' } else { 'X' };
    let (status, out) = voucher(&config, &["redeem", &typo.iter().collect::<String>()]);
    assert_eq!(
        (status, out.starts_with("CHECK THE CODE")),
        (Some(4), true),
        "{out}"
    );
    for junk in ["", "hello", "<script>", &"9".repeat(10_000)] {
        let (status, out) = voucher(&config, &["redeem", junk]);
        assert_eq!(status, Some(4), "{junk:?}: {out}");
        assert!(
            out.starts_with("NOT A VOUCHER") || out.starts_with("CHECK THE CODE"),
            "{out}"
        );
    }

    let (status, out) = voucher(
        &config,
        &[
            "void",
            &codes[1],
            "--reason",
            "printed twice",
            "--manager",
            "maria",
        ],
    );
    assert_eq!(status, Some(0), "{out}");
    let (status, out) = voucher(&config, &["redeem", &codes[1]]);
    assert_eq!(
        (
            status,
            out.contains("VOIDED"),
            out.contains("printed twice")
        ),
        (Some(4), true, true),
        "{out}"
    );

    let (_, out) = voucher(&config, &["export", "--csv"]);
    assert_eq!(out.lines().count(), 4, "header and three vouchers: {out}");
    let (_, out) = voucher(&config, &["conflicts"]);
    assert!(out.contains("no conflicts"), "{out}");
}

#[test]
fn offline_policies_decide_who_may_redeem() {
    let directory = tempfile::tempdir().unwrap();
    let issuing = counter_config(directory.path(), "till-1", 1, "allow");
    let (_, out) = voucher(&issuing, &["issue", "--offer", "popcorn", "--count", "2"]);
    let codes = issued_codes(&out);
    let strict = counter_config(directory.path(), "till-2", 2, "issuing-terminal-only");
    let (status, out) = voucher(&strict, &["redeem", &codes[0], "--offline"]);
    assert_eq!(
        (status, out.starts_with("NOT WHILE OFFLINE")),
        (Some(4), true),
        "{out}"
    );
    let (status, out) = voucher(&strict, &["redeem", &codes[0]]);
    assert_eq!(
        status,
        Some(0),
        "online, any terminal verifies any voucher of the venue: {out}"
    );
    let closed = counter_config(directory.path(), "till-3", 3, "deny");
    let (status, out) = voucher(&closed, &["redeem", &codes[1], "--offline"]);
    assert_eq!(
        (status, out.starts_with("NOT WHILE OFFLINE")),
        (Some(4), true),
        "{out}"
    );
}

fn store(directory: &Path, node: &str, terminal: u8) -> VoucherStore {
    let data = directory.join(node);
    std::fs::create_dir_all(&data).unwrap();
    let venue = Identifier::parse(VENUE).unwrap();
    VoucherStore::open(
        &data,
        &venue,
        &Identifier::parse(node).unwrap(),
        terminal,
        VoucherSecret::new(VENUE, SECRET).unwrap(),
    )
    .unwrap()
}

fn offer() -> raincheck::config::OfferConfig {
    raincheck::config::OfferConfig {
        id: Identifier::parse("popcorn").unwrap(),
        number: 1,
        title: "A free small popcorn".into(),
        terms: String::new(),
        validity_days: 90,
        per_incident_cap: Some(2),
        till_cap: None,
        till_value_cap: None,
        venue_cap: None,
        venue_value_cap: None,
        face_value: None,
    }
}

#[test]
fn two_terminals_sync_and_a_double_redemption_is_reported_not_merged() {
    let directory = tempfile::tempdir().unwrap();
    let (till_1, till_2) = (
        store(directory.path(), "till-1", 1),
        store(directory.path(), "till-2", 2),
    );
    let now = OffsetDateTime::now_utc();
    let offer = offer();
    let issued = till_1
        .issue(IssueRequest {
            offer: &offer,
            incident: None,
            staff: None,
            now,
            past_cap: None,
        })
        .unwrap();
    let code = issued.code.to_string();
    let offline = |terminal| RedeemContext {
        today: voucher_day(now),
        online: false,
        policy: OfflineRedemption::Allow,
        this_terminal: terminal,
    };

    // A partition: both redeem the same voucher, each on its own.
    let (answer_1, event_1) = till_1
        .redeem(&code, Some("ana".into()), offline(1), now)
        .unwrap();
    let (answer_2, event_2) = till_2
        .redeem(&code, Some("ben".into()), offline(2), now)
        .unwrap();
    assert_eq!(
        (answer_1.answer, answer_2.answer),
        (RedeemAnswer::Valid, RedeemAnswer::Valid),
        "offline_redemption = allow"
    );

    // The logs meet, twice over (replays must not count twice).
    let from_1 = till_1
        .events_after(&Identifier::parse("till-1").unwrap(), 0, 1000)
        .unwrap();
    let from_2 = till_2
        .events_after(&Identifier::parse("till-2").unwrap(), 0, 1000)
        .unwrap();
    assert_eq!(from_1.len(), 2);
    assert_eq!(till_2.apply_remote(&from_1).unwrap(), 2);
    assert_eq!(till_1.apply_remote(&from_2).unwrap(), 1);
    assert_eq!(
        till_2.apply_remote(&from_1).unwrap(),
        0,
        "a replay changes nothing"
    );
    for till in [&till_1, &till_2] {
        let (_, record) = till.lookup(&code).unwrap();
        let record = record.expect("both know the voucher");
        assert!(
            record.is_conflict(),
            "both redemptions are kept and reported"
        );
        assert_eq!(record.redemptions.len(), 2);
    }
    assert!(event_1.is_some() && event_2.is_some());
    assert_eq!(till_1.watermarks().unwrap().get("till-2"), Some(&1));

    // Per-incident cap: two per incident on this terminal.
    let incident = Some(Identifier::parse("inc-1").unwrap());
    for _ in 0..2 {
        till_1
            .issue(IssueRequest {
                offer: &offer,
                incident: incident.clone(),
                staff: None,
                now,
                past_cap: None,
            })
            .unwrap();
    }
    let capped = till_1.issue(IssueRequest {
        offer: &offer,
        incident,
        staff: None,
        now,
        past_cap: None,
    });
    assert!(
        matches!(&capped, Err(StoreError::CapReached { reached, .. }) if reached.limit == 2 && reached.used == 2),
        "{capped:?}"
    );
}

#[test]
fn a_store_of_another_venue_or_node_is_refused_and_left_alone() {
    let directory = tempfile::tempdir().unwrap();
    let till = store(directory.path(), "till-1", 1);
    till.issue(IssueRequest {
        offer: &offer(),
        incident: None,
        staff: None,
        now: OffsetDateTime::now_utc(),
        past_cap: None,
    })
    .unwrap();
    drop(till);
    let data = directory.path().join("till-1");
    let other_venue = VoucherStore::open(
        &data,
        &Identifier::parse("odeon").unwrap(),
        &Identifier::parse("till-1").unwrap(),
        1,
        VoucherSecret::new("odeon", SECRET).unwrap(),
    );
    assert!(
        matches!(other_venue, Err(StoreError::Foreign { .. })),
        "{:?}",
        other_venue.err()
    );
    let other_node = VoucherStore::open(
        &data,
        &Identifier::parse(VENUE).unwrap(),
        &Identifier::parse("till-9").unwrap(),
        9,
        VoucherSecret::new(VENUE, SECRET).unwrap(),
    );
    assert!(
        matches!(other_node, Err(StoreError::Foreign { .. })),
        "{:?}",
        other_node.err()
    );
    let reopened = store(directory.path(), "till-1", 1);
    assert_eq!(
        reopened.records().unwrap().len(),
        1,
        "the store still opens with its voucher"
    );
    drop(reopened);

    // A sled database of some other program is refused without being touched.
    let stranger = directory.path().join("stranger");
    let other = sled::open(stranger.join("vouchers.sled")).unwrap();
    other.insert("their-key", "their-value").unwrap();
    other.flush().unwrap();
    drop(other);
    let refused = VoucherStore::open(
        &stranger,
        &Identifier::parse(VENUE).unwrap(),
        &Identifier::parse("till-1").unwrap(),
        1,
        VoucherSecret::new(VENUE, SECRET).unwrap(),
    );
    assert!(
        matches!(refused, Err(StoreError::Foreign { .. })),
        "{:?}",
        refused.err()
    );
    let other = sled_open_waiting(&stranger.join("vouchers.sled"));
    assert_eq!(
        other.tree_names().len(),
        1,
        "no raincheck tree was created in it"
    );
    assert_eq!(
        other.get("their-key").unwrap().as_deref(),
        Some(&b"their-value"[..])
    );
}

#[test]
fn kill_9_while_issuing_loses_nothing_reported_and_never_repeats_a_code() {
    let directory = tempfile::tempdir().unwrap();
    let config = counter_config(directory.path(), "till-1", 1, "allow");
    let mut reported: Vec<String> = Vec::new();
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for round in 0..30 {
        let mut child = KillOnDrop(
            Command::new(binary())
                .args(["voucher", "--config"])
                .arg(&config)
                .args(["issue", "--offer", "popcorn", "--count", "100000"])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("start issuing"),
        );
        let stdout = child.0.stdout.take().expect("stdout");
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .collect::<Vec<_>>()
        });
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_millis(40 + seed % 400);
        let started = Instant::now();
        while started.elapsed() < delay {
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = child.0.kill(); // SIGKILL
        let _ = child.0.wait();
        let lines = reader.join().expect("reader");
        let codes = issued_codes(&lines.join("\n"));
        assert!(
            round == 0 || !codes.is_empty() || lines.is_empty(),
            "round {round}"
        );
        reported.extend(codes);
    }
    assert!(
        reported.len() > 30,
        "the loop issued vouchers ({} reported)",
        reported.len()
    );
    let till = VoucherStore::open(
        &directory.path().join("till-1-data"),
        &Identifier::parse(VENUE).unwrap(),
        &Identifier::parse("till-1").unwrap(),
        1,
        VoucherSecret::new(VENUE, SECRET).unwrap(),
    )
    .expect("the store opens cleanly after 30 hard kills");
    let stored: std::collections::BTreeSet<String> = till
        .records()
        .unwrap()
        .into_iter()
        .map(|r| r.code)
        .collect();
    for code in &reported {
        let compact = code.replace('-', "");
        assert!(
            stored.contains(&compact),
            "reported voucher {code} was lost"
        );
    }
    let unique: std::collections::BTreeSet<&String> = reported.iter().collect();
    assert_eq!(unique.len(), reported.len(), "a code was reported twice");
    let issued_events = till
        .events_after(&Identifier::parse("till-1").unwrap(), 0, usize::MAX)
        .unwrap();
    assert_eq!(
        issued_events.len(),
        stored.len(),
        "one issue event per stored voucher: no code was reused"
    );
}

/// sled releases its file lock a moment after the last handle is dropped; wait (bounded).
fn sled_open_waiting(path: &Path) -> sled::Db {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match sled::open(path) {
            Ok(db) => return db,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(error) => panic!("cannot open {}: {error}", path.display()),
        }
    }
}
