//! Starting a node: embedded broker if configured, the MQTT connection worker, the status
//! worker, signal handling, and an orderly stop that waits for every worker under a
//! timeout. [`start_node`] is also what tests and the switch benchmark use to run many
//! real display nodes inside one process.

use super::presentation::Presentation;
use super::status_worker::{now, NodeIdentity, StatusWorker};
use crate::config::{BrokerMode, NodeConfig, Role};
use crate::mqtt::backoff::Backoff;
use crate::mqtt::connection::ConnectionSettings;
use crate::mqtt::{client_options, spawn_connection, ClientIdentity, Subscription};
use crate::protocol::{Topic, TopicKind};
use crate::screen::window::{run_window, ScreenExit, ScreenSetup};
use crate::shutdown::{shutdown_pair, Shutdown};
use crate::voucher::sync::{counter_channel, CounterHandle, VoucherMarks, VoucherWorker};
use anyhow::{Context, Result};
use rumqttc::QoS;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// How long a stopping node waits for its workers before giving up on them.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// A started node's outputs and workers.
pub struct NodeHandle {
    /// What the node shows; the UI and tests watch it.
    pub presentation: watch::Receiver<Presentation>,
    /// The node's MQTT client, for edge workers that publish (thumbnails).
    pub client: rumqttc::AsyncClient,
    pub identity: NodeIdentity,
    /// The voucher worker, on counters (and consoles with a `[counter]` section).
    pub counter: Option<CounterHandle>,
    /// Where the console listens, on nodes with the `console` role.
    pub console: Option<std::net::SocketAddr>,
    workers: Vec<JoinHandle<()>>,
}

impl NodeHandle {
    /// Waits for every worker after shutdown was triggered, up to the stop timeout.
    pub async fn join(self) {
        let all = futures_join(self.workers);
        if tokio::time::timeout(STOP_TIMEOUT, all).await.is_err() {
            tracing::warn!("some workers did not stop within {STOP_TIMEOUT:?}; exiting anyway");
        }
    }
}

async fn futures_join(workers: Vec<JoinHandle<()>>) {
    for worker in workers {
        let _ = worker.await;
    }
}

/// Starts the workers of one node on the current tokio runtime.
pub fn start_node(
    config: &NodeConfig,
    config_dir: &Path,
    shutdown: Shutdown,
) -> Result<NodeHandle> {
    let shutdown_for_vouchers = shutdown.clone();
    let identity = NodeIdentity {
        venue: config.node.venue.clone(),
        node: config.node.id.clone(),
        name: config.node.name.clone(),
        roles: config
            .node
            .roles
            .iter()
            .map(|r| r.as_str().to_owned())
            .collect(),
    };
    let client_identity = ClientIdentity {
        client_id: identity.client_id(),
        last_will: Some((identity.display_topic(), identity.offline_payload())),
        persistent_session: false,
    };
    let options =
        client_options(&config.broker, client_identity, config_dir).context("broker settings")?;
    let filters = Topic::view_filters(&identity.venue)
        .into_iter()
        .chain([identity.sync_topic()]);
    let settings = connection_settings(config, filters, identity.node.to_string(), false);
    let connection = spawn_connection(options, settings, shutdown.clone());
    let (presentation_tx, presentation) = watch::channel(Presentation::booting(now()));
    let client = connection.client.clone();
    let status = StatusWorker {
        identity: identity.clone(),
        client: connection.client,
        events: connection.events,
        presentation: presentation_tx,
        shutdown,
    };
    let status_task = tokio::spawn(status.run());
    let mut workers = vec![status_task, connection.task];
    // A console with the venue's [counter] section keeps a replica of every voucher.
    let keeps_vouchers = config.has_role(Role::Counter) || config.has_role(Role::Console);
    let counter = match config.counter.as_ref().filter(|_| keeps_vouchers) {
        None => None,
        Some(section) => {
            let (handle, voucher_workers) =
                start_voucher_worker(config, section, config_dir, shutdown_for_vouchers.clone())?;
            workers.extend(voucher_workers);
            Some(handle)
        }
    };
    if let Some(address) = config.metrics.listen {
        workers.push(
            crate::metrics::serve(address, shutdown_for_vouchers.clone()).context("metrics")?,
        );
    }
    if config.has_role(Role::Detector) {
        let detector =
            crate::detection::start_detector(config, config_dir, shutdown_for_vouchers.clone())
                .context("detector")?;
        workers.extend(detector);
    }
    if let (Some(handle), Some(address)) = (
        counter.clone().filter(|_| config.has_role(Role::Counter)),
        config.counter.as_ref().and_then(|c| c.api_listen),
    ) {
        let router = crate::voucher::api::router(handle);
        let api = crate::local_http::serve(
            address,
            router,
            shutdown_for_vouchers.clone(),
            "the counter API",
            "counter.api_listen",
        )?;
        workers.push(api);
    }
    let mut console = None;
    if config.has_role(Role::Console) {
        let started = crate::console::start_console(
            config,
            config_dir,
            counter.clone(),
            shutdown_for_vouchers,
        )
        .context("console")?;
        console = Some(started.address);
        workers.extend(started.workers);
    }
    Ok(NodeHandle {
        presentation,
        client,
        identity,
        counter,
        console,
        workers,
    })
}

