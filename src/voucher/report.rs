//! The vouchers of one incident, for the morning-after report (docs/CONSOLE.md,
//! "Incident report"): issued and redeemed per till and per offer, voids, conflicts, and
//! the outstanding liability — issued, not redeemed, not voided, not expired — valued at
//! the offers' configured face values. **Pure**: the records stream past one at a time
//! (`VoucherStore::each_record`) into [`IncidentTally`], so a store of a million vouchers
//! costs the memory of the answer; the day it is decided on comes in as a voucher day.

use super::code::VoucherFields;
use super::events::{EventMark, VoucherRecord};
use super::figures::{conflict_of, Conflict};
use crate::config::{Money, OfferConfig};
use crate::protocol::Identifier;
use serde::Serialize;
use std::collections::BTreeMap;

/// Conflicts listed at most; all are counted.
pub const MAX_LISTED_CONFLICTS: usize = 500;

/// What one till did in the incident.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TillCounts {
    /// Vouchers of the incident this till issued.
    pub issued: u64,
    /// Redemptions it made of the incident's vouchers (wherever they were issued).
    pub redeemed: u64,
    /// Voids it wrote.
    pub voided: u64,
}

/// One offer's vouchers in the incident.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OfferCounts {
    pub issued: u64,
    /// Vouchers redeemed at least once.
    pub redeemed: u64,
    pub voided: u64,
    /// Past their last day, never redeemed or voided.
    pub expired: u64,
    /// Issued, not redeemed, not voided, not expired: what guests may still claim.
    pub outstanding: u64,
    /// The configured face value of one voucher, if any.
    pub face_value: Option<Money>,
    /// `outstanding` × `face_value`.
    pub liability: Option<Money>,
}

/// A code redeemed more than once, or issued by two tills.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReportConflict {
    pub code: String,
    pub offer: Option<Identifier>,
    pub redemptions: Vec<EventMark>,
    pub also_issued_by: Vec<Identifier>,
}

/// One conflict rule (`figures::conflict_of`), two spellings already read by their
/// consumers: the report's JSON names the offer `offer`, the console's figures `offer_id`.
impl From<Conflict> for ReportConflict {
    fn from(conflict: Conflict) -> Self {
        Self {
            code: conflict.code,
            offer: conflict.offer_id,
            redemptions: conflict.redemptions,
            also_issued_by: conflict.also_issued_by,
        }
    }
}

/// The vouchers part of an incident report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IncidentVouchers {
    pub incident: Identifier,
    /// Per till, by node id (its name in `till_names` when its events carried one).
    pub tills: BTreeMap<Identifier, TillCounts>,
    pub till_names: BTreeMap<Identifier, String>,
    /// Per offer id ("unknown" for an offer no longer configured).
    pub offers: BTreeMap<String, OfferCounts>,
    pub issued: u64,
    pub redeemed: u64,
    pub voided: u64,
    pub expired: u64,
    pub outstanding: u64,
    /// The sum of every offer's liability, when every outstanding offer has a face value.
    pub liability: Option<Money>,
    pub currency: Option<String>,
    pub conflict_count: u64,
    pub conflicts: Vec<ReportConflict>,
    /// Records of the whole store read to find these (the report's cost).
    pub records_read: u64,
    /// Vouchers issued past a cap, and by whose override (`report_overrides`).
    pub overrides: Vec<super::report_overrides::OverrideLine>,
}

/// What a till did to a voucher, as its event marks say.
enum Act {
    Issued,
    Redeemed,
    Voided,
}

/// The tally of one incident's vouchers, one record at a time.
pub struct IncidentTally {
    report: IncidentVouchers,
    overrides: super::report_overrides::OverrideTally,
    face_values: BTreeMap<String, Option<Money>>,
    today: u16,
}

impl IncidentTally {
    /// For `incident`, with the offers' face values, deciding expiry on voucher day `today`.
    pub fn new(
        incident: Identifier,
        offers: &[OfferConfig],
        currency: Option<String>,
        today: u16,
    ) -> Self {
        Self {
            report: IncidentVouchers {
                incident,
                tills: BTreeMap::new(),
                till_names: BTreeMap::new(),
                offers: BTreeMap::new(),
                issued: 0,
                redeemed: 0,
                voided: 0,
                expired: 0,
                outstanding: 0,
                liability: None,
                currency,
                conflict_count: 0,
                conflicts: Vec::new(),
                records_read: 0,
                overrides: Vec::new(),
            },
            overrides: Default::default(),
            face_values: offers
                .iter()
                .map(|offer| (offer.id.to_string(), offer.face_value))
                .collect(),
            today,
        }
    }

