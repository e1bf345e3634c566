//! Who shows the current view (invariant 3): the one rule and the one tracker the
//! console, `raincheck status`, `incident --wait` and head office all count with. A node
//! is confirmed when its report says a frame showing the view — the digest of the view
//! computed from the same retained set — was drawn; offline when the broker published
//! its last will (or it said goodbye); syncing while it is still reading the retained
//! state; headless when it draws nothing (it says why); and lagging otherwise. Only
//! screens and counters — what guests and staff look at — hold a switch back, and of
//! those only the ones that draw; consoles and detectors are listed but never keep a
//! venue "switching". The tracker is incremental: a report changes only its node's standing,
//! and only a change of the view recounts every node, so a burst of N reports costs
//! O(N), not O(N²).

use super::venue_state::VenueState;
use super::view::compute_view;
use crate::protocol::{BusMessage, DisplayReport, DisplayStatus, Identifier, Shown};
use serde::Serialize;
use std::collections::BTreeMap;

/// What a node is, from the roles it reports.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    Screen,
    Counter,
    Console,
    Other,
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

    /// Whether people read what this node shows, so a switch is done only with it.
    pub fn holds_back(self) -> bool {
        matches!(self, NodeKind::Screen | NodeKind::Counter)
    }
}

/// In the order a manager acts on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// Online but showing another view (it has not caught up yet, or it is stuck).
    Lagging,
    /// Online, still reading the broker's retained state: no view yet.
    Syncing,
    Offline,
    /// Online, but it draws nothing (no display, a backend this build lacks…).
    Headless,
    /// A frame showing the view was drawn.
    Confirmed,
}

/// The one rule: how `report` stands against the view whose digest is `digest`.
pub fn standing(report: &DisplayReport, digest: &str) -> Standing {
    match (report.status, report.shown) {
        (DisplayStatus::Offline, _) => Standing::Offline,
        (DisplayStatus::Online, Some(Shown::Syncing)) => Standing::Syncing,
        (DisplayStatus::Online, Some(Shown::Headless)) => Standing::Headless,
        // Drawn, or an older node's report (it reported on computing).
        (DisplayStatus::Online, Some(Shown::Drawn) | None) => {
            if report.digest.as_deref() == Some(digest) {
                Standing::Confirmed
            } else {
                Standing::Lagging
            }
        }
    }
}

/// How many nodes of one kind stand where.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub total: usize,
    pub confirmed: usize,
    pub lagging: usize,
    pub syncing: usize,
    pub offline: usize,
    pub headless: usize,
}

impl Tally {
    fn slot(&mut self, standing: Standing) -> &mut usize {
        match standing {
            Standing::Confirmed => &mut self.confirmed,
            Standing::Lagging => &mut self.lagging,
            Standing::Syncing => &mut self.syncing,
            Standing::Offline => &mut self.offline,
            Standing::Headless => &mut self.headless,
        }
    }

    /// Online nodes that draw and do not show the view yet: what holds a switch back.
    pub fn behind(&self) -> usize {
        self.lagging + self.syncing
    }

    fn add(&mut self, standing: Standing) {
        self.total += 1;
        *self.slot(standing) += 1;
    }

    fn remove(&mut self, standing: Standing) {
        self.total -= 1;
        *self.slot(standing) -= 1;
    }
}

/// Every node's standing against the current view, kept up to date as messages apply.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Confirmations {
    digest: String,
    nodes: BTreeMap<Identifier, (NodeKind, Standing)>,
    tallies: BTreeMap<NodeKind, Tally>,
}

impl Confirmations {
    /// Every node of `state` against the view computed from it.
    pub fn of(state: &VenueState) -> Self {
        Self::against(state, compute_view(state).digest())
    }

    /// Every node of `state` against the view with `digest` (head office's chain view).
    pub fn against(state: &VenueState, digest: String) -> Self {
        let mut confirmations = Self {
            digest,
            ..Self::default()
        };
        for report in state.displays.values() {
            confirmations.set(report);
        }
        confirmations
    }

