//! The console's read-only feeds against a real console node and a real Mosquitto: a
//! manager declares cash only (with XML specials and a control character in the
//! headline, and a Spanish translation), updates and resolves it, and the CAP feed
//! follows as Alert → Update (referencing the Alert) → Cancel (referencing the Update),
//! every document valid against the shipped CAP 1.2 schema (`xmllint --schema`), the
//! manager's words coming back exactly; the JSON status follows the same steps. Also:
//! missing and wrong keys get 401 and no data, a flood of them 429; CORS answers only
//! the configured origin; before anything is declared the CAP feed is empty (204).

mod common;

use common::console::*;
use common::{mosquitto, VENUE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::Command;

const KEY: &str = "5f0c1e3a9b7d2468ace013579bdf2468ace013579bdf2468ace013579bdf2468";
const ORIGIN: &str = "https://www.rialto.example";
const HEADLINE: &str = "Cash <only> & \"cards\" ]]> off\u{7}now";
/// The headline as a screen shows it: the control character becomes a space.
const HEADLINE_SHOWN: &str = "Cash <only> & \"cards\" ]]> off now";
const SPANISH: &str = "Solo efectivo <ya> & gracias";
const SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/cap/CAP-v1.2.xsd");

fn xmllint() -> bool {
    let found = Command::new("xmllint")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        if std::env::var("RAINCHECK_REQUIRE_XMLLINT").as_deref() == Ok("1") {
            panic!("RAINCHECK_REQUIRE_XMLLINT=1 but xmllint is not installed (apt-get install libxml2-utils)");
        }
        eprintln!("note: xmllint is not installed (apt-get install libxml2-utils); the CAP documents are not checked against the schema");
    }
    found
}

/// Checks `xml` against the CAP 1.2 schema and returns the headline of its first `info`
/// as an XML parser reads it (so escaping is proved to round-trip).
fn validate(directory: &Path, xml: &str, what: &str) -> Option<String> {
    if !xmllint() {
        return None;
    }
    let file = directory.join("alert.xml");
    std::fs::write(&file, xml).unwrap();
    let output = Command::new("xmllint")
        .args(["--noout", "--schema", SCHEMA])
        .arg(&file)
        .output()
        .expect("run xmllint");
    assert!(
        output.status.success(),
        "{what}: not valid CAP 1.2:\n{}\n{xml}",
        String::from_utf8_lossy(&output.stderr)
    );
    let headline = Command::new("xmllint")
        .args(["--xpath", "string((//*[local-name()='headline'])[1])"])
        .arg(&file)
        .output()
        .expect("run xmllint --xpath");
    let text = String::from_utf8_lossy(&headline.stdout);
    // xmllint ends what it prints with a line break of its own.
    Some(text.strip_suffix('\n').unwrap_or(&text).to_owned())
}

/// The text of the first `<name>` element (still escaped).
fn tag<'a>(xml: &'a str, name: &str) -> &'a str {
    let open = format!("<{name}>");
    let start = xml
        .find(&open)
        .unwrap_or_else(|| panic!("no <{name}> in {xml}"))
        + open.len();
    let end = xml[start..].find(&format!("</{name}>")).unwrap() + start;
    &xml[start..end]
}

struct Feeds {
    http: reqwest::Client,
    base: String,
}

impl Feeds {
    fn new(address: SocketAddr, from: Option<IpAddr>) -> Self {
        Self {
            http: reqwest::Client::builder()
                .local_address(from)
                .build()
                .unwrap(),
            base: format!("http://{address}"),
        }
    }

    async fn send(&self, method: Method, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = tokio::time::timeout(std::time::Duration::from_secs(10), request.send())
            .await
            .expect("the feed answers within 10 s")
            .expect("the console answers");
        Reply {
            status: response.status(),
            headers: response.headers().clone(),
            body: response.bytes().await.unwrap().to_vec(),
        }
    }

    async fn get(&self, path: &str) -> Reply {
        let bearer = format!("Bearer {KEY}");
        self.send(Method::GET, path, &[("Authorization", &bearer)])
            .await
    }

    async fn cap(&self, directory: &Path, what: &str, headline: Option<&str>) -> String {
        let reply = self
            .get("/feeds/cap.xml")
            .await
            .expect(StatusCode::OK, what);
        assert_eq!(reply.header("cache-control"), Some("no-store"), "{what}");
        let xml = reply.text();
        let parsed = validate(directory, &xml, what);
        if let (Some(parsed), Some(headline)) = (parsed, headline) {
            assert_eq!(parsed, headline, "{what}: the headline round-trips");
        }
        xml
    }

