//! The web screens' HTTP side, open to signage players without a manager's session: the
//! page (`/screen/{id}`, the same static shell for every id, holding nothing of the
//! venue), its script, style and font (`/web-screen/…`, embedded in the binary: no CDN,
//! works with no internet), the live stream (`/screen/{id}/events?key=…`, Server-Sent
//! Events: a `setup` event, a `view` event now and after every change, a `ping` every 5 s
//! so a page notices a dead link), the key check a page makes before it reconnects
//! (`/screen/{id}/key?key=…`), and what a page painted (`POST /screen/{id}/painted`).
//!
//! Bounds: a key opens one screen; a wrong, revoked or missing key gets 403 and nothing
//! else; a screen holds at most `max_pages` streams and an address at most
//! `console.web_streams_per_address` (429, with Retry-After, which the page honours with
//! backoff); bodies over 1 KiB get 413; a stream holds one watch receiver, never a queue.
//! The pages may be framed by other sites (`frame-ancestors *`): signage players layer a
//! banner over menu boards in an iframe, and the page has no action a click could misuse.

use super::http::{ApiError, ClientAddress, JsonBody};
use super::web_screens::{PageRefusal, WebScreen, WebScreens};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

const PAGE: &str = include_str!("../../assets/web-screen/index.html");
const SCRIPT: &str = include_str!("../../assets/web-screen/screen.js");
const STYLE: &str = include_str!("../../assets/web-screen/screen.css");
const FONT_REGULAR: &[u8] = include_bytes!("../../ui/fonts/Inter-Regular.otf");
const FONT_BOLD: &[u8] = include_bytes!("../../ui/fonts/Inter-Bold.otf");

/// Our own script, style and font only; framing allowed (see the module comment).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; font-src 'self'; connect-src 'self'; img-src 'self'; frame-ancestors *; base-uri 'none'; form-action 'none'";
/// How often an idle stream says it is alive.
const PING: Duration = Duration::from_secs(5);
/// The largest body a page posts (a sequence number and a digest).
const MAX_BODY: usize = 1024;
/// Longest key accepted for checking (keys are 64 hex digits).
const MAX_KEY: usize = 128;

type Screens = Arc<WebScreens>;

pub fn router(screens: Screens) -> Router {
    Router::new()
        .route("/screen/:id", get(page))
        .route("/screen/:id/events", get(events))
        .route("/screen/:id/key", get(check_key))
        .route("/screen/:id/painted", post(painted))
        .route(
            "/web-screen/screen.js",
            get(|| asset("text/javascript; charset=utf-8", SCRIPT.as_bytes())),
        )
        .route(
            "/web-screen/screen.css",
            get(|| asset("text/css; charset=utf-8", STYLE.as_bytes())),
        )
        .route(
            "/web-screen/inter-regular.otf",
            get(|| asset("font/otf", FONT_REGULAR)),
        )
        .route(
            "/web-screen/inter-bold.otf",
            get(|| asset("font/otf", FONT_BOLD)),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(screens)
}

async fn asset(content_type: &'static str, body: &'static [u8]) -> Response {
    super::assets::embedded(content_type, CONTENT_SECURITY_POLICY, body)
}

async fn page() -> Response {
    asset("text/html; charset=utf-8", PAGE.as_bytes()).await
}

#[derive(Deserialize)]
struct KeyQuery {
    key: Option<String>,
}

fn refusal(why: PageRefusal) -> Response {
    let status = match why {
        PageRefusal::BadKey => StatusCode::FORBIDDEN,
        PageRefusal::TooManyPages(_) | PageRefusal::TooManyFromAddress(_) => {
            StatusCode::TOO_MANY_REQUESTS
        }
    };
    let mut response = ApiError::new(status, why.to_string()).into_response();
    if status == StatusCode::TOO_MANY_REQUESTS {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("10"));
    }
    response
}

/// The `?key=` of a request, however malformed.
type KeyParam = Result<Query<KeyQuery>, axum::extract::rejection::QueryRejection>;

/// The screen the query's key opens; what cannot be a key is refused before hashing.
fn authorised<'a>(
    screens: &'a WebScreens,
    id: &str,
    query: KeyParam,
) -> Result<&'a WebScreen, PageRefusal> {
    let key = query.ok().and_then(|Query(q)| q.key).unwrap_or_default();
    if key.is_empty() || key.len() > MAX_KEY {
        return Err(PageRefusal::BadKey);
    }
    screens.authorise(id, &key)
}

async fn check_key(
    State(screens): State<Screens>,
    Path(id): Path<String>,
    query: KeyParam,
) -> Response {
    match authorised(&screens, &id, query) {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(why) => refusal(why),
    }
}

async fn events(
    State(screens): State<Screens>,
    Path(id): Path<String>,
    from: ClientAddress,
    query: KeyParam,
) -> Response {
    let screen = match authorised(&screens, &id, query) {
        Ok(screen) => screen,
        Err(why) => return refusal(why),
    };
    let guard = match screens.open_page(screen, from.0.ip()) {
        Ok(guard) => guard,
        Err(why) => return refusal(why),
    };
    let setup = serde_json::json!({
        "id": screen.config.id,
        "layout": screen.config.layout,
    })
    .to_string();
    let mut feed = screen.feed.subscribe();
    feed.mark_changed();
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING, PING);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let first = futures_util::stream::once(async move {
        Ok::<_, Infallible>(Event::default().event("setup").data(setup))
    });
    let rest = futures_util::stream::unfold(
        (feed, ping, guard),
        |(mut feed, mut ping, guard)| async move {
            let event = tokio::select! {
                changed = feed.changed() => {
                    changed.ok()?;
                    let json = feed.borrow_and_update().clone();
                    if json.is_empty() {
                        Event::default().event("ping").data("")
                    } else {
                        Event::default().event("view").data(&*json)
                    }
                }
                _ = ping.tick() => Event::default().event("ping").data(""),
            };
            Some((Ok(event), (feed, ping, guard)))
        },
    );
    use futures_util::StreamExt as _;
    Sse::new(first.chain(rest)).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PaintedBody {
    seq: u64,
    digest: String,
}

async fn painted(
    State(screens): State<Screens>,
    Path(id): Path<String>,
    query: KeyParam,
    body: Result<JsonBody<PaintedBody>, ApiError>,
) -> Response {
    let screen = match authorised(&screens, &id, query) {
        Ok(screen) => screen,
        Err(why) => return refusal(why),
    };
    let JsonBody(body) = match body {
        Ok(body) => body,
        Err(error) => return error.into_response(),
    };
    if screens.painted(
        &screen.config.id,
        body.seq,
        &body.digest,
        OffsetDateTime::now_utc(),
    ) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        ApiError::new(
            StatusCode::CONFLICT,
            "that view is not one this console served recently; the page will get the current one",
        )
        .into_response()
    }
}
