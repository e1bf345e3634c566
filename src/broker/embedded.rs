//! Starting rumqttd on a loopback address and waiting until it accepts connections, so
//! the node's own client never races the broker's start.

use anyhow::{bail, Context, Result};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// Starts the broker on `listen` in a background thread; returns once it accepts TCP
/// connections. The broker lives as long as the process.
pub fn start_embedded_broker(listen: SocketAddr) -> Result<()> {
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
