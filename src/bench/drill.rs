//! `raincheck bench drill --displays N`: a manager's "start the drill" click → every
//! screen's drill confirmation, through the console. N real display nodes (offscreen
//! backend: each proves the drill view from a frame it rendered) and a real console run
//! in this process against a private Mosquitto; per round the benchmark calls
//! `POST /api/drill` (with `--full-screen K`, the first K screens draw the full cash-only
//! screen) and times until the first snapshot on the console's live stream that carries
//! the drill confirmed by all N; then it ends the drill and waits until every screen is
//! back (not timed). Side by side, in the same run: bare MQTT clients that only answer,
//! the fan-out limit, and the ratio.

use super::console_client::{call, Seen};
use super::stats::percentiles;
use crate::shutdown::shutdown_pair;
use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

const ROUND_TIMEOUT: Duration = Duration::from_secs(60);

pub fn run(displays: usize, rounds: usize, full_screen: usize) -> Result<ExitCode> {
    let (broker, runtime) = super::fleet::private_broker_and_runtime()?;
    let data = tempfile::tempdir()?;
    let url = broker.url();
    let result = runtime.block_on(measure(
        displays,
        rounds,
        full_screen.min(displays),
        &url,
        data.path(),
    ));
    drop(broker);
    result
}

/// Waits for the first snapshot that satisfies `done`; when it arrived.
async fn first_snapshot(
    seen: &mut mpsc::Receiver<Seen>,
    deadline: Instant,
    what: &str,
    done: impl Fn(&Seen) -> bool,
) -> Result<Instant> {
    loop {
        let snapshot = tokio::time::timeout_at(deadline, seen.recv())
            .await
            .map_err(|_| anyhow!("{what}: not within {ROUND_TIMEOUT:?}"))?
            .context("the live stream ended")?;
        if done(&snapshot) {
            return Ok(snapshot.at);
        }
    }
}

async fn measure(
    displays: usize,
    rounds: usize,
    full_screen: usize,
    url: &str,
    data: &Path,
) -> Result<ExitCode> {
    let (trigger, shutdown) = shutdown_pair();
    let (observer, mut nodes, _data) = super::fleet::start_fleet(url, displays, &shutdown).await?;
    let chosen: Vec<String> = observer
        .state
        .displays
        .keys()
        .take(full_screen)
        .map(ToString::to_string)
        .collect();
    observer.close().await;
    let super::console_client::BenchConsole {
        node,
        address,
        cookie,
        csrf,
        mut seen,
        stream,
    } = super::console_client::signed_in_console(url, data, &shutdown).await?;
    nodes.push(node);
    println!(
        "{displays} display nodes and a console online; {} draw the full cash-only screen",
        chosen.len()
    );
    let start_body = Bytes::from(serde_json::to_vec(
        &serde_json::json!({ "seconds": 600, "full_screen": chosen }),
    )?);
    let mut samples = Vec::with_capacity(rounds);
    for round in 0..rounds {
        super::fleet::settle().await;
        let clicked = Instant::now();
        let (status, body) = call(
            address,
            "POST",
            "/api/drill",
            &cookie,
            &csrf,
            start_body.clone(),
        )
        .await?;
        if !status.is_success() {
            bail!(
                "round {round}: the drill answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        let answer: serde_json::Value = serde_json::from_slice(&body)?;
        let id = answer["drill_id"]
            .as_str()
            .context("no drill id")?
            .to_owned();
        let confirmed = first_snapshot(
            &mut seen,
            clicked + ROUND_TIMEOUT,
            "every screen confirms the drill",
            |s| {
                s.drill.as_deref() == Some(id.as_str())
                    && s.done
                    && s.confirmed as usize >= displays
            },
        )
        .await
        .with_context(|| format!("round {round}"))?;
        samples.push(confirmed.duration_since(clicked));
        let ended = Instant::now();
        let (status, body) = call(
            address,
            "POST",
            "/api/drill/end",
            &cookie,
            &csrf,
            Bytes::from_static(b"{}"),
        )
        .await?;
        if !status.is_success() {
            bail!(
                "round {round}: ending the drill answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        first_snapshot(
            &mut seen,
            ended + ROUND_TIMEOUT,
            "every screen returns",
            |s| s.drill.is_none() && s.done && s.confirmed as usize >= displays,
        )
        .await
        .with_context(|| format!("round {round}"))?;
    }
    let stats = percentiles(&samples).context("no rounds were run")?;
    println!(
        "click -> all {displays} screens confirmed the drill on the console's live stream: {stats}"
    );
    stream.abort();
    trigger.trigger();
    for node in nodes {
        node.join().await;
    }
    super::responders::print_against_bare(url, displays, rounds, &stats, "raincheck drill").await?;
    Ok(ExitCode::SUCCESS)
}
