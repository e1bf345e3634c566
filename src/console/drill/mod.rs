//! Staff drills at the console: the recorder that follows the console's snapshots and
//! keeps each drill's result screen by screen (`results`, pure) as a dated report on disk
//! (`file`), and the printable page of one (`html`). Starting and ending a drill is the
//! bus worker's (`bus/drill.rs`), the routes are `drill_routes.rs`. One worker, one
//! `select!` over the snapshots and the shutdown signal; files written in `spawn_blocking`.

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
    mut snapshots: watch::Receiver<Arc<PublishedSnapshot>>,
    mut shutdown: Shutdown,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut observer = results::DrillObserver::default();
        let mut failed_before = false;
        loop {
            tokio::select! {
                _ = shutdown.wait() => break,
                changed = snapshots.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    // Cloned out at once: no watch borrow lives past this line.
                    let snapshot = snapshots.borrow_and_update().clone();
                    let reports = observer.observe(&snapshot.snapshot);
                    if reports.is_empty() {
                        continue;
                    }
                    let directory = data_dir.clone();
                    let written = tokio::task::spawn_blocking(move || {
                        reports.iter().try_for_each(|report| file::save(&directory, report))
                    })
                    .await;
                    match written {
                        Ok(Ok(())) => failed_before = false,
                        Ok(Err(error)) if !failed_before => {
                            failed_before = true;
                            tracing::error!("console: cannot write a drill report: {error}; check the data directory");
                        }
                        _ => {}
                    }
                }
            }
        }
    })
}
