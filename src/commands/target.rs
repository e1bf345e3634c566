//! From the command line's `--config`, `--broker`, `--venue` and `--timeout` to the
//! one-shot client's plain targets. Head office's chain-wide commands speak for no one
//! venue, so they get a [`BrokerTarget`].

use crate::cli::BusArgs;
use crate::client::{BrokerTarget, BusTarget};
use crate::config::TextsSection;
use crate::protocol::Identifier;
use anyhow::{anyhow, bail, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What a venue command talks to, and the config's texts (templates for declarations
/// the operator left blank) when there was a config.
pub struct VenueTarget {
    pub bus: BusTarget,
    pub texts: Option<TextsSection>,
}

/// The broker of `--config` and `--broker`, without a venue.
pub fn chain_target(args: &BusArgs) -> Result<BrokerTarget> {
    Ok(resolve(args)?.0)
}

/// The broker and the venue of `--config`, `--broker` and `--venue`.
pub fn venue_target(args: &BusArgs) -> Result<VenueTarget> {
    let (chain, venue, texts) = resolve(args)?;
    let Some(venue) = venue else {
        bail!("which venue? pass --config FILE (or set RAINCHECK_CONFIG), or --venue ID with --broker URL");
    };
    Ok(VenueTarget {
        bus: chain.venue(venue),
        texts,
    })
}

fn resolve(args: &BusArgs) -> Result<(BrokerTarget, Option<Identifier>, Option<TextsSection>)> {
    let mut target = BrokerTarget::default();
    let mut venue = None;
    let mut texts = None;
    if let Some(path) = &args.config {
        let config = crate::config::load(path).map_err(|report| anyhow!("{report}"))?;
        let directory = path.parent().map(PathBuf::from).unwrap_or_default();
        target = BrokerTarget::of_node(&config, Path::new(&directory));
        venue = Some(config.node.venue.clone());
        texts = Some(config.texts);
    }
    if let Some(url) = &args.broker {
        target
            .set_url(url)
            .map_err(|message| anyhow!("--broker: {message}"))?;
    }
    if let Some(id) = &args.venue {
        venue = Some(Identifier::parse(id).map_err(|error| anyhow!("--venue {id:?} {error}"))?);
    }
    let target = target.with_timeout(Duration::from_secs(args.timeout.max(1)));
    Ok((target, venue, texts))
}
