//! The incident reports a signed-in manager reads: `GET /api/reports/incidents` lists the
//! incidents the console kept a timeline of, newest first; `GET /api/reports/incidents/{id}
//! ?format=html|csv|json` is one incident's report — its timeline and its vouchers,
//! streamed from the console's replica beside the voucher worker (never in its loop).
//! An unknown incident is 404 and a bad format 400, each with the reason; every report
//! read is in the audit log.

use super::http::{ApiError, Context, Manager};
use super::report::{read_timeline, tally_vouchers, IncidentReport, ReportFormat};
use crate::protocol::Identifier;
use crate::voucher::api::status_of;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

/// Incidents listed at most.
const MAX_LISTED: usize = 200;

pub fn router(context: Context) -> Router {
    Router::new()
        .route("/api/reports/incidents", get(list))
        .route("/api/reports/incidents/:incident", get(report))
        .with_state(context)
}

/// The incidents with a timeline file, newest first.
async fn list(State(context): State<Context>, _manager: Manager) -> Result<Response, ApiError> {
    let directory = context.data_dir.join("incidents");
    let listed = tokio::task::spawn_blocking(move || {
        let mut found: Vec<(std::time::SystemTime, String)> = match std::fs::read_dir(&directory) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .filter_map(|entry| {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    let id = name.strip_suffix(".jsonl")?.to_owned();
                    let modified = entry.metadata().ok()?.modified().ok()?;
                    Some((modified, id))
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        found.sort_by_key(|entry| std::cmp::Reverse(entry.0));
        found.truncate(MAX_LISTED);
        found
            .into_iter()
            .map(|(modified, id)| {
                json!({ "incident": id, "last_entry_at": OffsetDateTime::from(modified)
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default() })
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|error| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, error.to_string()))?;
    Ok(Json(json!({ "incidents": listed })).into_response())
}

#[derive(Deserialize)]
struct ReportQuery {
    #[serde(default)]
    format: Option<String>,
}

async fn report(
    State(context): State<Context>,
    manager: Manager,
    Path(incident): Path<String>,
    Query(query): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let incident = Identifier::parse(&incident).map_err(|error| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("incident {incident:?} {error}"),
        )
    })?;
    let format: ReportFormat = query
        .format
        .as_deref()
        .unwrap_or("json")
        .parse()
        .map_err(|why: String| ApiError::new(StatusCode::BAD_REQUEST, why))?;
    let data_dir = context.data_dir.clone();
    let wanted = incident.clone();
    let timeline = tokio::task::spawn_blocking(move || read_timeline(&data_dir, &wanted))
        .await
        .map_err(|error| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, error.to_string()))?
        .map_err(|error| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("cannot read the incident's timeline: {error}"),
            )
        })?;
    let now = OffsetDateTime::now_utc();
    let vouchers = match &context.vouchers {
        None => None,
        Some(replica) => {
            let (offers, currency, wanted) = (
                context.offers.clone(),
                context.currency.clone(),
                incident.clone(),
            );
            let tallied = replica
                .scan(move |store| tally_vouchers(store, &wanted, &offers, currency, now))
                .await
                .map_err(|error| ApiError::new(status_of(&error), error.to_string()))?;
            Some(tallied)
        }
    };
    let report = IncidentReport {
        incident: incident.clone(),
        venue_name: context.venue_name.clone(),
        generated_at: now,
        timeline,
        vouchers,
    };
    if report.is_unknown() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!(
                "this console has no record of incident {incident}: no timeline and no voucher"
            ),
        ));
    }
    context
        .audit(
            Some(&manager.name),
            &manager.from,
            "report",
            format!("incident {incident} as {}", format.extension()),
            "ok",
        )
        .await;
    let body = tokio::task::spawn_blocking(move || report.render(format))
        .await
        .map_err(|error| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, error.to_string()))?;
    let disposition = format!(
        "inline; filename=\"raincheck-incident-{incident}.{}\"",
        format.extension()
    );
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}
