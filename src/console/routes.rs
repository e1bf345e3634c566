//! The console's routes: the embedded page, sign-in and sessions, the venue snapshot and
//! its live stream, templates, declarations, thumbnails and the audit log. Voucher routes
//! live in `voucher_routes`. Every handler is thin: checks, one request to a worker or
//! the access table, one audit line for anything that changes the venue.

use super::access::{check_pin_shape, pin_matches, Access};
use super::bus::{ConsoleRequest, DeclareFailure, DeclareOutcome};
use super::http::{
    ApiError, CheckedManager, ClientAddress, Context, JsonBody, Manager, SESSION_COOKIE,
};
use crate::config::{ModeTexts, MAX_MANAGER_NAME};
use crate::model::{DeclareAction, DeclareRefusal, DeclareRequest};
use crate::protocol::{Authority, Identifier, IncidentTexts};
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::convert::Infallible;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// The source name of every console declaration (docs/PROTOCOL.md).
const CONSOLE_SOURCE: &str = "console";

pub fn router(context: Context) -> Router {
    let limit = context.settings.max_body_bytes;
    Router::new()
        .route("/", get(super::assets::page))
        .route("/app.js", get(super::assets::script))
        .route("/app.css", get(super::assets::style))
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/api/session",
            post(sign_in).get(current_session).delete(sign_out),
        )
        .route("/api/state", get(state))
        .route("/api/events", get(events))
        .route("/api/templates", get(templates))
        .route(
            "/api/incident",
            post(declaring(DeclareAction::Start)).put(declaring(DeclareAction::Update)),
        )
        .route(
            "/api/incident/resolve",
            post(declaring(DeclareAction::Resolve)),
        )
        .route("/api/nodes/:node/thumbnail", get(thumbnail))
        .route("/api/audit", get(audit))
        .merge(super::voucher_routes::routes())
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "this call does not take that method",
            )
        })
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such page or API call") })
        .layer(DefaultBodyLimit::max(limit))
        .with_state(context)
}

#[derive(Deserialize)]
struct SignIn {
    name: String,
    pin: String,
}

#[derive(Serialize)]
struct SessionInfo {
    manager: String,
    csrf_token: String,
}

async fn sign_in(
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
    let pin = body.pin;
    let shaped = check_pin_shape(&pin).is_ok();
    // The hash is checked even for unknown names, so timing does not tell names apart.
    let hash = account
        .as_ref()
        .map(|a| a.pin_hash.clone())
        .unwrap_or_else(|| DECOY_HASH.clone());
    // Argon2 takes ~19 MiB per check: at most a few at once, whatever arrives.
    let matches = match PIN_CHECKS.acquire().await {
        Ok(_permit) => tokio::task::spawn_blocking(move || shaped && pin_matches(&hash, &pin))
            .await
            .unwrap_or(false),
        Err(_) => false,
    };
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

/// How often an idle live stream re-checks that its session still exists.
const SESSION_RECHECK: Duration = Duration::from_secs(15);

/// PIN checks running at once at most.
static PIN_CHECKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// An argon2 hash of no PIN anyone can type (PINs are digits): checked when the name is
/// unknown, so an unknown name costs as much time as a wrong PIN.
static DECOY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| super::access::hash_pin("no such manager").unwrap_or_default());

async fn current_session(manager: Manager) -> Json<SessionInfo> {
    Json(SessionInfo {
        manager: manager.name,
        csrf_token: manager.csrf_token,
    })
}

