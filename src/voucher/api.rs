//! The counter's local API: a loopback HTTP endpoint through which the till software on
//! the same machine (or a technician's script) issues and redeems vouchers with the
//! running node — the same voucher worker, answers and durability as the counter screen
//! (a code is answered only once it is on disk). Loopback only: `counter.api_listen`.
//!
//! `POST /v1/vouchers` `{"offer": "popcorn", "incident": "…", "staff": "…"}` → 201
//! `{"code", "offer", "valid_until"}`, or 409 with `"cap"` when a cap is reached — sent
//! again with `"override": {"manager", "pin"}` or `{"code"}` it issues past the cap; `POST /v1/redemptions` `{"code", "staff"}` → 200
//! `{"answer": "VALID" | "ALREADY REDEEMED" | …, "detail"}`; `GET /v1/vouchers/{code}`;
//! `GET /healthz` (from the node). [`status_of`] is the one place a voucher refusal
//! becomes an HTTP status, for this API and the console alike.

use super::handle::{CounterError, CounterHandle, OverrideOffer};
use super::lifecycle::{answer_detail, last_day_text, Redemption, VoidRefusal};
use super::override_code::OverrideRefusal;
use super::store::StoreError;
use crate::config::OfferConfig;
use crate::protocol::Identifier;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

const MAX_BODY: usize = 4096;

type Answer = (StatusCode, Json<Value>);

fn refusal(status: StatusCode, message: impl std::fmt::Display) -> Answer {
    (status, Json(json!({ "error": message.to_string() })))
}

/// The HTTP status of a voucher refusal: the request itself is wrong (400), it conflicts
/// with the voucher's or the terminal's state (409), or the terminal cannot serve now
/// (503: its worker stopped, or its disk failed).
pub fn status_of(error: &CounterError) -> StatusCode {
    match error {
        CounterError::Code(_)
        | CounterError::Void(VoidRefusal::NoReason)
        | CounterError::Void(VoidRefusal::ReasonTooLong { .. }) => StatusCode::BAD_REQUEST,
        // An offer this terminal does not give conflicts with its configuration.
        CounterError::UnknownOffer(_)
        | CounterError::StoreBehind
        | CounterError::StoreUnproven
        | CounterError::Void(VoidRefusal::AlreadyVoided { .. })
        | CounterError::Store(StoreError::CapReached { .. } | StoreError::SerialsExhausted) => {
            StatusCode::CONFLICT
        }
        CounterError::Override(refusal) => match refusal {
            OverrideRefusal::Mistyped
            | OverrideRefusal::Forged
            | OverrideRefusal::NotForThisVenue => StatusCode::BAD_REQUEST,
            OverrideRefusal::WrongPin => StatusCode::FORBIDDEN,
            OverrideRefusal::TooManyPins { .. } => StatusCode::TOO_MANY_REQUESTS,
            OverrideRefusal::Expired { .. }
            | OverrideRefusal::OtherTerminal { .. }
            | OverrideRefusal::OtherOffer
            | OverrideRefusal::UsedUp { .. }
            | OverrideRefusal::NoManagers => StatusCode::CONFLICT,
        },
        CounterError::TooManyAttempts => StatusCode::TOO_MANY_REQUESTS,
        CounterError::Stopped | CounterError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// The body of a refusal: `{"error"}`, and for a reached cap a manager can override, the
/// cap as `"cap": {"offer", "kind", "used", "limit"}` (value caps in cents), so a caller
/// can offer "manager override" without reading the sentence.
pub fn refusal_body(error: &CounterError) -> Value {
    let mut body = json!({ "error": error.to_string() });
    if let CounterError::Store(StoreError::CapReached {
        offer_id, reached, ..
    }) = error
    {
        body["cap"] = json!({
            "offer": offer_id,
            "kind": reached.kind,
            "used": reached.used,
            "limit": reached.limit,
        });
    }
    body
}

fn refused(error: CounterError) -> Answer {
    (status_of(&error), Json(refusal_body(&error)))
}

/// A manager's override in a request: `{"manager", "pin"}` or `{"code"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverrideBody {
    #[serde(default)]
    manager: Option<String>,
    #[serde(default)]
    pin: Option<String>,
    #[serde(default)]
    code: Option<String>,
}

impl OverrideBody {
    /// The override offered, typed at `from` (for the PIN throttle), or why the body is
    /// not one.
    pub fn offer(self, from: &str) -> Result<OverrideOffer, &'static str> {
        match (self.manager, self.pin, self.code) {
            (Some(manager), Some(pin), None) => Ok(OverrideOffer::Pin {
                manager,
                pin,
                from: from.to_owned(),
            }),
            (None, None, Some(code)) => Ok(OverrideOffer::Code {
                code,
                from: from.to_owned(),
            }),
            _ => Err("an override is a manager's name and PIN ({\"manager\", \"pin\"}) or a code from the console ({\"code\"})"),
        }
    }
}

