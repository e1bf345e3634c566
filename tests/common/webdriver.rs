//! A small WebDriver client for the console's browser test: it starts Debian's
//! `chromedriver`, opens a real headless Chromium at a given window size and drives it
//! over the W3C WebDriver protocol (JSON over HTTP on loopback). The test is skipped, with
//! the reason, when Chromium is not installed, unless RAINCHECK_REQUIRE_CHROMIUM=1.

use serde_json::{json, Value};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;
use tokio::time::Instant;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

pub struct Browser {
    http: reqwest::Client,
    session: String,
    base: String,
    _profile: tempfile::TempDir,
    _driver: KillGroupOnDrop,
}

/// Chromium and its driver, or `None` (test skipped) when they are not installed.
pub async fn browser(width: u32, height: u32) -> Option<Browser> {
    if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
        if std::env::var("RAINCHECK_REQUIRE_CHROMIUM").as_deref() == Ok("1") {
            panic!("RAINCHECK_REQUIRE_CHROMIUM=1 but chromium/chromedriver are not installed");
        }
        eprintln!("SKIPPED: chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)");
        return None;
    }
    Some(Browser::start(width, height).await)
}

impl Browser {
    async fn start(width: u32, height: u32) -> Self {
        let port = free_port();
        // Its own process group, so dropping the browser kills Chromium too, even when a
        // failing test never says goodbye.
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("start chromedriver");
        let driver = KillGroupOnDrop(driver);
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = http.get(format!("{base}/status")).send().await;
            if let Ok(response) = ready {
                let status: Value = response.json().await.unwrap_or_default();
                if status["value"]["ready"] == json!(true) {
                    break;
                }
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().expect("browser profile dir");
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": CHROMIUM,
                    "args": [
                        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                        "--disable-quic", "--no-first-run", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                        format!("--user-data-dir={}", profile.path().display()),
                        format!("--window-size={width},{height}"),
                    ]
                }
            }}
        });
        let answer: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .expect("create a browser session")
            .json()
            .await
            .expect("session answer");
        let session = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromedriver refused the session: {answer}"))
            .to_owned();
        Self {
            http,
            session,
            base,
            _profile: profile,
            _driver: driver,
        }
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut request = self
            .http
            .request(method, &url)
            .timeout(Duration::from_secs(30));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request
            .send()
            .await
            .unwrap_or_else(|error| panic!("webdriver {path}: {error}"))
            .json()
            .await
            .expect("webdriver answers JSON");
        if answer["value"].get("error").is_some() {
            panic!("webdriver {path} failed: {}", answer["value"]);
        }
        answer["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub async fn run(&self, script: &str, args: Value) -> Value {
        self.command(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    async fn element(&self, css: &str) -> String {
        let found = self
            .command(
                reqwest::Method::POST,
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_owned()
    }

    /// A real click (WebDriver scrolls it into view and checks it can be clicked).
    pub async fn click(&self, css: &str) {
        let id = self.element(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        )
        .await;
    }

    /// Clears a field and types into it with real key events.
    pub async fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/clear"),
            Some(json!({})),
        )
        .await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// The element's rendered text.
    pub async fn text(&self, css: &str) -> String {
        let id = self.element(css).await;
        self.command(reqwest::Method::GET, &format!("/element/{id}/text"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Waits (bounded) until `condition`, a JavaScript expression, is true in the page.
    /// There is no event to await from outside the page, so this polls every 50 ms.
    pub async fn wait_until(&self, condition: &str, within: Duration, what: &str) {
        let deadline = Instant::now() + within;
        let script = format!("return Boolean({condition});");
        loop {
            if self.run(&script, json!([])).await == json!(true) {
                return;
            }
            if Instant::now() > deadline {
                let headline = self
                    .run("const h = document.querySelector('#headline'); return h ? h.textContent : null;", json!([]))
                    .await;
                panic!("{what}: not true within {within:?} ({condition}); headline was {headline}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Saves a PNG of the viewport.
    pub async fn screenshot(&self, path: &Path) {
        use base64::Engine;
        let encoded = self
            .command(reqwest::Method::GET, "/screenshot", None)
            .await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().unwrap_or_default())
            .expect("screenshot is base64");
        assert!(bytes.starts_with(b"\x89PNG"), "screenshot is a PNG");
        std::fs::write(path, bytes).expect("save screenshot");
    }

    pub async fn set_window_size(&self, width: u32, height: u32) {
        self.command(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        )
        .await;
    }

    pub async fn quit(self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send()
            .await;
    }
}

/// chromedriver and every process it started (Chromium and its helpers).
struct KillGroupOnDrop(std::process::Child);

impl Drop for KillGroupOnDrop {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}
