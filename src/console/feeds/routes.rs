//! The feeds' HTTP side: `GET /feeds/cap.xml` and `GET /feeds/status.json`, read with a
//! feed key (`Authorization: Bearer KEY` or `?key=KEY`), each answer built from the
//! console's latest snapshot by the pure `cap` and `status` modules. Refusals are the
//! console's JSON errors (`ApiError`): 401 for a missing or wrong key, 429 once an address
//! has sent too many, 503 while the console cannot see the venue (so a player keeps what
//! it shows rather than hear "nothing"). CORS for the configured origins, `OPTIONS`
//! preflight included; nothing is cached (`Cache-Control: no-store`).

use super::cap::{cap_message, CapSettings, CapStatus, MessageRef};
use super::status::{status_document, words_at, WordsConfig};
use crate::config::{DisplaySection, FeedsSection, TextsSection};
use crate::console::bus::PublishedSnapshot;
use crate::console::http::{ApiError, ClientAddress};
use crate::machine_keys::{key_owner, Throttle};
use crate::protocol::Identifier;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use time::OffsetDateTime;
use tokio::sync::watch;

/// What the feed handlers share.
pub struct FeedsState {
    pub venue: Identifier,
    pub venue_name: String,
    pub display: DisplaySection,
    pub texts: TextsSection,
    /// The languages of the venue's screens (the console's `display.languages`).
    pub languages: Vec<String>,
    pub settings: FeedsSection,
    pub snapshots: watch::Receiver<Arc<PublishedSnapshot>>,
    pub throttle: Mutex<Throttle>,
    /// The last CAP message served, so the next one of the incident references it.
    pub last_cap: Mutex<Option<MessageRef>>,
}

type Feeds = Arc<FeedsState>;

/// A refusal: the console's JSON error, and how long to wait when that helps.
struct Refusal {
    error: ApiError,
    retry_after_secs: Option<u64>,
}

impl From<ApiError> for Refusal {
    fn from(error: ApiError) -> Self {
        Self {
            error,
            retry_after_secs: None,
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut response = self.error.into_response();
        if let Some(seconds) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

pub fn router<S: Clone + Send + Sync + 'static>(state: Feeds) -> Router<S> {
    Router::new()
        .route(
            "/feeds/cap.xml",
            get(cap_feed).options(preflight).fallback(wrong_method),
        )
        .route(
            "/feeds/status.json",
            get(status_feed).options(preflight).fallback(wrong_method),
        )
        .with_state(state)
}

async fn wrong_method(method: Method) -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("the feeds are read with GET, not {method}"),
    )
    .into_response()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The key sent as `Authorization: Bearer KEY`, else as `?key=KEY`.
fn presented_key(headers: &HeaderMap, uri: &Uri) -> Option<String> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            // The scheme is case-insensitive (RFC 7235).
            let (scheme, key) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(key)
        })
        .map(|key| key.trim().to_owned());
    bearer.or_else(|| {
        uri.query()?
            .split('&')
            .find_map(|pair| pair.strip_prefix("key="))
            .map(str::to_owned)
    })
}

/// The reader's name, or the refusal: throttled first, so a throttled address's keys
/// are not even checked.
fn authorize(
    feeds: &FeedsState,
    headers: &HeaderMap,
    uri: &Uri,
    from: ClientAddress,
) -> Result<String, Refusal> {
    let address = from.0.ip();
    let now = Instant::now();
    if let Some(wait) = lock(&feeds.throttle).wait(address, now) {
        let seconds = wait.as_secs().max(1);
        return Err(Refusal {
            error: ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!("too many wrong feed keys from this address; wait {seconds} s and check the key"),
            ),
            retry_after_secs: Some(seconds),
        });
    }
    let presented = presented_key(headers, uri);
    let owner = presented.as_deref().and_then(|key| {
        key_owner(
            feeds
                .settings
                .keys
                .iter()
                .map(|k| (k.name.as_str(), k.key_hash.as_str())),
            key,
        )
    });
    if let Some(owner) = owner {
        lock(&feeds.throttle).succeeded(address);
        return Ok(owner.to_owned());
    }
    let count = lock(&feeds.throttle).record_failure(address, now);
    if count == crate::machine_keys::FREE_FAILURES + 1 {
        tracing::warn!(from = %address, "feeds: repeated wrong or missing feed keys; this address now has to wait between attempts");
    } else {
        tracing::debug!(from = %address, "feeds: refused a request without a valid feed key");
    }
    let message = match presented {
        None => "this feed needs a key: send it as \"Authorization: Bearer KEY\" or add ?key=KEY to the address; the venue's technician makes one with `raincheck console feed-key NAME`",
        Some(_) => "this feed key is not valid; check it against the one the venue's technician gave you",
    };
    Err(ApiError::new(StatusCode::UNAUTHORIZED, message).into())
}

