//! Staff drills from the tablet: `POST /api/drill` starts one (how long it runs, which
//! screens draw the full cash-only screen), `POST /api/drill/end` ends it early;
//! `GET /api/reports/drills` lists the kept drill reports, newest first, and
//! `GET /api/reports/drills/{id}?format=html|json` is one. Every start, end and refusal is
//! in the audit log as a drill; a drill during a real incident is refused (409).

use super::bus::{ConsoleRequest, DrillCommand, DrillFailure};
use super::drill::{file, html};
use super::http::{ApiError, CheckedManager, Context, JsonBody, Manager};
use crate::model::{DrillRefusal, DrillRequest};
use crate::protocol::{DrillOrder, Identifier};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::oneshot;

/// Drill reports listed at most.
const MAX_LISTED: usize = 100;

pub fn router(context: Context) -> Router {
    Router::new()
        .route("/api/drill", post(start))
        .route("/api/drill/end", post(end))
        .route("/api/reports/drills", get(list))
        .route("/api/reports/drills/:drill", get(report))
        .with_state(context)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartBody {
    /// How long the drill runs before every screen returns (10-600; default 120).
    #[serde(default)]
    seconds: Option<u32>,
    /// Screens (node ids) that draw the full cash-only screen rather than the marker.
    #[serde(default)]
    full_screen: Vec<String>,
}

async fn start(
    State(context): State<Context>,
    CheckedManager(manager): CheckedManager,
    JsonBody(body): JsonBody<serde_json::Value>,
) -> Result<Response, ApiError> {
    // Read here, not by the extractor, so a body of the wrong shape is audited too.
    let result = match serde_json::from_value::<StartBody>(body) {
        Ok(body) => start_checked(&context, &manager, body).await,
        Err(error) => Err(ApiError::bad_request(format!(
            "the drill request is not understood: {error}"
        ))),
    };
    let (detail, outcome) = match &result {
        Ok(order) => (drill_detail(order), "ok".to_owned()),
        Err(error) => ("drill".to_owned(), format!("refused: {}", error.message)),
    };
    context
        .audit(
            Some(&manager.name),
            &manager.from,
            "drill start",
            detail,
            &outcome,
        )
        .await;
    let order = result?;
    Ok(Json(json!({
        "drill_id": order.drill_id,
        "revision": order.revision,
        "ends_at": order.ends_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
    }))
    .into_response())
}

fn drill_detail(order: &DrillOrder) -> String {
    let names: Vec<&str> = order.full_screen.iter().map(Identifier::as_str).collect();
    match names.is_empty() {
        true => format!("drill {} (marker on every screen)", order.drill_id),
        false => format!(
            "drill {} (full screen on {})",
            order.drill_id,
            names.join(", ")
        ),
    }
}

async fn start_checked(
    context: &Context,
    manager: &Manager,
    body: StartBody,
) -> Result<DrillOrder, ApiError> {
    let seconds = body.seconds.unwrap_or(120);
    if !(10..=600).contains(&seconds) {
        return Err(ApiError::bad_request(format!(
            "seconds {seconds} is out of range; a drill runs for 10 to 600 seconds"
        )));
    }
    // Only screens and counters the console knows: a typo would otherwise test nothing.
    let known: Vec<Identifier> = context
        .snapshots
        .borrow()
        .snapshot
        .nodes
        .iter()
        .map(|row| row.node.clone())
        .collect();
    let mut full_screen = Vec::new();
    for name in &body.full_screen {
        let node = Identifier::parse(name)
            .map_err(|error| ApiError::bad_request(format!("screen {name:?} {error}")))?;
        if !known.contains(&node) {
            return Err(ApiError::bad_request(format!(
                "no screen {node} has reported to this console; choose among the screens listed"
            )));
        }
        full_screen.push(node);
    }
    let request = DrillRequest {
        source: Identifier::parse(super::CONSOLE_SOURCE)
            .expect("the console's source id is a valid identifier"),
        actor: Some(manager.name.clone()),
        runs_for: time::Duration::seconds(i64::from(seconds)),
        full_screen,
    };
    send(context, DrillCommand::Start(request)).await
}

async fn end(
    State(context): State<Context>,
    CheckedManager(manager): CheckedManager,
) -> Result<Response, ApiError> {
    let result = send(
        &context,
        DrillCommand::End {
            actor: manager.name.clone(),
        },
    )
    .await;
    let (detail, outcome) = match &result {
        Ok(order) => (format!("drill {}", order.drill_id), "ok".to_owned()),
        Err(error) => ("drill".to_owned(), format!("refused: {}", error.message)),
    };
    context
        .audit(
            Some(&manager.name),
            &manager.from,
            "drill end",
            detail,
            &outcome,
        )
        .await;
    let order = result?;
    Ok(Json(json!({ "drill_id": order.drill_id, "revision": order.revision })).into_response())
}

/// Hands the command to the bus worker; its refusal as the HTTP status that fits.
async fn send(context: &Context, command: DrillCommand) -> Result<DrillOrder, ApiError> {
    let (reply, answer) = oneshot::channel();
    let stopping = || ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the console is stopping");
    context
        .bus
        .send(ConsoleRequest::Drill { command, reply })
        .await
        .map_err(|_| stopping())?;
    answer.await.map_err(|_| stopping())?.map_err(|failure| {
        let status = match &failure {
            DrillFailure::Refused(
                DrillRefusal::DurationOutOfRange | DrillRefusal::TooManyScreens,
            ) => StatusCode::BAD_REQUEST,
            DrillFailure::Refused(_) => StatusCode::CONFLICT,
            DrillFailure::NoLink | DrillFailure::NotReady => StatusCode::SERVICE_UNAVAILABLE,
        };
        ApiError::new(status, failure.to_string())
    })
}

/// The kept drill reports, newest first, in a line each.
async fn list(State(context): State<Context>, _manager: Manager) -> Result<Response, ApiError> {
    let data_dir = context.data_dir.clone();
    let reports = tokio::task::spawn_blocking(move || file::list(&data_dir, MAX_LISTED))
        .await
        .map_err(|error| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, error.to_string()))?;
    let rfc3339 = |at: time::OffsetDateTime| {
        at.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    let drills: Vec<_> = reports
        .iter()
        .map(|report| {
            let (confirmed, total) = report.confirmed();
            json!({
                "drill_id": report.drill_id,
                "started_at": rfc3339(report.started_at),
                "ended_at": report.ended_at.map(rfc3339),
                "confirmed": confirmed,
                "total": total,
                "slowest_ms": report.slowest_ms(),
                "interrupted": report.interrupted,
            })
        })
        .collect();
    Ok(Json(json!({ "drills": drills })).into_response())
}

#[derive(Deserialize)]
struct ReportQuery {
    #[serde(default)]
    format: Option<String>,
}

async fn report(
    State(context): State<Context>,
    manager: Manager,
    Path(drill): Path<String>,
    Query(query): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let drill = Identifier::parse(&drill)
        .map_err(|error| ApiError::bad_request(format!("drill {drill:?} {error}")))?;
    let html = match query.format.as_deref().unwrap_or("json") {
        "json" => false,
        "html" => true,
        other => {
            return Err(ApiError::bad_request(format!(
                "format {other:?} is not offered; use html or json"
            )))
        }
    };
    let (data_dir, wanted) = (context.data_dir.clone(), drill.clone());
    let report = tokio::task::spawn_blocking(move || file::read(&data_dir, &wanted))
        .await
        .map_err(|error| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, error.to_string()))?
        .map_err(|error| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("cannot read the drill report: {error}"),
            )
        })?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                format!("this console has no record of drill {drill}"),
            )
        })?;
    let format = if html { "html" } else { "json" };
    context
        .audit(
            Some(&manager.name),
            &manager.from,
            "report",
            format!("drill {drill} as {format}"),
            "ok",
        )
        .await;
    if !html {
        return Ok(Json(report).into_response());
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"raincheck-{drill}.html\""),
            ),
        ],
        html::render(&report),
    )
        .into_response())
}
