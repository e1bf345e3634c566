//! The chaos suite's harness: a TCP proxy that cuts a node off the broker and lets it
//! back (`proxy`), screen and counter processes (`process`), their HTTP endpoints — the
//! counters' local API and every node's metrics (`http`) —, a ledger of every voucher
//! answer the tests received with the end-of-scenario checks (`ledger`: every counter's
//! store holds the same events and records, every answered code exactly once, every
//! answered redemption exactly once, and only the conflicts made on purpose), faked
//! clocks (`clock`) and an acknowledging flooder (`flood`). This file keeps the seed of a
//! randomised scenario and the small waits the scenarios share.

mod clock;
mod flood;
mod http;
mod ledger;
mod process;
mod proxy;

// Each test binary uses only part of the harness.
#[allow(unused_imports)]
pub use {clock::*, flood::*, http::*, ledger::*, process::*, proxy::*};

use super::*;
use raincheck::protocol::Identifier;
use raincheck::protocol::VoucherMarks;
use raincheck::voucher::events::{VoucherEvent, VoucherRecord};
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

/// Whether a child process is still running (a zombie counts as dead).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        let state = stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.chars().next());
        !matches!(state, Some('Z' | 'X') | None)
    })
}

/// Options for a bare MQTT client on the local broker at `port`, under a client id of its
/// own (`prefix`, the process, a random tag), so that no other client, in this test or a
/// parallel one, is disconnected by the broker for reusing it.
pub(super) fn bare_client_options(prefix: &str, port: u16) -> rumqttc::MqttOptions {
    let client_id = format!(
        "{prefix}-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    );
    let mut options = rumqttc::MqttOptions::new(client_id, "127.0.0.1", port);
    options.set_max_packet_size(1 << 20, 1 << 20);
    options
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

/// Like [`wait_for`], keeping every display report the observer applies on the way, so a
/// test can show that no node ever showed something it should not have.
pub async fn wait_recording(
    session: &mut BusSession,
    within: Duration,
    what: &str,
    reports: &mut Vec<raincheck::protocol::DisplayReport>,
    condition: impl Fn(&VenueState) -> bool,
) {
    wait_watching(session, within, what, condition, |session| {
        record_display(session, reports)
    })
    .await
}

/// Keeps the message the observer applied last if it is a display report.
pub fn record_display(session: &BusSession, reports: &mut Vec<raincheck::protocol::DisplayReport>) {
    if let Some(raincheck::protocol::BusMessage::Display(report)) = &session.last_applied {
        reports.push(report.clone());
    }
}

/// A free loopback port for a proxy or a node's endpoint.
fn free_port() -> u16 {
    raincheck::mosquitto::free_port().expect("a free loopback port")
}
