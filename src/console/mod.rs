//! The manager's console (role `console`): an HTTP(S) server on the node's tokio runtime
//! serving the embedded tablet page and the JSON API behind it (docs/CONSOLE.md). Three
//! parts: the bus worker (`bus`) that watches the venue and publishes declarations, the
//! access table (`crate::access`) with sessions and the sign-in throttle, and the routes. The
//! voucher figures come from the node's voucher worker when it has a `[counter]` section.

mod assets;
mod bus;
mod drill;
mod drill_routes;
mod feeds;
mod follow;
mod http;
mod incident_routes;
mod live;
mod override_routes;
pub mod report;
mod report_routes;
mod routes;
mod sign_in;
mod snapshot;
pub mod timeline;
mod voucher_routes;
mod web_screens;
mod web_screens_feed;
mod web_screens_routes;
mod web_screens_worker;
mod webhooks;

pub use crate::access::{check_pin_shape, hash_pin};

/// The source the console declares and drills as (`…/incident/console`, `…/drill/console`).
const CONSOLE_SOURCE: &str = "console";
pub use snapshot::{ConsoleSnapshot, Phase};

use crate::audit::AuditLog;
use crate::config::NodeConfig;
use crate::protocol::Topic;
use crate::shutdown::Shutdown;
use crate::voucher::CounterHandle;
use anyhow::{Context as _, Result};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// A started console: where it listens and its workers.
pub struct ConsoleHandle {
    pub address: SocketAddr,
    pub tls: bool,
    pub workers: Vec<JoinHandle<()>>,
}

/// Binds the console's port and starts its bus worker and server (call inside the
/// runtime). Binding happens here, at start-up, so a port in use is a clear error.
/// `audit` is the node's audit log, shared with its till if it has one.
pub fn start_console(
    config: &NodeConfig,
    config_dir: &Path,
    vouchers: Option<CounterHandle>,
    audit: Arc<AuditLog>,
    health: crate::health::Health,
    shutdown: Shutdown,
) -> Result<ConsoleHandle> {
    let settings = config.console.clone();
    let limits = crate::web_server::ConnectionLimits {
        total: settings.max_connections as usize,
        per_address: settings.max_connections_per_address as usize,
    };
    let tls = match (&settings.tls_cert_file, &settings.tls_key_file) {
        (Some(cert), Some(key)) => Some(crate::web_server::tls_acceptor(
            "console",
            &config_dir.join(cert),
            &config_dir.join(key),
        )?),
        _ => None,
    };
    let listener = std::net::TcpListener::bind(settings.listen).with_context(|| {
        format!(
            "listen on {} for the console; is another program using that port? (console.listen)",
            settings.listen
        )
    })?;
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let address = listener.local_addr()?;

    let venue = config.node.venue.clone();
    let mut filters = Topic::status_filters(&venue);
    filters.push(Topic::thumbnail_filter(&venue));
    let session = crate::mqtt::spawn_session(
        &config.broker,
        config_dir,
        crate::mqtt::SessionSpec::for_node(
            &config.broker,
            &venue,
            &config.node.id,
            Some("console"),
            filters,
        ),
        shutdown.clone(),
    )?;
    let nothing = crate::model::VenueState::default();
    let empty = snapshot::build_snapshot(
        &venue,
        &config.node.venue_name,
        Some(time::OffsetDateTime::now_utc()),
        &nothing,
        &crate::model::Confirmations::of(&nothing),
        &Default::default(),
        time::OffsetDateTime::now_utc(),
    );
    let json = serde_json::to_string(&empty)?;
    let (snapshot_sender, snapshots) = watch::channel(Arc::new(bus::PublishedSnapshot {
        snapshot: empty,
        json,
    }));
    let (requests_sender, requests) = mpsc::channel(64);
    let web_screens =
        web_screens::WebScreens::new(&settings.web_screens, settings.web_streams_per_address);
    let web_worker = web_screens_worker::WebScreensWorker {
        venue: venue.clone(),
        screens: web_screens.clone(),
        settings: web_screens_feed::SignSettings {
            venue_name: config.node.venue_name.clone(),
            display: config.display.clone(),
            texts: config.texts.clone(),
        },
        snapshots: snapshots.clone(),
        client: session.connection.client.clone(),
        shutdown: shutdown.clone(),
    };
    let farewells = web_screens_worker::farewells(&venue, &settings.web_screens);
    let worker = bus::ConsoleBus {
        venue,
        venue_name: config.node.venue_name.clone(),
        // Only the shared texts: wording per language a manager leaves untouched is each
        // screen's own template.
        templates: crate::model::Template {
            texts: config.texts.cash_only.clone(),
            translations: Default::default(),
        },
        barrier: session.barrier,
        client: session.connection.client,
        events: session.connection.events,
        requests,
        snapshots: snapshot_sender,
        shutdown: shutdown.clone(),
        farewells,
    };
    let webhooks =
        webhooks::start_webhooks(config, config_dir, snapshots.clone(), shutdown.clone())?;
    let (webhook_queue, webhook_worker) = webhooks.unzip();
    let feeds = feeds::feeds_state(config, snapshots.clone());
    let snapshots_for_timeline = snapshots.clone();
    let snapshots_for_drills = snapshots.clone();
    let context = Arc::new(http::ConsoleContext {
        venue_name: config.node.venue_name.clone(),
        texts: config.texts.clone(),
        languages: config.display.languages.clone(),
        offers: config
            .counter
            .as_ref()
            .map(|c| c.offers.clone())
            .unwrap_or_default(),
        tls: tls.is_some(),
        access: Mutex::new(crate::access::Access::new(Duration::from_secs(
            u64::from(settings.session_minutes) * 60,
        ))),
        settings,
        audit,
        bus: requests_sender,
        snapshots,
        vouchers,
        webhooks: webhook_queue,
        data_dir: config.node.data_dir.clone(),
        currency: config.counter.as_ref().and_then(|c| c.currency.clone()),
    });
    let timeline = timeline::start_timeline(
        config.node.data_dir.clone(),
        snapshots_for_timeline,
        shutdown.clone(),
    );
    let drills = drill::start_drill_recorder(
        config.node.data_dir.clone(),
        snapshots_for_drills,
        shutdown.clone(),
    );
    let router = routes::router(context.clone())
        .merge(drill_routes::router(context.clone()))
        .merge(report_routes::router(context))
        .merge(web_screens_routes::router(web_screens))
        .merge(feeds::router(feeds))
        .merge(health.route(crate::health::Needs::Everything));
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!("console listening on {scheme}://{address}");
    let has_tls = tls.is_some();
    let server = tokio::spawn(crate::web_server::serve(
        listener, router, tls, limits, shutdown, "console",
    ));
    Ok(ConsoleHandle {
        address,
        tls: has_tls,
        workers: [
            tokio::spawn(worker.run()),
            tokio::spawn(web_worker.run()),
            session.connection.task,
            server,
            timeline,
            drills,
        ]
        .into_iter()
        .chain(webhook_worker)
        .collect(),
    })
}