    async fn status(&self) -> Value {
        self.get("/feeds/status.json")
            .await
            .expect(StatusCode::OK, "the status feed")
            .json()
    }
}

async fn declared(client: &ConsoleClient, events: &mut SnapshotStream, revision: u64) {
    events
        .wait_for_snapshot("the declaration is the venue's view", WAIT, |s| {
            view_revision(s) == revision
        })
        .await;
    assert_eq!(client.state().await["view"]["revision"], revision);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cap_and_status_follow_an_incident_and_refuse_strangers() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    let extra = format!(
        r#"[console.feeds]
keys = [{{ name = "website", key_hash = "{}" }}]
cors_origins = ["{ORIGIN}"]

[display]
languages = ["en", "es"]
"#,
        raincheck::config::access_key_hash(KEY)
    );
    let config = write_console_config(directory.path(), "back-office", &broker.url(), &extra);
    let (node, stop, address) = start_console(&config, directory.path());
    let mut client = ConsoleClient::new(address);
    client.sign_in_as_manager().await;
    wait_until_console_reads_the_venue(&client).await;
    let feeds = Feeds::new(address, None);

    // Nothing declared: no alert (204, empty), and the status says normal.
    let empty = feeds.get("/feeds/cap.xml").await;
    assert_eq!(empty.status, StatusCode::NO_CONTENT, "{}", empty.text());
    assert!(empty.body.is_empty());
    let status = feeds.status().await;
    assert_eq!(status["mode"], "normal");
    assert_eq!(status["incident_id"], Value::Null);

    // Strangers: no key, a wrong key in either place — 401, a sentence, and no data.
    let wrong = format!("Bearer {}", KEY.replace('5', "6"));
    for (path, headers, what) in [
        ("/feeds/cap.xml", vec![], "no key"),
        (
            "/feeds/status.json",
            vec![("Authorization", wrong.as_str())],
            "a wrong bearer key",
        ),
        ("/feeds/cap.xml?key=0123", vec![], "a wrong ?key"),
        ("/feeds/status.json?key=", vec![], "an empty ?key"),
    ] {
        let reply = feeds.send(Method::GET, path, &headers).await;
        let body = reply.text();
        let error = reply.expect_refusal(StatusCode::UNAUTHORIZED, what);
        assert!(error.contains("key"), "{what}: {error}");
        assert!(
            !body.contains("rialto") && !body.contains("mode"),
            "{what}: {body}"
        );
    }
    // The key in the address works too (what CAP readers that fetch plain URLs use).
    feeds
        .send(Method::GET, &format!("/feeds/status.json?key={KEY}"), &[])
        .await
        .expect(StatusCode::OK, "the key as ?key=");

    // Declare: the Alert, in both languages, the manager's words escaped.
    let mut events = client.events().await;
    let declaration = client
        .post_json(
            "/api/incident",
            &json!({ "texts": { "headline": HEADLINE },
                     "translations": { "es": { "headline": SPANISH } } }),
        )
        .await
        .expect(StatusCode::OK, "declare")
        .json();
    let incident = declaration["incident_id"].as_str().unwrap().to_owned();
    declared(
        &client,
        &mut events,
        declaration["revision"].as_u64().unwrap(),
    )
    .await;
    let alert = feeds
        .cap(directory.path(), "the Alert", Some(HEADLINE_SHOWN))
        .await;
    assert_eq!(tag(&alert, "msgType"), "Alert");
    assert_eq!(tag(&alert, "status"), "Actual");
    assert_eq!(tag(&alert, "identifier"), format!("{VENUE}.{incident}"));
    assert!(!alert.contains("<references>"), "{alert}");
    assert!(
        alert.contains(
            "<headline>Cash &lt;only&gt; &amp; &quot;cards&quot; ]]&gt; off now</headline>"
        ),
        "{alert}"
    );
    assert!(alert.contains("<language>es</language>"), "{alert}");
    assert!(
        alert.contains("<headline>Solo efectivo &lt;ya&gt; &amp; gracias</headline>"),
        "{alert}"
    );
    assert!(alert.contains(&format!("<senderName>{VENUE_NAME}</senderName>")));
    assert!(alert.contains("<expires>"));
    let status = feeds.status().await;
    assert_eq!(status["mode"], "cash_only");
    assert_eq!(status["incident_id"], incident.as_str());
    assert_eq!(status["texts"]["en"]["headline"], HEADLINE_SHOWN);
    assert_eq!(status["texts"]["es"]["headline"], SPANISH);
    assert!(status["since"].is_string());

    // Update: references the Alert (sender, identifier, sent).
    let update = client
        .put_json(
            "/api/incident",
            &json!({ "texts": { "body": "Back soon & sorry" } }),
        )
        .await
        .expect(StatusCode::OK, "update")
        .json();
    declared(&client, &mut events, update["revision"].as_u64().unwrap()).await;
    let updated = feeds
        .cap(directory.path(), "the Update", Some(HEADLINE_SHOWN))
        .await;
    assert_eq!(tag(&updated, "msgType"), "Update");
    let alert_ref = format!(
        "{},{},{}",
        tag(&alert, "sender"),
        tag(&alert, "identifier"),
        tag(&alert, "sent")
    );
    assert!(
        tag(&updated, "references").contains(&alert_ref),
        "{updated}"
    );
    assert_ne!(tag(&updated, "identifier"), tag(&alert, "identifier"));
    assert!(updated.contains("<description>Back soon &amp; sorry</description>"));

    // Resolve: a Cancel referencing the Update; the status says all clear.
    let resolve = client
        .post_json("/api/incident/resolve", &json!({}))
        .await
        .expect(StatusCode::OK, "resolve")
        .json();
    let resolved_revision = resolve["revision"].as_u64().unwrap();
    declared(&client, &mut events, resolved_revision).await;
    let cancel = feeds.cap(directory.path(), "the Cancel", None).await;
    assert_eq!(tag(&cancel, "msgType"), "Cancel");
    let update_ref = format!(
        "{},{},{}",
        tag(&updated, "sender"),
        tag(&updated, "identifier"),
        tag(&updated, "sent")
    );
    assert!(tag(&cancel, "references").contains(&update_ref), "{cancel}");
    let status = feeds.status().await;
    assert_eq!(status["mode"], "all_clear");
    assert_eq!(status["revision"], resolved_revision);

    // CORS: the configured origin only, preflight included.
    let allowed = feeds
        .send(
            Method::GET,
            "/feeds/status.json",
            &[
                ("Authorization", &format!("Bearer {KEY}")),
                ("Origin", ORIGIN),
            ],
        )
        .await
        .expect(StatusCode::OK, "GET from the allowed origin");
    assert_eq!(allowed.header("access-control-allow-origin"), Some(ORIGIN));
    let stranger = feeds
        .send(
            Method::GET,
            "/feeds/status.json",
            &[
                ("Authorization", &format!("Bearer {KEY}")),
                ("Origin", "https://evil.example"),
            ],
        )
        .await;
    assert_eq!(stranger.header("access-control-allow-origin"), None);
    let preflight = feeds
        .send(
            Method::OPTIONS,
            "/feeds/status.json",
            &[
                ("Origin", ORIGIN),
                ("Access-Control-Request-Method", "GET"),
                ("Access-Control-Request-Headers", "authorization"),
            ],
        )
        .await
        .expect(StatusCode::NO_CONTENT, "preflight from the allowed origin");
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some(ORIGIN)
    );
    assert!(preflight
        .header("access-control-allow-headers")
        .is_some_and(|h| h.eq_ignore_ascii_case("authorization")));
    feeds
        .send(
            Method::OPTIONS,
            "/feeds/status.json",
            &[("Origin", "https://evil.example")],
        )
        .await
        .expect_refusal(StatusCode::FORBIDDEN, "preflight from another origin");

    // A flood of wrong keys from one address: refused, then made to wait — and the
    // right key from another address still reads.
    let flooder = Feeds::new(address, Some("127.0.0.7".parse().unwrap()));
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let reply = flooder
            .send(Method::GET, "/feeds/cap.xml", &[("Authorization", &wrong)])
            .await;
        statuses.push(reply.status);
    }
    assert!(
        statuses[..5].iter().all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    let throttled = flooder
        .send(
            Method::GET,
            "/feeds/cap.xml",
            &[("Authorization", &format!("Bearer {KEY}"))],
        )
        .await;
    assert!(
        throttled.header("retry-after").is_some(),
        "{:?}",
        throttled.headers
    );
    throttled.expect_refusal(
        StatusCode::TOO_MANY_REQUESTS,
        "the right key while throttled",
    );
    feeds.status().await;

    stop_node(node, stop).await;
}
