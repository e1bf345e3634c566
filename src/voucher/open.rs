//! Opening a terminal's voucher store from its node config: the venue secret is read from
//! a private file (refused if others can read it) and never logged.

use super::store::VoucherStore;
use super::VoucherSecret;
use crate::config::NodeConfig;
use anyhow::{anyhow, bail, Context, Result};
use std::path::Path;

/// Opens this terminal's store with the venue secret from the config.
pub fn open_store(config: &NodeConfig, base: &Path) -> Result<VoucherStore> {
    let counter = config
        .counter
        .as_ref()
        .ok_or_else(|| anyhow!("this node has no [counter] section"))?;
    let secret = read_voucher_secret(&base.join(&counter.secret_file), config.node.venue.as_str())?;
    Ok(VoucherStore::open(
        &config.node.data_dir,
        &config.node.venue,
        &config.node.id,
        counter.terminal,
        secret,
    )?)
}

/// The venue secret: a private file of at least 16 bytes (never logged).
pub fn read_voucher_secret(path: &Path, venue: &str) -> Result<VoucherSecret> {
    use std::os::unix::fs::PermissionsExt;
    let metadata = std::fs::metadata(path)
        .with_context(|| format!("read counter.secret_file {}", path.display()))?;
    if metadata.permissions().mode() & 0o077 != 0 {
        bail!(
            "secret file {} is readable by other users; run: chmod 600 {}",
            path.display(),
            path.display()
        );
    }
    let bytes = std::fs::read(path)
        .with_context(|| format!("read counter.secret_file {}", path.display()))?;
    VoucherSecret::new(venue, &bytes).map_err(|error| anyhow!("{}: {error}", path.display()))
}
