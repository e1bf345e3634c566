//! The console's worker on the bus: its own MQTT session subscribed to everything a
//! manager watches (declarations, payment health, every node's report and thumbnail).
//! It owns the console's retained set, publishes the snapshot for the page (coalesced, so
//! a thousand reports in a burst cost a few snapshots, not a thousand), and publishes
//! managers' declarations one at a time, each answered only once the broker has echoed
//! it back — proof that it is retained and that every node will get it.

use super::snapshot::{build_snapshot, ConsoleSnapshot, NodeNotes};
use crate::model::{Confirmations, DeclareRequest, VenueState};
use crate::mqtt::{BusEvent, Echo, SyncBarrier};
use crate::protocol::{
    decode_message, decode_thumbnail, BusMessage, DisplayStatus, DrillOrder, Identifier,
    IncidentDeclaration, Thumbnail,
};
use crate::shutdown::Shutdown;
use bytes::Bytes;
use rumqttc::{AsyncClient, QoS};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

mod declare;
mod drill;

use declare::answer_echo;
pub use drill::{DrillCommand, DrillFailure};

/// The shortest gap between two snapshots; bounds the page's lag behind the bus.
const SNAPSHOT_GAP: Duration = Duration::from_millis(50);
/// How long a declaration may wait for the broker's echo before the manager is told.
const ECHO_TIMEOUT: Duration = Duration::from_secs(5);

/// A snapshot with its JSON made once for every page that listens.
pub struct PublishedSnapshot {
    pub snapshot: ConsoleSnapshot,
    pub json: String,
}

/// What became of a declaration.
#[derive(Clone, Debug)]
pub struct DeclareOutcome {
    pub declaration: IncidentDeclaration,
    /// The revision every screen shows now (another declaration may take precedence).
    pub shown_revision: u64,
    /// A sentence for the manager when the result is not simply "done".
    pub note: Option<String>,
}

/// Why a declaration was not published.
#[derive(Clone, Debug, thiserror::Error)]
pub enum DeclareFailure {
    #[error("the console has no link to the venue's broker; nothing was sent — check the broker and the network")]
    NoLink,
    #[error("the console is still reading the venue's state; try again in a moment")]
    NotReady,
    #[error("{0}")]
    Refused(crate::model::DeclareRefusal),
    #[error("the broker did not confirm the declaration within {0:?}; check that the console may publish its incident topic")]
    NotConfirmed(Duration),
    #[error("the console is stopping")]
    Stopping,
}

pub enum ConsoleRequest {
    Declare {
        request: DeclareRequest,
        reply: oneshot::Sender<Result<DeclareOutcome, DeclareFailure>>,
    },
    Thumbnail {
        node: Identifier,
        reply: oneshot::Sender<Option<Bytes>>,
    },
    /// A manager retires a node taken out of service (`model::retirement`'s rule).
    Retire {
        node: Identifier,
        by: String,
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// A manager starts or ends a staff drill (`bus/drill.rs`).
    Drill {
        command: DrillCommand,
        reply: oneshot::Sender<Result<DrillOrder, DrillFailure>>,
    },
}

/// How soon a change must reach the page.
enum Change {
    None,
    /// At the next coalescing slot.
    Routine,
    /// Now: the link changed, a declaration was confirmed, or every node confirmed.
    Milestone,
}

struct PendingEcho {
    topic: String,
    payload: Vec<u8>,
    declaration: IncidentDeclaration,
    adopted: Option<Identifier>,
    deadline: Instant,
    reply: oneshot::Sender<Result<DeclareOutcome, DeclareFailure>>,
}

pub struct ConsoleBus {
    pub venue: Identifier,
    pub venue_name: String,
    pub templates: crate::model::Template,
    /// Declarations wait until it is reached: revisions must see everything retained.
    pub barrier: SyncBarrier,
    pub client: AsyncClient,
    pub events: mpsc::Receiver<BusEvent>,
    pub requests: mpsc::Receiver<ConsoleRequest>,
    pub snapshots: watch::Sender<Arc<PublishedSnapshot>>,
    pub shutdown: Shutdown,
    /// Retained reports published just before disconnecting: every web screen offline
    /// (`web_screens_worker::farewells`), which no last will covers.
    pub farewells: Vec<(String, Vec<u8>)>,
}

struct BusState {
    venue: VenueState,
    /// Who shows the current view, kept up to date per message (the one tracker).
    confirmations: Confirmations,
    notes: BTreeMap<Identifier, NodeNotes>,
    thumbnails: HashMap<Identifier, Bytes>,
    thumbnail_versions: u64,
    connected: bool,
    /// Since when the console does not see the venue (start, or the link's loss); `None`
    /// once the retained set has been read since the link came up.
    blind_since: Option<OffsetDateTime>,
}

impl BusState {
    fn new() -> Self {
        let venue = VenueState::default();
        Self {
            confirmations: Confirmations::of(&venue),
            venue,
            notes: BTreeMap::new(),
            thumbnails: HashMap::new(),
            thumbnail_versions: 0,
            connected: false,
            blind_since: Some(OffsetDateTime::now_utc()),
        }
    }

