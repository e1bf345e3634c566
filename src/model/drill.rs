//! Staff drills: which drill, if any, the venue's view carries, and the orders that start
//! and end one. A drill is shown only while it runs, only when no real incident is in
//! force, and only if no declaration was made after it began (a higher revision): a real
//! declaration during a drill wins on every screen at once and the drill does not come
//! back after it. What a screen draws for it (a marker, or the full cash-only screen on
//! the screens the drill names) is each screen's business; the view, and so the digest
//! every node confirms, is the same everywhere. Pure: the caller passes the time.

use super::venue_state::VenueState;
use super::view::{compute_view, VenueView, ViewMode};
use crate::protocol::{
    DrillOrder, DrillState, Identifier, MAX_DRILL, MAX_FULL_SCREEN, SCHEMA_VERSION,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The drill a view carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillView {
    pub drill_id: Identifier,
    pub revision: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub full_screen: Vec<Identifier>,
}

/// The venue's latest believable drill order, by (revision, source).
pub fn latest_drill(state: &VenueState) -> Option<&DrillOrder> {
    let ceiling = state.ceiling();
    state
        .drills
        .values()
        .filter(|order| order.revision <= ceiling)
        .max_by(|a, b| (a.revision, &a.source).cmp(&(b.revision, &b.source)))
}

/// The drill `view` (computed from `state`'s declarations) carries, if any.
pub fn drill_in_view(state: &VenueState, view: &VenueView) -> Option<DrillView> {
    let order = latest_drill(state).filter(|order| order.state == DrillState::Running)?;
    let newest_declaration = state
        .believable_declarations()
        .map(|(_, d)| d.revision)
        .max()
        .unwrap_or(0);
    (view.mode != ViewMode::CashOnly && order.revision > newest_declaration).then(|| DrillView {
        drill_id: order.drill_id.clone(),
        revision: order.revision,
        started_at: order.started_at,
        ends_at: order.ends_at,
        full_screen: order.full_screen.clone(),
    })
}

/// What someone asked for when starting a drill.
#[derive(Clone, Debug)]
pub struct DrillRequest {
    pub source: Identifier,
    pub actor: Option<String>,
    /// How long it runs before it ends by itself (at most 10 minutes).
    pub runs_for: time::Duration,
    pub full_screen: Vec<Identifier>,
}

/// Why a drill cannot start or end; each message says what to do instead.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DrillRefusal {
    #[error("a real incident is in force (incident {incident}); a drill would only hide behind it — resolve it first, drill another day")]
    IncidentInForce { incident: String },
    #[error("drill {drill_id} is already running; end it first")]
    AlreadyRunning { drill_id: String },
    #[error("no drill is running")]
    NoneRunning,
    #[error("a drill runs for 10 s to 10 minutes")]
    DurationOutOfRange,
    #[error("a drill may turn at most {MAX_FULL_SCREEN} screens to the full cash-only screen")]
    TooManyScreens,
    #[error("the largest possible revision is used ({holder}); nothing newer can be published")]
    RevisionsExhausted { holder: String },
}

/// The order that starts a drill; `drill_id` is made by the caller (no randomness here).
pub fn prepare_drill(
    state: &VenueState,
    request: DrillRequest,
    now: OffsetDateTime,
    drill_id: Identifier,
) -> Result<DrillOrder, DrillRefusal> {
    let view = compute_view(state);
    if view.mode == ViewMode::CashOnly {
        return Err(DrillRefusal::IncidentInForce {
            incident: view
                .incident_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
        });
    }
    if let Some(running) = drill_in_view(state, &view).filter(|drill| drill.ends_at > now) {
        return Err(DrillRefusal::AlreadyRunning {
            drill_id: running.drill_id.to_string(),
        });
    }
    if request.runs_for < time::Duration::seconds(10) || request.runs_for > MAX_DRILL {
        return Err(DrillRefusal::DurationOutOfRange);
    }
    if request.full_screen.len() > MAX_FULL_SCREEN {
        return Err(DrillRefusal::TooManyScreens);
    }
    let revision = state
        .next_revision()
        .map_err(|holder| DrillRefusal::RevisionsExhausted { holder })?;
    let mut full_screen = request.full_screen;
    full_screen.sort();
    full_screen.dedup();
    Ok(DrillOrder {
        v: SCHEMA_VERSION,
        source: request.source,
        revision,
        drill_id,
        state: DrillState::Running,
        started_at: now,
        ends_at: now + request.runs_for,
        full_screen,
        actor: request.actor,
    })
}

/// The order that ends the running drill (published on `source`'s own drill topic, one
/// revision above everything, so it is the latest drill order whoever started it).
pub fn prepare_drill_end(
    state: &VenueState,
    source: &Identifier,
    actor: Option<String>,
) -> Result<DrillOrder, DrillRefusal> {
    let running = latest_drill(state)
        .filter(|order| order.state == DrillState::Running)
        .ok_or(DrillRefusal::NoneRunning)?;
    let revision = state
        .next_revision()
        .map_err(|holder| DrillRefusal::RevisionsExhausted { holder })?;
    Ok(DrillOrder {
        source: source.clone(),
        revision,
        state: DrillState::Ended,
        actor,
        ..running.clone()
    })
}

/// "drill-20261201-0930-3fa9": sortable by start, readable aloud.
pub fn drill_id(now: OffsetDateTime, suffix: u16) -> Identifier {
    let text = format!(
        "drill-{:04}{:02}{:02}-{:02}{:02}-{suffix:04x}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute()
    );
    Identifier::parse(&text).expect("drill ids are built from digits, '-' and hex")
}

#[cfg(test)]
#[path = "drill_tests.rs"]
mod tests;
