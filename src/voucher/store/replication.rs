//! The voucher store's replication side: other terminals' events merged in (each code
//! checked against the venue secret, one flush per batch), and this terminal's own events
//! taken back from a peer after a restore, so nothing issued from here repeats them. The
//! terminal's own writes are in `store.rs`.

use super::*;
use crate::voucher::override_code::OverrideCode;

impl VoucherStore {
    /// Applies other terminals' events, skipping any already known and any whose code is
    /// not a valid code of this venue; one flush for the batch. Returns how many were new.
    pub fn apply_remote(&self, batch: &[VoucherEvent]) -> Result<usize, StoreError> {
        let valid: Vec<&VoucherEvent> = batch.iter().filter(|e| self.storable(e)).collect();
        let applied = flatten((&self.meta, &self.vouchers, &self.events).transaction(
            |(meta, vouchers, events)| {
                let mut applied = 0;
                for event in &valid {
                    let key = event_key(event.origin.as_str(), event.seq);
                    if events.get(&key)?.is_some() {
                        continue;
                    }
                    put_json(events, &key, event)?;
                    let code = event.change.code();
                    let before = record_in(vouchers, code)?;
                    super::figures::store_applied(meta, vouchers, before.as_ref(), event)?;
                    // Advance the origin's watermark over every contiguous event now present.
                    let watermark_key = format!("wm/{}", event.origin);
                    let mut watermark = read_u64(meta.get(watermark_key.as_bytes())?);
                    while events
                        .get(event_key(event.origin.as_str(), watermark + 1))?
                        .is_some()
                    {
                        watermark += 1;
                    }
                    meta.insert(watermark_key.as_bytes(), &watermark.to_be_bytes())?;
                    if event.origin == self.node {
                        self.take_back(meta, event)?;
                    }
                    self.count_issue(meta, event)?;
                    applied += 1;
                }
                Ok(applied)
            },
        ))?;
        if applied > 0 {
            self.db.flush()?;
        }
        Ok(applied)
    }

    /// The overrides other tills took among `batch` that `apply_remote` would store now
    /// (valid and not yet known): what a console writes to its audit log before storing
    /// them, so a crash between the two repeats a line rather than losing one.
    pub fn unheard_overrides(
        &self,
        batch: &[VoucherEvent],
    ) -> Result<Vec<VoucherEvent>, StoreError> {
        let mut unheard = Vec::new();
        for event in batch {
            let past_cap = matches!(
                &event.change,
                VoucherChange::Issued {
                    past_cap: Some(_),
                    ..
                }
            );
            if !past_cap || event.origin == self.node || !self.storable(event) {
                continue;
            }
            let twice = |e: &VoucherEvent| e.origin == event.origin && e.seq == event.seq;
            let key = event_key(event.origin.as_str(), event.seq);
            if !self.events.contains_key(key)? && !unheard.iter().any(twice) {
                unheard.push(event.clone());
            }
        }
        Ok(unheard)
    }

    /// Whether another terminal's event may be stored: this version, and a canonical code
    /// of this venue (a record must never be keyed by a spelling).
    fn storable(&self, event: &VoucherEvent) -> bool {
        event.v == EVENT_VERSION
            && VoucherCode::parse(event.change.code(), &self.secret)
                .is_ok_and(|code| code.compact() == event.change.code())
    }

    /// One of this terminal's own events came back from a peer: this store was behind
    /// (restored from an old backup). Its sequence, its serial and its incident cap count
    /// are taken as used, so nothing issued from here repeats them.
    fn take_back(&self, meta: &TransactionalTree, event: &VoucherEvent) -> TransactionResult<()> {
        let next_seq = read_u64(meta.get("next_seq")?).max(event.seq + 1);
        meta.insert("next_seq", &next_seq.to_be_bytes())?;
        if let VoucherChange::Issued {
            code,
            incident_id,
            offer_id,
            ..
        } = &event.change
        {
            let Ok(parsed) = VoucherCode::parse(code, &self.secret) else {
                return Ok(());
            };
            let serial = u64::from(parsed.fields.serial);
            let next_serial = read_u64(meta.get("next_serial")?).max(serial + 1);
            meta.insert("next_serial", &next_serial.to_be_bytes())?;
            if let Some(incident) = incident_id {
                let (key, _) = count_keys(incident, offer_id);
                let count = read_u64(meta.get(key.as_bytes())?) + 1;
                meta.insert(key.as_bytes(), &count.to_be_bytes())?;
            }
        }
        Ok(())
    }

    /// An issue this store did not hold: it counts towards the venue's caps, and a use of
    /// an override code counts against the code. A code used more often than it allows was
    /// used at tills cut off from each other; that is logged here and shown in the report.
    fn count_issue(&self, meta: &TransactionalTree, event: &VoucherEvent) -> TransactionResult<()> {
        let VoucherChange::Issued {
            offer_id,
            incident_id,
            past_cap,
            ..
        } = &event.change
        else {
            return Ok(());
        };
        if let Some(incident) = incident_id {
            let (_, key) = count_keys(incident, offer_id);
            let count = read_u64(meta.get(key.as_bytes())?) + 1;
            meta.insert(key.as_bytes(), &count.to_be_bytes())?;
        }
        let Some(code) = past_cap.as_ref().and_then(|past| past.code.as_ref()) else {
            return Ok(());
        };
        let key = override_key(code);
        let used = read_u64(meta.get(key.as_bytes())?) + 1;
        meta.insert(key.as_bytes(), &used.to_be_bytes())?;
        let allowed = OverrideCode::parse(code, &self.secret).map_or(0, |code| code.fields.extra);
        if used > u64::from(allowed) {
            tracing::warn!(
                code = %code,
                used,
                allowed,
                origin = %event.origin,
                "an override code was used more often than it allows: tills cut off from each other each accepted it"
            );
        }
        Ok(())
    }
}
