//! The incident report as one printable HTML page for people: what happened and when,
//! how fast each screen and counter confirmed (a step chart of confirmations over time,
//! drawn as inline SVG — no script, nothing fetched), and the vouchers per offer and per
//! till with the outstanding liability. Every text from the venue or the bus is escaped.

use super::IncidentReport;
use crate::console::timeline::entries::{Stamped, TimelineEntry};
use crate::voucher::report::IncidentVouchers;
use std::fmt::Write;

pub(in crate::console) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

pub(in crate::console) fn clock(at: time::OffsetDateTime) -> String {
    crate::clock::local(at)
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        ))
        .unwrap_or_else(|_| at.to_string())
}

pub(in crate::console) fn who(node: &crate::protocol::Identifier, name: &Option<String>) -> String {
    match name {
        Some(name) => format!("{} ({node})", escape(name)),
        None => node.to_string(),
    }
}

fn headline(text: &Option<String>) -> String {
    match text {
        Some(text) => format!("“{}”", escape(text)),
        None => "the screens' own wording".into(),
    }
}

fn describe(entry: &TimelineEntry) -> (&'static str, String) {
    match entry {
        TimelineEntry::Declared {
            revision,
            source,
            headline,
            ..
        } => (
            "Declared",
            format!(
                "{} by {} (revision {revision})",
                self::headline(headline),
                source.as_ref().map_or("unknown".into(), |s| s.to_string())
            ),
        ),
        TimelineEntry::Updated { revision, headline } => (
            "Updated",
            format!("{} (revision {revision})", self::headline(headline)),
        ),
        TimelineEntry::Confirmed {
            node,
            name,
            revision,
            after_ms,
            ..
        } => (
            "Confirmed",
            format!(
                "{} in {} ms (revision {revision})",
                who(node, name),
                after_ms
            ),
        ),
        TimelineEntry::LinkLost { node, name } => ("Link lost", who(node, name)),
        TimelineEntry::LinkBack { node, name } => ("Link back", who(node, name)),
        TimelineEntry::AllConfirmed { revision, mode } => (
            "Every screen",
            format!(
                "showed {} (revision {revision})",
                if mode == "cash_only" {
                    "cash only"
                } else {
                    "all clear"
                }
            ),
        ),
        TimelineEntry::Resolved {
            revision,
            by_expiry,
        } => (
            "Resolved",
            if *by_expiry {
                format!("revision {revision}: ended itself at its expiry")
            } else {
                format!("revision {revision}")
            },
        ),
    }
}

/// Confirmations of the declaration's revision over time, as an SVG step chart.
fn chart(timeline: &[Stamped]) -> String {
    let first = timeline.iter().find_map(|s| match &s.entry {
        TimelineEntry::Declared { revision, .. } => Some(*revision),
        _ => None,
    });
    let mut times: Vec<u64> = timeline
        .iter()
        .filter_map(|s| match &s.entry {
            TimelineEntry::Confirmed {
                revision, after_ms, ..
            } if Some(*revision) == first => Some(*after_ms),
            _ => None,
        })
        .collect();
    if times.is_empty() {
        return "<p class=\"none\">No confirmation of the declaration was recorded.</p>".into();
    }
    times.sort_unstable();
    let (width, height, left, bottom) = (640.0, 220.0, 48.0, 28.0);
    let longest = (*times.last().expect("not empty") as f64).max(1.0);
    let count = times.len() as f64;
    let x = |ms: f64| left + ms / longest * (width - left - 12.0);
    let y = |n: f64| height - bottom - n / count * (height - bottom - 12.0);
    let mut path = format!("M{:.1},{:.1}", x(0.0), y(0.0));
    for (index, ms) in times.iter().enumerate() {
        let ms = *ms as f64;
        let _ = write!(
            path,
            " L{:.1},{:.1} L{:.1},{:.1}",
            x(ms),
            y(index as f64),
            x(ms),
            y(index as f64 + 1.0)
        );
    }
    format!(
        "<svg class=\"chart\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"Screens confirmed over time\">\
         <line x1=\"{left}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" class=\"axis\"/>\
         <line x1=\"{left}\" y1=\"12\" x2=\"{left}\" y2=\"{b}\" class=\"axis\"/>\
         <path d=\"{path}\" class=\"steps\"/>\
         <text x=\"{left}\" y=\"{t}\" class=\"label\">0 ms</text>\
         <text x=\"{r}\" y=\"{t}\" class=\"label end\">{longest:.0} ms</text>\
         <text x=\"{lx}\" y=\"20\" class=\"label end\">{n}</text>\
         <text x=\"{lx}\" y=\"{b}\" class=\"label end\">0</text></svg>",
        b = height - bottom,
        r = width - 12.0,
        t = height - 8.0,
        lx = left - 6.0,
        n = times.len(),
    )
}

