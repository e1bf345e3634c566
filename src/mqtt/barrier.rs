//! The sync barrier (docs/PROTOCOL.md, "Sync barrier"): the one way a session knows it
//! has heard the broker's whole retained set. After subscribing, the session publishes a
//! fresh random token to its own private topic; brokers deliver a client's retained
//! messages before they process its next packet, so when the token comes back, every
//! retained message has arrived.
//!
//! Every session (each node worker and the one-shot client) uses this type. It never
//! awaits the client: a publish that cannot be queued (a full request queue) is retried on
//! the barrier's own timer, so a dropped barrier can never leave a worker waiting for an
//! echo that was never asked for.

use rumqttc::{AsyncClient, QoS};
use std::time::Duration;
use tokio::time::Instant;

/// How soon a barrier publish that could not be queued is tried again.
pub const BARRIER_RETRY: Duration = Duration::from_millis(100);

/// Where a session stands with its barrier since the link last came up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// No link: nothing to ask.
    Idle,
    /// The link is up and the token still has to be queued (at `retry_at`).
    Due { retry_at: Instant },
    /// The token is on its way; waiting for its echo.
    Sent,
    /// The echo came back: the retained set has been read completely.
    Reached,
}

/// What a message on the session's topics means to the barrier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Echo {
    /// Not on the barrier topic: the caller handles it.
    NotBarrier,
    /// On the barrier topic but not the current token (a stale or foreign echo): ignore.
    Ignored,
    /// Our current token: everything retained has arrived.
    Reached,
}

pub struct SyncBarrier {
    topic: String,
    token: String,
    phase: Phase,
}

impl SyncBarrier {
    pub fn new(topic: String) -> Self {
        Self {
            topic,
            token: String::new(),
            phase: Phase::Idle,
        }
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The link came up (and the subscriptions were asked for): a fresh token, queued now
    /// or on the retry timer. A fresh token each time: only our own, latest echo counts.
    pub fn start(&mut self, client: &AsyncClient) {
        self.token = format!("{:016x}", rand::random::<u64>());
        self.phase = Phase::Due {
            retry_at: Instant::now(),
        };
        self.send_if_due(client);
    }

    /// The link went down: whatever was read is no longer known to be complete.
    pub fn reset(&mut self) {
        self.phase = Phase::Idle;
    }

    /// When a token that could not be queued is to be tried again, if one is waiting.
    pub fn retry_at(&self) -> Option<Instant> {
        match self.phase {
            Phase::Due { retry_at } => Some(retry_at),
            _ => None,
        }
    }

    /// Queues the token if it is waiting; on a full queue, tries again after
    /// [`BARRIER_RETRY`]. Call it when [`Self::retry_at`] has passed.
    pub fn send_if_due(&mut self, client: &AsyncClient) {
        if !matches!(self.phase, Phase::Due { .. }) {
            return;
        }
        let token = self.token.clone().into_bytes();
        match client.try_publish(self.topic.clone(), QoS::AtLeastOnce, false, token) {
            Ok(()) => self.phase = Phase::Sent,
            Err(error) => {
                tracing::debug!(topic = %self.topic, "sync barrier queued for retry: {error}");
                self.phase = Phase::Due {
                    retry_at: Instant::now() + BARRIER_RETRY,
                };
            }
        }
    }

    /// Looks at one received message: is it this barrier's echo?
    pub fn check(&mut self, topic: &str, payload: &[u8]) -> Echo {
        if topic != self.topic {
            return Echo::NotBarrier;
        }
        if self.phase == Phase::Sent && payload == self.token.as_bytes() {
            self.phase = Phase::Reached;
            return Echo::Reached;
        }
        Echo::Ignored
    }

    /// Whether the retained set has been read completely since the link came up.
    pub fn reached(&self) -> bool {
        self.phase == Phase::Reached
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mqtt::test_support::{client_with_room_for, queued_publishes as drain};

    #[tokio::test]
    async fn a_barrier_that_finds_the_queue_full_is_sent_later_and_its_echo_recognised() {
        let (client, mut eventloop) = client_with_room_for(1);
        client
            .try_publish("raincheck/v1/v/x", QoS::AtMostOnce, false, "filler")
            .expect("the queue has room for one");
        let mut barrier = SyncBarrier::new("raincheck/v1/v/sync/c".into());
        barrier.start(&client);
        assert!(
            barrier.retry_at().is_some(),
            "the publish could not be queued: a retry is scheduled, not forgotten"
        );
        assert_eq!(drain(&mut eventloop).len(), 1, "only the filler was queued");

        barrier.send_if_due(&client);
        assert_eq!(barrier.retry_at(), None);
        let sent = drain(&mut eventloop);
        assert_eq!(sent.len(), 1);
        let (topic, token) = &sent[0];
        assert_eq!(topic, "raincheck/v1/v/sync/c");
        assert_eq!(
            barrier.check("raincheck/v1/v/sync/c", b"someone else's"),
            Echo::Ignored
        );
        assert_eq!(barrier.check("raincheck/v1/v/x", token), Echo::NotBarrier);
        assert!(!barrier.reached());
        assert_eq!(barrier.check("raincheck/v1/v/sync/c", token), Echo::Reached);
        assert!(barrier.reached());
    }

    #[tokio::test]
    async fn an_echo_from_before_a_reconnect_does_not_count() {
        let (client, mut eventloop) = client_with_room_for(1);
        let mut barrier = SyncBarrier::new("t".into());
        barrier.start(&client);
        let (_, first) = drain(&mut eventloop).remove(0);
        barrier.reset();
        barrier.start(&client);
        assert_eq!(barrier.check("t", &first), Echo::Ignored);
        let (_, second) = drain(&mut eventloop).remove(0);
        assert_eq!(barrier.check("t", &second), Echo::Reached);
    }
}
