//! The webhook worker: one `select!` over the console's snapshots (each may mean events,
//! `events::occurred`), the outcomes of the deliveries it started, the next retry's time,
//! and the shutdown signal. New events are written to the durable queue before anything
//! is sent; each endpoint gets its events one at a time and in order, so a receiver that
//! hangs holds back only its own events; failures back off exponentially (with jitter, capped at
//! ten minutes) and give up after a day. A delivery cut off by a stop stays queued and is
//! sent again at the next start: at least once, with the same id.

use super::events::{occurred, Announced};
use super::queue::{Delivery, Queue};
use crate::config::WebhookEndpoint;
use crate::console::bus::PublishedSnapshot;
use crate::shutdown::Shutdown;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};

/// How long one delivery may take, connect to answer.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(600);
/// After this long without a 2xx, a delivery is given up (and logged as such).
const GIVE_UP_AFTER: time::Duration = time::Duration::hours(24);

/// An endpoint ready to deliver to: its config, its secret, its TLS client.
pub struct Endpoint {
    pub config: WebhookEndpoint,
    pub secret: Vec<u8>,
    pub tls: tokio_rustls::TlsConnector,
}

pub struct WebhookWorker {
    pub endpoints: Vec<Endpoint>,
    pub queue: Arc<Queue>,
    pub snapshots: watch::Receiver<Arc<PublishedSnapshot>>,
    pub shutdown: Shutdown,
}

/// What became of one attempt.
struct Attempted {
    key: u64,
    delivery: Delivery,
    result: Result<u16, String>,
}

/// HMAC-SHA256 of `body` with `secret`, as the `X-Raincheck-Signature` header carries it.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("sha256={hex}")
}

/// The wait before attempt `attempts + 1`: 2, 4, 8 … seconds, capped, less up to a third
/// at random so receivers coming back are not hit by every console at once.
fn backoff(attempts: u32) -> Duration {
    let base = Duration::from_secs(1u64 << attempts.min(10)).min(MAX_BACKOFF);
    let jitter = rand::random::<f64>() / 3.0;
    base.mul_f64(1.0 - jitter)
}

async fn blocking<T: Send + 'static>(
    queue: &Arc<Queue>,
    call: impl FnOnce(&Queue) -> sled::Result<T> + Send + 'static,
) -> sled::Result<T> {
    let queue = queue.clone();
    tokio::task::spawn_blocking(move || call(&queue))
        .await
        .expect("a webhook queue call does not panic")
}

