//! The LAN listener (`[lan]`) on a real till with a detector, against a real Mosquitto:
//! a POS server on another machine reports card failures with its own token and the
//! venue goes cash only; a till issues and redeems through the same listener with its
//! token; every refusal (no token, a wrong one, a permission the token lacks, a bad
//! body, an unknown path, a flood of wrong tokens) is JSON with a reason and changes
//! nothing; with a certificate it speaks HTTPS and plain HTTP gets no answer, and the
//! shipped example (`contrib/pos-on-the-lan.sh`, curl) works against it.

mod common;

use common::counters::start_counter;
use common::*;
use raincheck::model::{compute_view, ViewMode};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);
const POS_TOKEN: &str = "4f7b2a0c1d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a";
const TILL_TOKEN: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A till (`counter` and `detector`) whose only payment source is the POS on the LAN.
fn till_with_lan(directory: &Path, url: &str, port: u16, tls: &str) -> PathBuf {
    let path = write_counter_config(directory, "till-1", 1, "allow", Some(url));
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "roles = [\"counter\"]",
        "roles = [\"counter\", \"detector\"]",
    );
    let hash = raincheck::config::access_key_hash;
    let text = format!(
        "{text}[detection]\npos_source = \"pos\"\nenter_failures = 3\nenter_window_secs = 60\n\
         [lan]\nlisten = \"127.0.0.1:{port}\"\n{tls}\n\
         [[lan.clients]]\nname = \"pos-server\"\ntoken_hash = \"{}\"\nmay = [\"payments\"]\n\
         [[lan.clients]]\nname = \"till-3\"\ntoken_hash = \"{}\"\nmay = [\"vouchers\"]\n",
        hash(POS_TOKEN),
        hash(TILL_TOKEN)
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// POSTs `body` (JSON text) with `token`; the status, the answer as JSON and the
/// `WWW-Authenticate`/`Retry-After` headers.
async fn call(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: String,
) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    let mut request = http
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect(url);
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    let value = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("{url} answered {status} with something not JSON: {text:?}"));
    (status, value, headers)
}

fn error_of(value: &Value) -> &str {
    value["error"].as_str().unwrap_or("")
}

