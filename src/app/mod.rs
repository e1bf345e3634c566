//! The composition root: the only place that turns a node's config into running workers
//! (`node`), and runs them as a daemon with signals, systemd notification and the window
//! on the main thread (`daemon`, `systemd`). Nothing but `main`, the commands and the
//! benchmarks imports this module; everything it starts lives below it.

mod daemon;
mod node;
pub mod systemd;

pub use daemon::run_daemon;
pub use node::{start_node, NodeHandle};
