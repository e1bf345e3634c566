//! The voucher figures kept as running sums in the store's `meta` tree, so a console with
//! a million vouchers answers them without reading its replica. Every write of a record
//! (`store_applied`, used by the till's own issue, redeem and void and by replication)
//! changes the sums by the record's contribution after minus before, inside the same
//! transaction: the sums can never disagree with the records after a crash. A store made
//! before the sums existed (or with another `FIGURES_VERSION`) has them counted once when
//! it opens. Keys: `fig/total`, `fig/conflicts`, `fig/m/{minute}` and `fig/i/{incident}`
//! (three counts: issued, redeemed, voided) and `fig/c/{code}` for each conflict.

use super::*;
use crate::voucher::figures::{
    conflict_of, contribution, minute_of, Counts, IncidentCounts, MarkKind, VoucherFigures,
    MAX_LISTED_CONFLICTS,
};
use std::collections::BTreeMap;

/// Bumped when what the sums count changes: a store marked otherwise counts them again.
const FIGURES_VERSION: u32 = 1;
const VERSION_KEY: &str = "fig/version";
const TOTAL_KEY: &str = "fig/total";
const CONFLICTS_KEY: &str = "fig/conflicts";
const MINUTE_PREFIX: &str = "fig/m/";
const INCIDENT_PREFIX: &str = "fig/i/";
const CONFLICT_PREFIX: &str = "fig/c/";

/// A minute's key: its sign bit flipped and big-endian, so keys sort as minutes do.
fn minute_key(minute: i64) -> Vec<u8> {
    let mut key = MINUTE_PREFIX.as_bytes().to_vec();
    key.extend_from_slice(&((minute as u64) ^ (1 << 63)).to_be_bytes());
    key
}

fn incident_key(incident: &Identifier) -> String {
    format!("{INCIDENT_PREFIX}{incident}")
}

fn conflict_key(code: &str) -> String {
    format!("{CONFLICT_PREFIX}{code}")
}

fn read_counts(value: Option<sled::IVec>) -> [u64; 3] {
    let mut counts = [0; 3];
    if let Some(bytes) = value.filter(|bytes| bytes.len() == 24) {
        for (count, chunk) in counts.iter_mut().zip(bytes.chunks_exact(8)) {
            *count = u64::from_be_bytes(chunk.try_into().expect("chunks of eight bytes"));
        }
    }
    counts
}

fn counts_bytes(counts: [u64; 3]) -> Vec<u8> {
    counts
        .iter()
        .flat_map(|count| count.to_be_bytes())
        .collect()
}

fn as_counts(counts: [u64; 3]) -> Counts {
    let [issued, redeemed, voided] = counts.map(|count| count as usize);
    Counts {
        issued,
        redeemed,
        voided,
    }
}

/// A count moved by a signed change. The sums only ever undo what they added, so a
/// result below zero means the sums were damaged; they stay at zero rather than wrap.
fn moved(count: u64, change: i64) -> u64 {
    count.saturating_add_signed(change)
}

/// Signed changes to the sums, gathered first so a key touched twice is written once.
#[derive(Default)]
struct SumChanges {
    total: i64,
    conflicts: i64,
    minutes: BTreeMap<i64, [i64; 3]>,
    incidents: BTreeMap<Identifier, [i64; 3]>,
}

impl SumChanges {
    fn add(&mut self, record: &VoucherRecord, sign: i64) {
        let contribution = contribution(record);
        self.total += sign;
        self.conflicts += sign * i64::from(contribution.conflict);
        for (minute, kind) in contribution.marks {
            let slot = match kind {
                MarkKind::Issued => 0,
                MarkKind::Redeemed => 1,
                MarkKind::Voided => 2,
            };
            self.minutes.entry(minute).or_default()[slot] += sign;
        }
        if let Some((incident, counts)) = contribution.incident {
            let change = self.incidents.entry(incident).or_default();
            for (slot, count) in [counts.issued, counts.redeemed, counts.voided]
                .into_iter()
                .enumerate()
            {
                change[slot] += sign * count as i64;
            }
        }
    }
}