    /// Online screens and counters not yet showing the current view.
    fn lagging(&self) -> usize {
        self.confirmations.shown_to_people().behind()
    }
}

impl ConsoleBus {
    pub async fn run(mut self) {
        let mut state = BusState::new();
        let mut waiting: VecDeque<(
            DeclareRequest,
            oneshot::Sender<Result<DeclareOutcome, DeclareFailure>>,
        )> = VecDeque::new();
        let mut pending: Option<PendingEcho> = None;
        let mut dirty = true;
        let mut urgent = true;
        let mut last_snapshot = Instant::now() - SNAPSHOT_GAP;
        // The drill whose end this console published on time (until the echo shows it).
        let mut drill_ended: Option<Identifier> = None;
        // When to try ending it again after the link or the unread set stopped us.
        let mut drill_retry: Option<Instant> = None;
        loop {
            let drill_due = drill::drill_due(&state, drill_ended.as_ref())
                .map(|due| drill_retry.map_or(due, |retry| due.max(retry)));
            let snapshot_at = if urgent {
                Instant::now()
            } else {
                last_snapshot + SNAPSHOT_GAP
            };
            let echo_deadline = pending.as_ref().map(|p| p.deadline);
            tokio::select! {
                _ = self.shutdown.wait() => break,
                _ = crate::deadline::sleep_until(self.barrier.retry_at()) => {
                    self.barrier.send_if_due(&self.client);
                }
                _ = tokio::time::sleep_until(snapshot_at), if dirty => {
                    self.publish_snapshot(&state);
                    dirty = false;
                    urgent = false;
                    last_snapshot = Instant::now();
                }
                _ = crate::deadline::sleep_until(drill_due) => {
                    drill_ended = self.end_drill_on_time(&state);
                    drill_retry = drill_ended
                        .is_none()
                        .then(|| Instant::now() + Duration::from_secs(1));
                }
                _ = crate::deadline::sleep_until(echo_deadline) => {
                    if let Some(late) = pending.take() {
                        let _ = late.reply.send(Err(DeclareFailure::NotConfirmed(ECHO_TIMEOUT)));
                    }
                }
                request = self.requests.recv() => match request {
                    None => break,
                    Some(ConsoleRequest::Thumbnail { node, reply }) => {
                        let _ = reply.send(state.thumbnails.get(&node).cloned());
                    }
                    Some(ConsoleRequest::Declare { request, reply }) => {
                        waiting.push_back((request, reply));
                    }
                    Some(ConsoleRequest::Retire { node, by, reply }) => {
                        let _ = reply.send(self.publish_retirement(&state.venue, &node, &by));
                    }
                    Some(ConsoleRequest::Drill { command, reply }) => {
                        let _ = reply.send(self.publish_drill(&state, command));
                    }
                },
                event = self.events.recv() => match event {
                    None => break,
                    Some(event) => match self.handle_event(event, &mut state, &mut pending) {
                        Change::None => {}
                        Change::Routine => dirty = true,
                        Change::Milestone => {
                            dirty = true;
                            urgent = true;
                        }
                    },
                },
            }
            if pending.is_none() {
                if let Some((request, reply)) = waiting.pop_front() {
                    pending = self.publish_declaration(&state, request, reply);
                }
            }
        }
        for (_, reply) in waiting {
            let _ = reply.send(Err(DeclareFailure::Stopping));
        }
        if let Some(pending) = pending {
            let _ = pending.reply.send(Err(DeclareFailure::Stopping));
        }
        for (topic, payload) in std::mem::take(&mut self.farewells) {
            let _ = self
                .client
                .try_publish(topic, QoS::AtLeastOnce, true, payload);
        }
        let _ = self.client.try_disconnect();
    }

