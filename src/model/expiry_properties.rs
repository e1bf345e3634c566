//! Property tests for incidents (and drills) that end themselves (`model::expiry`),
//! invariant 1's one exception: the clock decides nothing until an expiry and its margin have passed; screens
//! whose clocks are within half the margin of the true time agree whatever order they
//! heard things in once the keeper (its clock as skewed) has published its resolves; and
//! without any keeper, once the margin has passed on every clock, every screen shows what
//! the keeper's resolve would have shown.

use super::expiry::compute_view_at;
use super::properties::{declaration, drill, payment};
use super::*;
use crate::protocol::{BusMessage, DeclarationState, Identifier, Scope, EXPIRY_MARGIN};
use proptest::prelude::*;
use time::{Duration, OffsetDateTime};

/// The declarations' own time (the generators declare everything at the epoch).
const T0: OffsetDateTime = OffsetDateTime::UNIX_EPOCH;
/// The latest expiry generated, in seconds after `T0`.
const LATEST_EXPIRY_SECS: i64 = 3_600;

/// A declaration that, when it is a venue's active one, may end itself within the hour.
fn expiring_declaration() -> impl Strategy<Value = BusMessage> {
    (declaration(), prop::option::of(1i64..=LATEST_EXPIRY_SECS)).prop_map(
        |(mut message, expiry)| {
            if let BusMessage::Declaration { scope, declaration } = &mut message {
                if *scope == Scope::Venue && declaration.state == DeclarationState::Active {
                    declaration.expires_at = expiry.map(|secs| T0 + Duration::seconds(secs));
                }
            }
            message
        },
    )
}

fn message() -> impl Strategy<Value = BusMessage> {
    prop_oneof![3 => expiring_declaration(), 1 => payment(), 1 => drill()]
}

fn state_of(messages: &[BusMessage]) -> VenueState {
    let mut state = VenueState::default();
    for message in messages {
        state.apply(message.clone());
    }
    state
}

/// A deterministic shuffle from the seed (Fisher–Yates with an LCG).
fn shuffled(mut messages: Vec<BusMessage>, mut seed: u64) -> Vec<BusMessage> {
    for i in (1..messages.len()).rev() {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        messages.swap(i, (seed >> 33) as usize % (i + 1));
    }
    messages
}

/// What the venue's keeper publishes by its clock `now`: every winner it holds, its
/// expiry resolves included; and, as the console does, the end of a drill whose time
/// has come.
fn keeper_publishes(messages: &[BusMessage], now: OffsetDateTime) -> Vec<BusMessage> {
    let mut keeper = Keeper::default();
    for message in messages {
        keeper.restore(message.clone());
    }
    keeper.expire(now);
    let venue = Identifier::parse("rialto").expect("a valid venue id");
    let mut published: Vec<BusMessage> = keeper
        .kept(&venue)
        .into_iter()
        .map(|(_, message)| message)
        .collect();
    let mut heard = state_of(messages);
    for message in &published {
        heard.apply(message.clone());
    }
    let console = Identifier::parse("console").expect("a valid source");
    if drill::latest_drill(&heard).is_some_and(|order| order.ends_at <= now) {
        if let Ok(end) = prepare_drill_end(&heard, &console, None) {
            published.push(BusMessage::Drill(end));
        }
    }
    published
}

/// A clock within half the margin of the true time, either way (in seconds).
fn skew() -> impl Strategy<Value = i64> {
    let half = EXPIRY_MARGIN.whole_seconds() / 2;
    -(half - 1)..half
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_clock_decides_nothing_before_an_expiry_and_its_margin(
        messages in prop::collection::vec(message(), 0..16),
        now_secs in -60i64..LATEST_EXPIRY_SECS + 600,
    ) {
        let state = state_of(&messages);
        let now = T0 + Duration::seconds(now_secs);
        // Read from the messages themselves, not from the code under test.
        let first_end = messages
            .iter()
            .filter_map(|m| match m {
                BusMessage::Declaration { declaration, .. } => declaration.expires_at,
                BusMessage::Drill(order) => Some(order.ends_at),
                _ => None,
            })
            .min();
        // Any moment before the first end and its margin, the last second included.
        let now = first_end.map_or(now, |end| now.min(end + EXPIRY_MARGIN - Duration::seconds(1)));
        prop_assert_eq!(compute_view_at(&state, now), compute_view(&state));
    }

    #[test]
    fn screens_agree_whatever_their_clocks_once_the_keeper_has_resolved(
        messages in prop::collection::vec(message(), 0..16),
        true_secs in 0i64..LATEST_EXPIRY_SECS + 600,
        keeper_skew in skew(),
        first_skew in skew(),
        second_skew in skew(),
        seed in any::<u64>(),
    ) {
        let true_time = T0 + Duration::seconds(true_secs);
        let mut heard = messages.clone();
        heard.extend(keeper_publishes(&messages, true_time + Duration::seconds(keeper_skew)));
        let first = state_of(&heard);
        let second = state_of(&shuffled(heard, seed));
        prop_assert_eq!(
            compute_view_at(&first, true_time + Duration::seconds(first_skew)).digest(),
            compute_view_at(&second, true_time + Duration::seconds(second_skew)).digest()
        );
    }

    #[test]
    fn without_a_keeper_every_screen_ends_it_as_the_keeper_would_once_the_margin_passed(
        messages in prop::collection::vec(message(), 0..16),
        first_late in 0i64..86_400,
        second_late in 0i64..86_400,
        seed in any::<u64>(),
    ) {
        let all_past = T0 + Duration::seconds(LATEST_EXPIRY_SECS) + EXPIRY_MARGIN;
        let first = state_of(&messages);
        let second = state_of(&shuffled(messages.clone(), seed));
        let first_view = compute_view_at(&first, all_past + Duration::seconds(first_late));
        prop_assert_eq!(
            &first_view,
            &compute_view_at(&second, all_past + Duration::seconds(second_late))
        );
        let mut resolved = messages.clone();
        resolved.extend(keeper_publishes(&messages, all_past));
        prop_assert_eq!(&first_view, &compute_view(&state_of(&resolved)));
    }
}

