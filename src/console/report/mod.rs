//! The morning-after report of one incident (docs/CONSOLE.md, "Incident report"): its
//! timeline as the console recorded it (`timeline`) and its vouchers added up from a
//! voucher store as it streams past (`voucher::report`), rendered for people as a
//! printable HTML page with a chart of confirmations over time (`html`), and for the
//! accounts as CSV (`csv`) and JSON. The console serves it to a signed-in manager;
//! `raincheck report incident ID` builds the same report from a stopped node's files.

pub mod csv;
pub mod html;

use crate::console::timeline::entries::Stamped;
use crate::protocol::Identifier;
use crate::voucher::report::{IncidentTally, IncidentVouchers};
use crate::voucher::store::{voucher_day, StoreError, VoucherStore};
use serde::Serialize;
use std::path::Path;
use time::OffsetDateTime;

/// One incident's report.
#[derive(Clone, Debug, Serialize)]
pub struct IncidentReport {
    pub incident: Identifier,
    pub venue_name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    /// What the console saw, oldest first; empty when it recorded nothing (the report was
    /// built where no console ran, or before timelines were kept).
    pub timeline: Vec<Stamped>,
    /// The incident's vouchers; `None` where no voucher store was at hand.
    pub vouchers: Option<IncidentVouchers>,
}

/// How a report is wanted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    Json,
    Csv,
    Html,
}

impl std::str::FromStr for ReportFormat {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "json" => Ok(Self::Json),
            "csv" => Ok(Self::Csv),
            "html" => Ok(Self::Html),
            other => Err(format!(
                "{other:?} is not a report format; use json, csv or html"
            )),
        }
    }
}

impl ReportFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Csv => "text/csv; charset=utf-8",
            Self::Html => "text/html; charset=utf-8",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Csv => "csv",
            Self::Html => "html",
        }
    }
}

impl IncidentReport {
    /// True when nothing at all is known of the incident: no timeline, no voucher.
    pub fn is_unknown(&self) -> bool {
        self.timeline.is_empty() && self.vouchers.as_ref().is_none_or(|v| v.issued == 0)
    }

    pub fn render(&self, format: ReportFormat) -> Vec<u8> {
        match format {
            ReportFormat::Json => {
                serde_json::to_vec_pretty(self).expect("a report serialises: plain fields")
            }
            ReportFormat::Csv => csv::render(self).into_bytes(),
            ReportFormat::Html => html::render(self).into_bytes(),
        }
    }
}

/// The incident's vouchers, streamed from `store` (blocking: call off the async threads).
pub fn tally_vouchers(
    store: &VoucherStore,
    incident: &Identifier,
    offers: &[crate::config::OfferConfig],
    currency: Option<String>,
    now: OffsetDateTime,
) -> Result<IncidentVouchers, StoreError> {
    let mut tally = IncidentTally::new(incident.clone(), offers, currency, voucher_day(now));
    store.each_record(|record| {
        // Only the incident's own codes are read with the secret (a MAC each).
        let fields = (record.incident_id.as_ref() == Some(incident))
            .then(|| store.code_fields(&record.code))
            .flatten();
        tally.add(&record, fields);
    })?;
    let mut vouchers = tally.finish();
    crate::voucher::report_overrides::weigh_codes(&mut vouchers.overrides, |code| {
        crate::voucher::override_code::OverrideCode::parse(code, store.secret())
            .ok()
            .map(|code| code.fields.extra)
    });
    Ok(vouchers)
}

/// The recorded timeline of `incident` under `data_dir` (blocking).
pub fn read_timeline(data_dir: &Path, incident: &Identifier) -> std::io::Result<Vec<Stamped>> {
    Ok(crate::console::timeline::file::read(data_dir, incident)?.unwrap_or_default())
}
