//! Checks of the payment processor's endpoint: a TCP connect, a TLS handshake, or an
//! HTTP(S) GET that must be answered below 500. Each check is bounded by its timeout; the
//! outcome (and a short reason) goes to the detector's debouncer for that probe.

use super::debounce::Outcome;
use crate::config::ProbeTarget;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A TLS client for probes: the system's roots, or the probe's own CA file.
pub use crate::http_client::tls_connector;

/// Runs one check within `timeout`.
pub async fn check(
    target: &ProbeTarget,
    tls: &tokio_rustls::TlsConnector,
    timeout: Duration,
) -> (Outcome, String) {
    match tokio::time::timeout(timeout, attempt(target, tls)).await {
        Ok(Ok(())) => (Outcome::Healthy, "answered".to_owned()),
        Ok(Err(reason)) => (Outcome::Failed, reason),
        Err(_) => (
            Outcome::Failed,
            format!("no answer within {} ms", timeout.as_millis()),
        ),
    }
}

async fn attempt(target: &ProbeTarget, tls: &tokio_rustls::TlsConnector) -> Result<(), String> {
    let (host, port) = target.address();
    let stream = TcpStream::connect((host, port))
        .await
        .map_err(|error| format!("cannot connect: {error}"))?;
    let server_name = || {
        rustls::pki_types::ServerName::try_from(host.to_owned())
            .map_err(|_| format!("{host:?} is not a valid TLS server name"))
    };
    match target {
        ProbeTarget::Tcp { .. } => Ok(()),
        ProbeTarget::Tls { .. } => tls
            .connect(server_name()?, stream)
            .await
            .map(|_| ())
            .map_err(|error| format!("TLS handshake failed: {error}")),
        ProbeTarget::Http {
            tls: false, path, ..
        } => http_get(stream, host, path).await,
        ProbeTarget::Http {
            tls: true, path, ..
        } => {
            let stream = tls
                .connect(server_name()?, stream)
                .await
                .map_err(|error| format!("TLS handshake failed: {error}"))?;
            http_get(stream, host, path).await
        }
    }
}

/// A minimal GET: healthy if the status line says below 500.
async fn http_get<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut stream: S,
    host: &str,
    path: &str,
) -> Result<(), String> {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: raincheck-probe\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|error| format!("cannot send: {error}"))?;
    let mut head = [0u8; 64];
    let read = stream
        .read(&mut head)
        .await
        .map_err(|error| format!("no answer: {error}"))?;
    let line = String::from_utf8_lossy(&head[..read]);
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| "not an HTTP answer".to_owned())?;
    if status < 500 {
        Ok(())
    } else {
        Err(format!("answered HTTP {status}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_closed_port_fails_and_an_open_one_is_healthy() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let tls = tls_connector(None).unwrap();
        let target = ProbeTarget::Tcp {
            host: "127.0.0.1".into(),
            port,
        };
        assert_eq!(
            check(&target, &tls, Duration::from_secs(2)).await.0,
            Outcome::Healthy
        );
        drop(listener);
        assert_eq!(
            check(&target, &tls, Duration::from_secs(2)).await.0,
            Outcome::Failed
        );
    }
}
