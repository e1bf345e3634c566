//! The HTTP plumbing every console route shares: the context handlers read, JSON errors
//! with a sentence a manager can act on, the signed-in-manager extractor (401 otherwise),
//! the CSRF check for state-changing calls (403), and a JSON body extractor whose
//! refusals (413, 415, 400) are as specific as everything else.

use super::bus::{ConsoleRequest, PublishedSnapshot};
use crate::access::Access;
use crate::audit::{AuditEntry, AuditLog};
use crate::config::{ConsoleSection, OfferConfig, TextsSection};
use crate::voucher::CounterHandle;
use axum::async_trait;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};

pub const SESSION_COOKIE: &str = "raincheck_session";

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
        self.audit.record(entry).await;
    }
}

pub use crate::web_api::{cookie_value, ApiError, JsonBody};
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

/// A signed-in manager: the session behind the request's cookie.
#[derive(Clone, Debug)]
pub struct Manager {
    pub name: String,
    pub csrf_token: String,
    pub token: String,
    pub from: ClientAddress,
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
        crate::web_api::check_csrf(&parts.headers, &manager.csrf_token)?;
        Ok(CheckedManager(manager))
    }
}
