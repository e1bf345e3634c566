//! What the manager's console API refuses to do to the venue, against a real console
//! node and a real Mosquitto: state-changing calls without the CSRF token (403);
//! oversized, too-long, misspelt, unknown-offer and out-of-place declarations (413, 400,
//! 409); declarations while the broker is away (503, nothing sent late); voucher calls on
//! a console without the venue's voucher replica (503) — each refusal leaving the venue's
//! view as it was. Also: the templates a declaration starts from, and `raincheck console
//! hash-pin` adding a manager who can then sign in while a bad PIN changes nothing.

mod common;

use common::console::*;
use common::mosquitto;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_changing_calls_without_the_csrf_token_change_nothing() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let (_node, _stop, mut client) = start_console_signed_in(directory.path(), &broker.url()).await;
    wait_until_console_reads_the_venue(&client).await;
    let before = client.state().await["view"].clone();
    assert_eq!(before["mode"], "normal");
    let csrf = client.csrf_token().unwrap().to_owned();

    let calls = [
        (
            Method::POST,
            "/api/incident",
            Some(json!({ "texts": { "headline": "Forged" } })),
        ),
        (
            Method::PUT,
            "/api/incident",
            Some(json!({ "texts": { "headline": "Forged" } })),
        ),
        (Method::POST, "/api/incident/resolve", Some(json!({}))),
        (
            Method::POST,
            "/api/vouchers/ABCD-EFGH-JKMN-PQRS/void",
            Some(json!({ "reason": "x" })),
        ),
        (Method::DELETE, "/api/session", None),
    ];
    // As long as the real token, differing in every character.
    let wrong: String = csrf
        .chars()
        .map(|c| if c == 'f' { '0' } else { 'f' })
        .collect();
    for token in [None, Some(""), Some(wrong.as_str()), Some("short")] {
        client.set_csrf_token(token);
        for (method, path, body) in &calls {
            let what = format!("{method} {path} with CSRF token {token:?}");
            let error = client
                .call(method.clone(), path, body.as_ref())
                .await
                .expect_refusal(StatusCode::FORBIDDEN, &what);
            assert!(error.contains("X-CSRF-Token"), "{what}: {error}");
            assert_eq!(
                client.state().await["view"],
                before,
                "{what} changed the view"
            );
        }
    }
    // The session survived the forged sign-out, and the real token still works.
    client.set_csrf_token(Some(&csrf));
    client.get("/api/session").await.expect(
        StatusCode::OK,
        "the session after a sign-out without the token",
    );
    let declared = client
        .post_json("/api/incident", &json!({}))
        .await
        .expect(StatusCode::OK, "a declaration with the token")
        .json();
    assert_eq!(
        declared["revision"], 1,
        "the first declaration on a fresh broker: nothing was published before"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_or_out_of_place_declarations_leave_the_venue_as_it_was() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let (_node, _stop, client) = start_console_signed_in(directory.path(), &broker.url()).await;
    wait_until_console_reads_the_venue(&client).await;
    let before = client.state().await["view"].clone();

    let oversized = json!({ "texts": { "headline": "x".repeat(17 * 1024) } });
    let too_long = json!({ "texts": { "headline": "x".repeat(501) } });
    let body_too_long = json!({ "texts": { "body": "é".repeat(501) } });
    let refusals = [
        (
            "POST",
            oversized,
            StatusCode::PAYLOAD_TOO_LARGE,
            "a body over 16 KiB",
        ),
        (
            "POST",
            too_long,
            StatusCode::BAD_REQUEST,
            "a 501-character headline",
        ),
        (
            "POST",
            body_too_long,
            StatusCode::BAD_REQUEST,
            "a 501-character body",
        ),
        (
            "POST",
            json!({ "offer_id": "nachos" }),
            StatusCode::BAD_REQUEST,
            "an unknown offer",
        ),
        (
            "POST",
            json!({ "offer_id": "Not An Id!" }),
            StatusCode::BAD_REQUEST,
            "an offer that is no id",
        ),
        (
            "POST",
            json!({ "headline": "Cash only" }),
            StatusCode::BAD_REQUEST,
            "an unknown field",
        ),
        (
            "POST",
            json!({ "texts": { "headlne": "Cash only" } }),
            StatusCode::BAD_REQUEST,
            "a misspelt text field",
        ),
        (
            "POST",
            json!({ "texts": "Cash only" }),
            StatusCode::BAD_REQUEST,
            "texts that are not an object",
        ),
        (
            "PUT",
            json!({ "texts": { "headline": "Update" } }),
            StatusCode::CONFLICT,
            "an update with nothing active",
        ),
        (
            "RESOLVE",
            json!({}),
            StatusCode::CONFLICT,
            "a resolve with nothing active",
        ),
    ];
    for (verb, body, status, what) in refusals {
        let reply = match verb {
            "POST" => client.post_json("/api/incident", &body).await,
            "PUT" => client.put_json("/api/incident", &body).await,
            _ => client.post_json("/api/incident/resolve", &body).await,
        };
        let error = reply.expect_refusal(status, what);
        if status == StatusCode::BAD_REQUEST && what.contains("character") {
            assert!(error.contains("limit is 500"), "{what}: {error}");
        }
        assert_eq!(
            client.state().await["view"],
            before,
            "{what} changed the view"
        );
    }
    let not_json = client
        .request(Method::POST, "/api/incident")
        .header("Content-Type", "text/plain")
        .body("cash only");
    client.send(not_json).await.expect_refusal(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "a text/plain declaration",
    );
    assert_eq!(
        client.state().await["view"],
        before,
        "a text/plain body changed the view"
    );

    let declared = client
        .post_json(
            "/api/incident",
            &json!({ "texts": { "headline": "x".repeat(500) } }),
        )
        .await
        .expect(StatusCode::OK, "a 500-character headline is accepted")
        .json();
    assert_eq!(
        declared["revision"], 1,
        "the first declaration on a fresh broker: no refusal published anything"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_list_the_offers_and_the_configured_wording() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let (_node, _stop, client) = start_console_signed_in(directory.path(), &broker.url()).await;

    let templates = client
        .get("/api/templates")
        .await
        .expect(StatusCode::OK, "GET /api/templates")
        .json();
    assert_eq!(templates["venue_name"], VENUE_NAME);
    assert_eq!(
        templates["offers"],
        json!([{
            "id": "popcorn",
            "title": "A free small popcorn",
            "terms": "On your next visit. One per guest."
        }])
    );
    assert_eq!(templates["cash_only"]["headline"], TEMPLATE_HEADLINE);
    // Unset lines fall back to the screens' bundled wording.
    for field in ["body", "offer", "cash_points"] {
        let text = templates["cash_only"][field].as_str().unwrap_or("");
        assert!(
            !text.is_empty(),
            "cash_only.{field} has the bundled text: {templates}"
        );
    }
    assert_eq!(templates["all_clear"]["headline"], "Card payments are back");
}

/// Runs `raincheck console hash-pin --config FILE --name NAME` with `stdin` as its input
/// (30 s at most).
fn hash_pin_into(config: &Path, name: &str, stdin: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_raincheck"))
        .args(["console", "hash-pin", "--config"])
        .arg(config)
        .args(["--name", name])
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run raincheck console hash-pin");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).unwrap();
    drop(input);
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || sender.send(child.wait_with_output()));
    receiver
        .recv_timeout(Duration::from_secs(30))
        .expect("hash-pin finishes within 30 s")
        .expect("hash-pin runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hash_pin_adds_a_manager_who_can_sign_in_and_a_bad_pin_changes_nothing() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let config = write_console_config(directory.path(), "back-office", &broker.url(), "");

    let added = hash_pin_into(&config, "Sam", "5555\n");
    assert!(
        added.status.success(),
        "hash-pin failed: {}",
        String::from_utf8_lossy(&added.stderr)
    );
    assert!(
        String::from_utf8_lossy(&added.stdout).contains("added manager \"Sam\""),
        "{}",
        String::from_utf8_lossy(&added.stdout)
    );
    let loaded = raincheck::config::load(&config).expect("the file still loads");
    let names: Vec<&str> = loaded
        .console
        .managers
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(names, ["Dana", "Sam"]);
    assert!(loaded.console.managers[1]
        .pin_hash
        .starts_with("$argon2id$"));

    let before = std::fs::read(&config).unwrap();
    let refused = hash_pin_into(&config, "Lee", "12\n");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "a 2-digit PIN must fail");
    assert!(
        stderr.contains("4 to 12 digits"),
        "says what a PIN is: {stderr}"
    );
    assert_eq!(
        std::fs::read(&config).unwrap(),
        before,
        "the file is byte-identical"
    );

    let (_node, _stop, address) = start_console(&config, directory.path());
    let mut sam = ConsoleClient::new(address);
    let reply = sam
        .sign_in("Sam", "5555")
        .await
        .expect(StatusCode::OK, "Sam signs in with the PIN hash-pin wrote");
    assert_eq!(reply.json()["manager"], "Sam");
    ConsoleClient::new(address).sign_in_as_manager().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_its_broker_the_console_refuses_to_declare_and_sends_nothing_later() {
    let Some(mut broker) = mosquitto("") else {
        return;
    };
    let directory = tempfile::tempdir().unwrap();
    let (_node, _stop, client) = start_console_signed_in(directory.path(), &broker.url()).await;
    wait_until_console_reads_the_venue(&client).await;
    let mut events = client.events().await;
    let before = events
        .wait_for_snapshot("the link is up", WAIT, |s| s["link"]["connected"] == true)
        .await;

    broker.kill();
    events
        .wait_for_snapshot("the console sees the link go", WAIT, |s| {
            s["link"]["connected"] == false
        })
        .await;
    let error = client
        .post_json(
            "/api/incident",
            &json!({ "texts": { "headline": "Cash only" } }),
        )
        .await
        .expect_refusal(StatusCode::SERVICE_UNAVAILABLE, "declare without a broker");
    assert!(error.contains("no link to the venue's broker"), "{error}");
    client
        .post_json("/api/incident/resolve", &json!({}))
        .await
        .expect_refusal(StatusCode::SERVICE_UNAVAILABLE, "resolve without a broker");
    assert_eq!(client.state().await["view"], before["view"]);

    // Back on the broker, nothing refused was sent after all: still nothing active.
    broker.restart().expect("the broker comes back");
    events
        .wait_for_snapshot("the link is back", WAIT, |s| s["link"]["connected"] == true)
        .await;
    wait_until_console_reads_the_venue(&client).await;
    assert_eq!(client.state().await["view"], before["view"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_without_the_venues_counter_section_has_no_voucher_replica() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let config = write_console_config(directory.path(), "back-office", &broker.url(), "");
    let text = std::fs::read_to_string(&config).unwrap();
    let without = &text[..text.find("[counter]").expect("a [counter] section")];
    std::fs::write(&config, without).unwrap();
    let (node, _stop, address) = start_console(&config, directory.path());
    assert!(node.counter.is_none(), "no [counter], no voucher worker");
    let mut client = ConsoleClient::new(address);
    client.sign_in_as_manager().await;

    let void = json!({ "reason": "printed twice" });
    for (method, path, body) in [
        (Method::GET, "/api/vouchers/summary", None),
        (Method::GET, "/api/vouchers/export.csv", None),
        (Method::GET, "/api/vouchers/ABCD-EFGH-JKMN-PQRS", None),
        (
            Method::POST,
            "/api/vouchers/ABCD-EFGH-JKMN-PQRS/void",
            Some(&void),
        ),
    ] {
        let what = format!("{method} {path} without a replica");
        let error = client
            .call(method.clone(), path, body)
            .await
            .expect_refusal(StatusCode::SERVICE_UNAVAILABLE, &what);
        assert!(
            error.contains("[counter]"),
            "{what}: says what to add: {error}"
        );
    }
    let templates = client.get("/api/templates").await.json();
    assert_eq!(templates["offers"], json!([]), "no offers to choose from");
}
