//! Managers' sign-in: a name and PIN checked against argon2 hashes (always a hash, so an
//! unknown name costs as much time as a wrong PIN; at most two checks at once), the
//! per-name and per-address throttle before the slow hash, the session cookie, sign-out,
//! and an audit line for every attempt that was not throttled.

use super::http::{
    ApiError, CheckedManager, ClientAddress, Context, JsonBody, Manager, SESSION_COOKIE,
};
use crate::access::Access;
use crate::config::MAX_MANAGER_NAME;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::time::Instant;

#[derive(Deserialize)]
pub(super) struct SignIn {
    name: String,
    pin: String,
}

#[derive(Serialize)]
pub(super) struct SessionInfo {
    manager: String,
    csrf_token: String,
}

pub(super) async fn sign_in(
    State(context): State<Context>,
    from: ClientAddress,
    JsonBody(body): JsonBody<SignIn>,
) -> Result<Response, ApiError> {
    let name = crate::text::one_line(&body.name);
    if name.is_empty() || name.chars().count() > MAX_MANAGER_NAME {
        return Err(ApiError::bad_request(format!(
            "type your name as the console knows it (1 to {MAX_MANAGER_NAME} characters)"
        )));
    }
    let keys = Access::throttle_keys(&name, &from.0.ip().to_string());
    // Checked and counted as a failure in one step, before the slow hash: parallel
    // attempts cannot all slip past the check (a correct PIN clears the count).
    let wait = {
        let mut access = context.access();
        let wait = access.wait_before_attempt(&keys, Instant::now());
        if wait.is_none() {
            access.record_failure(&keys, Instant::now());
        }
        wait
    };
    if let Some(wait) = wait {
        // Rounded up: a client that waits exactly this long is let in. Not audited: the
        // failures that caused the wait are, and a client hammering a wait must not be
        // able to fill the disk with audit lines.
        let seconds = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
        tracing::debug!(client = %from.0.ip(), "console: sign-in refused while throttled");
        let body = serde_json::json!({
            "error": format!("too many wrong PINs; wait {seconds} s before trying again"),
            "retry_after_secs": seconds,
        });
        let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        return Ok(response);
    }
    let account = context
        .settings
        .managers
        .iter()
        .find(|m| m.name.trim().eq_ignore_ascii_case(&name))
        .cloned();
    // The hash is checked even for unknown names, so timing does not tell names apart.
    let matches =
        crate::access::verify_pin(account.as_ref().map(|a| a.pin_hash.clone()), body.pin).await;
    let Some(account) = account.filter(|_| matches) else {
        context
            .audit(
                Some(&name),
                &from,
                "sign-in",
                String::new(),
                "refused: wrong name or PIN",
            )
            .await;
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "that name and PIN do not match; check both and try again",
        ));
    };
    let manager = account.name.trim().to_owned();
    let (token, session) = context.access().sign_in(&keys, &manager, Instant::now());
    context
        .audit(Some(&manager), &from, "sign-in", String::new(), "ok")
        .await;
    let mut cookie = format!(
        "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        u64::from(context.settings.session_minutes) * 60
    );
    if context.tls {
        cookie.push_str("; Secure");
    }
    let mut response = Json(SessionInfo {
        manager,
        csrf_token: session.csrf_token,
    })
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

pub(super) async fn current_session(manager: Manager) -> Json<SessionInfo> {
    Json(SessionInfo {
        manager: manager.name,
        csrf_token: manager.csrf_token,
    })
}

pub(super) async fn sign_out(
    State(context): State<Context>,
    CheckedManager(manager): CheckedManager,
) -> Response {
    context.access().sign_out(&manager.token);
    context
        .audit(
            Some(&manager.name),
            &manager.from,
            "sign-out",
            String::new(),
            "ok",
        )
        .await;
    let expired = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(value) = HeaderValue::from_str(&expired) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}
