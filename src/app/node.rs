//! Starting one node's workers from its config: the status session and worker, and by
//! role the voucher worker on its own session (counters, consoles with a `[counter]`
//! section), the counter API, the metrics endpoint, the detector and the console.
//! [`start_node`] is also what tests and the benchmarks use to run many real display
//! nodes inside one process.

use crate::config::{BrokerMode, CounterSection, NodeConfig, Role, ScreenBackend};
use crate::health::{Flag, Health, Needs};
use crate::model::{Drawing, Presentation};
use crate::mqtt::{spawn_session, SessionSpec, Will};
use crate::protocol::{encode, Topic, TopicKind, VoucherMarks};
use crate::shutdown::Shutdown;
use crate::status::{NodeIdentity, StatusWorker};
use crate::voucher::override_audit::TillAudit;
use crate::voucher::{CounterHandle, VoucherWorker};
use anyhow::{Context, Result};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long a stopping node waits for its workers before giving up on them.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// A started node's outputs and workers.
pub struct NodeHandle {
    /// What the node shows; the UI and tests watch it.
    pub presentation: watch::Receiver<Presentation>,
    /// What the node's screen drew; the window records its frames here (the report's
    /// proof). Already settled for nodes that draw offscreen or not at all.
    pub drawing: watch::Sender<Drawing>,
    /// How this node draws.
    pub screen: ScreenPlan,
    /// The node's status MQTT client, for edge workers that publish (thumbnails).
    pub client: rumqttc::AsyncClient,
    pub identity: NodeIdentity,
    /// The voucher worker, on counters (and consoles with a `[counter]` section).
    pub counter: Option<CounterHandle>,
    /// Where the console listens, on nodes with the `console` role.
    pub console: Option<std::net::SocketAddr>,
    /// Where the LAN listener listens, when the config has `[lan]`.
    pub lan: Option<std::net::SocketAddr>,
    /// Whether the node is synced and (counters) serving, as `/healthz` tells it.
    pub health: Health,
    pub(super) workers: Vec<JoinHandle<()>>,
}

impl NodeHandle {
    /// Waits for every worker after shutdown was triggered, up to the stop timeout.
    pub async fn join(self) {
        let all = async {
            for worker in self.workers {
                let _ = worker.await;
            }
        };
        if tokio::time::timeout(STOP_TIMEOUT, all).await.is_err() {
            tracing::warn!("some workers did not stop within {STOP_TIMEOUT:?}; exiting anyway");
        }
    }
}

/// How a node draws what it is told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScreenPlan {
    /// A real window (signage, counter panel), opened by `raincheck run` on its main thread.
    Window,
    /// Rendered in memory by the offscreen backend.
    Offscreen,
    /// Nothing is drawn, and why.
    Nothing(String),
}

impl ScreenPlan {
    pub fn of(config: &NodeConfig) -> Self {
        if !config.has_role(Role::Signage) && !config.has_role(Role::Counter) {
            return ScreenPlan::Nothing("no screen: neither a signage nor a counter node".into());
        }
        match config.display.backend {
            ScreenBackend::Headless => {
                ScreenPlan::Nothing("display.backend is \"headless\"".into())
            }
            ScreenBackend::Offscreen => ScreenPlan::Offscreen,
            backend if !backend.is_built_in() => ScreenPlan::Nothing(
                "display.backend is \"kms\" but this build has no KMS support".into(),
            ),
            ScreenBackend::Auto | ScreenBackend::Winit | ScreenBackend::Kms => ScreenPlan::Window,
        }
    }
}

