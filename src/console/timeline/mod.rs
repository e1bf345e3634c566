//! Incident timelines (the first part of the morning-after report): the console follows
//! its own snapshots (`entries`, pure) and appends what each incident went through to
//! `{data_dir}/incidents/{incident}.jsonl` (`file`), one JSON line per entry, so the
//! report can say when each screen confirmed, which lost its link, and when the all
//! clear showed everywhere — after a restart too. The worker is `follow::follow_snapshots`.

pub mod entries;
pub mod file;

use super::bus::PublishedSnapshot;
use crate::shutdown::Shutdown;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Follows `snapshots` and appends each incident's timeline under `data_dir` until
/// `shutdown`.
pub fn start_timeline(
    data_dir: PathBuf,
    snapshots: watch::Receiver<Arc<PublishedSnapshot>>,
    shutdown: Shutdown,
) -> JoinHandle<()> {
    let mut observer = entries::Observer::default();
    super::follow::follow_snapshots(
        data_dir,
        snapshots,
        shutdown,
        move |snapshot| observer.observe(snapshot),
        file::append,
        "an incident timeline",
    )
}
