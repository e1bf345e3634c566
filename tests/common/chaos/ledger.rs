//! Every voucher answer the tests received, and the end-of-scenario checks that hold
//! the counters' stores against it.

use super::*;

/// Every voucher answer the test received, to hold the stores against at the end.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Code (compact) → the counter that answered 201 with it.
    pub issued: BTreeMap<String, String>,
    /// Code → every counter that answered VALID for it.
    pub redeemed: BTreeMap<String, Vec<String>>,
    /// Codes whose redemption got no answer (the counter died mid-call): 0 or 1 more.
    pub maybe_redeemed: BTreeSet<String>,
    /// Issue calls that got no answer: each may have left one voucher nobody was told of.
    pub unanswered_issues: usize,
}

impl Ledger {
    /// Codes answered VALID more than once: the conflicts made on purpose.
    pub fn conflicts(&self) -> BTreeSet<String> {
        self.redeemed
            .iter()
            .filter(|(_, by)| by.len() > 1)
            .map(|(code, _)| code.clone())
            .collect()
    }

    /// Events `counter` has certainly written: its answered issues and valid redemptions.
    pub fn answered_events(&self, counter: &str) -> u64 {
        let issued = self.issued.values().filter(|by| *by == counter).count();
        let redeemed = self
            .redeemed
            .values()
            .flatten()
            .filter(|by| *by == counter)
            .count();
        (issued + redeemed) as u64
    }

    /// Issues at `counter`, which must answer; returns the code.
    pub async fn issue(&mut self, counter: &Counter) -> String {
        let started = Instant::now();
        let code = counter
            .api
            .issue()
            .await
            .unwrap_or_else(|error| panic!("{} did not issue: {error:?}", counter.name));
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{} took {:?} to issue; a cashier must not wait",
            counter.name,
            started.elapsed()
        );
        self.record_issue(&counter.name, code.clone());
        code
    }

    pub fn record_issue(&mut self, counter: &str, code: String) {
        let previous = self.issued.insert(code.clone(), counter.to_owned());
        assert!(
            previous.is_none(),
            "code {code} answered twice: by {previous:?} and {counter}"
        );
    }

    /// Redeems at `counter`, which must answer VALID.
    pub async fn redeem(&mut self, counter: &Counter, code: &str) {
        let started = Instant::now();
        let answer =
            counter.api.redeem(code).await.unwrap_or_else(|error| {
                panic!("{} did not redeem {code}: {error:?}", counter.name)
            });
        assert_eq!(
            answer, "VALID",
            "{} answered {answer} for {code}",
            counter.name
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{} took {:?} to redeem",
            counter.name,
            started.elapsed()
        );
        self.record_redemption(&counter.name, code);
    }

    pub fn record_redemption(&mut self, counter: &str, code: &str) {
        self.redeemed
            .entry(code.to_owned())
            .or_default()
            .push(counter.to_owned());
    }
}

/// Waits (bounded) until every named counter is online on the voucher sync and all hold
/// the same events: their retained watermarks are equal, and each one's mark for its own
/// events covers every event it answered (so stale marks cannot pass for new ones).
pub async fn wait_for_voucher_sync(
    port: u16,
    counters: &[&str],
    ledger: &Ledger,
    within: Duration,
) {
    let options = bare_client_options("chaos-marks", port);
    let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 10);
    client
        .subscribe(
            format!("raincheck/v1/{VENUE}/voucher-marks/+"),
            rumqttc::QoS::AtLeastOnce,
        )
        .await
        .expect("subscribe to the voucher marks");
    let mut latest: BTreeMap<String, VoucherMarks> = BTreeMap::new();
    let deadline = Instant::now() + within;
    let synced = |latest: &BTreeMap<String, VoucherMarks>| {
        let marks: Vec<&VoucherMarks> = counters.iter().filter_map(|c| latest.get(*c)).collect();
        marks.len() == counters.len()
            && marks.iter().all(|m| m.online)
            && marks.windows(2).all(|pair| pair[0].marks == pair[1].marks)
            && counters.iter().all(|c| {
                latest[*c].marks.get(*c).copied().unwrap_or(0) >= ledger.answered_events(c)
            })
    };
    loop {
        if synced(&latest) {
            let _ = client.disconnect().await;
            return;
        }
        match tokio::time::timeout_at(deadline, eventloop.poll()).await {
            Err(_) => panic!(
                "timed out after {within:?} waiting for the counters {counters:?} to hold the same vouchers; \
                 answered events per counter {:?}; latest marks: {latest:#?}",
                counters
                    .iter()
                    .map(|c| (*c, ledger.answered_events(c)))
                    .collect::<Vec<_>>()
            ),
            Ok(Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(publish)))) => {
                if let Ok(marks) = serde_json::from_slice::<VoucherMarks>(&publish.payload) {
                    if let Some((_, node)) = publish.topic.rsplit_once('/') {
                        latest.insert(node.to_owned(), marks);
                    }
                }
            }
            Ok(Ok(_)) => {}
            Ok(Err(error)) => panic!("the marks reader lost the broker: {error}"),
        }
    }
}

/// Everything a stopped counter's store holds.
#[derive(Debug)]
pub struct StoreSnapshot {
    pub node: String,
    pub records: Vec<VoucherRecord>,
    pub watermarks: BTreeMap<String, u64>,
    /// Per origin, every event in sequence order.
    pub events: BTreeMap<String, Vec<VoucherEvent>>,
}

