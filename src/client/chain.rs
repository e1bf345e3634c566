//! Head office's one-shot session on its own broker: the chain's declarations, every
//! venue's display reports that came up its bridge, and every bridge's state, read to a
//! sync barrier under `_chain/` (which no bridge carries), so a chain declaration's
//! revision is above everything HQ can see. The chain-scope twin of [`BusSession`].
//!
//! [`BusSession`]: super::BusSession

use super::link::{Link, LinkEvent};
use super::target::BrokerTarget;
use crate::model::{ChainConfirmation, ChainState};
use crate::protocol::{decode_chain_message, BusMessage, ChainMessage, Identifier, Topic};
use anyhow::Result;
use rumqttc::QoS;
use std::time::Duration;
use tokio::time::Instant;

pub struct ChainSession {
    pub target: BrokerTarget,
    pub state: ChainState,
    /// The message most recently applied and its venue (`None` for chain topics), for
    /// callers that count confirmations incrementally (the bridged switch benchmark).
    pub last_applied: Option<(Option<Identifier>, BusMessage)>,
    link: Link,
}

impl ChainSession {
    /// Connects and reads HQ's retained set; fails with one clear line if the broker
    /// cannot be reached within the target's timeout.
    pub async fn open(target: BrokerTarget, label: &str) -> Result<Self> {
        let link = Link::open(
            &target,
            label,
            Topic::chain_status_filters(),
            Topic::chain_sync_barrier,
        )
        .await?;
        let mut session = Self {
            target,
            state: ChainState::default(),
            last_applied: None,
            link,
        };
        let Self {
            link,
            state,
            last_applied,
            ..
        } = &mut session;
        link.sync(|topic, payload| {
            let _ = apply_to(state, last_applied, topic, payload);
        })
        .await?;
        Ok(session)
    }

    /// Publishes a chain declaration retained and waits for the broker's echo.
    pub async fn publish_retained(&mut self, topic: &str, payload: Vec<u8>) -> Result<()> {
        let Self {
            link,
            state,
            last_applied,
            ..
        } = self;
        link.publish_retained(topic, payload, |got, body| {
            apply_to(state, last_applied, got, body)
        })
        .await
    }

    /// Queues a retained message without waiting for the broker (the benchmark).
    pub fn publish_retained_nowait(&self, topic: &str, payload: Vec<u8>) -> Result<()> {
        self.link
            .try_publish(topic, QoS::AtLeastOnce, true, payload)
    }

    /// Waits for the next message that changes HQ's state; false when `until` passes.
    /// Link changes are not reported: the connection reconnects by itself, and the
    /// bridges' retained reports come back with it.
    pub async fn next_change(&mut self, until: Instant) -> bool {
        loop {
            match self.link.next_event(Some(until)).await {
                Some(LinkEvent::Message { topic, payload }) => {
                    if apply_to(&mut self.state, &mut self.last_applied, &topic, &payload).is_ok() {
                        return true;
                    }
                }
                Some(LinkEvent::Lost(_) | LinkEvent::Back) => {}
                None => return false,
            }
        }
    }

    pub fn confirmations(&self) -> ChainConfirmation {
        self.state.confirmations()
    }

    /// Waits until every online screen of every venue whose bridge is up shows the
    /// chain view, or `within` passes.
    pub async fn wait_confirmed(&mut self, within: Duration) -> ChainConfirmation {
        let until = Instant::now() + within;
        loop {
            let summary = self.confirmations();
            if summary.all_reachable_confirmed() || !self.next_change(until).await {
                return summary;
            }
            // A chain has thousands of screens: take in everything already queued before
            // counting again, rather than counting every screen after every report.
            while self.next_change(Instant::now()).await {}
        }
    }

    pub async fn close(self) {
        self.link.close().await;
    }
}

/// Merges one publish into HQ's state; the reason it was ignored otherwise.
fn apply_to(
    state: &mut ChainState,
    last_applied: &mut Option<(Option<Identifier>, BusMessage)>,
    topic: &str,
    payload: &[u8],
) -> Result<(), String> {
    match decode_chain_message(topic, payload) {
        Ok(ChainMessage::Bridge { venue, up }) => {
            state.set_bridge(&venue, up);
            Ok(())
        }
        Ok(ChainMessage::Status { venue, message }) => {
            state.apply(venue.as_ref(), (*message).clone());
            *last_applied = Some((venue, *message));
            Ok(())
        }
        Err(reason) => {
            tracing::debug!(%topic, "ignored: {reason}");
            Err(reason.to_string())
        }
    }
}