/// Connection settings from the node's broker section: QoS 1 subscriptions to `filters`.
pub(crate) fn connection_settings(
    config: &NodeConfig,
    filters: impl IntoIterator<Item = String>,
    label: String,
    manual_acks: bool,
) -> ConnectionSettings {
    ConnectionSettings {
        subscriptions: filters
            .into_iter()
            .map(|filter| Subscription {
                filter,
                qos: QoS::AtLeastOnce,
            })
            .collect(),
        backoff: Backoff::new(
            Duration::from_millis(u64::from(config.broker.reconnect_min_ms)),
            Duration::from_millis(u64::from(config.broker.reconnect_max_ms)),
        ),
        watchdog: Duration::from_secs(u64::from(config.broker.watchdog_secs)),
        label,
        manual_acks,
    }
}

/// A node's extra MQTT session for one worker (the console, the detector): client id
/// `raincheck-{venue}-{node}-{purpose}`, no last will, subscribed to `filters` and to its
/// own sync-barrier topic, which is returned with the connection.
pub(crate) fn spawn_worker_session(
    config: &NodeConfig,
    config_dir: &Path,
    purpose: &str,
    filters: Vec<String>,
    shutdown: Shutdown,
) -> Result<(crate::mqtt::Connection, String)> {
    let client_id = format!(
        "raincheck-{}-{}-{purpose}",
        config.node.venue, config.node.id
    );
    let barrier_topic = Topic::sync_barrier(&config.node.venue, &client_id);
    let identity = ClientIdentity {
        client_id,
        last_will: None,
        persistent_session: false,
    };
    let options =
        client_options(&config.broker, identity, config_dir).context("broker settings")?;
    let filters = filters.into_iter().chain([barrier_topic.clone()]);
    let label = format!("{}-{purpose}", config.node.id);
    let settings = connection_settings(config, filters, label, false);
    Ok((spawn_connection(options, settings, shutdown), barrier_topic))
}

/// Opens the counter's store and starts its voucher worker on its own MQTT session
/// (persistent, manual acks: an event is acknowledged only once it is on disk).
fn start_voucher_worker(
    config: &NodeConfig,
    section: &crate::config::CounterSection,
    config_dir: &Path,
    shutdown: Shutdown,
) -> Result<(CounterHandle, Vec<JoinHandle<()>>)> {
    let store = crate::voucher::open::open_store(config, config_dir).context("voucher store")?;
    let venue = config.node.venue.clone();
    let marks_topic = Topic::venue(&venue, TopicKind::VoucherMarks, &config.node.id).to_string();
    let offline_marks =
        serde_json::to_vec(&VoucherMarks::offline(&config.node.id)).unwrap_or_default();
    let client_id = format!("raincheck-{venue}-{}-vouchers", config.node.id);
    let identity = ClientIdentity {
        client_id: client_id.clone(),
        last_will: Some((marks_topic, offline_marks)),
        persistent_session: true,
    };
    let options =
        client_options(&config.broker, identity, config_dir).context("broker settings")?;
    // Named after the client id, so a broker ACL reserves it with `%c`.
    let sync_topic = Topic::sync_barrier(&venue, &client_id);
    let filters = Topic::voucher_filters(&venue)
        .into_iter()
        .chain([sync_topic.clone()]);
    // rumqttd drops the connection on an acknowledgement it considers out of order
    // ("unsolicited ack"), so with the embedded broker the client acknowledges on receipt;
    // a single box has no other terminal to lose events from, and the watermark replay
    // repairs anything missed.
    let manual_acks = config.broker.mode != BrokerMode::Embedded;
    let settings = connection_settings(
        config,
        filters,
        format!("{}-vouchers", config.node.id),
        manual_acks,
    );
    let connection = spawn_connection(options, settings, shutdown.clone());
    let (handle, requests) = counter_channel();
    let worker = VoucherWorker {
        store: Arc::new(store),
        sync_topic,
        peers: std::collections::HashMap::new(),
        store_behind: false,
        unreadable: std::collections::VecDeque::new(),
        node: config.node.id.clone(),
        venue,
        counter: section.clone(),
        client: connection.client,
        events: connection.events,
        requests,
        shutdown,
        rejects: crate::node::reject_log::RejectLog::new(Duration::from_secs(10)),
    };
    Ok((handle, vec![tokio::spawn(worker.run()), connection.task]))
}

