//! `raincheck bench vouchers`: the voucher store on real sled in a temp directory —
//! durable issue latency (transaction + flush, as the counter does), verify + look-up
//! latency with N vouchers stored, catch-up of 100,000 events from another terminal
//! (the apply path of sync, in batches of 500 with one flush each), and bytes on disk
//! per voucher.

use super::stats::percentiles;
use crate::config::OfferConfig;
use crate::protocol::Identifier;
use crate::voucher::events::{VoucherChange, VoucherEvent, EVENT_VERSION};
use crate::voucher::store::{voucher_day, IssueRequest, VoucherStore};
use crate::voucher::{VoucherCode, VoucherFields, VoucherSecret};
use anyhow::{Context, Result};
use rand::Rng;
use std::process::ExitCode;
use std::time::Instant;
use time::OffsetDateTime;

const SECRET: &[u8] = b"benchmark-secret-of-32-bytes-ok!";
const BATCH: usize = 500;

pub fn run(stored: usize, issues: usize) -> Result<ExitCode> {
    let directory = tempfile::tempdir()?;
    let venue = Identifier::parse("bench")?;
    let secret = VoucherSecret::new("bench", SECRET).map_err(anyhow::Error::msg)?;
    let store = VoucherStore::open(
        directory.path(),
        &venue,
        &Identifier::parse("till-1")?,
        1,
        secret.clone(),
    )?;
    let offer = OfferConfig {
        id: Identifier::parse("popcorn")?,
        number: 1,
        title: "A free small popcorn".into(),
        terms: String::new(),
        validity_days: 90,
        per_incident_cap: None,
    };

    let mut issue_times = Vec::with_capacity(issues);
    for _ in 0..issues {
        let started = Instant::now();
        store.issue(IssueRequest {
            offer: &offer,
            incident: None,
            staff: None,
            now: OffsetDateTime::now_utc(),
        })?;
        issue_times.push(started.elapsed());
    }
    println!(
        "durable issue (transaction + flush): {}",
        percentiles(&issue_times).context("no issues")?
    );

    let now = OffsetDateTime::now_utc();
    let expiry_day = voucher_day(now) + 90;
    let origin = Identifier::parse("till-2")?;
    let event = |serial: usize| -> Result<VoucherEvent> {
        let fields = VoucherFields {
            offer: 1,
            terminal: 2,
            serial: serial as u32,
            expiry_day,
        };
        let code = VoucherCode::issue(fields, &secret).map_err(anyhow::Error::msg)?;
        Ok(VoucherEvent {
            v: EVENT_VERSION,
            origin: origin.clone(),
            seq: serial as u64,
            at: now,
            staff: None,
            change: VoucherChange::Issued {
                code: code.compact(),
                offer_id: offer.id.clone(),
                incident_id: None,
            },
        })
    };

    let catch_up = 100_000.min(stored.max(1));
    let started = Instant::now();
    for first in (1..=catch_up).step_by(BATCH) {
        let batch: Vec<VoucherEvent> = (first..(first + BATCH).min(catch_up + 1))
            .map(event)
            .collect::<Result<_>>()?;
        store.apply_remote(&batch)?;
    }
    println!(
        "catch-up of {catch_up} events from another terminal: {:.2} s",
        started.elapsed().as_secs_f64()
    );

    for first in ((catch_up + 1)..=stored).step_by(10_000) {
        let batch: Vec<VoucherEvent> = (first..(first + 10_000).min(stored + 1))
            .map(event)
            .collect::<Result<_>>()?;
        store.apply_remote(&batch)?;
    }
    let total = store.records()?.len();
    let mut rng = rand::thread_rng();
    let mut lookups = Vec::with_capacity(10_000);
    for _ in 0..10_000 {
        let serial = rng.gen_range(1..=stored);
        let code = event(serial)?.change.code().to_owned();
        let started = Instant::now();
        let (parsed, record) = store.lookup(&code)?;
        lookups.push(started.elapsed());
        anyhow::ensure!(parsed.is_ok() && record.is_some(), "code {code} not found");
    }
    println!(
        "verify + look-up with {total} vouchers stored: {}",
        percentiles(&lookups).context("no lookups")?
    );
    let bytes = store.size_on_disk()?;
    println!(
        "on disk: {:.1} MB for {total} vouchers ({} bytes per voucher, events included)",
        bytes as f64 / 1e6,
        bytes / total.max(1) as u64
    );
    Ok(ExitCode::SUCCESS)
}
