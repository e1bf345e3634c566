//! The MQTT edge: connection options from config, a reconnecting connection worker that
//! owns rumqttc's event loop, and the backoff it uses. Everything above this module sees
//! only [`BusEvent`]s in and non-blocking publishes out.

pub mod backoff;
pub mod connection;
pub mod options;

pub use connection::{spawn_connection, AckHandle, BusEvent, Connection, Subscription};
pub use options::{client_options, ClientIdentity};
