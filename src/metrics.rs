//! Prometheus metrics: a process-wide registry of counters and gauges that the workers
//! update as they go (view shown, broker connections, refused messages, vouchers, the
//! console's confirmation counts, payment sources down), served as Prometheus text on
//! `metrics.listen` (`GET /metrics`). One node per process in production, so the registry
//! is the node's; tests that run many nodes in one process simply share it.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
}

/// Every metric this build exports, with its type and help line.
const KNOWN: &[(&str, Kind, &str)] = &[
    (
        "raincheck_view_revision",
        Kind::Gauge,
        "Revision of the view this node shows.",
    ),
    (
        "raincheck_view_mode",
        Kind::Gauge,
        "1 for the mode this node shows (normal, cash_only, all_clear).",
    ),
    (
        "raincheck_mqtt_connected",
        Kind::Gauge,
        "1 while the MQTT connection is up.",
    ),
    (
        "raincheck_mqtt_connects_total",
        Kind::Counter,
        "Successful MQTT connections, reconnects included.",
    ),
    (
        "raincheck_bus_messages_refused_total",
        Kind::Counter,
        "Bus messages refused by the decode gate, by reason.",
    ),
    (
        "raincheck_vouchers_total",
        Kind::Counter,
        "Voucher changes made at this node, by kind (issued, redeemed, voided).",
    ),
    (
        "raincheck_voucher_events_synced_total",
        Kind::Counter,
        "Other terminals' voucher events applied here.",
    ),
    (
        "raincheck_console_nodes",
        Kind::Gauge,
        "Nodes the console sees, by kind and standing (confirmed, lagging, offline).",
    ),
    (
        "raincheck_payment_source_down",
        Kind::Gauge,
        "1 while a payment source this detector runs is down.",
    ),
];

static VALUES: Mutex<BTreeMap<(&'static str, String), f64>> = Mutex::new(BTreeMap::new());

fn labels_text(labels: &[(&str, &str)]) -> String {
    let escaped: Vec<String> = labels
        .iter()
        .map(|(key, value)| {
            let value = value
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{key}=\"{value}\"")
        })
        .collect();
    escaped.join(",")
}

fn known(name: &str) -> Option<&'static str> {
    KNOWN
        .iter()
        .find(|(known, ..)| *known == name)
        .map(|(known, ..)| *known)
}

/// Sets a gauge.
pub fn set(name: &str, labels: &[(&str, &str)], value: f64) {
    let Some(name) = known(name) else { return };
    let mut values = VALUES.lock().unwrap_or_else(|e| e.into_inner());
    values.insert((name, labels_text(labels)), value);
}

/// Adds to a counter.
pub fn add(name: &str, labels: &[(&str, &str)], amount: f64) {
    let Some(name) = known(name) else { return };
    let mut values = VALUES.lock().unwrap_or_else(|e| e.into_inner());
    *values.entry((name, labels_text(labels))).or_insert(0.0) += amount;
}

/// The Prometheus text exposition of every metric set so far.
pub fn render() -> String {
    let values = VALUES.lock().unwrap_or_else(|e| e.into_inner());
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP raincheck_up 1 while the node runs.\n# TYPE raincheck_up gauge\nraincheck_up 1"
    );
    for (name, kind, help) in KNOWN {
        let series: Vec<_> = values.iter().filter(|((n, _), _)| n == name).collect();
        if series.is_empty() {
            continue;
        }
        let kind = if *kind == Kind::Counter {
            "counter"
        } else {
            "gauge"
        };
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for ((_, labels), value) in series {
            if labels.is_empty() {
                let _ = writeln!(out, "{name} {value}");
            } else {
                let _ = writeln!(out, "{name}{{{labels}}} {value}");
            }
        }
    }
    out
}

/// Serves `GET /metrics` and the node's `GET /healthz` on `address` until shutdown.
pub fn serve(
    address: std::net::SocketAddr,
    health: crate::health::Health,
    shutdown: crate::shutdown::Shutdown,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let router = health.route(crate::health::Needs::Everything).route(
        "/metrics",
        axum::routing::get(|| async {
            (
                [(
                    axum::http::header::CONTENT_TYPE,
                    "text/plain; version=0.0.4",
                )],
                render(),
            )
        }),
    );
    crate::local_http::serve(address, router, shutdown, "metrics", "metrics.listen")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_render_as_prometheus_text_with_escaped_labels() {
        set("raincheck_view_revision", &[], 42.0);
        add("raincheck_vouchers_total", &[("kind", "issued")], 1.0);
        add("raincheck_vouchers_total", &[("kind", "issued")], 2.0);
        set(
            "raincheck_console_nodes",
            &[("kind", "screen\"x"), ("standing", "confirmed")],
            3.0,
        );
        set("not_a_known_metric", &[], 1.0);
        let text = render();
        assert!(text.contains("# TYPE raincheck_view_revision gauge\nraincheck_view_revision 42\n"));
        assert!(text.contains("raincheck_vouchers_total{kind=\"issued\"} 3\n"));
        assert!(
            text.contains("raincheck_console_nodes{kind=\"screen\\\"x\",standing=\"confirmed\"} 3")
        );
        assert!(!text.contains("not_a_known_metric"));
    }
}
