//! Starting rumqttd on a loopback address and waiting until it accepts connections, so
//! the node's own client never races the broker's start. rumqttd keeps no retained
//! messages across a restart, so the broker is seeded with the retained set the box's
//! keeper saved before it accepts its first client: a box that restarts mid-incident
//! (often after the same power cut that took the payments down) comes back cash only.

use anyhow::{bail, Context, Result};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// Starts the broker on `listen` in a background thread, its retained set seeded with
/// `retained` (topic, payload); returns once it accepts TCP connections. The broker lives
/// as long as the process.
pub fn start_embedded_broker(listen: SocketAddr, retained: Vec<(String, Vec<u8>)>) -> Result<()> {
    // rumqttd would only log a bind failure from its thread; check first so the
    // operator gets one clear error instead.
    drop(TcpListener::bind(listen).with_context(|| {
        format!("cannot listen on {listen} for the embedded broker: is another broker running? change broker.listen")
    })?);
    let config_text = format!(
        r#"
id = 0
[router]
max_connections = 20000
max_outgoing_packet_count = 1000
max_segment_size = 104857600
max_segment_count = 10

[v4.1]
name = "raincheck"
listen = "{listen}"
next_connection_delay_ms = 1
[v4.1.connections]
connection_timeout_ms = 60000
max_payload_size = 1048576
max_inflight_count = 500
dynamic_filters = true
"#
    );
    let config: rumqttd::Config = toml::from_str(&config_text).context("embedded broker config")?;
    std::thread::Builder::new()
        .name("embedded-broker".into())
        .spawn(move || {
            let mut broker = rumqttd::Broker::new(config);
            // Held for the broker's life: the seeding link stays registered.
            let _seeding = seed_retained(&broker, retained);
            if let Err(error) = broker.start() {
                tracing::error!("embedded broker stopped: {error}");
            }
        })
        .context("start the embedded broker thread")?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect_timeout(&listen, Duration::from_millis(200)).is_err() {
        if Instant::now() > deadline {
            bail!("the embedded broker did not start listening on {listen} within 10 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    tracing::info!("embedded MQTT broker listening on {listen}");
    Ok(())
}

/// Publishes `retained` into the broker through an in-process link, before any listener
/// exists: the router handles its events in order, so every client that connects later
/// reads the seeded set. Returns the link, which must outlive the seeding.
fn seed_retained(
    broker: &rumqttd::Broker,
    retained: Vec<(String, Vec<u8>)>,
) -> Option<rumqttd::local::LinkTx> {
    if retained.is_empty() {
        return None;
    }
    let (mut link, _receiver) = match broker.link("raincheck-restore") {
        Ok(link) => link,
        Err(error) => {
            tracing::error!("cannot restore the retained set into the embedded broker: {error}");
            return None;
        }
    };
    let count = retained.len();
    for (topic, payload) in retained {
        let publish = rumqttd::protocol::Publish::new(topic.into_bytes(), payload, true);
        let packet = rumqttd::protocol::Packet::Publish(publish, None);
        // `send` only queues (it never waits); a one-off poll runs it on this thread.
        if let Err(error) =
            futures_util::FutureExt::now_or_never(link.send(packet)).unwrap_or(Ok(0))
        {
            tracing::error!("cannot restore a retained message into the embedded broker: {error}");
        }
    }
    tracing::info!("restored {count} retained messages into the embedded broker");
    Some(link)
}
