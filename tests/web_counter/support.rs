//! The web counter under test: a counter node (till-1) on a real Mosquitto with a `[lan]`
//! listener and a `[lan.web_counter]` of two staff (0412 with PIN 4821, 77 with PIN
//! 2468), English and Spanish, started in-process; readiness read from the listener's
//! `/healthz`; and an HTTP client that carries the page's session cookie and CSRF token
//! itself, so tests can forge, drop or inspect both. Shared by the API and page tests.

#![allow(dead_code)]

use crate::common::console::Reply;
use crate::common::counters::start_counter;
use crate::common::write_counter_config;
use raincheck::app::NodeHandle;
use raincheck::shutdown::ShutdownTrigger;
use raincheck::voucher::CounterHandle;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{json, Value};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const STAFF: &str = "0412";
pub const PIN: &str = "4821";
pub const OTHER_STAFF: &str = "77";
pub const OTHER_PIN: &str = "2468";
pub const COOKIE: &str = "raincheck_counter";
/// The offer's title in the test counters' config.
pub const POPCORN: &str = "A free small popcorn";
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The till's config: the shared counter config plus the web counter; `lan_extra` goes
/// into `[lan]` (the TLS files).
pub fn write_web_counter_config(directory: &Path, broker_url: &str, lan_extra: &str) -> PathBuf {
    let path = write_counter_config(directory, "till-1", 1, "allow", Some(broker_url));
    let mut text = std::fs::read_to_string(&path).expect("the counter config");
    let hash = |pin: &str| raincheck::access::hash_pin(pin).expect("hash a PIN");
    // `[display]` is the counter config's last table: its languages go right under it.
    text.push_str(&format!(
        "languages = [\"en\", \"es\"]\n\
         [lan]\nlisten = \"127.0.0.1:0\"\n{lan_extra}\n\
         [lan.web_counter]\nsession_minutes = 60\n\
         [[lan.web_counter.staff]]\nnumber = \"{STAFF}\"\npin_hash = \"{}\"\n\
         [[lan.web_counter.staff]]\nnumber = \"{OTHER_STAFF}\"\npin_hash = \"{}\"\n",
        hash(PIN),
        hash(OTHER_PIN)
    ));
    std::fs::write(&path, text).expect("write the config");
    path
}

/// A running till with its web counter.
pub struct Till {
    pub node: NodeHandle,
    pub trigger: ShutdownTrigger,
    pub counter: CounterHandle,
    pub address: SocketAddr,
}

/// Starts the till in-process (inside a runtime) and waits until it serves.
pub async fn start_till(directory: &Path, broker_url: &str) -> Till {
    start_till_with(directory, broker_url, "", &reqwest::Client::new(), "http").await
}

/// Like [`start_till`] with `lan_extra` in `[lan]`, readiness asked with `http` over
/// `scheme`.
pub async fn start_till_with(
    directory: &Path,
    broker_url: &str,
    lan_extra: &str,
    http: &reqwest::Client,
    scheme: &str,
) -> Till {
    let config = write_web_counter_config(directory, broker_url, lan_extra);
    let (node, trigger, counter) = start_counter(&config, directory);
    let address = node.lan.expect("a node with [lan] listens on the LAN");
    crate::common::counters::wait_till_serving(http, &format!("{scheme}://{address}")).await;
    Till {
        node,
        trigger,
        counter,
        address,
    }
}

/// The page's side of the API: the session cookie and CSRF token, kept by hand.
pub struct Page {
    http: reqwest::Client,
    base: String,
    pub session: Option<String>,
    pub csrf: Option<String>,
}

impl Page {
    pub fn new(address: SocketAddr) -> Self {
        Self::from_address(address, IpAddr::from([127, 0, 0, 1]))
    }

    /// A client connecting from `from` (any of 127.0.0.0/8): another device to the till.
    pub fn from_address(address: SocketAddr, from: IpAddr) -> Self {
        let http = reqwest::Client::builder()
            .local_address(from)
            .connect_timeout(CALL_TIMEOUT)
            .build()
            .expect("HTTP client");
        Self::with_client(format!("http://{address}"), http)
    }

    /// A client for `base` ("https://127.0.0.1:PORT") with its own reqwest client.
    pub fn with_client(base: String, http: reqwest::Client) -> Self {
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

    /// `POST /counter/api/sign-in`; on success keeps the cookie and the CSRF token.
    pub async fn sign_in(&mut self, number: &str, pin: &str) -> Reply {
        let reply = self
            .post(
                "/counter/api/sign-in",
                &json!({ "number": number, "pin": pin }),
            )
            .await;
        if reply.status == StatusCode::OK {
            let cookie = reply.header("set-cookie").expect("a session cookie");
            let pair = cookie.split(';').next().unwrap_or_default();
            self.session = pair.strip_prefix(&format!("{COOKIE}=")).map(str::to_owned);
            self.csrf = reply.json()["csrf_token"].as_str().map(str::to_owned);
        }
        reply
    }

    /// A request carrying the cookie and the CSRF token, as far as this client has them.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let mut request = self
            .http
            .request(method, self.url(path))
            .timeout(CALL_TIMEOUT);
        if let Some(token) = &self.session {
            request = request.header("Cookie", format!("{COOKIE}={token}"));
        }
        if let Some(csrf) = &self.csrf {
            request = request.header("X-CSRF-Token", csrf);
        }
        request
    }

    pub async fn send(&self, request: RequestBuilder) -> Reply {
        let response = request.send().await.expect("the till answers");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("read the body").to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.request(Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(self.request(Method::POST, path).json(body)).await
    }

    /// Opens the live stream (no time bound on the body); the response as it starts.
    pub async fn live(&self) -> reqwest::Response {
        let mut request = self.http.get(self.url("/counter/api/live"));
        if let Some(token) = &self.session {
            request = request.header("Cookie", format!("{COOKIE}={token}"));
        }
        tokio::time::timeout(CALL_TIMEOUT, request.send())
            .await
            .expect("the live stream answers within 10 s")
            .expect("the till answers")
    }
}

/// The first `event: NAME` block's data of a live stream, read within `within`.
pub async fn next_event(
    response: &mut reqwest::Response,
    name: &str,
    within: Duration,
) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + within;
    let mut buffer = String::new();
    loop {
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let event = block.lines().find_map(|l| l.strip_prefix("event:"));
            let data = block.lines().find_map(|l| l.strip_prefix("data:"));
            if event.map(str::trim) == Some(name) {
                return data.and_then(|d| serde_json::from_str(d.trim()).ok());
            }
        }
        match tokio::time::timeout_at(deadline, response.chunk()).await {
            Ok(Ok(Some(chunk))) => {
                buffer.push_str(&String::from_utf8_lossy(&chunk).replace('\r', ""))
            }
            _ => return None,
        }
    }
}
