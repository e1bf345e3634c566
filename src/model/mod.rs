//! The pure domain model: no I/O, no clock, no tokio. It keeps the set of retained
//! messages a node has seen ([`VenueState`]) and turns it into what every display shows
//! ([`VenueView`]) and into who has confirmed it ([`Confirmations`]). Because the
//! state is a join-semilattice (each topic keeps its highest revision) and the view is a
//! function of the state alone, any order, duplication or replay of the same messages
//! gives the same view: invariant 1, proven by the property tests beside it. The
//! [`Keeper`] rule keeps the broker's retained set from drifting away from that state, so
//! nodes that start later see the same view too.

pub mod chain;
pub mod confirmation;
pub mod declaring;
pub mod drill;
pub mod expiry;
#[cfg(test)]
mod expiry_properties;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod keeper;
#[cfg(test)]
mod keeper_properties;
pub mod presentation;
pub mod retirement;
pub mod revisions;
pub mod screen_labels;
pub mod venue_state;
pub mod view;
pub mod wording;

#[cfg(test)]
mod properties;

pub use chain::{ChainConfirmation, ChainState, VenueConfirmation};
pub use confirmation::{standing, Confirmations, NodeKind, Standing, Tally};
pub use declaring::{
    check_text_lengths, incident_id, precedence_note, prepare_chain_declaration,
    prepare_declaration, prepare_own_resolve, DeclareAction, DeclareRefusal, DeclareRequest,
    PreparedDeclaration, Template,
};
pub use drill::{
    drill_id, latest_drill, prepare_drill, prepare_drill_end, DrillRefusal, DrillRequest, DrillView,
};
pub use expiry::{compute_view_at, expiry_resolve, next_screen_change, EXPIRY_ACTOR};
pub use keeper::Keeper;
pub use presentation::{Drawing, LinkState, Presentation};
pub use venue_state::{ApplyOutcome, VenueState};
pub use view::{compute_view, VenueView, ViewMode};
pub use wording::{bundled, bundled_texts, WordingMode};