/// Stores the record `event` makes of `before` (the record of the event's code the
/// transaction read, `None` for a new code) and moves the figures by what changed: the
/// one way a record is written.
pub(super) fn store_applied(
    meta: &TransactionalTree,
    vouchers: &TransactionalTree,
    before: Option<&VoucherRecord>,
    event: &VoucherEvent,
) -> TransactionResult<()> {
    let mut after = before.cloned().unwrap_or_default();
    after.apply(event);
    let after = &after;
    put_json(vouchers, after.code.as_bytes(), after)?;
    let mut changes = SumChanges::default();
    if let Some(before) = before {
        changes.add(before, -1);
    }
    changes.add(after, 1);
    for (key, change) in [
        (TOTAL_KEY, changes.total),
        (CONFLICTS_KEY, changes.conflicts),
    ] {
        if change != 0 {
            let count = moved(read_u64(meta.get(key)?), change);
            meta.insert(key, &count.to_be_bytes())?;
        }
    }
    let keyed = changes
        .minutes
        .into_iter()
        .map(|(minute, change)| (minute_key(minute), change))
        .chain(
            changes
                .incidents
                .into_iter()
                .map(|(incident, change)| (incident_key(&incident).into_bytes(), change)),
        );
    for (key, change) in keyed.filter(|(_, change)| *change != [0; 3]) {
        let mut counts = read_counts(meta.get(&key)?);
        for (count, change) in counts.iter_mut().zip(change) {
            *count = moved(*count, change);
        }
        if counts == [0; 3] {
            meta.remove(key)?;
        } else {
            meta.insert(key, counts_bytes(counts))?;
        }
    }
    let was_conflict = before.is_some_and(VoucherRecord::is_conflict);
    if was_conflict != after.is_conflict() {
        let key = conflict_key(&after.code);
        if after.is_conflict() {
            meta.insert(key.as_bytes(), &[])?;
        } else {
            meta.remove(key.as_bytes())?;
        }
    }
    Ok(())
}

impl VoucherStore {
    /// The figures for the business day that started at `day_start` and for `incident`,
    /// from the sums: a handful of reads (one per minute of the day that saw a change,
    /// and the listed conflicts' records) whatever the store holds.
    pub fn figures(
        &self,
        day_start: OffsetDateTime,
        incident: Option<Identifier>,
    ) -> Result<VoucherFigures, StoreError> {
        let mut tonight = [0u64; 3];
        for entry in self.meta.range(minute_key(minute_of(day_start))..) {
            let (key, value) = entry?;
            if !key.starts_with(MINUTE_PREFIX.as_bytes()) {
                break;
            }
            for (sum, count) in tonight.iter_mut().zip(read_counts(Some(value))) {
                *sum += count;
            }
        }
        let incident = match incident {
            Some(incident) => {
                let counts = read_counts(self.meta.get(incident_key(&incident))?);
                Some(IncidentCounts {
                    incident_id: incident,
                    counts: as_counts(counts),
                })
            }
            None => None,
        };
        let mut conflicts = Vec::new();
        for entry in self
            .meta
            .scan_prefix(CONFLICT_PREFIX)
            .take(MAX_LISTED_CONFLICTS)
        {
            let (key, _) = entry?;
            let code = &key[CONFLICT_PREFIX.len()..];
            if let Some(bytes) = self.vouchers.get(code)? {
                conflicts.push(conflict_of(&queries::decoded(&bytes)?));
            }
        }
        Ok(VoucherFigures {
            tonight: as_counts(tonight),
            incident,
            total: read_u64(self.meta.get(TOTAL_KEY)?) as usize,
            conflict_count: read_u64(self.meta.get(CONFLICTS_KEY)?) as usize,
            conflicts,
            business_day_started_at: day_start,
        })
    }

    /// Counts the sums from every record if this store has none of this version (made
    /// before they existed): once, at open, before anything else writes. One batch, so
    /// a kill part-way leaves the store as it was and the next open counts again.
    pub(super) fn ensure_figures(&self) -> Result<(), StoreError> {
        let version = self.meta.get(VERSION_KEY)?;
        if version.as_deref() == Some(&FIGURES_VERSION.to_be_bytes()[..]) {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        for key in self.meta.scan_prefix("fig/").keys() {
            batch.remove(key?);
        }
        let mut sums = SumChanges::default();
        self.each_record(|record| {
            sums.add(&record, 1);
            if record.is_conflict() {
                batch.insert(conflict_key(&record.code).as_bytes(), &[]);
            }
        })?;
        let count = |change: i64| moved(0, change).to_be_bytes();
        batch.insert(TOTAL_KEY, &count(sums.total));
        batch.insert(CONFLICTS_KEY, &count(sums.conflicts));
        let counts = |change: [i64; 3]| counts_bytes(change.map(|change| moved(0, change)));
        for (minute, change) in sums.minutes {
            batch.insert(minute_key(minute), counts(change));
        }
        for (incident, change) in sums.incidents {
            batch.insert(incident_key(&incident).as_bytes(), counts(change));
        }
        batch.insert(VERSION_KEY, &FIGURES_VERSION.to_be_bytes());
        self.meta.apply_batch(batch)?;
        self.db.flush()?;
        if sums.total > 0 {
            tracing::info!(
                vouchers = sums.total,
                "counted the voucher figures of the stored vouchers once"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "figures_tests.rs"]
mod tests;