/// Worked examples of the same rules.
mod examples {
    use super::super::expiry::{expiry_resolve, next_screen_change, EXPIRY_ACTOR};
    use super::super::fixtures::{at, declaration};
    use super::*;

    fn expiring(revision: u64, expiry_secs: i64) -> BusMessage {
        let mut declaration = declaration("console", revision, DeclarationState::Active);
        declaration.expires_at = Some(at(expiry_secs));
        BusMessage::Declaration {
            scope: Scope::Venue,
            declaration,
        }
    }

    fn declaration_of(message: &BusMessage) -> &crate::protocol::IncidentDeclaration {
        match message {
            BusMessage::Declaration { declaration, .. } => declaration,
            _ => unreachable!("built as a declaration"),
        }
    }

    #[test]
    fn the_resolve_of_an_expiry_is_one_revision_up_at_the_expiry_with_no_texts() {
        let message = expiring(4, 600);
        let resolve =
            expiry_resolve(declaration_of(&message)).expect("an active, expiring declaration");
        assert_eq!(resolve.revision, 5);
        assert_eq!(resolve.state, DeclarationState::Resolved);
        assert_eq!(resolve.declared_at, at(600));
        assert_eq!(resolve.actor.as_deref(), Some(EXPIRY_ACTOR));
        assert_eq!(resolve.expires_at, None);
        assert!(resolve.texts.headline.is_none());
        assert_eq!(resolve.incident_id, declaration_of(&message).incident_id);
    }

    #[test]
    fn a_screen_ends_it_only_after_the_margin_and_then_shows_what_the_keeper_would() {
        let state = state_of(&[expiring(4, 600)]);
        let expiry = at(600);
        assert_eq!(
            next_screen_change(&state, at(0)),
            Some(expiry + EXPIRY_MARGIN)
        );
        let just_before = expiry + EXPIRY_MARGIN - Duration::seconds(1);
        assert_eq!(
            compute_view_at(&state, just_before).mode,
            ViewMode::CashOnly
        );
        let ended = compute_view_at(&state, expiry + EXPIRY_MARGIN);
        assert_eq!(ended.mode, ViewMode::AllClear);
        assert_eq!(next_screen_change(&state, expiry + EXPIRY_MARGIN), None);
        let kept = state_of(&keeper_publishes(&[expiring(4, 600)], expiry));
        assert_eq!(compute_view(&kept), ended);
    }

    #[test]
    fn the_keeper_waits_for_the_expiry_and_an_update_that_moves_it_wins() {
        let mut keeper = Keeper::default();
        keeper.restore(expiring(4, 600));
        let expiry = at(600);
        assert_eq!(keeper.next_expiry(at(0)), Some(expiry));
        assert!(!keeper.expire(expiry - Duration::seconds(1)));
        // The manager moved the expiry an hour on before it came.
        keeper.restore(expiring(6, 4_200));
        assert!(!keeper.expire(expiry));
        assert_eq!(keeper.next_expiry(expiry), Some(at(4_200)));
        // A resolve of the old declaration heard late changes nothing.
        let stale = expiry_resolve(declaration_of(&expiring(4, 600))).expect("resolvable");
        let mut state = state_of(&[expiring(6, 4_200)]);
        let outcome = state.apply(BusMessage::Declaration {
            scope: Scope::Venue,
            declaration: stale,
        });
        assert_eq!(outcome, ApplyOutcome::Stale);
    }
}