#[test]
fn a_pos_and_a_till_on_the_lan_each_do_what_their_token_allows() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let url = broker.url();
    let port = free_port();
    let config = till_with_lan(directory.path(), &url, port, "");
    let runtime = runtime();
    let (node, _stop, till) = runtime.block_on(async { start_counter(&config, directory.path()) });
    assert_eq!(node.lan.map(|a| a.port()), Some(port));
    runtime.block_on(async {
        let http = reqwest::Client::builder().timeout(WAIT).build().unwrap();
        let base = format!("http://127.0.0.1:{port}");
        common::counters::wait_till_serving(&http, &base).await;
        let vouchers = format!("{base}/v1/vouchers");
        let redemptions = format!("{base}/v1/redemptions");
        let reports = format!("{base}/v1/authorisations");
        let issue = json!({ "offer": "popcorn", "staff": "412" }).to_string();

        // No token, a wrong token, and a token without the permission: refused, in JSON.
        let (status, answer, headers) = call(&http, &vouchers, None, issue.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
        assert!(
            error_of(&answer).contains("Authorization: Bearer"),
            "{answer}"
        );
        assert!(headers.contains_key("www-authenticate"));
        let (status, answer, _) =
            call(&http, &vouchers, Some(&"0".repeat(64)), issue.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
        assert!(error_of(&answer).contains("lan.clients"), "{answer}");
        let (status, answer, _) = call(&http, &vouchers, Some(POS_TOKEN), issue.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
        assert!(error_of(&answer).contains("\"vouchers\""), "{answer}");
        let (status, answer, _) = call(
            &http,
            &reports,
            Some(TILL_TOKEN),
            json!({ "outcome": "error" }).to_string(),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
        assert!(error_of(&answer).contains("\"payments\""), "{answer}");
        // Nothing was issued by the refused calls.
        let lookup_of_nothing = till.records().await.expect("the till's records");
        assert!(lookup_of_nothing.is_empty(), "{lookup_of_nothing:?}");

        // The till's token issues and redeems: durable answers, as on the loopback API.
        let (status, issued, _) = call(&http, &vouchers, Some(TILL_TOKEN), issue.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{issued}");
        let code = issued["code"].as_str().expect("a code").to_owned();
        let redeem = json!({ "code": code, "staff": "412" }).to_string();
        let (status, answer, _) = call(&http, &redemptions, Some(TILL_TOKEN), redeem.clone()).await;
        assert_eq!(
            (status, answer["answer"].as_str()),
            (StatusCode::OK, Some("VALID")),
            "{answer}"
        );
        assert_eq!(answer["offer"], "popcorn");
        let (status, answer, _) = call(&http, &redemptions, Some(TILL_TOKEN), redeem).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(answer["answer"], "ALREADY REDEEMED", "{answer}");
        let record = till.records().await.expect("the till's records");
        assert_eq!(record.len(), 1, "one voucher: {record:?}");

        // Bad bodies and unknown paths: specific JSON refusals.
        let (status, answer, _) =
            call(&http, &vouchers, Some(TILL_TOKEN), "{\"offer\": ".into()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert!(
            error_of(&answer).contains("not what this call expects"),
            "{answer}"
        );
        let huge = json!({ "offer": "popcorn", "staff": "x".repeat(10_000) }).to_string();
        let (status, answer, _) = call(&http, &vouchers, Some(TILL_TOKEN), huge).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
        let (status, answer, _) = call(
            &http,
            &format!("{base}/v1/refunds"),
            Some(TILL_TOKEN),
            "{}".into(),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
        assert!(error_of(&answer).contains("The LAN listener"), "{answer}");

        // The POS server's card failures raise the venue's automatic incident.
        let mut bus = observer(&url).await;
        for _ in 0..3 {
            let report = json!({ "outcome": "error", "terminal": "pos-7" }).to_string();
            let (status, answer, _) = call(&http, &reports, Some(POS_TOKEN), report).await;
            assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
        }
        wait_for(
            &mut bus,
            WAIT,
            "three POS errors over the LAN go cash only",
            |s| compute_view(s).mode == ViewMode::CashOnly,
        )
        .await;

        // A flood of wrong tokens from one address is slowed down, the right one too.
        let mut throttled = None;
        for attempt in 0..20 {
            let (status, answer, headers) = call(
                &http,
                &vouchers,
                Some(&format!("{attempt:064}")),
                issue.clone(),
            )
            .await;
            if status == StatusCode::TOO_MANY_REQUESTS {
                throttled = Some((attempt, answer, headers));
                break;
            }
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
        }
        let (attempt, answer, headers) = throttled.expect("wrong tokens are throttled");
        assert!(attempt <= 7, "throttled after {attempt} wrong tokens");
        assert!(
            error_of(&answer).contains("too many wrong tokens"),
            "{answer}"
        );
        assert!(headers.contains_key("retry-after"));
        let (status, _, _) = call(&http, &vouchers, Some(TILL_TOKEN), issue).await;
        assert_eq!(
            status,
            StatusCode::TOO_MANY_REQUESTS,
            "the address waits, whatever it sends"
        );
        assert_eq!(
            till.records().await.expect("records").len(),
            1,
            "nothing more issued"
        );
    });
}

#[test]
fn with_a_certificate_the_lan_listener_speaks_only_https() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed_certificate(directory.path());
    let port = free_port();
    let tls = format!(
        "tls_cert_file = \"{}\"\ntls_key_file = \"{}\"",
        cert.display(),
        key.display()
    );
    let config = till_with_lan(directory.path(), &broker.url(), port, &tls);
    let runtime = runtime();
    let (_node, _stop, _till) =
        runtime.block_on(async { start_counter(&config, directory.path()) });
    runtime.block_on(async {
        let trusted = reqwest::Client::builder()
            .add_root_certificate(
                reqwest::Certificate::from_pem(&std::fs::read(&cert).unwrap()).unwrap(),
            )
            .timeout(WAIT)
            .build()
            .unwrap();
        let base = format!("https://127.0.0.1:{port}");
        common::counters::wait_till_serving(&trusted, &base).await;
        let issue = json!({ "offer": "popcorn" }).to_string();
        let (status, issued, _) = call(
            &trusted,
            &format!("{base}/v1/vouchers"),
            Some(TILL_TOKEN),
            issue,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{issued}");

        let plain = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap()
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await;
        match plain {
            Err(error) => assert!(!error.is_timeout(), "refused, not hanging: {error}"),
            Ok(response) => panic!("plain HTTP got an answer: {}", response.status()),
        }

        // The shipped integration example, as a POS on another box would run it.
        let script = |token: &str, args: &[&str]| {
            let output = std::process::Command::new("sh")
                .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/pos-on-the-lan.sh"))
                .args(args)
                .env("RAINCHECK_LAN", &base)
                .env("RAINCHECK_TOKEN", token)
                .env("RAINCHECK_CA", &cert)
                .output()
                .expect("run sh (and curl) for contrib/pos-on-the-lan.sh");
            (
                output.status.code(),
                stdout_of(&output).trim().to_owned(),
                stderr_of(&output),
            )
        };
        let (status, code, errors) = script(TILL_TOKEN, &["issue", "popcorn", "412"]);
        assert_eq!(status, Some(0), "{errors}");
        assert_eq!(code.len(), 19, "a code like 7K3Q-9ZX1-M4TB-0C2W: {code:?}");
        assert_eq!(script(TILL_TOKEN, &["redeem", &code, "412"]).1, "VALID");
        let (status, answer, _) = script(TILL_TOKEN, &["redeem", &code]);
        assert_eq!((status, answer.as_str()), (Some(1), "ALREADY REDEEMED"));
        let (status, _, errors) = script(POS_TOKEN, &["report", "declined", "pos-7"]);
        assert_eq!(status, Some(0), "{errors}");
        let (status, _, errors) = script(POS_TOKEN, &["issue", "popcorn"]);
        assert_eq!(status, Some(1));
        assert!(
            errors.contains("403") && errors.contains("may not use"),
            "{errors}"
        );
    });
}
