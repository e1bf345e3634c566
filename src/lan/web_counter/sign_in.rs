//! Staff sign-in at the web counter, exactly as managers sign in to the console: a staff
//! number and PIN checked against the argon2 hashes of `[[lan.web_counter.staff]]`
//! (always a hash, so an unknown number costs as much time as a wrong PIN; at most two
//! checks at once, off the async threads), the same `access::Access` throttle per number
//! and per address before the slow hash, the session cookie, and sign-out. Every attempt
//! that was not throttled is logged with the number and the address, never the PIN.

use super::session::{client_address, CheckedStaff, JsonBody, Refusal, Shared, Staff};
use super::words::PageWords;
use crate::access::Access;
use crate::config::is_staff_number;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::time::Instant;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SignIn {
    number: String,
    pin: String,
    /// The page's language, for the refusal's sentence.
    #[serde(default)]
    language: Option<String>,
}

#[derive(Serialize)]
pub(super) struct SessionInfo {
    staff: String,
    csrf_token: String,
}

/// The client's address, for handlers that are not signed in yet.
pub(super) struct PageAddress(pub std::net::IpAddr);

#[axum::async_trait]
impl FromRequestParts<Shared> for PageAddress {
    type Rejection = Refusal;
    async fn from_request_parts(parts: &mut Parts, _: &Shared) -> Result<Self, Refusal> {
        client_address(parts).map(|address| PageAddress(address.0.ip()))
    }
}

pub(super) async fn sign_in(
    State(shared): State<Shared>,
    PageAddress(from): PageAddress,
    JsonBody(body): JsonBody<SignIn>,
) -> Result<Response, Refusal> {
    let words = PageWords::new(&shared.config, body.language.as_deref());
    let number = body.number.trim().to_owned();
    if !is_staff_number(&number) {
        return Err(Refusal::bad_request(
            words.say("A staff number is 1 to 8 digits", &[]),
        ));
    }
    let keys = Access::throttle_keys(&number, &from.to_string());
    // Checked and counted as a failure in one step, before the slow hash: parallel
    // attempts cannot all slip past the check (a correct PIN clears the count).
    let wait = {
        let mut access = shared.access();
        let wait = access.wait_before_attempt(&keys, Instant::now());
        if wait.is_none() {
            access.record_failure(&keys, Instant::now());
        }
        wait
    };
    if let Some(wait) = wait {
        // Rounded up: a page that waits exactly this long is let in.
        let seconds = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
        tracing::debug!(client = %from, "web counter: sign-in refused while throttled");
        let mut refusal = Refusal::new(
            StatusCode::TOO_MANY_REQUESTS,
            words.say(
                "Too many wrong PINs: wait {} s and try again",
                &[&seconds.to_string()],
            ),
        );
        refusal.retry_after = Some(seconds);
        return Err(refusal);
    }
    let account = shared
        .section
        .staff
        .iter()
        .find(|account| account.number == number);
    // The hash is checked even for unknown numbers, so timing does not tell them apart.
    let matches = crate::access::verify_pin(account.map(|a| a.pin_hash.clone()), body.pin).await;
    if account.is_none() || !matches {
        tracing::info!(staff = %number, client = %from, "web counter: sign-in refused (wrong staff number or PIN)");
        return Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            words.say(
                "Staff number and PIN do not match: check both and try again",
                &[],
            ),
        ));
    }
    let (token, session) = shared.access().sign_in(&keys, &number, Instant::now());
    tracing::info!(staff = %number, client = %from, "web counter: signed in");
    let mut response = Json(SessionInfo {
        staff: number,
        csrf_token: session.csrf_token,
    })
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&shared.cookie(Some(&token))) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// Who is signed in, and the page's CSRF token (a reloaded page picks its session up).
pub(super) async fn current(staff: Staff) -> Json<SessionInfo> {
    Json(SessionInfo {
        staff: staff.number,
        csrf_token: staff.csrf_token,
    })
}

pub(super) async fn sign_out(
    State(shared): State<Shared>,
    CheckedStaff(staff): CheckedStaff,
) -> Response {
    shared.access().sign_out(&staff.token);
    tracing::info!(staff = %staff.number, client = %staff.from.0.ip(), "web counter: signed out");
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(value) = HeaderValue::from_str(&shared.cookie(None)) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}
