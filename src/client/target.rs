//! Which broker (and venue) a one-shot session talks to, as plain values: a broker
//! section (address, credentials, CA), the directory its files are relative to, and how
//! long to wait for the broker. The CLI builds these from its arguments
//! (`commands::target`), benchmarks and tests from a URL; nothing here knows about clap.

use crate::config::{BrokerMode, BrokerSection, BrokerUrl, NodeConfig};
use crate::protocol::Identifier;
use anyhow::{anyhow, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a one-shot session waits for the broker unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A broker. Head office's `--chain` commands talk to one without a venue.
#[derive(Clone, Debug)]
pub struct BrokerTarget {
    pub section: BrokerSection,
    /// Relative file paths in `section` (password, CA) are relative to this.
    pub config_dir: PathBuf,
    pub timeout: Duration,
}

/// A venue on a broker.
#[derive(Clone, Debug)]
pub struct BusTarget {
    pub broker: BrokerTarget,
    pub venue: Identifier,
}

impl Default for BrokerTarget {
    /// The default broker address (mqtt://127.0.0.1:1883), anonymous.
    fn default() -> Self {
        Self {
            section: BrokerSection::default(),
            config_dir: PathBuf::from("."),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

impl BrokerTarget {
    /// The broker at `url` (mqtt:// or mqtts://), anonymous, with the system's CA roots.
    pub fn at_url(url: &str) -> Result<Self> {
        let mut target = Self::default();
        target.set_url(url)?;
        Ok(target)
    }

    /// Points at `url` instead, keeping the credentials and CA.
    pub fn set_url(&mut self, url: &str) -> Result<()> {
        let url: BrokerUrl = url.parse().map_err(|message| anyhow!("{message}"))?;
        self.section.url = url;
        self.section.mode = BrokerMode::External;
        Ok(())
    }

    /// The broker a node's config names, credentials and CA included; a one-shot session
    /// connects to an embedded broker like any other client.
    pub fn of_node(config: &NodeConfig, config_dir: &Path) -> Self {
        let mut section = config.broker.clone();
        section.url = section.connect_url();
        section.mode = BrokerMode::External;
        Self {
            section,
            config_dir: config_dir.to_owned(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// This broker, for `venue`.
    pub fn venue(self, venue: Identifier) -> BusTarget {
        BusTarget {
            broker: self,
            venue,
        }
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl BusTarget {
    /// `venue` on the broker at `url`, anonymous: what benchmarks and tests use.
    pub fn at_url(url: &str, venue: &str) -> Result<Self> {
        let venue = Identifier::parse(venue).map_err(|error| anyhow!("venue {venue:?} {error}"))?;
        Ok(BrokerTarget::at_url(url)?.venue(venue))
    }

    /// The venue and broker a node's config names.
    pub fn of_node(config: &NodeConfig, config_dir: &Path) -> Self {
        BrokerTarget::of_node(config, config_dir).venue(config.node.venue.clone())
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.broker.timeout = timeout;
        self
    }
}
