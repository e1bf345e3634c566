//! A fleet of real display nodes for the benchmarks: N nodes started in batches in this
//! process (each with its own MQTT connection), an observer session that has seen every
//! one of them online, and the private broker and runtime they run on. Every benchmark
//! that needs a venue builds it from here.

use crate::app::{start_node, NodeHandle};
use crate::client::{BusSession, BusTarget};
use crate::protocol::DisplayStatus;
use crate::shutdown::Shutdown;
use anyhow::{bail, Result};
use std::path::Path;
use std::time::Duration;
use tokio::time::Instant;

/// The benchmarks' venue.
pub const VENUE: &str = "bench";
/// Nodes started at once; larger bursts only measure the broker's accept queue.
const START_BATCH: usize = 250;

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

/// Starts `displays` display nodes on `url`; returns the observer, the nodes and the
/// directory holding each node's data (each remembers its view, as a real screen does).
/// The directory is in memory where the machine has `/dev/shm`: a venue's screens each
/// write to their own disk, while thousands in one process would queue on one journal
/// (ext4 flushes a file replaced by rename), which no venue has.
pub async fn start_fleet(
    url: &str,
    displays: usize,
    shutdown: &Shutdown,
) -> Result<(BusSession, Vec<NodeHandle>, tempfile::TempDir)> {
    let in_memory = Path::new("/dev/shm");
    let data = if in_memory.is_dir() {
        tempfile::Builder::new()
            .prefix("raincheck-fleet")
            .tempdir_in(in_memory)?
    } else {
        tempfile::tempdir()?
    };
    let target = BusTarget::at_url(url, VENUE)?.with_timeout(Duration::from_secs(30));
    let mut observer = BusSession::open(target, "bench").await?;
    let mut nodes = Vec::with_capacity(displays + 1);
    for batch_start in (0..displays).step_by(START_BATCH) {
        let batch_end = (batch_start + START_BATCH).min(displays);
        for index in batch_start..batch_end {
            let config = display_config(url, index, data.path())?;
            nodes.push(start_node(&config, Path::new("."), shutdown.clone())?);
        }
        wait_online(&mut observer, batch_end).await?;
    }
    Ok((observer, nodes, data))
}

/// Waits until the observer has seen `count` display nodes online.
async fn wait_online(observer: &mut BusSession, count: usize) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let online = observer
            .state
            .displays
            .values()
            .filter(|r| r.status == DisplayStatus::Online)
            .count();
        if online >= count {
            return Ok(());
        }
        if observer.next_change(deadline).await.is_none() {
            bail!("only {online} of {count} display nodes came online within 120 s");
        }
    }
}

/// The config of the `index`th benchmark screen on the broker at `url`.
fn display_config(url: &str, index: usize, data: &Path) -> Result<crate::config::NodeConfig> {
    let data_dir = data.join(format!("screen-{index}"));
    std::fs::create_dir_all(&data_dir)?;
    let text = format!(
        "[node]\nvenue = \"{VENUE}\"\nid = \"screen-{index}\"\nroles = [\"signage\"]\ndata_dir = \"{}\"\n[broker]\nurl = \"{url}\"\n[display]\nbackend = \"offscreen\"\n",
        data_dir.display()
    );
    crate::config::load_str(&text, Path::new("bench.toml"))
        .map_err(|report| anyhow::anyhow!("{report}"))
}

/// Waits until the venue has settled after a switch: a screen writes the view it shows
/// down for its next boot once the view has held for `memory::SETTLE`, off the switch
/// path. One screen per machine never notices; thousands of simulated screens in one
/// process writing their files at once would land in the next round's measurement, so
/// every round starts from a settled venue (real venues do not switch every 100 ms).
pub async fn settle() {
    tokio::time::sleep(crate::status::memory::SETTLE + Duration::from_millis(500)).await;
}
