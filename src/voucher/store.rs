//! The voucher store: sled on the terminal's disk. Trees: `meta` (format version, venue,
//! node, next serial and sequence, per-origin watermarks, per incident and offer the
//! vouchers this till and the venue issued — what `limits` judges the caps on — each
//! override code's uses, and the console's figures as running sums, `store/figures.rs`),
//! `vouchers`
//! (compact code → record) and `events` (origin, sequence → event). Every issue, redeem
//! and void is one sled transaction followed by a flush, and only then reported
//! (invariant 4): a `kill -9` at any instant loses nothing that was reported, and since
//! the serial is taken in the same transaction that stores the voucher, no two vouchers
//! ever share a code. Calls block on the disk; async callers use `spawn_blocking`.

use super::code::{CodeError, VoucherCode, VoucherFields, VoucherSecret};
use super::events::{VoucherChange, VoucherEvent, VoucherRecord, EVENT_VERSION};
use super::lifecycle::{
    judge_redemption, judge_void, RedeemAnswer, RedeemContext, Redemption, VoidRefusal,
};
use super::limits::{judge_issue, CapReached, Caps, Issued};
use super::override_code::{judge_code, override_minute, OverrideCode, OverrideRefusal};
use crate::config::OfferConfig;
use crate::protocol::vouchers::IssueOverride;
use crate::protocol::vouchers::MAX_STAFF_CHARS;
use crate::protocol::Identifier;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use sled::Transactional;
use std::path::PathBuf;
use time::OffsetDateTime;

mod figures;
mod opening;
mod queries;
mod replication;

/// The on-disk format this build reads and writes.
pub const STORE_FORMAT: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the voucher store at {path}: {reason}; is another raincheck using it, and is the disk writable?")]
    Open { path: PathBuf, reason: String },
    #[error("the voucher store at {path} {detail}; it was not changed. Point node.data_dir at this node's own store")]
    Foreign { path: PathBuf, detail: String },
    #[error("the voucher store is format {0}, newer than this build reads ({STORE_FORMAT}); upgrade raincheck")]
    UnsupportedFormat(u32),
    #[error(
        "the voucher store is damaged ({0}); restore it from a backup or another terminal's sync"
    )]
    Corrupt(String),
    #[error(
        "this terminal has issued every serial its codes can hold; give it a new terminal number"
    )]
    SerialsExhausted,
    /// A cap of the offer is reached; a manager's override may issue past it.
    #[error("{}; a manager can override", reached.describe(offer))]
    CapReached {
        /// The offer's title, as staff know it.
        offer: String,
        offer_id: Identifier,
        reached: CapReached,
    },
    #[error("{0}")]
    Override(OverrideRefusal),
    #[error("{0}")]
    Code(CodeError),
    #[error("{0}")]
    Void(VoidRefusal),
    #[error("storage error: {0}; check the disk")]
    Storage(#[from] sled::Error),
}

/// A voucher just issued and durable on disk.
#[derive(Clone, Debug)]
pub struct IssuedVoucher {
    pub code: VoucherCode,
    pub event: VoucherEvent,
}

/// What to issue.
pub struct IssueRequest<'a> {
    pub offer: &'a OfferConfig,
    pub incident: Option<Identifier>,
    pub staff: Option<String>,
    pub now: OffsetDateTime,
    /// Who lets it go past a cap, if one is reached; unused while within the caps.
    pub past_cap: Option<OverrideAsk>,
}

/// A manager's override offered with an issue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OverrideAsk {
    /// A manager whose PIN the caller has verified (`voucher::managers`), by name.
    Manager(String),
    /// A one-time code as typed, checked here (`override_code`).
    Code(String),
}

/// Meta keys counting one offer's vouchers for one incident: this till's and the venue's
/// (every terminal's events this store holds).
pub(super) fn count_keys(incident: &Identifier, offer: &Identifier) -> (String, String) {
    (
        format!("cap/{incident}/{offer}"),
        format!("venue-cap/{incident}/{offer}"),
    )
}

/// Meta key counting the uses of an override code this store knows of.
pub(super) fn override_key(grouped: &str) -> String {
    format!("override/{grouped}")
}

pub struct VoucherStore {
    db: sled::Db,
    meta: sled::Tree,
    vouchers: sled::Tree,
    events: sled::Tree,
    node: Identifier,
    terminal: u8,
    secret: VoucherSecret,
    /// This till's human name, written into its events (see `VoucherEvent::till`).
    till_name: Option<String>,
}

/// Days since 2025-01-01 (UTC) of an instant: the unit of voucher expiry.
pub fn voucher_day(now: OffsetDateTime) -> u16 {
    let days = now.unix_timestamp().div_euclid(86_400) - super::code::EXPIRY_EPOCH_DAY;
    days.clamp(0, i64::from(u16::MAX)) as u16
}

/// A staff, manager or till name as kept with an event: free text that travels in every sync
/// batch, so one line and bounded.
fn kept_name(name: Option<String>) -> Option<String> {
    name.map(|name| {
        crate::text::one_line(&name)
            .chars()
            .take(MAX_STAFF_CHARS)
            .collect()
    })
}

