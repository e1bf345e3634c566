//! The venue's incident as one CAP 1.2 alert message (OASIS Common Alerting Protocol,
//! schema in assets/cap/CAP-v1.2.xsd), for signage players that read CAP (Xibo's CAP
//! connector, Screenly's CAP app). Pure: the view, the words per language and `now` in,
//! the XML out, written by hand with every text escaped (no manager text can open a tag).
//!
//! Messages, all deterministic so two polls (or two consoles) agree on every identifier:
//! - the declaration that started the incident is the `Alert`, identified
//!   `{venue}.{incident}` and sent at the incident's start;
//! - every later active declaration is an `Update`, `{venue}.{incident}.{revision}`;
//! - the resolve is a `Cancel` (same shape), served `cancel_for` after the resolve, then
//!   nothing (`None`: the feed answers 204);
//! - an active message is valid for `expires_after`; half-way through, a renewed
//!   `Update` (`….{revision}.{k}`) takes over, so a long incident never silently expires.
//!
//! Updates and the Cancel reference the Alert, the message they renew, and the previous
//! message this feed served for the incident when the caller remembers one.

use crate::model::{VenueView, ViewMode};
use crate::protocol::Identifier;
use std::fmt::Write as _;
use time::{Duration, OffsetDateTime};

pub const CAP_NAMESPACE: &str = "urn:oasis:names:tc:emergency:cap:1.2";
/// `info/event`, the same in every language block (players filter on it).
pub const CAP_EVENT: &str = "Card payments unavailable";

/// CAP's `status`. Only `Actual` is used today; `Exercise` is the hook for drills (a
/// declaration flag for them does not exist yet).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapStatus {
    Actual,
    // The hook for drills: nothing constructs it until a declaration can say "drill".
    #[allow(dead_code)]
    Exercise,
}

#[derive(Clone, Copy, Debug)]
pub struct CapSettings {
    pub status: CapStatus,
    pub expires_after: Duration,
    pub cancel_for: Duration,
}

/// The words of one language, as a screen of the venue shows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LanguageWords {
    /// The language tag (`en`, `es`), used as CAP's `language`.
    pub language: String,
    pub headline: String,
    pub body: String,
    pub offer: String,
    pub cash_points: String,
}

/// A message as others reference it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageRef {
    pub incident: Identifier,
    pub identifier: String,
    pub sent: OffsetDateTime,
}

#[derive(Clone, Debug)]
pub struct CapMessage {
    pub reference: MessageRef,
    pub msg_type: &'static str,
    pub xml: String,
}

/// The CAP `sender` of a venue.
pub fn cap_sender(venue: &Identifier) -> String {
    format!("raincheck.{venue}")
}

/// CAP's dateTime: seconds, a numeric offset, and UTC written `-00:00` as CAP requires.
pub fn cap_time(time: OffsetDateTime) -> String {
    let utc = time.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}-00:00",
        utc.year(),
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second()
    )
}

