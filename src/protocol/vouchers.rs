//! The voucher wire format of protocol v1: every change to a voucher is an event keyed by
//! (origin terminal, sequence), published in batches on `…/vouchers/{origin}` (QoS 1, not
//! retained); each counter's watermarks are retained on `…/voucher-marks/{node}`. The
//! store keeps the same events on disk; `voucher::events` merges them into records.

use super::identifiers::Identifier;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// Version of a stored or published voucher event.
pub const EVENT_VERSION: u32 = 1;
/// Version of the batch and marks envelopes.
pub const SYNC_VERSION: u32 = 1;
/// Largest voucher message accepted (a full replay batch is about 150 KB).
pub const MAX_VOUCHER_MESSAGE_BYTES: usize = 1024 * 1024;
/// Bytes of events a replay batch carries at most: the shipped broker accepts 900 KiB.
pub const REPLAY_MAX_BYTES: usize = 256 * 1024;
/// Longest staff name kept with a voucher event, in characters.
pub const MAX_STAFF_CHARS: usize = 64;
/// Longest reason kept, in characters: a void's, or why a screen draws nothing.
pub const MAX_REASON_CHARS: usize = 200;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum VoucherChange {
    Issued {
        code: String,
        offer_id: Identifier,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        incident_id: Option<Identifier>,
        /// Issued past a cap under a manager's override; absent in events from before
        /// limits existed and in every issue within the caps.
        #[serde(rename = "override", default, skip_serializing_if = "Option::is_none")]
        past_cap: Option<IssueOverride>,
    },
    Redeemed {
        code: String,
    },
    Voided {
        code: String,
        reason: String,
    },
}

/// Longest override code kept in an event: 16 symbols and three hyphens.
pub const MAX_OVERRIDE_CODE_CHARS: usize = 19;

/// Which of an offer's caps an issue reached (`[[counter.offers]]`): this till's or the
/// whole venue's, for this incident, on the count of vouchers or on their face value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CapKind {
    TillCount,
    TillValue,
    IncidentCount,
    IncidentValue,
}

/// Who let a voucher be issued past a cap: a manager by PIN at the till (`manager`), or a
/// one-time code a manager minted on the console (`code`); exactly one is set.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IssueOverride {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<String>,
    /// The override code, `XXXX-XXXX-XXXX-XXXX`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The cap the voucher went past.
    pub cap: CapKind,
}

impl IssueOverride {
    /// Whether it names exactly one authority within the wire limits (the decode gate).
    pub fn is_well_formed(&self) -> bool {
        match (&self.manager, &self.code) {
            (Some(manager), None) => {
                !manager.is_empty() && manager.chars().count() <= MAX_STAFF_CHARS
            }
            (None, Some(code)) => {
                !code.is_empty() && code.chars().count() <= MAX_OVERRIDE_CODE_CHARS
            }
            _ => false,
        }
    }
}

impl VoucherChange {
    pub fn code(&self) -> &str {
        match self {
            VoucherChange::Issued { code, .. }
            | VoucherChange::Redeemed { code }
            | VoucherChange::Voided { code, .. } => code,
        }
    }
}

/// One change, as stored and as published on `…/vouchers/{origin}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherEvent {
    pub v: u32,
    pub origin: Identifier,
    /// 1, 2, 3… per origin, without gaps.
    pub seq: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff: Option<String>,
    /// The origin till's human name when it wrote the event ("Box office 2"), so every
    /// terminal can say where a voucher was redeemed without a directory of tills.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub till: Option<String>,
    #[serde(flatten)]
    pub change: VoucherChange,
}

/// Events of one origin, as published on `…/vouchers/{origin}`. A batch may relay
/// another (offline) counter's events: each code is checked against the venue secret,
/// whoever sent it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VoucherBatch {
    pub v: u32,
    pub origin: Identifier,
    pub events: Vec<VoucherEvent>,
}

/// A counter's watermarks, retained on `…/voucher-marks/{node}`: per origin, the highest
/// sequence it holds without gaps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherMarks {
    pub v: u32,
    pub node: Identifier,
    /// False in the last will and in the goodbye of a stopping counter (which keeps its
    /// marks): its events are then served by the other counters.
    #[serde(default = "online_by_default")]
    pub online: bool,
    pub marks: BTreeMap<String, u64>,
}

fn online_by_default() -> bool {
    true
}

impl VoucherMarks {
    /// What the broker publishes for a counter that vanished: its last will, sent to those
    /// listening but not retained, so the retained copy keeps the counter's last marks.
    pub fn offline(node: &Identifier) -> Self {
        Self {
            v: SYNC_VERSION,
            node: node.clone(),
            online: false,
            marks: BTreeMap::new(),
        }
    }
}
