//! What the console page shows, computed from the console's retained set and what it
//! noticed about each node (when it went offline, its latest thumbnail): the view, who
//! confirms it, the headline ("11 of 12 screens confirmed — Lobby 2 offline since 19:50")
//! and the phase that says when a switch or an all clear is really done (invariants 2, 3).
//! Pure apart from formatting times for people.

use crate::clock::hour_minute;
use crate::model::{compute_view, VenueState, VenueView, ViewMode};
use crate::protocol::{DisplayReport, DisplayStatus, Identifier, PaymentHealth};
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    Screen,
    Counter,
    Console,
    Other,
}

/// Whether a node holds a switch or an all clear back: an online screen or counter
/// showing another view than `digest` (the rule behind `Phase` and `Progress::done`).
pub fn lags(report: &DisplayReport, digest: &str) -> bool {
    report.status == DisplayStatus::Online
        && report.digest.as_deref() != Some(digest)
        && matches!(
            NodeKind::of(&report.roles),
            NodeKind::Screen | NodeKind::Counter
        )
}

impl NodeKind {
    /// A node with a screen role counts as a screen, even if it is a counter too.
    pub fn of(roles: &[String]) -> Self {
        let has = |role: &str| roles.iter().any(|r| r == role);
        if has("signage") {
            NodeKind::Screen
        } else if has("counter") {
            NodeKind::Counter
        } else if has("console") {
            NodeKind::Console
        } else {
            NodeKind::Other
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    Confirmed,
    Lagging,
    Offline,
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
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub total: usize,
    pub confirmed: usize,
    pub lagging: usize,
    pub offline: usize,
}

impl Tally {
    fn add(&mut self, standing: Standing) {
        self.total += 1;
        match standing {
            Standing::Confirmed => self.confirmed += 1,
            Standing::Lagging => self.lagging += 1,
            Standing::Offline => self.offline += 1,
        }
    }
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
    pub connected: bool,
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
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
}

/// Builds the snapshot; `now` only stamps it.
pub fn build_snapshot(
    venue: &Identifier,
    venue_name: &str,
    connected: bool,
    state: &VenueState,
    notes: &BTreeMap<Identifier, NodeNotes>,
    now: OffsetDateTime,
) -> ConsoleSnapshot {
    let view = compute_view(state);
    let digest = view.digest();
    let mut nodes: Vec<NodeRow> = state
        .displays
        .values()
        .map(|report| {
            let note = notes.get(&report.node).cloned().unwrap_or_default();
            let standing = match report.status {
                DisplayStatus::Offline => Standing::Offline,
                DisplayStatus::Online if report.digest.as_deref() == Some(&digest) => {
                    Standing::Confirmed
                }
                DisplayStatus::Online => Standing::Lagging,
            };
            NodeRow {
                node: report.node.clone(),
                name: report.name.as_deref().map(crate::text::one_line),
                roles: report.roles.clone(),
                kind: NodeKind::of(&report.roles),
                standing,
                revision: report.revision,
                mode: report.mode.clone(),
                incident_id: report.incident_id.clone(),
                since: report.since,
                offline_since: note.offline_since.filter(|_| standing == Standing::Offline),
                thumbnail: note.thumbnail,
            }
        })
        .collect();
    // Laggards and offline nodes first: they are what a manager must act on.
    nodes.sort_by_key(|row| {
        let urgency = match row.standing {
            Standing::Lagging => 0,
            Standing::Offline => 1,
            Standing::Confirmed => 2,
        };
        (urgency, row.kind, row.node.clone())
    });
    let progress = progress(&view, &nodes);
    ConsoleSnapshot {
        venue: venue.clone(),
        venue_name: venue_name.to_owned(),
        link: LinkState { connected },
        view: ViewWithDigest { view, digest },
        progress,
        nodes,
        payments: state.payments.values().cloned().collect(),
        generated_at: now,
    }
}

fn progress(view: &VenueView, nodes: &[NodeRow]) -> Progress {
    let mut screens = Tally::default();
    let mut counters = Tally::default();
    for row in nodes {
        match row.kind {
            NodeKind::Screen => screens.add(row.standing),
            NodeKind::Counter => counters.add(row.standing),
            NodeKind::Console | NodeKind::Other => {}
        }
    }
    let done = screens.lagging == 0 && counters.lagging == 0;
    let phase = match (view.mode, done) {
        (ViewMode::Normal, _) => Phase::Normal,
        (ViewMode::CashOnly, false) => Phase::Switching,
        (ViewMode::CashOnly, true) => Phase::Confirmed,
        (ViewMode::AllClear, false) => Phase::Clearing,
        (ViewMode::AllClear, true) => Phase::Cleared,
    };
    Progress {
        phase,
        done,
        headline: headline(view.mode, &screens, &counters, nodes),
        screens,
        counters,
    }
}

/// "11 of 12 screens confirmed · 3 of 3 counters — Lobby 2 offline since 19:50".
fn headline(mode: ViewMode, screens: &Tally, counters: &Tally, nodes: &[NodeRow]) -> String {
    if screens.total == 0 && counters.total == 0 {
        return "No screens or counters have reported yet".to_owned();
    }
    let verb = if mode == ViewMode::AllClear {
        "cleared"
    } else {
        "confirmed"
    };
    let mut parts = Vec::new();
    for (tally, noun) in [(screens, "screen"), (counters, "counter")] {
        if tally.total > 0 {
            let plural = if tally.total == 1 { "" } else { "s" };
            parts.push(format!(
                "{} of {} {noun}{plural} {verb}",
                tally.confirmed, tally.total
            ));
        }
    }
    let mut line = parts.join(" · ");
    let attention: Vec<String> = nodes
        .iter()
        .filter(|row| matches!(row.kind, NodeKind::Screen | NodeKind::Counter))
        .filter(|row| row.standing != Standing::Confirmed)
        .map(|row| {
            let label = row.name.clone().unwrap_or_else(|| row.node.to_string());
            match (row.standing, row.offline_since) {
                (Standing::Offline, Some(since)) => {
                    format!("{label} offline since {}", hour_minute(since))
                }
                (Standing::Offline, None) => format!("{label} offline"),
                _ => format!("{label} not yet"),
            }
        })
        .collect();
    if !attention.is_empty() {
        line.push_str(" — ");
        let shown = attention.len().min(3);
        line.push_str(&attention[..shown].join(", "));
        if attention.len() > shown {
            line.push_str(&format!(" and {} more", attention.len() - shown));
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{
        Authority, BusMessage, DeclarationState, DisplayReport, IncidentDeclaration, IncidentMode,
        IncidentTexts, Scope, SCHEMA_VERSION,
    };

    fn id(text: &str) -> Identifier {
        Identifier::parse(text).unwrap()
    }

    fn at(seconds: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000 + seconds).unwrap()
    }

    fn declare(state: &mut VenueState, revision: u64, declaration_state: DeclarationState) {
        state.apply(BusMessage::Declaration {
            scope: Scope::Venue,
            declaration: IncidentDeclaration {
                v: SCHEMA_VERSION,
                source: id("console"),
                authority: Authority::Manager,
                revision,
                incident_id: id("inc-1"),
                state: declaration_state,
                mode: IncidentMode::CashOnly,
                texts: IncidentTexts::default(),
                offer_id: None,
                supersedes: Vec::new(),
                started_at: at(0),
                declared_at: at(0),
                actor: None,
            },
        });
    }

    fn report(state: &mut VenueState, node: &str, role: &str, digest: Option<String>) {
        let mut report = DisplayReport::offline(&id(node), Some(format!("Name {node}")));
        report.roles = vec![role.to_owned()];
        if let Some(digest) = digest {
            report.status = DisplayStatus::Online;
            report.digest = Some(digest);
            report.revision = Some(1);
        }
        state.apply(BusMessage::Display(report));
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
        let snapshot = build_snapshot(&id("v"), "V", true, &state, &notes, at(90));
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
        let snapshot = build_snapshot(&id("v"), "V", true, &state, &notes, at(91));
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
        let snapshot = build_snapshot(&id("v"), "V", true, &state, &BTreeMap::new(), at(0));
        assert_eq!(snapshot.progress.phase, Phase::Clearing);
        assert_eq!(
            snapshot.progress.headline,
            "0 of 1 screen cleared — Name lobby-1 not yet"
        );
        let cleared = compute_view(&state).digest();
        report(&mut state, "lobby-1", "signage", Some(cleared));
        let snapshot = build_snapshot(&id("v"), "V", true, &state, &BTreeMap::new(), at(1));
        assert_eq!(snapshot.progress.phase, Phase::Cleared);
        assert_eq!(snapshot.progress.headline, "1 of 1 screen cleared");
    }

    #[test]
    fn an_empty_venue_says_so() {
        let snapshot = build_snapshot(
            &id("v"),
            "V",
            false,
            &VenueState::default(),
            &BTreeMap::new(),
            at(0),
        );
        assert_eq!(snapshot.progress.phase, Phase::Normal);
        assert_eq!(
            snapshot.progress.headline,
            "No screens or counters have reported yet"
        );
    }
}
