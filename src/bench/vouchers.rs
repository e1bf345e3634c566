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

/// The issue event a terminal would have recorded for its voucher `serial` (offer 1).
fn synthetic_issue(
    secret: &VoucherSecret,
    origin: &Identifier,
    terminal: u8,
    serial: usize,
    expiry_day: u16,
    now: OffsetDateTime,
) -> Result<VoucherEvent> {
    let fields = VoucherFields {
        offer: 1,
        terminal,
        serial: serial as u32,
        expiry_day,
    };
    let code = VoucherCode::issue(fields, secret).map_err(anyhow::Error::msg)?;
    Ok(VoucherEvent {
        v: EVENT_VERSION,
        origin: origin.clone(),
        seq: serial as u64,
        at: now,
        staff: None,
        till: None,
        change: VoucherChange::Issued {
            code: code.compact(),
            offer_id: Identifier::parse("popcorn")?,
            incident_id: None,
            past_cap: None,
        },
    })
}
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
        till_cap: None,
        till_value_cap: None,
        venue_cap: None,
        venue_value_cap: None,
        face_value: None,
    };

    let mut issue_times = Vec::with_capacity(issues);
    for _ in 0..issues {
        let started = Instant::now();
        store.issue(IssueRequest {
            offer: &offer,
            incident: None,
            staff: None,
            now: OffsetDateTime::now_utc(),
            past_cap: None,
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
    let event = |serial: usize| synthetic_issue(&secret, &origin, 2, serial, expiry_day, now);

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

/// `raincheck bench catch-up`: a brand-new counter joins a venue whose other counter holds
/// `events` voucher events; measured from the new node's start until it holds the last
/// one — over a private Mosquitto, through the real voucher workers and the watermark
/// replay.
pub fn run_catch_up(events: usize) -> Result<ExitCode> {
    use crate::mosquitto::MosquittoProcess;
    use std::os::unix::fs::PermissionsExt;
    let broker = MosquittoProcess::start("").context("start a private mosquitto")?;
    let directory = tempfile::tempdir()?;
    let secret_path = directory.path().join("voucher-secret");
    std::fs::write(&secret_path, SECRET)?;
    std::fs::set_permissions(&secret_path, std::fs::Permissions::from_mode(0o600))?;
    let secret = VoucherSecret::new("bench", SECRET).map_err(anyhow::Error::msg)?;
    let venue = Identifier::parse("bench")?;
    let origin = Identifier::parse("till-1")?;
    let now = OffsetDateTime::now_utc();
    let expiry_day = voucher_day(now) + 90;
    let mut last_code = String::new();
    {
        let data = directory.path().join("till-1-data");
        std::fs::create_dir_all(&data)?;
        let store = VoucherStore::open(&data, &venue, &origin, 1, secret.clone())?;
        for first in (1..=events).step_by(10_000) {
            let mut batch = Vec::with_capacity(10_000);
            for serial in first..(first + 10_000).min(events + 1) {
                let event = synthetic_issue(&secret, &origin, 1, serial, expiry_day, now)?;
                last_code = event.change.code().to_owned();
                batch.push(event);
            }
            store.apply_remote(&batch)?;
        }
    }
    let config = |node: &str, terminal: u8| -> Result<crate::config::NodeConfig> {
        let data = directory.path().join(format!("{node}-data"));
        std::fs::create_dir_all(&data)?;
        let text = format!(
            "[node]\nvenue = \"bench\"\nid = \"{node}\"\nroles = [\"counter\"]\ndata_dir = \"{}\"\n[broker]\nurl = \"{}\"\n\
             [counter]\nterminal = {terminal}\nsecret_file = \"{}\"\n[[counter.offers]]\nid = \"popcorn\"\nnumber = 1\ntitle = \"Popcorn\"\nvalidity_days = 90\n",
            data.display(),
            broker.url(),
            secret_path.display()
        );
        crate::config::load_str(&text, &directory.path().join(format!("{node}.toml")))
            .map_err(|report| anyhow::anyhow!("{report}"))
    };
    let (holder_config, newcomer_config) = (config("till-1", 1)?, config("till-2", 2)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let elapsed = runtime.block_on(async {
        let (trigger, shutdown) = crate::shutdown::shutdown_pair();
        let holder = crate::app::start_node(&holder_config, directory.path(), shutdown.clone())?;
        tokio::time::sleep(std::time::Duration::from_millis(500)).await; // let the holder connect first
        let started = Instant::now();
        let newcomer = crate::app::start_node(&newcomer_config, directory.path(), shutdown)?;
        let counter = newcomer
            .counter
            .clone()
            .context("the newcomer has a voucher worker")?;
        let deadline = started + std::time::Duration::from_secs(120);
        loop {
            let (_, record) = counter
                .lookup(last_code.clone())
                .await
                .map_err(anyhow::Error::msg)?;
            if record.is_some() {
                break;
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "catch-up did not finish within 120 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let elapsed = started.elapsed();
        trigger.trigger();
        holder.join().await;
        newcomer.join().await;
        anyhow::Ok(elapsed)
    })?;
    println!(
        "new counter caught up with {events} events over MQTT in {:.2} s",
        elapsed.as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
