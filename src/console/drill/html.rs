//! One drill's report as a printable HTML page: when it ran and who ran it, the result in
//! one sentence ("11 of 12 screens and counters confirmed; slowest 840 ms"), and a line
//! per screen and counter — what it drew, how it did, how soon. The incident report's
//! escaping, clock and style, so both read alike; no script, nothing fetched.

use super::results::{DrillOutcome, DrillReport};
use crate::console::report::html::{clock, escape, who, STYLE};
use crate::model::NodeKind;
use std::fmt::Write;

fn outcome(outcome: DrillOutcome, after_ms: Option<u64>, reason: &Option<String>) -> String {
    match (outcome, after_ms) {
        (DrillOutcome::Confirmed, Some(ms)) => format!("confirmed in {ms} ms"),
        (DrillOutcome::Confirmed, None) => "confirmed".into(),
        (DrillOutcome::Lagging, _) => "<strong>did not show it</strong> (lagging)".into(),
        (DrillOutcome::Waiting, _) => "waiting".into(),
        (DrillOutcome::Syncing, _) => "<strong>still starting up</strong> (syncing)".into(),
        (DrillOutcome::Offline, _) => "<strong>offline</strong>".into(),
        (DrillOutcome::Headless, _) => format!(
            "<strong>draws nothing</strong>{}",
            reason
                .as_deref()
                .map(|why| format!(" ({})", escape(why)))
                .unwrap_or_default()
        ),
    }
}

pub fn render(report: &DrillReport) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>Staff drill {id} — {venue}</title><style>{STYLE}</style></head><body>\
         <h1>Staff drill — {venue}</h1><p class=\"meta\">Drill {id}, started {started}",
        id = escape(report.drill_id.as_str()),
        venue = escape(&report.venue_name),
        started = clock(report.started_at),
    );
    match report.ended_at {
        Some(ended) => {
            let _ = write!(out, ", ended {}", clock(ended));
        }
        None => {
            let _ = write!(out, ", running until {}", clock(report.ends_at));
        }
    }
    out.push_str(". No vouchers were issued and no incident was declared.</p>");
    let (confirmed, total) = report.confirmed();
    let _ = write!(
        out,
        "<p class=\"summary\">{confirmed} of {total} screens and counters confirmed the drill{}.{}</p>",
        report
            .slowest_ms()
            .map(|ms| format!("; the slowest in {ms} ms"))
            .unwrap_or_default(),
        if report.interrupted {
            " A real incident came during the drill and took every screen: the drill ended there."
        } else {
            ""
        }
    );
    out.push_str(
        "<h2>Screen by screen</h2><table class=\"timeline\"><thead><tr><th>Screen or counter</th>\
         <th>Kind</th><th>Drew</th><th>Result</th></tr></thead><tbody>",
    );
    for node in &report.nodes {
        let kind = match node.kind {
            NodeKind::Counter => "counter",
            _ => "screen",
        };
        let drew = if node.full_screen {
            "the full cash-only screen"
        } else {
            "the drill marker"
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{kind}</td><td>{drew}</td><td>{}</td></tr>",
            who(&node.node, &node.name),
            outcome(node.outcome, node.after_ms, &node.reason)
        );
    }
    if report.nodes.is_empty() {
        out.push_str("<tr><td colspan=\"4\" class=\"none\">No screen or counter reported during the drill.</td></tr>");
    }
    out.push_str("</tbody></table></body></html>");
    out
}