    fn publish_snapshot(&self, state: &BusState) {
        let snapshot = build_snapshot(
            &self.venue,
            &self.venue_name,
            state.blind_since,
            &state.venue,
            &state.confirmations,
            &state.notes,
            OffsetDateTime::now_utc(),
        );
        for (kind, tally) in [
            ("screen", &snapshot.progress.screens),
            ("counter", &snapshot.progress.counters),
        ] {
            for (standing, count) in [
                ("confirmed", tally.confirmed),
                ("lagging", tally.lagging),
                ("syncing", tally.syncing),
                ("headless", tally.headless),
                ("offline", tally.offline),
            ] {
                let labels = [("kind", kind), ("standing", standing)];
                crate::metrics::set("raincheck_console_nodes", &labels, count as f64);
            }
        }
        let json = serde_json::to_string(&snapshot)
            .expect("a console snapshot serialises: plain fields and string keys");
        self.snapshots
            .send_replace(Arc::new(PublishedSnapshot { snapshot, json }));
    }

    /// Applies one event and says how soon the page should be told.
    fn handle_event(
        &mut self,
        event: BusEvent,
        state: &mut BusState,
        pending: &mut Option<PendingEcho>,
    ) -> Change {
        match event {
            BusEvent::LinkUp => {
                state.connected = true;
                self.barrier.start(&self.client);
                Change::Milestone
            }
            BusEvent::LinkDown { reason } => {
                tracing::warn!("console: link to the broker lost: {reason}");
                state.connected = false;
                state
                    .blind_since
                    .get_or_insert_with(OffsetDateTime::now_utc);
                self.barrier.reset();
                Change::Milestone
            }
            BusEvent::Message { topic, payload, .. } => {
                match self.barrier.check(&topic, &payload) {
                    Echo::Reached => {
                        state.blind_since = None;
                        return Change::Milestone;
                    }
                    Echo::Ignored => return Change::None,
                    Echo::NotBarrier => {}
                }
                let echoed = pending.as_ref().is_some_and(|echo| {
                    topic == echo.topic && payload.as_ref() == echo.payload.as_slice()
                });
                let lagging_before = state.lagging();
                let changed = self.apply_message(state, &topic, payload);
                if let Some(echo) = pending.take_if(|_| echoed) {
                    // The snapshot first, so a page that reads the state on the answer
                    // already sees its own declaration.
                    self.publish_snapshot(state);
                    answer_echo(state, echo);
                }
                if !changed && !echoed {
                    return Change::None;
                }
                // A manager's own declaration and a finished switch are shown at once.
                let completed = lagging_before > 0 && state.lagging() == 0;
                if echoed || completed {
                    Change::Milestone
                } else {
                    Change::Routine
                }
            }
        }
    }
}

impl ConsoleBus {
    fn apply_message(&self, state: &mut BusState, topic: &str, payload: Bytes) -> bool {
        match decode_thumbnail(topic, payload.clone(), &self.venue) {
            Some(Ok(thumbnail)) => return apply_thumbnail(state, thumbnail),
            Some(Err(reason)) => {
                tracing::debug!(%topic, "console ignored a thumbnail: {reason}");
                return false;
            }
            None => {}
        }
        let message = match decode_message(topic, &payload, &self.venue) {
            Ok(message) => message,
            Err(reason) => {
                tracing::debug!(%topic, "console ignored a message: {reason}");
                return false;
            }
        };
        match &message {
            BusMessage::Display(report) => {
                let was_online = state
                    .venue
                    .displays
                    .get(&report.node)
                    .is_some_and(|r| r.status == DisplayStatus::Online);
                let notes = state.notes.entry(report.node.clone()).or_default();
                match report.status {
                    // Only a change seen live has a time; a retained "offline" at start
                    // says nothing about when.
                    DisplayStatus::Offline if was_online => {
                        notes.offline_since = Some(OffsetDateTime::now_utc())
                    }
                    DisplayStatus::Offline => {}
                    DisplayStatus::Online => notes.offline_since = None,
                }
            }
            BusMessage::DisplayRemoved(node) => {
                state.notes.remove(node);
                state.thumbnails.remove(node);
            }
            // A retired node shows nowhere, its last picture included.
            BusMessage::Retired(retirement) => {
                state.notes.remove(&retirement.node);
                state.thumbnails.remove(&retirement.node);
            }
            _ => {}
        }
        let changed = state.venue.apply(message.clone()) == crate::model::ApplyOutcome::Changed;
        if changed {
            state.confirmations.applied(&state.venue, &message);
        }
        changed
    }
}

fn apply_thumbnail(state: &mut BusState, thumbnail: Thumbnail) -> bool {
    match thumbnail {
        Thumbnail::Removed(node) => {
            state.thumbnails.remove(&node);
            if let Some(notes) = state.notes.get_mut(&node) {
                notes.thumbnail = None;
            }
        }
        Thumbnail::Png { node, png } => {
            state.thumbnail_versions += 1;
            state.notes.entry(node.clone()).or_default().thumbnail = Some(state.thumbnail_versions);
            state.thumbnails.insert(node, png);
        }
    }
    true
}
