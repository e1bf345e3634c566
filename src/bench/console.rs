//! `raincheck bench console --displays N`: a manager's click → every display confirmed,
//! measured through the console path. N real display nodes and a real console node run
//! in this process against a private Mosquitto; the benchmark signs in over HTTP, keeps
//! the page's live stream (SSE) open, and per round times from sending the declare (or
//! resolve) call to the first snapshot on the stream that shows the new revision
//! confirmed by all N displays. Rounds alternate between cash only and all clear.

use super::console_client::call;
use super::stats::percentiles;
use crate::shutdown::shutdown_pair;
use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;
use tokio::time::Instant;

const ROUND_TIMEOUT: Duration = Duration::from_secs(60);

pub fn run(displays: usize, rounds: usize) -> Result<ExitCode> {
    let (broker, runtime) = super::fleet::private_broker_and_runtime()?;
    let data = tempfile::tempdir()?;
    let result = runtime.block_on(measure(displays, rounds, broker.url(), data.path()));
    drop(broker);
    result
}

async fn measure(displays: usize, rounds: usize, url: String, data: &Path) -> Result<ExitCode> {
    let (trigger, shutdown) = shutdown_pair();
    let (observer, mut nodes, _data) = super::fleet::start_fleet(&url, displays, &shutdown).await?;
    observer.close().await;
    let super::console_client::BenchConsole {
        node,
        address,
        cookie,
        csrf,
        mut seen,
        stream,
    } = super::console_client::signed_in_console(&url, data, &shutdown).await?;
    nodes.push(node);
    println!("{displays} display nodes and a console online; console at http://{address}");

    let mut samples = Vec::with_capacity(rounds);
    let mut answers = Vec::with_capacity(rounds);
    for round in 0..rounds {
        super::fleet::settle().await;
        let path = if round % 2 == 0 {
            "/api/incident"
        } else {
            "/api/incident/resolve"
        };
        let clicked = Instant::now();
        let (status, body) = call(
            address,
            "POST",
            path,
            &cookie,
            &csrf,
            Bytes::from_static(b"{}"),
        )
        .await?;
        answers.push(clicked.elapsed());
        if !status.is_success() {
            bail!(
                "round {round}: {path} answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        let answer: serde_json::Value = serde_json::from_slice(&body)?;
        let revision = answer["revision"]
            .as_u64()
            .context("no revision in the answer")?;
        let deadline = clicked + ROUND_TIMEOUT;
        loop {
            let snapshot = tokio::time::timeout_at(deadline, seen.recv())
                .await
                .map_err(|_| {
                    anyhow!("round {round}: not every display confirmed within {ROUND_TIMEOUT:?}")
                })?
                .context("the live stream ended")?;
            if snapshot.revision == revision
                && snapshot.done
                && snapshot.confirmed as usize >= displays
            {
                samples.push(snapshot.at.duration_since(clicked));
                break;
            }
        }
    }
    let answer_stats = percentiles(&answers).context("no rounds were run")?;
    let stats = percentiles(&samples).context("no rounds were run")?;
    println!("console API answered (declaration retained at the broker): {answer_stats}");
    println!("click -> all {displays} displays confirmed on the console's live stream: {stats}");
    stream.abort();
    trigger.trigger();
    for node in nodes {
        node.join().await;
    }
    Ok(ExitCode::SUCCESS)
}