/// Starts the workers of one node on the current tokio runtime.
pub fn start_node(
    config: &NodeConfig,
    config_dir: &Path,
    shutdown: Shutdown,
) -> Result<NodeHandle> {
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
    let mut spec = SessionSpec::for_node(
        &config.broker,
        &identity.venue,
        &identity.node,
        None,
        Topic::view_filters(&identity.venue),
    );
    spec.last_will = Some(Will {
        topic: identity.display_topic(),
        payload: identity.offline_payload(),
        retain: true,
    });
    let session = spawn_session(&config.broker, config_dir, spec, shutdown.clone())?;
    let screen = ScreenPlan::of(config);
    // A screen shows the view it last knew until the broker's state is read.
    let memory = (!matches!(screen, ScreenPlan::Nothing(_)))
        .then(|| crate::status::memory::memory_path(&config.node.data_dir));
    let now = crate::status::worker::now();
    let start = match memory.as_deref().and_then(crate::status::memory::load) {
        Some(view) => Presentation::restored(view, now, now),
        None => Presentation::booting(now),
    };
    let (presentation_tx, presentation) = watch::channel(start);
    let client = session.connection.client.clone();
    let (drawing_tx, drawing) = watch::channel(Drawing::Pending);
    let mut health = Health::default();
    let status = StatusWorker {
        identity: identity.clone(),
        client: session.connection.client,
        events: session.connection.events,
        barrier: session.barrier,
        synced: health.synced.clone(),
        presentation: presentation_tx,
        drawing,
        memory,
        shutdown: shutdown.clone(),
    };
    let mut workers = vec![tokio::spawn(status.run()), session.connection.task];
    match &screen {
        ScreenPlan::Nothing(reason) => {
            drawing_tx.send_replace(Drawing::Nothing {
                reason: reason.clone(),
            });
        }
        ScreenPlan::Offscreen => {
            workers.push(crate::screen::offscreen_backend::spawn_offscreen_drawer(
                config,
                presentation.clone(),
                drawing_tx.clone(),
                shutdown.clone(),
            ))
        }
        ScreenPlan::Window => {}
    }
    // A console with the venue's [counter] section keeps a replica of every voucher.
    let keeps_vouchers = config.has_role(Role::Counter) || config.has_role(Role::Console);
    // One audit log per node, for what managers do at its till and on its console.
    let audit = match keeps_vouchers {
        false => None,
        true => Some(Arc::new(
            crate::audit::AuditLog::open(&config.node.data_dir).with_context(|| {
                format!(
                    "open the audit log in {}; check that the data directory is writable",
                    config.node.data_dir.display()
                )
            })?,
        )),
    };
    let counter = match config.counter.as_ref().filter(|_| keeps_vouchers) {
        None => None,
        Some(section) => {
            let serving = Flag::default();
            health.serving = Some(serving.clone());
            let (handle, voucher_workers) = start_voucher_worker(
                config,
                section,
                config_dir,
                serving,
                audit.clone(),
                shutdown.clone(),
            )?;
            workers.extend(voucher_workers);
            Some(handle)
        }
    };
    if let Some(address) = config.metrics.listen {
        workers.push(
            crate::metrics::serve(address, health.clone(), shutdown.clone()).context("metrics")?,
        );
    }
    if is_keeper(config) {
        workers.extend(start_keeper(config, config_dir, shutdown.clone())?);
    }
    let mut lan_reports = None;
    if config.has_role(Role::Detector) {
        let detector = crate::detection::start_detector(config, config_dir, shutdown.clone())
            .context("detector")?;
        workers.extend(detector.workers);
        lan_reports = detector.lan_reports;
    }
    if let (Some(handle), Some((address, section))) = (
        counter.clone().filter(|_| config.has_role(Role::Counter)),
        config
            .counter
            .as_ref()
            .and_then(|c| c.api_listen.map(|address| (address, c))),
    ) {
        let router = crate::voucher::api::router(handle, &section.offers)
            .merge(health.route(Needs::Serving));
        let api = crate::local_http::serve(
            address,
            router,
            shutdown.clone(),
            "the counter API",
            "counter.api_listen",
        )?;
        workers.push(api);
    }
    let mut lan = None;
    if let Some(section) = &config.lan {
        let parts = crate::lan::LanParts {
            reports: lan_reports,
            counter: counter.clone().filter(|_| config.has_role(Role::Counter)),
            presentation: presentation.clone(),
            health: health.clone(),
        };
        let started = crate::lan::start_lan(config, section, config_dir, parts, shutdown.clone())
            .context("LAN listener")?;
        lan = Some(started.address);
        workers.push(started.worker);
    }
    let mut console = None;
    if config.has_role(Role::Console) {
        let started = crate::console::start_console(
            config,
            config_dir,
            counter.clone(),
            audit.expect("a console node keeps an audit log (opened above)"),
            health.clone(),
            shutdown,
        )
        .context("console")?;
        console = Some(started.address);
        workers.extend(started.workers);
    }
    Ok(NodeHandle {
        presentation,
        drawing: drawing_tx,
        screen,
        client,
        identity,
        counter,
        console,
        lan,
        health,
        workers,
    })
}

