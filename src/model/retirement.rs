//! Retiring a node (`raincheck node forget`, the console's "Forget" button): the one rule
//! both follow. Only a node the venue knows and that is not online can be retired, so a
//! running screen is never hidden from the count; the retirement is a retained message
//! (`…/retired/{node}`) that every reader applies in `VenueState`, in any order.

use super::venue_state::VenueState;
use crate::protocol::{DisplayStatus, Identifier, NodeRetirement, SCHEMA_VERSION};
use time::OffsetDateTime;

/// Why a node cannot be retired; nothing is published.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RetireRefusal {
    #[error("{0} is online: stop it first (a running screen or counter is never hidden)")]
    Online(Identifier),
    #[error("no node {0} has reported to this venue; check the id with `raincheck status`")]
    Unknown(Identifier),
    #[error("{0} is already retired")]
    AlreadyRetired(Identifier),
    #[error("{0} is not retired")]
    NotRetired(Identifier),
}

/// The retirement to publish for `node`, or why not.
pub fn retire(
    state: &VenueState,
    node: &Identifier,
    by: &str,
    now: OffsetDateTime,
) -> Result<NodeRetirement, RetireRefusal> {
    if state.retired.contains_key(node) {
        return Err(RetireRefusal::AlreadyRetired(node.clone()));
    }
    match state.displays.get(node) {
        None => Err(RetireRefusal::Unknown(node.clone())),
        Some(report) if report.status != DisplayStatus::Offline => {
            Err(RetireRefusal::Online(node.clone()))
        }
        Some(_) => Ok(NodeRetirement {
            v: SCHEMA_VERSION,
            node: node.clone(),
            by: crate::text::one_line(by)
                .chars()
                .take(crate::protocol::vouchers::MAX_STAFF_CHARS)
                .collect(),
            at: now,
        }),
    }
}

/// Whether `node`'s retirement may be withdrawn (it must be retired).
pub fn unretire(state: &VenueState, node: &Identifier) -> Result<(), RetireRefusal> {
    if state.retired.contains_key(node) {
        Ok(())
    } else {
        Err(RetireRefusal::NotRetired(node.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{BusMessage, DisplayReport};

    fn id(text: &str) -> Identifier {
        Identifier::parse(text).unwrap()
    }

    fn report(node: &str, status: DisplayStatus) -> BusMessage {
        let mut report = DisplayReport::offline(&id(node), Some("Lobby 2".into()));
        report.status = status;
        report.roles = vec!["signage".into()];
        BusMessage::Display(report)
    }

    #[test]
    fn only_a_known_offline_node_is_retired_and_then_shows_nowhere_in_any_order() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let mut state = VenueState::default();
        assert_eq!(
            retire(&state, &id("lobby-2"), "cli", now),
            Err(RetireRefusal::Unknown(id("lobby-2")))
        );
        state.apply(report("lobby-2", DisplayStatus::Online));
        assert_eq!(
            retire(&state, &id("lobby-2"), "cli", now),
            Err(RetireRefusal::Online(id("lobby-2")))
        );
        state.apply(report("lobby-2", DisplayStatus::Offline));
        let retirement = retire(&state, &id("lobby-2"), "Ana\nB", now).expect("retired");
        assert_eq!(retirement.by, "Ana B");

        // The report and the retirement, in either order: the node is gone either way.
        let offline = report("lobby-2", DisplayStatus::Offline);
        let retired = BusMessage::Retired(retirement);
        let mut first = VenueState::default();
        first.apply(offline.clone());
        first.apply(retired.clone());
        let mut second = VenueState::default();
        second.apply(retired.clone());
        second.apply(offline);
        assert!(first.displays.is_empty());
        assert_eq!(first, second);
        assert_eq!(
            retire(&first, &id("lobby-2"), "cli", now),
            Err(RetireRefusal::AlreadyRetired(id("lobby-2")))
        );

        // A retired node that comes back online shows again: never hidden while running.
        first.apply(report("lobby-2", DisplayStatus::Online));
        assert!(first.displays.contains_key(&id("lobby-2")));
        // Withdrawn: the next offline report counts again.
        assert_eq!(unretire(&second, &id("lobby-2")), Ok(()));
        second.apply(BusMessage::RetirementWithdrawn(id("lobby-2")));
        second.apply(report("lobby-2", DisplayStatus::Offline));
        assert!(second.displays.contains_key(&id("lobby-2")));
        assert_eq!(
            unretire(&second, &id("lobby-2")),
            Err(RetireRefusal::NotRetired(id("lobby-2")))
        );
    }
}
