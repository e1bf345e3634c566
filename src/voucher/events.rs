//! Voucher events and the per-voucher record they build. Every change to a voucher is an
//! event keyed by (origin terminal, sequence); a record is the merge of all events about
//! one code. Merging is idempotent and order-independent (a set of events per record), so
//! replays and resyncs never count twice, and two redemptions of one code are both kept:
//! a conflict is reported, never merged away (brief, invariant 5). The events themselves
//! are wire types (`protocol::vouchers`); the records are this terminal's.

pub use crate::protocol::vouchers::{
    CapKind, IssueOverride, VoucherChange, VoucherEvent, EVENT_VERSION,
};
use crate::protocol::Identifier;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Where and when something happened to a voucher.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EventMark {
    pub origin: Identifier,
    pub seq: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff: Option<String>,
    /// The till's name as it wrote the event, if it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub till: Option<String>,
}

impl EventMark {
    fn of(event: &VoucherEvent) -> Self {
        Self {
            origin: event.origin.clone(),
            seq: event.seq,
            at: event.at,
            staff: event.staff.clone(),
            till: event.till.clone(),
        }
    }
}

/// Everything known about one code.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherRecord {
    pub code: String,
    #[serde(default)]
    pub offer_id: Option<Identifier>,
    #[serde(default)]
    pub incident_id: Option<Identifier>,
    #[serde(default)]
    pub issued: Option<EventMark>,
    /// More than one means the voucher was redeemed twice (during a partition): a conflict.
    #[serde(default)]
    pub redemptions: Vec<EventMark>,
    #[serde(default)]
    pub voided: Option<(EventMark, String)>,
    /// Other issue events for the same code: two terminals share a terminal number.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub duplicate_issues: Vec<EventMark>,
    /// The manager or code that let it be issued past a cap (see `voucher::limits`).
    #[serde(rename = "override", default, skip_serializing_if = "Option::is_none")]
    pub past_cap: Option<IssueOverride>,
}

impl VoucherRecord {
    /// Merges one event in; false when it was already known.
    pub fn apply(&mut self, event: &VoucherEvent) -> bool {
        let mark = EventMark::of(event);
        self.code = event.change.code().to_owned();
        match &event.change {
            VoucherChange::Issued {
                offer_id,
                incident_id,
                past_cap,
                ..
            } => {
                let same = |m: &EventMark| m.origin == mark.origin && m.seq == mark.seq;
                if self.issued.as_ref().is_some_and(same) || self.duplicate_issues.iter().any(same)
                {
                    return false;
                }
                // The first issue by (origin, seq) is the voucher; any other is a conflict
                // (only a terminal number configured twice can produce one).
                let incoming = mark.clone();
                match self.issued.take() {
                    None => self.issued = Some(mark),
                    Some(existing) => {
                        let (first, other) =
                            if (&existing.origin, existing.seq) <= (&mark.origin, mark.seq) {
                                (existing, mark)
                            } else {
                                (mark, existing)
                            };
                        self.issued = Some(first);
                        self.duplicate_issues.push(other);
                        self.duplicate_issues.sort();
                    }
                }
                if self.issued.as_ref() == Some(&incoming) {
                    self.offer_id = Some(offer_id.clone());
                    self.incident_id = incident_id.clone();
                    self.past_cap = past_cap.clone();
                }
                true
            }
            VoucherChange::Redeemed { .. } => {
                if self
                    .redemptions
                    .iter()
                    .any(|m| m.origin == mark.origin && m.seq == mark.seq)
                {
                    return false;
                }
                self.redemptions.push(mark);
                // First in time first, so "already redeemed at…" names the earliest.
                self.redemptions
                    .sort_by(|a, b| (a.at, &a.origin, a.seq).cmp(&(b.at, &b.origin, b.seq)));
                true
            }
            VoucherChange::Voided { reason, .. } => {
                // Keep the first void by (origin, seq) so every terminal keeps the same one.
                if self
                    .voided
                    .as_ref()
                    .is_some_and(|(m, _)| (&m.origin, m.seq) <= (&mark.origin, mark.seq))
                {
                    return false;
                }
                self.voided = Some((mark, reason.clone()));
                true
            }
        }
    }

    pub fn is_conflict(&self) -> bool {
        self.redemptions.len() > 1 || !self.duplicate_issues.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(origin: &str, seq: u64, change: VoucherChange) -> VoucherEvent {
        VoucherEvent {
            v: EVENT_VERSION,
            origin: Identifier::parse(origin).unwrap(),
            seq,
            at: OffsetDateTime::UNIX_EPOCH,
            staff: None,
            till: None,
            change,
        }
    }

    #[test]
    fn merging_is_idempotent_order_independent_and_keeps_double_redemptions() {
        let code = "ABCD".to_owned();
        let events = vec![
            event(
                "till-1",
                1,
                VoucherChange::Issued {
                    code: code.clone(),
                    offer_id: Identifier::parse("popcorn").unwrap(),
                    incident_id: None,
                    past_cap: None,
                },
            ),
            event("till-1", 2, VoucherChange::Redeemed { code: code.clone() }),
            event("till-2", 7, VoucherChange::Redeemed { code: code.clone() }),
        ];
        let mut forward = VoucherRecord::default();
        for e in &events {
            forward.apply(e);
        }
        let mut backward = VoucherRecord::default();
        for e in events.iter().rev().chain(events.iter()) {
            backward.apply(e);
        }
        assert_eq!(forward, backward);
        assert!(forward.is_conflict(), "two redemptions are both kept");
        assert!(!forward.apply(&events[1]), "a replay changes nothing");
    }

    #[test]
    fn the_same_code_issued_by_two_terminals_is_a_conflict_in_any_order() {
        let issued = |origin: &str| {
            event(
                origin,
                1,
                VoucherChange::Issued {
                    code: "ABCD".into(),
                    offer_id: Identifier::parse("popcorn").unwrap(),
                    incident_id: None,
                    past_cap: None,
                },
            )
        };
        let (one, two) = (issued("till-1"), issued("till-7"));
        let mut a = VoucherRecord::default();
        a.apply(&one);
        a.apply(&two);
        let mut b = VoucherRecord::default();
        b.apply(&two);
        b.apply(&one);
        b.apply(&two);
        assert_eq!(a, b);
        assert!(a.is_conflict());
        assert_eq!(a.issued.as_ref().map(|m| m.origin.as_str()), Some("till-1"));
    }
}
