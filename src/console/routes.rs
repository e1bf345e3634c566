//! The console's router: the embedded page, sign-in and sessions (`sign_in`), the venue
//! snapshot and its live stream (`live`), templates and declarations
//! (`incident_routes`), thumbnails, the audit log, `/healthz` (merged in by the console),
//! and the voucher routes (`voucher_routes`). Every handler is thin: checks, one request
//! to a worker or the access table, one audit line for anything that changes the venue.

use super::bus::ConsoleRequest;
use super::http::{ApiError, CheckedManager, Context, Manager};
use super::{incident_routes, sign_in};
use crate::model::DeclareAction;
use crate::protocol::Identifier;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use tokio::sync::oneshot;

pub fn router(context: Context) -> Router {
    let limit = context.settings.max_body_bytes;
    Router::new()
        .route("/", get(super::assets::page))
        .route("/app.js", get(super::assets::script))
        .route("/drill.js", get(super::assets::drill_script))
        .route("/app.css", get(super::assets::style))
        .route(
            "/api/session",
            post(sign_in::sign_in)
                .get(sign_in::current_session)
                .delete(sign_in::sign_out),
        )
        .route("/api/state", get(state))
        .route("/api/events", get(super::live::events))
        .route("/api/templates", get(incident_routes::templates))
        .route(
            "/api/incident",
            post(incident_routes::declaring(DeclareAction::Start))
                .put(incident_routes::declaring(DeclareAction::Update)),
        )
        .route(
            "/api/incident/resolve",
            post(incident_routes::declaring(DeclareAction::Resolve)),
        )
        .route("/api/nodes/:node/thumbnail", get(thumbnail))
        .route("/api/nodes/:node/forget", post(forget))
        .route("/api/audit", get(audit))
        .route("/api/webhooks", get(webhook_log))
        .merge(super::voucher_routes::routes())
        .merge(super::override_routes::routes())
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

async fn state(State(context): State<Context>, _manager: Manager) -> Response {
    let json = context.snapshots.borrow().json.clone();
    ([(header::CONTENT_TYPE, "application/json")], json).into_response()
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

/// A manager retires a node taken out of service ("Forget" on an offline node): it then
/// shows nowhere. Refused for an unknown or online node; audited either way.
async fn forget(
    State(context): State<Context>,
    CheckedManager(manager): CheckedManager,
    Path(node): Path<String>,
) -> Result<Response, ApiError> {
    let result = forget_checked(&context, &manager.name, &node).await;
    let outcome = match &result {
        Ok(()) => "ok".to_owned(),
        Err(error) => format!("refused: {}", error.message),
    };
    context
        .audit(
            Some(&manager.name),
            &manager.from,
            "forget node",
            node,
            &outcome,
        )
        .await;
    result.map(|()| StatusCode::NO_CONTENT.into_response())
}

async fn forget_checked(context: &Context, manager: &str, node: &str) -> Result<(), ApiError> {
    let node = Identifier::parse(node)
        .map_err(|error| ApiError::bad_request(format!("node {node:?} {error}")))?;
    let (reply, answer) = oneshot::channel();
    let stopped = || ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the console is stopping");
    context
        .bus
        .send(ConsoleRequest::Retire {
            node,
            by: manager.to_owned(),
            reply,
        })
        .await
        .map_err(|_| stopped())?;
    answer
        .await
        .map_err(|_| stopped())?
        .map_err(|refusal| ApiError::new(StatusCode::CONFLICT, refusal))
}

/// The webhook delivery log, newest first, and how many deliveries wait for a retry.
async fn webhook_log(
    State(context): State<Context>,
    _manager: Manager,
) -> Result<Response, ApiError> {
    let Some(queue) = context.webhooks.clone() else {
        return Ok(
            Json(serde_json::json!({ "configured": false, "waiting": 0, "entries": [] }))
                .into_response(),
        );
    };
    let (entries, waiting) = tokio::task::spawn_blocking(move || queue.log(100))
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the delivery log could not be read",
            )
        })?
        .map_err(|error| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the delivery log could not be read: {error}"),
            )
        })?;
    Ok(
        Json(serde_json::json!({ "configured": true, "waiting": waiting, "entries": entries }))
            .into_response(),
    )
}