impl WebhookWorker {
    pub async fn run(mut self) {
        let mut announced = match blocking(&self.queue, Queue::announced).await {
            Ok(announced) => announced,
            Err(error) => {
                tracing::error!("webhooks stopped: {error}");
                return;
            }
        };
        let (done, mut outcomes) = mpsc::channel::<Attempted>(self.endpoints.len().max(1));
        let mut in_flight = BTreeSet::new();
        self.snapshots.mark_changed();
        loop {
            let next_due = self.start_due(&mut in_flight, &done).await;
            tokio::select! {
                _ = self.shutdown.wait() => break,
                changed = self.snapshots.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    let snapshot = self.snapshots.borrow_and_update().clone();
                    announced = self.announce(announced, &snapshot).await;
                }
                Some(attempted) = outcomes.recv() => {
                    in_flight.remove(&attempted.delivery.endpoint);
                    self.settle(attempted).await;
                }
                _ = crate::deadline::sleep_until(next_due) => {}
            }
        }
    }

    /// Queues the events `snapshot` means (durably) and returns what is announced now.
    async fn announce(&self, announced: Announced, snapshot: &PublishedSnapshot) -> Announced {
        let (events, next) = occurred(&announced, &snapshot.snapshot);
        if next == announced {
            return announced;
        }
        let wanted: Vec<_> = events
            .iter()
            .flat_map(|event| {
                self.endpoints
                    .iter()
                    .filter(|endpoint| endpoint.config.events.contains(&event.event))
                    .map(|endpoint| (endpoint.config.name.to_string(), event.clone()))
            })
            .collect();
        let state = next.clone();
        let now = OffsetDateTime::now_utc();
        match blocking(&self.queue, move |queue| {
            queue.enqueue(&wanted, &state, now)
        })
        .await
        {
            Ok(()) => next,
            Err(error) => {
                // Not recorded as announced: the next snapshot tries again.
                tracing::warn!("cannot queue webhook events: {error}");
                announced
            }
        }
    }

    /// Starts every due delivery whose endpoint has none in flight; the next due time.
    async fn start_due(
        &self,
        in_flight: &mut BTreeSet<String>,
        done: &mpsc::Sender<Attempted>,
    ) -> Option<tokio::time::Instant> {
        let names: Vec<String> = self
            .endpoints
            .iter()
            .map(|e| e.config.name.to_string())
            .collect();
        let waiting = match blocking(&self.queue, move |queue| {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            queue.heads(&names)
        })
        .await
        {
            Ok(waiting) => waiting,
            Err(error) => {
                tracing::warn!("cannot read the webhook queue: {error}");
                return Some(tokio::time::Instant::now() + Duration::from_secs(5));
            }
        };
        let now = OffsetDateTime::now_utc();
        let mut next_due: Option<OffsetDateTime> = None;
        // Each endpoint gets its events in order: only its oldest waiting delivery may go,
        // so "resolved" never overtakes a "started" that is still being retried.
        for (key, delivery) in waiting {
            if in_flight.contains(&delivery.endpoint) {
                continue;
            }
            if delivery.next_attempt_at > now {
                next_due = Some(next_due.map_or(delivery.next_attempt_at, |due| {
                    due.min(delivery.next_attempt_at)
                }));
                continue;
            }
            let Some(endpoint) = self
                .endpoints
                .iter()
                .find(|e| e.config.name.as_str() == delivery.endpoint)
            else {
                // Its endpoint left the config: nothing will ever take it.
                let _ = blocking(&self.queue, move |queue| {
                    queue.finish(
                        key,
                        &delivery,
                        "dropped",
                        "the endpoint is no longer configured",
                        now,
                    )
                })
                .await;
                continue;
            };
            in_flight.insert(delivery.endpoint.clone());
            let (url, secret, tls, done) = (
                endpoint.config.url.0.clone(),
                endpoint.secret.clone(),
                endpoint.tls.clone(),
                done.clone(),
            );
            tokio::spawn(async move {
                let mut delivery = delivery;
                delivery.attempts += 1;
                let headers = [
                    ("x-raincheck-event", delivery.event.clone()),
                    ("x-raincheck-delivery", delivery.id.clone()),
                    ("x-raincheck-attempt", delivery.attempts.to_string()),
                    (
                        "x-raincheck-signature",
                        signature(&secret, delivery.body.as_bytes()),
                    ),
                ];
                let body = delivery.body.clone().into_bytes();
                let result =
                    crate::http_client::post_json(&url, &headers, body, &tls, ATTEMPT_TIMEOUT)
                        .await;
                let _ = done
                    .send(Attempted {
                        key,
                        delivery,
                        result,
                    })
                    .await;
            });
        }
        next_due.map(crate::deadline::instant_at)
    }

    /// Records an attempt's outcome: delivered, retried later, or given up.
    async fn settle(&self, attempted: Attempted) {
        let Attempted {
            key,
            mut delivery,
            result,
        } = attempted;
        let now = OffsetDateTime::now_utc();
        let outcome = match result {
            Ok(status) if (200..300).contains(&status) => {
                let detail = format!("HTTP {status}");
                blocking(&self.queue, move |queue| {
                    queue.finish(key, &delivery, "delivered", &detail, now)
                })
                .await
            }
            failed => {
                let why = match failed {
                    Ok(status) => format!("answered HTTP {status}"),
                    Err(error) => error,
                };
                if now - delivery.created_at > GIVE_UP_AFTER {
                    tracing::warn!(endpoint = %delivery.endpoint, "webhook {} given up after {} attempts: {why}", delivery.id, delivery.attempts);
                    blocking(&self.queue, move |queue| {
                        queue.finish(key, &delivery, "gave up", &why, now)
                    })
                    .await
                } else {
                    if delivery.attempts == 1 {
                        tracing::warn!(endpoint = %delivery.endpoint, "webhook {} not delivered, retrying: {why}", delivery.id);
                    }
                    let wait = backoff(delivery.attempts);
                    delivery.next_attempt_at = now + wait;
                    delivery.last_error = Some(why);
                    blocking(&self.queue, move |queue| {
                        queue.retry_later(key, &delivery, now)
                    })
                    .await
                }
            }
        };
        if let Err(error) = outcome {
            tracing::warn!("cannot record a webhook outcome: {error}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_the_body_in_hex() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn backoff_grows_to_its_cap_with_jitter_below_it() {
        for attempts in 0..40 {
            let wait = backoff(attempts);
            let base = Duration::from_secs(1u64 << attempts.min(10)).min(MAX_BACKOFF);
            assert!(
                wait <= base && wait >= base.mul_f64(0.66),
                "{attempts}: {wait:?}"
            );
        }
    }
}
