//! One way to serve a small local HTTP API (the POS reports, the counter API, metrics):
//! bind at start-up so a port in use is a clear error naming the config key, then serve
//! on the runtime until the shutdown signal.

use anyhow::{Context, Result};
use std::net::SocketAddr;
use tokio::task::JoinHandle;

/// Binds `address` now and serves `router` until `shutdown`; `what` names the API in
/// errors and `key` the config setting that chose the address.
pub fn serve(
    address: SocketAddr,
    router: axum::Router,
    mut shutdown: crate::shutdown::Shutdown,
    what: &'static str,
    key: &'static str,
) -> Result<JoinHandle<()>> {
    let listener = std::net::TcpListener::bind(address).with_context(|| {
        format!("listen on {address} for {what}; is another program using that port? ({key})")
    })?;
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    Ok(tokio::spawn(async move {
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(async move { shutdown.wait().await })
            .await;
        if let Err(error) = served {
            tracing::error!("{what} stopped: {error}");
        }
    }))
}
