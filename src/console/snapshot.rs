//! What the console page shows, computed from the console's retained set, its
//! confirmation tracker and what it noticed about each node (when it went offline, its
//! latest thumbnail): the view, who confirms it, the headline ("11 of 12 screens
//! confirmed — Lobby 2 offline since 19:50") and the phase that says when a switch or an
//! all clear is really done (invariants 2, 3). Pure apart from formatting times for
//! people.

use crate::model::{
    compute_view, Confirmations, NodeKind, Standing, Tally, VenueState, VenueView, ViewMode,
};
use crate::protocol::{Authority, Identifier, PaymentHealth, PaymentStatus};
use serde::Serialize;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// What the console noticed about one node beyond its retained report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeNotes {
    /// When the console saw the node go offline (unknown if it was offline at start).
    pub offline_since: Option<OffsetDateTime>,
    /// Bumped whenever a new thumbnail arrives; `None` if the node publishes none.
    pub thumbnail: Option<u64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct NodeRow {
    pub node: Identifier,
    pub name: Option<String>,
    pub roles: Vec<String>,
    pub kind: NodeKind,
    pub standing: Standing,
    pub revision: Option<u64>,
    pub mode: Option<String>,
    pub incident_id: Option<Identifier>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub since: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub offline_since: Option<OffsetDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<u64>,
    /// Why a headless node draws nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Normal,
    /// Cash only declared; some online node still shows something else.
    Switching,
    /// Cash only on every online screen and counter.
    Confirmed,
    /// Resolved; some online node has not cleared yet.
    Clearing,
    /// Every online screen and counter shows all clear.
    Cleared,
    /// The console cannot see the venue (no link, or still reading its state): whatever
    /// it showed last may be out of date, so nothing is called done.
    Blind,
}

#[derive(Clone, Debug, Serialize)]
pub struct Progress {
    pub phase: Phase,
    /// True when every online screen and counter shows the current view.
    pub done: bool,
    pub headline: String,
    pub screens: Tally,
    pub counters: Tally,
}

