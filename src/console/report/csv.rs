//! The incident report as CSV for the accounts: one row per offer and per till with the
//! voucher counts and the liability, one per override past a cap (till, offer, who, how
//! many), then one row per timeline entry — one table with a
//! `section` column, so a spreadsheet filters it. Fields are quoted and formula-safe by
//! the voucher export's own `csv_field`.

use super::IncidentReport;
use crate::console::timeline::entries::TimelineEntry;
use crate::voucher::export::csv_field as field;
use std::fmt::Write;

const HEADER: &str = "section,key,name,issued,redeemed,voided,expired,outstanding,face_value,liability,currency,at,detail";

fn row(out: &mut String, fields: &[String]) {
    let fields: Vec<String> = fields.iter().map(|f| field(f)).collect();
    let _ = writeln!(out, "{}", fields.join(","));
}

pub fn render(report: &IncidentReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{HEADER}");
    let text = |n: u64| n.to_string();
    let money = |m: Option<crate::config::Money>| m.map(|m| m.to_string()).unwrap_or_default();
    if let Some(vouchers) = &report.vouchers {
        let currency = vouchers.currency.clone().unwrap_or_default();
        row(
            &mut out,
            &[
                "total".into(),
                report.incident.to_string(),
                String::new(),
                text(vouchers.issued),
                text(vouchers.redeemed),
                text(vouchers.voided),
                text(vouchers.expired),
                text(vouchers.outstanding),
                String::new(),
                money(vouchers.liability),
                currency.clone(),
                String::new(),
                format!("{} conflict(s)", vouchers.conflict_count),
            ],
        );
        for (offer, c) in &vouchers.offers {
            row(
                &mut out,
                &[
                    "offer".into(),
                    offer.clone(),
                    String::new(),
                    text(c.issued),
                    text(c.redeemed),
                    text(c.voided),
                    text(c.expired),
                    text(c.outstanding),
                    money(c.face_value),
                    money(c.liability),
                    currency.clone(),
                    String::new(),
                    String::new(),
                ],
            );
        }
        for (till, c) in &vouchers.tills {
            row(
                &mut out,
                &[
                    "till".into(),
                    till.to_string(),
                    vouchers.till_names.get(till).cloned().unwrap_or_default(),
                    text(c.issued),
                    text(c.redeemed),
                    text(c.voided),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ],
            );
        }
        // One row per till, offer, manager or code and cap issued past.
        for line in &vouchers.overrides {
            let by = match (&line.manager, &line.code) {
                (Some(manager), _) => format!("manager {manager}"),
                (None, Some(code)) => match line.over_used {
                    Some(used) => format!(
                        "code {code}: used {used} times in all, allows {}",
                        line.allowed.unwrap_or(0)
                    ),
                    None => format!("code {code}"),
                },
                (None, None) => String::new(),
            };
            row(
                &mut out,
                &[
                    "override".into(),
                    line.till.to_string(),
                    line.offer.clone(),
                    text(line.issued),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    format!("{by}; past {}", crate::voucher::limits::cap_name(line.cap)),
                ],
            );
        }
    }
    for stamped in &report.timeline {
        let (key, name, detail) = match &stamped.entry {
            TimelineEntry::Declared {
                revision, headline, ..
            } => (
                "declared".to_owned(),
                String::new(),
                format!("revision {revision}: {}", headline.as_deref().unwrap_or("")),
            ),
            TimelineEntry::Updated { revision, headline } => (
                "updated".to_owned(),
                String::new(),
                format!("revision {revision}: {}", headline.as_deref().unwrap_or("")),
            ),
            TimelineEntry::Confirmed {
                node,
                name,
                revision,
                after_ms,
                ..
            } => (
                format!("confirmed:{node}"),
                name.clone().unwrap_or_default(),
                format!("revision {revision} in {after_ms} ms"),
            ),
            TimelineEntry::LinkLost { node, name } => (
                format!("link_lost:{node}"),
                name.clone().unwrap_or_default(),
                String::new(),
            ),
            TimelineEntry::LinkBack { node, name } => (
                format!("link_back:{node}"),
                name.clone().unwrap_or_default(),
                String::new(),
            ),
            TimelineEntry::AllConfirmed { revision, mode } => (
                "all_confirmed".to_owned(),
                String::new(),
                format!("revision {revision}: {mode}"),
            ),
            TimelineEntry::Resolved {
                revision,
                by_expiry,
            } => (
                "resolved".to_owned(),
                String::new(),
                if *by_expiry {
                    format!("revision {revision}: ended itself at its expiry")
                } else {
                    format!("revision {revision}")
                },
            ),
        };
        let at = stamped
            .at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        row(
            &mut out,
            &[
                "timeline".into(),
                key,
                name,
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                at,
                detail,
            ],
        );
    }
    out
}
