//! `raincheck bench reports --stored N`: the morning-after report and the console's
//! voucher figures over a store of N vouchers (1,000,000 by default) on real sled.
//! First the store is filled as a console's replica would be (another till's issue
//! events, a tenth of them in the incident, a tenth of those redeemed), then:
//! 1. the report as `raincheck report incident` builds it — time, and the peak memory it
//!    added (`VmHWM` after resetting it through `/proc/self/clear_refs`, minus `VmRSS`
//!    before);
//! 2. a real console node on that store against a private Mosquitto: p50/p99 of
//!    `GET /api/vouchers/summary` and of the JSON report through HTTP with a signed-in
//!    manager, and the process's RSS before and after. The natural limit beside it: one
//!    bare pass over the sled tree reading every value, in the same run;
//! 3. the figures from the store's running sums beside the same figures by one pass over
//!    every record, checked equal.

use super::fleet::VENUE;
use super::stats::percentiles;
use crate::console::report::tally_vouchers;
use crate::protocol::Identifier;
use crate::voucher::events::{VoucherChange, VoucherEvent, EVENT_VERSION};
use crate::voucher::figures::FiguresTally;
use crate::voucher::store::{voucher_day, VoucherStore};
use crate::voucher::{VoucherCode, VoucherFields, VoucherSecret};
use anyhow::{anyhow, bail, Context, Result};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

const SECRET: &[u8] = b"benchmark-secret-of-32-bytes-ok!";
const INCIDENT: &str = "inc-bench";
const PIN: &str = "4821";

/// `VmRSS` or `VmHWM` of this process, in kB.
fn proc_status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|line| line.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn events(
    secret: &VoucherSecret,
    first: usize,
    last: usize,
    now: OffsetDateTime,
) -> Result<Vec<VoucherEvent>> {
    let origin = Identifier::parse("till-2")?;
    let popcorn = Identifier::parse("popcorn")?;
    let incident = Identifier::parse(INCIDENT)?;
    let mut batch = Vec::with_capacity((last - first + 1) * 2);
    for serial in first..=last {
        let fields = VoucherFields {
            offer: 1,
            terminal: 2,
            serial: serial as u32,
            expiry_day: voucher_day(now) + 90,
        };
        let code = VoucherCode::issue(fields, secret)
            .map_err(anyhow::Error::msg)?
            .compact();
        let in_incident = serial % 10 == 0;
        let event = |seq: u64, change| VoucherEvent {
            v: EVENT_VERSION,
            origin: origin.clone(),
            seq,
            at: now,
            staff: None,
            till: Some("Bar".into()),
            change,
        };
        batch.push(event(
            serial as u64 * 2 - 1,
            VoucherChange::Issued {
                code: code.clone(),
                offer_id: popcorn.clone(),
                incident_id: in_incident.then(|| incident.clone()),
                past_cap: None,
            },
        ));
        if in_incident && serial % 100 == 0 {
            batch.push(event(serial as u64 * 2, VoucherChange::Redeemed { code }));
        }
    }
    Ok(batch)
}

pub fn run(stored: usize, rounds: usize) -> Result<ExitCode> {
    if stored == 0 || stored > (VoucherFields::MAX_SERIAL as usize) {
        bail!("--stored must be 1 to {}", VoucherFields::MAX_SERIAL);
    }
    let data = tempfile::tempdir()?;
    let secret_file = data.path().join("voucher-secret");
    std::fs::write(&secret_file, SECRET)?;
    std::fs::set_permissions(
        &secret_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )?;
    let config = console_config(data.path(), &secret_file, "mqtt://127.0.0.1:9")?;
    let now = OffsetDateTime::now_utc();
    let started = Instant::now();
    {
        let store = crate::voucher::open::open_store(&config, Path::new("."))?;
        let secret = VoucherSecret::new(VENUE, SECRET).map_err(anyhow::Error::msg)?;
        for first in (1..=stored).step_by(10_000) {
            store.apply_remote(&events(&secret, first, (first + 9_999).min(stored), now)?)?;
        }
        println!(
            "filled a store of {stored} vouchers in {:.1} s ({:.0} MB on disk)",
            started.elapsed().as_secs_f64(),
            store.size_on_disk()? as f64 / 1e6
        );
        report_from_files(&store, &config, now)?;
        figures_from_files(&store, now)?;
    }
    let (broker, runtime) = super::fleet::private_broker_and_runtime()?;
    let config = console_config(data.path(), &secret_file, &broker.url())?;
    let result = runtime.block_on(through_the_console(config, rounds));
    drop(broker);
    result
}

/// The report as the CLI builds it, beside one bare pass over the store.
fn report_from_files(
    store: &VoucherStore,
    config: &crate::config::NodeConfig,
    now: OffsetDateTime,
) -> Result<()> {
    let started = Instant::now();
    let mut bytes = 0usize;
    store.each_record(|record| bytes += record.code.len())?;
    let bare = started.elapsed();
    let before = proc_status_kb("VmRSS:").context("no /proc/self/status")?;
    // "5" resets the peak RSS the kernel keeps, so VmHWM is this report's peak.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let incident = Identifier::parse(INCIDENT)?;
    let counter = config.counter.as_ref().context("a counter section")?;
    let started = Instant::now();
    let report = tally_vouchers(
        store,
        &incident,
        &counter.offers,
        counter.currency.clone(),
        now,
    )?;
    let took = started.elapsed();
    let peak = proc_status_kb("VmHWM:").context("no VmHWM")?;
    println!(
        "report from the files: {:.2} s over {} records ({} in the incident, {} outstanding, liability {} {}); \
         a bare pass over the store: {:.2} s (ratio {:.2})",
        took.as_secs_f64(),
        report.records_read,
        report.issued,
        report.outstanding,
        report.liability.map(|m| m.to_string()).unwrap_or_default(),
        report.currency.clone().unwrap_or_default(),
        bare.as_secs_f64(),
        took.as_secs_f64() / bare.as_secs_f64().max(1e-9)
    );
    if reset {
        println!(
            "peak memory added by the report: {:.1} MB (RSS before {:.1} MB)",
            peak.saturating_sub(before) as f64 / 1024.0,
            before as f64 / 1024.0
        );
    } else {
        println!("peak memory: /proc/self/clear_refs is not writable here; not measured");
    }
    Ok(())
}

