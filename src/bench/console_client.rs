//! A benchmark's way to a console node over HTTP: one request per connection (as a
//! tablet's fresh fetch would be), the signed-in manager's cookie and CSRF token, the
//! console's config and its live stream read snapshot by snapshot. Shared by the
//! benchmarks that drive a console, so none imports another.

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;

pub async fn send(
    address: SocketAddr,
    request: hyper::Request<Full<Bytes>>,
) -> Result<hyper::Response<Incoming>> {
    let stream = tokio::net::TcpStream::connect(address).await?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender.send_request(request).await?)
}

pub async fn call(
    address: SocketAddr,
    method: &str,
    path: &str,
    cookie: &str,
    csrf: &str,
    body: Bytes,
) -> Result<(hyper::StatusCode, Bytes)> {
    let request = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", address.to_string())
        .header("content-type", "application/json")
        .header("cookie", cookie)
        .header("x-csrf-token", csrf)
        .body(Full::new(body))?;
    let response = send(address, request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

/// Signs in as manager `name` with `pin`: the cookie header and the CSRF token.
pub async fn sign_in_as(address: SocketAddr, name: &str, pin: &str) -> Result<(String, String)> {
    let body = serde_json::to_vec(&serde_json::json!({ "name": name, "pin": pin }))?;
    let request = hyper::Request::builder()
        .method("POST")
        .uri("/api/session")
        .header("host", address.to_string())
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))?;
    let response = send(address, request).await?;
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .context("sign-in set no cookie")?
        .to_owned();
    let body = response.into_body().collect().await?.to_bytes();
    let answer: serde_json::Value = serde_json::from_slice(&body)?;
    let csrf = answer["csrf_token"]
        .as_str()
        .context("no csrf token")?
        .to_owned();
    Ok((cookie, csrf))
}

/// The manager's PIN of the benchmarks' console.
const PIN: &str = "4821";

/// A console node started on `url`, a manager signed in, and its live stream followed.
pub struct BenchConsole {
    pub node: crate::app::NodeHandle,
    pub address: SocketAddr,
    pub cookie: String,
    pub csrf: String,
    /// Each snapshot on the live stream as it arrives.
    pub seen: tokio::sync::mpsc::Receiver<Seen>,
    pub stream: tokio::task::JoinHandle<Result<()>>,
}

/// Starts a console node on `url` (its data in `data`), signs in and follows its stream.
pub async fn signed_in_console(
    url: &str,
    data: &std::path::Path,
    shutdown: &crate::shutdown::Shutdown,
) -> Result<BenchConsole> {
    let node = crate::app::start_node(
        &console_config(url, data)?,
        std::path::Path::new("."),
        shutdown.clone(),
    )?;
    let address = node
        .console
        .context("the console node did not start its server")?;
    let (cookie, csrf) = sign_in_as(address, "Bench", PIN).await?;
    let (seen_tx, seen) = tokio::sync::mpsc::channel::<Seen>(1024);
    let stream = tokio::spawn(follow_stream(address, cookie.clone(), seen_tx));
    Ok(BenchConsole {
        node,
        address,
        cookie,
        csrf,
        seen,
        stream,
    })
}

/// A console node on `url` whose manager "Bench" signs in with [`PIN`].
fn console_config(url: &str, data: &std::path::Path) -> Result<crate::config::NodeConfig> {
    let hash = crate::console::hash_pin(PIN).map_err(|e| anyhow::anyhow!(e))?;
    let venue = super::fleet::VENUE;
    let text = format!(
        "[node]\nvenue = \"{venue}\"\nid = \"console\"\nroles = [\"console\"]\ndata_dir = \"{}\"\n\
         [broker]\nurl = \"{url}\"\n[console]\nlisten = \"127.0.0.1:0\"\n\
         [[console.managers]]\nname = \"Bench\"\npin_hash = \"{hash}\"\n",
        data.display()
    );
    crate::config::load_str(&text, std::path::Path::new("bench-console.toml"))
        .map_err(|report| anyhow::anyhow!("{report}"))
}

/// What a benchmark reads from each snapshot on the console's live stream.
pub struct Seen {
    pub at: tokio::time::Instant,
    pub revision: u64,
    pub done: bool,
    pub confirmed: u64,
    /// The drill the view carries, if any.
    pub drill: Option<String>,
}

/// Reads the live stream and reports each snapshot's arrival time and progress.
async fn follow_stream(
    address: SocketAddr,
    cookie: String,
    seen: tokio::sync::mpsc::Sender<Seen>,
) -> Result<()> {
    let request = hyper::Request::builder()
        .uri("/api/events")
        .header("host", address.to_string())
        .header("cookie", cookie)
        .body(Full::new(Bytes::new()))?;
    let mut body = send(address, request).await?.into_body();
    let mut buffer = String::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue;
        };
        let at = tokio::time::Instant::now();
        buffer.push_str(&String::from_utf8_lossy(&data));
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            let Some(json) = event.lines().find_map(|line| line.strip_prefix("data:")) else {
                continue;
            };
            let snapshot: serde_json::Value = serde_json::from_str(json.trim())?;
            let report = Seen {
                at,
                revision: snapshot["view"]["revision"].as_u64().unwrap_or(0),
                done: snapshot["progress"]["done"].as_bool().unwrap_or(false),
                confirmed: snapshot["progress"]["screens"]["confirmed"]
                    .as_u64()
                    .unwrap_or(0),
                drill: snapshot["view"]["drill"]["drill_id"]
                    .as_str()
                    .map(str::to_owned),
            };
            if seen.send(report).await.is_err() {
                return Ok(());
            }
        }
    }
    Ok(())
}
