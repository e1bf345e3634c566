//! Property tests for invariants 1 and 2: any permutation or duplication of a message
//! set yields the same view, and automatic detection never overrides a manager.

use super::*;
use crate::protocol::{
    Authority, BusMessage, DeclarationState, Identifier, IncidentDeclaration, IncidentMode,
    IncidentTexts, PaymentHealth, PaymentStatus, Scope, SCHEMA_VERSION,
};
use proptest::prelude::*;
use time::OffsetDateTime;

fn id(text: &str) -> Identifier {
    Identifier::parse(text).unwrap()
}

prop_compose! {
    pub(super) fn declaration()(
        source in prop::sample::select(vec!["cli", "console", "auto", "hq"]),
        revision in 1u64..12,
        active in any::<bool>(),
        incident in 0u8..3,
        headline in prop::option::of("[a-z ]{0,8}"),
        chain_listed in any::<bool>(),
    ) -> BusMessage {
        let authority = if source == "auto" { Authority::Automatic } else { Authority::Manager };
        let scope = if source == "hq" { Scope::Chain } else { Scope::Venue };
        BusMessage::Declaration {
            scope,
            declaration: IncidentDeclaration {
                v: SCHEMA_VERSION,
                source: id(source),
                authority,
                revision,
                incident_id: id(&format!("inc-{incident}")),
                state: if active { DeclarationState::Active } else { DeclarationState::Resolved },
                mode: IncidentMode::CashOnly,
                texts: IncidentTexts { headline, ..Default::default() },
                translations: Default::default(),
                offer_id: None,
                supersedes: if chain_listed { vec![id(&format!("inc-{incident}"))] } else { vec![] },
                started_at: OffsetDateTime::UNIX_EPOCH,
                declared_at: OffsetDateTime::UNIX_EPOCH,
                actor: None,
                next_update_by: None,
                expires_at: None,
            },
        }
    }
}

prop_compose! {
    pub(super) fn payment()(source in prop::sample::select(vec!["pos-1", "probe"]), revision in 1u64..12, down in any::<bool>()) -> BusMessage {
        BusMessage::Payment(PaymentHealth {
            v: SCHEMA_VERSION,
            source: id(source),
            status: if down { PaymentStatus::Down } else { PaymentStatus::Ok },
            revision,
            since: OffsetDateTime::UNIX_EPOCH,
            detail: None,
            down_since_revision: None,
        })
    }
}

prop_compose! {
    pub(super) fn drill()(
        source in prop::sample::select(vec!["console", "cli"]),
        revision in 1u64..12,
        running in any::<bool>(),
        full in any::<bool>(),
    ) -> BusMessage {
        BusMessage::Drill(crate::protocol::DrillOrder {
            v: SCHEMA_VERSION,
            source: id(source),
            revision,
            drill_id: id(&format!("drill-{}", revision % 3)),
            state: if running { crate::protocol::DrillState::Running } else { crate::protocol::DrillState::Ended },
            started_at: OffsetDateTime::UNIX_EPOCH,
            ends_at: OffsetDateTime::UNIX_EPOCH + time::Duration::minutes(5),
            full_screen: if full { vec![id("lobby-1")] } else { vec![] },
            actor: None,
        })
    }
}

fn message() -> impl Strategy<Value = BusMessage> {
    prop_oneof![3 => declaration(), 1 => payment(), 1 => drill()]
}

fn state_of(messages: &[BusMessage]) -> VenueState {
    let mut state = VenueState::default();
    for message in messages {
        state.apply(message.clone());
    }
    state
}

