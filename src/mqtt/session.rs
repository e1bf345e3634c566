//! The one factory of MQTT sessions: client id, last will, subscriptions (always with the
//! session's own sync-barrier topic), reconnect backoff and the link watchdog, from a
//! broker section. Every node worker (status, vouchers, console, detector) and the
//! one-shot client get their session here, so they connect, subscribe and read the
//! retained set alike.

use super::backoff::Backoff;
use super::barrier::SyncBarrier;
use super::connection::{spawn_connection, Connection, ConnectionSettings, Subscription};
use super::options::{client_options, ClientIdentity, Will};
use crate::config::BrokerSection;
use crate::protocol::{Identifier, Topic};
use crate::shutdown::Shutdown;
use anyhow::{Context, Result};
use rumqttc::QoS;
use std::path::Path;
use std::time::Duration;

/// What a session is: who connects, what it hears, what the broker says if it vanishes.
pub struct SessionSpec {
    pub client_id: String,
    /// For log lines and metrics: which node or tool this session belongs to.
    pub label: String,
    /// Topic filters besides the barrier topic.
    pub filters: Vec<String>,
    /// The session's private sync-barrier topic, named after its client id so a broker
    /// ACL reserves it with `%c`.
    pub barrier_topic: String,
    pub last_will: Option<Will>,
    /// Keep the broker session across reconnects (QoS 1 redelivery of voucher events).
    pub persistent: bool,
    /// Acknowledge publishes only when the consumer says so (after its durable write).
    pub manual_acks: bool,
    pub backoff: Backoff,
}

impl SessionSpec {
    /// A node's session: client id `raincheck-{venue}-{node}` for its status session
    /// (`purpose` None) or `raincheck-{venue}-{node}-{purpose}` for a worker's own, with the
    /// reconnect backoff of the broker section.
    pub fn for_node(
        broker: &BrokerSection,
        venue: &Identifier,
        node: &Identifier,
        purpose: Option<&str>,
        filters: Vec<String>,
    ) -> Self {
        let (client_id, label) = match purpose {
            None => (format!("raincheck-{venue}-{node}"), node.to_string()),
            Some(purpose) => (
                format!("raincheck-{venue}-{node}-{purpose}"),
                format!("{node}-{purpose}"),
            ),
        };
        Self {
            barrier_topic: Topic::sync_barrier(venue, &client_id),
            client_id,
            label,
            filters,
            last_will: None,
            persistent: false,
            manual_acks: false,
            backoff: Backoff::new(
                Duration::from_millis(u64::from(broker.reconnect_min_ms)),
                Duration::from_millis(u64::from(broker.reconnect_max_ms)),
            ),
        }
    }
}

/// A running session: its connection, and its sync barrier (not yet started).
pub struct Session {
    pub connection: Connection,
    pub barrier: SyncBarrier,
}

/// Starts the session's connection worker; `config_dir` anchors the broker's files.
pub fn spawn_session(
    broker: &BrokerSection,
    config_dir: &Path,
    spec: SessionSpec,
    shutdown: Shutdown,
) -> Result<Session> {
    let identity = ClientIdentity {
        client_id: spec.client_id,
        last_will: spec.last_will,
        persistent_session: spec.persistent,
    };
    let options = client_options(broker, identity, config_dir).context("broker settings")?;
    let subscriptions = spec
        .filters
        .into_iter()
        .chain([spec.barrier_topic.clone()])
        .map(|filter| Subscription {
            filter,
            qos: QoS::AtLeastOnce,
        })
        .collect();
    let settings = ConnectionSettings {
        subscriptions,
        backoff: spec.backoff,
        watchdog: Duration::from_secs(u64::from(broker.watchdog_secs)),
        label: spec.label,
        manual_acks: spec.manual_acks,
    };
    Ok(Session {
        connection: spawn_connection(options, settings, shutdown),
        barrier: SyncBarrier::new(spec.barrier_topic),
    })
}
