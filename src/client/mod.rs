//! The one-shot bus client: a short-lived MQTT session that reads a venue's (or head
//! office's) whole retained set to its sync barrier, publishes, and follows what happens
//! — what `raincheck incident`, `status`, `watch` and `payments` run on, and what the
//! benchmarks and tests observe a venue with. Opened from a plain [`BusTarget`] or
//! [`BrokerTarget`]; it knows nothing of the command line.

mod chain;
mod link;
mod target;
mod venue;

pub use chain::ChainSession;
pub use link::{Link, LinkEvent};
pub use target::{BrokerTarget, BusTarget, DEFAULT_TIMEOUT};
pub use venue::{BusSession, SessionChange};
