//! The counter's voucher worker: owns the store, serves the counter's requests (issue,
//! redeem, void, look-up), publishes every new event on `…/vouchers/{node}` (QoS 1), and
//! applies the other terminals' events, acknowledging each publish only after its batch
//! is flushed to disk. It runs on its own MQTT session (persistent, manual acks), apart
//! from the status connection.
//!
//! Anti-entropy, so nothing depends on the broker's queue: each counter publishes its
//! watermarks (per origin, the highest sequence it holds without gaps) retained on
//! `…/voucher-marks/{node}`. A counter that sees a peer behind on *its own* events
//! replays them in batches. A terminal offline for hours, or brand new, thus catches up
//! from every origin that is online; the store ignores what it already has.

use super::events::VoucherEvent;
use super::lifecycle::{RedeemAnswer, RedeemContext};
use super::store::{voucher_day, IssueRequest, IssuedVoucher, StoreError, VoucherStore};
use super::{CodeError, VoucherCode};
use crate::config::CounterSection;
use crate::mqtt::{AckHandle, BusEvent};
use crate::protocol::{Identifier, Topic, TopicKind};
use crate::shutdown::Shutdown;
use rumqttc::{AsyncClient, QoS};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

pub const SYNC_VERSION: u32 = 1;

type Served = HashMap<String, ((u64, u64), std::time::Instant)>;
/// Unreadable codes a terminal accepts per minute before it stops checking for a while:
/// a scanner misread or a typo is a handful, guessing is thousands.
const UNREADABLE_PER_MINUTE: usize = 20;

/// How long a booting counter waits for the broker before it serves requests offline.
const BOOT_GRACE: Duration = Duration::from_secs(3);

/// Marks are republished every this many 250 ms ticks (10 s) even without change.
const MARKS_HEARTBEAT_TICKS: u64 = 40;

/// How long a replay to a peer holds back the same replay again. Longer than the peer
/// needs to apply a large catch-up (100,000 events take about 2 s), short enough that a
/// replay lost on the way is sent again at the peer's next marks heartbeat but one.
const REPLAY_MEMORY: Duration = Duration::from_secs(15);

/// Events per published batch during replay.
const REPLAY_BATCH: usize = 500;
/// Largest voucher payload accepted (a full replay batch is about 150 KB).
const MAX_BATCH_BYTES: usize = 1024 * 1024;

/// Bytes of events per replay batch at most (the shipped broker accepts 900 KiB).
const REPLAY_MAX_BYTES: usize = 256 * 1024;

/// The longest prefix of `events` that fits in [`REPLAY_MAX_BYTES`] (at least one event),
/// and whether any were left for the next batch.
fn cap_batch_bytes(mut events: Vec<VoucherEvent>) -> (Vec<VoucherEvent>, bool) {
    let mut bytes = 0;
    let keep = events
        .iter()
        .position(|event| {
            bytes += serde_json::to_vec(event).map(|b| b.len()).unwrap_or(0) + 1;
            bytes > REPLAY_MAX_BYTES
        })
        .unwrap_or(events.len())
        .max(1);
    let cut = keep < events.len();
    events.truncate(keep);
    (events, cut)
}

/// Events of one origin, as published on `…/vouchers/{origin}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VoucherBatch {
    pub v: u32,
    pub origin: Identifier,
    pub events: Vec<VoucherEvent>,
}

/// A counter's watermarks, retained on `…/voucher-marks/{node}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VoucherMarks {
    pub v: u32,
    pub node: Identifier,
    /// False in the last will and in the goodbye of a stopping counter: its events are
    /// then served by the other counters.
    #[serde(default = "online_by_default")]
    pub online: bool,
    pub marks: BTreeMap<String, u64>,
}

fn online_by_default() -> bool {
    true
}

impl VoucherMarks {
    /// What the broker publishes for a counter that vanished (its last will).
    pub fn offline(node: &Identifier) -> Self {
        Self {
            v: SYNC_VERSION,
            node: node.clone(),
            online: false,
            marks: BTreeMap::new(),
        }
    }
}

