//! What a node says it shows (invariant 3), decided from what it computed and what its
//! screen drew — never from the computed view alone. Syncing until the node has read the
//! broker's retained state (a restored or boot screen is not the venue's view); drawn only
//! with the view a rendered frame showed; headless, with the reason, when it draws
//! nothing. Pure, so the status worker's one decision is tested without a broker.

use super::worker::NodeIdentity;
use crate::model::{Drawing, Presentation};
use crate::protocol::vouchers::MAX_REASON_CHARS;
use crate::protocol::{DisplayReport, DisplayStatus, Shown};

/// The retained report of a node whose computed state is `presentation` and whose screen
/// last drew `drawing`.
pub fn report_of(
    identity: &NodeIdentity,
    presentation: &Presentation,
    drawing: &Drawing,
) -> DisplayReport {
    let mut report = DisplayReport::offline(&identity.node, identity.name.clone());
    report.status = DisplayStatus::Online;
    report.roles = identity.roles.clone();
    report.shown = Some(Shown::Syncing);
    if !presentation.has_state {
        return report;
    }
    let (view, shown) = match drawing {
        // What it would show, for the console's detail; it counts as headless.
        Drawing::Nothing { reason } => {
            report.reason = Some(reason.chars().take(MAX_REASON_CHARS).collect());
            (&presentation.view, Shown::Headless)
        }
        Drawing::Drawn {
            view,
            synced: true,
            at,
        } => {
            report.drawn_at = Some(*at);
            report.since = Some(*at);
            (view.as_ref(), Shown::Drawn)
        }
        // The window is opening, or it drew only the boot or restored screen so far.
        Drawing::Pending | Drawing::Drawn { synced: false, .. } => return report,
    };
    report.shown = Some(shown);
    report.revision = Some(view.revision);
    report.digest = Some(view.digest());
    report.mode = Some(view.mode.as_str().to_owned());
    report.incident_id = view.incident_id.clone();
    if shown == Shown::Headless {
        report.since = Some(presentation.shown_since);
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{fixtures, VenueView, ViewMode};
    use time::macros::datetime;

    fn identity() -> NodeIdentity {
        NodeIdentity {
            venue: fixtures::id("v"),
            node: fixtures::id("lobby-1"),
            name: Some("Lobby 1".into()),
            roles: vec!["signage".into()],
        }
    }

    fn cash_only() -> VenueView {
        VenueView {
            mode: ViewMode::CashOnly,
            revision: 7,
            incident_id: Some(fixtures::id("i-7")),
            ..VenueView::normal()
        }
    }

    fn computed(has_state: bool) -> Presentation {
        let mut presentation = Presentation::booting(datetime!(2026-11-30 19:00 UTC));
        presentation.has_state = has_state;
        presentation.view = cash_only();
        presentation
    }

    #[test]
    fn nothing_is_claimed_before_the_retained_state_is_read() {
        let drawn = Drawing::Drawn {
            view: Box::new(cash_only()),
            synced: false,
            at: datetime!(2026-11-30 19:01 UTC),
        };
        for drawing in [Drawing::Pending, drawn.clone()] {
            let report = report_of(&identity(), &computed(false), &drawing);
            assert_eq!(report.shown, Some(Shown::Syncing));
            assert_eq!((report.digest, report.revision), (None, None));
        }
        // Synced, but the frame on screen is still the restored one.
        let report = report_of(&identity(), &computed(true), &drawn);
        assert_eq!(report.shown, Some(Shown::Syncing));
        assert_eq!(report.digest, None);
    }

    #[test]
    fn a_drawn_report_carries_the_view_the_frame_showed_not_the_one_computed() {
        let at = datetime!(2026-11-30 19:02 UTC);
        let drawing = Drawing::Drawn {
            view: Box::new(VenueView::normal()),
            synced: true,
            at,
        };
        let report = report_of(&identity(), &computed(true), &drawing);
        assert_eq!(report.shown, Some(Shown::Drawn));
        assert_eq!(report.digest, Some(VenueView::normal().digest()));
        assert_eq!(report.mode.as_deref(), Some("normal"));
        assert_eq!(report.drawn_at, Some(at));
    }

    #[test]
    fn a_node_that_draws_nothing_says_why_and_is_not_drawn() {
        let drawing = Drawing::Nothing {
            reason: "x".repeat(500),
        };
        let report = report_of(&identity(), &computed(true), &drawing);
        assert_eq!(report.shown, Some(Shown::Headless));
        assert_eq!(
            report.reason.map(|r| r.chars().count()),
            Some(MAX_REASON_CHARS)
        );
        assert_eq!(report.digest, Some(cash_only().digest()));
        assert_eq!(report.drawn_at, None);
    }
}
