//! Outgoing webhooks against a real console node, a real Mosquitto, a real display node
//! and a real HTTP receiver on loopback: a declared, updated and resolved incident reaches
//! the receiver as signed events (started, every screen confirmed, updated, resolved), a
//! receiver answering 500 gets the same delivery again, and an event queued while the
//! receiver is down is delivered after the console restarts — once, with its id.

mod common;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use common::console::*;
use common::mosquitto;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

const SECRET: &str = "a-long-enough-webhook-secret-for-tests";

/// One request the receiver got.
#[derive(Debug)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
    json: Value,
}

/// A webhook receiver on `address` (or an ephemeral port) that answers 500 to its first
/// `failures` requests and 200 after, sending every request it got down a channel.
async fn receiver(
    address: Option<SocketAddr>,
    failures: usize,
) -> (
    SocketAddr,
    mpsc::UnboundedReceiver<Received>,
    tokio::task::JoinHandle<()>,
) {
    let (sender, received) = mpsc::unbounded_channel();
    let seen = Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let (sender, seen) = (sender.clone(), seen.clone());
            async move {
                let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let _ = sender.send(Received {
                    headers,
                    body,
                    json,
                });
                if seen.fetch_add(1, Ordering::SeqCst) < failures {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener =
        tokio::net::TcpListener::bind(address.unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0))))
            .await
            .expect("bind the receiver");
    let address = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (address, received, task)
}

/// The console config with one webhook endpoint at `address` and its private secret.
fn console_with_webhook(directory: &Path, broker: &str, address: SocketAddr) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let secret = directory.join("webhook-secret");
    std::fs::write(&secret, format!("{SECRET}\n")).unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    write_console_config(
        directory,
        "back-office",
        broker,
        &format!(
            "[[console.webhooks]]\nname = \"ordering\"\nurl = \"http://{address}/hook\"\nsecret_file = \"{}\"\n",
            secret.display()
        ),
    )
}

/// The next request, within the test's patience.
async fn next(received: &mut mpsc::UnboundedReceiver<Received>, what: &str) -> Received {
    tokio::time::timeout(WAIT, received.recv())
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
        .expect("the receiver is running")
}

/// The next request carrying `event`, skipping others (returned in order).
async fn next_event(
    received: &mut mpsc::UnboundedReceiver<Received>,
    event: &str,
) -> (Received, Vec<String>) {
    let mut skipped = Vec::new();
    loop {
        let got = next(received, event).await;
        let name = got.json["event"].as_str().unwrap_or_default().to_owned();
        if name == event {
            return (got, skipped);
        }
        skipped.push(name);
    }
}

