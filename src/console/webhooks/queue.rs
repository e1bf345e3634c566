//! The webhook queue on disk (sled, `node.data_dir/webhooks.sled`): every delivery waits
//! here until its receiver answers 2xx or its retries run out, so a restart loses none;
//! what was announced (`Announced`) is kept beside it in the same transaction as the
//! deliveries it caused; and the last deliveries' outcomes form the console's delivery
//! log. Every call blocks on the disk: the worker makes them in `spawn_blocking`.

use super::events::{Announced, Occurred};
use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;
use std::path::Path;
use time::OffsetDateTime;

/// Most deliveries waiting at once; beyond it the oldest is dropped (and logged), so a
/// receiver that is gone for weeks cannot fill the disk.
pub const MAX_QUEUED: usize = 10_000;
/// Outcomes kept for the console's delivery log.
pub const LOG_ENTRIES: usize = 200;

/// One event for one endpoint, waiting to be delivered.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Delivery {
    pub endpoint: String,
    pub event: String,
    /// The event's id: the same on every attempt, so receivers can de-duplicate.
    pub id: String,
    pub body: String,
    pub attempts: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub next_attempt_at: OffsetDateTime,
    /// Why the last attempt failed.
    #[serde(default)]
    pub last_error: Option<String>,
}

/// One line of the delivery log.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct LogEntry {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub endpoint: String,
    pub event: String,
    pub id: String,
    /// "delivered", "retrying", "gave up" or "dropped".
    pub outcome: String,
    pub attempts: u32,
    pub detail: String,
}

pub struct Queue {
    db: sled::Db,
    waiting: sled::Tree,
    log: sled::Tree,
    meta: sled::Tree,
}

fn corrupt(what: &str, error: impl std::fmt::Display) -> sled::Error {
    sled::Error::Unsupported(format!("webhook {what} is unreadable: {error}"))
}

impl Queue {
    pub fn open(data_dir: &Path) -> sled::Result<Self> {
        let db = sled::open(data_dir.join("webhooks.sled"))?;
        Ok(Self {
            waiting: db.open_tree("waiting")?,
            log: db.open_tree("log")?,
            meta: db.open_tree("meta")?,
            db,
        })
    }

