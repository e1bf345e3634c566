//! Incident timelines (the first part of the morning-after report): the console follows
//! its own snapshots (`entries`, pure) and appends what each incident went through to
//! `{data_dir}/incidents/{incident}.jsonl` (`file`), one JSON line per entry, so the
//! report can say when each screen confirmed, which lost its link, and when the all
//! clear showed everywhere — after a restart too. One worker, one `select!` over the
//! snapshots and the shutdown signal; the file is written in `spawn_blocking`.

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
    mut snapshots: watch::Receiver<Arc<PublishedSnapshot>>,
    mut shutdown: Shutdown,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut observer = entries::Observer::default();
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
                    let stamped = observer.observe(&snapshot.snapshot);
                    if stamped.is_empty() {
                        continue;
                    }
                    let directory = data_dir.clone();
                    let written = tokio::task::spawn_blocking(move || file::append(&directory, &stamped)).await;
                    match written {
                        Ok(Ok(())) => failed_before = false,
                        Ok(Err(error)) if !failed_before => {
                            failed_before = true;
                            tracing::error!("console: cannot write an incident timeline: {error}; check the data directory");
                        }
                        _ => {}
                    }
                }
            }
        }
    })
}