/// The snapshot, unless the console cannot see the venue: then 503, so that readers keep
/// what they last had instead of reading "nothing declared".
fn current(feeds: &FeedsState) -> Result<Arc<PublishedSnapshot>, Refusal> {
    let published = feeds.snapshots.borrow().clone();
    if published.snapshot.link.connected {
        return Ok(published);
    }
    let since = published
        .snapshot
        .link
        .blind_since
        .map(|t| format!(" since {}", crate::clock::hour_minute(t)))
        .unwrap_or_default();
    Err(Refusal {
        error: ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the console cannot see the venue's state right now{since}; keep what you show and ask again shortly"),
        ),
        retry_after_secs: Some(30),
    })
}

fn words_config(feeds: &FeedsState) -> WordsConfig<'_> {
    WordsConfig {
        venue_name: &feeds.venue_name,
        display: &feeds.display,
        texts: &feeds.texts,
        languages: &feeds.languages,
    }
}

async fn cap_feed(
    State(feeds): State<Feeds>,
    from: ClientAddress,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let response =
        cap_answer(&feeds, &headers, &uri, from).unwrap_or_else(IntoResponse::into_response);
    finish(&feeds, &headers, response)
}

fn cap_answer(
    feeds: &FeedsState,
    headers: &HeaderMap,
    uri: &Uri,
    from: ClientAddress,
) -> Result<Response, Refusal> {
    let reader = authorize(feeds, headers, uri, from)?;
    let published = current(feeds)?;
    let view = &published.snapshot.view.view;
    let now = OffsetDateTime::now_utc();
    // The words as the screens showed them when the declaration was made: for a resolve,
    // the all-clear wording even after the screens went back to normal.
    let (_, words) = words_at(view, &words_config(feeds), view.declared_at.unwrap_or(now));
    let settings = CapSettings {
        // Drills would set `Exercise` here once a declaration can say it is one.
        status: CapStatus::Actual,
        expires_after: time::Duration::minutes(i64::from(feeds.settings.cap_expires_minutes)),
        cancel_for: time::Duration::minutes(i64::from(feeds.settings.cap_cancel_minutes)),
    };
    let mut last = lock(&feeds.last_cap);
    let message = cap_message(
        &feeds.venue,
        &feeds.venue_name,
        view,
        &words,
        last.as_ref(),
        &settings,
        now,
    );
    let Some(message) = message else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    if last.as_ref().map(|m| &m.identifier) != Some(&message.reference.identifier) {
        tracing::info!(reader, msg_type = message.msg_type, identifier = %message.reference.identifier, "feeds: serving a new CAP message");
        *last = Some(message.reference.clone());
    }
    Ok((
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        message.xml,
    )
        .into_response())
}

async fn status_feed(
    State(feeds): State<Feeds>,
    from: ClientAddress,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let answer = authorize(&feeds, &headers, &uri, from)
        .and_then(|_| current(&feeds))
        .map(|published| {
            let document = status_document(
                &feeds.venue,
                &published.snapshot.view.view,
                &words_config(&feeds),
                OffsetDateTime::now_utc(),
            );
            axum::Json(document).into_response()
        });
    let response = answer.unwrap_or_else(IntoResponse::into_response);
    finish(&feeds, &headers, response)
}

/// The allowed origin of the request, if it has one that is configured.
fn allowed_origin<'a>(feeds: &FeedsState, headers: &'a HeaderMap) -> Option<&'a HeaderValue> {
    let origin = headers.get(header::ORIGIN)?;
    let text = origin.to_str().ok()?;
    feeds
        .settings
        .cors_origins
        .iter()
        .any(|allowed| allowed == text)
        .then_some(origin)
}

/// No caching anywhere, and CORS for an allowed origin (on refusals too, so a page can
/// read why it was refused).
fn finish(feeds: &FeedsState, headers: &HeaderMap, mut response: Response) -> Response {
    let out = response.headers_mut();
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    out.insert(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = allowed_origin(feeds, headers) {
        out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    }
    response
}

/// A browser's CORS preflight: allowed origins may send GET with an Authorization header.
async fn preflight(State(feeds): State<Feeds>, headers: HeaderMap) -> Response {
    if allowed_origin(&feeds, &headers).is_none() {
        let response = ApiError::new(
            StatusCode::FORBIDDEN,
            "this web origin may not read the feeds; the venue's technician can add it to console.feeds.cors_origins",
        )
        .into_response();
        return finish(&feeds, &headers, response);
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    let out = response.headers_mut();
    out.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, OPTIONS"),
    );
    out.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Authorization"),
    );
    out.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    finish(&feeds, &headers, response)
}
