//! A drill's result, screen by screen, from the console's own snapshots (pure): each
//! screen and counter's first confirmation of the drill view, with the milliseconds since
//! the drill's start; when the drill leaves the view (its end, its
//! time, or a real incident), every node still not confirmed keeps the standing it had
//! then — lagging, syncing, offline or headless. The recorder writes the result after
//! every change, so a drill cut short by a restart still leaves what was seen.

use crate::console::snapshot::{ConsoleSnapshot, Phase};
use crate::model::{NodeKind, Standing, ViewMode};
use crate::protocol::Identifier;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// How one node did in a drill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrillOutcome {
    /// A frame showing the drill view was drawn; `after_ms` says how soon.
    Confirmed,
    /// Online, but still showing something else when the drill ended.
    Lagging,
    /// Online, still reading the broker's retained state.
    Syncing,
    Offline,
    /// Online, but it draws nothing (a headless node).
    Headless,
    /// The drill is still running and this node has not confirmed yet.
    Waiting,
}

/// One node's line in the drill report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeResult {
    pub node: Identifier,
    pub name: Option<String>,
    pub kind: NodeKind,
    /// The drill named it: it drew the full cash-only screen, not the marker alone.
    pub full_screen: bool,
    pub outcome: DrillOutcome,
    /// Milliseconds from the drill's start to the console seeing this confirmation (to
    /// the console's snapshots, 50 ms apart at most).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_ms: Option<u64>,
    /// Why a headless node draws nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A drill as the console saw it: the dated drill report, kept as JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillReport {
    pub drill_id: Identifier,
    pub venue_name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// When the drill was to end by itself.
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    /// When the console saw it end; `None` while it runs.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
    /// A real incident came during the drill and took the screens.
    #[serde(default)]
    pub interrupted: bool,
    pub nodes: Vec<NodeResult>,
}

impl DrillReport {
    /// Screens and counters that confirmed, of all that take part.
    pub fn confirmed(&self) -> (usize, usize) {
        let confirmed = self
            .nodes
            .iter()
            .filter(|n| n.outcome == DrillOutcome::Confirmed)
            .count();
        (confirmed, self.nodes.len())
    }

    /// The slowest confirmation, in milliseconds.
    pub fn slowest_ms(&self) -> Option<u64> {
        self.nodes.iter().filter_map(|n| n.after_ms).max()
    }
}

/// What the recorder remembers between snapshots.
#[derive(Default)]
pub struct DrillObserver {
    current: Option<Following>,
}

struct Following {
    report: DrillReport,
    /// What confirmations are timed from: the drill's start (the console's own clock for
    /// the drills it starts), or when the console first saw it if that is earlier.
    seen_at: OffsetDateTime,
    /// Confirmations so far, by node.
    confirmed_after: BTreeMap<Identifier, u64>,
}

fn outcome_of(standing: Standing) -> DrillOutcome {
    match standing {
        Standing::Confirmed => DrillOutcome::Confirmed,
        Standing::Lagging => DrillOutcome::Lagging,
        Standing::Syncing => DrillOutcome::Syncing,
        Standing::Offline => DrillOutcome::Offline,
        Standing::Headless => DrillOutcome::Headless,
    }
}

impl DrillObserver {
    /// The drill reports `snapshot` changes (the running one, and one that just ended),
    /// to be written down.
    pub fn observe(&mut self, snapshot: &ConsoleSnapshot) -> Vec<DrillReport> {
        if snapshot.progress.phase == Phase::Blind {
            return Vec::new();
        }
        let at = snapshot.generated_at;
        let view = &snapshot.view.view;
        let mut changed = Vec::new();
        let same_drill = |following: &Following| {
            view.drill
                .as_ref()
                .is_some_and(|drill| drill.drill_id == following.report.drill_id)
        };
        if let Some(mut ended) = self.current.take_if(|following| !same_drill(following)) {
            ended.report.ended_at = Some(at);
            ended.report.interrupted = view.mode == ViewMode::CashOnly;
            // Who had not confirmed keeps the standing it had when the drill ended.
            for result in &mut ended.report.nodes {
                if result.outcome == DrillOutcome::Waiting {
                    result.outcome = DrillOutcome::Lagging;
                }
            }
            changed.push(ended.report);
        }
        let Some(drill) = &view.drill else {
            return changed;
        };
        let following = self.current.get_or_insert_with(|| Following {
            report: DrillReport {
                drill_id: drill.drill_id.clone(),
                venue_name: snapshot.venue_name.clone(),
                started_at: drill.started_at,
                ends_at: drill.ends_at,
                ended_at: None,
                interrupted: false,
                nodes: Vec::new(),
            },
            seen_at: drill.started_at.min(at),
            confirmed_after: BTreeMap::new(),
        });
        let mut nodes = Vec::new();
        for row in &snapshot.nodes {
            if !matches!(row.kind, NodeKind::Screen | NodeKind::Counter) {
                continue;
            }
            if row.standing == Standing::Confirmed {
                let after = (at - following.seen_at).whole_milliseconds().max(0) as u64;
                following
                    .confirmed_after
                    .entry(row.node.clone())
                    .or_insert(after);
            }
            let after_ms = following.confirmed_after.get(&row.node).copied();
            let outcome = match (after_ms, row.standing) {
                (Some(_), _) => DrillOutcome::Confirmed,
                (None, Standing::Lagging) => DrillOutcome::Waiting,
                (None, standing) => outcome_of(standing),
            };
            nodes.push(NodeResult {
                node: row.node.clone(),
                name: row.name.clone(),
                kind: row.kind,
                full_screen: drill.full_screen.contains(&row.node),
                outcome,
                after_ms,
                reason: row.reason.clone(),
            });
        }
        nodes.sort_by(|a, b| (a.kind, &a.name, &a.node).cmp(&(b.kind, &b.name, &b.node)));
        if nodes != following.report.nodes {
            following.report.nodes = nodes;
            changed.push(following.report.clone());
        }
        changed
    }
}

#[cfg(test)]
#[path = "results_tests.rs"]
mod tests;
