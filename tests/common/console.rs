//! The manager's console under test: its config (one manager, Dana, PIN 4821; the venue's
//! popcorn offer and voucher secret), the console node in-process, headless display nodes
//! as real `raincheck run` processes, and a small HTTP client that carries the session
//! cookie and CSRF token itself (so tests can inspect both) and reads the live snapshot
//! stream. Shared by the API tests and the browser test.

use super::{write_config, NodeProcess, VENUE, VOUCHER_SECRET};
use raincheck::app::{start_node, NodeHandle};
use raincheck::shutdown::{shutdown_pair, ShutdownTrigger};
use reqwest::header::{HeaderMap, CONTENT_TYPE, SET_COOKIE};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{json, Value};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::time::Instant;

/// The manager every console config lists, and her PIN.
pub const MANAGER: &str = "Dana";
pub const PIN: &str = "4821";
/// The configured cash-only headline (`[texts.cash_only]`).
pub const TEMPLATE_HEADLINE: &str = "Cash only right now";
pub const VENUE_NAME: &str = "Rialto Picture House";
pub const SESSION_COOKIE: &str = "raincheck_session";
/// The longest any test waits for the venue to do something.
pub const WAIT: Duration = Duration::from_secs(20);
/// The longest one plain API call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The venue's voucher secret file, shared with `write_counter_config`'s counters.
pub fn write_voucher_secret(directory: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let secret = directory.join("voucher-secret");
    if !secret.exists() {
        std::fs::write(&secret, VOUCHER_SECRET).expect("write the voucher secret");
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600))
            .expect("chmod the voucher secret");
    }
    secret
}

/// A console node's config in `directory`: listens on an ephemeral loopback port, one
/// manager (Dana, PIN 4821), the venue's `[counter]` section (terminal 100, popcorn) and a
/// cash-only headline template. `extra_console_toml` goes inside `[console]`: keys first,
/// then any further `[[console.managers]]` tables.
pub fn write_console_config(
    directory: &Path,
    node_id: &str,
    broker_url: &str,
    extra_console_toml: &str,
) -> PathBuf {
    let pin_hash = raincheck::console::hash_pin(PIN).expect("hash the PIN");
    let secret = write_voucher_secret(directory);
    let data = directory.join(format!("{node_id}-data"));
    std::fs::create_dir_all(&data).expect("console data dir");
    let path = directory.join(format!("{node_id}.toml"));
    let text = format!(
        r#"[node]
venue = "{VENUE}"
id = "{node_id}"
venue_name = "{VENUE_NAME}"
roles = ["console"]
data_dir = "{data}"

[broker]
url = "{broker_url}"
keep_alive_secs = 1
watchdog_secs = 3
reconnect_min_ms = 50
reconnect_max_ms = 300

[texts.cash_only]
headline = "{TEMPLATE_HEADLINE}"

[console]
listen = "127.0.0.1:0"
{extra_console_toml}

[[console.managers]]
name = "{MANAGER}"
pin_hash = "{pin_hash}"

[counter]
terminal = 100
secret_file = "{secret}"

[[counter.offers]]
id = "popcorn"
number = 1
title = "A free small popcorn"
terms = "On your next visit. One per guest."
validity_days = 90
"#,
        data = data.display(),
        secret = secret.display(),
    );
    std::fs::write(&path, text).expect("write the console config");
    path
}

/// Starts the console node in-process (call inside a tokio runtime); returns the node,
/// its shutdown trigger and the address the console listens on.
pub fn start_console(config: &Path, directory: &Path) -> (NodeHandle, ShutdownTrigger, SocketAddr) {
    let config = raincheck::config::load(config).expect("the console config loads");
    let (trigger, shutdown) = shutdown_pair();
    let node = start_node(&config, directory, shutdown).expect("the console node starts");
    let address = node.console.expect("a console node listens");
    (node, trigger, address)
}

/// The back-office console on the standard config ([`write_console_config`], nothing
/// added) on the broker at `broker_url`, started in-process, and a client signed in as
/// the manager.
pub async fn start_console_signed_in(
    directory: &Path,
    broker_url: &str,
) -> (NodeHandle, ShutdownTrigger, ConsoleClient) {
    let config = write_console_config(directory, "back-office", broker_url, "");
    let (node, trigger, address) = start_console(&config, directory);
    let mut client = ConsoleClient::new(address);
    client.sign_in_as_manager().await;
    (node, trigger, client)
}

/// Stops a node started in-process and waits (bounded) for its workers.
pub async fn stop_node(node: NodeHandle, trigger: ShutdownTrigger) {
    trigger.trigger();
    tokio::time::timeout(Duration::from_secs(15), node.join())
        .await
        .expect("the node stops within 15 s");
}

