//! A running node: the status worker that turns bus events into the venue view and the
//! node's display report, plus the daemon that wires config, broker, workers, signals
//! and (for screens) the UI together.

pub mod daemon;
pub mod liveness;
pub mod presentation;
pub mod reject_log;
pub mod status_worker;
pub mod systemd;

pub use daemon::{run_daemon, start_node, NodeHandle};
pub use presentation::{LinkState, Presentation};
