//! The benchmark's webhook receiver on loopback: an axum server that checks each body's
//! `X-Raincheck-Signature` (HMAC-SHA256 with the endpoint's secret, as a real receiver
//! must) and stamps its arrival. Stopping it closes the port, so the console's deliveries
//! are refused until it starts again on the same address.

use super::SECRET;
use anyhow::{Context, Result};
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// One request the receiver took (signature checked).
pub struct Arrival {
    pub at: Instant,
    pub event: String,
    pub revision: u64,
    pub body: Bytes,
}

/// `sha256=` and the hex HMAC-SHA256 of `body` with the bench's secret.
pub fn signature(body: &[u8]) -> String {
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(SECRET) else {
        return String::new();
    };
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("sha256={hex}")
}

/// The loopback webhook receiver: checks the signature (401 if wrong), stamps the arrival.
pub struct Receiver {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start(
        address: SocketAddr,
        arrivals: mpsc::UnboundedSender<Arrival>,
        forged: Arc<AtomicUsize>,
    ) -> Result<(SocketAddr, Self)> {
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let at = Instant::now();
                let (arrivals, forged) = (arrivals.clone(), forged.clone());
                async move {
                    let signed = headers
                        .get("x-raincheck-signature")
                        .is_some_and(|value| value.as_bytes() == signature(&body).as_bytes());
                    if !signed {
                        forged.fetch_add(1, Ordering::Relaxed);
                        return StatusCode::UNAUTHORIZED;
                    }
                    let Ok(json) = serde_json::from_slice::<serde_json::Value>(&body) else {
                        return StatusCode::BAD_REQUEST;
                    };
                    let event = json["event"].as_str().unwrap_or_default().to_owned();
                    let revision = json["revision"].as_u64().unwrap_or(0);
                    let _ = arrivals.send(Arrival {
                        at,
                        event,
                        revision,
                        body,
                    });
                    StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| format!("bind the webhook receiver on {address}"))?;
        let address = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok((address, Self { stop, task }))
    }

    /// Closes the port (connections then refused) once open requests are answered.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(10), self.task).await;
    }
}