/// One signage node process per name drawing offscreen (`display.backend = "offscreen"`:
/// no window even where a display server is available, but every view proved by a
/// rendered frame), fast keep-alives so a frozen or killed node's last will comes within
/// seconds.
pub fn start_display_nodes(directory: &Path, names: &[&str], broker_url: &str) -> Vec<NodeProcess> {
    names
        .iter()
        .map(|name| {
            let sections = format!(
                "[broker]\nurl = \"{broker_url}\"\nkeep_alive_secs = 2\nwatchdog_secs = 6\n\
                 reconnect_min_ms = 50\nreconnect_max_ms = 500\n[display]\nbackend = \"offscreen\"\n"
            );
            NodeProcess::start_with(name, write_config(directory, name, &sections))
        })
        .collect()
}

/// A fully read HTTP answer: status, headers and body, so a failed assertion can show
/// the body.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {:?}", self.text()))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Asserts the status; returns the reply for further checks.
    pub fn expect(self, status: StatusCode, what: &str) -> Self {
        assert_eq!(
            self.status,
            status,
            "{what}: expected {status}, got {} with body {:?}",
            self.status,
            self.text()
        );
        self
    }

    /// Asserts a refusal: the status, a JSON body and a non-empty `error` sentence.
    pub fn expect_refusal(self, status: StatusCode, what: &str) -> String {
        let reply = self.expect(status, what);
        assert!(
            reply
                .header(CONTENT_TYPE.as_str())
                .is_some_and(|t| t.starts_with("application/json")),
            "{what}: a refusal is JSON; headers {:?}",
            reply.headers
        );
        let error = reply.json()["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: no \"error\" in {:?}", reply.text()))
            .to_owned();
        assert!(!error.trim().is_empty(), "{what}: empty error sentence");
        error
    }
}

/// An HTTP client for the console that keeps the session cookie and CSRF token itself.
pub struct ConsoleClient {
    http: reqwest::Client,
    base: String,
    session: Option<String>,
    csrf: Option<String>,
}

impl ConsoleClient {
    /// A plain-HTTP client for the console at `address`.
    pub fn new(address: SocketAddr) -> Self {
        Self::with_http(format!("http://{address}"), plain_http(None))
    }

    /// Like [`ConsoleClient::new`], connecting from the local address `from` (any of
    /// 127.0.0.0/8), so the console sees another client address.
    pub fn from_address(address: SocketAddr, from: IpAddr) -> Self {
        Self::with_http(format!("http://{address}"), plain_http(Some(from)))
    }