fn vouchers(out: &mut String, vouchers: &IncidentVouchers) {
    let money = |m: Option<crate::config::Money>| m.map_or("—".to_owned(), |m| m.to_string());
    let currency = vouchers.currency.as_deref().unwrap_or("");
    let _ = write!(
        out,
        "<h2>Vouchers</h2><p class=\"totals\"><b>{}</b> issued · <b>{}</b> redeemed · <b>{}</b> voided · <b>{}</b> expired · <b>{}</b> outstanding, worth <b>{} {}</b></p>",
        vouchers.issued,
        vouchers.redeemed,
        vouchers.voided,
        vouchers.expired,
        vouchers.outstanding,
        money(vouchers.liability),
        escape(currency)
    );
    out.push_str("<table><thead><tr><th>Offer</th><th>Issued</th><th>Redeemed</th><th>Voided</th><th>Expired</th><th>Outstanding</th><th>Face value</th><th>Liability</th></tr></thead><tbody>");
    for (offer, c) in &vouchers.offers {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(offer),
            c.issued,
            c.redeemed,
            c.voided,
            c.expired,
            c.outstanding,
            money(c.face_value),
            money(c.liability)
        );
    }
    out.push_str("</tbody></table><table><thead><tr><th>Till</th><th>Issued</th><th>Redeemed here</th><th>Voided here</th></tr></thead><tbody>");
    for (till, c) in &vouchers.tills {
        let name = who(till, &vouchers.till_names.get(till).cloned());
        let _ = write!(
            out,
            "<tr><td>{name}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            c.issued, c.redeemed, c.voided
        );
    }
    out.push_str("</tbody></table>");
    overrides(out, vouchers);
    if vouchers.conflict_count > 0 {
        let _ = write!(
            out,
            "<h3>Conflicts ({})</h3><ul class=\"conflicts\">",
            vouchers.conflict_count
        );
        for conflict in &vouchers.conflicts {
            let places: Vec<String> = conflict
                .redemptions
                .iter()
                .map(|m| format!("{} at {}", m.origin, clock(m.at)))
                .collect();
            let _ = write!(
                out,
                "<li><code>{}</code> redeemed {}× ({})</li>",
                escape(&conflict.code),
                conflict.redemptions.len(),
                escape(&places.join("; "))
            );
        }
        out.push_str("</ul>");
    }
}

/// Vouchers issued past a cap: per till, offer, manager or code, and the cap; a code used
/// more often than it allows (tills cut off from each other) is said so.
fn overrides(out: &mut String, vouchers: &IncidentVouchers) {
    let total: u64 = vouchers.overrides.iter().map(|line| line.issued).sum();
    let _ = write!(out, "<h3>Overrides ({total} issued past a cap)</h3>");
    if vouchers.overrides.is_empty() {
        out.push_str("<p class=\"none\">No voucher was issued past a cap.</p>");
        return;
    }
    out.push_str("<table class=\"overrides\"><thead><tr><th>Till</th><th>Offer</th><th>By</th><th>Cap</th><th>Issued past it</th></tr></thead><tbody>");
    for line in &vouchers.overrides {
        let till = who(&line.till, &vouchers.till_names.get(&line.till).cloned());
        let by = match (&line.manager, &line.code) {
            (Some(manager), _) => format!("manager {}", escape(manager)),
            (None, Some(code)) => {
                let mut by = format!("code <code>{}</code>", escape(code));
                if let Some(allowed) = line.allowed {
                    let _ = write!(by, " (allows {allowed})");
                }
                if let Some(used) = line.over_used {
                    let _ = write!(
                        by,
                        " <b>used {used}× in all: accepted at tills cut off from each other</b>"
                    );
                }
                by
            }
            (None, None) => "—".to_owned(),
        };
        let _ = write!(
            out,
            "<tr><td>{till}</td><td>{}</td><td>{by}</td><td>{}</td><td>{}</td></tr>",
            escape(&line.offer),
            crate::voucher::limits::cap_name(line.cap),
            line.issued
        );
    }
    out.push_str("</tbody></table>");
}