/// The declarations of one kind are authority/scope-specific; this checks the
/// "manager active" precondition for the precedence properties.
fn latest_manager_is_active(state: &VenueState) -> bool {
    state
        .declarations
        .iter()
        .filter(|((scope, _), d)| *scope == Scope::Venue && d.authority == Authority::Manager)
        .max_by(|((_, a_src), a), ((_, b_src), b)| (a.revision, a_src).cmp(&(b.revision, b_src)))
        .is_some_and(|(_, d)| d.state == DeclarationState::Active)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_order_and_duplication_gives_the_same_view(
        messages in prop::collection::vec(message(), 0..24),
        shuffle_seed in any::<u64>(),
        duplicates in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let reference = state_of(&messages);
        let mut replayed = messages.clone();
        for index in &duplicates {
            if !messages.is_empty() {
                replayed.push(index.get(&messages).clone());
            }
        }
        // A deterministic shuffle from the seed (Fisher–Yates with an LCG).
        let mut seed = shuffle_seed;
        for i in (1..replayed.len()).rev() {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            replayed.swap(i, (seed >> 33) as usize % (i + 1));
        }
        let other = state_of(&replayed);
        prop_assert_eq!(&reference, &other);
        prop_assert_eq!(compute_view(&reference).digest(), compute_view(&other).digest());
    }

    #[test]
    fn replaying_the_retained_set_changes_nothing(messages in prop::collection::vec(message(), 0..24)) {
        let mut state = state_of(&messages);
        let view = compute_view(&state);
        for message in &messages {
            prop_assert_ne!(state.apply(message.clone()), ApplyOutcome::Changed);
        }
        prop_assert_eq!(compute_view(&state), view);
    }

    #[test]
    fn automatic_declarations_never_override_an_active_manager(
        messages in prop::collection::vec(message(), 1..24),
        automatic in prop::collection::vec(declaration(), 0..8),
    ) {
        let state = state_of(&messages);
        prop_assume!(latest_manager_is_active(&state));
        let before = compute_view(&state);
        let mut after_state = state.clone();
        for message in automatic {
            if let BusMessage::Declaration { declaration, .. } = &message {
                if declaration.authority != Authority::Automatic { continue; }
            }
            after_state.apply(message);
        }
        prop_assert_eq!(compute_view(&after_state), before);
    }

    #[test]
    fn a_manager_resolve_holds_against_older_automatic_failures(
        messages in prop::collection::vec(declaration(), 0..24),
    ) {
        let state = state_of(&messages);
        let view = compute_view(&state);
        if view.authority == Some(Authority::Automatic) && view.is_active() {
            // Then no venue manager declaration is newer than the automatic one.
            let newest_manager = state.declarations.iter()
                .filter(|((scope, _), d)| *scope == Scope::Venue && d.authority == Authority::Manager)
                .map(|(_, d)| d.revision).max();
            prop_assert!(newest_manager.is_none_or(|r| r < view.revision));
        }
    }
}

/// A plain declaration for the example-based tests below.
fn plain(
    scope: Scope,
    source: &str,
    authority: Authority,
    revision: u64,
    state: DeclarationState,
    incident: &str,
) -> BusMessage {
    BusMessage::Declaration {
        scope,
        declaration: IncidentDeclaration {
            v: SCHEMA_VERSION,
            source: id(source),
            authority,
            revision,
            incident_id: id(incident),
            state,
            mode: IncidentMode::CashOnly,
            texts: IncidentTexts::default(),
            translations: Default::default(),
            offer_id: None,
            supersedes: vec![],
            started_at: OffsetDateTime::UNIX_EPOCH,
            declared_at: OffsetDateTime::UNIX_EPOCH,
            actor: None,
            next_update_by: None,
            expires_at: None,
        },
    }
}

#[test]
fn a_new_automatic_failure_after_a_manager_resolve_takes_over() {
    let decl = |source: &str, authority, revision, state| {
        plain(
            Scope::Venue,
            source,
            authority,
            revision,
            state,
            &format!("inc-{source}-{revision}"),
        )
    };
    let mut state = VenueState::default();
    state.apply(decl(
        "auto",
        Authority::Automatic,
        1,
        DeclarationState::Active,
    ));
    assert_eq!(compute_view(&state).mode, ViewMode::CashOnly);
    state.apply(decl(
        "console",
        Authority::Manager,
        2,
        DeclarationState::Resolved,
    ));
    assert_eq!(
        compute_view(&state).mode,
        ViewMode::AllClear,
        "the manager's resolve wins"
    );
    state.apply(decl(
        "auto",
        Authority::Automatic,
        3,
        DeclarationState::Active,
    ));
    let view = compute_view(&state);
    assert_eq!(
        (view.mode, view.revision),
        (ViewMode::CashOnly, 3),
        "a new failure after the resolve"
    );
    state.apply(decl(
        "auto",
        Authority::Automatic,
        4,
        DeclarationState::Resolved,
    ));
    assert_eq!(
        compute_view(&state).mode,
        ViewMode::AllClear,
        "automatic ends what it started"
    );
}

#[test]
fn chain_incident_shows_until_the_venue_manager_supersedes_it() {
    let chain = plain(
        Scope::Chain,
        "hq",
        Authority::Manager,
        1,
        DeclarationState::Active,
        "national",
    );
    let mut state = VenueState::default();
    state.apply(chain.clone());
    assert_eq!(compute_view(&state).scope, Some(Scope::Chain));
    let BusMessage::Declaration {
        declaration: mut resolve,
        ..
    } = chain
    else {
        unreachable!()
    };
    resolve.source = id("console");
    resolve.revision = 2;
    resolve.state = DeclarationState::Resolved;
    resolve.supersedes = vec![id("national")];
    state.apply(BusMessage::Declaration {
        scope: Scope::Venue,
        declaration: resolve,
    });
    assert_eq!(compute_view(&state).mode, ViewMode::AllClear);
}

