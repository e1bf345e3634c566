//! A short-lived bus session for CLI commands: connect, read the venue's whole retained
//! set, then publish and watch. "Whole" is made exact by a sync barrier: after
//! subscribing, the session publishes to its own private topic; brokers deliver a
//! client's retained messages before they process its next packet, so when the barrier
//! comes back every retained message has arrived.

use super::target::BusTarget;
use crate::model::{compute_view, ConfirmationSummary, VenueState, VenueView};
use crate::mqtt::backoff::Backoff;
use crate::mqtt::connection::ConnectionSettings;
use crate::mqtt::{client_options, spawn_connection, BusEvent, ClientIdentity, Subscription};
use crate::protocol::{decode_message, BusMessage, Topic};
use crate::shutdown::{shutdown_pair, ShutdownTrigger};
use anyhow::{anyhow, bail, Result};
use rand::Rng;
use rumqttc::{AsyncClient, QoS};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{timeout_at, Instant};

pub struct BusSession {
    pub target: BusTarget,
    pub state: VenueState,
    /// The message most recently applied, for callers that count confirmations
    /// incrementally (the switch benchmark).
    pub last_applied: Option<BusMessage>,
    client: AsyncClient,
    events: mpsc::Receiver<BusEvent>,
    barrier_topic: String,
    trigger: ShutdownTrigger,
    task: JoinHandle<()>,
}

/// What one received event changed, for `watch`.
pub enum SessionChange {
    Status,
    LinkLost(String),
    LinkBack,
}

impl BusSession {
    /// Connects and reads the retained set; fails with one clear line if the broker
    /// cannot be reached within the target's timeout.
    pub async fn open(target: BusTarget, label: &str) -> Result<Self> {
        let suffix: u32 = rand::thread_rng().gen();
        let client_id = format!("raincheck-{label}-{}-{suffix:08x}", std::process::id());
        let barrier_topic = Topic::sync_barrier(&target.venue, &client_id);
        let identity = ClientIdentity {
            client_id,
            last_will: None,
            persistent_session: false,
        };
        let options = client_options(&target.broker, identity, &target.config_dir)?;
        let mut subscriptions: Vec<Subscription> = Topic::status_filters(&target.venue)
            .into_iter()
            .map(|filter| Subscription {
                filter,
                qos: QoS::AtLeastOnce,
            })
            .collect();
        subscriptions.push(Subscription {
            filter: barrier_topic.clone(),
            qos: QoS::AtLeastOnce,
        });
        let settings = ConnectionSettings {
            subscriptions,
            backoff: Backoff::new(Duration::from_millis(100), Duration::from_millis(1000)),
            watchdog: Duration::from_secs(u64::from(target.broker.watchdog_secs)),
            label: label.to_owned(),
            manual_acks: false,
        };
        let (trigger, shutdown) = shutdown_pair();
        let connection = spawn_connection(options, settings, shutdown);
        let mut session = Self {
            target,
            state: VenueState::default(),
            last_applied: None,
            client: connection.client,
            events: connection.events,
            barrier_topic,
            trigger,
            task: connection.task,
        };
        session.wait_connected().await?;
        session.sync().await?;
        Ok(session)
    }

    async fn wait_connected(&mut self) -> Result<()> {
        let deadline = Instant::now() + self.target.timeout;
        let mut last_failure = None;
        loop {
            match timeout_at(deadline, self.events.recv()).await {
                Ok(Some(BusEvent::LinkUp)) => return Ok(()),
                Ok(Some(BusEvent::LinkDown { reason })) => last_failure = Some(reason),
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => {
                    let why = last_failure
                        .map(|reason| format!(" ({reason})"))
                        .unwrap_or_default();
                    bail!(
                        "cannot reach the broker at {} within {:?}{why}; is it running, and are the address and credentials right?",
                        self.broker_address(),
                        self.target.timeout
                    )
                }
            }
        }
    }

    fn broker_address(&self) -> String {
        match self.target.broker.mode {
            crate::config::BrokerMode::Embedded => format!("mqtt://{}", self.target.broker.listen),
            crate::config::BrokerMode::External => self.target.broker.url.clone(),
        }
    }

    /// Publishes to the barrier topic and applies everything up to its echo.
    pub async fn sync(&mut self) -> Result<()> {
        let token = format!("{}", rand::thread_rng().gen::<u64>());
        self.client
            .try_publish(
                self.barrier_topic.clone(),
                QoS::AtLeastOnce,
                false,
                token.clone().into_bytes(),
            )
            .map_err(|error| anyhow!("cannot send to the broker: {error}"))?;
        let deadline = Instant::now() + self.target.timeout;
        loop {
            match timeout_at(deadline, self.events.recv()).await {
                Ok(Some(BusEvent::Message { topic, payload, .. })) => {
                    if topic == self.barrier_topic {
                        if payload.as_ref() == token.as_bytes() {
                            return Ok(());
                        }
                    } else {
                        self.apply(&topic, &payload);
                    }
                }
                Ok(Some(BusEvent::LinkDown { reason })) => {
                    bail!("lost the broker while reading the venue state: {reason}")
                }
                Ok(Some(BusEvent::LinkUp)) => {}
                Ok(None) | Err(_) => {
                    bail!("the broker did not answer within {:?}", self.target.timeout)
                }
            }
        }
    }

