//! The retained set as one node knows it: each source's latest declaration, each payment
//! source's latest health and each node's latest display report. Merging keeps, per
//! topic, the message with the highest revision (ties broken by the message's canonical
//! bytes), so applying messages is commutative, associative and idempotent.

use super::revisions;
use crate::protocol::{
    BusMessage, DisplayReport, DisplayStatus, DrillOrder, Identifier, IncidentDeclaration,
    NodeRetirement, PaymentHealth, Scope,
};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VenueState {
    pub declarations: BTreeMap<(Scope, Identifier), IncidentDeclaration>,
    pub payments: BTreeMap<Identifier, PaymentHealth>,
    pub displays: BTreeMap<Identifier, DisplayReport>,
    /// Nodes retired by `raincheck node forget`: their offline reports are kept out of
    /// `displays`, so a retired screen shows nowhere; an online one is never hidden.
    pub retired: BTreeMap<Identifier, NodeRetirement>,
    /// Each source's latest staff drill (`model::drill`).
    pub drills: BTreeMap<Identifier, DrillOrder>,
}

/// What applying one message did, so callers can log stale messages and skip work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplyOutcome {
    Changed,
    /// Same as what was already known (a duplicate or a retained replay).
    Unchanged,
    /// Older than what was already known for that topic; ignored.
    Stale,
}

impl VenueState {
    pub fn apply(&mut self, message: BusMessage) -> ApplyOutcome {
        match message {
            BusMessage::Declaration { scope, declaration } => {
                let key = (scope, declaration.source.clone());
                merge_highest(&mut self.declarations, key, declaration, |d| d.revision)
            }
            BusMessage::Payment(health) => {
                let key = health.source.clone();
                merge_highest(&mut self.payments, key, health, |h| h.revision)
            }
            BusMessage::Drill(order) => {
                let key = order.source.clone();
                merge_highest(&mut self.drills, key, order, |o| o.revision)
            }
            // Display reports are not part of any view; the broker's order per topic is
            // the truth (a reconnecting node republishes after its own last will).
            // A retired node's offline report counts nowhere; whatever order the report and
            // the retirement arrive in, the result is the same.
            BusMessage::Display(report)
                if report.status == DisplayStatus::Offline
                    && self.retired.contains_key(&report.node) =>
            {
                match self.displays.remove(&report.node) {
                    Some(_) => ApplyOutcome::Changed,
                    None => ApplyOutcome::Unchanged,
                }
            }
            BusMessage::Display(mut report) => {
                // A last will from an older node carries no roles: keep what it said when
                // online, so a vanished screen still counts as a screen everywhere.
                if report.roles.is_empty() {
                    if let Some(known) = self.displays.get(&report.node) {
                        report.roles = known.roles.clone();
                    }
                }
                match self.displays.insert(report.node.clone(), report.clone()) {
                    Some(previous) if previous == report => ApplyOutcome::Unchanged,
                    _ => ApplyOutcome::Changed,
                }
            }
            BusMessage::DisplayRemoved(node) => match self.displays.remove(&node) {
                Some(_) => ApplyOutcome::Changed,
                None => ApplyOutcome::Unchanged,
            },
            BusMessage::Retired(retirement) => {
                let node = retirement.node.clone();
                let known = self.retired.insert(node.clone(), retirement.clone());
                let hidden = self
                    .displays
                    .get(&node)
                    .is_some_and(|report| report.status == DisplayStatus::Offline);
                if hidden {
                    self.displays.remove(&node);
                }
                if hidden || known.as_ref() != Some(&retirement) {
                    ApplyOutcome::Changed
                } else {
                    ApplyOutcome::Unchanged
                }
            }
            // The node's report comes back with its next publish (or never, if it is gone).
            BusMessage::RetirementWithdrawn(node) => match self.retired.remove(&node) {
                Some(_) => ApplyOutcome::Changed,
                None => ApplyOutcome::Unchanged,
            },
        }
    }

    /// The highest revision a view believes (model::revisions): the top of the chain of
    /// declaration, payment and drill revisions. Messages above it are ignored, as never sent.
    pub fn ceiling(&self) -> u64 {
        let declarations = self.declarations.values().map(|d| d.revision);
        let payments = self.payments.values().map(|p| p.revision);
        let drills = self.drills.values().map(|d| d.revision);
        revisions::ceiling(declarations.chain(payments).chain(drills))
    }

    /// The declarations a view believes, by (scope, source).
    pub fn believable_declarations(
        &self,
    ) -> impl Iterator<Item = (&(Scope, Identifier), &IncidentDeclaration)> {
        let ceiling = self.ceiling();
        self.declarations
            .iter()
            .filter(move |(_, d)| d.revision <= ceiling)
    }

    /// The payment reports a view believes.
    pub fn believable_payments(&self) -> impl Iterator<Item = &PaymentHealth> {
        let ceiling = self.ceiling();
        self.payments
            .values()
            .filter(move |p| p.revision <= ceiling)
    }

    /// The highest revision a publisher must order after: every believable declaration
    /// and payment report, and every display report up to one step above them (reports
    /// carry what screens show even when the broker has lost the declarations, but one
    /// screen's login must not be able to pin the venue).
    pub fn max_revision(&self) -> u64 {
        let ceiling = self.ceiling();
        let reports = self
            .displays
            .values()
            .filter_map(|r| r.revision)
            .filter(|revision| *revision <= ceiling.saturating_add(revisions::MAX_STEP));
        reports.chain([ceiling]).max().unwrap_or(0)
    }

    /// The revision a new declaration should carry, or the topic at the top when even
    /// believable revisions have used up the range (no honest venue gets there).
    pub fn next_revision(&self) -> Result<u64, String> {
        let top = self.max_revision();
        if top < crate::protocol::MAX_REVISION {
            return Ok(top + 1);
        }
        let holder = self
            .declarations
            .values()
            .filter(|d| d.revision == top)
            .map(|d| format!("incident/{}", d.source))
            .chain(
                self.payments
                    .values()
                    .filter(|p| p.revision == top)
                    .map(|p| format!("payments/{}", p.source)),
            )
            .chain(
                self.drills
                    .values()
                    .filter(|d| d.revision == top)
                    .map(|d| format!("drill/{}", d.source)),
            )
            .chain(
                self.displays
                    .values()
                    .filter(|r| r.revision == Some(top))
                    .map(|r| format!("displays/{}", r.node)),
            )
            .next()
            .unwrap_or_default();
        Err(holder)
    }
}

/// Keeps the greater of the stored and incoming message by (revision, canonical bytes).
fn merge_highest<K: Ord, M: serde::Serialize + PartialEq>(
    map: &mut BTreeMap<K, M>,
    key: K,
    incoming: M,
    revision: impl Fn(&M) -> u64,
) -> ApplyOutcome {
    let Some(current) = map.get(&key) else {
        map.insert(key, incoming);
        return ApplyOutcome::Changed;
    };
    if *current == incoming {
        return ApplyOutcome::Unchanged;
    }
    let incoming_wins = match revision(&incoming).cmp(&revision(current)) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Less => false,
        // Two different messages with one revision come only from a faulty publisher;
        // a byte-wise tie-break keeps every node's choice identical anyway.
        std::cmp::Ordering::Equal => canonical_bytes(&incoming) > canonical_bytes(current),
    };
    if incoming_wins {
        map.insert(key, incoming);
        ApplyOutcome::Changed
    } else {
        ApplyOutcome::Stale
    }
}

fn canonical_bytes<M: serde::Serialize>(message: &M) -> Vec<u8> {
    crate::protocol::encode(message)
}
