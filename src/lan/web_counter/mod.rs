//! The web counter (`[lan.web_counter]`, docs/INTEGRATION.md "The web counter"): the
//! counter screen as a page at `/counter` for tills, tablets and phones that can only run
//! a browser, served on the venue LAN by a counter node that holds the voucher store.
//! Staff sign in with their number and PIN (`sign_in.rs`, guarded like the console by
//! `access`); the page shows the venue status live (`live.rs`, Server-Sent Events),
//! issues, redeems and voids through this till's voucher worker (`vouchers.rs`: answered
//! only after the store flushed), and says everything in the words and languages of the
//! native counter (`words.rs`); `session.rs` is the HTTP plumbing, `assets.rs` the
//! embedded page, `qr.rs` the code's QR as SVG.
//!
//! A web counter works while the LAN works: the browser holds nothing, so a terminal that
//! must issue and redeem with no network runs the native counter instead.

mod assets;
mod live;
mod qr;
mod session;
mod sign_in;
mod vouchers;
mod words;

use crate::access::Access;
use crate::config::{NodeConfig, WebCounterSection};
use crate::model::Presentation;
use crate::voucher::CounterHandle;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use session::WebCounter;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// The largest request body: a code, an offer id or a reason of at most 200 characters,
/// with room to spare.
pub const MAX_BODY: usize = 4096;

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

/// The web counter's routes: the page and its files, and the API under `/counter/api`.
pub fn router(parts: WebCounterParts) -> Router {
    let session_length = Duration::from_secs(u64::from(parts.section.session_minutes) * 60);
    let shared = Arc::new(WebCounter {
        config: parts.config,
        section: parts.section,
        counter: parts.counter,
        presentation: parts.presentation,
        tls: parts.tls,
        access: Mutex::new(Access::new(session_length)),
        streams: live::StreamSlots::default(),
    });
    let calls = Router::new()
        .route("/counter/api/labels", get(live::labels))
        .route("/counter/api/sign-in", post(sign_in::sign_in))
        .route("/counter/api/session", get(sign_in::current))
        .route("/counter/api/sign-out", post(sign_in::sign_out))
        .route("/counter/api/state", get(live::state))
        .route("/counter/api/issue", post(vouchers::issue))
        .route("/counter/api/redeem", post(vouchers::redeem))
        .route("/counter/api/void", post(vouchers::void))
        .route("/counter/api/vouchers/:code", get(vouchers::show))
        .layer(axum::middleware::from_fn(session::bounded));
    // The live stream lasts as long as the page: no request time bound.
    let live = Router::new().route("/counter/api/live", get(live::events));
    calls
        .merge(live)
        .method_not_allowed_fallback(wrong_method)
        .merge(assets::routes())
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(shared)
}

/// A known address called with a method it does not take: a JSON sentence like every
/// other refusal.
async fn wrong_method(method: axum::http::Method) -> session::Refusal {
    session::Refusal::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "this address does not take {method} requests; see docs/INTEGRATION.md, \"The web counter\""
        ),
    )
}