/// What the counter (screen, tests) asks of its voucher worker.
pub enum CounterRequest {
    Issue {
        offer: Identifier,
        incident: Option<Identifier>,
        staff: Option<String>,
        reply: oneshot::Sender<Result<IssuedVoucher, String>>,
    },
    Redeem {
        code: String,
        staff: Option<String>,
        reply: oneshot::Sender<Result<RedeemAnswer, String>>,
    },
    Void {
        code: String,
        reason: String,
        manager: Option<String>,
        reply: oneshot::Sender<Result<(), String>>,
    },
    Lookup {
        code: String,
        reply: oneshot::Sender<Result<LookupResult, String>>,
    },
    /// Every record in the store (the console's figures and CSV export).
    Records {
        reply: oneshot::Sender<Result<Vec<super::events::VoucherRecord>, String>>,
    },
}

pub type LookupResult = (
    Result<VoucherCode, CodeError>,
    Option<super::events::VoucherRecord>,
);

/// The counter's way to its voucher worker.
#[derive(Clone)]
pub struct CounterHandle {
    requests: mpsc::Sender<CounterRequest>,
}

impl CounterHandle {
    async fn ask<T>(
        &self,
        build: impl FnOnce(oneshot::Sender<Result<T, String>>) -> CounterRequest,
    ) -> Result<T, String> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(build(reply))
            .await
            .map_err(|_| "the voucher worker has stopped".to_owned())?;
        answer
            .await
            .map_err(|_| "the voucher worker has stopped".to_owned())?
    }

    pub async fn issue(
        &self,
        offer: Identifier,
        incident: Option<Identifier>,
        staff: Option<String>,
    ) -> Result<IssuedVoucher, String> {
        self.ask(|reply| CounterRequest::Issue {
            offer,
            incident,
            staff,
            reply,
        })
        .await
    }

    pub async fn redeem(
        &self,
        code: String,
        staff: Option<String>,
    ) -> Result<RedeemAnswer, String> {
        self.ask(|reply| CounterRequest::Redeem { code, staff, reply })
            .await
    }

    pub async fn void(
        &self,
        code: String,
        reason: String,
        manager: Option<String>,
    ) -> Result<(), String> {
        self.ask(|reply| CounterRequest::Void {
            code,
            reason,
            manager,
            reply,
        })
        .await
    }

    pub async fn lookup(&self, code: String) -> Result<LookupResult, String> {
        self.ask(|reply| CounterRequest::Lookup { code, reply })
            .await
    }

    pub async fn records(&self) -> Result<Vec<super::events::VoucherRecord>, String> {
        self.ask(|reply| CounterRequest::Records { reply }).await
    }
}

pub struct VoucherWorker {
    pub store: Arc<VoucherStore>,
    /// This session's private sync-barrier topic: requests are served only once its echo
    /// has come back (every retained mark heard, so a store restored from an old backup
    /// is caught before it issues), or after a short grace period with no broker at all.
    pub sync_topic: String,
    /// Every other counter's latest marks (and whether it is online).
    pub peers: HashMap<String, VoucherMarks>,
    /// Set when a peer holds more of our own events than our store: writing would reuse
    /// sequences and serials, so the counter refuses to issue or redeem.
    pub store_behind: bool,
    /// When recent unreadable codes were typed at this terminal (for the attempt limit).
    pub unreadable: std::collections::VecDeque<std::time::Instant>,
    pub node: Identifier,
    pub venue: Identifier,
    pub counter: CounterSection,
    pub client: AsyncClient,
    pub events: mpsc::Receiver<BusEvent>,
    pub requests: mpsc::Receiver<CounterRequest>,
    pub shutdown: Shutdown,
    /// Refused voucher messages are logged at most once per kind per window: a flood of
    /// garbage must not become a flood of log lines.
    pub rejects: crate::node::reject_log::RejectLog,
}

pub fn counter_channel() -> (CounterHandle, mpsc::Receiver<CounterRequest>) {
    let (requests, receiver) = mpsc::channel(64);
    (CounterHandle { requests }, receiver)
}

/// Runs a blocking store call off the async threads.
async fn blocking<T: Send + 'static>(
    store: &Arc<VoucherStore>,
    call: impl FnOnce(&VoucherStore) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, String> {
    let store = store.clone();
    match tokio::task::spawn_blocking(move || call(&store)).await {
        Ok(result) => result.map_err(|error| error.to_string()),
        Err(error) => Err(format!("the voucher store task failed: {error}")),
    }
}

