//! The console's voucher figures: issued, redeemed and voided tonight (the business day
//! that started at the configured local time) and for the current incident, plus every
//! conflict (a code redeemed twice during a partition, or issued by two terminals).
//! Pure. What one record adds to them is its [`Contribution`]; the store keeps their sums
//! and changes them by `after − before` in the transaction that writes a record
//! (`store/figures.rs`), so the console answers without reading the replica.
//! [`FiguresTally`] is the same figures by one pass over every record: the reference the
//! sums are property-tested against, and timed beside them by `raincheck bench reports`.

use crate::protocol::Identifier;
use crate::voucher::events::{EventMark, VoucherRecord};
use serde::Serialize;
use time::{Duration, OffsetDateTime, Time, UtcOffset};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub issued: usize,
    pub redeemed: usize,
    pub voided: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IncidentCounts {
    pub incident_id: Identifier,
    #[serde(flatten)]
    pub counts: Counts,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Conflict {
    pub code: String,
    pub offer_id: Option<Identifier>,
    pub redemptions: Vec<EventMark>,
    /// Other terminals that issued the same code (a terminal number configured twice).
    pub also_issued_by: Vec<Identifier>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VoucherFigures {
    pub tonight: Counts,
    pub incident: Option<IncidentCounts>,
    pub total: usize,
    /// Every conflict counted; `conflicts` lists the first `MAX_LISTED_CONFLICTS`.
    pub conflict_count: usize,
    pub conflicts: Vec<Conflict>,
    #[serde(with = "time::serde::rfc3339")]
    pub business_day_started_at: OffsetDateTime,
}

/// The minute (since the Unix epoch) an instant falls in: the figures' unit of time. A
/// business day starts on a whole minute, so "at or after the day's start" is "in the
/// start's minute or later".
pub fn minute_of(at: OffsetDateTime) -> i64 {
    at.unix_timestamp().div_euclid(60)
}

/// Which of a minute's three counts a mark adds to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkKind {
    Issued,
    Redeemed,
    Voided,
}

/// What one stored record adds to the figures.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Contribution {
    /// Each of its marks, in the minute it happened.
    pub marks: Vec<(i64, MarkKind)>,
    /// Its incident and what it adds there: issued 1, redeemed 1 if redeemed at all,
    /// voided 1 if voided (an incident's figures count vouchers, not redemptions).
    pub incident: Option<(Identifier, Counts)>,
    pub conflict: bool,
}

/// A record's contribution; every record also adds one to the total.
pub fn contribution(record: &VoucherRecord) -> Contribution {
    let mut marks = Vec::with_capacity(1 + record.redemptions.len());
    if let Some(issued) = &record.issued {
        marks.push((minute_of(issued.at), MarkKind::Issued));
    }
    for redeemed in &record.redemptions {
        marks.push((minute_of(redeemed.at), MarkKind::Redeemed));
    }
    if let Some((voided, _)) = &record.voided {
        marks.push((minute_of(voided.at), MarkKind::Voided));
    }
    Contribution {
        marks,
        incident: record.incident_id.clone().map(|incident| {
            let counts = Counts {
                issued: 1,
                redeemed: usize::from(!record.redemptions.is_empty()),
                voided: usize::from(record.voided.is_some()),
            };
            (incident, counts)
        }),
        conflict: record.is_conflict(),
    }
}

/// A conflict as the console lists it.
pub fn conflict_of(record: &VoucherRecord) -> Conflict {
    Conflict {
        code: record.code.clone(),
        offer_id: record.offer_id.clone(),
        redemptions: record.redemptions.clone(),
        also_issued_by: record
            .duplicate_issues
            .iter()
            .map(|m| m.origin.clone())
            .collect(),
    }
}

/// When the business day containing `now` started: the latest `hour:minute` local time
/// not after `now`.
pub fn business_day_start(now: OffsetDateTime, offset: UtcOffset, starts: Time) -> OffsetDateTime {
    let local = now.to_offset(offset);
    let today = local.replace_time(starts);
    if today <= local {
        today
    } else {
        today - Duration::days(1)
    }
}

/// Conflicts listed at most; the figures count them all.
pub const MAX_LISTED_CONFLICTS: usize = 200;

/// The figures, added up one record at a time as the store streams past: memory is that
/// of the answer, not of the store, but time is that of the whole store.
pub struct FiguresTally {
    day_start: OffsetDateTime,
    incident: Option<Identifier>,
    tonight: Counts,
    for_incident: Counts,
    total: usize,
    conflict_count: usize,
    conflicts: Vec<Conflict>,
}

