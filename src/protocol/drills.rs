//! The drill wire format of protocol v1: a manager's staff drill, retained on
//! `raincheck/v1/{venue}/drill/{source}`. While a drill runs every screen and counter
//! draws the drill view — a discreet "TEST — staff drill" marker over what it shows, or
//! on the screens the drill names the full cash-only screen with that marker — and
//! confirms it like any view, so a venue proves every screen would switch without guests
//! seeing an alarm. A drill is never an incident: it issues no vouchers, fires no incident
//! webhooks, and a real incident hides it (`model::drill`).

use super::identifiers::Identifier;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The longest a drill runs before it ends by itself.
pub const MAX_DRILL: time::Duration = time::Duration::minutes(10);
/// The most screens one drill may turn to the full cash-only screen.
pub const MAX_FULL_SCREEN: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrillState {
    Running,
    Ended,
}

/// A drill's start or end, retained on `…/drill/{source}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillOrder {
    pub v: u32,
    pub source: Identifier,
    /// Lamport clock shared with declarations: one above everything the publisher saw,
    /// so a declaration made after the drill began orders after it.
    pub revision: u64,
    /// "drill-20261201-0930-3fa9".
    pub drill_id: Identifier,
    pub state: DrillState,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// When the drill ends by itself: after `started_at`, within [`MAX_DRILL`] of it.
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    /// Nodes that draw the full cash-only screen (with the drill marker) rather than the
    /// marker over their normal screen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub full_screen: Vec<Identifier>,
    /// Who runs it: a manager's name or `cli`. Never a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
}