    /// A client for `base` ("https://127.0.0.1:PORT") with its own reqwest client.
    pub fn with_http(base: String, http: reqwest::Client) -> Self {
        Self {
            http,
            base,
            session: None,
            csrf: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The session cookie's value, once signed in.
    pub fn session_token(&self) -> Option<&str> {
        self.session.as_deref()
    }

    pub fn csrf_token(&self) -> Option<&str> {
        self.csrf.as_deref()
    }

    /// Replaces the session cookie sent (a forged or ended session).
    pub fn set_session_token(&mut self, token: Option<&str>) {
        self.session = token.map(str::to_owned);
    }

    /// Replaces the CSRF token sent (`None`: no header at all).
    pub fn set_csrf_token(&mut self, token: Option<&str>) {
        self.csrf = token.map(str::to_owned);
    }

    /// `POST /api/session`; on success keeps the cookie and the CSRF token.
    pub async fn sign_in(&mut self, name: &str, pin: &str) -> Reply {
        let reply = self
            .post_json("/api/session", &json!({ "name": name, "pin": pin }))
            .await;
        if reply.status == StatusCode::OK {
            self.session = Some(session_cookie_value(&reply).expect("a session cookie"));
            self.csrf = reply.json()["csrf_token"].as_str().map(str::to_owned);
        }
        reply
    }

    /// Signs in as Dana with the right PIN, asserting it works.
    pub async fn sign_in_as_manager(&mut self) -> Reply {
        self.sign_in(MANAGER, PIN)
            .await
            .expect(StatusCode::OK, "Dana signs in with her PIN")
    }

    /// A request with the session cookie and CSRF token, for calls the helpers below do
    /// not cover (raw bodies, other content types).
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let mut request = self
            .http
            .request(method, self.url(path))
            .timeout(CALL_TIMEOUT);
        if let Some(token) = &self.session {
            request = request.header("Cookie", format!("{SESSION_COOKIE}={token}"));
        }
        if let Some(csrf) = &self.csrf {
            request = request.header("X-CSRF-Token", csrf);
        }
        request
    }

    pub async fn send(&self, request: RequestBuilder) -> Reply {
        let response = request.send().await.expect("the console answers");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("read the body").to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// Any call, with a JSON body if given.
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        let request = self.request(method, path);
        let request = match body {
            Some(body) => request.json(body),
            None => request,
        };
        self.send(request).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.request(Method::GET, path)).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Reply {
        self.send(self.request(Method::POST, path).json(body)).await
    }

    pub async fn put_json(&self, path: &str, body: &Value) -> Reply {
        self.send(self.request(Method::PUT, path).json(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(self.request(Method::DELETE, path)).await
    }

    /// `GET /api/state`'s snapshot.
    pub async fn state(&self) -> Value {
        self.get("/api/state")
            .await
            .expect(StatusCode::OK, "GET /api/state")
            .json()
    }

    /// Opens `GET /api/events`.
    pub async fn events(&self) -> SnapshotStream {
        let mut request = self.http.get(self.url("/api/events"));
        if let Some(token) = &self.session {
            request = request.header("Cookie", format!("{SESSION_COOKIE}={token}"));
        }
        let response = tokio::time::timeout(CALL_TIMEOUT, request.send())
            .await
            .expect("the event stream opens within 10 s")
            .expect("the console answers");
        assert_eq!(response.status(), StatusCode::OK, "GET /api/events");
        SnapshotStream {
            response,
            buffer: Vec::new(),
            last: None,
        }
    }
}

fn plain_http(from: Option<IpAddr>) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(from)
        .connect_timeout(CALL_TIMEOUT)
        .build()
        .expect("HTTP client")
}

/// The `raincheck_session` value a reply sets (empty when it clears the cookie).
pub fn session_cookie_value(reply: &Reply) -> Option<String> {
    let cookie = set_cookie(reply)?;
    let pair = cookie.split(';').next()?.trim();
    pair.strip_prefix(&format!("{SESSION_COOKIE}="))
        .map(str::to_owned)
}

/// The reply's `Set-Cookie` header, if any.
pub fn set_cookie(reply: &Reply) -> Option<String> {
    reply
        .headers
        .get(SET_COOKIE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// The cookie's attributes after the name=value pair, trimmed ("HttpOnly", "Path=/" …).
pub fn cookie_attributes(set_cookie: &str) -> Vec<String> {
    set_cookie
        .split(';')
        .skip(1)
        .map(|attribute| attribute.trim().to_owned())
        .collect()
}

/// The `snapshot` events of `GET /api/events`, read incrementally.
pub struct SnapshotStream {
    response: reqwest::Response,
    buffer: Vec<u8>,
    /// The latest snapshot received.
    pub last: Option<Value>,
}

impl SnapshotStream {
    /// The next snapshot, or why there is none before `deadline` (timeout, stream end).
    pub async fn next_snapshot(&mut self, deadline: Instant) -> Result<Value, String> {
        loop {
            while let Some(block) = self.take_block() {
                if let Some(snapshot) = parse_snapshot_event(&block)? {
                    self.last = Some(snapshot.clone());
                    return Ok(snapshot);
                }
            }
            match tokio::time::timeout_at(deadline, self.response.chunk()).await {
                Err(_) => return Err("no snapshot before the deadline".into()),
                Ok(Err(error)) => return Err(format!("the event stream failed: {error}")),
                Ok(Ok(None)) => return Err("the event stream ended".into()),
                Ok(Ok(Some(chunk))) => self
                    .buffer
                    .extend(chunk.iter().copied().filter(|byte| *byte != b'\r')),
            }
        }
    }

    /// Reads snapshots until one satisfies `predicate`; panics after `timeout` saying
    /// what was expected and showing the last snapshot.
    pub async fn wait_for_snapshot(
        &mut self,
        what: &str,
        timeout: Duration,
        predicate: impl Fn(&Value) -> bool,
    ) -> Value {
        if let Some(last) = self.last.as_ref().filter(|last| predicate(last)) {
            return last.clone();
        }
        let deadline = Instant::now() + timeout;
        loop {
            match self.next_snapshot(deadline).await {
                Ok(snapshot) if predicate(&snapshot) => return snapshot,
                Ok(_) => {}
                Err(reason) => panic!(
                    "waited {timeout:?} for a snapshot where {what}: {reason}; last snapshot:\n{}",
                    self.last
                        .as_ref()
                        .map(|s| serde_json::to_string_pretty(s).unwrap_or_default())
                        .unwrap_or_else(|| "(none)".into())
                ),
            }
        }
    }

    /// One complete event (up to a blank line) from the buffer, if there is one.
    fn take_block(&mut self) -> Option<String> {
        let end = self.buffer.windows(2).position(|pair| pair == b"\n\n")?;
        let block: Vec<u8> = self.buffer.drain(..end + 2).collect();
        Some(String::from_utf8_lossy(&block[..end]).into_owned())
    }
}

/// The snapshot in one SSE event block; `None` for comments (keep-alives) and other events.
fn parse_snapshot_event(block: &str) -> Result<Option<Value>, String> {
    let mut event = None;
    let mut data: Vec<&str> = Vec::new();
    for line in block.lines() {
        if let Some(name) = line.strip_prefix("event:") {
            event = Some(name.trim());
        } else if let Some(value) = line.strip_prefix("data:") {
            data.push(value.strip_prefix(' ').unwrap_or(value));
        }
    }
    if event != Some("snapshot") {
        return Ok(None);
    }
    serde_json::from_str(&data.join("\n"))
        .map(Some)
        .map_err(|error| format!("a snapshot event whose data is not JSON ({error}): {block:?}"))
}

/// Waits (bounded) until the console has read the venue's retained state and accepts
/// declarations, while nothing is active: `PUT /api/incident` answers 409 ("start one
/// first") from then on, 503 ("still reading") before. Nothing is published either way;
/// each probe is an audit entry (action `update`, refused).
pub async fn wait_until_console_reads_the_venue(client: &ConsoleClient) {
    let deadline = Instant::now() + WAIT;
    loop {
        let reply = client.put_json("/api/incident", &json!({})).await;
        if reply.status != StatusCode::SERVICE_UNAVAILABLE {
            reply.expect_refusal(
                StatusCode::CONFLICT,
                "an update with nothing active, once the console is ready",
            );
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the console did not read the venue within {WAIT:?}: {}",
            reply.text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The snapshot's `progress.phase`.
pub fn phase(snapshot: &Value) -> &str {
    snapshot["progress"]["phase"].as_str().unwrap_or("")
}

/// The snapshot's `progress.headline`.
pub fn headline(snapshot: &Value) -> &str {
    snapshot["progress"]["headline"].as_str().unwrap_or("")
}

/// The snapshot's row for `node`, if it has one.
pub fn node_row<'a>(snapshot: &'a Value, node: &str) -> Option<&'a Value> {
    snapshot["nodes"]
        .as_array()?
        .iter()
        .find(|row| row["node"] == node)
}

/// The view's revision in the snapshot.
pub fn view_revision(snapshot: &Value) -> u64 {
    snapshot["view"]["revision"].as_u64().unwrap_or(0)
}

/// A small valid PNG, 2×2 pixels of one colour (a thumbnail to publish).
pub fn tiny_png(rgb: [u8; 3]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, 2, 2);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().expect("PNG header");
    writer.write_image_data(&rgb.repeat(4)).expect("PNG data");
    writer.finish().expect("PNG end");
    out
}

/// The retained topic of `node`'s thumbnail.
pub fn thumbnail_topic(node: &str) -> String {
    format!("raincheck/v1/{VENUE}/thumbnails/{node}")
}

/// Signs the tablet in as Dana and waits for the console to open.
pub async fn sign_in_in_browser(tablet: &super::webdriver::Browser) {
    tablet
        .wait_until(
            "!document.querySelector('#signin').hidden",
            WAIT,
            "the sign-in form shows",
        )
        .await;
    tablet.type_into("#signin-name", MANAGER).await;
    tablet.type_into("#signin-pin", PIN).await;
    tablet.click("#signin-submit").await;
    tablet
        .wait_until(
            "!document.querySelector('#app').hidden",
            WAIT,
            "the console opens",
        )
        .await;
}

/// Mints an override code for `extra` popcorn vouchers past the cap, at any till, for
/// 30 minutes; returns the console's answer.
pub async fn mint_popcorn_code(client: &ConsoleClient, extra: u8) -> Value {
    client
        .post_json(
            "/api/override-codes",
            &json!({ "offer": "popcorn", "extra": extra, "minutes": 30 }),
        )
        .await
        .expect(StatusCode::CREATED, "an override code")
        .json()
}

/// The console's JSON report of `incident` once its replica holds `vouchers` of it.
pub async fn report_holding(client: &ConsoleClient, incident: &str, vouchers: u64) -> Value {
    let path = format!("/api/reports/incidents/{incident}");
    let deadline = Instant::now() + WAIT;
    loop {
        let reply = client.get(&path).await;
        if reply.status == StatusCode::OK {
            let report = reply.json();
            if report["vouchers"]["issued"] == vouchers {
                return report;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the console's replica did not come to hold {incident}'s {vouchers} vouchers"
        );
        // Nothing pushes the replica's figures to a client: ask again shortly.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
