//! The one listener for pages and APIs served to the LAN (the manager's console, a
//! counter's LAN listener with the web counter): plain HTTP, or HTTPS with the configured
//! certificate (rustls), one task per connection so a slow TLS handshake never holds up
//! the next tablet, bounded connections in all and per address. Each request is tagged
//! with the client's address (audit log, throttles). Stops accepting on shutdown and
//! drops open connections (live streams end with it).
use anyhow::{anyhow, Context as _, Result};
use axum::Router;
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How many connections a server holds open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Open connections at most; more wait in the kernel's backlog.
    pub total: usize,
    /// Open connections per client address at most, so one host cannot hold every slot.
    pub per_address: usize,
}

impl Default for ConnectionLimits {
    /// A tablet or a till needs a handful of connections; a venue a few dozen devices.
    fn default() -> Self {
        Self {
            total: 512,
            per_address: 32,
        }
    }
}
/// A client must send a request's headers within this long, including an idle keep-alive
/// connection's next request: silent connections are closed.
const HEADER_TIMEOUT: Duration = Duration::from_secs(15);

/// The client's address, set on every request by the server loop.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddress(pub SocketAddr);

/// Reads the certificate chain and key for HTTPS; `section` is the config section that
/// named them ("console", "lan"), for the error.
pub fn tls_acceptor(section: &str, cert_file: &Path, key_file: &Path) -> Result<TlsAcceptor> {
    let certs = rustls_pemfile::certs(&mut std::io::BufReader::new(
        std::fs::File::open(cert_file)
            .with_context(|| format!("open the {section} certificate {}", cert_file.display()))?,
    ))
    .collect::<Result<Vec<_>, _>>()
    .with_context(|| format!("read the {section} certificate {}", cert_file.display()))?;
    if certs.is_empty() {
        return Err(anyhow!(
            "{} holds no PEM certificate; point {section}.tls_cert_file at the certificate chain",
            cert_file.display()
        ));
    }
    let key = rustls_pemfile::private_key(&mut std::io::BufReader::new(
        std::fs::File::open(key_file)
            .with_context(|| format!("open the {section} key {}", key_file.display()))?,
    ))
    .with_context(|| format!("read the {section} key {}", key_file.display()))?
    .ok_or_else(|| anyhow!("{} holds no PEM private key", key_file.display()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS settings")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .with_context(|| format!("the {section} certificate and key do not belong together"))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves `router` on `listener` until `shutdown`; `what` names the server in logs.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<TlsAcceptor>,
    limits: ConnectionLimits,
    mut shutdown: crate::shutdown::Shutdown,
    what: &'static str,
) {
    let mut connections = JoinSet::new();
    let per_address = Arc::new(std::sync::Mutex::new(HashMap::new()));
    let mut logged_accept_error = false;
    loop {
        while connections.try_join_next().is_some() {}
        let accepted = tokio::select! {
            _ = shutdown.wait() => break,
            accepted = listener.accept(), if connections.len() < limits.total => accepted,
            _ = connections.join_next(), if !connections.is_empty() => continue,
        };
        let (stream, address) = match accepted {
            Ok(accepted) => {
                logged_accept_error = false;
                accepted
            }
            Err(error) => {
                if !logged_accept_error {
                    tracing::warn!("{what}: cannot accept a connection: {error}");
                    logged_accept_error = true;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Some(slot) = AddressSlot::take(&per_address, address.ip(), limits.per_address) else {
            tracing::debug!(%address, "{what}: too many connections from one address; refused");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let tls = tls.clone();
        connections.spawn(async move {
            let _slot = slot;
            let service = hyper::service::service_fn(
                move |mut request: hyper::Request<hyper::body::Incoming>| {
                    request.extensions_mut().insert(ClientAddress(address));
                    router.clone().oneshot(request)
                },
            );
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT);
            let result = match tls {
                None => http.serve_connection(TokioIo::new(stream), service).await,
                Some(acceptor) => {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            http.serve_connection(TokioIo::new(stream), service).await
                        }
                        Ok(Err(error)) => {
                            tracing::debug!(%address, "{what}: TLS handshake failed: {error}");
                            return;
                        }
                        Err(_) => return,
                    }
                }
            };
            if let Err(error) = result {
                tracing::debug!(%address, "{what}: connection ended: {error}");
            }
        });
    }
    connections.abort_all();
}

type OpenCounts = Arc<std::sync::Mutex<HashMap<IpAddr, usize>>>;

/// One open connection of one address; the count drops when the connection ends.
struct AddressSlot {
    counts: OpenCounts,
    address: IpAddr,
}

impl AddressSlot {
    fn take(counts: &OpenCounts, address: IpAddr, limit: usize) -> Option<Self> {
        let mut open = counts.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(address).or_insert(0);
        if *count >= limit {
            return None;
        }
        *count += 1;
        Some(Self {
            counts: counts.clone(),
            address,
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_gets_a_bounded_number_of_slots_and_they_come_back() {
        let counts: OpenCounts = Arc::default();
        let address: IpAddr = [10, 0, 0, 5].into();
        let limit = ConnectionLimits::default().per_address;
        let slots: Vec<_> = (0..limit)
            .map(|_| AddressSlot::take(&counts, address, limit).expect("a slot"))
            .collect();
        assert!(
            AddressSlot::take(&counts, address, limit).is_none(),
            "one host cannot take them all"
        );
        assert!(
            AddressSlot::take(&counts, [10, 0, 0, 6].into(), limit).is_some(),
            "others still can"
        );
        drop(slots);
        let again = AddressSlot::take(&counts, address, limit);
        assert!(again.is_some());
        assert_eq!(counts.lock().unwrap().get(&address), Some(&1));
        drop(again);
        assert!(
            counts.lock().unwrap().is_empty(),
            "no entry left for a gone address"
        );
    }
}
