//! The connection under a one-shot session: a session from the one factory
//! (`mqtt::session`), its events, and its sync barrier, with the waits a short-lived
//! command needs — connected, synced, our own publish echoed back — each bounded by the
//! target's timeout. What the messages mean is the session's business ([`BusSession`]
//! for a venue, [`ChainSession`] for head office).
//!
//! [`BusSession`]: super::BusSession
//! [`ChainSession`]: super::ChainSession

use super::target::BrokerTarget;
use crate::mqtt::backoff::Backoff;
use crate::mqtt::{spawn_session, BusEvent, Echo, SessionSpec, SyncBarrier};
use crate::shutdown::{shutdown_pair, ShutdownTrigger};
use anyhow::{anyhow, bail, Result};
use bytes::Bytes;
use rand::Rng;
use rumqttc::{AsyncClient, QoS};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{timeout_at, Instant};

pub struct Link {
    client: AsyncClient,
    events: mpsc::Receiver<BusEvent>,
    barrier: SyncBarrier,
    trigger: ShutdownTrigger,
    task: JoinHandle<()>,
    timeout: Duration,
    address: String,
}

pub enum LinkEvent {
    Message { topic: String, payload: Bytes },
    Lost(String),
    Back,
}

impl Link {
    /// Connects to `target`'s broker, subscribes to `filters` and the barrier topic
    /// `barrier(client_id)`, and waits for the broker's acceptance (not yet for the
    /// retained set: see [`Link::sync`]).
    pub async fn open(
        target: &BrokerTarget,
        label: &str,
        filters: Vec<String>,
        barrier: impl FnOnce(&str) -> String,
    ) -> Result<Self> {
        let suffix: u32 = rand::thread_rng().gen();
        let client_id = format!("raincheck-{label}-{}-{suffix:08x}", std::process::id());
        let spec = SessionSpec {
            barrier_topic: barrier(&client_id),
            client_id,
            label: label.to_owned(),
            filters,
            last_will: None,
            persistent: false,
            manual_acks: false,
            backoff: Backoff::new(Duration::from_millis(100), Duration::from_millis(1000)),
        };
        let (trigger, shutdown) = shutdown_pair();
        let session = spawn_session(&target.section, &target.config_dir, spec, shutdown)?;
        let mut link = Self {
            client: session.connection.client,
            events: session.connection.events,
            barrier: session.barrier,
            trigger,
            task: session.connection.task,
            timeout: target.timeout,
            address: target.section.connect_url().to_string(),
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

    /// Publishes the barrier token and hands every message up to its echo to `apply`:
    /// then every retained message subscribed to has arrived.
    pub async fn sync(&mut self, mut apply: impl FnMut(&str, &[u8])) -> Result<()> {
        self.barrier.start(&self.client);
        let deadline = Instant::now() + self.timeout;
        loop {
            let event = tokio::select! {
                event = timeout_at(deadline, self.events.recv()) => event,
                _ = crate::deadline::sleep_until(self.barrier.retry_at()) => {
                    self.barrier.send_if_due(&self.client);
                    continue;
                }
            };
            match event {
                Ok(Some(BusEvent::Message { topic, payload, .. })) => {
                    match self.barrier.check(&topic, &payload) {
                        Echo::Reached => return Ok(()),
                        Echo::Ignored => {}
                        Echo::NotBarrier => apply(&topic, &payload),
                    }
                }
                Ok(Some(BusEvent::LinkDown { reason })) => {
                    bail!("lost the broker while reading the retained state: {reason}")
                }
                Ok(Some(BusEvent::LinkUp)) => {}
                Ok(None) | Err(_) => bail!(
                    "the broker did not return this session's sync message on {} within {:?}; \
                     check that this login may publish and subscribe to it (the broker's ACL)",
                    self.barrier.topic(),
                    self.timeout
                ),
            }
        }
    }

    /// Queues a publish without waiting for the broker.
    pub fn try_publish(&self, topic: &str, qos: QoS, retain: bool, payload: Vec<u8>) -> Result<()> {
        self.client
            .try_publish(topic.to_owned(), qos, retain, payload)
            .map_err(|error| anyhow!("cannot send to the broker: {error}"))
    }

    /// Publishes retained and waits for the broker's echo, handing every message on the
    /// way to `apply`; `apply` refusing our own message (with its reason) is an error,
    /// because every node would ignore it too.
    pub async fn publish_retained(
        &mut self,
        topic: &str,
        payload: Vec<u8>,
        mut apply: impl FnMut(&str, &[u8]) -> std::result::Result<(), String>,
    ) -> Result<()> {
        self.try_publish(topic, QoS::AtLeastOnce, true, payload.clone())?;
        let deadline = Instant::now() + self.timeout;
        loop {
            match timeout_at(deadline, self.events.recv()).await {
                Ok(Some(BusEvent::Message {
                    topic: got,
                    payload: body,
                    ..
                })) => {
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
    /// passes (or never, for `None`).
    pub async fn next_event(&mut self, until: Option<Instant>) -> Option<LinkEvent> {
        loop {
            // What has already arrived is handed out before the deadline counts.
            let event = tokio::select! {
                biased;
                event = self.events.recv() => event,
                _ = crate::deadline::sleep_until(until) => return None,
            };
            match event? {
                BusEvent::Message { topic, payload, .. } => {
                    if self.barrier.check(&topic, &payload) == Echo::NotBarrier {
                        return Some(LinkEvent::Message { topic, payload });
                    }
                }
                BusEvent::LinkDown { reason } => return Some(LinkEvent::Lost(reason)),
                BusEvent::LinkUp => return Some(LinkEvent::Back),
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
        // Stop first, then say goodbye: a worker on another thread that saw the DISCONNECT
        // before the stop would take the broker's closing of the link for a failure.
        trigger.trigger();
        let _ = client.try_disconnect();
        let _ = tokio::time::timeout(Duration::from_secs(3), task).await;
    }
}
