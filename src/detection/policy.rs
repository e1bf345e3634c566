//! When automatic detection raises or ends a cash-only incident (invariant 2), decided from
//! the retained set alone:
//! - it starts one when at least `quorum` payment sources are down and one of them went
//!   down *after* the venue manager's latest word and after this detector's own latest
//!   declaration — so a manager's resolve holds until a new failure is reported after it,
//!   and a detector never re-raises the failure it already answered;
//! - it ends its own incident when fewer than `quorum` sources are down, if configured to
//!   (`resolve = "automatic"`); otherwise the incident waits for a manager;
//! - it never touches anyone else's declaration, and the view's precedence rules keep a
//!   manager's active declaration on screen whatever it publishes.

pub use crate::config::ResolvePolicy;
use crate::model::VenueState;
use crate::protocol::{
    Authority, DeclarationState, Identifier, IncidentDeclaration, PaymentStatus, Scope,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    pub quorum: usize,
    pub resolve: ResolvePolicy,
}

/// What the detector should publish now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Start,
    Resolve,
}

/// The venue manager's latest declaration (any manager source of the venue).
fn manager_latest(state: &VenueState) -> Option<&IncidentDeclaration> {
    state
        .believable_declarations()
        .filter(|((scope, _), d)| *scope == Scope::Venue && d.authority == Authority::Manager)
        .map(|(_, d)| d)
        .max_by_key(|d| (d.revision, d.source.clone()))
}

