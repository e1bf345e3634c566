//! `raincheck report incident ID`: the morning-after report built from a stopped node's
//! own files — the console's recorded timeline and the voucher store, read one record at
//! a time — as HTML, CSV or JSON, to standard output or a file. The same report a
//! running console serves (`console::report`).

use crate::console::report::{read_timeline, tally_vouchers, IncidentReport, ReportFormat};
use crate::protocol::Identifier;
use anyhow::{anyhow, bail, Context, Result};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use time::OffsetDateTime;

pub fn run_incident(
    id: &str,
    config_path: &Path,
    format: &str,
    out: Option<&Path>,
) -> Result<ExitCode> {
    let incident = Identifier::parse(id).map_err(|error| anyhow!("incident {id:?} {error}"))?;
    let format: ReportFormat = format.parse().map_err(|why: String| anyhow!(why))?;
    let config = crate::config::load(config_path).map_err(|report| anyhow!("{report}"))?;
    let base = config_path.parent().unwrap_or(Path::new("."));
    let data_dir = config.node.data_dir.clone();
    let now = OffsetDateTime::now_utc();
    let timeline = read_timeline(&data_dir, &incident)
        .with_context(|| format!("read the timeline in {}", data_dir.display()))?;
    let vouchers = match &config.counter {
        None => None,
        Some(counter) => {
            let store = crate::voucher::open::open_store(&config, base).context(
                "open the voucher store; stop the node first, or read the report from the running console",
            )?;
            Some(tally_vouchers(
                &store,
                &incident,
                &counter.offers,
                counter.currency.clone(),
                now,
            )?)
        }
    };
    let report = IncidentReport {
        incident: incident.clone(),
        venue_name: config.node.venue_name.clone(),
        generated_at: now,
        timeline,
        vouchers,
    };
    if report.is_unknown() {
        bail!(
            "no record of incident {incident} here: no timeline in {} and no voucher of it",
            data_dir.join("incidents").display()
        );
    }
    let rendered = report.render(format);
    match out {
        Some(path) => {
            std::fs::write(path, &rendered).with_context(|| format!("write {}", path.display()))?
        }
        None => std::io::stdout()
            .write_all(&rendered)
            .context("write the report")?,
    }
    Ok(ExitCode::SUCCESS)
}
