//! The connection worker: the only task that polls rumqttc's event loop. It reconnects
//! with capped, jittered backoff; re-subscribes on every ConnAck (rumqttc does not);
//! declares the link lost when nothing has arrived for the watchdog period even if TCP
//! looks alive; and forwards publishes as [`BusEvent`]s over a bounded channel. It never
//! awaits a client call: a client request waiting on a full request channel while this
//! task waits on the consumer would deadlock both.

use super::backoff::Backoff;
use crate::shutdown::Shutdown;
use rumqttc::{
    AsyncClient, ConnectReturnCode, Event, EventLoop, MqttOptions, Outgoing, Packet, QoS,
};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{sleep, Instant};

/// What the connection worker tells its consumer.
#[derive(Debug)]
pub enum BusEvent {
    /// Connected (or reconnected) and subscriptions requested: republish own state.
    LinkUp,
    /// The link is gone; the consumer keeps showing the last known state.
    LinkDown { reason: String },
    Message {
        topic: String,
        payload: bytes::Bytes,
        /// With manual acks, the publish to acknowledge once the message is safe.
        ack: Option<AckHandle>,
    },
}

/// A received QoS 1 publish still waiting for its acknowledgement (manual-ack sessions).
#[derive(Debug)]
pub struct AckHandle(pub rumqttc::Publish);

#[derive(Clone, Debug)]
pub struct Subscription {
    pub filter: String,
    pub qos: QoS,
}

/// A running connection: the client to publish with, and the events it produces.
pub struct Connection {
    pub client: AsyncClient,
    pub events: mpsc::Receiver<BusEvent>,
    pub task: JoinHandle<()>,
}

/// How long one connection attempt may take, for the watchdog's allowance.
const CONNECT_ALLOWANCE: Duration = Duration::from_secs(15);
/// How long a graceful shutdown waits for the DISCONNECT to be written.
const DISCONNECT_GRACE: Duration = Duration::from_secs(2);
/// Requests (publishes, acks) the client may queue before `try_*` calls fail.
const REQUEST_CAPACITY: usize = 256;
/// Events buffered towards the consumer before the worker waits for it.
const EVENT_CAPACITY: usize = 1024;

pub struct ConnectionSettings {
    pub subscriptions: Vec<Subscription>,
    pub backoff: Backoff,
    /// Link declared lost after this long without any packet from the broker.
    pub watchdog: Duration,
    /// For log lines: which node or tool this connection belongs to.
    pub label: String,
    /// Acknowledge publishes only when the consumer says so (after its durable write).
    pub manual_acks: bool,
}

pub fn spawn_connection(
    options: MqttOptions,
    settings: ConnectionSettings,
    shutdown: Shutdown,
) -> Connection {
    let (client, mut eventloop) = AsyncClient::new(options, REQUEST_CAPACITY);
    // Status messages are tiny and latency is the product: no Nagle delay.
    let mut network = eventloop.network_options();
    network.set_tcp_nodelay(true);
    eventloop.set_network_options(network);
    let (events_tx, events) = mpsc::channel(EVENT_CAPACITY);
    let worker = ConnectionWorker {
        client: client.clone(),
        eventloop,
        settings,
        events_tx,
        shutdown,
    };
    let task = tokio::spawn(worker.run());
    Connection {
        client,
        events,
        task,
    }
}

struct ConnectionWorker {
    client: AsyncClient,
    eventloop: EventLoop,
    settings: ConnectionSettings,
    events_tx: mpsc::Sender<BusEvent>,
    shutdown: Shutdown,
}

