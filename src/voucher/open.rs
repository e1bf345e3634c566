//! Opening a terminal's voucher store from its node config: the venue secret is read from
//! a private file (refused if others can read it) and never logged.

use super::store::VoucherStore;
use super::VoucherSecret;
use crate::config::NodeConfig;
use anyhow::{anyhow, Context, Result};
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
    )?
    .with_till_name(config.node.name.clone()))
}

/// The venue secret: a private file of at least 16 bytes (never logged).
pub fn read_voucher_secret(path: &Path, venue: &str) -> Result<VoucherSecret> {
    let bytes = crate::secret_file::read_private(path).context("counter.secret_file")?;
    VoucherSecret::new(venue, &bytes).map_err(|error| anyhow!("{}: {error}", path.display()))
}
