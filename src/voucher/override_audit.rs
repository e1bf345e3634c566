//! Overrides in the audit log. A till writes every override offered at it — a manager's
//! PIN or a console code, taken or refused — to its node's audit log (`crate::audit`);
//! a console's replica writes the overrides other tills took as it hears of them, so the
//! manager's log on the tablet holds every voucher issued past a cap in the venue, not
//! only the ones on the console's own box. One sentence for both, built here from the
//! issue event, so a till's log and the console's say it alike.

use super::events::{VoucherChange, VoucherEvent};
use super::handle::{CounterError, OverrideOffer};
use super::limits::cap_name;
use super::store::IssuedVoucher;
use crate::audit::{AuditEntry, AuditLog};
use crate::protocol::Identifier;
use std::sync::Arc;
use time::OffsetDateTime;

/// The audit log's name for an override offered at a till.
pub const ACTION: &str = "override";

/// A till's way to its node's audit log.
#[derive(Clone)]
pub struct TillAudit {
    log: Arc<AuditLog>,
    /// This till as the log names it ("Bar (till-2)").
    till: String,
    /// Whether the overrides other tills took are written here too (a console's replica).
    others: bool,
}

/// How an override was offered, as the log may repeat it: never a PIN, and never the
/// name typed with a wrong one (it may be the PIN typed in the wrong field).
pub struct OverrideAttempt {
    from: String,
    by: String,
}

impl OverrideAttempt {
    pub fn of(offer: &OverrideOffer) -> Self {
        match offer {
            OverrideOffer::Pin { from, .. } => Self {
                from: from.clone(),
                by: "a manager's PIN".into(),
            },
            OverrideOffer::Code { code, from } => Self {
                from: from.clone(),
                by: format!("override code {}", code.trim()),
            },
        }
    }
}

impl TillAudit {
    /// The audit of till `node` (named `name`, if it has one) writing to `log`; `others`
    /// when the overrides heard from other tills are written too.
    pub fn new(log: Arc<AuditLog>, node: &Identifier, name: Option<&str>, others: bool) -> Self {
        Self {
            log,
            till: till_label(node, name),
            others,
        }
    }

    /// Writes how an override offered for `offer` ended: the voucher it let past a cap, or
    /// why it was refused. An override offered while no cap was reached issued a voucher
    /// like any other, and is not one.
    pub async fn attempt(
        &self,
        attempt: &OverrideAttempt,
        offer: &Identifier,
        result: &Result<IssuedVoucher, CounterError>,
    ) {
        let entry = match result {
            Ok(issued) => match issued_entry(&issued.event, &attempt.from) {
                Some(entry) => entry,
                None => return,
            },
            Err(error) => AuditEntry {
                at: OffsetDateTime::now_utc(),
                manager: None,
                from: attempt.from.clone(),
                action: ACTION.into(),
                detail: format!(
                    "{}: {offer} voucher past a cap on {}",
                    self.till, attempt.by
                ),
                outcome: format!("refused: {error}"),
            },
        };
        self.log.record(entry).await;
    }

    /// Whether the overrides other tills took are written here (a console's replica).
    pub fn writes_others(&self) -> bool {
        self.others
    }

    /// Writes the overrides other tills took among `events` (heard from the venue, not
    /// yet in the store).
    pub async fn heard(&self, events: &[VoucherEvent]) {
        for event in events {
            if let Some(entry) = issued_entry(event, event.origin.as_str()) {
                self.log.record(entry).await;
            }
        }
    }
}

/// The entry of a voucher issued past a cap, from its issue event (`None` for any other
/// event); `from` is where the override was typed, or the till it was heard from.
pub fn issued_entry(event: &VoucherEvent, from: &str) -> Option<AuditEntry> {
    let VoucherChange::Issued {
        code,
        offer_id,
        past_cap: Some(past),
        ..
    } = &event.change
    else {
        return None;
    };
    let by = match (&past.manager, &past.code) {
        (_, Some(code)) => format!("override code {code}"),
        (Some(manager), None) => format!("{manager}'s PIN"),
        (None, None) => "an override".into(),
    };
    let till = till_label(&event.origin, event.till.as_deref());
    Some(AuditEntry {
        at: event.at,
        manager: past.manager.clone(),
        from: from.to_owned(),
        action: ACTION.into(),
        detail: format!(
            "{till}: {offer_id} voucher {code} issued past {} cap on {by}",
            cap_name(past.cap)
        ),
        outcome: "ok".into(),
    })
}

/// A till as the log names it: its name and node id, or the id alone.
fn till_label(node: &Identifier, name: Option<&str>) -> String {
    match name.map(str::trim).filter(|name| !name.is_empty()) {
        Some(name) => format!("{name} ({node})"),
        None => node.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::voucher::events::{CapKind, IssueOverride, EVENT_VERSION};

    fn issue(past_cap: Option<IssueOverride>) -> VoucherEvent {
        VoucherEvent {
            v: EVENT_VERSION,
            origin: Identifier::parse("till-2").unwrap(),
            seq: 7,
            at: OffsetDateTime::UNIX_EPOCH,
            staff: None,
            till: Some("Bar".into()),
            change: VoucherChange::Issued {
                code: "ABCD".into(),
                offer_id: Identifier::parse("popcorn").unwrap(),
                incident_id: None,
                past_cap,
            },
        }
    }

    #[test]
    fn an_override_reads_alike_wherever_it_is_written_and_plain_issues_are_not_one() {
        assert_eq!(issued_entry(&issue(None), "screen"), None);
        let by_pin = issued_entry(
            &issue(Some(IssueOverride {
                manager: Some("Dana".into()),
                code: None,
                cap: CapKind::TillCount,
            })),
            "screen",
        )
        .unwrap();
        assert_eq!(by_pin.manager.as_deref(), Some("Dana"));
        assert_eq!(
            by_pin.detail,
            "Bar (till-2): popcorn voucher ABCD issued past this till's count cap on Dana's PIN"
        );
        let by_code = issued_entry(
            &issue(Some(IssueOverride {
                manager: None,
                code: Some("AAAA-BBBB-CCCC-DDDD".into()),
                cap: CapKind::IncidentValue,
            })),
            "till-2",
        )
        .unwrap();
        assert_eq!(
            (by_code.from.as_str(), by_code.outcome.as_str()),
            ("till-2", "ok")
        );
        assert!(by_code
            .detail
            .ends_with("past the venue's value cap on override code AAAA-BBBB-CCCC-DDDD"));
    }
}
