//! A fleet of real display nodes for the benchmarks: N nodes started in batches in this
//! process (each with its own MQTT connection), and an observer session that has seen
//! every one of them online.

use super::switch::{display_config, wait_online, START_BATCH, VENUE};
use crate::cli::BusArgs;
use crate::commands::session::BusSession;
use crate::commands::target::BusTarget;
use crate::node::{start_node, NodeHandle};
use crate::shutdown::Shutdown;
use anyhow::Result;
use std::path::Path;

/// A private Mosquitto and the two-thread runtime a fleet benchmark runs on.
pub fn private_broker_and_runtime(
) -> Result<(crate::mosquitto::MosquittoProcess, tokio::runtime::Runtime)> {
    use anyhow::Context;
    let broker = crate::mosquitto::MosquittoProcess::start("")
        .context("start a private mosquitto for the benchmark")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    Ok((broker, runtime))
}

/// Starts `displays` display nodes on `url`; returns the observer and the nodes.
pub async fn start_fleet(
    url: &str,
    displays: usize,
    shutdown: &Shutdown,
) -> Result<(BusSession, Vec<NodeHandle>)> {
    let args = BusArgs {
        broker: Some(url.to_owned()),
        venue: Some(VENUE.into()),
        timeout: 30,
        ..Default::default()
    };
    let mut observer = BusSession::open(BusTarget::from_args(&args)?, "bench").await?;
    let mut nodes = Vec::with_capacity(displays + 1);
    for batch_start in (0..displays).step_by(START_BATCH) {
        let batch_end = (batch_start + START_BATCH).min(displays);
        for index in batch_start..batch_end {
            let config = display_config(url, index)?;
            nodes.push(start_node(&config, Path::new("."), shutdown.clone())?);
        }
        wait_online(&mut observer, batch_end).await?;
    }
    Ok((observer, nodes))
}
