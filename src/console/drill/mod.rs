//! Staff drills at the console: the recorder that follows the console's snapshots and
//! keeps each drill's result screen by screen (`results`, pure) as a dated report on disk
//! (`file`), and the printable page of one (`html`). Starting and ending a drill is the
//! bus worker's (`bus/drill.rs`), the routes are `drill_routes.rs`. The recorder is
//! `follow::follow_snapshots`.

pub mod file;
pub mod html;
pub mod results;

use super::bus::PublishedSnapshot;
use crate::shutdown::Shutdown;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Follows `snapshots` and keeps every drill's report under `data_dir` until `shutdown`.
pub fn start_drill_recorder(
    data_dir: PathBuf,
    snapshots: watch::Receiver<Arc<PublishedSnapshot>>,
    shutdown: Shutdown,
) -> JoinHandle<()> {
    let mut observer = results::DrillObserver::default();
    super::follow::follow_snapshots(
        data_dir,
        snapshots,
        shutdown,
        move |snapshot| observer.observe(snapshot),
        file::save_all,
        "a drill report",
    )
}
