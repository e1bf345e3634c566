//! The counter's voucher worker: owns the store, serves the counter's requests (issue,
//! redeem, void, look-up), publishes every new event on `…/vouchers/{node}` (QoS 1), and
//! applies the other terminals' events, acknowledging each publish only after its batch
//! is flushed to disk. It runs on its own MQTT session (persistent, manual acks), apart
//! from the status session, and acts on what `anti_entropy` decides.
//!
//! It serves requests once its sync barrier is back (every retained mark heard, so a
//! store restored from an old backup is caught before it issues), or after a short grace
//! period with no broker at all; while its store is behind the venue it answers look-ups
//! and records only.

use super::anti_entropy::{cap_batch_bytes, claim_beyond, AntiEntropy, Replay};
use super::handle::{counter_channel, CounterError, CounterHandle, CounterRequest};
use super::override_audit::TillAudit;
use super::store::{StoreError, VoucherStore};
use crate::config::CounterSection;
use crate::health::Flag;
use crate::mqtt::{AckHandle, BusEvent, Echo, SyncBarrier};
use crate::protocol::vouchers::{VoucherBatch, VoucherEvent, VoucherMarks, SYNC_VERSION};
use crate::protocol::{
    decode_voucher_message, encode, Identifier, Topic, TopicKind, VoucherMessage,
};
use crate::reject_log::RejectLog;
use crate::shutdown::Shutdown;
use rumqttc::{AsyncClient, QoS};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

mod requests;

/// How long a booting counter waits for the broker before it serves requests offline.
const BOOT_GRACE: Duration = Duration::from_secs(3);
/// The worker's housekeeping tick (acks waiting for room, marks, the boot grace).
const TICK: Duration = Duration::from_millis(250);
/// Marks are republished every this many ticks (10 s) even without change, so a replay
/// that stopped early is asked for again.
const MARKS_HEARTBEAT_TICKS: u64 = 40;
/// Events per published batch during replay.
const REPLAY_BATCH: usize = 500;

pub struct VoucherWorker {
    store: Arc<VoucherStore>,
    node: Identifier,
    venue: Identifier,
    counter: CounterSection,
    client: AsyncClient,
    events: mpsc::Receiver<BusEvent>,
    barrier: SyncBarrier,
    requests: mpsc::Receiver<CounterRequest>,
    shutdown: Shutdown,
    sync: AntiEntropy,
    /// Set when a peer (or our own retained marks) holds our own events beyond our store,
    /// up to this sequence: writing would reuse sequences and serials, so the counter
    /// refuses to issue or redeem until the peers have given them back.
    behind: Option<u64>,
    /// The store was restored or moved (`provenance`) and has not yet been found current
    /// by reading the venue's marks: it refuses to issue or redeem, offline too.
    unproven: bool,
    /// When recent unreadable codes were typed at this terminal (for the attempt limit).
    unreadable: VecDeque<std::time::Instant>,
    /// Refused voucher messages are logged at most once per kind per window: a flood of
    /// garbage must not become a flood of log lines.
    rejects: RejectLog,
    /// Whether requests are served (for `/healthz`).
    serving: Flag,
    /// Whole-store reads running at once at most (see `scan`).
    scans: Arc<tokio::sync::Semaphore>,
    /// The node's audit log, for the overrides other tills took (on a console).
    audit: Option<TillAudit>,
}

/// Whole-store reads (figures, reports, exports) that run at once; more wait their turn,
/// so a manager refreshing a report cannot occupy every blocking thread.
const CONCURRENT_SCANS: usize = 2;

/// Runs a blocking store call off the async threads.
async fn blocking<T: Send + 'static>(
    store: &Arc<VoucherStore>,
    call: impl FnOnce(&VoucherStore) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, CounterError> {
    let store = store.clone();
    match tokio::task::spawn_blocking(move || call(&store)).await {
        Ok(result) => result.map_err(CounterError::from),
        Err(_) => Err(CounterError::Stopped),
    }
}