    fn apply(&mut self, topic: &str, payload: &[u8]) -> bool {
        match decode_message(topic, payload, &self.target.venue) {
            Ok(message) => {
                self.state.apply(message.clone());
                self.last_applied = Some(message);
                true
            }
            Err(reason) => {
                tracing::debug!(%topic, "ignored: {reason}");
                false
            }
        }
    }

    pub fn view(&self) -> VenueView {
        compute_view(&self.state)
    }

    /// One more than every revision the session has seen, or a clear refusal when a
    /// faulty publisher has used up the revision range.
    pub fn next_revision(&self) -> Result<u64> {
        self.state.next_revision().map_err(|holder| {
            anyhow!(
                "{}",
                crate::model::DeclareRefusal::RevisionsExhausted { holder }
            )
        })
    }

    pub fn confirmations(&self) -> ConfirmationSummary {
        ConfirmationSummary::compute(&self.state, &self.view().digest())
    }

    /// Queues a retained status message without waiting for the broker.
    pub fn publish_retained_nowait(&self, topic: &str, payload: Vec<u8>) -> Result<()> {
        self.client
            .try_publish(topic.to_owned(), QoS::AtLeastOnce, true, payload)
            .map_err(|error| anyhow!("cannot send to the broker: {error}"))
    }

    /// Queues a non-retained message without waiting (tests and floods).
    pub fn publish_nowait(&self, topic: &str, payload: Vec<u8>) -> Result<()> {
        self.client
            .try_publish(topic.to_owned(), QoS::AtMostOnce, false, payload)
            .map_err(|error| anyhow!("cannot send to the broker: {error}"))
    }

    /// Publishes a retained status message and waits until the broker echoes it back,
    /// which proves it was accepted and retained.
    pub async fn publish_retained(&mut self, topic: &str, payload: Vec<u8>) -> Result<()> {
        self.client
            .try_publish(topic.to_owned(), QoS::AtLeastOnce, true, payload.clone())
            .map_err(|error| anyhow!("cannot send to the broker: {error}"))?;
        let deadline = Instant::now() + self.target.timeout;
        loop {
            match timeout_at(deadline, self.events.recv()).await {
                Ok(Some(BusEvent::Message { topic: got, payload: body, .. })) => {
                    let ours = got == topic && body.as_ref() == payload.as_slice();
                    let accepted = self.apply(&got, &body);
                    if ours && accepted {
                        return Ok(());
                    }
                    if ours {
                        let reason = decode_message(&got, &body, &self.target.venue).err();
                        bail!(
                            "the broker took the message but every node would ignore it: {}",
                            reason.map(|r| r.to_string()).unwrap_or_default()
                        );
                    }
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => bail!(
                    "the broker did not confirm the message within {:?}; check that this client may publish to {topic}",
                    self.target.timeout
                ),
            }
        }
    }

    /// Waits for the next event that changes something; `None` when `until` passes.
    pub async fn next_change(&mut self, until: Instant) -> Option<SessionChange> {
        loop {
            match timeout_at(until, self.events.recv()).await {
                Ok(Some(BusEvent::Message { topic, payload, .. })) => {
                    if topic != self.barrier_topic && self.apply(&topic, &payload) {
                        return Some(SessionChange::Status);
                    }
                }
                Ok(Some(BusEvent::LinkDown { reason })) => {
                    return Some(SessionChange::LinkLost(reason))
                }
                Ok(Some(BusEvent::LinkUp)) => return Some(SessionChange::LinkBack),
                Ok(None) | Err(_) => return None,
            }
        }
    }

    /// Waits until every online node confirms the current view, or `within` passes.
    pub async fn wait_confirmed(&mut self, within: Duration) -> ConfirmationSummary {
        let until = Instant::now() + within;
        loop {
            let summary = self.confirmations();
            if summary.all_online_confirmed() {
                return summary;
            }
            if self.next_change(until).await.is_none() {
                return self.confirmations();
            }
        }
    }

    pub async fn close(self) {
        let Self {
            client,
            events,
            trigger,
            task,
            ..
        } = self;
        // Unread events must not hold the connection worker while it says goodbye.
        drop(events);
        let _ = client.try_disconnect();
        trigger.trigger();
        let _ = tokio::time::timeout(Duration::from_secs(3), task).await;
    }
}
