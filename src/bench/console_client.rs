//! A benchmark's way to a console node over HTTP: one request per connection (as a
//! tablet's fresh fetch would be), the signed-in manager's cookie and CSRF token. Shared
//! by the benchmarks that drive a console, so none imports another.

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