impl ConnectionWorker {
    async fn run(mut self) {
        let label = self.settings.label.clone();
        let mut connected = false;
        let mut subscribe_due = false;
        let mut last_incoming = Instant::now();
        let mut stop_by: Option<Instant> = None;
        // systemd's watchdog is fed only while this loop keeps turning (crate::liveness).
        // Idle, the loop turns at least every keep-alive (under the link watchdog); while
        // reconnecting, every backoff (+50 % jitter) plus a connect attempt.
        let quiet = self
            .settings
            .watchdog
            .max(self.settings.backoff.maximum() * 3 / 2 + CONNECT_ALLOWANCE);
        let heartbeat = crate::liveness::register_with_allowance(format!("mqtt {label}"), quiet);
        loop {
            heartbeat.beat();
            if subscribe_due {
                subscribe_due = !self.request_subscriptions();
            }
            // Only a real watchdog expiry may interrupt a poll: cancelling rumqttc's poll
            // in the middle of a connect leaves a half-open session that the broker then
            // "takes over" when the next attempt uses the same client id.
            let watchdog_at = connected.then(|| last_incoming + self.settings.watchdog);
            tokio::select! {
                _ = self.shutdown.wait(), if stop_by.is_none() => {
                    stop_by = Some(Instant::now() + DISCONNECT_GRACE);
                    if !connected {
                        break;
                    }
                }
                _ = crate::deadline::sleep_until(stop_by) => break,
                _ = crate::deadline::sleep_until(watchdog_at) => {
                    tracing::warn!(connection = %label, "no traffic from the broker for {:?}; reconnecting", self.settings.watchdog);
                    self.eventloop.clean();
                    connected = false;
                    crate::metrics::set("raincheck_mqtt_connected", &[("connection", &label)], 0.0);
                    emit(&self.events_tx, BusEvent::LinkDown { reason: "no traffic from the broker".into() }).await;
                }
                polled = self.eventloop.poll() => match polled {
                    Ok(Event::Incoming(packet)) => {
                        last_incoming = Instant::now();
                        match packet {
                            Packet::ConnAck(ack) if ack.code == ConnectReturnCode::Success => {
                                if self.settings.backoff.failures > 0 {
                                    tracing::info!(connection = %label, "connected to the broker after {} failed attempts", self.settings.backoff.failures);
                                } else {
                                    tracing::debug!(connection = %label, "connected to the broker");
                                }
                                self.settings.backoff.reset();
                                connected = true;
                                crate::metrics::add("raincheck_mqtt_connects_total", &[("connection", &label)], 1.0);
                                crate::metrics::set("raincheck_mqtt_connected", &[("connection", &label)], 1.0);
                                subscribe_due = !self.request_subscriptions();
                                emit(&self.events_tx, BusEvent::LinkUp).await;
                            }
                            Packet::Publish(publish) => {
                                let ack = self.settings.manual_acks.then(|| AckHandle(publish.clone()));
                                emit(&self.events_tx, BusEvent::Message { topic: publish.topic, payload: publish.payload, ack }).await;
                            }
                            _ => {}
                        }
                    }
                    Ok(Event::Outgoing(Outgoing::Disconnect)) if stop_by.is_some() => break,
                    Ok(Event::Outgoing(_)) => {}
                    Err(error) => {
                        // Also the first failure of a streak while never connected, so a
                        // waiting client can say *why* ("connection refused", "not authorised").
                        if connected || self.settings.backoff.failures == 0 {
                            crate::metrics::set("raincheck_mqtt_connected", &[("connection", &label)], 0.0);
                            emit(&self.events_tx, BusEvent::LinkDown { reason: describe(&error) }).await;
                        }
                        connected = false;
                        // Stopping: the broker closing the link is expected, not news. The
                        // signal may not have been seen by the select yet.
                        if stop_by.is_some() || self.shutdown.is_triggered() {
                            break;
                        }
                        let delay = self.settings.backoff.next_delay();
                        if self.settings.backoff.failures == 1 {
                            tracing::warn!(connection = %label, "broker connection failed: {error}; retrying with backoff (further failures logged at debug level)");
                        } else {
                            tracing::debug!(connection = %label, attempt = self.settings.backoff.failures, "broker connection failed: {error}; next try in {delay:?}");
                        }
                        tokio::select! {
                            _ = sleep(delay) => {}
                            _ = self.shutdown.wait() => break,
                        }
                    }
                }
            }
        }
        tracing::debug!(connection = %label, "connection worker stopped");
    }

    /// Asks for every subscription without waiting; false if the request queue is full.
    fn request_subscriptions(&self) -> bool {
        let filters = self
            .settings
            .subscriptions
            .iter()
            .map(|s| rumqttc::SubscribeFilter::new(s.filter.clone(), s.qos));
        if self.settings.subscriptions.is_empty() {
            return true;
        }
        match self.client.try_subscribe_many(filters) {
            Ok(()) => true,
            Err(error) => {
                tracing::debug!("subscription request queued for retry: {error}");
                false
            }
        }
    }
}

/// A connection error in words for operators (rumqttc's Display is terse for refusals).
fn describe(error: &rumqttc::ConnectionError) -> String {
    match error {
        rumqttc::ConnectionError::ConnectionRefused(code) => {
            format!("the broker refused the connection: {code:?}")
        }
        other => other.to_string(),
    }
}

async fn emit(events: &mpsc::Sender<BusEvent>, event: BusEvent) {
    // The consumer only goes away during shutdown; nothing to do then.
    let _ = events.send(event).await;
}
