//! The status worker of every node: it applies every bus message through the protocol
//! gate to the node's retained set, recomputes the venue view, hands it to the screens on
//! a watch channel ([`Presentation`](crate::model::Presentation)) and reports what the
//! node shows on its retained display topic.

pub mod memory;
pub mod report;
pub mod worker;

pub use worker::{NodeIdentity, StatusWorker};
