//! Outgoing webhooks (`[[console.webhooks]]`, docs/INTEGRATION.md): the console tells
//! other systems when an incident starts, changes, ends, and when every screen shows it —
//! signed with each endpoint's secret, delivered at least once from a durable queue,
//! with a delivery log for managers. `events` decides what a snapshot means (pure),
//! `queue` keeps deliveries on disk, `worker` sends them.

mod events;
mod queue;
mod worker;

pub use queue::Queue;

use crate::config::NodeConfig;
use crate::console::bus::PublishedSnapshot;
use crate::shutdown::Shutdown;
use anyhow::{anyhow, Context as _, Result};
use std::path::Path;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Opens the queue and starts the worker when the console has endpoints; the queue is
/// returned for the delivery log either way (`None` without endpoints).
pub fn start_webhooks(
    config: &NodeConfig,
    config_dir: &Path,
    snapshots: watch::Receiver<Arc<PublishedSnapshot>>,
    shutdown: Shutdown,
) -> Result<Option<(Arc<Queue>, JoinHandle<()>)>> {
    let configured = &config.console.webhooks;
    if configured.is_empty() {
        return Ok(None);
    }
    let mut endpoints = Vec::with_capacity(configured.len());
    for endpoint in configured {
        let secret_path = config_dir.join(&endpoint.secret_file);
        let secret = crate::secret_file::read_private(&secret_path)
            .map_err(|error| anyhow!("webhook {}: {error}", endpoint.name))?;
        // A secret written with `echo` or base64 ends in a newline the receiver's copy
        // may not have: the signing key is the file's text without trailing whitespace.
        let secret = secret.trim_ascii_end().to_vec();
        let tls = crate::http_client::tls_connector(
            endpoint
                .ca_file
                .as_ref()
                .map(|ca| config_dir.join(ca))
                .as_deref(),
        )
        .map_err(|error| anyhow!("webhook {}: {error}", endpoint.name))?;
        endpoints.push(worker::Endpoint {
            config: endpoint.clone(),
            secret,
            tls,
        });
    }
    let queue = Arc::new(Queue::open(&config.node.data_dir).with_context(|| {
        format!(
            "open the webhook queue in {}; check that the data directory is writable",
            config.node.data_dir.display()
        )
    })?);
    let worker = worker::WebhookWorker {
        endpoints,
        queue: queue.clone(),
        snapshots,
        shutdown,
    };
    Ok(Some((queue, tokio::spawn(worker.run()))))
}
