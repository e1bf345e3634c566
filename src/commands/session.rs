//! A short-lived bus session for CLI commands: connect, read the venue's whole retained
//! set, then publish and watch. "Whole" is made exact by a sync barrier: after
//! subscribing, the session publishes to its own private topic; brokers deliver a
//! client's retained messages before they process its next packet, so when the barrier
//! comes back every retained message has arrived.

use super::target::BusTarget;
use crate::config::BrokerSection;
use crate::model::{compute_view, ConfirmationSummary, VenueState, VenueView};
use crate::mqtt::backoff::Backoff;
use crate::mqtt::connection::ConnectionSettings;
use crate::mqtt::{client_options, spawn_connection, BusEvent, ClientIdentity, Subscription};
use crate::protocol::{decode_message, BusMessage, Identifier, Topic};
use crate::shutdown::{shutdown_pair, ShutdownTrigger};
use anyhow::{anyhow, bail, Result};
use bytes::Bytes;
use rand::Rng;
use rumqttc::{AsyncClient, QoS};
use std::path::Path;
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
    link: Link,
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
        let link = Link::open(
            &target.broker,
            &target.config_dir,
            target.timeout,
            label,
            Topic::status_filters(&target.venue),
            |client_id| Topic::sync_barrier(&target.venue, client_id),
        )
        .await?;
        let mut session = Self {
            target,
            state: VenueState::default(),
            last_applied: None,
            link,
        };
        session.sync().await?;
        Ok(session)
    }

    /// Publishes to the barrier topic and applies everything up to its echo.
    pub async fn sync(&mut self) -> Result<()> {
        let Self {
            link,
            state,
            last_applied,
            target,
        } = self;
        link.sync(|topic, payload| {
            apply_to(state, last_applied, &target.venue, topic, payload);
        })
        .await
    }

    fn apply(&mut self, topic: &str, payload: &[u8]) -> bool {
        apply_to(
            &mut self.state,
            &mut self.last_applied,
            &self.target.venue,
            topic,
            payload,
        )
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
        self.link
            .try_publish(topic, QoS::AtLeastOnce, true, payload)
    }

    /// Queues a non-retained message without waiting (tests and floods).
    pub fn publish_nowait(&self, topic: &str, payload: Vec<u8>) -> Result<()> {
        self.link
            .try_publish(topic, QoS::AtMostOnce, false, payload)
    }

    /// Publishes a retained status message and waits until the broker echoes it back,
    /// which proves it was accepted and retained.
    pub async fn publish_retained(&mut self, topic: &str, payload: Vec<u8>) -> Result<()> {
        let Self {
            link,
            state,
            last_applied,
            target,
        } = self;
        link.publish_retained(topic, payload, |got, body| {
            if apply_to(state, last_applied, &target.venue, got, body) {
                Ok(())
            } else {
                Err(decode_message(got, body, &target.venue)
                    .err()
                    .map(|reason| reason.to_string())
                    .unwrap_or_default())
            }
        })
        .await
    }

    /// Waits for the next event that changes something; `None` when `until` passes.
    pub async fn next_change(&mut self, until: Instant) -> Option<SessionChange> {
        loop {
            match self.link.next_event(until).await? {
                LinkEvent::Message { topic, payload } => {
                    if self.apply(&topic, &payload) {
                        return Some(SessionChange::Status);
                    }
                }
                LinkEvent::Lost(reason) => return Some(SessionChange::LinkLost(reason)),
                LinkEvent::Back => return Some(SessionChange::LinkBack),
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
        self.link.close().await;
    }
}

/// Decodes one publish for `venue` and merges it; false (logged at debug) if refused.
fn apply_to(
    state: &mut VenueState,
    last_applied: &mut Option<BusMessage>,
    venue: &Identifier,
    topic: &str,
    payload: &[u8],
) -> bool {
    match decode_message(topic, payload, venue) {
        Ok(message) => {
            state.apply(message.clone());
            *last_applied = Some(message);
            true
        }
        Err(reason) => {
            tracing::debug!(%topic, "ignored: {reason}");
            false
        }
    }
}

/// The connection under a one-shot session: the MQTT client, its events, and the sync
/// barrier. What the messages mean is the session's business ([`BusSession`] for a
/// venue, `ChainSession` for head office).
pub(crate) struct Link {
    client: AsyncClient,
    events: mpsc::Receiver<BusEvent>,
    barrier_topic: String,
    trigger: ShutdownTrigger,
    task: JoinHandle<()>,
    timeout: Duration,
    address: String,
}

pub(crate) enum LinkEvent {
    Message { topic: String, payload: Bytes },
    Lost(String),
    Back,
}

impl Link {
    /// Connects, subscribes to `filters` and the barrier topic `barrier(client_id)`, and
    /// waits for the broker's acceptance (not yet for the retained set: see `sync`).
    pub(crate) async fn open(
        broker: &BrokerSection,
        config_dir: &Path,
        timeout: Duration,
        label: &str,
        filters: Vec<String>,
        barrier: impl FnOnce(&str) -> String,
    ) -> Result<Self> {
        let suffix: u32 = rand::thread_rng().gen();
        let client_id = format!("raincheck-{label}-{}-{suffix:08x}", std::process::id());
        let barrier_topic = barrier(&client_id);
        let identity = ClientIdentity {
            client_id,
            last_will: None,
            persistent_session: false,
        };
        let options = client_options(broker, identity, config_dir)?;
        let mut subscriptions: Vec<Subscription> = filters
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
            watchdog: Duration::from_secs(u64::from(broker.watchdog_secs)),
            label: label.to_owned(),
            manual_acks: false,
        };
        let (trigger, shutdown) = shutdown_pair();
        let connection = spawn_connection(options, settings, shutdown);
        let address = match broker.mode {
            crate::config::BrokerMode::Embedded => format!("mqtt://{}", broker.listen),
            crate::config::BrokerMode::External => broker.url.clone(),
        };
        let mut link = Self {
            client: connection.client,
            events: connection.events,
            barrier_topic,
            trigger,
            task: connection.task,
            timeout,
            address,
        };
        link.wait_connected().await?;
        Ok(link)
    }

    async fn wait_connected(&mut self) -> Result<()> {
        let deadline = Instant::now() + self.timeout;
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
                        self.address,
                        self.timeout
                    )
                }
            }
        }
    }

    /// Publishes a token to the barrier topic and hands every message up to its echo to
    /// `apply`: then every retained message subscribed to has arrived.
    pub(crate) async fn sync(&mut self, mut apply: impl FnMut(&str, &[u8])) -> Result<()> {
        let token = format!("{}", rand::thread_rng().gen::<u64>());
        self.try_publish(
            &self.barrier_topic.clone(),
            QoS::AtLeastOnce,
            false,
            token.clone().into_bytes(),
        )?;
        let deadline = Instant::now() + self.timeout;
        loop {
            match timeout_at(deadline, self.events.recv()).await {
                Ok(Some(BusEvent::Message { topic, payload, .. })) => {
                    if topic == self.barrier_topic {
                        if payload.as_ref() == token.as_bytes() {
                            return Ok(());
                        }
                    } else {
                        apply(&topic, &payload);
                    }
                }
                Ok(Some(BusEvent::LinkDown { reason })) => {
                    bail!("lost the broker while reading the retained state: {reason}")
                }
                Ok(Some(BusEvent::LinkUp)) => {}
                Ok(None) | Err(_) => bail!(
                    "the broker did not return this session's sync message on {} within {:?}; \
                     check that this login may publish and subscribe to it (the broker's ACL)",
                    self.barrier_topic,
                    self.timeout
                ),
            }
        }
    }

    pub(crate) fn try_publish(
        &self,
        topic: &str,
        qos: QoS,
        retain: bool,
        payload: Vec<u8>,
    ) -> Result<()> {
        self.client
            .try_publish(topic.to_owned(), qos, retain, payload)
            .map_err(|error| anyhow!("cannot send to the broker: {error}"))
    }

    /// Publishes retained and waits for the broker's echo, handing every message on the
    /// way to `apply`; `apply` refusing our own message (with its reason) is an error,
    /// because every node would ignore it too.
    pub(crate) async fn publish_retained(
        &mut self,
        topic: &str,
        payload: Vec<u8>,
        mut apply: impl FnMut(&str, &[u8]) -> std::result::Result<(), String>,
    ) -> Result<()> {
        self.try_publish(topic, QoS::AtLeastOnce, true, payload.clone())?;
        let deadline = Instant::now() + self.timeout;
        loop {
            match timeout_at(deadline, self.events.recv()).await {
                Ok(Some(BusEvent::Message { topic: got, payload: body, .. })) => {
                    let ours = got == topic && body.as_ref() == payload.as_slice();
                    match apply(&got, &body) {
                        Ok(()) if ours => return Ok(()),
                        Err(reason) if ours => bail!(
                            "the broker took the message but every node would ignore it: {reason}"
                        ),
                        _ => {}
                    }
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => bail!(
                    "the broker did not confirm the message within {:?}; check that this client may publish to {topic}",
                    self.timeout
                ),
            }
        }
    }

    /// The next message (barrier echoes skipped) or link change; `None` when `until`
    /// passes.
    pub(crate) async fn next_event(&mut self, until: Instant) -> Option<LinkEvent> {
        loop {
            match timeout_at(until, self.events.recv()).await {
                Ok(Some(BusEvent::Message { topic, payload, .. })) => {
                    if topic != self.barrier_topic {
                        return Some(LinkEvent::Message { topic, payload });
                    }
                }
                Ok(Some(BusEvent::LinkDown { reason })) => return Some(LinkEvent::Lost(reason)),
                Ok(Some(BusEvent::LinkUp)) => return Some(LinkEvent::Back),
                Ok(None) | Err(_) => return None,
            }
        }
    }

    pub(crate) async fn close(self) {
        let Self {
            client,
            events,
            trigger,
            task,
            ..
        } = self;
        // Unread events must not hold the connection worker while it says goodbye.
        drop(events);
        // Stop first, then say goodbye: a worker on another thread that saw the DISCONNECT
        // before the stop would take the broker's closing of the link for a failure.
        trigger.trigger();
        let _ = client.try_disconnect();
        let _ = tokio::time::timeout(Duration::from_secs(3), task).await;
    }
}