/// Opens a stopped counter's store directly (a running node holds sled's lock).
pub fn read_store(counter: &Counter) -> StoreSnapshot {
    let config =
        raincheck::config::load(&counter.config).unwrap_or_else(|report| panic!("{report}"));
    let base = counter.config.parent().expect("config directory");
    let store = raincheck::voucher::open::open_store(&config, base)
        .unwrap_or_else(|error| panic!("open {}'s store: {error:#}", counter.name));
    let watermarks = store.watermarks().expect("watermarks");
    let events = watermarks
        .keys()
        .map(|origin| {
            let id = Identifier::parse(origin).expect("origin id");
            let events = store.events_after(&id, 0, usize::MAX).expect("events");
            (origin.clone(), events)
        })
        .collect();
    StoreSnapshot {
        node: counter.name.clone(),
        records: store.records().expect("records"),
        watermarks,
        events,
    }
}

/// Stops every counter (SIGTERM) and reads its store.
pub fn stop_and_read(counters: &mut [Counter]) -> Vec<StoreSnapshot> {
    counters
        .iter_mut()
        .map(|counter| {
            counter.stop();
            read_store(counter)
        })
        .collect()
}

/// How strictly the stores are held to the ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answers {
    /// Every call was answered: the stores hold exactly what the ledger says.
    AllAnswered,
    /// Some calls died with the process: they may have left a voucher or a redemption
    /// nobody was told of, but nothing that was answered may be missing or doubled.
    SomeUnanswered,
}

/// The end-of-scenario check: no voucher lost, none duplicated, every store alike.
pub fn verify_vouchers(ledger: &Ledger, stores: &[StoreSnapshot], answers: Answers) {
    let first = stores.first().expect("at least one store");
    for other in &stores[1..] {
        assert_eq!(
            other.watermarks, first.watermarks,
            "{} and {} hold different watermarks",
            first.node, other.node
        );
        if other.records != first.records {
            let ours: BTreeMap<&str, &VoucherRecord> =
                first.records.iter().map(|r| (r.code.as_str(), r)).collect();
            let theirs: BTreeMap<&str, &VoucherRecord> =
                other.records.iter().map(|r| (r.code.as_str(), r)).collect();
            let differing: Vec<_> = ours
                .keys()
                .chain(theirs.keys())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .filter(|code| ours.get(*code) != theirs.get(*code))
                .take(5)
                .map(|code| (code, ours.get(code), theirs.get(code)))
                .collect();
            panic!(
                "{} and {} hold different vouchers ({} vs {} records); first differences: {differing:#?}",
                first.node,
                other.node,
                first.records.len(),
                other.records.len()
            );
        }
        assert!(
            other.events == first.events,
            "{} and {} hold different events",
            first.node,
            other.node
        );
    }
    for store in stores {
        let node = &store.node;
        for (origin, events) in &store.events {
            let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
            let expected: Vec<u64> = (1..=seqs.len() as u64).collect();
            assert_eq!(
                seqs, expected,
                "{node}: {origin}'s events are not 1, 2, 3… without gap or repeat"
            );
            assert_eq!(
                store.watermarks[origin],
                seqs.len() as u64,
                "{node}: watermark of {origin}"
            );
        }
        let records: BTreeMap<&str, &VoucherRecord> =
            store.records.iter().map(|r| (r.code.as_str(), r)).collect();
        assert_eq!(
            records.len(),
            store.records.len(),
            "{node}: a code is stored twice"
        );
        for (code, issuer) in &ledger.issued {
            let record = records
                .get(code.as_str())
                .unwrap_or_else(|| panic!("{node} lost voucher {code} issued by {issuer}"));
            let origin = record.issued.as_ref().map(|m| m.origin.as_str());
            assert_eq!(
                origin,
                Some(issuer.as_str()),
                "{node}: issue of {code}: {record:?}"
            );
            assert!(
                record.duplicate_issues.is_empty(),
                "{node}: {code} was issued twice: {record:?}"
            );
        }
        for record in &store.records {
            let answered = ledger
                .redeemed
                .get(&record.code)
                .cloned()
                .unwrap_or_default();
            let mut by: Vec<String> = record
                .redemptions
                .iter()
                .map(|m| m.origin.to_string())
                .collect();
            by.sort();
            let mut expected = answered.clone();
            expected.sort();
            let may_have_one_more = ledger.maybe_redeemed.contains(&record.code)
                && by.len() == expected.len() + 1
                && expected.iter().all(|c| by.contains(c));
            assert!(
                by == expected || may_have_one_more,
                "{node}: {} holds redemptions by {by:?}, but VALID was answered by {expected:?}",
                record.code
            );
            if !ledger.issued.contains_key(&record.code) {
                assert_eq!(
                    answers,
                    Answers::SomeUnanswered,
                    "{node} holds {} that no call was answered with: {record:?}",
                    record.code
                );
                assert!(
                    record.issued.is_some()
                        && record.redemptions.is_empty()
                        && record.duplicate_issues.is_empty(),
                    "{node}: an unanswered issue left more than one quiet voucher: {record:?}"
                );
            }
        }
        let unanswered = store
            .records
            .iter()
            .filter(|r| !ledger.issued.contains_key(&r.code))
            .count();
        assert!(
            unanswered <= ledger.unanswered_issues,
            "{node} holds {unanswered} vouchers nobody was told of, but only {} issue calls went unanswered",
            ledger.unanswered_issues
        );
        let conflicts: BTreeSet<String> = store
            .records
            .iter()
            .filter(|r| r.is_conflict())
            .map(|r| r.code.clone())
            .collect();
        assert_eq!(
            conflicts,
            ledger.conflicts(),
            "{node}: conflicts reported vs made on purpose"
        );
    }
}
