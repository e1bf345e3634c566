//! The web counter (`[lan.web_counter]`): the counter screen as a page at `/counter` for
//! tills, tablets and phones that can only run a browser. (Being built.)

use crate::config::{NodeConfig, WebCounterSection};
use crate::model::Presentation;
use crate::voucher::CounterHandle;
use axum::Router;
use tokio::sync::watch;

/// What the web counter is built from.
pub struct WebCounterParts {
    pub config: NodeConfig,
    pub section: WebCounterSection,
    /// This till's voucher worker: the same answers and durability as the screen.
    pub counter: CounterHandle,
    /// What the node's screens show, for the page's banner.
    pub presentation: watch::Receiver<Presentation>,
    /// Whether the listener is HTTPS (the session cookie is `Secure` then).
    pub tls: bool,
}

/// The web counter's routes.
pub fn router(parts: WebCounterParts) -> Router {
    let _ = parts;
    Router::new()
}