/// The API of a counter with `offers` (named in redemption answers by their id).
pub fn router(counter: CounterHandle, offers: &[OfferConfig]) -> Router {
    let offers: Arc<[OfferConfig]> = offers.into();
    Router::new()
        .route("/v1/vouchers", post(issue))
        .route("/v1/vouchers/:code", get(show))
        .route(
            "/v1/redemptions",
            post(move |counter, parsed| redeem(counter, parsed, offers)),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(counter)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IssueBody {
    offer: String,
    #[serde(default)]
    incident: Option<String>,
    #[serde(default)]
    staff: Option<String>,
    /// Past a reached cap: a manager's override.
    #[serde(default, rename = "override")]
    past_cap: Option<OverrideBody>,
}

fn body<T>(parsed: Result<Json<T>, JsonRejection>) -> Result<T, Answer> {
    parsed.map(|Json(body)| body).map_err(|rejection| {
        refusal(
            rejection.status(),
            format!(
                "the request body is not what this call expects: {}",
                rejection.body_text()
            ),
        )
    })
}

async fn issue(
    State(counter): State<CounterHandle>,
    parsed: Result<Json<IssueBody>, JsonRejection>,
) -> Answer {
    let request = match body(parsed) {
        Ok(request) => request,
        Err(answer) => return answer,
    };
    let Ok(offer) = Identifier::parse(&request.offer) else {
        return refusal(
            StatusCode::BAD_REQUEST,
            format!("{:?} is not an offer id", request.offer),
        );
    };
    let incident = match request.incident.map(|id| Identifier::parse(&id)) {
        None => None,
        Some(Ok(id)) => Some(id),
        Some(Err(error)) => return refusal(StatusCode::BAD_REQUEST, format!("incident {error}")),
    };
    let past_cap = match request.past_cap.map(|body| body.offer("counter-api")) {
        None => None,
        Some(Ok(offer)) => Some(offer),
        Some(Err(message)) => return refusal(StatusCode::BAD_REQUEST, message),
    };
    // The store keeps staff names one line and bounded.
    match counter
        .issue_with(offer.clone(), incident, request.staff, past_cap)
        .await
    {
        Ok(issued) => {
            let mut answer = json!({
                "code": issued.code.to_string(),
                "offer": offer,
                "valid_until": last_day_text(issued.code.fields.expiry_day),
            });
            if let super::events::VoucherChange::Issued {
                past_cap: Some(past),
                ..
            } = &issued.event.change
            {
                answer["override"] = json!(past);
            }
            (StatusCode::CREATED, Json(answer))
        }
        Err(error) => refused(error),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RedeemBody {
    code: String,
    #[serde(default)]
    staff: Option<String>,
}

async fn redeem(
    State(counter): State<CounterHandle>,
    parsed: Result<Json<RedeemBody>, JsonRejection>,
    offers: Arc<[OfferConfig]>,
) -> Answer {
    let request = match body(parsed) {
        Ok(request) => request,
        Err(answer) => return answer,
    };
    match counter.redeem(request.code, request.staff).await {
        Ok(Redemption {
            answer,
            offer_number,
        }) => (
            StatusCode::OK,
            Json(json!({
                "answer": answer.headline(),
                "detail": answer_detail(&answer),
                "offer": offer_number
                    .and_then(|number| offers.iter().find(|offer| offer.number == number))
                    .map(|offer| &offer.id),
            })),
        ),
        Err(error) => refused(error),
    }
}

async fn show(State(counter): State<CounterHandle>, Path(code): Path<String>) -> Answer {
    match counter.lookup(code).await {
        Err(error) => refused(error),
        Ok((Err(error), _)) => refusal(StatusCode::BAD_REQUEST, error),
        Ok((Ok(_), None)) => refusal(
            StatusCode::NOT_FOUND,
            "a valid code this terminal has no record of yet",
        ),
        Ok((Ok(_), Some(record))) => (
            StatusCode::OK,
            Json(
                serde_json::to_value(record)
                    .expect("a voucher record serialises: plain fields and string keys"),
            ),
        ),
    }
}