/// The console's figures from the store's running sums, beside the same figures by one
/// pass over every record (what every call cost before the sums); they must agree.
fn figures_from_files(store: &VoucherStore, now: OffsetDateTime) -> Result<()> {
    let day_start = now - time::Duration::hours(1);
    let incident = Some(Identifier::parse(INCIDENT)?);
    let started = Instant::now();
    let mut tally = FiguresTally::new(day_start, incident.clone());
    store.each_record(|record| tally.add(&record))?;
    let by_pass = tally.finish();
    let pass = started.elapsed();
    let mut times = Vec::with_capacity(100);
    for _ in 0..100 {
        let started = Instant::now();
        let by_sums = store.figures(day_start, incident.clone())?;
        times.push(started.elapsed());
        if by_sums != by_pass {
            bail!(
                "the running sums disagree with a pass over the store: {by_sums:?} vs {by_pass:?}"
            );
        }
    }
    let summary = percentiles(&times).ok_or_else(|| anyhow!("no samples"))?;
    println!(
        "figures from the running sums: {summary}; the same figures by a pass over every record: \
         {:.2} s (ratio p99 / pass {:.5})",
        pass.as_secs_f64(),
        summary.p99.as_secs_f64() / pass.as_secs_f64().max(1e-9)
    );
    Ok(())
}

async fn through_the_console(config: crate::config::NodeConfig, rounds: usize) -> Result<ExitCode> {
    let (trigger, shutdown) = crate::shutdown::shutdown_pair();
    let rss_before = proc_status_kb("VmRSS:").unwrap_or(0);
    let node = crate::app::start_node(&config, Path::new("."), shutdown)?;
    let address = node.console.context("the console did not start")?;
    let (cookie, csrf) = super::console_client::sign_in_as(address, "Bench", PIN).await?;
    let mut summary_times = Vec::with_capacity(rounds);
    let deadline = Instant::now() + Duration::from_secs(60);
    while summary_times.len() < rounds {
        let started = Instant::now();
        let (status, body) = super::console_client::call(
            address,
            "GET",
            "/api/vouchers/summary",
            &cookie,
            &csrf,
            Default::default(),
        )
        .await?;
        if status == hyper::StatusCode::SERVICE_UNAVAILABLE && Instant::now() < deadline {
            // The replica serves once its worker read the venue: ask again shortly.
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        if status != hyper::StatusCode::OK {
            bail!(
                "summary answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        summary_times.push(started.elapsed());
    }
    let rss_after_figures = proc_status_kb("VmRSS:").unwrap_or(0);
    let path = format!("/api/reports/incidents/{INCIDENT}?format=json");
    let mut report_times = Vec::with_capacity(rounds.min(10));
    for _ in 0..rounds.min(10) {
        let started = Instant::now();
        let (status, body) =
            super::console_client::call(address, "GET", &path, &cookie, &csrf, Default::default())
                .await?;
        if status != hyper::StatusCode::OK {
            bail!(
                "report answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        report_times.push(started.elapsed());
    }
    let rss_after = proc_status_kb("VmRSS:").unwrap_or(0);
    println!(
        "console GET /api/vouchers/summary: {}",
        percentiles(&summary_times).ok_or_else(|| anyhow!("no samples"))?
    );
    println!(
        "console GET {path}: {}",
        percentiles(&report_times).ok_or_else(|| anyhow!("no samples"))?
    );
    println!(
        "process RSS: {:.1} MB before the console started, {:.1} MB after the figures calls, \
         {:.1} MB after the report calls",
        rss_before as f64 / 1024.0,
        rss_after_figures as f64 / 1024.0,
        rss_after as f64 / 1024.0
    );
    trigger.trigger();
    let _ = tokio::time::timeout(Duration::from_secs(15), node.join()).await;
    Ok(ExitCode::SUCCESS)
}

fn console_config(data: &Path, secret: &Path, url: &str) -> Result<crate::config::NodeConfig> {
    let hash = crate::console::hash_pin(PIN).map_err(|e| anyhow!(e))?;
    let text = format!(
        "[node]\nvenue = \"{VENUE}\"\nid = \"console\"\nroles = [\"console\"]\ndata_dir = \"{}\"\n\
         [broker]\nurl = \"{url}\"\n[console]\nlisten = \"127.0.0.1:0\"\n\
         [[console.managers]]\nname = \"Bench\"\npin_hash = \"{hash}\"\n\
         [counter]\nterminal = 100\nsecret_file = \"{}\"\ncurrency = \"EUR\"\n\
         [[counter.offers]]\nid = \"popcorn\"\nnumber = 1\ntitle = \"A free small popcorn\"\nvalidity_days = 90\nface_value = \"4.50\"\n",
        data.display(),
        secret.display()
    );
    crate::config::load_str(&text, Path::new("bench-console.toml"))
        .map_err(|report| anyhow!("{report}"))
}
