//! The chaos suite's harness: a TCP proxy that cuts a node off the broker and lets it
//! back, counter terminals driven through their local API, screens with a metrics
//! endpoint (the only window into what a separate process shows while its broker is
//! gone), a ledger of every voucher answer the tests received, and the end-of-scenario
//! checks: every counter's store holds the same events and records, every answered code
//! exactly once, every answered redemption exactly once, and only the conflicts that
//! were made on purpose.

use super::*;
use raincheck::protocol::Identifier;
use raincheck::voucher::events::{VoucherEvent, VoucherRecord};
use raincheck::voucher::sync::VoucherMarks;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The seed of a randomised scenario: `RAINCHECK_CHAOS_SEED` to replay one, else fresh.
pub fn chaos_seed(test: &'static str) -> SeedReminder {
    let seed = match std::env::var("RAINCHECK_CHAOS_SEED") {
        Ok(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("RAINCHECK_CHAOS_SEED={text:?} is not a whole number")),
        Err(_) => rand::random(),
    };
    eprintln!("{test}: chaos seed {seed} (replay with RAINCHECK_CHAOS_SEED={seed})");
    SeedReminder { seed, test }
}

/// Prints the seed again when the test fails, next to the failure, so it can be replayed.
pub struct SeedReminder {
    pub seed: u64,
    test: &'static str,
}

impl Drop for SeedReminder {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "{} FAILED with chaos seed {}; replay: RAINCHECK_CHAOS_SEED={} cargo test --test chaos {}",
                self.test, self.seed, self.seed, self.test
            );
        }
    }
}

/// A loopback TCP proxy in front of the broker. `cut` drops every connection through it
/// and refuses new ones (accepted and closed at once, as a dead link looks to a client
/// that keeps retrying); `heal` lets connections through again.
pub struct TcpProxy {
    pub port: u16,
    open: Arc<watch::Sender<bool>>,
    accept: tokio::task::JoinHandle<()>,
}

impl TcpProxy {
    pub async fn start(upstream: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the proxy listens on loopback");
        let port = listener.local_addr().expect("proxy address").port();
        let open = Arc::new(watch::channel(true).0);
        let gate = open.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    continue;
                };
                // Subscribed before looking, so a cut between the two is still seen.
                let mut cut = gate.subscribe();
                if !*cut.borrow_and_update() {
                    drop(client);
                    continue;
                }
                tokio::spawn(async move {
                    let Ok(mut broker) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut broker) => {}
                        _ = cut.wait_for(|open| !*open) => {}
                    }
                    // Both sockets drop here: the client and the broker each see the link die.
                });
            }
        });
        Self { port, open, accept }
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    pub fn cut(&self) {
        self.open.send_replace(false);
    }

    pub fn heal(&self) {
        self.open.send_replace(true);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

fn free_port() -> u16 {
    raincheck::mosquitto::free_port().expect("a free loopback port")
}

/// Whether a child process is still running (a zombie counts as dead).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        let state = stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.chars().next());
        !matches!(state, Some('Z' | 'X') | None)
    })
}

/// A signage screen process with a Prometheus endpoint.
pub struct Screen {
    pub node: NodeProcess,
    pub metrics: String,
}

pub fn start_screen(directory: &Path, name: &str, url: &str) -> Screen {
    let metrics = format!("127.0.0.1:{}", free_port());
    let config = write_config(
        directory,
        name,
        &format!(
            "[broker]\nurl = \"{url}\"\nkeep_alive_secs = 2\nwatchdog_secs = 6\nreconnect_min_ms = 50\nreconnect_max_ms = 500\n\
             [display]\nbackend = \"headless\"\n[metrics]\nlisten = \"{metrics}\"\n"
        ),
    );
    Screen {
        node: NodeProcess::start_with(name, config),
        metrics,
    }
}

pub fn start_screens(directory: &Path, names: &[&str], url: &str) -> Vec<Screen> {
    names
        .iter()
        .map(|name| start_screen(directory, name, url))
        .collect()
}