    /// Takes in `message`, just applied to `state`: a report moves its node only; any
    /// other message may change the view, and then every node is counted again.
    pub fn applied(&mut self, state: &VenueState, message: &BusMessage) {
        match message {
            BusMessage::Display(report) => match state.displays.get(&report.node) {
                Some(current) => self.set(current),
                None => self.unset(&report.node),
            },
            BusMessage::DisplayRemoved(node) => self.unset(node),
            BusMessage::Retired(retirement) => match state.displays.get(&retirement.node) {
                Some(current) => self.set(current),
                None => self.unset(&retirement.node),
            },
            BusMessage::RetirementWithdrawn(_) => {}
            BusMessage::Declaration { .. } | BusMessage::Payment(_) | BusMessage::Drill(_) => {
                let digest = compute_view(state).digest();
                if digest != self.digest {
                    *self = Self::against(state, digest);
                }
            }
        }
    }

    fn set(&mut self, report: &DisplayReport) {
        self.unset(&report.node);
        let kind = NodeKind::of(&report.roles);
        let standing = standing(report, &self.digest);
        self.nodes.insert(report.node.clone(), (kind, standing));
        self.tallies.entry(kind).or_default().add(standing);
    }

    fn unset(&mut self, node: &Identifier) {
        if let Some((kind, standing)) = self.nodes.remove(node) {
            let tally = self.tallies.entry(kind).or_default();
            tally.remove(standing);
            // No empty entries: a tracker equals a fresh count of the same state.
            if tally.total == 0 {
                self.tallies.remove(&kind);
            }
        }
    }