    /// Counts `record` if it belongs to the incident; `fields` is what its code carries
    /// (its last day), `None` for a code this venue's secret does not read.
    pub fn add(&mut self, record: &VoucherRecord, fields: Option<VoucherFields>) {
        self.report.records_read += 1;
        if record.incident_id.as_ref() != Some(&self.report.incident) {
            return;
        }
        self.overrides.add(record);
        let report = &mut self.report;
        let marks = record
            .issued
            .iter()
            .map(|mark| (mark, Act::Issued))
            .chain(record.redemptions.iter().map(|mark| (mark, Act::Redeemed)))
            .chain(record.voided.iter().map(|(mark, _)| (mark, Act::Voided)));
        for (mark, what) in marks {
            if let Some(name) = &mark.till {
                report
                    .till_names
                    .entry(mark.origin.clone())
                    .or_insert_with(|| name.clone());
            }
            let till = report.tills.entry(mark.origin.clone()).or_default();
            match what {
                Act::Issued => till.issued += 1,
                Act::Redeemed => till.redeemed += 1,
                Act::Voided => till.voided += 1,
            }
        }
        let offer = record
            .offer_id
            .as_ref()
            .map_or_else(|| "unknown".to_owned(), ToString::to_string);
        let face_value = self.face_values.get(&offer).copied().flatten();
        let counts = report.offers.entry(offer).or_insert_with(|| OfferCounts {
            face_value,
            ..OfferCounts::default()
        });
        counts.issued += 1;
        report.issued += 1;
        if !record.redemptions.is_empty() {
            counts.redeemed += 1;
            report.redeemed += 1;
        } else if record.voided.is_some() {
            counts.voided += 1;
            report.voided += 1;
        } else if fields.is_some_and(|fields| self.today > fields.expiry_day) {
            counts.expired += 1;
            report.expired += 1;
        } else {
            counts.outstanding += 1;
            report.outstanding += 1;
        }
        if record.is_conflict() {
            report.conflict_count += 1;
            if report.conflicts.len() < MAX_LISTED_CONFLICTS {
                report
                    .conflicts
                    .push(ReportConflict::from(conflict_of(record)));
            }
        }
    }

    pub fn finish(mut self) -> IncidentVouchers {
        let mut total = Some(0u64);
        for counts in self.report.offers.values_mut() {
            counts.liability = counts
                .face_value
                .map(|value| Money(value.0.saturating_mul(counts.outstanding)));
            total = match (total, counts.liability) {
                (Some(sum), Some(liability)) => Some(sum.saturating_add(liability.0)),
                _ if counts.outstanding == 0 => total,
                _ => None,
            };
        }
        self.report.liability = total.map(Money);
        self.report.overrides = self.overrides.finish();
        self.report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::OffsetDateTime;

    fn id(text: &str) -> Identifier {
        Identifier::parse(text).unwrap()
    }

    fn mark(origin: &str, till: &str) -> EventMark {
        EventMark {
            origin: id(origin),
            seq: 1,
            at: OffsetDateTime::UNIX_EPOCH,
            staff: None,
            till: Some(till.into()),
        }
    }

    fn offer(name: &str, value: Option<u64>) -> OfferConfig {
        OfferConfig {
            id: id(name),
            number: 1,
            title: name.into(),
            terms: String::new(),
            validity_days: 30,
            per_incident_cap: None,
            till_cap: None,
            till_value_cap: None,
            venue_cap: None,
            venue_value_cap: None,
            face_value: value.map(Money),
        }
    }

    fn fields(expiry_day: u16) -> Option<VoucherFields> {
        Some(VoucherFields {
            offer: 1,
            terminal: 1,
            serial: 1,
            expiry_day,
        })
    }

    #[test]
    fn outstanding_vouchers_are_valued_and_the_rest_are_counted_where_they_happened() {
        let offers = [offer("popcorn", Some(450)), offer("drink", Some(300))];
        let mut tally = IncidentTally::new(id("inc-1"), &offers, Some("EUR".into()), 100);
        let record = |code: &str, offer: &str| VoucherRecord {
            code: code.into(),
            offer_id: Some(id(offer)),
            incident_id: Some(id("inc-1")),
            issued: Some(mark("till-1", "Box office 1")),
            ..Default::default()
        };
        tally.add(&record("A", "popcorn"), fields(200));
        tally.add(&record("B", "popcorn"), fields(200));
        tally.add(&record("C", "popcorn"), fields(50));
        let mut redeemed = record("D", "drink");
        redeemed.redemptions = vec![mark("till-2", "Bar"), mark("till-1", "Box office 1")];
        tally.add(&redeemed, fields(200));
        let mut voided = record("E", "drink");
        voided.voided = Some((mark("console", "Office"), "lost".into()));
        tally.add(&voided, fields(200));
        let mut elsewhere = record("F", "drink");
        elsewhere.incident_id = Some(id("inc-2"));
        tally.add(&elsewhere, fields(200));
        let report = tally.finish();
        assert_eq!(report.records_read, 6);
        assert_eq!((report.issued, report.redeemed, report.voided), (5, 1, 1));
        assert_eq!((report.expired, report.outstanding), (1, 2));
        assert_eq!(report.offers["popcorn"].liability, Some(Money(900)));
        assert_eq!(report.offers["drink"].outstanding, 0);
        assert_eq!(report.liability, Some(Money(900)));
        assert_eq!(
            report.tills[&id("till-1")],
            TillCounts {
                issued: 5,
                redeemed: 1,
                voided: 0
            }
        );
        assert_eq!(report.tills[&id("till-2")].redeemed, 1);
        assert_eq!(report.till_names[&id("till-2")], "Bar");
        assert_eq!(report.conflict_count, 1);
        assert_eq!(report.conflicts[0].code, "D");
    }

    #[test]
    fn an_outstanding_offer_without_a_face_value_leaves_the_total_unknown() {
        let offers = [offer("popcorn", None)];
        let mut tally = IncidentTally::new(id("inc-1"), &offers, None, 0);
        tally.add(
            &VoucherRecord {
                code: "A".into(),
                offer_id: Some(id("popcorn")),
                incident_id: Some(id("inc-1")),
                ..Default::default()
            },
            fields(10),
        );
        let report = tally.finish();
        assert_eq!(report.outstanding, 1);
        assert_eq!(report.liability, None, "not zero: unknown");
    }
}
