//! What a screen needs to draw, beyond the venue view itself: the state of the status
//! link (for the "status link lost since 19:50" note of invariant 6) and since when the
//! current view is shown. Published by the status worker on a watch channel.

use super::view::VenueView;
use time::OffsetDateTime;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkState {
    /// Never connected since start: nothing received yet.
    Connecting,
    Up,
    /// Lost; the last known view stays on screen.
    Lost {
        since: OffsetDateTime,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Presentation {
    pub view: VenueView,
    /// Whether the node has heard the broker's whole retained state at least once; until
    /// then it shows a calm neutral screen rather than claim "all payments accepted".
    pub has_state: bool,
    pub link: LinkState,
    /// When this node started showing `view` (its own clock; informational).
    pub shown_since: OffsetDateTime,
}

impl Presentation {
    pub fn booting(now: OffsetDateTime) -> Self {
        Self {
            view: VenueView::normal(),
            has_state: false,
            link: LinkState::Connecting,
            shown_since: now,
        }
    }
}
