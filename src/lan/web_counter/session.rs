//! The HTTP plumbing every web counter route shares, as the console's: the state the
//! handlers read, refusals as JSON with one sentence, the signed-in staff extractor (401
//! otherwise), the CSRF check on every call that changes anything (403), a JSON body
//! extractor whose refusals (413, 415, 400) are JSON sentences too, and the time bound
//! on every request but the live stream, so a slow client holds a slot for a bounded time.
//!
//! The session cookie has its own name and `Path=/counter`: browsers share cookies
//! between the ports of one host, so a console on the same box must not see it.

use crate::access::Access;
use crate::config::{NodeConfig, WebCounterSection};
use crate::model::Presentation;
use crate::voucher::CounterHandle;
pub use crate::web_api::{cookie_value, ApiError as Refusal, JsonBody};
use crate::web_server::ClientAddress;
use axum::async_trait;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::watch;

pub const COOKIE: &str = "raincheck_counter";

/// What every handler shares.
pub struct WebCounter {
    pub config: NodeConfig,
    pub section: WebCounterSection,
    pub counter: CounterHandle,
    pub presentation: watch::Receiver<Presentation>,
    pub tls: bool,
    pub access: Mutex<Access>,
    pub streams: super::live::StreamSlots,
}

pub type Shared = Arc<WebCounter>;

impl WebCounter {
    /// The sessions and the throttle; never held across an `.await`.
    pub fn access(&self) -> std::sync::MutexGuard<'_, Access> {
        self.access.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The presentation now, read in one short borrow (a `Ref` held while a writer waits
    /// would block the status worker).
    pub fn presentation_now(&self) -> Presentation {
        self.presentation.borrow().clone()
    }

    /// The session cookie for `token`, or the one that ends it (`None`).
    pub fn cookie(&self, token: Option<&str>) -> String {
        let (value, age) = match token {
            Some(token) => (token, u64::from(self.section.session_minutes) * 60),
            None => ("", 0),
        };
        let mut cookie =
            format!("{COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/counter; Max-Age={age}");
        if self.tls {
            cookie.push_str("; Secure");
        }
        cookie
    }
}

/// The client's address, as the listener tagged the request.
pub fn client_address(parts: &Parts) -> Result<ClientAddress, Refusal> {
    parts
        .extensions
        .get::<ClientAddress>()
        .copied()
        .ok_or_else(|| Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, "no client address"))
}

/// A signed-in member of staff: the session behind the request's cookie.
#[derive(Clone, Debug)]
pub struct Staff {
    pub number: String,
    pub csrf_token: String,
    pub token: String,
    pub from: ClientAddress,
}

#[async_trait]
impl FromRequestParts<Shared> for Staff {
    type Rejection = Refusal;
    async fn from_request_parts(parts: &mut Parts, shared: &Shared) -> Result<Self, Refusal> {
        let from = client_address(parts)?;
        let signed_out = || {
            Refusal::new(
                StatusCode::UNAUTHORIZED,
                "not signed in, or the sign-in has ended; sign in with your staff number and PIN",
            )
        };
        let token = cookie_value(&parts.headers, COOKIE).ok_or_else(signed_out)?;
        let session = shared
            .access()
            .session(&token, Instant::now())
            .ok_or_else(signed_out)?;
        Ok(Staff {
            number: session.person,
            csrf_token: session.csrf_token,
            token,
            from,
        })
    }
}

/// Signed-in staff whose request carries the session's CSRF token: required for every
/// call that changes anything.
pub struct CheckedStaff(pub Staff);

#[async_trait]
impl FromRequestParts<Shared> for CheckedStaff {
    type Rejection = Refusal;
    async fn from_request_parts(parts: &mut Parts, shared: &Shared) -> Result<Self, Refusal> {
        let staff = Staff::from_request_parts(parts, shared).await?;
        crate::web_api::check_csrf(&parts.headers, &staff.csrf_token)?;
        Ok(CheckedStaff(staff))
    }
}

/// Every call but the live stream must be over within the LAN listener's request time,
/// body included: a client that trickles its body is cut off, not waited for.
pub async fn bounded(request: Request, next: Next) -> Response {
    match tokio::time::timeout(crate::lan::REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => Refusal::new(
            StatusCode::REQUEST_TIMEOUT,
            "the request took too long to arrive or to answer; send it again",
        )
        .into_response(),
    }
}
