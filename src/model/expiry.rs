//! Incidents that end themselves. A manager may give a venue declaration `expires_at`.
//! At that moment a keeper (the console, the detector, a single box) applies the resolve
//! [`expiry_resolve`] builds and publishes it retained, so every screen hears it at once.
//! That resolve is a function of the declaration alone (one revision above it, declared at
//! the expiry), so two keepers publish the very same bytes. A screen that has heard no
//! keeper's resolve ends the incident itself [`EXPIRY_MARGIN`] after the expiry, by its own
//! clock, with that same resolve ([`compute_view_at`]): the clock decides only *when* a
//! screen without a keeper switches, never what it shows, and until the margin has passed
//! it decides nothing (invariant 1, "expiry aside, with a skew margin"; property-tested in
//! `expiry_properties`). Pure: the caller passes the time.

use super::drill::latest_drill;
use super::venue_state::VenueState;
use super::view::{compute_view, VenueView};
use crate::protocol::{
    BusMessage, DeclarationState, DrillState, IncidentDeclaration, IncidentTexts, Scope,
    Translations, EXPIRY_MARGIN, MAX_REVISION,
};
use time::OffsetDateTime;

/// Who the resolve an expiry makes names as its actor.
pub const EXPIRY_ACTOR: &str = "expiry";

/// The resolve that ends `declaration` at its expiry, or `None` when it has none (or is
/// not active, or sits at the top of the revision range).
pub fn expiry_resolve(declaration: &IncidentDeclaration) -> Option<IncidentDeclaration> {
    if declaration.state != DeclarationState::Active {
        return None;
    }
    let expires_at = declaration.expires_at?;
    let revision = declaration
        .revision
        .checked_add(1)
        .filter(|revision| *revision <= MAX_REVISION)?;
    Some(IncidentDeclaration {
        state: DeclarationState::Resolved,
        revision,
        declared_at: expires_at,
        // The all-clear screen has its own wording, as after any resolve.
        texts: IncidentTexts::default(),
        translations: Translations::new(),
        actor: Some(EXPIRY_ACTOR.to_owned()),
        next_update_by: None,
        expires_at: None,
        ..declaration.clone()
    })
}

/// The venue's believable active declarations that carry an expiry, one per source.
fn expiring(state: &VenueState) -> impl Iterator<Item = &IncidentDeclaration> {
    state
        .believable_declarations()
        .filter(|((scope, _), d)| *scope == Scope::Venue && d.state == DeclarationState::Active)
        .filter(|(_, d)| d.expires_at.is_some())
        .map(|(_, d)| d)
}

/// The resolves whose moment has come by `now`, `after` the expiry: zero for a keeper,
/// [`EXPIRY_MARGIN`] for a screen ending incidents on its own clock.
pub fn due_resolves(
    state: &VenueState,
    now: OffsetDateTime,
    after: time::Duration,
) -> Vec<IncidentDeclaration> {
    expiring(state)
        .filter(|d| d.expires_at.is_some_and(|expiry| expiry + after <= now))
        .filter_map(expiry_resolve)
        .collect()
}

/// The next moment, strictly after `now`, at which [`due_resolves`] with the same `after`
/// will return more: when to wake up next.
pub fn next_due(
    state: &VenueState,
    now: OffsetDateTime,
    after: time::Duration,
) -> Option<OffsetDateTime> {
    expiring(state)
        .filter_map(|d| d.expires_at)
        .map(|expiry| expiry + after)
        .filter(|moment| *moment > now)
        .min()
}

/// What a screen shows at `now` by its own clock: the view of the retained set, with
/// every incident whose expiry passed [`EXPIRY_MARGIN`] ago ended by the resolve a
/// keeper would have published, and a drill whose end passed as long ago over. Before
/// any such moment this is exactly [`compute_view`].
pub fn compute_view_at(state: &VenueState, now: OffsetDateTime) -> VenueView {
    let mut view = view_with_ends(state, now);
    // A drill past its end and the margin, whose end order this screen never heard, is
    // over here too (the console publishes that order at `ends_at`).
    if view
        .drill
        .as_ref()
        .is_some_and(|drill| drill.ends_at + EXPIRY_MARGIN <= now)
    {
        view.drill = None;
    }
    view
}

/// The view with every incident whose expiry passed the margin ago ended.
fn view_with_ends(state: &VenueState, now: OffsetDateTime) -> VenueView {
    let ended = due_resolves(state, now, EXPIRY_MARGIN);
    if ended.is_empty() {
        return compute_view(state);
    }
    // The view reads declarations and payments only: copy those, not the reports.
    let mut with_ends = VenueState {
        declarations: state.declarations.clone(),
        payments: state.payments.clone(),
        drills: state.drills.clone(),
        ..VenueState::default()
    };
    for declaration in ended {
        with_ends.apply(BusMessage::Declaration {
            scope: Scope::Venue,
            declaration,
        });
    }
    compute_view(&with_ends)
}

/// When a screen's view will next change by its own clock alone, if ever.
pub fn next_screen_change(state: &VenueState, now: OffsetDateTime) -> Option<OffsetDateTime> {
    let drill_over = latest_drill(state)
        .filter(|order| order.state == DrillState::Running)
        .map(|order| order.ends_at + EXPIRY_MARGIN)
        .filter(|moment| *moment > now);
    next_due(state, now, EXPIRY_MARGIN)
        .into_iter()
        .chain(drill_over)
        .min()
}
