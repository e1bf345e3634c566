//! What a screen needs to draw, beyond the venue view itself: the state of the status
//! link (for the "status link lost since 19:50" note of invariant 6) and since when the
//! current view is shown — published by the status worker on a watch channel — and what
//! the screen then drew ([`Drawing`]), the proof its report stands on (invariant 3),
//! published by whatever draws: the window, or the offscreen renderer.

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
    /// The view was restored from this node's disk at boot and not yet confirmed by the
    /// broker: shown (with the link-lost note) rather than the neutral boot screen, but
    /// never reported as the venue's view.
    pub restored: bool,
    pub link: LinkState,
    /// When this node started showing `view` (its own clock; informational).
    pub shown_since: OffsetDateTime,
    /// The view's drill names this node: it draws the full cash-only screen with the
    /// drill marker, not the marker alone.
    pub drill_full_screen: bool,
}

impl Presentation {
    pub fn booting(now: OffsetDateTime) -> Self {
        Self {
            view: VenueView::normal(),
            has_state: false,
            restored: false,
            link: LinkState::Connecting,
            shown_since: now,
            drill_full_screen: false,
        }
    }

    /// The view this node showed before it stopped, restored from its disk at boot: on
    /// screen with "status link lost since" the moment it last heard the venue, until
    /// the broker's retained state is read.
    pub fn restored(view: VenueView, last_heard: OffsetDateTime, now: OffsetDateTime) -> Self {
        Self {
            view,
            has_state: false,
            restored: true,
            link: LinkState::Lost { since: last_heard },
            shown_since: now,
            drill_full_screen: false,
        }
    }

    /// Whether the screen shows a restored view the broker has not confirmed yet.
    pub fn is_unconfirmed_restore(&self) -> bool {
        self.restored && !self.has_state
    }
}

/// What this node's screen last drew.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Drawing {
    /// Nothing drawn yet: the window is opening.
    Pending,
    /// A frame showing `view` was rendered at `at`. `synced` is false for the boot
    /// screen and for a view restored from disk: drawn, but not yet the venue's view.
    Drawn {
        view: Box<VenueView>,
        synced: bool,
        at: OffsetDateTime,
    },
    /// This node draws nothing, and why ("display.backend is \"headless\"").
    Nothing { reason: String },
}

impl Drawing {
    /// Whether drawing `presentation` now would prove anything new: the view or whether
    /// it is synced changed since the last frame proved (a language rotation does not).
    pub fn is_news(&self, presentation: &Presentation) -> bool {
        match self {
            Drawing::Drawn { view, synced, .. } => {
                *synced != presentation.has_state || **view != presentation.view
            }
            Drawing::Pending | Drawing::Nothing { .. } => true,
        }
    }
}