pub fn http_client() -> reqwest::Client {
    // No pooled connections: a connection kept to a process that was killed would fail
    // the next call without it ever reaching the restarted process.
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(20))
        .build()
        .expect("http client")
}

pub async fn metrics_text(http: &reqwest::Client, address: &str) -> Option<String> {
    let response = http
        .get(format!("http://{address}/metrics"))
        .send()
        .await
        .ok()?;
    response.text().await.ok()
}

/// The value of one series (`name` or `name{labels}`) in a Prometheus text page.
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

/// Refused bus messages by reason, from a Prometheus text page.
pub fn refusals(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("raincheck_bus_messages_refused_total{reason=\"")?;
            let (reason, value) = rest.split_once("\"} ")?;
            Some((reason.to_owned(), value.trim().parse::<f64>().ok()? as u64))
        })
        .collect()
}

/// Polls a node's metrics (bounded) until `condition` holds. Nothing outside the process
/// signals a change of its metrics, and the node may not be listening yet.
pub async fn wait_metrics(
    http: &reqwest::Client,
    address: &str,
    within: Duration,
    what: &str,
    condition: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + within;
    let mut last = String::new();
    loop {
        if let Some(text) = metrics_text(http, address).await {
            if condition(&text) {
                return text;
            }
            last = text;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {within:?} waiting for {what} at {address}; last metrics:\n{last}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Why a counter API call did not give the answer asked for.
#[derive(Debug)]
pub enum CallError {
    /// Nothing listening (the process is down or restarting): the call was never made.
    NotListening(String),
    /// The call was made but no answer came: the process died while serving it.
    NoAnswer(String),
    /// An HTTP answer with an error status.
    Refused(u16, Value),
}

fn call_error(error: reqwest::Error) -> CallError {
    if error.is_connect() {
        CallError::NotListening(error.to_string())
    } else {
        CallError::NoAnswer(error.to_string())
    }
}

/// The counter's local API (`counter.api_listen`).
#[derive(Clone)]
pub struct CounterApi {
    pub base: String,
    http: reqwest::Client,
}

impl CounterApi {
    async fn post(&self, path: &str, body: Value) -> Result<(u16, Value), CallError> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .map_err(call_error)?;
        let status = response.status().as_u16();
        let body = response
            .json()
            .await
            .map_err(|error| CallError::NoAnswer(error.to_string()))?;
        Ok((status, body))
    }

    /// Issues a popcorn voucher; the compact code once the counter says it is durable.
    pub async fn issue(&self) -> Result<String, CallError> {
        match self
            .post(
                "/v1/vouchers",
                json!({ "offer": "popcorn", "staff": "chaos" }),
            )
            .await?
        {
            (201, body) => Ok(body["code"]
                .as_str()
                .unwrap_or_else(|| panic!("201 without a code: {body}"))
                .replace('-', "")),
            (status, body) => Err(CallError::Refused(status, body)),
        }
    }

    /// The counter's answer to a redemption ("VALID", "ALREADY REDEEMED", …).
    pub async fn redeem(&self, code: &str) -> Result<String, CallError> {
        match self
            .post("/v1/redemptions", json!({ "code": code, "staff": "chaos" }))
            .await?
        {
            (200, body) => Ok(body["answer"]
                .as_str()
                .unwrap_or_else(|| panic!("200 without an answer: {body}"))
                .to_owned()),
            (status, body) => Err(CallError::Refused(status, body)),
        }
    }

    /// What the counter holds about `code` (`None`: valid, but no record here yet).
    pub async fn record(&self, code: &str) -> Result<Option<VoucherRecord>, CallError> {
        let response = self
            .http
            .get(format!("{}/v1/vouchers/{code}", self.base))
            .send()
            .await
            .map_err(call_error)?;
        match response.status().as_u16() {
            404 => Ok(None),
            200 => response
                .json()
                .await
                .map(Some)
                .map_err(|error| CallError::NoAnswer(error.to_string())),
            status => Err(CallError::Refused(
                status,
                response.json().await.unwrap_or(Value::Null),
            )),
        }
    }

    /// Waits (bounded) until the API answers at all; a fresh process needs a moment.
    pub async fn wait_listening(&self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            match self.record("0000000000000000").await {
                Err(CallError::NotListening(error) | CallError::NoAnswer(error)) => assert!(
                    Instant::now() < deadline,
                    "the counter API at {} did not answer within {within:?}: {error}",
                    self.base
                ),
                _ => return,
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A counter terminal process (role counter, offline redemption allowed, the local API on).
pub struct Counter {
    pub name: String,
    pub config: PathBuf,
    pub api: CounterApi,
    node: NodeProcess,
}

/// Writes a counter's config: the shared venue secret, `broker`, and an API port.
pub fn counter_config(directory: &Path, name: &str, terminal: u8, broker: &str) -> (PathBuf, u16) {
    let path = write_counter_config(directory, name, terminal, "allow", Some(broker));
    let port = free_port();
    let mut text = std::fs::read_to_string(&path).expect("read the counter config");
    let offers = text
        .find("[[counter.offers]]")
        .expect("offers in the counter config");
    text.insert_str(offers, &format!("api_listen = \"127.0.0.1:{port}\"\n"));
    text.push_str("[display]\nbackend = \"headless\"\n");
    std::fs::write(&path, text).expect("write the counter config");
    (path, port)
}

impl Counter {
    pub fn start(directory: &Path, name: &str, terminal: u8, broker: &str) -> Self {
        Self::start_with_env(directory, name, terminal, broker, &[])
    }

    /// A counter whose process runs with extra environment (libfaketime's clock offset).
    pub fn start_with_env(
        directory: &Path,
        name: &str,
        terminal: u8,
        broker: &str,
        env: &[(&str, String)],
    ) -> Self {
        let (config, port) = counter_config(directory, name, terminal, broker);
        Self {
            name: name.to_owned(),
            node: NodeProcess::start_with_env(name, config.clone(), env),
            config,
            api: CounterApi {
                base: format!("http://127.0.0.1:{port}"),
                http: http_client(),
            },
        }
    }

    pub fn pid(&self) -> u32 {
        self.node.pid()
    }

    /// SIGKILL: no goodbye, the broker's last wills speak for the counter.
    pub fn kill_hard(&mut self) {
        self.node.kill_hard();
    }

    /// A fresh process on the same config, store and environment (killing the old one if
    /// running).
    pub fn restart(&mut self) {
        self.node.restart();
    }

    /// SIGTERM and wait (bounded): the store's lock is free afterwards.
    pub fn stop(&mut self) {
        assert!(
            self.node.terminate(),
            "counter {} did not stop cleanly",
            self.name
        );
    }
}

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

/// Options for a bare MQTT client on the local broker at `port`, under a client id of its
/// own (`prefix`, the process, a random tag), so that no other client, in this test or a
/// parallel one, is disconnected by the broker for reusing it.
fn bare_client_options(prefix: &str, port: u16) -> rumqttc::MqttOptions {
    let client_id = format!(
        "{prefix}-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    );
    let mut options = rumqttc::MqttOptions::new(client_id, "127.0.0.1", port);
    options.set_max_packet_size(1 << 20, 1 << 20);
    options
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

/// `declare` off the async threads: the CLI is a child process we wait for.
pub async fn declare_async(url: &str, action: &str, extra: &[&str]) -> (String, u64) {
    let url = url.to_owned();
    let action = action.to_owned();
    let extra: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        declare(&url, &action, &extra)
    })
    .await
    .expect("the declare task")
}

/// libfaketime's preload library, if installed (Debian package `libfaketime`). Missing,
/// the faked-clock parts are skipped with a message unless RAINCHECK_REQUIRE_FAKETIME=1.
pub fn libfaketime() -> Option<PathBuf> {
    let found = [
        "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
        "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
        "/usr/lib/faketime/libfaketime.so.1",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|path| path.is_file());
    if found.is_none() {
        if std::env::var("RAINCHECK_REQUIRE_FAKETIME").as_deref() == Ok("1") {
            panic!("RAINCHECK_REQUIRE_FAKETIME=1 but libfaketime is not installed");
        }
        eprintln!("SKIPPED the faked-clock processes: libfaketime is not installed (apt-get install libfaketime)");
    }
    found
}

/// The environment that shifts a process's wall clock by `offset` ("+10m", "-10m") and
/// leaves its monotonic clock (timers, keep-alives) alone.
pub fn faked_clock(library: &Path, offset: &str) -> Vec<(&'static str, String)> {
    vec![
        ("LD_PRELOAD", library.display().to_string()),
        ("FAKETIME", offset.to_owned()),
        ("FAKETIME_DONT_FAKE_MONOTONIC", "1".to_owned()),
    ]
}

/// Like [`wait_for`], keeping every display report the observer applies on the way, so a
/// test can show that no node ever showed something it should not have.
pub async fn wait_recording(
    session: &mut BusSession,
    within: Duration,
    what: &str,
    reports: &mut Vec<raincheck::protocol::DisplayReport>,
    condition: impl Fn(&VenueState) -> bool,
) {
    let deadline = Instant::now() + within;
    while !condition(&session.state) {
        if session.next_change(deadline).await.is_none() {
            panic!(
                "timed out after {within:?} waiting for: {what}\nview: {:?}\nnodes: {}",
                session.view(),
                session.confirmations().headline()
            );
        }
        record_display(session, reports);
    }
}

/// Keeps the message the observer applied last if it is a display report.
pub fn record_display(session: &BusSession, reports: &mut Vec<raincheck::protocol::DisplayReport>) {
    if let Some(raincheck::protocol::BusMessage::Display(report)) = &session.last_applied {
        reports.push(report.clone());
    }
}

/// A bare MQTT client for floods that knows when the broker has taken every message:
/// it counts the broker's PUBACKs, and a lost connection fails the test instead of
/// silently dropping what was still queued.
pub struct Flooder {
    client: rumqttc::AsyncClient,
    acked: watch::Receiver<usize>,
    task: tokio::task::JoinHandle<String>,
    sent: usize,
}

impl Flooder {
    pub fn connect(port: u16) -> Self {
        let options = bare_client_options("chaos-flood", port);
        let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 1000);
        let (count, acked) = watch::channel(0usize);
        let task = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_))) => {
                        count.send_modify(|n| *n += 1);
                    }
                    Ok(rumqttc::Event::Outgoing(rumqttc::Outgoing::Disconnect)) => {
                        return "disconnected".to_owned()
                    }
                    Ok(_) => {}
                    Err(error) => return error.to_string(),
                }
            }
        });
        Self {
            client,
            acked,
            task,
            sent: 0,
        }
    }

    /// Queues one QoS 1 publish.
    pub async fn publish(&mut self, topic: &str, payload: Vec<u8>, retain: bool) {
        tokio::time::timeout(
            Duration::from_secs(20),
            self.client
                .publish(topic, rumqttc::QoS::AtLeastOnce, retain, payload),
        )
        .await
        .expect("the flood is queued in time")
        .expect("flood publish");
        self.sent += 1;
    }

    /// Waits (bounded) until the broker has acknowledged every message published so far.
    pub async fn wait_acknowledged(&mut self, within: Duration) {
        let sent = self.sent;
        // The channel closes when the client's task ends, which ends the wait too.
        let done = matches!(
            tokio::time::timeout(within, self.acked.wait_for(|n| *n >= sent)).await,
            Ok(Ok(_))
        );
        if !done && self.task.is_finished() {
            let task = &mut self.task;
            let why = task.await.unwrap_or_else(|error| error.to_string());
            panic!(
                "the flooder lost the broker after {} of {sent} acknowledgements: {why}",
                *self.acked.borrow()
            );
        }
        assert!(
            done,
            "the broker acknowledged {} of {sent} flood messages within {within:?}",
            *self.acked.borrow()
        );
    }
}

impl Drop for Flooder {
    fn drop(&mut self) {
        self.task.abort();
    }
}