#[test]
fn one_detector_recovering_does_not_hide_another_detectors_failure() {
    let mut state = VenueState::default();
    state.apply(plain(
        Scope::Venue,
        "auto-pos",
        Authority::Automatic,
        1,
        DeclarationState::Active,
        "pos-down",
    ));
    state.apply(plain(
        Scope::Venue,
        "auto-probe",
        Authority::Automatic,
        2,
        DeclarationState::Resolved,
        "probe-ok",
    ));
    let view = compute_view(&state);
    assert_eq!((view.mode, view.revision), (ViewMode::CashOnly, 1));
}

#[test]
fn the_newest_resolve_is_shown_so_revisions_never_go_backwards() {
    let mut state = VenueState::default();
    state.apply(plain(
        Scope::Venue,
        "console",
        Authority::Manager,
        2,
        DeclarationState::Resolved,
        "first",
    ));
    state.apply(plain(
        Scope::Venue,
        "auto",
        Authority::Automatic,
        3,
        DeclarationState::Active,
        "second",
    ));
    assert_eq!(compute_view(&state).mode, ViewMode::CashOnly);
    state.apply(plain(
        Scope::Venue,
        "auto",
        Authority::Automatic,
        4,
        DeclarationState::Resolved,
        "second",
    ));
    let view = compute_view(&state);
    assert_eq!((view.mode, view.revision), (ViewMode::AllClear, 4));
}

/// One message from anyone but the manager's own source (the ACL gives each declaring
/// login its own topic), with a revision anywhere in the allowed range: a payment report,
/// or any other source's declaration.
fn rogue() -> impl Strategy<Value = BusMessage> {
    let revision = prop_oneof![
        1u64..40,
        Just(crate::protocol::MAX_REVISION),
        Just(crate::protocol::MAX_REVISION - 1),
        (1u64..crate::protocol::MAX_REVISION),
        (1u64..4).prop_map(|n| n * revisions::MAX_STEP),
    ];
    (message(), revision).prop_map(|(mut message, revision)| {
        match &mut message {
            BusMessage::Declaration { declaration, .. } => {
                declaration.revision = revision;
                if declaration.source == id("console") {
                    declaration.source = id("cli");
                }
            }
            BusMessage::Payment(health) => health.revision = revision,
            _ => {}
        }
        message
    })
}

fn rogue_report() -> impl Strategy<Value = BusMessage> {
    (1u64..=crate::protocol::MAX_REVISION).prop_map(|revision| {
        let mut report = crate::protocol::DisplayReport::offline(&id("lobby-1"), None);
        report.status = crate::protocol::DisplayStatus::Online;
        report.revision = Some(revision);
        BusMessage::Display(report)
    })
}

fn manager(action: DeclareAction) -> DeclareRequest {
    DeclareRequest {
        action,
        source: id("console"),
        authority: Authority::Manager,
        actor: None,
        texts: IncidentTexts::default(),
        translations: Default::default(),
        offer_id: None,
        next_update_by: None,
        expires_at: None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Invariant 4 of issue 11: no single report or declaration inside the allowed range
    /// stops a manager from declaring, and what the manager declares is what every
    /// screen then shows; the same for the resolve that follows.
    #[test]
    fn no_single_message_pins_the_venue(
        honest in prop::collection::vec(message(), 0..12),
        rogue in prop_oneof![rogue(), rogue_report()],
    ) {
        let mut state = state_of(&honest);
        state.apply(rogue);
        let at = OffsetDateTime::UNIX_EPOCH;
        let started = prepare_declaration(&state, manager(DeclareAction::Start), None, at, id("inc-new"))
            .expect("a manager can always declare")
            .declaration;
        state.apply(BusMessage::Declaration { scope: Scope::Venue, declaration: started.clone() });
        let view = compute_view(&state);
        prop_assert_eq!(view.mode, ViewMode::CashOnly);
        prop_assert_eq!(view.revision, started.revision);
        let resolved = prepare_declaration(&state, manager(DeclareAction::Resolve), None, at, id("unused"))
            .expect("a manager can always resolve")
            .declaration;
        state.apply(BusMessage::Declaration { scope: Scope::Venue, declaration: resolved.clone() });
        let view = compute_view(&state);
        prop_assert_eq!(view.mode, ViewMode::AllClear);
        prop_assert_eq!(view.revision, resolved.revision);
    }
}