/// The long-running declaring nodes, and the single box whose broker is its own, keep
/// the venue's retained set (docs/PROTOCOL.md, "Keepers").
pub fn is_keeper(config: &NodeConfig) -> bool {
    config.has_role(Role::Console)
        || config.has_role(Role::Detector)
        || config.broker.mode == BrokerMode::Embedded
}

/// Starts the keeper on its own session, with the winners its file kept.
fn start_keeper(
    config: &NodeConfig,
    config_dir: &Path,
    shutdown: Shutdown,
) -> Result<Vec<JoinHandle<()>>> {
    let venue = &config.node.venue;
    let file = crate::keeper::kept_path(&config.node.data_dir);
    let restored = crate::keeper::load(&file, venue).unwrap_or_else(|error| {
        tracing::warn!("{error:#}; starting without the kept retained set");
        Vec::new()
    });
    let spec = SessionSpec::for_node(
        &config.broker,
        venue,
        &config.node.id,
        Some("keeper"),
        Topic::kept_filters(venue),
    );
    let session = spawn_session(&config.broker, config_dir, spec, shutdown.clone())
        .context("keeper session")?;
    let worker = crate::keeper::KeeperWorker {
        venue: venue.clone(),
        client: session.connection.client,
        events: session.connection.events,
        barrier: session.barrier,
        restored,
        file,
        shutdown,
    };
    Ok(vec![tokio::spawn(worker.run()), session.connection.task])
}

/// Opens the counter's store and starts its voucher worker on its own MQTT session
/// (persistent, manual acks: an event is acknowledged only once it is on disk).
fn start_voucher_worker(
    config: &NodeConfig,
    section: &CounterSection,
    config_dir: &Path,
    serving: Flag,
    audit: Option<Arc<crate::audit::AuditLog>>,
    shutdown: Shutdown,
) -> Result<(CounterHandle, Vec<JoinHandle<()>>)> {
    let store = crate::voucher::open::open_store(config, config_dir).context("voucher store")?;
    let venue = &config.node.venue;
    let node = &config.node.id;
    let mut spec = SessionSpec::for_node(
        &config.broker,
        venue,
        node,
        Some("vouchers"),
        Topic::voucher_filters(venue),
    );
    let marks_topic = Topic::venue(venue, TopicKind::VoucherMarks, node).to_string();
    // Not retained: peers listening learn the counter vanished, while the retained copy
    // keeps its last marks, which a store restored from an old backup must meet.
    spec.last_will = Some(Will {
        topic: marks_topic,
        payload: encode(&VoucherMarks::offline(node)),
        retain: false,
    });
    spec.persistent = true;
    // rumqttd drops the connection on an acknowledgement it considers out of order
    // ("unsolicited ack"), so with the embedded broker the client acknowledges on receipt;
    // a single box has no other terminal to lose events from, and the watermark replay
    // repairs anything missed.
    spec.manual_acks = config.broker.mode != BrokerMode::Embedded;
    let session = spawn_session(&config.broker, config_dir, spec, shutdown.clone())?;
    let task = session.connection.task;
    let (handle, worker) = VoucherWorker::new(
        Arc::new(store),
        node.clone(),
        venue.clone(),
        section.clone(),
        session.connection.client,
        session.connection.events,
        session.barrier,
        serving,
        audit.map(|log| {
            TillAudit::new(
                log,
                node,
                config.node.name.as_deref(),
                config.has_role(Role::Console),
            )
        }),
        shutdown,
    );
    Ok((handle, vec![tokio::spawn(worker.run()), task]))
}
