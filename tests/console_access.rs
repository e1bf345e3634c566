//! Who may use the manager's console, against a real console node and a real Mosquitto:
//! every /api call refuses a visitor without a session (401, as JSON), sign-in refuses
//! wrong PINs, unknown names and malformed requests (401, 400, 415), the third failure
//! makes every attempt wait per name and per client address (429 with an honest
//! Retry-After, even for the right PIN), and the session cookie is HttpOnly, SameSite=Strict
//! and Path=/ — Secure under HTTPS, where plain HTTP gets nowhere — and ends at sign-out,
//! live stream included.

mod common;

use common::console::*;
use common::{mosquitto, raw_publisher, self_signed_certificate};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// Every API call but sign-in, with a body where it takes one.
fn signed_in_calls() -> Vec<(Method, &'static str, Option<Value>)> {
    let declaration = json!({ "texts": { "headline": "Cash only" } });
    vec![
        (Method::GET, "/api/session", None),
        (Method::DELETE, "/api/session", None),
        (Method::GET, "/api/state", None),
        (Method::GET, "/api/events", None),
        (Method::GET, "/api/templates", None),
        (Method::POST, "/api/incident", Some(declaration.clone())),
        (Method::PUT, "/api/incident", Some(declaration)),
        (Method::POST, "/api/incident/resolve", Some(json!({}))),
        (Method::GET, "/api/nodes/lobby-1/thumbnail", None),
        (Method::GET, "/api/audit?limit=5", None),
        (Method::GET, "/api/vouchers/summary", None),
        (Method::GET, "/api/vouchers/export.csv", None),
        (Method::GET, "/api/vouchers/ABCD-EFGH-JKMN-PQRS", None),
        (
            Method::POST,
            "/api/vouchers/ABCD-EFGH-JKMN-PQRS/void",
            Some(json!({ "reason": "printed twice" })),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_call_refuses_a_visitor_who_is_not_signed_in() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let config = write_console_config(directory.path(), "back-office", &broker.url(), "");
    let (_node, _stop, address) = start_console(&config, directory.path());

    let mut visitor = ConsoleClient::new(address);
    for (method, path, body) in signed_in_calls() {
        let what = format!("{method} {path} without a session");
        visitor
            .call(method.clone(), path, body.as_ref())
            .await
            .expect_refusal(StatusCode::UNAUTHORIZED, &what);
    }
    // A made-up cookie, even with a made-up CSRF token, is no session either.
    visitor.set_session_token(Some(&"0".repeat(64)));
    visitor.set_csrf_token(Some(&"0".repeat(64)));
    for (method, path, body) in signed_in_calls() {
        let what = format!("{method} {path} with a forged session cookie");
        visitor
            .call(method.clone(), path, body.as_ref())
            .await
            .expect_refusal(StatusCode::UNAUTHORIZED, &what);
    }

    // A method a call does not take is a JSON refusal too, naming the ones it does.
    let wrong_method = visitor
        .send(visitor.request(Method::GET, "/api/incident"))
        .await;
    assert_eq!(wrong_method.header("allow"), Some("POST,PUT"));
    wrong_method.expect_refusal(StatusCode::METHOD_NOT_ALLOWED, "GET /api/incident");

    // What needs no session: the health check, which says the node has read the venue's
    // state (and its voucher replica serves); unknown paths are JSON 404s.
    let health = visitor
        .get("/healthz")
        .await
        .expect(StatusCode::OK, "GET /healthz");
    assert_eq!(health.json()["ready"], true, "{}", health.text());
    assert_eq!(health.json()["synced"], true, "{}", health.text());
    visitor
        .get("/api/no-such-call")
        .await
        .expect_refusal(StatusCode::NOT_FOUND, "an unknown API path");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_refuses_wrong_pins_unknown_names_and_malformed_requests() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let config = write_console_config(directory.path(), "back-office", &broker.url(), "");
    let (_node, _stop, address) = start_console(&config, directory.path());
    let mut client = ConsoleClient::new(address);

    // Malformed requests are refused before any PIN is checked (and are not failures).
    for (body, what) in [
        (json!({ "name": MANAGER }), "a sign-in without a PIN"),
        (json!({ "pin": PIN }), "a sign-in without a name"),
        (json!({ "name": "  ", "pin": PIN }), "a blank name"),
        (
            json!({ "name": "x".repeat(65), "pin": PIN }),
            "a 65-character name",
        ),
        (json!(4821), "a number instead of an object"),
    ] {
        client
            .post_json("/api/session", &body)
            .await
            .expect_refusal(StatusCode::BAD_REQUEST, what);
    }
    let broken = client
        .request(Method::POST, "/api/session")
        .header("Content-Type", "application/json")
        .body("{\"name\": \"Dana\", \"pin\": ");
    client
        .send(broken)
        .await
        .expect_refusal(StatusCode::BAD_REQUEST, "a truncated JSON body");
    let form = client
        .request(Method::POST, "/api/session")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("name=Dana&pin=4821");
    client
        .send(form)
        .await
        .expect_refusal(StatusCode::UNSUPPORTED_MEDIA_TYPE, "a form-encoded sign-in");

    let refusal = client
        .sign_in(MANAGER, "4822")
        .await
        .expect_refusal(StatusCode::UNAUTHORIZED, "a wrong PIN");
    client
        .sign_in("Mallory", PIN)
        .await
        .expect_refusal(StatusCode::UNAUTHORIZED, "an unknown name");
    assert!(client.session_token().is_none(), "no cookie after refusals");
    assert!(
        refusal.contains("PIN"),
        "the refusal says what to check: {refusal}"
    );

    // Two failures are free: the right PIN still works, and the name ignores case.
    let reply = client
        .sign_in("dana", PIN)
        .await
        .expect(StatusCode::OK, "the right PIN after two failures");
    assert_eq!(reply.json()["manager"], MANAGER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_third_failure_makes_every_attempt_wait_per_name_and_per_address() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let config = write_console_config(directory.path(), "back-office", &broker.url(), "");
    let (_node, _stop, address) = start_console(&config, directory.path());
    let mut client = ConsoleClient::new(address);

    for attempt in 1..=3 {
        client
            .sign_in(MANAGER, "0000")
            .await
            .expect_refusal(StatusCode::UNAUTHORIZED, &format!("wrong PIN {attempt}"));
    }
    let held = client.sign_in(MANAGER, "0000").await.expect(
        StatusCode::TOO_MANY_REQUESTS,
        "an attempt right after the third failure",
    );
    let retry_after = held.json()["retry_after_secs"]
        .as_u64()
        .unwrap_or_else(|| panic!("429 without retry_after_secs: {}", held.text()));
    assert_eq!(
        retry_after,
        2,
        "the wait after the third failure is 2 s (rounded up): {}",
        held.text()
    );
    assert_eq!(
        held.header("retry-after"),
        Some("2"),
        "the Retry-After header says the same"
    );
    // The right PIN is not even checked during the wait.
    let error = client.sign_in(MANAGER, PIN).await.expect_refusal(
        StatusCode::TOO_MANY_REQUESTS,
        "the right PIN during the wait",
    );
    assert!(error.contains("wait"), "{error}");

    // Per name: Dana from another address waits too.
    let mut elsewhere =
        ConsoleClient::from_address(address, IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)));
    elsewhere
        .sign_in(MANAGER, PIN)
        .await
        .expect_refusal(StatusCode::TOO_MANY_REQUESTS, "Dana from 127.0.0.2");
    // Per address: another name from the same address waits too.
    client
        .sign_in("Sam", "1234")
        .await
        .expect_refusal(StatusCode::TOO_MANY_REQUESTS, "another name from 127.0.0.1");
    // Neither the name nor the address: checked as usual.
    let mut stranger =
        ConsoleClient::from_address(address, IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3)));
    stranger
        .sign_in("Sam", "1234")
        .await
        .expect_refusal(StatusCode::UNAUTHORIZED, "another name from 127.0.0.3");

    // After the wait the console said, the right PIN works and clears the count.
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    client.sign_in(MANAGER, PIN).await.expect(
        StatusCode::OK,
        "the right PIN once retry_after_secs have passed",
    );
    client.sign_in(MANAGER, "0000").await.expect_refusal(
        StatusCode::UNAUTHORIZED,
        "a wrong PIN after a success is a first failure",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_cookie_is_http_only_and_strict_and_ends_at_sign_out() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let config = write_console_config(directory.path(), "back-office", &broker.url(), "");
    let (_node, _stop, address) = start_console(&config, directory.path());
    let mut client = ConsoleClient::new(address);

    let signed_in = client.sign_in_as_manager().await;
    let cookie = set_cookie(&signed_in).expect("sign-in sets a cookie");
    let attributes = cookie_attributes(&cookie);
    for expected in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(
            attributes.iter().any(|a| a == expected),
            "{expected} in {cookie:?}"
        );
    }
    assert!(
        !attributes.iter().any(|a| a.eq_ignore_ascii_case("Secure")),
        "no Secure over plain HTTP: {cookie:?}"
    );
    let token = client.session_token().unwrap().to_owned();
    assert!(token.len() >= 32, "a long random token: {token:?}");
    let csrf = signed_in.json()["csrf_token"].as_str().unwrap().to_owned();
    assert_ne!(token, csrf, "the CSRF token is not the cookie");

    let session = client
        .get("/api/session")
        .await
        .expect(StatusCode::OK, "GET /api/session")
        .json();
    assert_eq!(session, json!({ "manager": MANAGER, "csrf_token": csrf }));
    let mut events = client.events().await;
    events
        .wait_for_snapshot("the stream's first snapshot", WAIT, |_| true)
        .await;

    let signed_out = client
        .delete("/api/session")
        .await
        .expect(StatusCode::NO_CONTENT, "DELETE /api/session");
    assert_eq!(
        session_cookie_value(&signed_out).as_deref(),
        Some(""),
        "sign-out clears the cookie: {:?}",
        set_cookie(&signed_out)
    );
    assert!(set_cookie(&signed_out).unwrap().contains("Max-Age=0"));
    // The old cookie is worth nothing now.
    client
        .get("/api/session")
        .await
        .expect_refusal(StatusCode::UNAUTHORIZED, "GET /api/session after sign-out");
    client
        .get("/api/state")
        .await
        .expect_refusal(StatusCode::UNAUTHORIZED, "GET /api/state after sign-out");
    // The live stream opened before ends at the venue's next change instead of
    // carrying it; the console's own thumbnail makes one.
    let (publisher, _task) = raw_publisher(broker.port);
    let png = tiny_png([0xff, 0xb3, 0x00]);
    let topic = thumbnail_topic("back-office");
    publisher
        .publish(topic, rumqttc::QoS::AtLeastOnce, true, png)
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    let ended = loop {
        match events.next_snapshot(deadline).await {
            Ok(snapshot) => assert!(
                !snapshot["nodes"].to_string().contains("\"thumbnail\""),
                "a snapshot after sign-out: {snapshot}"
            ),
            Err(reason) => break reason,
        }
    };
    assert_eq!(ended, "the event stream ended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_sets_a_secure_cookie_and_plain_http_gets_nowhere() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed_certificate(directory.path());
    let tls = format!(
        "tls_cert_file = \"{}\"\ntls_key_file = \"{}\"",
        cert.display(),
        key.display()
    );
    let config = write_console_config(directory.path(), "back-office", &broker.url(), &tls);
    let (_node, _stop, address) = start_console(&config, directory.path());

    let trusted = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(&cert).unwrap()).unwrap(),
        )
        .build()
        .unwrap();
    let mut client =
        ConsoleClient::with_http(format!("https://127.0.0.1:{}", address.port()), trusted);
    let signed_in = client.sign_in_as_manager().await;
    let cookie = set_cookie(&signed_in).expect("a cookie over HTTPS");
    let attributes = cookie_attributes(&cookie);
    for expected in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(
            attributes.iter().any(|a| a == expected),
            "{expected} in {cookie:?}"
        );
    }
    client
        .get("/api/session")
        .await
        .expect(StatusCode::OK, "the session over HTTPS");

    let plain = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
        .get(format!("http://{address}/healthz"))
        .send()
        .await;
    match plain {
        Err(error) => assert!(!error.is_timeout(), "refused, not hanging: {error}"),
        Ok(response) => panic!("plain HTTP got an answer: {}", response.status()),
    }
}
