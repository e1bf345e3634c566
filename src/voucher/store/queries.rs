//! The voucher store's read-only side: provenance flags, looking a code up, every record
//! (for exports and figures), a replay's events and the watermarks. Nothing here writes
//! a voucher; the writes and their transactions are in `store.rs`.

use super::{event_key, read_u64, StoreError, VoucherStore};
use crate::protocol::Identifier;
use crate::voucher::code::{CodeError, VoucherCode};
use crate::voucher::events::{VoucherEvent, VoucherRecord};
use std::collections::BTreeMap;

/// A stored record or event, or why the store is corrupt.
pub(super) fn decoded<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl VoucherStore {
    /// Whether this store was restored or moved and has not yet been found current
    /// (see `provenance`).
    pub fn unproven(&self) -> Result<bool, StoreError> {
        Ok(crate::voucher::provenance::is_unproven(&self.meta)?)
    }

    /// The venue's marks show this store is current.
    pub fn mark_proven(&self) -> Result<(), StoreError> {
        Ok(crate::voucher::provenance::mark_proven(&self.meta)?)
    }

    /// The parsed code and what this terminal knows of it.
    pub fn lookup(
        &self,
        text: &str,
    ) -> Result<(Result<VoucherCode, CodeError>, Option<VoucherRecord>), StoreError> {
        let parsed = VoucherCode::parse(text, &self.secret);
        let record = match &parsed {
            Ok(code) => match self.vouchers.get(code.compact().as_bytes())? {
                Some(bytes) => Some(decoded(&bytes)?),
                None => None,
            },
            Err(_) => None,
        };
        Ok((parsed, record))
    }

    /// Every record, in code order, all in memory; whole-store reads stream with
    /// [`Self::each_record`].
    pub fn records(&self) -> Result<Vec<VoucherRecord>, StoreError> {
        let mut records = Vec::new();
        self.each_record(|record| records.push(record))?;
        Ok(records)
    }

    /// Hands every record to `visit`, in code order, one at a time: memory stays that of
    /// one record whatever the store holds (the figures, reports and the CSV export).
    pub fn each_record(&self, mut visit: impl FnMut(VoucherRecord)) -> Result<(), StoreError> {
        for entry in self.vouchers.iter() {
            let (_, bytes) = entry?;
            visit(decoded(&bytes)?);
        }
        Ok(())
    }

    /// What a stored code carries (its offer number, terminal and last day), read with
    /// this venue's secret; `None` for a code that is not this venue's.
    pub fn code_fields(&self, code: &str) -> Option<crate::voucher::code::VoucherFields> {
        VoucherCode::parse(code, &self.secret)
            .ok()
            .map(|parsed| parsed.fields)
    }

    /// Events of `origin` with a sequence above `after`, in order, at most `limit`.
    pub fn events_after(
        &self,
        origin: &Identifier,
        after: u64,
        limit: usize,
    ) -> Result<Vec<VoucherEvent>, StoreError> {
        let start = event_key(origin.as_str(), after.saturating_add(1));
        let end = event_key(origin.as_str(), u64::MAX);
        self.events
            .range(start..=end)
            .take(limit)
            .map(|entry| {
                let (_, bytes) = entry?;
                decoded(&bytes)
            })
            .collect()
    }

    /// Per origin, the highest sequence up to which every event is present.
    pub fn watermarks(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        self.meta
            .scan_prefix("wm/")
            .map(|entry| {
                let (key, value) = entry?;
                let origin = String::from_utf8_lossy(&key[3..]).into_owned();
                Ok((origin, read_u64(Some(value))))
            })
            .collect()
    }

    /// Bytes the store occupies on disk.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()?)
    }
}
