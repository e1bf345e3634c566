//! The one loop of the console's snapshot followers — the incident timeline and the drill
//! recorder: one worker, one `select!` over the snapshots and the shutdown signal; each
//! snapshot goes through the follower's pure observer, and what it yields is written under
//! the data directory in `spawn_blocking`. A failing write is logged once until one works.

use super::bus::PublishedSnapshot;
use super::snapshot::ConsoleSnapshot;
use crate::shutdown::Shutdown;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Follows `snapshots` until `shutdown`: `observe` each, `write` what it yields.
pub fn follow_snapshots<T: Send + 'static>(
    data_dir: PathBuf,
    mut snapshots: watch::Receiver<Arc<PublishedSnapshot>>,
    mut shutdown: Shutdown,
    mut observe: impl FnMut(&ConsoleSnapshot) -> Vec<T> + Send + 'static,
    write: fn(&Path, &[T]) -> std::io::Result<()>,
    what: &'static str,
) -> JoinHandle<()> {
    tokio::spawn(async move {
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
                    let found = observe(&snapshot.snapshot);
                    if found.is_empty() {
                        continue;
                    }
                    let directory = data_dir.clone();
                    let written = tokio::task::spawn_blocking(move || write(&directory, &found)).await;
                    match written {
                        Ok(Ok(())) => failed_before = false,
                        Ok(Err(error)) if !failed_before => {
                            failed_before = true;
                            tracing::error!("console: cannot write {what}: {error}; check the data directory");
                        }
                        _ => {}
                    }
                }
            }
        }
    })
}