async fn sign_out(
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

async fn state(State(context): State<Context>, _manager: Manager) -> Response {
    let json = context.snapshots.borrow().json.clone();
    ([(header::CONTENT_TYPE, "application/json")], json).into_response()
}

/// One `snapshot` event now and one after every change, until the session ends.
async fn events(
    State(context): State<Context>,
    manager: Manager,
) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    let mut receiver = context.snapshots.clone();
    receiver.mark_changed();
    let stream = futures_util::stream::unfold(
        (receiver, context, manager.token),
        |(mut receiver, context, token)| async move {
            // A session that ended (sign-out, expiry) stops receiving the venue's state: at
            // the next change, or within a check period if nothing changes.
            loop {
                context.access().session(&token, Instant::now())?;
                match tokio::time::timeout(SESSION_RECHECK, receiver.changed()).await {
                    Ok(changed) => break changed.ok()?,
                    Err(_) => continue,
                }
            }
            context.access().session(&token, Instant::now())?;
            let json = receiver.borrow_and_update().json.clone();
            let event = Event::default().event("snapshot").data(json);
            Some((Ok(event), (receiver, context, token)))
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

#[derive(Serialize)]
struct OfferInfo {
    id: Identifier,
    title: String,
    terms: String,
}

#[derive(Serialize)]
struct Templates {
    venue_name: String,
    offers: Vec<OfferInfo>,
    cash_only: IncidentTexts,
    all_clear: IncidentTexts,
}

/// The screens' bundled English wording, used where the config sets no template.
fn with_bundled(template: &ModeTexts, bundled: [&str; 4]) -> IncidentTexts {
    let pick = |configured: &Option<String>, fallback: &str| {
        Some(configured.clone().unwrap_or_else(|| fallback.to_owned())).filter(|t| !t.is_empty())
    };
    IncidentTexts {
        headline: pick(&template.headline, bundled[0]),
        body: pick(&template.body, bundled[1]),
        offer: pick(&template.offer, bundled[2]),
        cash_points: pick(&template.cash_points, bundled[3]),
    }
}

async fn templates(State(context): State<Context>, _manager: Manager) -> Json<Templates> {
    Json(Templates {
        venue_name: context.venue_name.clone(),
        offers: context
            .offers
            .iter()
            .map(|offer| OfferInfo {
                id: offer.id.clone(),
                title: offer.title.clone(),
                terms: offer.terms.clone(),
            })
            .collect(),
        cash_only: with_bundled(
            &context.texts.cash_only,
            [
                "Card payments are down",
                "Please pay with cash. We are sorry for the wait.",
                "Ask any member of staff for your raincheck.",
                "Cash is accepted at every till.",
            ],
        ),
        all_clear: with_bundled(
            &context.texts.all_clear,
            [
                "Card payments are back",
                "Thank you for your patience.",
                "",
                "",
            ],
        ),
    })
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct DeclareBody {
    #[serde(default)]
    texts: TypedTexts,
    #[serde(default)]
    offer_id: Option<String>,
}

/// The texts as typed; unlike the bus's `IncidentTexts`, a misspelt field is refused
/// rather than silently replaced by the template on every screen.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TypedTexts {
    #[serde(default)]
    headline: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    offer: Option<String>,
    #[serde(default)]
    cash_points: Option<String>,
}

#[derive(Serialize)]
struct Declared {
    incident_id: Identifier,
    revision: u64,
    shown_revision: u64,
    note: Option<String>,
}

type Declaring =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Json<Declared>, ApiError>> + Send>>;

/// The handler of one declaring action (start, update, resolve): same checks, same body.
fn declaring(
    action: DeclareAction,
) -> impl Fn(State<Context>, CheckedManager, JsonBody<DeclareBody>) -> Declaring + Clone {
    move |State(context), CheckedManager(manager), JsonBody(body)| {
        Box::pin(async move { run_declaration(&context, &manager, action, body).await })
    }
}

async fn run_declaration(
    context: &Context,
    manager: &Manager,
    action: DeclareAction,
    body: DeclareBody,
) -> Result<Json<Declared>, ApiError> {
    let verb = match action {
        DeclareAction::Start => "declare",
        DeclareAction::Update => "update",
        DeclareAction::Resolve => "resolve",
    };
    let result = declare_through_bus(context, manager, action, body).await;
    let (detail, outcome) = match &result {
        Ok(outcome) => (
            format!(
                "incident {} revision {}{}",
                outcome.declaration.incident_id,
                outcome.declaration.revision,
                outcome
                    .declaration
                    .texts
                    .headline
                    .as_deref()
                    .map(|h| format!(": {h}"))
                    .unwrap_or_default()
            ),
            "ok".to_owned(),
        ),
        Err(error) => (String::new(), format!("refused: {}", error.message)),
    };
    context
        .audit(Some(&manager.name), &manager.from, verb, detail, &outcome)
        .await;
    let outcome = result?;
    Ok(Json(Declared {
        incident_id: outcome.declaration.incident_id,
        revision: outcome.declaration.revision,
        shown_revision: outcome.shown_revision,
        note: outcome.note,
    }))
}

async fn declare_through_bus(
    context: &Context,
    manager: &Manager,
    action: DeclareAction,
    body: DeclareBody,
) -> Result<DeclareOutcome, ApiError> {
    let blank_is_template =
        |text: Option<String>| text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
    let texts = IncidentTexts {
        headline: blank_is_template(body.texts.headline),
        body: blank_is_template(body.texts.body),
        offer: blank_is_template(body.texts.offer),
        cash_points: blank_is_template(body.texts.cash_points),
    };
    let offer_id = match body.offer_id.filter(|id| !id.is_empty()) {
        None => None,
        Some(id) => {
            let known = context.offers.iter().find(|offer| offer.id.as_str() == id);
            match known {
                Some(offer) => Some(offer.id.clone()),
                None => {
                    return Err(ApiError::bad_request(format!(
                        "there is no offer {id:?}; choose one of the offers shown"
                    )))
                }
            }
        }
    };
    let request = DeclareRequest {
        action,
        source: Identifier::parse(CONSOLE_SOURCE)
            .map_err(|error| ApiError::bad_request(error.to_string()))?,
        authority: Authority::Manager,
        actor: Some(manager.name.clone()),
        texts,
        offer_id,
    };
    let (reply, answer) = oneshot::channel();
    let stopping = || ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the console is stopping");
    context
        .bus
        .send(ConsoleRequest::Declare { request, reply })
        .await
        .map_err(|_| stopping())?;
    let outcome = answer.await.map_err(|_| stopping())?;
    outcome.map_err(|failure| {
        let status = match &failure {
            DeclareFailure::Refused(DeclareRefusal::TextTooLong { .. }) => StatusCode::BAD_REQUEST,
            DeclareFailure::Refused(_) => StatusCode::CONFLICT,
            _ => StatusCode::SERVICE_UNAVAILABLE,
        };
        ApiError::new(status, failure.to_string())
    })
}

async fn thumbnail(
    State(context): State<Context>,
    _manager: Manager,
    Path(node): Path<String>,
) -> Result<Response, ApiError> {
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "this node has published no thumbnail",
        )
    };
    let node = Identifier::parse(&node).map_err(|_| not_found())?;
    let (reply, answer) = oneshot::channel();
    context
        .bus
        .send(ConsoleRequest::Thumbnail { node, reply })
        .await
        .map_err(|_| not_found())?;
    let png = answer.await.ok().flatten().ok_or_else(not_found)?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "private, max-age=3600"),
        ],
        png,
    )
        .into_response())
}

#[derive(Deserialize)]
struct AuditQuery {
    limit: Option<usize>,
}

async fn audit(
    State(context): State<Context>,
    _manager: Manager,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) =
        query.map_err(|_| ApiError::bad_request("limit must be a whole number of entries"))?;
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    let entries = context.audit.newest(limit);
    Ok(Json(serde_json::json!({ "entries": entries })).into_response())
}
