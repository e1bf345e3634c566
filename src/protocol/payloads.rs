//! The JSON payloads of protocol v1. Every payload carries `"v": 1`; unknown fields are
//! ignored so that newer publishers stay readable. Timestamps are informational only
//! ("since 19:42"): no decision anywhere depends on them (brief, invariant 1).

use super::identifiers::Identifier;
use super::texts::IncidentTexts;
use super::translations::Translations;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The only schema version this build reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

/// Who stands behind a declaration. Managers outrank automatic detection (invariant 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Authority {
    Manager,
    Automatic,
}

/// Whether a declaration starts/updates an incident or ends it. A resolve is its own
/// message type, never inferred from missing fields (alphagov #3138's lesson).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclarationState {
    Active,
    Resolved,
}

/// What the venue asks of guests while the incident is active.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentMode {
    CashOnly,
}

/// One source's latest word on the incident, retained on `…/incident/{source}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentDeclaration {
    pub v: u32,
    pub source: Identifier,
    pub authority: Authority,
    /// Lamport clock: one more than the highest revision the publisher had seen.
    pub revision: u64,
    pub incident_id: Identifier,
    pub state: DeclarationState,
    pub mode: IncidentMode,
    #[serde(default)]
    pub texts: IncidentTexts,
    /// Per language tag, texts shown instead of `texts` on screens showing that language.
    #[serde(default, skip_serializing_if = "Translations::is_empty")]
    pub translations: Translations,
    /// Offer id from the venue's config, if the manager chose one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_id: Option<Identifier>,
    /// Chain incidents this (venue) declaration answers for: a venue manager who resolves
    /// while head office still declares lists the chain incident here, so the resolve
    /// holds for this venue without comparing clocks across brokers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supersedes: Vec<Identifier>,
    /// When the incident started (informational, shown as "since 19:42").
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// When this declaration was made (informational).
    #[serde(with = "time::serde::rfc3339")]
    pub declared_at: OffsetDateTime,
    /// Who made it: a manager's name, `cli`, or the detector's id. Never a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// When the manager promised the next update (the console counts down to it and
    /// warns when it passes); after `declared_at`, within a day of it.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub next_update_by: Option<OffsetDateTime>,
    /// When an active incident ends itself (a venue's only: head office has no keeper
    /// at the venue); after `declared_at`, within [`MAX_EXPIRY`] of it. A keeper
    /// publishes the expiry resolve (the model's `expiry_resolve`) at this moment,
    /// and a screen that has heard none ends it itself [`EXPIRY_MARGIN`] later.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires_at: Option<OffsetDateTime>,
}

/// The furthest ahead a declaration's `next_update_by` may be.
pub const MAX_NEXT_UPDATE: time::Duration = time::Duration::hours(24);

/// The furthest ahead of its declaration an incident's expiry may be.
pub const MAX_EXPIRY: time::Duration = time::Duration::hours(72);

/// How long after an incident's expiry a screen that heard no keeper's resolve ends it
/// on its own clock. A protocol constant, the same on every node: screens whose clocks
/// are within half of it of each other never disagree about an expiry the venue's keeper
/// resolved, and without a keeper they disagree only for their clocks' difference.
pub const EXPIRY_MARGIN: time::Duration = time::Duration::minutes(2);

/// Debounced health of one payment source, retained on `…/payments/{source}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Ok,
    Down,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentHealth {
    pub v: u32,
    pub source: Identifier,
    pub status: PaymentStatus,
    /// Lamport clock, as for declarations.
    pub revision: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// While down: the revision of the report that first said so. A source that keeps
    /// reporting "still down" gets new revisions, but its outage is as old as this;
    /// automatic detection compares this, so a manager's resolve is not overridden by a
    /// repeat of a failure it already answered. Absent: `revision`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub down_since_revision: Option<u64>,
}

impl PaymentHealth {
    /// The revision at which the current outage began (for a down source).
    pub fn outage_revision(&self) -> u64 {
        self.down_since_revision
            .filter(|r| *r <= self.revision)
            .unwrap_or(self.revision)
    }
}

/// Whether a node is connected; `offline` is published by the broker as the last will.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisplayStatus {
    Online,
    Offline,
}

/// What a node does with the venue's view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shown {
    /// Still reading the broker's retained state: no view yet, nothing claimed.
    Syncing,
    /// A frame showing the view was rendered by the node's screen, at `drawn_at`.
    Drawn,
    /// The view is computed but drawn nowhere; `reason` says why.
    Headless,
}

/// What a node shows now, retained on `…/displays/{node}` (the proof of invariant 3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisplayReport {
    pub v: u32,
    pub node: Identifier,
    pub status: DisplayStatus,
    /// Human name of the node ("Lobby 2"), for the console.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Revision of the view shown; absent in a last will.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<u64>,
    /// Digest of the view shown; equal digests mean identical views.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<Identifier>,
    /// Since when this node shows this view (its own clock; informational).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub since: Option<OffsetDateTime>,
    /// What the node does with the view. Absent in last wills and in reports of older
    /// nodes, which reported on computing the view and so prove nothing: those count as
    /// headless (listed apart, never as showing the view).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shown: Option<Shown>,
    /// Why a headless node draws nothing ("no display server (DISPLAY is unset)").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When a frame showing the view was rendered (its own clock; informational).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub drawn_at: Option<OffsetDateTime>,
}

impl DisplayReport {
    /// The last-will payload the broker publishes when this node vanishes.
    pub fn offline(node: &Identifier, name: Option<String>) -> Self {
        Self {
            v: SCHEMA_VERSION,
            node: node.clone(),
            status: DisplayStatus::Offline,
            name,
            roles: Vec::new(),
            revision: None,
            digest: None,
            mode: None,
            incident_id: None,
            since: None,
            shown: None,
            reason: None,
            drawn_at: None,
        }
    }
}

/// A node retired from the venue, retained on `…/retired/{node}` by `raincheck node forget`
/// or the console. Its offline report then counts nowhere; an empty payload un-retires it.
/// A retired node that comes back online is shown again: a running screen is never hidden.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeRetirement {
    pub v: u32,
    pub node: Identifier,
    /// Who retired it ("cli", a manager's name), for the audit trail.
    pub by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}
