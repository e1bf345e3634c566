//! The web counter's API on a real till (in-process, real Mosquitto, real voucher store):
//! sign-in with a wrong PIN refused and throttled, the right PIN works and the cookie is
//! HttpOnly, SameSite=Strict and scoped to /counter; a state change without the CSRF token
//! is refused and changes nothing; issue → code, redeem → VALID, again → ALREADY REDEEMED,
//! the stored records carrying the staff number; staff voids limited to this till's
//! unredeemed vouchers; malformed, oversized and mistyped bodies refused with JSON; a
//! flood of live streams from one device refused with Retry-After. The page itself, in
//! real Chromium, is in tests/web_counter_page.rs.

mod common;
#[path = "web_counter/support.rs"]
mod support;

use common::mosquitto;
use common::{console::stop_node, runtime};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::net::IpAddr;
use std::time::Duration;
use support::*;

#[test]
fn staff_sign_in_is_throttled_and_every_change_needs_the_session_and_its_token() {
    let Some(broker) = mosquitto("") else {
        return;
    };
    let directory = tempfile::tempdir().unwrap();
    runtime().block_on(async {
        let till = start_till(directory.path(), &broker.url()).await;
        let address = till.address;

        // The page before sign-in: embedded, locked down, worded in the asked language.
        let mut page = Page::new(address);
        let shell = page
            .get("/counter")
            .await
            .expect(StatusCode::OK, "the page");
        let policy = shell.header("content-security-policy").unwrap_or_default();
        assert!(
            policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"),
            "{policy}"
        );
        let labels = page
            .get("/counter/api/labels?lang=es")
            .await
            .expect(StatusCode::OK, "labels")
            .json();
        assert_eq!(labels["language"], "es");
        assert_eq!(labels["labels"]["check_and_redeem"], "Comprobar y canjear");
        let state = page.get("/counter/api/state").await;
        state.expect_refusal(StatusCode::UNAUTHORIZED, "the status needs a sign-in");

        // The right PIN: a session cookie the page's script cannot read, for /counter only.
        let signed = page
            .sign_in(STAFF, PIN)
            .await
            .expect(StatusCode::OK, "0412 signs in");
        assert_eq!(signed.json()["staff"], STAFF);
        let cookie = signed.header("set-cookie").unwrap_or_default().to_owned();
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/counter"] {
            assert!(cookie.contains(attribute), "{attribute} in {cookie}");
        }
        assert!(!cookie.contains("Secure"), "plain HTTP: no Secure flag");
        let status = page
            .get("/counter/api/state")
            .await
            .expect(StatusCode::OK, "status")
            .json();
        assert!(
            ["booting", "normal"].contains(&status["mode"].as_str().unwrap()),
            "{status}"
        );

        // Wrong PINs from another device: refused, then throttled, even the right PIN.
        let mut guesser = Page::from_address(address, IpAddr::from([127, 0, 0, 2]));
        for attempt in 1..=3 {
            let error = guesser
                .sign_in(OTHER_STAFF, "0000")
                .await
                .expect_refusal(StatusCode::UNAUTHORIZED, &format!("wrong PIN {attempt}"));
            assert!(error.contains("do not match"), "{error}");
        }
        let throttled = guesser.sign_in(OTHER_STAFF, OTHER_PIN).await;
        let retry = throttled.header("retry-after").map(str::to_owned);
        let error = throttled.expect_refusal(StatusCode::TOO_MANY_REQUESTS, "throttled");
        assert!(retry.is_some() && error.contains("wait"), "{error}");
        // An unknown number gets the same sentence as a wrong PIN; a malformed one is told why.
        let mut stranger = Page::from_address(address, IpAddr::from([127, 0, 0, 3]));
        let error = stranger
            .sign_in("999", "1234")
            .await
            .expect_refusal(StatusCode::UNAUTHORIZED, "unknown");
        assert!(error.contains("do not match"), "{error}");
        stranger
            .sign_in("12ab", "1234")
            .await
            .expect_refusal(StatusCode::BAD_REQUEST, "not a number");

        // No CSRF token, a wrong one, a forged cookie: refused, and nothing is written.
        let token = page.csrf.clone();
        page.csrf = None;
        page.post("/counter/api/issue", &json!({ "offer": "popcorn" }))
            .await
            .expect_refusal(StatusCode::FORBIDDEN, "issue without the CSRF token");
        page.csrf = Some("0".repeat(64));
        page.post("/counter/api/issue", &json!({ "offer": "popcorn" }))
            .await
            .expect_refusal(StatusCode::FORBIDDEN, "issue with a wrong CSRF token");
        page.csrf = token;
        let mut forged = Page::new(address);
        forged.session = Some("f".repeat(64));
        forged.csrf = page.csrf.clone();
        forged
            .post("/counter/api/issue", &json!({ "offer": "popcorn" }))
            .await
            .expect_refusal(StatusCode::UNAUTHORIZED, "a forged session");
        assert!(
            till.counter.records().await.unwrap().is_empty(),
            "nothing was issued"
        );

        // Issue, redeem, redeem again: the native counter's answers, staff 0412 on record.
        let issued = page
            .post("/counter/api/issue", &json!({ "offer": "popcorn" }))
            .await
            .expect(StatusCode::CREATED, "issue")
            .json();
        let code = issued["code"].as_str().expect("a code").to_owned();
        assert!(
            issued["line"].as_str().unwrap().contains(POPCORN),
            "{issued}"
        );
        assert!(
            issued["qr_svg"].as_str().unwrap().starts_with("<svg"),
            "{issued}"
        );
        let valid = page
            .post(
                "/counter/api/redeem",
                &json!({ "code": code.to_lowercase() }),
            )
            .await
            .expect(StatusCode::OK, "redeem")
            .json();
        assert_eq!(
            (valid["answer"].as_str(), valid["kind"].as_str()),
            (Some("VALID"), Some("good")),
            "{valid}"
        );
        assert!(
            valid["detail"].as_str().unwrap().contains(POPCORN),
            "{valid}"
        );
        let again = page
            .post(
                "/counter/api/redeem",
                &json!({ "code": code, "language": "es" }),
            )
            .await
            .expect(StatusCode::OK, "redeem again")
            .json();
        assert_eq!(again["answer"], "ALREADY REDEEMED", "{again}");
        assert_ne!(
            again["headline"], "ALREADY REDEEMED",
            "worded in Spanish: {again}"
        );
        let record = page
            .get(&format!("/counter/api/vouchers/{code}"))
            .await
            .expect(StatusCode::OK, "record")
            .json();
        assert_eq!(record["issued"]["staff"], STAFF, "{record}");
        assert_eq!(record["redemptions"][0]["staff"], STAFF, "{record}");
        assert_eq!(
            record["redemptions"].as_array().unwrap().len(),
            1,
            "{record}"
        );
        let (_, stored) = till.counter.lookup(code.clone()).await.unwrap();
        assert_eq!(
            stored.unwrap().issued.unwrap().staff.as_deref(),
            Some(STAFF)
        );

        // Staff void what this till issued and nobody redeemed, with a reason; no more.
        let spare = page
            .post("/counter/api/issue", &json!({ "offer": "popcorn" }))
            .await
            .expect(StatusCode::CREATED, "a second voucher")
            .json()["code"]
            .as_str()
            .unwrap()
            .to_owned();
        page.post(
            "/counter/api/void",
            &json!({ "code": spare, "reason": " " }),
        )
        .await
        .expect_refusal(StatusCode::BAD_REQUEST, "a void needs a reason");
        let error = page
            .post(
                "/counter/api/void",
                &json!({ "code": code, "reason": "printed twice" }),
            )
            .await
            .expect_refusal(
                StatusCode::FORBIDDEN,
                "a redeemed voucher is a manager's call",
            );
        assert!(error.contains("manager"), "{error}");
        page.post(
            "/counter/api/void",
            &json!({ "code": spare, "reason": "printed twice" }),
        )
        .await
        .expect(StatusCode::OK, "void a fresh mistake");
        let (_, voided) = till.counter.lookup(spare.clone()).await.unwrap();
        let (mark, reason) = voided.unwrap().voided.expect("voided on disk");
        assert_eq!(
            (mark.staff.as_deref(), reason.as_str()),
            (Some(STAFF), "printed twice")
        );
        page.post(
            "/counter/api/void",
            &json!({ "code": spare, "reason": "again" }),
        )
        .await
        .expect_refusal(StatusCode::CONFLICT, "a void happens once");
        let answer = page
            .post("/counter/api/redeem", &json!({ "code": spare }))
            .await
            .json();
        assert_eq!(answer["answer"], "VOIDED", "{answer}");

        // Malformed, mistyped and oversized bodies: JSON refusals, nothing written.
        let before = till.counter.records().await.unwrap().len();
        let raw = |body: &'static str, kind: &'static str| {
            page.request(Method::POST, "/counter/api/issue")
                .header("Content-Type", kind)
                .body(body)
        };
        page.send(raw("{\"offer\":", "application/json"))
            .await
            .expect_refusal(StatusCode::BAD_REQUEST, "truncated JSON");
        page.send(raw("offer=popcorn", "text/plain"))
            .await
            .expect_refusal(StatusCode::UNSUPPORTED_MEDIA_TYPE, "not JSON");
        page.post(
            "/counter/api/issue",
            &json!({ "offer": "popcorn", "staff": "9999" }),
        )
        .await
        .expect_refusal(
            StatusCode::BAD_REQUEST,
            "the page cannot name another member of staff",
        );
        page.post("/counter/api/issue", &json!({ "offer": "champagne" }))
            .await
            .expect_refusal(StatusCode::CONFLICT, "an offer this till does not give");
        let huge = json!({ "code": "X".repeat(8000) });
        page.post("/counter/api/redeem", &huge)
            .await
            .expect_refusal(StatusCode::PAYLOAD_TOO_LARGE, "oversized");
        page.get("/counter/api/issue")
            .await
            .expect_refusal(StatusCode::METHOD_NOT_ALLOWED, "a GET where a POST goes");
        page.get("/counter/api/vouchers/%FF%FE")
            .await
            .expect_refusal(StatusCode::BAD_REQUEST, "a code that is not text");
        assert_eq!(
            till.counter.records().await.unwrap().len(),
            before,
            "nothing written"
        );

        // The live stream: a status at once; one device holds a few streams, not a flood.
        let mut live = page.live().await;
        assert_eq!(live.status(), StatusCode::OK);
        let first = next_event(&mut live, "status", Duration::from_secs(5))
            .await
            .expect("a status event");
        assert!(
            first["banner"].as_str().is_some_and(|b| !b.is_empty()),
            "{first}"
        );
        let mut held = vec![live];
        let flood = page.live().await;
        let mut refused = None;
        for _ in 0..10 {
            let response = page.live().await;
            if response.status() == StatusCode::TOO_MANY_REQUESTS {
                refused = Some(response);
                break;
            }
            held.push(response);
        }
        let refused = refused.expect("a flood of streams from one device is refused");
        assert!(refused.headers().contains_key("retry-after"));
        let body: serde_json::Value = refused.json().await.expect("a JSON refusal");
        assert!(
            body["error"].as_str().is_some_and(|e| e.contains("live")),
            "{body}"
        );
        drop((held, flood));

        // Signing out ends the session for every call.
        page.post("/counter/api/sign-out", &json!({}))
            .await
            .expect(StatusCode::NO_CONTENT, "sign out");
        page.get("/counter/api/state")
            .await
            .expect_refusal(StatusCode::UNAUTHORIZED, "signed out");
        stop_node(till.node, till.trigger).await;
    });
}

