//! The counter's local API on a real counter process: a voucher issued through it is
//! answered only once durable and redeems once; later redemptions and bad requests get
//! specific answers; `kill -9` right after an answer loses nothing that was answered.

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::Duration;

fn counter_with_api(directory: &std::path::Path, port: u16) -> std::path::PathBuf {
    let path = write_counter_config(directory, "till-1", 1, "allow", None);
    let mut text = std::fs::read_to_string(&path).unwrap();
    let offers = text
        .find("[[counter.offers]]")
        .expect("offers in the counter config");
    text.insert_str(offers, &format!("api_listen = \"127.0.0.1:{port}\"\n"));
    text.push_str("[broker]\nurl = \"mqtt://127.0.0.1:9\"\nreconnect_max_ms = 500\n");
    std::fs::write(&path, text).unwrap();
    path
}

/// Waits (bounded) until the counter says on `/healthz` that it serves: its API listens and
/// its voucher worker answers (here after the boot grace, as its broker is unreachable).
async fn wait_serving(http: &reqwest::Client, base: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(response) = http.get(format!("{base}/healthz")).send().await {
            let health: Value = response.json().await.unwrap_or(Value::Null);
            assert_eq!(
                health["synced"], false,
                "no broker, so not synced: {health}"
            );
            if health["serving"] == true {
                return;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the counter did not serve within 20 s"
        );
        // Nothing pushes readiness to a client: ask again shortly.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn post(http: &reqwest::Client, url: &str, body: Value) -> (u16, Value) {
    let response = http.post(url).json(&body).send().await.expect(url);
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[test]
fn vouchers_issued_through_the_api_are_durable_and_redeem_once() {
    let directory = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = counter_with_api(directory.path(), port);
    let mut counter = NodeProcess::start_with("till-1", config.clone());
    let base = format!("http://127.0.0.1:{port}");
    runtime().block_on(async {
        let http = reqwest::Client::new();
        wait_serving(&http, &base).await;
        let (status, issued) = post(
            &http,
            &format!("{base}/v1/vouchers"),
            json!({ "offer": "popcorn", "staff": "Sam" }),
        )
        .await;
        assert_eq!(status, 201, "{issued}");
        let code = issued["code"].as_str().expect("a code").to_owned();
        // Killed the moment the code was answered: it must still be there after restart.
        counter.kill_hard();
        counter = NodeProcess::start_with("till-1", config.clone());
        wait_serving(&http, &base).await;
        let (status, answer) = post(
            &http,
            &format!("{base}/v1/redemptions"),
            json!({ "code": code }),
        )
        .await;
        assert_eq!(
            (status, answer["answer"].as_str()),
            (200, Some("VALID")),
            "{answer}"
        );
        let (_, again) = post(
            &http,
            &format!("{base}/v1/redemptions"),
            json!({ "code": code }),
        )
        .await;
        assert_eq!(again["answer"], "ALREADY REDEEMED");
        let (_, typo) = post(
            &http,
            &format!("{base}/v1/redemptions"),
            json!({ "code": "7K3Q-9ZX1-M4TB-0C2X" }),
        )
        .await;
        assert!(
            matches!(
                typo["answer"].as_str(),
                Some("CHECK THE CODE" | "NOT A VOUCHER")
            ),
            "{typo}"
        );
        let (status, unknown) = post(
            &http,
            &format!("{base}/v1/vouchers"),
            json!({ "offer": "caviar" }),
        )
        .await;
        assert_eq!(status, 409);
        assert!(
            unknown["error"]
                .as_str()
                .unwrap_or_default()
                .contains("caviar"),
            "{unknown}"
        );
        let (status, bad) = post(
            &http,
            &format!("{base}/v1/vouchers"),
            json!({ "offer": "popcorn", "price": 1 }),
        )
        .await;
        assert_eq!(status, 422, "{bad}");
        let record: Value = http
            .get(format!("{base}/v1/vouchers/{code}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            record["redemptions"].as_array().map(Vec::len),
            Some(1),
            "{record}"
        );
    });
    drop(counter);
}