/// `raincheck run`: the whole node until SIGTERM or Ctrl-C. A signage node gives the
/// main thread to its window; without a display it carries on headless.
pub fn run_daemon(config: NodeConfig, config_dir: &Path) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("raincheck-worker")
        .enable_all()
        .build()
        .context("start the async runtime")?;
    if config.broker.mode == BrokerMode::Embedded {
        crate::broker::start_embedded_broker(config.broker.listen)?;
    }
    let (trigger, shutdown) = shutdown_pair();
    let trigger = Arc::new(trigger);
    let mut node = runtime.block_on(async { start_node(&config, config_dir, shutdown.clone()) })?;
    tracing::info!(venue = %config.node.venue, node = %config.node.id, roles = ?config.node.roles, "node started");
    super::systemd::notify("READY=1");
    if let Some(period) = super::systemd::watchdog_period() {
        node.workers
            .push(runtime.spawn(super::systemd::run_watchdog(period, shutdown.clone())));
    }
    let signal_trigger = trigger.clone();
    runtime.spawn(async move {
        wait_for_stop_signal().await;
        tracing::info!("stopping");
        signal_trigger.trigger();
    });
    // A console's voucher replica is not a counter: only the counter role gets the panel.
    let counter_panel = node
        .counter
        .clone()
        .filter(|_| config.has_role(Role::Counter));
    if config.has_role(Role::Signage) || counter_panel.is_some() {
        let mut thumbnails = None;
        if config.display.thumbnails {
            let (sender, task) = spawn_thumbnail_publisher(&runtime, &node, shutdown.clone());
            node.workers.push(task);
            thumbnails = Some(sender);
        }
        let setup = ScreenSetup {
            config: config.clone(),
            presentation: node.presentation.clone(),
            runtime: runtime.handle().clone(),
            thumbnails,
            counter: counter_panel,
            shutdown: shutdown.clone(),
        };
        match run_window(setup) {
            ScreenExit::Closed => tracing::info!("screen closed"),
            ScreenExit::Unavailable(reason) => {
                tracing::info!(
                    "no display available ({reason}); running headless: the view is computed and reported, not drawn"
                );
            }
        }
    }
    runtime.block_on(async {
        let mut shutdown = shutdown;
        shutdown.wait().await;
    });
    super::systemd::notify("STOPPING=1");
    trigger.trigger();
    runtime.block_on(node.join());
    Ok(())
}

/// Publishes thumbnails from the UI thread, retained, one topic per node.
fn spawn_thumbnail_publisher(
    runtime: &tokio::runtime::Runtime,
    node: &NodeHandle,
    mut shutdown: Shutdown,
) -> (mpsc::Sender<Vec<u8>>, JoinHandle<()>) {
    let (sender, mut receiver) = mpsc::channel::<Vec<u8>>(2);
    let client = node.client.clone();
    let topic = Topic::venue(
        &node.identity.venue,
        TopicKind::Thumbnails,
        &node.identity.node,
    )
    .to_string();
    let task = runtime.spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.wait() => break,
                png = receiver.recv() => match png {
                    None => break,
                    Some(png) => {
                        if client.try_publish(topic.clone(), QoS::AtMostOnce, true, png).is_err() {
                            tracing::debug!("thumbnail skipped: the MQTT request queue is full");
                        }
                    }
                },
            }
        }
    });
    (sender, task)
}

/// SIGTERM (systemd) or SIGINT (Ctrl-C).
pub async fn wait_for_stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(error) => {
            tracing::warn!("cannot listen for SIGTERM ({error}); stopping on Ctrl-C only");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
