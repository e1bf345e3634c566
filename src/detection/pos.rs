//! The POS integration: an HTTP endpoint (loopback, and the LAN listener behind client
//! tokens) where the venue's POS software reports
//! each card authorisation as it happens. An approval or a decline proves the processor
//! answered (a declined card is not an outage); an error or timeout is a failure. Each
//! report becomes one outcome for the POS source's debouncer.
//!
//! `POST /v1/authorisations` with `{"outcome": "approved" | "declined" | "error",
//! "terminal": "till-3", "detail": "…"}` → 202; anything else → 400 with the reason.

use super::debounce::Outcome;
use super::worker::SourceOutcome;
use crate::protocol::Identifier;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::mpsc;

/// Largest report accepted.
const MAX_BODY: usize = 4096;

#[derive(Clone)]
struct PosState {
    source: Identifier,
    outcomes: mpsc::Sender<SourceOutcome>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Reported {
    Approved,
    Declined,
    Error,
}

#[derive(Deserialize)]
struct Authorisation {
    outcome: Reported,
    #[serde(default)]
    terminal: Option<String>,
    #[serde(default)]
    detail: Option<String>,
}

pub fn router(source: Identifier, outcomes: mpsc::Sender<SourceOutcome>) -> Router {
    Router::new()
        .route("/v1/authorisations", post(report))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(PosState { source, outcomes })
}

async fn report(
    State(state): State<PosState>,
    body: Result<Json<Authorisation>, JsonRejection>,
) -> (StatusCode, Json<serde_json::Value>) {
    let Json(report) = match body {
        Ok(body) => body,
        Err(rejection) => {
            let message = format!(
                "send JSON like {{\"outcome\": \"approved\" | \"declined\" | \"error\"}}: {}",
                rejection.body_text()
            );
            return (rejection.status(), Json(json!({ "error": message })));
        }
    };
    let outcome = match report.outcome {
        Reported::Approved | Reported::Declined => Outcome::Healthy,
        Reported::Error => Outcome::Failed,
    };
    let detail = [report.terminal, report.detail]
        .into_iter()
        .flatten()
        .map(|text| crate::text::one_line(&text))
        .collect::<Vec<_>>()
        .join(": ")
        .chars()
        .take(200)
        .collect();
    let sent = state.outcomes.try_send(SourceOutcome {
        source: state.source.clone(),
        outcome,
        detail,
    });
    match sent {
        Ok(()) => (StatusCode::ACCEPTED, Json(json!({ "accepted": true }))),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "error": "the detector is busy or stopping; report again shortly" })),
        ),
    }
}