impl VoucherWorker {
    pub async fn run(mut self) {
        let mut online = false;
        let mut marks_due = true;
        let mut ready = false;
        let mut barrier_token = String::new();
        let offline_grace = tokio::time::Instant::now() + BOOT_GRACE;
        // Per peer: (its mark for our events, our last sequence) when we last replayed it,
        // and when; an entry older than REPLAY_MEMORY no longer holds a replay back.
        let mut served: Served = HashMap::new();
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        let mut ticks: u64 = 0;
        // Acknowledgements wait here, in order, while the client's request queue is full.
        let mut pending_acks: std::collections::VecDeque<rumqttc::Publish> =
            std::collections::VecDeque::new();
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = self.shutdown.wait() => break,
                _ = tick.tick() => {
                    if !ready && !online && tokio::time::Instant::now() > offline_grace {
                        tracing::warn!("no broker for the voucher sync; issuing and redeeming offline");
                        ready = true;
                    }
                    self.send_acks(&mut pending_acks);
                    ticks += 1;
                    // A heartbeat of marks, so a replay that stopped early is asked for again.
                    if ticks.is_multiple_of(MARKS_HEARTBEAT_TICKS) {
                        marks_due = true;
                    }
                    if marks_due && online {
                        marks_due = !self.publish_marks().await;
                    }
                }
                request = self.requests.recv(), if ready => match request {
                    None => break,
                    Some(request) => {
                        if self.serve(request, online).await {
                            marks_due = true;
                        }
                    }
                },
                event = self.events.recv() => match event {
                    None => break,
                    Some(BusEvent::LinkUp) => {
                        online = true;
                        // A fresh token: only our own echo means "every mark heard".
                        barrier_token = format!("{:016x}", rand::random::<u64>());
                        let _ = self.client.try_publish(self.sync_topic.clone(), QoS::AtLeastOnce, false, barrier_token.clone().into_bytes());
                        marks_due = true;
                        served.clear();
                    }
                    Some(BusEvent::LinkDown { reason }) => {
                        online = false;
                        tracing::warn!("voucher sync link lost ({reason}); issuing and redeeming continue offline");
                    }
                    Some(BusEvent::Message { topic, payload, ack }) if topic == self.sync_topic => {
                        ready |= payload.as_ref() == barrier_token.as_bytes();
                        if let Some(AckHandle(publish)) = ack {
                            pending_acks.push_back(publish);
                        }
                        self.send_acks(&mut pending_acks);
                    }
                    Some(BusEvent::Message { topic, payload, ack }) => {
                        let (changed, stored) = self.receive(&topic, &payload, &mut served).await;
                        marks_due |= changed;
                        if let (Some(AckHandle(publish)), true) = (ack, stored) {
                            // After the durable apply (or a deliberate refusal), never before;
                            // an unstored batch stays unacknowledged and is redelivered.
                            pending_acks.push_back(publish);
                        }
                        self.send_acks(&mut pending_acks);
                    }
                },
            }
        }
        // A graceful stop sends no last will: say "offline" so others serve our events.
        let goodbye = VoucherMarks::offline(&self.node);
        let topic = Topic::venue(&self.venue, TopicKind::VoucherMarks, &self.node).to_string();
        if let Ok(payload) = serde_json::to_vec(&goodbye) {
            let _ = self
                .client
                .try_publish(topic, QoS::AtLeastOnce, true, payload);
        }
        let _ = self.client.try_disconnect();
    }

    fn send_acks(&self, pending: &mut std::collections::VecDeque<rumqttc::Publish>) {
        while let Some(publish) = pending.front() {
            if self.client.try_ack(publish).is_err() {
                return;
            }
            pending.pop_front();
        }
    }

    /// Answers one counter request; true when the store changed.
    async fn serve(&mut self, request: CounterRequest, online: bool) -> bool {
        let now = OffsetDateTime::now_utc();
        let read_only = matches!(
            request,
            CounterRequest::Lookup { .. } | CounterRequest::Records { .. }
        );
        if self.store_behind && !read_only {
            let refusal = "this terminal's voucher store is behind what other terminals hold (restored from an old backup?); \
                           call a technician before issuing or redeeming here"
                .to_owned();
            match request {
                CounterRequest::Issue { reply, .. } => drop(reply.send(Err(refusal))),
                CounterRequest::Redeem { reply, .. } => drop(reply.send(Err(refusal))),
                CounterRequest::Void { reply, .. } => drop(reply.send(Err(refusal))),
                CounterRequest::Lookup { .. } | CounterRequest::Records { .. } => {}
            }
            return false;
        }
        match request {
            CounterRequest::Issue {
                offer,
                incident,
                staff,
                reply,
            } => {
                let Some(offer) = self.counter.offers.iter().find(|o| o.id == offer).cloned()
                else {
                    let _ = reply.send(Err(format!("no offer {offer} in this terminal's config")));
                    return false;
                };
                let result = blocking(&self.store, move |store| {
                    store.issue(IssueRequest {
                        offer: &offer,
                        incident,
                        staff,
                        now,
                    })
                })
                .await;
                if let Ok(issued) = &result {
                    crate::metrics::add("raincheck_vouchers_total", &[("kind", "issued")], 1.0);
                    self.publish_events(vec![issued.event.clone()]);
                }
                let changed = result.is_ok();
                let _ = reply.send(result);
                changed
            }
            CounterRequest::Redeem { code, staff, reply } => {
                let minute_ago = std::time::Instant::now() - Duration::from_secs(60);
                while self.unreadable.front().is_some_and(|at| *at < minute_ago) {
                    self.unreadable.pop_front();
                }
                if self.unreadable.len() >= UNREADABLE_PER_MINUTE {
                    let _ = reply.send(Ok(RedeemAnswer::TooManyAttempts));
                    return false;
                }
                let context = RedeemContext {
                    today: voucher_day(now),
                    online,
                    policy: self.counter.offline_redemption,
                    this_terminal: self.counter.terminal,
                };
                let result = blocking(&self.store, move |store| {
                    store.redeem(&code, staff, context, now)
                })
                .await;
                let changed = matches!(&result, Ok((_, Some(_))));
                if let Ok((answer, _)) = &result {
                    if answer.is_unreadable() {
                        self.unreadable.push_back(std::time::Instant::now());
                        // The typed text is not logged: it may be a real voucher mistyped.
                        tracing::warn!(
                            answer = answer.headline(),
                            recent = self.unreadable.len(),
                            "an unreadable voucher code was presented at this terminal"
                        );
                    }
                }
                let _ = reply.send(result.map(|(answer, event)| {
                    if let Some(event) = event {
                        crate::metrics::add(
                            "raincheck_vouchers_total",
                            &[("kind", "redeemed")],
                            1.0,
                        );
                        self.publish_events(vec![event]);
                    }
                    answer
                }));
                changed
            }
            CounterRequest::Void {
                code,
                reason,
                manager,
                reply,
            } => {
                let result = blocking(&self.store, move |store| {
                    store.void(&code, &reason, manager, now)
                })
                .await;
                let changed = result.is_ok();
                let _ = reply.send(result.map(|event| {
                    crate::metrics::add("raincheck_vouchers_total", &[("kind", "voided")], 1.0);
                    self.publish_events(vec![event]);
                }));
                changed
            }
            CounterRequest::Lookup { code, reply } => {
                let _ = reply.send(blocking(&self.store, move |store| store.lookup(&code)).await);
                false
            }
            CounterRequest::Records { reply } => {
                let _ = reply.send(blocking(&self.store, |store| store.records()).await);
                false
            }
        }
    }

    /// Handles a voucher or marks message: (our marks changed, the message may be acked).
    async fn receive(&mut self, topic: &str, payload: &[u8], served: &mut Served) -> (bool, bool) {
        // Not ours to act on: acknowledged, nothing changes.
        let ignore = (false, true);
        let Some(parsed) = Topic::parse(topic) else {
            return ignore;
        };
        if parsed.venue.as_ref() != Some(&self.venue) || parsed.owner == self.node {
            return ignore;
        }
        if payload.len() > MAX_BATCH_BYTES {
            self.rejects.refused(
                topic,
                &format_args!(
                    "a voucher message of {} bytes (limit {MAX_BATCH_BYTES})",
                    payload.len()
                ),
                "voucher-size",
            );
            return ignore;
        }
        match parsed.kind {
            TopicKind::Vouchers => {
                let batch = match serde_json::from_slice::<VoucherBatch>(payload) {
                    Ok(batch) if batch.v == SYNC_VERSION => batch,
                    Ok(batch) => {
                        self.rejects.refused(
                            topic,
                            &format_args!(
                                "a voucher batch of unknown version {}; upgrade this node",
                                batch.v
                            ),
                            "voucher-version",
                        );
                        return ignore;
                    }
                    Err(_) => {
                        // serde's message could quote codes from the payload; not logged.
                        self.rejects.refused(
                            topic,
                            &"a voucher batch that is not valid JSON for this version",
                            "voucher-json",
                        );
                        return ignore;
                    }
                };
                // A batch may relay another (offline) counter's events: the store checks
                // every code against the venue secret whoever sent it.
                let events = batch.events;
                match blocking(&self.store, move |store| store.apply_remote(&events)).await {
                    Ok(applied) => {
                        crate::metrics::add(
                            "raincheck_voucher_events_synced_total",
                            &[],
                            applied as f64,
                        );
                        (applied > 0, true)
                    }
                    Err(_) => {
                        tracing::error!(%topic, "cannot store other terminals' voucher events; they stay unacknowledged and come again");
                        (false, false)
                    }
                }
            }
            TopicKind::VoucherMarks => {
                let Ok(marks) = serde_json::from_slice::<VoucherMarks>(payload) else {
                    self.rejects.refused(
                        topic,
                        &"voucher marks that are not valid JSON for this version",
                        "marks-json",
                    );
                    return ignore;
                };
                // Marks decide whether this store is "behind": only this version's, and
                // only from the counter whose topic they are on.
                if marks.v != SYNC_VERSION {
                    self.rejects.refused(
                        topic,
                        &format_args!(
                            "voucher marks of unknown version {}; upgrade this node",
                            marks.v
                        ),
                        "marks-version",
                    );
                    return ignore;
                }
                if marks.node != parsed.owner {
                    self.rejects.refused(
                        topic,
                        &format_args!(
                            "voucher marks that say they come from {:?}",
                            marks.node.as_str()
                        ),
                        "marks-owner",
                    );
                    return ignore;
                }
                let ours = match blocking(&self.store, |store| store.watermarks()).await {
                    Ok(watermarks) => watermarks,
                    Err(_) => return ignore,
                };
                let own = ours.get(self.node.as_str()).copied().unwrap_or(0);
                let their_own_mark = marks.marks.get(self.node.as_str()).copied().unwrap_or(0);
                if marks.online && their_own_mark > own && !self.store_behind {
                    // Our store has gone back in time (restored from an old backup?): new
                    // events would reuse sequences and serials the venue already holds.
                    tracing::error!(
                        peer = %parsed.owner,
                        "another terminal holds events of this one up to {their_own_mark}, but this store only up to {own}; \
                         issuing and redeeming are refused here until the store is repaired"
                    );
                    self.store_behind = true;
                }
                let peer = parsed.owner.to_string();
                self.peers.insert(peer.clone(), marks.clone());
                if marks.online {
                    self.replay_for_peer(&marks, &ours, served).await;
                } else {
                    // Its history may now be ours to serve: look again at every online peer.
                    let online: Vec<VoucherMarks> =
                        self.peers.values().filter(|m| m.online).cloned().collect();
                    for peer_marks in &online {
                        self.replay_for_peer(peer_marks, &ours, served).await;
                    }
                }
                ignore
            }
            _ => ignore,
        }
    }

    /// Replays to one peer every origin it lacks that this counter is to serve.
    async fn replay_for_peer(
        &self,
        marks: &VoucherMarks,
        ours: &BTreeMap<String, u64>,
        served: &mut Served,
    ) {
        let peer = marks.node.to_string();
        for (origin, our_mark) in ours {
            let their = marks.marks.get(origin).copied().unwrap_or(0);
            if their >= *our_mark || origin == &peer || !self.serves(origin, their) {
                continue;
            }
            let key = format!("{peer}/{origin}");
            let fresh = served.get(&key).is_some_and(|(pair, at)| {
                *pair == (their, *our_mark) && at.elapsed() < REPLAY_MEMORY
            });
            if fresh {
                continue;
            }
            let Ok(origin_id) = Identifier::parse(origin) else {
                continue;
            };
            if self.replay_after(&origin_id, their).await {
                served.insert(key, ((their, *our_mark), std::time::Instant::now()));
            } else {
                served.remove(&key);
            }
        }
    }

    /// Whether this counter should send `origin`'s events to a peer holding them up to
    /// `their`: always for its own; for another origin only while that origin is offline,
    /// and then only the online counter with the smallest id among those that hold more
    /// (so one counter serves, not all of them).
    fn serves(&self, origin: &str, their: u64) -> bool {
        if origin == self.node.as_str() {
            return true;
        }
        if self.peers.get(origin).is_some_and(|m| m.online) {
            return false;
        }
        let smaller_server = self.peers.values().any(|m| {
            m.online
                && m.node.as_str() < self.node.as_str()
                && m.marks.get(origin).copied().unwrap_or(0) > their
        });
        !smaller_server
    }

    /// Publishes `origin`'s events after `after`, in batches; false if it stopped early.
    async fn replay_after(&self, origin: &Identifier, mut after: u64) -> bool {
        loop {
            let origin = origin.clone();
            let batch = match blocking(&self.store, move |store| {
                store.events_after(&origin, after, REPLAY_BATCH)
            })
            .await
            {
                Ok(batch) => batch,
                Err(error) => {
                    tracing::error!("cannot read voucher events to replay: {error}");
                    return false;
                }
            };
            let fetched = batch.len();
            // Events carry free text (staff names, void reasons): keep every batch well
            // under the broker's message limit, or it would be refused and resent forever.
            let (batch, cut) = cap_batch_bytes(batch);
            let Some(last) = batch.last().map(|e| e.seq) else {
                return true;
            };
            let full = fetched == REPLAY_BATCH || cut;
            if !self.publish_events(batch) {
                // The request queue is full: the peer's next marks (at the latest its
                // periodic ones) will ask again.
                return false;
            }
            after = last;
            if !full {
                return true;
            }
        }
    }

    /// Publishes events of ours; false when the request queue was full (they are on disk
    /// and the anti-entropy replay will carry them later).
    fn publish_events(&self, events: Vec<VoucherEvent>) -> bool {
        let batch = VoucherBatch {
            v: SYNC_VERSION,
            origin: self.node.clone(),
            events,
        };
        let topic = Topic::venue(&self.venue, TopicKind::Vouchers, &self.node).to_string();
        let Ok(payload) = serde_json::to_vec(&batch) else {
            return false;
        };
        self.client
            .try_publish(topic, QoS::AtLeastOnce, false, payload)
            .is_ok()
    }

    async fn publish_marks(&self) -> bool {
        let Ok(marks) = blocking(&self.store, |store| store.watermarks()).await else {
            return false;
        };
        let marks = VoucherMarks {
            v: SYNC_VERSION,
            node: self.node.clone(),
            online: true,
            marks,
        };
        let topic = Topic::venue(&self.venue, TopicKind::VoucherMarks, &self.node).to_string();
        let Ok(payload) = serde_json::to_vec(&marks) else {
            return false;
        };
        self.client
            .try_publish(topic, QoS::AtLeastOnce, true, payload)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::voucher::events::{VoucherChange, EVENT_VERSION};

    fn event(seq: u64, reason_chars: usize) -> VoucherEvent {
        VoucherEvent {
            v: EVENT_VERSION,
            origin: Identifier::parse("till-1").unwrap(),
            seq,
            at: OffsetDateTime::UNIX_EPOCH,
            staff: None,
            change: VoucherChange::Voided {
                code: "ABCD".into(),
                reason: "x".repeat(reason_chars),
            },
        }
    }

    #[test]
    fn replay_batches_stay_under_the_byte_cap_and_always_move_on() {
        let small: Vec<_> = (1..=10).map(|seq| event(seq, 10)).collect();
        let (kept, cut) = cap_batch_bytes(small);
        assert_eq!((kept.len(), cut), (10, false));
        let large: Vec<_> = (1..=500).map(|seq| event(seq, 2000)).collect();
        let (kept, cut) = cap_batch_bytes(large);
        assert!(cut && kept.len() < 500 && !kept.is_empty());
        let bytes: usize = kept
            .iter()
            .map(|e| serde_json::to_vec(e).unwrap().len())
            .sum();
        assert!(bytes <= REPLAY_MAX_BYTES, "{bytes}");
        let (kept, _) = cap_batch_bytes(vec![event(1, 400_000)]);
        assert_eq!(
            kept.len(),
            1,
            "a single event always goes, so replay never stalls"
        );
    }
}