    /// The digest every node is compared with.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    pub fn standing(&self, node: &Identifier) -> Option<Standing> {
        self.nodes.get(node).map(|(_, standing)| *standing)
    }

    pub fn tally(&self, kind: NodeKind) -> Tally {
        self.tallies.get(&kind).copied().unwrap_or_default()
    }

    /// Screens and counters together: the nodes that hold a switch back.
    pub fn shown_to_people(&self) -> Tally {
        let (screens, counters) = (self.tally(NodeKind::Screen), self.tally(NodeKind::Counter));
        Tally {
            total: screens.total + counters.total,
            confirmed: screens.confirmed + counters.confirmed,
            lagging: screens.lagging + counters.lagging,
            syncing: screens.syncing + counters.syncing,
            offline: screens.offline + counters.offline,
            headless: screens.headless + counters.headless,
        }
    }

    /// The switch is done: at least one screen or counter drew the current view and
    /// every other online one that draws has too. A venue where nothing drew it — every
    /// screen headless or offline, or none ever reported (a mistyped venue id) — is never
    /// done: a dark screen is no proof.
    pub fn all_confirmed(&self) -> bool {
        let people = self.shown_to_people();
        people.confirmed > 0 && people.behind() == 0
    }

    /// Every node with its kind and standing, in id order.
    pub fn nodes(&self) -> impl Iterator<Item = (&Identifier, NodeKind, Standing)> {
        self.nodes
            .iter()
            .map(|(node, (kind, standing))| (node, *kind, *standing))
    }

    /// For people: "11 of 12 screens confirmed · 3 of 3 counters confirmed — Lobby 2
    /// offline since 19:50". `cleared` says "cleared" (an all clear) instead of
    /// "confirmed"; names come from the reports, and since when a node is offline from the
    /// caller, already written for people ("19:50": the model reads no clock or zone).
    pub fn headline(
        &self,
        state: &VenueState,
        cleared: bool,
        offline_since: impl Fn(&Identifier) -> Option<String>,
    ) -> String {
        let (screens, counters) = (self.tally(NodeKind::Screen), self.tally(NodeKind::Counter));
        if screens.total == 0 && counters.total == 0 {
            return "No screens or counters have reported yet".to_owned();
        }
        let verb = if cleared { "cleared" } else { "confirmed" };
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
        // What a manager must act on, laggards first.
        let mut attention: Vec<(Standing, NodeKind, &Identifier)> = self
            .nodes
            .iter()
            .filter(|(_, (kind, standing))| kind.holds_back() && *standing != Standing::Confirmed)
            .map(|(node, (kind, standing))| (*standing, *kind, node))
            .collect();
        attention.sort();
        let described: Vec<String> = attention
            .iter()
            .map(|(standing, _, node)| {
                let label = state
                    .displays
                    .get(*node)
                    .and_then(|report| report.name.as_deref())
                    .map(crate::text::one_line)
                    .unwrap_or_else(|| node.to_string());
                match (standing, offline_since(node)) {
                    (Standing::Offline, Some(since)) => format!("{label} offline since {since}"),
                    (Standing::Offline, None) => format!("{label} offline"),
                    (Standing::Headless, _) => {
                        let why = state
                            .displays
                            .get(*node)
                            .and_then(|report| report.reason.as_deref())
                            .map(crate::text::one_line)
                            .unwrap_or_else(|| "no reason given".to_owned());
                        format!("{label} draws nothing ({why})")
                    }
                    (Standing::Syncing, _) => format!("{label} still reading the venue's state"),
                    _ => format!("{label} not yet"),
                }
            })
            .collect();
        if !described.is_empty() {
            line.push_str(" — ");
            let shown = described.len().min(3);
            line.push_str(&described[..shown].join(", "));
            if described.len() > shown {
                line.push_str(&format!(" and {} more", described.len() - shown));
            }
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::{self, id};
    use crate::protocol::{DeclarationState, Scope};

    fn declaration(revision: u64) -> BusMessage {
        BusMessage::Declaration {
            scope: Scope::Venue,
            declaration: fixtures::declaration("console", revision, DeclarationState::Active),
        }
    }

    fn report(node: &str, role: &str, digest: Option<&str>) -> BusMessage {
        BusMessage::Display(fixtures::report(node, role, digest))
    }

    /// Applies to the state and the tracker, as every user of the tracker does.
    fn apply(state: &mut VenueState, tracker: &mut Confirmations, message: BusMessage) {
        state.apply(message.clone());
        tracker.applied(state, &message);
    }

    #[test]
    fn the_incremental_count_always_equals_a_full_recount() {
        let mut state = VenueState::default();
        let mut tracker = Confirmations::of(&state);
        let before = compute_view(&state).digest();
        let steps = [
            report("lobby-1", "signage", Some(&before)),
            report("till-1", "counter", Some(&before)),
            report("console", "console", Some("other")),
            declaration(1),
            report("lobby-1", "signage", Some("stale")),
            report("lobby-2", "signage", None),
            BusMessage::DisplayRemoved(id("till-1")),
            declaration(2),
        ];
        for step in steps {
            apply(&mut state, &mut tracker, step);
            assert_eq!(tracker, Confirmations::of(&state));
        }
    }

    #[test]
    fn only_online_screens_and_counters_hold_a_switch_back() {
        let mut state = VenueState::default();
        let mut tracker = Confirmations::of(&state);
        apply(&mut state, &mut tracker, declaration(1));
        let digest = tracker.digest().to_owned();
        apply(
            &mut state,
            &mut tracker,
            report("lobby-1", "signage", Some(&digest)),
        );
        apply(&mut state, &mut tracker, report("lobby-2", "signage", None));
        apply(
            &mut state,
            &mut tracker,
            report("console", "console", Some("old")),
        );
        assert!(
            tracker.all_confirmed(),
            "offline and console nodes do not hold it back"
        );
        apply(
            &mut state,
            &mut tracker,
            report("till-1", "counter", Some("old")),
        );
        assert!(!tracker.all_confirmed());
        assert_eq!(tracker.standing(&id("till-1")), Some(Standing::Lagging));
        let mut dark = VenueState::default();
        dark.apply(declaration(1));
        let mut headless = fixtures::report("lobby-1", "signage", Some(&digest));
        headless.shown = Some(Shown::Headless);
        dark.apply(BusMessage::Display(headless));
        assert!(
            !Confirmations::of(&dark).all_confirmed(),
            "nothing drew it: not done"
        );
        assert!(!Confirmations::of(&VenueState::default()).all_confirmed());
        let headline = tracker.headline(&state, false, |_| None);
        assert_eq!(
            headline,
            "1 of 2 screens confirmed · 0 of 1 counter confirmed — Name till-1 not yet, Name lobby-2 offline"
        );
    }
}
