//! Whether this voucher store is still the one that has always lived here, or a copy
//! (restored from a backup, moved to a new disk). A copy may be older than what the venue
//! already holds of this terminal: issuing from it could hand out a code a guest already
//! has. The store remembers the identity (device, inode, birth time) of its own directory; a copy
//! made by `tar`, `cp` or `rsync` gets a new one. The store is then marked *unproven*
//! until the voucher worker has read, over the venue's broker, every mark the other tills
//! and its own last session left, and found it current (`voucher::worker`).
//!
//! A block-level image restored onto the same filesystem keeps its inode and is not seen
//! here; the other tills' marks still catch it as soon as the till is online.

use sled::Tree;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

const HOME_KEY: &str = "home";
const UNPROVEN_KEY: &str = "unproven";

/// The identity of the store's directory, as kept in `meta`: device, inode and, where the
/// filesystem records it, birth time — a restore that deletes the directory and copies
/// the backup in at once often gets the freed inode number back.
fn identity_of(path: &Path) -> std::io::Result<Vec<u8>> {
    let metadata = std::fs::metadata(path)?;
    let born = metadata
        .created()
        .ok()
        .and_then(|at| at.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|since| since.as_nanos())
        .unwrap_or(0);
    Ok(format!("{}:{}:{born}", metadata.dev(), metadata.ino()).into_bytes())
}

/// Notes where the store lives; marks it unproven when it lives somewhere else than last
/// time. Returns whether it is unproven now (marked earlier and not yet proven, or just now).
pub fn check_home(meta: &Tree, path: &Path) -> Result<bool, sled::Error> {
    let Ok(here) = identity_of(path) else {
        // Unreadable metadata proves nothing either way; the marks check still runs.
        return is_unproven(meta);
    };
    let before = meta.get(HOME_KEY)?;
    match before {
        Some(home) if home.as_ref() == here.as_slice() => {}
        Some(_) => {
            let mut moved = sled::Batch::default();
            moved.insert(HOME_KEY, here);
            moved.insert(UNPROVEN_KEY, &[1u8]);
            meta.apply_batch(moved)?;
            meta.flush()?;
            tracing::warn!(
                path = %path.display(),
                "this voucher store was restored or moved here; it issues and redeems again once it has checked with the venue that it is current"
            );
        }
        // A new store, or one from a build that did not note its home.
        None => {
            meta.insert(HOME_KEY, here)?;
            meta.flush()?;
        }
    }
    is_unproven(meta)
}

pub fn is_unproven(meta: &Tree) -> Result<bool, sled::Error> {
    Ok(meta.get(UNPROVEN_KEY)?.is_some())
}

/// The store was found current: it issues again, offline too, from now on.
pub fn mark_proven(meta: &Tree) -> Result<(), sled::Error> {
    if meta.remove(UNPROVEN_KEY)?.is_some() {
        meta.flush()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_found_elsewhere_is_unproven_until_proven() {
        let directory = tempfile::tempdir().unwrap();
        let db = sled::Config::new().temporary(true).open().unwrap();
        let meta = db.open_tree("meta").unwrap();
        let home = directory.path().join("home");
        let elsewhere = directory.path().join("elsewhere");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&elsewhere).unwrap();
        assert!(!check_home(&meta, &home).unwrap(), "a new store is its own");
        assert!(!check_home(&meta, &home).unwrap(), "and stays so at home");
        assert!(check_home(&meta, &elsewhere).unwrap(), "a copy is unproven");
        assert!(
            check_home(&meta, &elsewhere).unwrap(),
            "until proven, across restarts"
        );
        mark_proven(&meta).unwrap();
        assert!(!check_home(&meta, &elsewhere).unwrap());
    }
}