pub fn decide(state: &VenueState, policy: Policy, own_source: &Identifier) -> Option<Decision> {
    let own = state
        .declarations
        .get(&(Scope::Venue, own_source.clone()))
        .filter(|d| d.revision <= state.ceiling());
    let own_active = own.is_some_and(|d| d.state == DeclarationState::Active);
    let down: Vec<u64> = state
        .believable_payments()
        .filter(|health| health.status == PaymentStatus::Down)
        .map(|health| health.outage_revision())
        .collect();
    let quorum = policy.quorum.max(1);
    if down.len() >= quorum {
        let answered = manager_latest(state)
            .map(|d| d.revision)
            .into_iter()
            .chain(own.map(|d| d.revision))
            .max()
            .unwrap_or(0);
        let fresh_failure = down.iter().any(|revision| *revision > answered);
        return fresh_failure.then_some(Decision::Start);
    }
    (own_active && policy.resolve == ResolvePolicy::Automatic).then_some(Decision::Resolve)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{compute_view, ViewMode};
    use crate::protocol::{BusMessage, IncidentMode, IncidentTexts, PaymentHealth, SCHEMA_VERSION};
    use proptest::prelude::*;
    use time::OffsetDateTime;

    fn id(text: &str) -> Identifier {
        Identifier::parse(text).unwrap()
    }

    fn declaration(source: &str, authority: Authority, revision: u64, active: bool) -> BusMessage {
        BusMessage::Declaration {
            scope: Scope::Venue,
            declaration: IncidentDeclaration {
                v: SCHEMA_VERSION,
                source: id(source),
                authority,
                revision,
                incident_id: id(&format!("inc-{revision}")),
                state: if active {
                    DeclarationState::Active
                } else {
                    DeclarationState::Resolved
                },
                mode: IncidentMode::CashOnly,
                texts: IncidentTexts::default(),
                translations: Default::default(),
                offer_id: None,
                supersedes: Vec::new(),
                started_at: OffsetDateTime::UNIX_EPOCH,
                declared_at: OffsetDateTime::UNIX_EPOCH,
                actor: None,
                next_update_by: None,
                expires_at: None,
            },
        }
    }

    fn health(source: &str, down: bool, revision: u64) -> BusMessage {
        BusMessage::Payment(PaymentHealth {
            v: SCHEMA_VERSION,
            source: id(source),
            status: if down {
                PaymentStatus::Down
            } else {
                PaymentStatus::Ok
            },
            revision,
            since: OffsetDateTime::UNIX_EPOCH,
            detail: None,
            down_since_revision: None,
        })
    }

    /// A "still down" repeat: a new revision, the outage's first revision carried along.
    fn still_down(source: &str, first: u64, revision: u64) -> BusMessage {
        BusMessage::Payment(PaymentHealth {
            v: SCHEMA_VERSION,
            source: id(source),
            status: PaymentStatus::Down,
            revision,
            since: OffsetDateTime::UNIX_EPOCH,
            detail: None,
            down_since_revision: Some(first),
        })
    }

    #[test]
    fn a_repeated_still_down_report_does_not_override_a_managers_resolve() {
        let me = id(DETECTOR);
        let automatic = policy(1, ResolvePolicy::Automatic);
        let mut state = VenueState::default();
        state.apply(health("pos", true, 1));
        enact(&mut state, Decision::Start);
        state.apply(declaration("console", Authority::Manager, 3, false));
        state.apply(still_down("pos", 1, 4));
        assert_eq!(
            decide(&state, automatic, &me),
            None,
            "the outage is the one the manager answered"
        );
        state.apply(health("pos", false, 5));
        state.apply(health("pos", true, 6));
        assert_eq!(
            decide(&state, automatic, &me),
            Some(Decision::Start),
            "a new outage"
        );
    }

    const DETECTOR: &str = "auto-box";

    /// What the detector publishes for a decision, at the next revision.
    fn enact(state: &mut VenueState, decision: Decision) {
        let revision = state.max_revision() + 1;
        let active = decision == Decision::Start;
        state.apply(declaration(
            DETECTOR,
            Authority::Automatic,
            revision,
            active,
        ));
    }

    fn policy(quorum: usize, resolve: ResolvePolicy) -> Policy {
        Policy { quorum, resolve }
    }

    #[test]
    fn quorum_starts_recovery_resolves_and_a_manager_resolve_holds() {
        let me = id(DETECTOR);
        let automatic = policy(2, ResolvePolicy::Automatic);
        let mut state = VenueState::default();
        state.apply(health("probe", true, 1));
        assert_eq!(
            decide(&state, automatic, &me),
            None,
            "one of two is not a quorum"
        );
        state.apply(health("pos", true, 2));
        assert_eq!(decide(&state, automatic, &me), Some(Decision::Start));
        enact(&mut state, Decision::Start);
        assert_eq!(decide(&state, automatic, &me), None, "already raised");
        // The manager resolves while cards are still down: that holds.
        state.apply(declaration("console", Authority::Manager, 4, false));
        assert_eq!(
            decide(&state, automatic, &me),
            None,
            "no new failure since the resolve"
        );
        assert_eq!(compute_view(&state).mode, ViewMode::AllClear);
        // Recovery: the detector ends its own (hidden) incident.
        state.apply(health("probe", false, 5));
        assert_eq!(decide(&state, automatic, &me), Some(Decision::Resolve));
        enact(&mut state, Decision::Resolve);
        assert_eq!(decide(&state, automatic, &me), None);
        // A new failure after the resolve raises a new incident.
        state.apply(health("probe", true, 7));
        assert_eq!(decide(&state, automatic, &me), Some(Decision::Start));
        enact(&mut state, Decision::Start);
        assert_eq!(compute_view(&state).mode, ViewMode::CashOnly);
    }

    #[test]
    fn with_resolve_by_manager_the_incident_stays_after_recovery() {
        let me = id(DETECTOR);
        let mut state = VenueState::default();
        state.apply(health("probe", true, 1));
        let waits = policy(1, ResolvePolicy::Manager);
        assert_eq!(decide(&state, waits, &me), Some(Decision::Start));
        enact(&mut state, Decision::Start);
        state.apply(health("probe", false, 3));
        assert_eq!(decide(&state, waits, &me), None);
        assert_eq!(compute_view(&state).mode, ViewMode::CashOnly);
    }

    #[derive(Clone, Debug)]
    enum Step {
        Health {
            source: u8,
            down: bool,
        },
        /// The source repeats its health; a down one carries its outage's first revision.
        StillDown {
            source: u8,
        },
        Manager {
            active: bool,
        },
        Detector,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (0u8..3, any::<bool>()).prop_map(|(source, down)| Step::Health { source, down }),
            (0u8..3).prop_map(|source| Step::StillDown { source }),
            any::<bool>().prop_map(|active| Step::Manager { active }),
            Just(Step::Detector),
        ]
    }

    proptest! {
        /// Whatever happens, the detector never changes what a manager put on screen: an
        /// active manager declaration stays shown, and after a manager's resolve the view
        /// turns active again only once a source reported down after that resolve.
        #[test]
        fn automatic_detection_never_overrides_a_manager(
            steps in proptest::collection::vec(step(), 1..60),
            quorum in 1usize..3,
            by_manager in any::<bool>(),
        ) {
            let me = id(DETECTOR);
            let resolve = if by_manager { ResolvePolicy::Manager } else { ResolvePolicy::Automatic };
            let rules = policy(quorum, resolve);
            let mut state = VenueState::default();
            for step in steps {
                let revision = state.max_revision() + 1;
                match step {
                    Step::Health { source, down } => {
                        state.apply(health(&format!("source-{source}"), down, revision));
                    }
                    Step::StillDown { source } => {
                        let name = format!("source-{source}");
                        let previous = state.payments.get(&id(&name)).cloned();
                        if let Some(previous) = previous.filter(|h| h.status == PaymentStatus::Down) {
                            state.apply(still_down(&name, previous.outage_revision(), revision));
                        }
                    }
                    Step::Manager { active } => {
                        state.apply(declaration("console", Authority::Manager, revision, active));
                    }
                    Step::Detector => {
                        let before = compute_view(&state);
                        let manager = manager_latest(&state).cloned();
                        if let Some(decision) = decide(&state, rules, &me) {
                            enact(&mut state, decision);
                            // Deciding again right away changes nothing: no flapping.
                            prop_assert_eq!(decide(&state, rules, &me), None);
                        }
                        let after = compute_view(&state);
                        if let Some(manager) = manager {
                            if manager.state == DeclarationState::Active {
                                prop_assert_eq!(after.revision, manager.revision);
                            } else if before.mode != ViewMode::CashOnly && after.mode == ViewMode::CashOnly {
                                let fresh = state.payments.values().any(|h| {
                                    h.status == PaymentStatus::Down && h.outage_revision() > manager.revision
                                });
                                prop_assert!(fresh, "re-raised after a manager's resolve without a new failure");
                            }
                        }
                    }
                }
            }
        }
    }
}