impl FiguresTally {
    pub fn new(day_start: OffsetDateTime, incident: Option<Identifier>) -> Self {
        Self {
            day_start,
            incident,
            tonight: Counts::default(),
            for_incident: Counts::default(),
            total: 0,
            conflict_count: 0,
            conflicts: Vec::new(),
        }
    }

    pub fn add(&mut self, record: &VoucherRecord) {
        let day_start = self.day_start;
        let since_start = |mark: &EventMark| mark.at >= day_start;
        let tonight = &mut self.tonight;
        tonight.issued += usize::from(record.issued.as_ref().is_some_and(since_start));
        tonight.redeemed += record.redemptions.iter().filter(|m| since_start(m)).count();
        tonight.voided += usize::from(record.voided.as_ref().is_some_and(|(m, _)| since_start(m)));
        if self.incident.is_some() && record.incident_id == self.incident {
            self.for_incident.issued += 1;
            self.for_incident.redeemed += usize::from(!record.redemptions.is_empty());
            self.for_incident.voided += usize::from(record.voided.is_some());
        }
        self.total += 1;
        if record.is_conflict() {
            self.conflict_count += 1;
            if self.conflicts.len() < MAX_LISTED_CONFLICTS {
                self.conflicts.push(conflict_of(record));
            }
        }
    }

    pub fn finish(self) -> VoucherFigures {
        VoucherFigures {
            tonight: self.tonight,
            incident: self.incident.map(|incident_id| IncidentCounts {
                incident_id,
                counts: self.for_incident,
            }),
            total: self.total,
            conflict_count: self.conflict_count,
            conflicts: self.conflicts,
            business_day_started_at: self.day_start,
        }
    }
}

/// The figures of `records` held in memory (the tests).
#[cfg(test)]
pub fn voucher_figures(
    records: &[VoucherRecord],
    day_start: OffsetDateTime,
    incident: Option<&Identifier>,
) -> VoucherFigures {
    let mut tally = FiguresTally::new(day_start, incident.cloned());
    records.iter().for_each(|record| tally.add(record));
    tally.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn mark(origin: &str, at: OffsetDateTime) -> EventMark {
        EventMark {
            origin: Identifier::parse(origin).unwrap(),
            seq: 1,
            at,
            staff: None,
            till: None,
        }
    }

    #[test]
    fn the_business_day_starts_at_the_configured_local_time() {
        let offset = UtcOffset::from_hms(1, 0, 0).unwrap();
        // 03:30 local is still the previous business day when it starts at 05:00.
        let start = business_day_start(
            datetime!(2026-11-22 02:30 UTC),
            offset,
            time::macros::time!(05:00),
        );
        assert_eq!(start, datetime!(2026-11-21 05:00 +1));
        let start = business_day_start(
            datetime!(2026-11-22 19:30 UTC),
            offset,
            time::macros::time!(05:00),
        );
        assert_eq!(start, datetime!(2026-11-22 05:00 +1));
    }

    #[test]
    fn tonight_and_incident_counts_and_conflicts() {
        let day = datetime!(2026-11-22 05:00 UTC);
        let incident = Identifier::parse("inc-1").unwrap();
        let earlier = datetime!(2026-11-21 22:00 UTC);
        let later = datetime!(2026-11-22 20:00 UTC);
        let records = vec![
            VoucherRecord {
                code: "A".into(),
                incident_id: Some(incident.clone()),
                issued: Some(mark("till-1", later)),
                redemptions: vec![mark("till-1", later), mark("till-2", later)],
                ..Default::default()
            },
            VoucherRecord {
                code: "B".into(),
                issued: Some(mark("till-1", earlier)),
                voided: Some((mark("console", later), "lost".into())),
                ..Default::default()
            },
        ];
        let figures = voucher_figures(&records, day, Some(&incident));
        assert_eq!(
            figures.tonight,
            Counts {
                issued: 1,
                redeemed: 2,
                voided: 1
            }
        );
        assert_eq!(
            figures.incident.unwrap().counts,
            Counts {
                issued: 1,
                redeemed: 1,
                voided: 0
            }
        );
        assert_eq!(figures.total, 2);
        assert_eq!(figures.conflicts.len(), 1);
        assert_eq!(figures.conflicts[0].code, "A");
    }
}
