//! The keeper worker: its own session on the venue's declaration and payment topics, the
//! pure [`Keeper`] rule, and the repairs it calls for. After each barrier (the broker's
//! whole retained set read) and on every message after it, every topic whose broker copy
//! is not the winner is published again, retained, at most once a second per topic, so
//! a publisher that keeps writing old revisions costs one repair a second, not a storm.
//! Each change of the winners is saved to the keeper's file by a writer task. At an
//! incident's expiry (by this node's clock) the keeper ends it with the resolve
//! `model::expiry` builds, and the repairs publish it like any winner the broker lacks.

use super::file;
use crate::model::Keeper;
use crate::mqtt::{BusEvent, Echo, SyncBarrier};
use crate::protocol::{decode_message, BusMessage, Identifier};
use crate::reject_log::RejectLog;
use crate::shutdown::Shutdown;
use rumqttc::{AsyncClient, QoS};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// The least time between two repairs of one topic.
const REPAIR_PAUSE: Duration = Duration::from_secs(1);

pub struct KeeperWorker {
    pub venue: Identifier,
    pub client: AsyncClient,
    pub events: mpsc::Receiver<BusEvent>,
    pub barrier: SyncBarrier,
    /// The winners restored from the keeper's file.
    pub restored: Vec<(String, BusMessage)>,
    /// Where each change of the winners is saved.
    pub file: PathBuf,
    pub shutdown: Shutdown,
}

impl KeeperWorker {
    pub async fn run(mut self) {
        let mut keeper = Keeper::default();
        for (_, message) in std::mem::take(&mut self.restored) {
            keeper.restore(message);
        }
        let (kept_tx, kept) = watch::channel(keeper.kept(&self.venue));
        let writer = tokio::spawn(write_kept(self.file.clone(), kept));
        let mut rejects = RejectLog::new(Duration::from_secs(10));
        let mut last_repair: HashMap<String, Instant> = HashMap::new();
        // When a repair held back by its pause is due.
        let mut repair_at: Option<Instant> = None;
        loop {
            let expiry_at = keeper
                .next_expiry(OffsetDateTime::now_utc())
                .map(crate::deadline::instant_at);
            tokio::select! {
                _ = self.shutdown.wait() => break,
                _ = crate::deadline::sleep_until(expiry_at) => {
                    if keeper.expire(OffsetDateTime::now_utc()) {
                        tracing::info!("an incident reached its expiry; publishing its resolve");
                        kept_tx.send_replace(keeper.kept(&self.venue));
                    }
                }
                _ = crate::deadline::sleep_until(self.barrier.retry_at()) => {
                    self.barrier.send_if_due(&self.client);
                }
                _ = crate::deadline::sleep_until(repair_at) => repair_at = None,
                event = self.events.recv() => match event {
                    None => break,
                    Some(BusEvent::LinkUp) => {
                        keeper.forget_broker();
                        self.barrier.start(&self.client);
                    }
                    Some(BusEvent::LinkDown { .. }) => self.barrier.reset(),
                    Some(BusEvent::Message { topic, payload, .. }) => match self.barrier.check(&topic, &payload) {
                        Echo::Ignored => {}
                        Echo::Reached => {}
                        Echo::NotBarrier => {
                            let message = match decode_message(&topic, &payload, &self.venue) {
                                Ok(message) => Some(message),
                                Err(reason) => {
                                    rejects.refused(&topic, &reason, reason.kind());
                                    None
                                }
                            };
                            if keeper.heard(&topic, message) {
                                kept_tx.send_replace(keeper.kept(&self.venue));
                            }
                        }
                    },
                },
            }
            if self.barrier.reached() && repair_at.is_none() {
                repair_at = self.repair(&keeper, &mut last_repair);
            }
        }
        drop(kept_tx);
        let _ = writer.await;
    }

    /// Publishes what the broker is missing; when a repair waits on its pause, when.
    fn repair(
        &self,
        keeper: &Keeper,
        last_repair: &mut HashMap<String, Instant>,
    ) -> Option<Instant> {
        let now = Instant::now();
        let mut next: Option<Instant> = None;
        for (topic, payload) in keeper.repairs(&self.venue) {
            if let Some(due) = last_repair
                .get(&topic)
                .map(|at| *at + REPAIR_PAUSE)
                .filter(|due| *due > now)
            {
                next = Some(next.map_or(due, |next| next.min(due)));
                continue;
            }
            match self
                .client
                .try_publish(topic.clone(), QoS::AtLeastOnce, true, payload)
            {
                Ok(()) => {
                    tracing::info!(%topic, "the broker's retained copy was behind the venue's; published the winner again");
                    crate::metrics::add("raincheck_keeper_repairs_total", &[], 1.0);
                    last_repair.insert(topic, now);
                }
                // The request queue is full: try again shortly.
                Err(_) => next = Some(now + Duration::from_millis(100)),
            }
        }
        next
    }
}

/// Saves each new kept set, the latest only, off the async threads.
async fn write_kept(path: PathBuf, mut kept: watch::Receiver<Vec<(String, BusMessage)>>) {
    let mut warned = false;
    while kept.changed().await.is_ok() {
        let snapshot = kept.borrow_and_update().clone();
        let target = path.clone();
        let written = tokio::task::spawn_blocking(move || file::save(&target, &snapshot)).await;
        match written {
            Ok(Ok(())) => warned = false,
            Ok(Err(error)) if !warned => {
                warned = true;
                tracing::warn!("cannot save the kept retained set ({error:#}); the venue's state is not kept across a restart of this node");
            }
            Ok(Err(_)) => {}
            Err(error) => tracing::warn!("the kept-set writer failed: {error}"),
        }
    }
}
