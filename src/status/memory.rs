//! A screen's memory of what it last showed, `{data_dir}/last-view.json`, so a screen that
//! reboots while its broker is unreachable shows the venue's last known view — with the
//! "status link lost" note, reported as syncing, never as confirmed — instead of the
//! neutral boot screen. Written a second after the view settles (a burst of changes is
//! one write, and a switch is never slowed by the disk); read once at start. Display
//! only: once the broker's retained set is read, the screen shows what it says.

use crate::model::VenueView;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;
use time::OffsetDateTime;

/// How long a view must stay before it is written down.
pub const SETTLE: Duration = Duration::from_secs(1);

#[derive(Serialize, Deserialize)]
struct Remembered {
    view: VenueView,
    /// When the view was written down (this node's clock; for the log).
    #[serde(with = "time::serde::rfc3339")]
    saved_at: OffsetDateTime,
}

pub fn memory_path(data_dir: &Path) -> PathBuf {
    data_dir.join("last-view.json")
}

/// Writes `view` down atomically. Blocking: call from `spawn_blocking`.
pub fn save(path: &Path, view: &VenueView, now: OffsetDateTime) -> Result<()> {
    let remembered = Remembered {
        view: view.clone(),
        saved_at: now,
    };
    let text = serde_json::to_vec(&remembered).expect("a view serialises");
    let temporary = path.with_extension("json.new");
    std::fs::write(&temporary, text)
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    std::fs::rename(&temporary, path).with_context(|| format!("cannot replace {}", path.display()))
}

/// The view written down last, if any; a damaged file is logged and ignored.
pub fn load(path: &Path) -> Option<VenueView> {
    let text = std::fs::read(path).ok()?;
    match serde_json::from_slice::<Remembered>(&text) {
        Ok(remembered) => {
            tracing::info!(
                saved_at = %remembered.saved_at,
                "showing the last known view until the broker's state is read"
            );
            Some(remembered.view)
        }
        Err(error) => {
            tracing::warn!(
                "{} is damaged ({error}); starting on the neutral screen",
                path.display()
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ViewMode;

    #[test]
    fn a_saved_view_comes_back_and_a_damaged_file_is_ignored() {
        let directory = tempfile::tempdir().unwrap();
        let path = memory_path(directory.path());
        assert_eq!(load(&path), None);
        let mut view = VenueView::normal();
        view.mode = ViewMode::CashOnly;
        view.revision = 9;
        save(&path, &view, OffsetDateTime::UNIX_EPOCH).unwrap();
        assert_eq!(load(&path), Some(view));
        std::fs::write(&path, b"{\"view\":").unwrap();
        assert_eq!(load(&path), None);
    }
}
