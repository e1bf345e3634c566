//! The console's read-only feeds for systems outside the venue's bus (docs/CONSOLE.md,
//! "Feeds"; docs/INTEGRATION.md): the current incident as a CAP 1.2 alert for signage
//! players (`cap`), and a JSON status for websites and online ordering (`status`), both
//! served by `routes` under `/feeds/` with a feed key (`crate::machine_keys`). They read the console's
//! published snapshot and the screens' own wording; they change nothing.

mod cap;
mod routes;
mod status;

pub use routes::{router, FeedsState};

use crate::config::NodeConfig;
use std::sync::{Arc, Mutex};

/// The feeds' shared state for a console of `config`, reading `snapshots`.
pub fn feeds_state(
    config: &NodeConfig,
    snapshots: tokio::sync::watch::Receiver<Arc<super::bus::PublishedSnapshot>>,
) -> Arc<FeedsState> {
    Arc::new(FeedsState {
        venue: config.node.venue.clone(),
        venue_name: config.node.venue_name.clone(),
        display: config.display.clone(),
        texts: config.texts.clone(),
        languages: config.display.languages.clone(),
        settings: config.console.feeds.clone(),
        snapshots,
        throttle: Mutex::new(Default::default()),
        last_cap: Mutex::new(None),
    })
}
