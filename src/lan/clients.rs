//! Who may call the LAN API: each `[[lan.clients]]` entry is a machine (a POS server, a
//! till) with its own random token, sent as `Authorization: Bearer <token>` and checked
//! against the stored SHA-256 hashes by `machine_keys` (constant time, an address's
//! repeated wrong tokens throttled, memory bounded), and with only the permissions its
//! entry lists. Every refusal is JSON with one sentence saying what to do. A request
//! must be over within `REQUEST_TIMEOUT`, body included, so a slow client holds a
//! connection slot for a bounded time.

use crate::config::{LanClient, LanPermission};
use crate::machine_keys::{key_owner, Throttle};
use crate::web_server::ClientAddress;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The longest a request may take, from its headers to the answer (a voucher answer
/// waits for the store's flush; a second is a lot).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The clients and the wrong-token throttle, shared by every route that needs a token.
pub struct ClientTokens {
    clients: Vec<LanClient>,
    throttle: Mutex<Throttle>,
}

/// The caller a token identified, for handlers and logs.
#[derive(Clone, Debug)]
pub struct Caller(pub String);

impl ClientTokens {
    pub fn new(clients: Vec<LanClient>) -> Arc<Self> {
        Arc::new(Self {
            clients,
            throttle: Mutex::default(),
        })
    }

    fn throttle(&self) -> std::sync::MutexGuard<'_, Throttle> {
        self.throttle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The client `headers` present, or the refusal.
    fn authenticate(
        &self,
        headers: &HeaderMap,
        from: std::net::IpAddr,
    ) -> Result<&LanClient, Refusal> {
        if let Some(wait) = self.throttle().wait(from, Instant::now()) {
            return Err(Refusal::Throttled(wait.as_secs().max(1)));
        }
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim);
        let Some(presented) = presented else {
            return Err(Refusal::Missing);
        };
        let owner = key_owner(
            self.clients
                .iter()
                .map(|client| (client, client.token_hash.as_str())),
            presented,
        );
        match owner {
            Some(client) => {
                self.throttle().succeeded(from);
                Ok(client)
            }
            None => {
                let count = self.throttle().record_failure(from, Instant::now());
                if count == crate::machine_keys::FREE_FAILURES + 1 {
                    tracing::warn!(%from, "lan: repeated wrong client tokens; slowing this address down");
                }
                Err(Refusal::Wrong)
            }
        }
    }
}

/// Why a request's token was not accepted.
enum Refusal {
    /// The address sent too many wrong tokens; it may try again in this many seconds.
    Throttled(u64),
    Missing,
    Wrong,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Throttled(seconds) => {
                let mut refusal = refuse(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("too many wrong tokens from this address; try again in {seconds} s"),
                );
                refusal
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
                refusal
            }
            Refusal::Missing => unauthorised(
                "send this client's token as \"Authorization: Bearer <token>\"; make one with `raincheck lan client-token NAME`",
            ),
            Refusal::Wrong => unauthorised(
                "this token is not one of this node's [[lan.clients]]; check it, or make a new one with `raincheck lan client-token NAME`",
            ),
        }
    }
}

/// A JSON refusal: `{"error": "…"}` with `status`.
pub fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

fn unauthorised(message: &str) -> Response {
    let mut refusal = refuse(StatusCode::UNAUTHORIZED, message);
    refusal.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"raincheck\""),
    );
    refusal
}

/// The middleware in front of every route of `permission`: a known token that may use
/// it, then the handler within `REQUEST_TIMEOUT`.
pub async fn require(
    State((tokens, permission)): State<(Arc<ClientTokens>, LanPermission)>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(ClientAddress(from)) = request.extensions().get::<ClientAddress>().copied() else {
        return refuse(StatusCode::INTERNAL_SERVER_ERROR, "no client address");
    };
    let client = match tokens.authenticate(request.headers(), from.ip()) {
        Ok(client) => client,
        Err(refusal) => return refusal.into_response(),
    };
    if !client.may.contains(&permission) {
        return refuse(
            StatusCode::FORBIDDEN,
            format!(
                "client {:?} may not use {:?}; add it to the client's `may` in [[lan.clients]]",
                client.name,
                permission.as_str()
            ),
        );
    }
    let name = client.name.clone();
    tracing::debug!(client = %name, %from, path = %request.uri().path(), "lan: request");
    request.extensions_mut().insert(Caller(name));
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => refuse(
            StatusCode::REQUEST_TIMEOUT,
            "the request took too long to arrive or to answer; send it again",
        ),
    }
}