fn event_key(origin: &str, seq: u64) -> Vec<u8> {
    let mut key = origin.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

fn read_u64(value: Option<sled::IVec>) -> u64 {
    value
        .and_then(|bytes| <[u8; 8]>::try_from(bytes.as_ref()).ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0)
}

type TransactionResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

fn abort<T>(error: StoreError) -> TransactionResult<T> {
    Err(ConflictableTransactionError::Abort(error))
}

fn flatten<T>(result: Result<T, TransactionError<StoreError>>) -> Result<T, StoreError> {
    result.map_err(|error| match error {
        TransactionError::Abort(error) => error,
        TransactionError::Storage(error) => StoreError::Storage(error),
    })
}

fn record_in(vouchers: &TransactionalTree, code: &str) -> TransactionResult<Option<VoucherRecord>> {
    match vouchers.get(code.as_bytes())? {
        None => Ok(None),
        Some(bytes) => match serde_json::from_slice(&bytes) {
            Ok(record) => Ok(Some(record)),
            Err(error) => abort(StoreError::Corrupt(format!("record of {code}: {error}"))),
        },
    }
}

fn put_json<T: serde::Serialize>(
    tree: &TransactionalTree,
    key: &[u8],
    value: &T,
) -> TransactionResult<()> {
    let bytes = serde_json::to_vec(value)
        .map_err(|e| ConflictableTransactionError::Abort(StoreError::Corrupt(e.to_string())))?;
    tree.insert(key, bytes)?;
    Ok(())
}

impl VoucherStore {
    /// Names this till in every event it writes from now on ("Box office 2").
    pub fn with_till_name(mut self, name: Option<String>) -> Self {
        self.till_name = kept_name(name);
        self
    }

    pub fn secret(&self) -> &VoucherSecret {
        &self.secret
    }

    /// Issues one voucher; returns once it is durable.
    pub fn issue(&self, request: IssueRequest<'_>) -> Result<IssuedVoucher, StoreError> {
        let today = voucher_day(request.now);
        let expiry_day = (u32::from(today) + u32::from(request.offer.validity_days))
            .min(u32::from(VoucherFields::MAX_EXPIRY_DAY)) as u16;
        let caps = Caps::of(request.offer);
        let count_keys = request
            .incident
            .as_ref()
            .map(|incident| count_keys(incident, &request.offer.id));
        // A typed code is read before the transaction: a mistyped or forged one changes
        // nothing, whether or not a cap turns out to be reached.
        let code = match &request.past_cap {
            Some(OverrideAsk::Code(text)) => {
                Some(OverrideCode::parse(text, &self.secret).map_err(StoreError::Override)?)
            }
            _ => None,
        };
        let minute = override_minute(request.now);
        let issued = flatten((&self.meta, &self.vouchers, &self.events).transaction(
            |(meta, vouchers, events)| {
                let serial = read_u64(meta.get("next_serial")?).max(1);
                let Ok(serial32) = u32::try_from(serial) else {
                    return abort(StoreError::SerialsExhausted);
                };
                if serial32 > VoucherFields::MAX_SERIAL {
                    return abort(StoreError::SerialsExhausted);
                }
                let past_cap = match &count_keys {
                    Some((till_key, venue_key)) => {
                        let issued = Issued {
                            till: read_u64(meta.get(till_key.as_bytes())?),
                            venue: read_u64(meta.get(venue_key.as_bytes())?),
                        };
                        meta.insert(till_key.as_bytes(), &(issued.till + 1).to_be_bytes())?;
                        meta.insert(venue_key.as_bytes(), &(issued.venue + 1).to_be_bytes())?;
                        match judge_issue(&caps, issued) {
                            Ok(()) => None,
                            Err(reached) => Some(self.override_past(
                                meta,
                                &request,
                                code.as_ref(),
                                reached,
                                minute,
                            )?),
                        }
                    }
                    None => None,
                };
                let fields = VoucherFields {
                    offer: request.offer.number,
                    terminal: self.terminal,
                    serial: serial32,
                    expiry_day,
                };
                let code = match VoucherCode::issue(fields, &self.secret) {
                    Ok(code) => code,
                    Err(error) => return abort(StoreError::Code(error)),
                };
                let compact = code.compact();
                if vouchers.get(compact.as_bytes())?.is_some() {
                    // Only a terminal number shared by two terminals can cause this.
                    return abort(StoreError::Corrupt(format!(
                        "code {code} exists already; is terminal {} configured twice?",
                        self.terminal
                    )));
                }
                let seq = read_u64(meta.get("next_seq")?).max(1);
                let event = VoucherEvent {
                    v: EVENT_VERSION,
                    origin: self.node.clone(),
                    seq,
                    at: request.now,
                    staff: kept_name(request.staff.clone()),
                    till: self.till_name.clone(),
                    change: VoucherChange::Issued {
                        code: compact.clone(),
                        offer_id: request.offer.id.clone(),
                        incident_id: request.incident.clone(),
                        past_cap,
                    },
                };
                figures::store_applied(meta, vouchers, None, &event)?;
                put_json(events, &event_key(self.node.as_str(), seq), &event)?;
                meta.insert("next_serial", &(serial + 1).to_be_bytes())?;
                meta.insert("next_seq", &(seq + 1).to_be_bytes())?;
                meta.insert(format!("wm/{}", self.node).as_bytes(), &seq.to_be_bytes())?;
                Ok(IssuedVoucher { code, event })
            },
        ))?;
        self.db.flush()?;
        Ok(issued)
    }

    /// A cap is reached: the override that lets this issue past it (a code's use counted
    /// in this transaction), or the refusal.
    fn override_past(
        &self,
        meta: &TransactionalTree,
        request: &IssueRequest<'_>,
        code: Option<&OverrideCode>,
        reached: CapReached,
        minute: u32,
    ) -> TransactionResult<IssueOverride> {
        match (&request.past_cap, code) {
            (Some(OverrideAsk::Manager(name)), _) => Ok(IssueOverride {
                manager: kept_name(Some(name.clone())),
                code: None,
                cap: reached.kind,
            }),
            (Some(OverrideAsk::Code(_)), Some(code)) => {
                let key = override_key(&code.grouped());
                let used = read_u64(meta.get(key.as_bytes())?);
                if let Err(refusal) =
                    judge_code(code, request.offer.number, self.terminal, minute, used)
                {
                    return abort(StoreError::Override(refusal));
                }
                meta.insert(key.as_bytes(), &(used + 1).to_be_bytes())?;
                Ok(IssueOverride {
                    manager: None,
                    code: Some(code.grouped()),
                    cap: reached.kind,
                })
            }
            _ => abort(StoreError::CapReached {
                offer: request.offer.title.clone(),
                offer_id: request.offer.id.clone(),
                reached,
            }),
        }
    }

    /// Verifies and, if valid, redeems a typed or scanned code; durable before it returns.
    pub fn redeem(
        &self,
        text: &str,
        staff: Option<String>,
        context: RedeemContext,
        now: OffsetDateTime,
    ) -> Result<(Redemption, Option<VoucherEvent>), StoreError> {
        let parsed = VoucherCode::parse(text, &self.secret);
        let Ok(code) = parsed else {
            return Ok((
                Redemption::unread(judge_redemption(
                    parsed.as_ref().map_err(|error| *error),
                    None,
                    context,
                )),
                None,
            ));
        };
        let compact = code.compact();
        let outcome = flatten((&self.meta, &self.vouchers, &self.events).transaction(
            |(meta, vouchers, events)| {
                let record = record_in(vouchers, &compact)?;
                let answer = judge_redemption(Ok(&code), record.as_ref(), context);
                if answer != RedeemAnswer::Valid {
                    return Ok((answer, None));
                }
                let event = self.own_event(
                    meta,
                    VoucherChange::Redeemed {
                        code: compact.clone(),
                    },
                    staff.clone(),
                    now,
                )?;
                figures::store_applied(meta, vouchers, record.as_ref(), &event)?;
                put_json(events, &event_key(self.node.as_str(), event.seq), &event)?;
                Ok((answer, Some(event)))
            },
        ))?;
        if outcome.1.is_some() {
            self.db.flush()?;
        }
        let (answer, event) = outcome;
        let redemption = Redemption {
            answer,
            offer_number: Some(code.fields.offer),
        };
        Ok((redemption, event))
    }

    /// Voids a voucher (a manager's decision); durable before it returns.
    pub fn void(
        &self,
        text: &str,
        reason: &str,
        manager: Option<String>,
        now: OffsetDateTime,
    ) -> Result<VoucherEvent, StoreError> {
        let code = VoucherCode::parse(text, &self.secret).map_err(StoreError::Code)?;
        let compact = code.compact();
        let event = flatten((&self.meta, &self.vouchers, &self.events).transaction(
            |(meta, vouchers, events)| {
                let record = record_in(vouchers, &compact)?;
                let reason = match judge_void(record.as_ref(), reason) {
                    Ok(reason) => reason,
                    Err(refusal) => return abort(StoreError::Void(refusal)),
                };
                let event = self.own_event(
                    meta,
                    VoucherChange::Voided {
                        code: compact.clone(),
                        reason: reason.clone(),
                    },
                    manager.clone(),
                    now,
                )?;
                figures::store_applied(meta, vouchers, record.as_ref(), &event)?;
                put_json(events, &event_key(self.node.as_str(), event.seq), &event)?;
                Ok(event)
            },
        ))?;
        self.db.flush()?;
        Ok(event)
    }

    fn own_event(
        &self,
        meta: &TransactionalTree,
        change: VoucherChange,
        staff: Option<String>,
        now: OffsetDateTime,
    ) -> TransactionResult<VoucherEvent> {
        let seq = read_u64(meta.get("next_seq")?).max(1);
        meta.insert("next_seq", &(seq + 1).to_be_bytes())?;
        meta.insert(format!("wm/{}", self.node).as_bytes(), &seq.to_be_bytes())?;
        Ok(VoucherEvent {
            v: EVENT_VERSION,
            origin: self.node.clone(),
            seq,
            at: now,
            staff: kept_name(staff),
            till: self.till_name.clone(),
            change,
        })
    }
}