#[test]
fn over_https_the_session_cookie_is_secure() {
    let Some(broker) = mosquitto("") else {
        return;
    };
    let directory = tempfile::tempdir().unwrap();
    let (cert, key) = common::self_signed_certificate(directory.path());
    let tls = format!(
        "tls_cert_file = \"{}\"\ntls_key_file = \"{}\"",
        cert.display(),
        key.display()
    );
    runtime().block_on(async {
        let trusted = reqwest::Client::builder()
            .add_root_certificate(
                reqwest::Certificate::from_pem(&std::fs::read(&cert).unwrap()).unwrap(),
            )
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let till = start_till_with(directory.path(), &broker.url(), &tls, &trusted, "https").await;
        let mut page = Page::with_client(format!("https://{}", till.address), trusted);
        page.get("/counter")
            .await
            .expect(StatusCode::OK, "the page over HTTPS");
        let signed = page
            .sign_in(STAFF, PIN)
            .await
            .expect(StatusCode::OK, "0412 signs in over HTTPS");
        let cookie = signed.header("set-cookie").unwrap_or_default().to_owned();
        assert!(cookie.contains("; Secure"), "{cookie}");
        let signed_out = page.post("/counter/api/sign-out", &json!({})).await;
        let expired = signed_out
            .header("set-cookie")
            .unwrap_or_default()
            .to_owned();
        assert!(
            expired.contains("Max-Age=0") && expired.contains("; Secure"),
            "{expired}"
        );
        stop_node(till.node, till.trigger).await;
    });
}
