//! The MQTT edge: connection options from config, a reconnecting connection worker that
//! owns rumqttc's event loop, the backoff it uses, the one session factory every worker
//! and the one-shot client use, and the sync barrier that tells a session it has read the
//! broker's whole retained set. Everything above this module sees only [`BusEvent`]s in
//! and non-blocking publishes out.

pub mod backoff;
pub mod barrier;
pub mod connection;
pub mod options;
pub mod session;
#[cfg(test)]
pub(crate) mod test_support;

pub use barrier::{Echo, SyncBarrier};
pub use connection::{spawn_connection, AckHandle, BusEvent, Connection, Subscription};
pub use options::{client_options, ClientIdentity, Will};
pub use session::{spawn_session, Session, SessionSpec};
