//! `[metrics]`: the Prometheus endpoint (any role).

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSection {
    /// Address for `GET /metrics` and `GET /healthz` (e.g. "127.0.0.1:9464"); unset means
    /// no endpoint. Metrics say nothing secret, but keep it on the management network.
    #[serde(default)]
    pub listen: Option<SocketAddr>,
}
