//! Keepers of the retained set (docs/PROTOCOL.md, "Keepers"): the console, the detector
//! and the single box with the embedded broker hold the winning declaration and payment
//! report of every venue topic, save them in their data directory, and publish a winner
//! again whenever the broker's retained copy falls behind it — so a screen that starts at
//! any moment reads what the running screens show.

pub mod file;
pub mod worker;

pub use file::{kept_path, load};
pub use worker::KeeperWorker;