fn assert_signed(got: &Received) {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(&got.body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        got.headers["x-raincheck-signature"].to_str().unwrap(),
        format!("sha256={expected}"),
        "the body is signed with the endpoint's secret (trailing newline of the file ignored)"
    );
    assert_eq!(
        got.headers["x-raincheck-delivery"].to_str().unwrap(),
        got.json["id"]
    );
    assert_eq!(
        got.headers["x-raincheck-event"].to_str().unwrap(),
        got.json["event"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_reaches_the_receiver_signed_and_a_failed_delivery_is_retried() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let (address, mut received, _receiver) = receiver(None, 1).await;
    let config = console_with_webhook(directory.path(), &broker.url(), address);
    let _screens = start_display_nodes(directory.path(), &["lobby-1"], &broker.url());
    let (node, stop, console) = start_console(&config, directory.path());
    let mut client = ConsoleClient::new(console);
    client.sign_in_as_manager().await;
    wait_until_console_reads_the_venue(&client).await;

    let declared = client
        .post_json(
            "/api/incident",
            &json!({ "texts": { "headline": "Cash only <now> & \"sorry\"" } }),
        )
        .await
        .expect(reqwest::StatusCode::OK, "declare")
        .json();
    let incident = declared["incident_id"].as_str().unwrap().to_owned();

    // The first attempt is answered 500; the same delivery comes again, attempt 2.
    let first = next(&mut received, "the first delivery").await;
    assert_eq!(first.json["event"], "incident.started");
    assert_eq!(first.headers["x-raincheck-attempt"], "1");
    let (again, _) = next_event(&mut received, "incident.started").await;
    assert_eq!(again.json["id"], first.json["id"], "a retry keeps its id");
    assert_eq!(again.headers["x-raincheck-attempt"], "2");
    assert_signed(&again);
    assert_eq!(again.json["incident_id"], incident.as_str());
    assert_eq!(again.json["venue"], "rialto");
    assert_eq!(again.json["mode"], "cash_only");
    assert_eq!(
        again.json["texts"]["headline"],
        "Cash only <now> & \"sorry\""
    );

    let (confirmed, _) = next_event(&mut received, "screens.confirmed").await;
    assert_signed(&confirmed);
    assert_eq!(confirmed.json["mode"], "cash_only");
    assert_eq!(confirmed.json["screens"]["confirmed"], 1);

    client
        .put_json(
            "/api/incident",
            &json!({ "texts": { "headline": "Still cash only" } }),
        )
        .await
        .expect(reqwest::StatusCode::OK, "update");
    let (updated, _) = next_event(&mut received, "incident.updated").await;
    assert_signed(&updated);
    assert_eq!(updated.json["texts"]["headline"], "Still cash only");

    client
        .post_json("/api/incident/resolve", &json!({}))
        .await
        .expect(reqwest::StatusCode::OK, "resolve");
    let (resolved, _) = next_event(&mut received, "incident.resolved").await;
    assert_signed(&resolved);
    assert_eq!(resolved.json["incident_id"], incident.as_str());
    let (cleared, _) = next_event(&mut received, "screens.confirmed").await;
    assert_eq!(cleared.json["mode"], "all_clear");

    // The delivery log shows the managers what happened.
    let log = client
        .get("/api/webhooks")
        .await
        .expect(reqwest::StatusCode::OK, "the log")
        .json();
    let outcomes: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["outcome"].as_str())
        .collect();
    assert!(
        outcomes.contains(&"delivered") && outcomes.contains(&"retrying"),
        "{log}"
    );
    stop_node(node, stop).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_queued_while_the_receiver_is_down_is_delivered_after_a_restart() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    // A port nobody listens on yet: every attempt is refused.
    let address = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = console_with_webhook(directory.path(), &broker.url(), address);
    let (node, stop, console) = start_console(&config, directory.path());
    let mut client = ConsoleClient::new(console);
    client.sign_in_as_manager().await;
    wait_until_console_reads_the_venue(&client).await;
    let declared = client
        .post_json("/api/incident", &json!({}))
        .await
        .expect(reqwest::StatusCode::OK, "declare")
        .json();
    let incident = declared["incident_id"].as_str().unwrap().to_owned();
    // Wait until an attempt failed and the delivery waits in the queue.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let log = client
            .get("/api/webhooks")
            .await
            .expect(reqwest::StatusCode::OK, "the log")
            .json();
        if log["entries"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e["outcome"] == "retrying"))
        {
            assert_eq!(log["waiting"], 1, "{log}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no failed attempt logged: {log}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    stop_node(node, stop).await;

    // The receiver comes up, the console restarts: the queued event arrives, once.
    let (_, mut received, _receiver) = receiver(Some(address), 0).await;
    let (node, stop, _) = start_console(&config, directory.path());
    let got = next(&mut received, "the queued delivery").await;
    assert_eq!(got.json["event"], "incident.started");
    assert_eq!(got.json["incident_id"], incident.as_str());
    assert_signed(&got);
    assert!(
        got.headers["x-raincheck-attempt"]
            .to_str()
            .unwrap()
            .parse::<u32>()
            .unwrap()
            >= 2
    );
    // No second "started" for the same incident: what was announced survived the restart.
    let more = tokio::time::timeout(std::time::Duration::from_secs(2), received.recv()).await;
    if let Ok(Some(extra)) = more {
        assert_ne!(
            extra.json["event"], "incident.started",
            "announced twice: {:?}",
            extra.json
        );
    }
    stop_node(node, stop).await;
}
