//! The natural limits the queue's drain is compared with, measured in the same run: a bare
//! loop of signed POSTs through the same client (`crate::http_client`) to the same
//! receiver, and what the worker's queue calls cost per delivery in sled on the same disk
//! (the scan that finds the head, and the flushed removal).

use super::receiver::signature;
use super::ROUND_TIMEOUT;
use crate::bench::stats::{percentiles, Percentiles};
use anyhow::{anyhow, bail, Context, Result};
use axum::body::Bytes;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokio::time::Instant;

/// POSTs `bodies` one at a time, signed, as the worker does; events/s, each answered 200.
pub async fn bare_posts(address: SocketAddr, bodies: &[Bytes]) -> Result<f64> {
    let url = url::Url::parse(&format!("http://{address}/hook"))?;
    let tls = crate::http_client::tls_connector(None).map_err(|e| anyhow!(e))?;
    let started = Instant::now();
    for (index, body) in bodies.iter().enumerate() {
        let headers = [
            ("x-raincheck-event", "bench".to_owned()),
            ("x-raincheck-delivery", format!("bare-{index}")),
            ("x-raincheck-attempt", "1".to_owned()),
            ("x-raincheck-signature", signature(body)),
        ];
        let status =
            crate::http_client::post_json(&url, &headers, body.to_vec(), &tls, ROUND_TIMEOUT)
                .await
                .map_err(|e| anyhow!(e))?;
        if status != 200 {
            bail!("the receiver answered a bare POST with {status}");
        }
    }
    Ok(bodies.len() as f64 / started.elapsed().as_secs_f64().max(1e-9))
}

/// What the worker does to the queue per delivery besides the POST, on a sled queue of
/// the drained deliveries on the same disk.
pub struct QueueCosts {
    /// Reading and decoding every waiting delivery, as the worker did before each delivery
    /// to find the head until it read only the heads (`Queue::heads`); median of five
    /// scans of the full queue.
    pub scan: Duration,
    /// `Queue::finish`: remove the delivery, log its outcome, flush.
    pub finish: Percentiles,
}

pub async fn queue_costs(path: PathBuf, bodies: Vec<Bytes>) -> Result<QueueCosts> {
    tokio::task::spawn_blocking(move || -> Result<QueueCosts> {
        let db = sled::open(&path)?;
        let (waiting, log) = (db.open_tree("waiting")?, db.open_tree("log")?);
        for (key, body) in (0u64..).zip(&bodies) {
            // The shape of a queued delivery: its body is a JSON string inside the record.
            let delivery = serde_json::json!({
                "endpoint": "bench", "event": "incident.started", "id": format!("bench-{key}"),
                "body": String::from_utf8_lossy(body), "attempts": 0,
                "created_at": "2026-01-01T00:00:00Z", "next_attempt_at": "2026-01-01T00:00:00Z",
            });
            waiting.insert(key.to_be_bytes(), serde_json::to_vec(&delivery)?)?;
        }
        db.flush()?;
        let mut scans = Vec::with_capacity(5);
        for _ in 0..5 {
            let started = std::time::Instant::now();
            for entry in waiting.iter() {
                let (_, bytes) = entry?;
                let _: serde_json::Value = serde_json::from_slice(&bytes)?;
            }
            scans.push(started.elapsed());
        }
        scans.sort();
        let mut samples = Vec::with_capacity(bodies.len());
        for key in 0..bodies.len() as u64 {
            let started = std::time::Instant::now();
            waiting.remove(key.to_be_bytes())?;
            log.insert(db.generate_id()?.to_be_bytes(), &b"x".repeat(300)[..])?;
            db.flush()?;
            samples.push(started.elapsed());
        }
        Ok(QueueCosts {
            scan: scans[scans.len() / 2],
            finish: percentiles(&samples).context("no deliveries to time")?,
        })
    })
    .await?
}
