//! A loopback TCP proxy in front of the broker: `cut` drops every connection through it
//! and refuses new ones, `heal` lets them through again.

use super::*;

/// A loopback TCP proxy in front of the broker. `cut` drops every connection through it
/// and refuses new ones (accepted and closed at once, as a dead link looks to a client
/// that keeps retrying); `heal` lets connections through again.
pub struct TcpProxy {
    pub port: u16,
    open: Arc<watch::Sender<bool>>,
    accept: tokio::task::JoinHandle<()>,
}

impl TcpProxy {
    pub async fn start(upstream: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the proxy listens on loopback");
        let port = listener.local_addr().expect("proxy address").port();
        let open = Arc::new(watch::channel(true).0);
        let gate = open.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    continue;
                };
                // Subscribed before looking, so a cut between the two is still seen.
                let mut cut = gate.subscribe();
                if !*cut.borrow_and_update() {
                    drop(client);
                    continue;
                }
                tokio::spawn(async move {
                    let Ok(mut broker) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut broker) => {}
                        _ = cut.wait_for(|open| !*open) => {}
                    }
                    // Both sockets drop here: the client and the broker each see the link die.
                });
            }
        });
        Self { port, open, accept }
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    pub fn cut(&self) {
        self.open.send_replace(false);
    }

    pub fn heal(&self) {
        self.open.send_replace(true);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}
