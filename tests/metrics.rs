//! The Prometheus endpoint of a real node process: it reports the view it shows (revision
//! and mode) after a declaration, its broker connections, and the bus messages it refused.

mod common;

use common::*;
use std::time::Duration;

/// Polls the endpoint (bounded) until `wanted` appears; nothing signals it from outside,
/// and the node may not be listening yet.
async fn wait_for_metric(http: &reqwest::Client, address: &str, wanted: &str) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut text = String::new();
    loop {
        if let Ok(response) = http.get(format!("http://{address}/metrics")).send().await {
            text = response.text().await.expect("metrics text");
            if text.contains(wanted) {
                return text;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {wanted:?} in:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn a_node_exports_what_it_shows_its_connections_and_refusals() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let url = broker.url();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    let config = write_config(
        directory.path(),
        "lobby-1",
        &format!("[broker]\nurl = \"{url}\"\n[display]\nbackend = \"headless\"\n[metrics]\nlisten = \"{address}\"\n"),
    );
    let _node = NodeProcess::start_with("lobby-1", config);
    runtime().block_on(async {
        let http = reqwest::Client::new();
        wait_for_metric(
            &http,
            &address,
            "raincheck_mqtt_connected{connection=\"lobby-1\"} 1",
        )
        .await;
        let (_, revision) = declare(&url, "start", &["--headline", "Cash only"]);
        let text =
            wait_for_metric(&http, &address, "raincheck_view_mode{mode=\"cash_only\"} 1").await;
        assert!(
            text.contains(&format!("raincheck_view_revision {revision}\n")),
            "{text}"
        );
        assert!(
            text.contains("raincheck_mqtt_connects_total{connection=\"lobby-1\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("# TYPE raincheck_mqtt_connects_total counter"));

        let (client, _task) = raw_publisher(broker.port);
        client
            .publish(
                "raincheck/v1/rialto/incident/cli",
                rumqttc::QoS::AtLeastOnce,
                false,
                b"{not json".to_vec(),
            )
            .await
            .unwrap();
        wait_for_metric(
            &http,
            &address,
            "raincheck_bus_messages_refused_total{reason=\"malformed\"} 1",
        )
        .await;
    });
}
