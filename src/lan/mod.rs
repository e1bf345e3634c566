//! A node's listener on the venue LAN (`[lan]`, docs/INTEGRATION.md "The LAN listener"):
//! for machines on which nothing can be installed. A POS server on another box reports
//! card authorisations (`/v1/authorisations`, the detector's own routes) and issues and
//! redeems vouchers (`/v1/vouchers`, `/v1/redemptions`: the counter API's own routes,
//! answered by this till's voucher worker) with a client token (`clients`); a till that
//! can only run a browser signs in to the web counter (`web_counter`, `/counter`). One
//! listener, HTTPS when configured, served by `web_server` like the console, so the same
//! connection limits and header timeouts hold. The loopback APIs stay as they are.

mod clients;
pub mod web_counter;

pub use clients::{Caller, REQUEST_TIMEOUT};

use crate::config::{LanPermission, LanSection, NodeConfig};
use crate::health::{Health, Needs};
use crate::model::Presentation;
use crate::shutdown::Shutdown;
use crate::voucher::CounterHandle;
use anyhow::{Context as _, Result};
use axum::http::StatusCode;
use axum::Router;
use clients::{refuse, require, ClientTokens};
use std::net::SocketAddr;
use std::path::Path;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the node hands its LAN listener: each part only when this node has it.
pub struct LanParts {
    /// The detector's POS report routes (`detection::Detector::lan_reports`).
    pub reports: Option<Router>,
    /// This till's voucher worker.
    pub counter: Option<CounterHandle>,
    /// What the node's screens show, for the web counter's banner.
    pub presentation: watch::Receiver<Presentation>,
    pub health: Health,
}

/// A started LAN listener.
pub struct LanHandle {
    pub address: SocketAddr,
    pub tls: bool,
    pub worker: JoinHandle<()>,
}

/// Binds `lan.listen` now (a port in use is a clear error) and serves until `shutdown`.
pub fn start_lan(
    config: &NodeConfig,
    section: &LanSection,
    config_dir: &Path,
    parts: LanParts,
    shutdown: Shutdown,
) -> Result<LanHandle> {
    let tls = match (&section.tls_cert_file, &section.tls_key_file) {
        (Some(cert), Some(key)) => Some(crate::web_server::tls_acceptor(
            "lan",
            &config_dir.join(cert),
            &config_dir.join(key),
        )?),
        _ => None,
    };
    let router = router(config, section, parts, tls.is_some());
    let listener = std::net::TcpListener::bind(section.listen).with_context(|| {
        format!(
            "listen on {} for the LAN listener; is another program using that port? (lan.listen)",
            section.listen
        )
    })?;
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let address = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!("LAN listener on {scheme}://{address}");
    let has_tls = tls.is_some();
    let worker = tokio::spawn(crate::web_server::serve(
        listener,
        router,
        tls,
        crate::web_server::ConnectionLimits::default(),
        shutdown,
        "lan",
    ));
    Ok(LanHandle {
        address,
        tls: has_tls,
        worker,
    })
}

/// Every route the listener serves, each behind what guards it.
fn router(config: &NodeConfig, section: &LanSection, parts: LanParts, tls: bool) -> Router {
    let tokens = ClientTokens::new(section.clients.clone());
    let guarded = |routes: Router, permission: LanPermission| {
        routes.layer(axum::middleware::from_fn_with_state(
            (tokens.clone(), permission),
            require,
        ))
    };
    let mut router = Router::new();
    if let Some(reports) = parts.reports {
        router = router.merge(guarded(reports, LanPermission::Payments));
    }
    let offers = config
        .counter
        .as_ref()
        .map(|counter| counter.offers.clone())
        .unwrap_or_default();
    if let Some(counter) = parts
        .counter
        .clone()
        .filter(|_| section.grants(LanPermission::Vouchers))
    {
        router = router.merge(guarded(
            crate::voucher::api::router(counter, &offers),
            LanPermission::Vouchers,
        ));
    }
    if let (Some(web), Some(counter)) = (&section.web_counter, parts.counter.clone()) {
        router = router.merge(web_counter::router(web_counter::WebCounterParts {
            config: config.clone(),
            section: web.clone(),
            counter,
            presentation: parts.presentation,
            tls,
        }));
    }
    let needs = if parts.counter.is_some() {
        Needs::Serving
    } else {
        Needs::Everything
    };
    router.merge(parts.health.route(needs)).fallback(|| async {
        refuse(
            StatusCode::NOT_FOUND,
            "no such endpoint here; see docs/INTEGRATION.md, \"The LAN listener\"",
        )
    })
}