/// The message to serve now, or `None` when there is nothing to say (normal, or the
/// Cancel's time is over). `words` has one entry per language, in the venue's order.
pub fn cap_message(
    venue: &Identifier,
    venue_name: &str,
    view: &VenueView,
    words: &[LanguageWords],
    previous: Option<&MessageRef>,
    settings: &CapSettings,
    now: OffsetDateTime,
) -> Option<CapMessage> {
    let incident = view.incident_id.as_ref()?;
    let declared = view.declared_at?;
    let started = view.started_at.unwrap_or(declared);
    let original = format!("{venue}.{incident}");
    let (msg_type, identifier, sent, expires, renews) = match view.mode {
        ViewMode::Normal => return None,
        ViewMode::AllClear => {
            if now >= declared + settings.cancel_for {
                return None;
            }
            let identifier = format!("{original}.{}", view.revision);
            (
                "Cancel",
                identifier,
                declared,
                declared + settings.cancel_for,
                None,
            )
        }
        ViewMode::CashOnly => {
            let period =
                Duration::seconds(settings.expires_after.whole_seconds() / 2).max(Duration::MINUTE);
            // Bounded, so a clock far ahead cannot overflow the arithmetic below.
            let renewal =
                ((now - declared).whole_seconds() / period.whole_seconds()).clamp(0, 1_000_000);
            let sent = declared + period * renewal as i32;
            let base = if declared == started {
                original.clone()
            } else {
                format!("{original}.{}", view.revision)
            };
            let (identifier, renews) = match renewal {
                0 => (base, None),
                1 => (format!("{base}.1"), Some((base, declared))),
                k => (
                    format!("{base}.{k}"),
                    Some((format!("{base}.{}", k - 1), sent - period)),
                ),
            };
            let msg_type = if identifier == original {
                "Alert"
            } else {
                "Update"
            };
            (
                msg_type,
                identifier,
                sent,
                // An incident that ends itself is not announced past its end.
                view.expires_at
                    .map_or(sent + settings.expires_after, |end| {
                        end.min(sent + settings.expires_after)
                    }),
                renews,
            )
        }
    };
    let sender = cap_sender(venue);
    let mut references: Vec<(String, OffsetDateTime)> = Vec::new();
    if msg_type != "Alert" {
        references.push((original.clone(), started));
        if let Some(previous) = previous.filter(|p| p.incident == *incident) {
            references.push((previous.identifier.clone(), previous.sent));
        }
        references.extend(renews);
        references.retain(|(id, _)| *id != identifier);
        references.sort_by_key(|(_, sent)| *sent);
        references.dedup_by(|a, b| a.0 == b.0);
    }
    let references: Vec<String> = references
        .iter()
        .map(|(id, at)| format!("{sender},{id},{}", cap_time(*at)))
        .collect();

    let mut xml = String::with_capacity(2048);
    xml.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(xml, "<alert xmlns=\"{CAP_NAMESPACE}\">");
    element(&mut xml, 1, "identifier", &identifier);
    element(&mut xml, 1, "sender", &sender);
    element(&mut xml, 1, "sent", &cap_time(sent));
    let status = match settings.status {
        CapStatus::Actual => "Actual",
        CapStatus::Exercise => "Exercise",
    };
    element(&mut xml, 1, "status", status);
    element(&mut xml, 1, "msgType", msg_type);
    element(&mut xml, 1, "source", "raincheck");
    element(&mut xml, 1, "scope", "Public");
    if !references.is_empty() {
        element(&mut xml, 1, "references", &references.join(" "));
    }
    element(&mut xml, 1, "incidents", &original);
    for language in words {
        xml.push_str("  <info>\n");
        element(&mut xml, 2, "language", &language.language);
        element(&mut xml, 2, "category", "Infra");
        element(&mut xml, 2, "event", CAP_EVENT);
        let (response, urgency) = match msg_type {
            "Cancel" => (Some("AllClear"), "Past"),
            _ => (None, "Immediate"),
        };
        if let Some(response) = response {
            element(&mut xml, 2, "responseType", response);
        }
        element(&mut xml, 2, "urgency", urgency);
        element(&mut xml, 2, "severity", "Minor");
        element(&mut xml, 2, "certainty", "Observed");
        element(&mut xml, 2, "onset", &cap_time(started));
        element(&mut xml, 2, "expires", &cap_time(expires));
        element(&mut xml, 2, "senderName", venue_name);
        optional(&mut xml, "headline", &language.headline);
        optional(&mut xml, "description", &language.body);
        let instruction: Vec<&str> = [language.cash_points.as_str(), language.offer.as_str()]
            .into_iter()
            .filter(|text| !text.trim().is_empty())
            .collect();
        optional(&mut xml, "instruction", &instruction.join("\n"));
        xml.push_str("    <area>\n");
        element(&mut xml, 3, "areaDesc", venue_name);
        xml.push_str("    </area>\n");
        xml.push_str("  </info>\n");
    }
    xml.push_str("</alert>\n");
    Some(CapMessage {
        reference: MessageRef {
            incident: incident.clone(),
            identifier,
            sent,
        },
        msg_type,
        xml,
    })
}

fn optional(xml: &mut String, name: &str, text: &str) {
    if !text.trim().is_empty() {
        element(xml, 2, name, text);
    }
}

fn element(xml: &mut String, depth: usize, name: &str, text: &str) {
    for _ in 0..depth {
        xml.push_str("  ");
    }
    let _ = write!(xml, "<{name}>");
    escape_into(xml, text);
    let _ = writeln!(xml, "</{name}>");
}

/// Text content made safe for XML 1.0: markup characters as entities, and characters
/// XML cannot carry at all (controls other than tab and line breaks, U+FFFE, U+FFFF)
/// as spaces — so `<`, `&` and `]]>` in a manager's words stay words.
pub fn escape_into(xml: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => xml.push_str("&lt;"),
            '>' => xml.push_str("&gt;"),
            '&' => xml.push_str("&amp;"),
            '"' => xml.push_str("&quot;"),
            '\'' => xml.push_str("&apos;"),
            '\t' | '\n' => xml.push(c),
            '\r' => xml.push_str("&#13;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => xml.push(' '),
            c => xml.push(c),
        }
    }
}

#[cfg(test)]
#[path = "cap_tests.rs"]
mod tests;
