//! Which broker and venue a one-shot command talks to: from `--config`, overridden by
//! `--broker` and `--venue`. Head office's chain-wide commands speak for no one venue,
//! so [`ChainTarget`] is the same without the venue.

use crate::cli::BusArgs;
use crate::config::{BrokerMode, BrokerSection, BrokerUrl, TextsSection};
use crate::protocol::Identifier;
use anyhow::{anyhow, bail, Result};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct BusTarget {
    pub broker: BrokerSection,
    pub venue: Identifier,
    pub config_dir: PathBuf,
    /// Templates from the config, used to fill declarations the operator left blank.
    pub texts: Option<TextsSection>,
    pub timeout: Duration,
}

/// The broker head office's `--chain` commands talk to: from `--config` (its
/// `[broker]` section only) and `--broker`; no venue.
#[derive(Clone, Debug)]
pub struct ChainTarget {
    pub broker: BrokerSection,
    pub config_dir: PathBuf,
    pub timeout: Duration,
}

impl ChainTarget {
    pub fn from_args(args: &BusArgs) -> Result<Self> {
        let (target, _venue) = resolve(args)?;
        Ok(target)
    }
}

impl BusTarget {
    pub fn from_args(args: &BusArgs) -> Result<Self> {
        let (broker, venue) = resolve(args)?;
        let Some((venue, texts)) = venue else {
            bail!("which venue? pass --config FILE (or set RAINCHECK_CONFIG), or --venue ID with --broker URL");
        };
        Ok(Self {
            broker: broker.broker,
            venue,
            config_dir: broker.config_dir,
            texts,
            timeout: broker.timeout,
        })
    }
}

/// A venue named by `--config` or `--venue`, with the config's texts if there was one.
type NamedVenue = (Identifier, Option<TextsSection>);

/// The broker from `--config` and `--broker`, and the venue (with the config's texts)
/// from `--config` and `--venue`, if any.
fn resolve(args: &BusArgs) -> Result<(ChainTarget, Option<NamedVenue>)> {
    let mut broker = BrokerSection::default();
    let mut venue = None;
    let mut config_dir = PathBuf::from(".");
    let mut texts = None;
    if let Some(path) = &args.config {
        let config = crate::config::load(path).map_err(|report| anyhow!("{report}"))?;
        broker = config.broker.clone();
        // A CLI connects to an embedded broker like any other client.
        if broker.mode == BrokerMode::Embedded {
            broker.url = format!("mqtt://{}", broker.listen);
            broker.mode = BrokerMode::External;
        }
        venue = Some(config.node.venue.clone());
        config_dir = path.parent().map(PathBuf::from).unwrap_or(config_dir);
        texts = Some(config.texts);
    }
    if let Some(url) = &args.broker {
        BrokerUrl::parse(url).map_err(|message| anyhow!("--broker: {message}"))?;
        broker.url = url.clone();
        broker.mode = BrokerMode::External;
    }
    if let Some(id) = &args.venue {
        venue = Some(Identifier::parse(id).map_err(|error| anyhow!("--venue {id:?} {error}"))?);
    }
    let target = ChainTarget {
        broker,
        config_dir,
        timeout: Duration::from_secs(args.timeout.max(1)),
    };
    Ok((target, venue.map(|venue| (venue, texts))))
}
