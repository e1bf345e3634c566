//! The one outgoing HTTP(S) client of the binary: a TLS connector (the system's roots or
//! a CA file), and a bounded POST used to deliver webhooks. The detector's probes use the
//! same connector. Deliberately small: HTTP/1.1, one request per connection, a timeout
//! over the whole exchange, the answer's body read up to a small limit and dropped.

use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

/// The most of an answer's body read (and thrown away) before the connection is closed.
const MAX_ANSWER_BYTES: usize = 16 * 1024;

/// A TLS client: the system's roots, or the roots in `ca_file`.
pub fn tls_connector(
    ca_file: Option<&std::path::Path>,
) -> Result<tokio_rustls::TlsConnector, String> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let file = std::fs::File::open(path)
                .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
            for cert in rustls_pemfile::certs(&mut std::io::BufReader::new(file)) {
                let cert = cert.map_err(|error| format!("{}: {error}", path.display()))?;
                roots
                    .add(cert)
                    .map_err(|error| format!("{}: {error}", path.display()))?;
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| error.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// POSTs `body` as JSON to `url` with extra `headers`; the answer's status, or why there
/// was none. The whole exchange (connect, TLS, request, answer) is bounded by `timeout`.
pub async fn post_json(
    url: &url::Url,
    headers: &[(&str, String)],
    body: Vec<u8>,
    tls: &tokio_rustls::TlsConnector,
    timeout: Duration,
) -> Result<u16, String> {
    match tokio::time::timeout(timeout, exchange(url, headers, body, tls)).await {
        Ok(result) => result,
        Err(_) => Err(format!("no answer within {} s", timeout.as_secs())),
    }
}

async fn exchange(
    url: &url::Url,
    headers: &[(&str, String)],
    body: Vec<u8>,
    tls: &tokio_rustls::TlsConnector,
) -> Result<u16, String> {
    let host = url.host_str().ok_or("the URL has no host")?.to_owned();
    let port = url
        .port_or_known_default()
        .ok_or("the URL has no port and no known default")?;
    let stream = TcpStream::connect((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|error| format!("cannot connect to {host}:{port}: {error}"))?;
    let _ = stream.set_nodelay(true);
    let mut request = hyper::Request::post(&url[url::Position::BeforePath..])
        .header(hyper::header::HOST, authority(url))
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(hyper::header::USER_AGENT, "raincheck-webhook")
        .header(hyper::header::CONNECTION, "close");
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let request = request
        .body(Full::new(bytes::Bytes::from(body)))
        .map_err(|error| format!("cannot build the request: {error}"))?;
    if url.scheme() == "https" {
        let name = rustls::pki_types::ServerName::try_from(host.clone())
            .map_err(|_| format!("{host:?} is not a valid TLS server name"))?;
        let stream = tls
            .connect(name, stream)
            .await
            .map_err(|error| format!("TLS handshake with {host} failed: {error}"))?;
        send(TokioIo::new(stream), request).await
    } else {
        send(TokioIo::new(stream), request).await
    }
}

async fn send<T>(io: T, request: hyper::Request<Full<bytes::Bytes>>) -> Result<u16, String>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|error| format!("HTTP handshake failed: {error}"))?;
    let driver = tokio::spawn(connection);
    let answer = sender.send_request(request).await;
    let outcome = match answer {
        Ok(response) => {
            let status = response.status().as_u16();
            // Read a little of the body so a well-behaved server sees its answer taken;
            // a large or endless one is cut off.
            let _ = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await;
            Ok(status)
        }
        Err(error) => Err(format!("the request failed: {error}")),
    };
    driver.abort();
    outcome
}

/// `host[:port]` as the Host header wants it (the port only when not the default).
fn authority(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}
