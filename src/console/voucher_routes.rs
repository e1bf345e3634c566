//! The console's voucher routes, served from the console's replica of every counter's
//! vouchers (its voucher worker): tonight's and this incident's figures with conflicts
//! (the store's running sums, no pass over the replica),
//! one voucher's record, a manager's void (durable before the answer), CSV export.

use super::http::{ApiError, CheckedManager, Context, JsonBody, Manager};
use crate::voucher::api::status_of;
use crate::voucher::figures::business_day_start;
use crate::voucher::{CounterError, CounterHandle};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use time::OffsetDateTime;

pub fn routes() -> Router<Context> {
    Router::new()
        .route("/api/vouchers/summary", get(summary))
        .route("/api/vouchers/export.csv", get(export))
        .route("/api/vouchers/:code", get(show))
        .route("/api/vouchers/:code/void", post(void))
}

fn replica(context: &Context) -> Result<&CounterHandle, ApiError> {
    context.vouchers.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "this console keeps no voucher replica; give its config the venue's [counter] section (offers and voucher secret)",
        )
    })
}

/// A voucher refusal, with the status every voucher endpoint gives it.
fn refused(error: CounterError) -> ApiError {
    ApiError::new(status_of(&error), error.to_string())
}

async fn summary(State(context): State<Context>, _manager: Manager) -> Result<Response, ApiError> {
    let now = OffsetDateTime::now_utc();
    let offset = crate::clock::local(now).offset();
    let day_start = business_day_start(now, offset, context.settings.business_day_starts.0);
    let incident = context
        .snapshots
        .borrow()
        .snapshot
        .view
        .view
        .incident_id
        .clone();
    let figures = replica(&context)?
        .scan(move |store| store.figures(day_start, incident))
        .await
        .map_err(refused)?;
    Ok(Json(figures).into_response())
}

async fn show(
    State(context): State<Context>,
    _manager: Manager,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let (parsed, record) = replica(&context)?.lookup(code).await.map_err(refused)?;
    parsed.map_err(|error| ApiError::bad_request(error.to_string()))?;
    let record = record.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "a valid code, but no terminal has reported it to the console yet",
        )
    })?;
    Ok(Json(record).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VoidBody {
    reason: String,
}

async fn void(
    State(context): State<Context>,
    CheckedManager(manager): CheckedManager,
    Path(code): Path<String>,
    JsonBody(body): JsonBody<VoidBody>,
) -> Result<Response, ApiError> {
    let result = void_checked(&context, &manager.name, &code, &body.reason).await;
    let outcome = match &result {
        Ok(()) => "ok".to_owned(),
        Err(error) => format!("refused: {}", error.message),
    };
    let detail = format!("{}: {}", code.trim(), body.reason.trim());
    context
        .audit(Some(&manager.name), &manager.from, "void", detail, &outcome)
        .await;
    result.map(|()| StatusCode::NO_CONTENT.into_response())
}

/// A manager's void; every rule (a reason, once only) is the voucher lifecycle's.
async fn void_checked(
    context: &Context,
    manager: &str,
    code: &str,
    reason: &str,
) -> Result<(), ApiError> {
    replica(context)?
        .void(code.to_owned(), reason.to_owned(), Some(manager.to_owned()))
        .await
        .map_err(refused)
}

/// Bytes of CSV sent to the download per chunk, and chunks waiting at most: an export of
/// a million vouchers streams through about 256 KiB of memory.
const EXPORT_CHUNK: usize = 64 * 1024;
const EXPORT_CHUNKS_WAITING: usize = 4;

async fn export(State(context): State<Context>, manager: Manager) -> Result<Response, ApiError> {
    let replica = replica(&context)?.clone();
    let (chunks, body) =
        tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(EXPORT_CHUNKS_WAITING);
    // The store streams into the download; a client that goes away ends the scan.
    tokio::spawn(async move {
        let failed = chunks.clone();
        let written = replica
            .scan(move |store| {
                let mut chunk = crate::voucher::export::CSV_HEADER.as_bytes().to_vec();
                chunk.push(b'\n');
                let mut count = 0usize;
                let mut gone = false;
                store.each_record(|record| {
                    if gone {
                        return;
                    }
                    count += 1;
                    crate::voucher::export::write_csv_row(&record, &mut chunk)
                        .expect("writing to a Vec cannot fail");
                    if chunk.len() >= EXPORT_CHUNK {
                        gone = chunks
                            .blocking_send(Ok(std::mem::take(&mut chunk)))
                            .is_err();
                    }
                })?;
                if !gone {
                    let _ = chunks.blocking_send(Ok(chunk));
                }
                Ok((count, gone))
            })
            .await;
        let outcome = match written {
            Ok((count, false)) => (format!("{count} voucher(s) as CSV"), "ok".to_owned()),
            Ok((count, true)) => (
                format!("{count} voucher(s) as CSV"),
                "the download was abandoned".to_owned(),
            ),
            Err(error) => {
                let _ = failed
                    .send(Err(std::io::Error::other(error.to_string())))
                    .await;
                ("vouchers as CSV".to_owned(), error.to_string())
            }
        };
        context
            .audit(
                Some(&manager.name),
                &manager.from,
                "export",
                outcome.0,
                &outcome.1,
            )
            .await;
    });
    let stream = futures_util::stream::unfold(body, |mut body| async move {
        body.recv().await.map(|chunk| (chunk, body))
    });
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"raincheck-vouchers.csv\"",
            ),
        ],
        axum::body::Body::from_stream(stream),
    )
        .into_response())
}