#[derive(Clone, Debug, Serialize)]
pub struct ViewWithDigest {
    #[serde(flatten)]
    pub view: VenueView,
    pub digest: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct LinkState {
    /// The console sees the venue: its link is up and the retained set has been read.
    pub connected: bool,
    /// Since when it does not (its start, or the link's loss).
    #[serde(with = "time::serde::rfc3339::option")]
    pub blind_since: Option<OffsetDateTime>,
}

/// The whole page state, as `GET /api/state` and every SSE event carry it.
#[derive(Clone, Debug, Serialize)]
pub struct ConsoleSnapshot {
    pub venue: Identifier,
    pub venue_name: String,
    pub link: LinkState,
    pub view: ViewWithDigest,
    pub progress: Progress,
    pub nodes: Vec<NodeRow>,
    pub payments: Vec<PaymentHealth>,
    /// During a manager's cash only: since when every payment source reports ok again
    /// (the page calls the incident stale after `stale_incident_minutes`); else null.
    #[serde(with = "time::serde::rfc3339::option")]
    pub payments_recovered_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
}

/// Since when every payment source is ok again while a manager's cash only holds: the
/// latest recovery among them. `None` without sources, with one still down, or when the
/// incident is automatic (detection ends that one itself).
pub fn payments_recovered_at(view: &VenueView, state: &VenueState) -> Option<OffsetDateTime> {
    let manager_cash_only =
        view.mode == ViewMode::CashOnly && view.authority == Some(Authority::Manager);
    if !manager_cash_only || state.payments.is_empty() {
        return None;
    }
    state
        .payments
        .values()
        .map(|health| (health.status == PaymentStatus::Ok).then_some(health.since))
        .collect::<Option<Vec<_>>>()?
        .into_iter()
        .max()
}

/// Builds the snapshot from the retained set and its tracker; `now` only stamps it.
pub fn build_snapshot(
    venue: &Identifier,
    venue_name: &str,
    blind_since: Option<OffsetDateTime>,
    state: &VenueState,
    confirmations: &Confirmations,
    notes: &BTreeMap<Identifier, NodeNotes>,
    now: OffsetDateTime,
) -> ConsoleSnapshot {
    let view = compute_view(state);
    let mut nodes: Vec<NodeRow> = confirmations
        .nodes()
        .filter_map(|(node, kind, standing)| {
            let report = state.displays.get(node)?;
            let note = notes.get(node).cloned().unwrap_or_default();
            Some(NodeRow {
                node: node.clone(),
                name: report.name.as_deref().map(crate::text::one_line),
                roles: report.roles.clone(),
                kind,
                standing,
                revision: report.revision,
                mode: report.mode.clone(),
                incident_id: report.incident_id.clone(),
                since: report.since,
                offline_since: note.offline_since.filter(|_| standing == Standing::Offline),
                thumbnail: note.thumbnail,
                reason: report.reason.as_deref().map(crate::text::one_line),
            })
        })
        .collect();
    // Laggards and offline nodes first: they are what a manager must act on.
    nodes.sort_by_key(|row| (row.standing, row.kind, row.node.clone()));
    // Without its own link the console knows nothing current: no success is claimed.
    let done = blind_since.is_none() && confirmations.all_confirmed();
    let phase = match (blind_since, view.mode, done) {
        (Some(_), ..) => Phase::Blind,
        (None, ViewMode::Normal, _) => Phase::Normal,
        (None, ViewMode::CashOnly, false) => Phase::Switching,
        (None, ViewMode::CashOnly, true) => Phase::Confirmed,
        (None, ViewMode::AllClear, false) => Phase::Clearing,
        (None, ViewMode::AllClear, true) => Phase::Cleared,
    };
    let headline = match blind_since {
        Some(since) => format!(
            "The console cannot see the venue since {}: its link to the broker is down or still reading. Screens keep what they last received.",
            crate::clock::hour_minute(since)
        ),
        None => confirmations.headline(state, view.mode == ViewMode::AllClear, |node| {
            notes
                .get(node)
                .and_then(|note| note.offline_since)
                .map(crate::clock::hour_minute)
        }),
    };
    let progress = Progress {
        phase,
        done,
        headline,
        screens: confirmations.tally(NodeKind::Screen),
        counters: confirmations.tally(NodeKind::Counter),
    };
    ConsoleSnapshot {
        venue: venue.clone(),
        venue_name: venue_name.to_owned(),
        link: LinkState {
            connected: blind_since.is_none(),
            blind_since,
        },
        payments_recovered_at: payments_recovered_at(&view, state),
        view: ViewWithDigest {
            digest: confirmations.digest().to_owned(),
            view,
        },
        progress,
        nodes,
        payments: state.payments.values().cloned().collect(),
        generated_at: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::{self, at, id};
    use crate::protocol::{BusMessage, DeclarationState, Scope};

    fn declare(state: &mut VenueState, revision: u64, declaration_state: DeclarationState) {
        let declaration = fixtures::declaration("console", revision, declaration_state);
        state.apply(BusMessage::Declaration {
            scope: Scope::Venue,
            declaration,
        });
    }

    fn report(state: &mut VenueState, node: &str, role: &str, digest: Option<String>) {
        state.apply(BusMessage::Display(fixtures::report(
            node,
            role,
            digest.as_deref(),
        )));
    }

    /// The snapshot of `state` as the bus worker builds it.
    fn snapshot_of(
        state: &VenueState,
        notes: &BTreeMap<Identifier, NodeNotes>,
        now: OffsetDateTime,
    ) -> ConsoleSnapshot {
        build_snapshot(
            &id("v"),
            "V",
            None,
            state,
            &Confirmations::of(state),
            notes,
            now,
        )
    }

    #[test]
    fn a_switch_is_done_only_when_every_online_screen_and_counter_confirms() {
        let mut state = VenueState::default();
        declare(&mut state, 1, DeclarationState::Active);
        let digest = compute_view(&state).digest();
        report(&mut state, "lobby-1", "signage", Some(digest.clone()));
        report(&mut state, "lobby-2", "signage", None);
        report(&mut state, "till-1", "counter", Some("old".into()));
        let mut notes = BTreeMap::new();
        notes.insert(
            id("lobby-2"),
            NodeNotes {
                offline_since: Some(at(60)),
                thumbnail: None,
            },
        );
        let snapshot = snapshot_of(&state, &notes, at(90));
        assert_eq!(snapshot.progress.phase, Phase::Switching);
        assert!(!snapshot.progress.done);
        assert_eq!(snapshot.nodes[0].node, id("till-1"), "laggards come first");
        let headline = &snapshot.progress.headline;
        assert!(
            headline.starts_with("1 of 2 screens confirmed · 0 of 1 counter confirmed — "),
            "{headline}"
        );
        assert!(
            headline.contains("Name lobby-2 offline since "),
            "{headline}"
        );
        assert!(headline.contains("Name till-1 not yet"), "{headline}");

        report(&mut state, "till-1", "counter", Some(digest));
        let snapshot = snapshot_of(&state, &notes, at(91));
        assert_eq!(
            snapshot.progress.phase,
            Phase::Confirmed,
            "offline nodes do not hold a switch back"
        );
        assert!(snapshot.progress.done);
    }

    #[test]
    fn all_clear_is_called_done_only_when_every_online_screen_has_cleared() {
        let mut state = VenueState::default();
        declare(&mut state, 1, DeclarationState::Active);
        let active = compute_view(&state).digest();
        report(&mut state, "lobby-1", "signage", Some(active));
        declare(&mut state, 2, DeclarationState::Resolved);
        let snapshot = snapshot_of(&state, &BTreeMap::new(), at(0));
        assert_eq!(snapshot.progress.phase, Phase::Clearing);
        assert_eq!(
            snapshot.progress.headline,
            "0 of 1 screen cleared — Name lobby-1 not yet"
        );
        let cleared = compute_view(&state).digest();
        report(&mut state, "lobby-1", "signage", Some(cleared));
        let snapshot = snapshot_of(&state, &BTreeMap::new(), at(1));
        assert_eq!(snapshot.progress.phase, Phase::Cleared);
        assert_eq!(snapshot.progress.headline, "1 of 1 screen cleared");
    }

    #[test]
    fn a_console_without_its_link_claims_nothing() {
        let mut state = VenueState::default();
        declare(&mut state, 1, DeclarationState::Active);
        let digest = crate::model::compute_view(&state).digest();
        report(&mut state, "lobby-1", "signage", Some(digest));
        let snapshot = build_snapshot(
            &id("v"),
            "V",
            Some(at(60)),
            &state,
            &Confirmations::of(&state),
            &BTreeMap::new(),
            at(90),
        );
        assert_eq!(snapshot.progress.phase, Phase::Blind);
        assert!(!snapshot.progress.done);
        assert!(
            snapshot
                .progress
                .headline
                .starts_with("The console cannot see the venue since "),
            "{}",
            snapshot.progress.headline
        );
        assert!(!snapshot.link.connected);
    }

    #[test]
    fn an_empty_venue_says_so() {
        let state = VenueState::default();
        let snapshot = build_snapshot(
            &id("v"),
            "V",
            None,
            &state,
            &Confirmations::of(&state),
            &BTreeMap::new(),
            at(0),
        );
        assert_eq!(snapshot.progress.phase, Phase::Normal);
        assert_eq!(
            snapshot.progress.headline,
            "No screens or counters have reported yet"
        );
    }

    #[test]
    fn a_managers_incident_is_stale_only_once_every_payment_source_is_ok_again() {
        let health = |source: &str, status, since: i64| {
            BusMessage::Payment(PaymentHealth {
                v: 1,
                source: id(source),
                status,
                revision: since as u64,
                since: at(since),
                detail: None,
                down_since_revision: None,
            })
        };
        let mut state = VenueState::default();
        state.apply(BusMessage::Declaration {
            scope: Scope::Venue,
            declaration: fixtures::declaration("console", 1, DeclarationState::Active),
        });
        let recovered = |state: &VenueState| payments_recovered_at(&compute_view(state), state);
        assert_eq!(recovered(&state), None, "no source: nothing to go by");
        state.apply(health("pos", PaymentStatus::Ok, 10));
        state.apply(health("acquirer", PaymentStatus::Ok, 20));
        assert_eq!(recovered(&state), Some(at(20)), "the latest recovery");
        state.apply(health("acquirer", PaymentStatus::Down, 30));
        assert_eq!(recovered(&state), None, "one source still down");
        let mut automatic = fixtures::declaration("auto-box", 2, DeclarationState::Active);
        automatic.authority = Authority::Automatic;
        let mut state = VenueState::default();
        state.apply(BusMessage::Declaration {
            scope: Scope::Venue,
            declaration: automatic,
        });
        state.apply(health("pos", PaymentStatus::Ok, 10));
        assert_eq!(recovered(&state), None, "detection ends its own incident");
    }
}
