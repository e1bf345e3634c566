//! rumqttc options from a node's broker section: address, TLS, credentials, keep-alive,
//! the last will on the node's display topic, and packet limits.

use crate::config::BrokerSection;
use anyhow::{Context, Result};
use rumqttc::{LastWill, MqttOptions, QoS, TlsConfiguration, Transport};
use std::path::Path;
use std::time::Duration;

/// Largest packet the client accepts. Deliberately larger than the protocol's payload
/// limit: rumqttc drops the *connection* on an oversized packet, and a retained one
/// would then be redelivered forever. The protocol limit is enforced when decoding,
/// where an oversized message is merely logged and ignored.
const CLIENT_MAX_PACKET_BYTES: usize = 1024 * 1024;

/// What the broker publishes for a client that vanished.
pub struct Will {
    pub topic: String,
    pub payload: Vec<u8>,
    /// Whether the will replaces the retained message (a display report's "offline"), or
    /// only tells those listening now (voucher marks, whose retained copy must keep what
    /// the counter held).
    pub retain: bool,
}

/// Who connects, and what the broker should publish if it vanishes.
pub struct ClientIdentity {
    pub client_id: String,
    pub last_will: Option<Will>,
    /// Keep the broker session across reconnects (needed for QoS 1 redelivery).
    pub persistent_session: bool,
}

/// Builds client options; `config_dir` anchors relative file paths.
pub fn client_options(
    broker: &BrokerSection,
    identity: ClientIdentity,
    config_dir: &Path,
) -> Result<MqttOptions> {
    let url = broker.connect_url();
    let mut options = MqttOptions::new(identity.client_id, url.host, url.port);
    options.set_keep_alive(Duration::from_secs(u64::from(
        broker.keep_alive_secs.max(1),
    )));
    options.set_max_packet_size(CLIENT_MAX_PACKET_BYTES, CLIENT_MAX_PACKET_BYTES);
    options.set_clean_session(!identity.persistent_session);
    options.set_inflight(100);
    if let Some(will) = identity.last_will {
        options.set_last_will(LastWill::new(
            will.topic,
            will.payload,
            QoS::AtLeastOnce,
            will.retain,
        ));
    }
    if let Some(username) = &broker.username {
        let password = match &broker.password_file {
            Some(path) => read_password(&config_dir.join(path))?,
            None => String::new(),
        };
        options.set_credentials(username.clone(), password);
    }
    if url.tls {
        // rumqttc builds its TLS config with the process-wide default provider; with more
        // than one provider compiled in (test builds pull in ring too) none is chosen and
        // rustls panics. Choose ours explicitly; a second call just finds it set.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let transport = match &broker.ca_file {
            Some(path) => {
                let path = config_dir.join(path);
                let ca = std::fs::read(&path)
                    .with_context(|| format!("read broker.ca_file {}", path.display()))?;
                Transport::Tls(TlsConfiguration::Simple {
                    ca,
                    alpn: None,
                    client_auth: None,
                })
            }
            None => Transport::tls_with_default_config(),
        };
        options.set_transport(transport);
    }
    Ok(options)
}

/// The MQTT password: the first line of a private file.
fn read_password(path: &Path) -> Result<String> {
    let bytes = crate::secret_file::read_private(path).context("broker.password_file")?;
    let text = String::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("broker.password_file {} is not text", path.display()))?;
    Ok(text.lines().next().unwrap_or("").to_owned())
}