    /// What was last announced (nothing on a new console).
    pub fn announced(&self) -> sled::Result<Announced> {
        match self.meta.get("announced")? {
            None => Ok(Announced::default()),
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| corrupt("state", e)),
        }
    }

    /// Queues `occurred` for each endpoint that wants it and records `announced`, in one
    /// transaction, then flushes: after this returns, a crash loses nothing.
    pub fn enqueue(
        &self,
        occurred: &[(String, Occurred)],
        announced: &Announced,
        now: OffsetDateTime,
    ) -> sled::Result<()> {
        let state = serde_json::to_vec(announced).expect("the announced state serialises");
        let deliveries: Vec<Vec<u8>> = occurred
            .iter()
            .map(|(endpoint, event)| {
                serde_json::to_vec(&Delivery {
                    endpoint: endpoint.clone(),
                    event: event.event.name().to_owned(),
                    id: event.id.clone(),
                    body: event.body.to_string(),
                    attempts: 0,
                    created_at: now,
                    next_attempt_at: now,
                    last_error: None,
                })
                .expect("a delivery serialises")
            })
            .collect();
        // Keys first: sled's id generator must not be called inside a transaction (it
        // waits on what the transaction holds).
        let keys = deliveries
            .iter()
            .map(|_| self.db.generate_id().map(u64::to_be_bytes))
            .collect::<sled::Result<Vec<_>>>()?;
        let result: Result<(), TransactionError<()>> =
            (&self.waiting, &self.meta).transaction(|(waiting, meta)| {
                for (key, delivery) in keys.iter().zip(&deliveries) {
                    waiting.insert(key, delivery.as_slice())?;
                }
                meta.insert("announced", state.as_slice())?;
                Ok::<(), ConflictableTransactionError<()>>(())
            });
        result.map_err(|error| match error {
            TransactionError::Storage(error) => error,
            TransactionError::Abort(()) => corrupt("queue", "aborted"),
        })?;
        self.trim_waiting(now)?;
        self.db.flush()?;
        Ok(())
    }

    /// Drops the oldest deliveries beyond [`MAX_QUEUED`], logging each.
    fn trim_waiting(&self, now: OffsetDateTime) -> sled::Result<()> {
        while self.waiting.len() > MAX_QUEUED {
            let Some((key, bytes)) = self.waiting.pop_min()? else {
                break;
            };
            let _ = key;
            if let Ok(delivery) = serde_json::from_slice::<Delivery>(&bytes) {
                self.record(&delivery, "dropped", "the queue was full", now)?;
            }
        }
        Ok(())
    }

    /// The oldest waiting delivery of each endpoint, with its key: what may go next, as
    /// each endpoint gets its events in order. Reads from the oldest and stops once every
    /// endpoint in `endpoints` has its head, so a long queue behind one receiver is not
    /// read before each delivery. A delivery of an endpoint no longer configured is a
    /// head too (the worker drops it).
    pub fn heads(&self, endpoints: &[&str]) -> sled::Result<Vec<(u64, Delivery)>> {
        let mut heads: Vec<(u64, Delivery)> = Vec::new();
        let mut found = 0;
        for entry in self.waiting.iter() {
            if found == endpoints.len() && !endpoints.is_empty() {
                break;
            }
            let (key, bytes) = entry?;
            let key = u64::from_be_bytes(key.as_ref().try_into().map_err(|e| corrupt("key", e))?);
            let delivery: Delivery = match serde_json::from_slice(&bytes) {
                Ok(delivery) => delivery,
                Err(error) => {
                    tracing::warn!("dropping an unreadable webhook delivery: {error}");
                    self.waiting.remove(key.to_be_bytes())?;
                    continue;
                }
            };
            if heads
                .iter()
                .any(|(_, head)| head.endpoint == delivery.endpoint)
            {
                continue;
            }
            found += usize::from(endpoints.contains(&delivery.endpoint.as_str()));
            heads.push((key, delivery));
        }
        Ok(heads)
    }

    /// Done with delivery `key`: removed from the queue, its outcome logged.
    pub fn finish(
        &self,
        key: u64,
        delivery: &Delivery,
        outcome: &str,
        detail: &str,
        now: OffsetDateTime,
    ) -> sled::Result<()> {
        self.waiting.remove(key.to_be_bytes())?;
        self.record(delivery, outcome, detail, now)?;
        self.db.flush()?;
        Ok(())
    }

    /// Delivery `key` failed and waits for `delivery.next_attempt_at`.
    pub fn retry_later(
        &self,
        key: u64,
        delivery: &Delivery,
        now: OffsetDateTime,
    ) -> sled::Result<()> {
        let bytes = serde_json::to_vec(delivery).expect("a delivery serialises");
        self.waiting.insert(key.to_be_bytes(), bytes)?;
        let detail = delivery.last_error.clone().unwrap_or_default();
        self.record(delivery, "retrying", &detail, now)?;
        self.db.flush()?;
        Ok(())
    }

    fn record(
        &self,
        delivery: &Delivery,
        outcome: &str,
        detail: &str,
        now: OffsetDateTime,
    ) -> sled::Result<()> {
        let entry = LogEntry {
            at: now,
            endpoint: delivery.endpoint.clone(),
            event: delivery.event.clone(),
            id: delivery.id.clone(),
            outcome: outcome.to_owned(),
            attempts: delivery.attempts,
            detail: crate::text::one_line(detail).chars().take(300).collect(),
        };
        let key = self.db.generate_id()?.to_be_bytes();
        self.log.insert(
            key,
            serde_json::to_vec(&entry).expect("a log entry serialises"),
        )?;
        while self.log.len() > LOG_ENTRIES {
            self.log.pop_min()?;
        }
        Ok(())
    }

    /// The newest `limit` log entries, newest first, and how many deliveries wait.
    pub fn log(&self, limit: usize) -> sled::Result<(Vec<LogEntry>, usize)> {
        let mut entries = Vec::new();
        for entry in self.log.iter().rev().take(limit) {
            let (_, bytes) = entry?;
            if let Ok(entry) = serde_json::from_slice(&bytes) {
                entries.push(entry);
            }
        }
        Ok((entries, self.waiting.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::HookEvent;

    #[test]
    fn heads_are_each_endpoints_oldest_and_reading_stops_once_all_are_found() {
        let directory = tempfile::tempdir().unwrap();
        let queue = Queue::open(directory.path()).unwrap();
        let event = |id: &str| Occurred {
            event: HookEvent::Started,
            id: id.into(),
            body: serde_json::json!({}),
        };
        let now = OffsetDateTime::UNIX_EPOCH;
        let queued: Vec<(String, Occurred)> = [
            ("orders", "e1"),
            ("orders", "e2"),
            ("chat", "e3"),
            ("gone", "e4"),
        ]
        .into_iter()
        .map(|(endpoint, id)| (endpoint.to_owned(), event(id)))
        .collect();
        queue.enqueue(&queued, &Announced::default(), now).unwrap();
        let ids = |heads: Vec<(u64, Delivery)>| -> Vec<String> {
            heads.into_iter().map(|(_, d)| d.id).collect()
        };
        assert_eq!(ids(queue.heads(&["orders", "chat"]).unwrap()), ["e1", "e3"]);
        assert_eq!(
            ids(queue.heads(&["orders"]).unwrap()),
            ["e1"],
            "stops at the first"
        );
        assert_eq!(
            ids(queue.heads(&["orders", "chat", "mail"]).unwrap()),
            ["e1", "e3", "e4"],
            "an endpoint no longer configured still shows its head, to be dropped"
        );
    }
}
