//! The HTTP plumbing every console route shares: the context handlers read, JSON errors
//! with a sentence a manager can act on, the signed-in-manager extractor (401 otherwise),
//! the CSRF check for state-changing calls (403), and a JSON body extractor whose
//! refusals (413, 415, 400) are as specific as everything else.

use super::audit::{AuditEntry, AuditLog};
use super::bus::{ConsoleRequest, PublishedSnapshot};
use crate::access::{same_secret, Access};
use crate::config::{ConsoleSection, OfferConfig, TextsSection};
use crate::voucher::CounterHandle;
use axum::async_trait;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};

pub const SESSION_COOKIE: &str = "raincheck_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Everything the handlers share.
pub struct ConsoleContext {
    pub venue_name: String,
    pub settings: ConsoleSection,
    pub texts: TextsSection,
    /// The languages the venue's screens speak (the console's `display.languages`).
    pub languages: Vec<String>,
    pub offers: Vec<OfferConfig>,
    pub tls: bool,
    pub access: Mutex<Access>,
    pub audit: Arc<AuditLog>,
    pub bus: mpsc::Sender<ConsoleRequest>,
    pub snapshots: watch::Receiver<Arc<PublishedSnapshot>>,
    pub vouchers: Option<CounterHandle>,
    /// The webhook queue, for the delivery log (none without `[[console.webhooks]]`).
    pub webhooks: Option<Arc<super::webhooks::Queue>>,
    /// Where the incident timelines are kept (`{data_dir}/incidents/`).
    pub data_dir: std::path::PathBuf,
    /// The currency of the offers' face values, for reports.
    pub currency: Option<String>,
}

pub type Context = Arc<ConsoleContext>;

impl ConsoleContext {
    pub fn access(&self) -> std::sync::MutexGuard<'_, Access> {
        self.access.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes an audit entry to disk before the caller answers.
    pub async fn audit(
        &self,
        manager: Option<&str>,
        from: &ClientAddress,
        action: &str,
        detail: String,
        outcome: &str,
    ) {
        let entry = AuditEntry {
            at: OffsetDateTime::now_utc(),
            manager: manager.map(str::to_owned),
            from: from.0.ip().to_string(),
            action: action.to_owned(),
            detail,
            outcome: outcome.to_owned(),
        };
        let log = self.audit.clone();
        let written = tokio::task::spawn_blocking(move || log.append(entry)).await;
        if !matches!(written, Ok(Ok(()))) {
            tracing::error!(path = %self.audit.path().display(), "console: cannot write the audit log; check the disk and the data directory");
        }
    }
}

pub use crate::web_server::ClientAddress;

#[async_trait]
impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<ClientAddress>()
            .copied()
            .ok_or_else(|| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "no client address"))
    }
}

/// A refusal: a status and one sentence.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.message });
        (self.status, axum::Json(body)).into_response()
    }
}

/// A signed-in manager: the session behind the request's cookie.
#[derive(Clone, Debug)]
pub struct Manager {
    pub name: String,
    pub csrf_token: String,
    pub token: String,
    pub from: ClientAddress,
}

pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

#[async_trait]
impl FromRequestParts<Context> for Manager {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, context: &Context) -> Result<Self, ApiError> {
        let from = ClientAddress::from_request_parts(parts, context).await?;
        let signed_out = || {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "not signed in, or the session has ended; sign in with your name and PIN",
            )
        };
        let token = cookie_value(&parts.headers, SESSION_COOKIE).ok_or_else(signed_out)?;
        let session = context
            .access()
            .session(&token, Instant::now())
            .ok_or_else(signed_out)?;
        Ok(Manager {
            name: session.person,
            csrf_token: session.csrf_token,
            token,
            from,
        })
    }
}

/// A signed-in manager whose request carries the session's CSRF token: required for
/// every call that changes anything.
pub struct CheckedManager(pub Manager);

#[async_trait]
impl FromRequestParts<Context> for CheckedManager {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, context: &Context) -> Result<Self, ApiError> {
        let manager = Manager::from_request_parts(parts, context).await?;
        let sent = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        if !same_secret(sent, &manager.csrf_token) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "this request lacks the page's security token (X-CSRF-Token); reload the page and try again",
            ));
        }
        Ok(CheckedManager(manager))
    }
}

/// A JSON body whose refusals are JSON sentences too.
pub struct JsonBody<T>(pub T);

#[async_trait]
impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;
    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => Err(json_refusal(rejection)),
        }
    }
}

fn json_refusal(rejection: JsonRejection) -> ApiError {
    match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the request is too large; shorten the texts",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the request body as JSON with Content-Type: application/json",
        ),
        _ => ApiError::bad_request(format!(
            "the request body is not what this call expects: {}",
            rejection.body_text()
        )),
    }
}
