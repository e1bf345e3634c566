//! Opening a voucher store: sled with a bounded page cache, waiting a moment for the
//! file lock a just-stopped process may still hold, and refusing a database that is not
//! this venue's and this node's raincheck store (format marker, venue, node) or that was
//! restored elsewhere (`provenance`); a store without the figures' sums has them counted.
//! Split from `store.rs`, which keeps the writes.

use super::{StoreError, VoucherStore, STORE_FORMAT};
use crate::protocol::Identifier;
use crate::voucher::code::VoucherSecret;
use std::path::Path;

/// sled's page cache per store. Its default (1 GiB) would let a console or till reading a
/// million vouchers for a report grow to a gigabyte on a Raspberry Pi; the OS page cache
/// still holds the file, so a whole-store read costs little more (docs/BENCHMARKS.md).
const STORE_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// Opens the sled database, waiting up to two seconds for the file lock: a store that was
/// just closed (or whose process was just killed and restarted) may hold it a moment.
fn open_with_patience(path: &Path) -> Result<sled::Db, StoreError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        match sled::Config::new()
            .path(path)
            .cache_capacity(STORE_CACHE_BYTES)
            .open()
        {
            Ok(db) => return Ok(db),
            Err(sled::Error::Io(error))
                if error.kind() == std::io::ErrorKind::WouldBlock
                    || error.to_string().contains("lock") =>
            {
                if std::time::Instant::now() > deadline {
                    return Err(StoreError::Open {
                        path: path.to_owned(),
                        reason: error.to_string(),
                    });
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(error) => {
                return Err(StoreError::Open {
                    path: path.to_owned(),
                    reason: error.to_string(),
                })
            }
        }
    }
}

impl VoucherStore {
    /// Opens (or creates) the store in `data_dir`, refusing another venue's or node's.
    pub fn open(
        data_dir: &Path,
        venue: &Identifier,
        node: &Identifier,
        terminal: u8,
        secret: VoucherSecret,
    ) -> Result<Self, StoreError> {
        let path = data_dir.join("vouchers.sled");
        let db = open_with_patience(&path)?;
        let foreign = |detail: String| StoreError::Foreign {
            path: path.clone(),
            detail,
        };
        // Look before creating any tree, so a foreign database is not written to.
        let names = db.tree_names();
        let ours = names.iter().any(|name| name.as_ref() == b"meta");
        if !ours && (names.len() > 1 || !db.is_empty()) {
            return Err(foreign("is not a raincheck voucher store".into()));
        }
        let meta = db.open_tree("meta")?;
        let vouchers = db.open_tree("vouchers")?;
        let events = db.open_tree("events")?;
        match meta.get("format")? {
            None if vouchers.is_empty() && events.is_empty() => {
                // One batch: a kill between the keys must not leave a half-marked store.
                let mut marker = sled::Batch::default();
                marker.insert("format", &STORE_FORMAT.to_be_bytes());
                marker.insert("venue", venue.as_str().as_bytes());
                marker.insert("node", node.as_str().as_bytes());
                meta.apply_batch(marker)?;
                db.flush()?;
            }
            None => return Err(foreign("holds vouchers but no format marker".into())),
            Some(format) => {
                let format = <[u8; 4]>::try_from(format.as_ref())
                    .map(u32::from_be_bytes)
                    .map_err(|_| foreign("has an unreadable format marker".into()))?;
                if format != STORE_FORMAT {
                    return Err(StoreError::UnsupportedFormat(format));
                }
                let stored_venue = meta
                    .get("venue")?
                    .map(|v| String::from_utf8_lossy(&v).into_owned())
                    .unwrap_or_default();
                if stored_venue != venue.as_str() {
                    return Err(foreign(format!(
                        "belongs to venue {stored_venue:?}, not {venue:?}"
                    )));
                }
                let stored_node = meta
                    .get("node")?
                    .map(|v| String::from_utf8_lossy(&v).into_owned())
                    .unwrap_or_default();
                if stored_node != node.as_str() {
                    return Err(foreign(format!(
                        "belongs to node {stored_node:?}, not {node:?}"
                    )));
                }
            }
        }
        crate::voucher::provenance::check_home(&meta, &path)?;
        let store = Self {
            db,
            meta,
            vouchers,
            events,
            node: node.clone(),
            terminal,
            secret,
            till_name: None,
        };
        store.ensure_figures()?;
        Ok(store)
    }
}