impl VoucherWorker {
    /// A worker on `store` and its session (client, events, barrier), and the handle to
    /// reach it; `serving` is kept up to date for `/healthz`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Arc<VoucherStore>,
        node: Identifier,
        venue: Identifier,
        counter: CounterSection,
        client: AsyncClient,
        events: mpsc::Receiver<BusEvent>,
        barrier: SyncBarrier,
        serving: Flag,
        audit: Option<TillAudit>,
        shutdown: Shutdown,
    ) -> (CounterHandle, Self) {
        let (handle, requests) = counter_channel(counter.managers.clone(), audit.clone());
        let worker = Self {
            store,
            sync: AntiEntropy::new(node.clone()),
            node,
            venue,
            counter,
            client,
            events,
            barrier,
            requests,
            shutdown,
            behind: None,
            unproven: false,
            unreadable: VecDeque::new(),
            rejects: RejectLog::new(Duration::from_secs(10)),
            serving,
            scans: Arc::new(tokio::sync::Semaphore::new(CONCURRENT_SCANS)),
            audit,
        };
        (handle, worker)
    }

    pub async fn run(mut self) {
        self.unproven = match blocking(&self.store, |store| store.unproven()).await {
            Ok(unproven) => unproven,
            Err(error) => {
                // Not knowing is treated as not proven: issuing waits for the broker.
                tracing::error!("cannot read whether the voucher store was restored: {error}");
                true
            }
        };
        let mut online = false;
        let mut marks_due = true;
        let mut offline_ready = false;
        let offline_grace = tokio::time::Instant::now() + BOOT_GRACE;
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut ticks: u64 = 0;
        // Acknowledgements wait here, in order, while the client's request queue is full.
        let mut pending_acks: VecDeque<rumqttc::Publish> = VecDeque::new();
        loop {
            // Once it has served, a counter keeps serving through link losses (offline
            // first); before that it waits for its barrier or the boot grace.
            let ready = offline_ready || self.barrier.reached();
            offline_ready = ready;
            self.serving
                .set(ready && self.behind.is_none() && !self.unproven);
            tokio::select! {
                _ = self.shutdown.wait() => break,
                _ = crate::deadline::sleep_until(self.barrier.retry_at()) => {
                    self.barrier.send_if_due(&self.client);
                }
                _ = tick.tick() => {
                    if !ready && !online && tokio::time::Instant::now() > offline_grace {
                        tracing::warn!("no broker for the voucher sync; issuing and redeeming offline");
                        offline_ready = true;
                    }
                    self.send_acks(&mut pending_acks);
                    ticks += 1;
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
                        self.barrier.start(&self.client);
                        marks_due = true;
                        self.sync.link_up();
                    }
                    Some(BusEvent::LinkDown { reason }) => {
                        online = false;
                        self.barrier.reset();
                        tracing::warn!("voucher sync link lost ({reason}); issuing and redeeming continue offline");
                    }
                    Some(BusEvent::Message { topic, payload, ack }) => {
                        let stored = match self.barrier.check(&topic, &payload) {
                            Echo::Reached => {
                                self.prove_current().await;
                                true
                            }
                            Echo::Ignored => true,
                            Echo::NotBarrier => {
                                let (changed, stored) = self.receive(&topic, &payload).await;
                                marks_due |= changed;
                                stored
                            }
                        };
                        // After the durable apply (or a deliberate refusal), never before;
                        // an unstored batch stays unacknowledged and is redelivered.
                        if let (Some(AckHandle(publish)), true) = (ack, stored) {
                            pending_acks.push_back(publish);
                        }
                        self.send_acks(&mut pending_acks);
                    }
                },
            }
        }
        self.serving.set(false);
        // A graceful stop sends no last will: say "offline" so others serve our events,
        // and keep the marks, which a store restored from an old backup must meet.
        if let Ok(marks) = blocking(&self.store, |store| store.watermarks()).await {
            let goodbye = VoucherMarks {
                v: SYNC_VERSION,
                node: self.node.clone(),
                online: false,
                marks,
            };
            let _ = self.client.try_publish(
                self.marks_topic(),
                QoS::AtLeastOnce,
                true,
                encode(&goodbye),
            );
        }
        let _ = self.client.try_disconnect();
    }

    /// Every retained mark has been read: a store restored from a backup that no mark
    /// shows behind is current, and issues again (offline too, from now on).
    async fn prove_current(&mut self) {
        if !self.unproven || self.behind.is_some() {
            return;
        }
        match blocking(&self.store, |store| store.mark_proven()).await {
            Ok(()) => {
                self.unproven = false;
                tracing::info!("the venue's marks show this voucher store is current; issuing and redeeming resume");
            }
            Err(error) => tracing::error!("cannot note that the voucher store is current: {error}"),
        }
    }

    /// Marks (a peer's, or our own from an earlier session) claim our own events up to
    /// `claim`, beyond our store's `own`.
    fn found_behind(&mut self, claim: u64, own: u64, from: &Identifier) {
        if self.behind.is_none_or(|known| claim > known) {
            tracing::error!(
                %from,
                "the venue holds events of this terminal up to {claim}, but this store only up to {own}; \
                 issuing and redeeming are refused here until the other terminals have given them back"
            );
            self.behind = Some(claim);
        }
    }

    /// After events were stored: our own that came back may have closed the gap.
    async fn check_caught_up(&mut self) {
        let Some(claim) = self.behind else { return };
        let node = self.node.clone();
        let Ok(own) = blocking(&self.store, move |store| {
            Ok(store.watermarks()?.get(node.as_str()).copied().unwrap_or(0))
        })
        .await
        else {
            return;
        };
        if own >= claim {
            self.behind = None;
            tracing::info!("this store holds its own events up to {own} again");
            if self.barrier.reached() {
                self.prove_current().await;
            }
        }
    }

    fn marks_topic(&self) -> String {
        Topic::venue(&self.venue, TopicKind::VoucherMarks, &self.node).to_string()
    }

    fn send_acks(&self, pending: &mut VecDeque<rumqttc::Publish>) {
        while let Some(publish) = pending.front() {
            if self.client.try_ack(publish).is_err() {
                return;
            }
            pending.pop_front();
        }
    }

    /// Handles a voucher or marks message: (our marks changed, the message may be acked).
    async fn receive(&mut self, topic: &str, payload: &[u8]) -> (bool, bool) {
        // Not ours to act on, or refused: acknowledged, nothing changes.
        let ignore = (false, true);
        let message = match decode_voucher_message(topic, payload, &self.venue, &self.node) {
            Ok(message) => message,
            Err(reason) => {
                // Kept apart per topic kind: a flood of bad batches must not hide bad marks.
                let family = if topic.contains("/voucher-marks/") {
                    "marks"
                } else {
                    "vouchers"
                };
                let kind = format!("{family}-{}", reason.kind());
                self.rejects.refused(topic, &reason, &kind);
                return ignore;
            }
        };
        match message {
            VoucherMessage::NotForUs => ignore,
            // After the barrier these are only the echoes of what we just published.
            VoucherMessage::OwnMarks(_) if self.barrier.reached() => ignore,
            VoucherMessage::OwnMarks(marks) => {
                let Ok(ours) = blocking(&self.store, |store| store.watermarks()).await else {
                    return ignore;
                };
                if let Some(claim) = claim_beyond(&marks, &self.node, &ours) {
                    let own = ours.get(self.node.as_str()).copied().unwrap_or(0);
                    let from = self.node.clone();
                    self.found_behind(claim, own, &from);
                }
                ignore
            }
            VoucherMessage::Batch(batch) => {
                let events = batch.events;
                if let Some(audit) = self.audit.clone().filter(TillAudit::writes_others) {
                    let batch = events.clone();
                    match blocking(&self.store, move |store| store.unheard_overrides(&batch)).await
                    {
                        Ok(unheard) => audit.heard(&unheard).await,
                        // Stored and audited when the batch comes again.
                        Err(_) => return (false, false),
                    }
                }
                match blocking(&self.store, move |store| store.apply_remote(&events)).await {
                    Ok(applied) => {
                        crate::metrics::add(
                            "raincheck_voucher_events_synced_total",
                            &[],
                            applied as f64,
                        );
                        if applied > 0 {
                            self.check_caught_up().await;
                        }
                        (applied > 0, true)
                    }
                    Err(_) => {
                        tracing::error!(%topic, "cannot store other terminals' voucher events; they stay unacknowledged and come again");
                        (false, false)
                    }
                }
            }
            VoucherMessage::Marks(marks) => {
                let Ok(ours) = blocking(&self.store, |store| store.watermarks()).await else {
                    return ignore;
                };
                let peer = marks.node.clone();
                let outcome = self.sync.on_marks(marks, &ours, std::time::Instant::now());
                if let Some(claim) = outcome.store_behind {
                    let own = ours.get(self.node.as_str()).copied().unwrap_or(0);
                    self.found_behind(claim, own, &peer);
                }
                for replay in outcome.replays {
                    let complete = self.replay(&replay).await;
                    self.sync
                        .replayed(&replay, complete, std::time::Instant::now());
                }
                ignore
            }
        }
    }

    /// Publishes the replay's events in batches; false if it stopped early.
    async fn replay(&self, replay: &Replay) -> bool {
        let mut after = replay.after;
        loop {
            let origin = replay.origin.clone();
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
        self.client
            .try_publish(topic, QoS::AtLeastOnce, false, encode(&batch))
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
        self.client
            .try_publish(self.marks_topic(), QoS::AtLeastOnce, true, encode(&marks))
            .is_ok()
    }
}

#[cfg(test)]
#[path = "worker_tests.rs"]
mod tests;
