//! The pure domain model: no I/O, no clock, no tokio. It keeps the set of retained
//! messages a node has seen ([`VenueState`]) and turns it into what every display shows
//! ([`VenueView`]) and into who has confirmed it ([`ConfirmationSummary`]). Because the
//! state is a join-semilattice (each topic keeps its highest revision) and the view is a
//! function of the state alone, any order, duplication or replay of the same messages
//! gives the same view: invariant 1, proven by the property tests beside it.

pub mod chain;
pub mod confirmation;
pub mod declaring;
pub mod venue_state;
pub mod view;

#[cfg(test)]
mod properties;

pub use chain::{ChainConfirmation, ChainState, VenueConfirmation};
pub use confirmation::{ConfirmationSummary, NodeConfirmation, NodeStanding};
pub use declaring::{
    check_text_lengths, prepare_chain_declaration, prepare_declaration, DeclareAction,
    DeclareRefusal, DeclareRequest, PreparedDeclaration,
};
pub use venue_state::{ApplyOutcome, VenueState};
pub use view::{compute_view, VenueView, ViewMode};