pub(in crate::console) const STYLE: &str = "body{font:16px/1.45 system-ui,sans-serif;color:#111;margin:2rem auto;max-width:60rem;padding:0 1rem}\
h1{font-size:1.6rem;margin:0}h2{margin-top:2rem;border-bottom:2px solid #111}.meta{color:#444}\
table{border-collapse:collapse;width:100%;margin:1rem 0}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ccc}\
td:not(:first-child),th:not(:first-child){text-align:right}.timeline td,.timeline th{text-align:left}.summary{font-size:1.1rem;background:#f3f3f3;padding:.75rem 1rem;border-left:6px solid #b00020}\
.chart{width:100%;max-width:40rem;height:auto}.axis{stroke:#111}.steps{fill:none;stroke:#b00020;stroke-width:2.5}\
.label{font-size:12px}.end{text-anchor:end}.none{color:#666}@media print{body{margin:0}h2{break-after:avoid}}";

/// One paragraph: when it was declared, how long until every screen showed it, when it
/// was resolved and how long until every screen showed the all clear.
fn summary(timeline: &[Stamped]) -> String {
    let first = |wanted: &dyn Fn(&TimelineEntry) -> bool| {
        timeline.iter().find(|s| wanted(&s.entry)).map(|s| s.at)
    };
    let declared = first(&|e| matches!(e, TimelineEntry::Declared { .. }));
    let everywhere =
        first(&|e| matches!(e, TimelineEntry::AllConfirmed { mode, .. } if mode == "cash_only"));
    let resolved = first(&|e| matches!(e, TimelineEntry::Resolved { .. }));
    let by_expiry = timeline.iter().any(|s| {
        matches!(
            s.entry,
            TimelineEntry::Resolved {
                by_expiry: true,
                ..
            }
        )
    });
    let cleared =
        first(&|e| matches!(e, TimelineEntry::AllConfirmed { mode, .. } if mode != "cash_only"));
    let lost = timeline
        .iter()
        .filter(|s| matches!(s.entry, TimelineEntry::LinkLost { .. }))
        .count();
    let after =
        |from: Option<time::OffsetDateTime>, to: Option<time::OffsetDateTime>| match (from, to) {
            (Some(from), Some(to)) => {
                format!("{} ms later", (to - from).whole_milliseconds().max(0))
            }
            _ => "not recorded".into(),
        };
    let mut out = String::from("<p class=\"summary\">");
    match declared {
        Some(at) => {
            let _ = write!(
                out,
                "Declared {}; every screen showed cash only {}. ",
                clock(at),
                after(declared, everywhere)
            );
        }
        None => out.push_str("The declaration was not recorded. "),
    }
    match resolved {
        Some(at) => {
            let _ = write!(
                out,
                "{} {}; every screen showed the all clear {}.",
                if by_expiry {
                    "Ended itself at its expiry,"
                } else {
                    "Resolved"
                },
                clock(at),
                after(resolved, cleared)
            );
        }
        None => out.push_str("Not resolved when this report was made."),
    }
    if lost > 0 {
        let _ = write!(out, " {lost} link loss(es) during the incident.");
    }
    out.push_str("</p>");
    out
}

/// The whole page.
pub fn render(report: &IncidentReport) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Incident {id} — {venue}</title><style>{STYLE}</style></head><body>\
         <h1>Incident {id}</h1><p class=\"meta\">{venue} · report made {made}</p>",
        id = escape(report.incident.as_str()),
        venue = escape(&report.venue_name),
        made = clock(report.generated_at),
    );
    out.push_str(&summary(&report.timeline));
    out.push_str("<h2>Screens confirming the declaration</h2>");
    out.push_str(&chart(&report.timeline));
    out.push_str("<h2>Timeline</h2>");
    if report.timeline.is_empty() {
        out.push_str("<p class=\"none\">No timeline was recorded for this incident (it is kept by the console that saw it).</p>");
    } else {
        out.push_str("<table class=\"timeline\"><thead><tr><th>Time</th><th>What</th><th>Detail</th></tr></thead><tbody>");
        for stamped in &report.timeline {
            let (what, detail) = describe(&stamped.entry);
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{what}</td><td>{detail}</td></tr>",
                clock(stamped.at)
            );
        }
        out.push_str("</tbody></table>");
    }
    match &report.vouchers {
        Some(v) => vouchers(&mut out, v),
        None => out.push_str(
            "<h2>Vouchers</h2><p class=\"none\">No voucher store was at hand for this report.</p>",
        ),
    }
    out.push_str("</body></html>\n");
    out
}
