//! The overrides section of an incident report: every voucher of the incident issued past
//! a cap, per till, per offer, per manager or code, and per cap, with how many; and for
//! each override code, how many vouchers it allows and whether the tills together used it
//! more often than that (possible only while they were cut off from each other: each
//! accepted it once, like a voucher redeemed twice during a partition — reported, never
//! merged away). **Pure**: records stream past one at a time, and what a code allows
//! comes in from the caller, which holds the venue secret.

use super::events::{CapKind, VoucherRecord};
use crate::protocol::Identifier;
use serde::Serialize;
use std::collections::BTreeMap;

/// Vouchers one till issued past one cap of one offer on one manager's or code's say.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OverrideLine {
    pub till: Identifier,
    pub offer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manager: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub cap: CapKind,
    /// Vouchers issued past the cap this way.
    pub issued: u64,
    /// For a code: how many it allows across the venue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<u8>,
    /// For a code: the uses at every till together, when more than it allows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub over_used: Option<u64>,
}

type Key = (Identifier, String, Option<String>, Option<String>, CapKind);

/// The overrides of one incident's records, one record at a time.
#[derive(Default)]
pub struct OverrideTally {
    lines: BTreeMap<Key, u64>,
}

impl OverrideTally {
    /// Counts `record` (already known to be of the incident) if it went past a cap.
    pub fn add(&mut self, record: &VoucherRecord) {
        let (Some(past), Some(issued)) = (&record.past_cap, &record.issued) else {
            return;
        };
        let offer = record
            .offer_id
            .as_ref()
            .map_or_else(|| "unknown".to_owned(), ToString::to_string);
        let key = (
            issued.origin.clone(),
            offer,
            past.manager.clone(),
            past.code.clone(),
            past.cap,
        );
        *self.lines.entry(key).or_default() += 1;
    }

    /// The lines, in till, offer, manager, code order; `over_used` holds each code's uses
    /// at every till until [`weigh_codes`] compares them with what the code allows.
    pub fn finish(self) -> Vec<OverrideLine> {
        let mut uses: BTreeMap<&str, u64> = BTreeMap::new();
        for ((_, _, _, code, _), issued) in &self.lines {
            if let Some(code) = code {
                *uses.entry(code.as_str()).or_default() += issued;
            }
        }
        let uses: BTreeMap<String, u64> = uses
            .into_iter()
            .map(|(code, n)| (code.to_owned(), n))
            .collect();
        self.lines
            .into_iter()
            .map(|((till, offer, manager, code, cap), issued)| OverrideLine {
                over_used: None,
                allowed: None,
                till,
                offer,
                manager,
                code,
                cap,
                issued,
            })
            .map(|mut line| {
                if let Some(code) = &line.code {
                    line.over_used = uses.get(code).copied();
                }
                line
            })
            .collect()
    }
}

/// Fills in what each code allows and keeps `over_used` only where the venue's uses went
/// past it.
pub fn weigh_codes(lines: &mut [OverrideLine], allows: impl Fn(&str) -> Option<u8>) {
    for line in lines.iter_mut() {
        let Some(code) = &line.code else { continue };
        line.allowed = allows(code);
        let used = line.over_used.take().unwrap_or(0);
        line.over_used = line
            .allowed
            .filter(|allowed| used > u64::from(*allowed))
            .map(|_| used);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::voucher::events::{EventMark, IssueOverride};
    use time::OffsetDateTime;

    fn record(till: &str, manager: Option<&str>, code: Option<&str>) -> VoucherRecord {
        VoucherRecord {
            code: format!("{till}{manager:?}{code:?}"),
            offer_id: Some(Identifier::parse("popcorn").unwrap()),
            issued: Some(EventMark {
                origin: Identifier::parse(till).unwrap(),
                seq: 1,
                at: OffsetDateTime::UNIX_EPOCH,
                staff: None,
                till: None,
            }),
            past_cap: Some(IssueOverride {
                manager: manager.map(Into::into),
                code: code.map(Into::into),
                cap: CapKind::TillCount,
            }),
            ..VoucherRecord::default()
        }
    }

    #[test]
    fn overrides_are_counted_per_till_and_a_code_used_past_its_allowance_is_flagged() {
        let mut tally = OverrideTally::default();
        tally.add(&record("till-1", Some("Dana"), None));
        tally.add(&record("till-1", Some("Dana"), None));
        tally.add(&record("till-1", None, Some("AAAA-BBBB-CCCC-DDDD")));
        tally.add(&record("till-2", None, Some("AAAA-BBBB-CCCC-DDDD")));
        tally.add(&VoucherRecord::default());
        let mut lines = tally.finish();
        weigh_codes(&mut lines, |_| Some(1));
        assert_eq!(lines.len(), 3, "{lines:#?}");
        let dana = lines.iter().find(|l| l.manager.is_some()).unwrap();
        assert_eq!((dana.issued, dana.allowed, dana.over_used), (2, None, None));
        let coded: Vec<_> = lines.iter().filter(|l| l.code.is_some()).collect();
        assert!(coded
            .iter()
            .all(|l| l.issued == 1 && l.allowed == Some(1) && l.over_used == Some(2)));
        let mut once = OverrideTally::default();
        once.add(&record("till-1", None, Some("AAAA-BBBB-CCCC-DDDD")));
        let mut lines = once.finish();
        weigh_codes(&mut lines, |_| Some(1));
        assert_eq!(lines[0].over_used, None);
    }
}
