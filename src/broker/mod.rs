//! The embedded MQTT broker for single-box venues (`broker.mode = "embedded"`).
//!
//! rumqttd is used because it is pure Rust, runs in-process on its own threads and
//! supports what the protocol needs (QoS 1, retained messages, last wills). Venues with
//! more than one machine run Mosquitto instead (see docs/DEPLOY.md).

mod embedded;

pub use embedded::start_embedded_broker;
