//! The console's override codes: a signed-in manager asks for a one-time code that lets a
//! till issue a few vouchers of one offer past its cap (`POST /api/override-codes`
//! `{"offer", "terminal"?, "extra", "minutes"}` → 201 `{"code", "offer", "title",
//! "terminal", "extra", "expires_at"}`), to read to staff over the phone. The code is
//! minted with the venue's voucher secret from the console's replica (`voucher::
//! override_code`), so any till verifies it offline. Every code minted and every refusal
//! is written to the audit log before the answer.

use super::http::{ApiError, CheckedManager, Context, JsonBody};
use crate::voucher::api::status_of;
use crate::voucher::override_code::{
    minute_instant, override_minute, OverrideCode, OverrideFields, EXTRA_RANGE, VALIDITY_MINUTES,
};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use time::OffsetDateTime;

/// The audit log's name for minting a code.
const ACTION: &str = "override-code";

pub fn routes() -> Router<Context> {
    Router::new().route("/api/override-codes", post(mint))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MintBody {
    offer: String,
    /// One till's terminal number; absent or null: any till of the venue.
    #[serde(default)]
    terminal: Option<u32>,
    extra: u32,
    minutes: u32,
}

async fn mint(
    State(context): State<Context>,
    CheckedManager(manager): CheckedManager,
    JsonBody(body): JsonBody<MintBody>,
) -> Result<Response, ApiError> {
    let asked = format!(
        "{} x{} for {} min at {}",
        crate::text::one_line(&body.offer),
        body.extra,
        body.minutes,
        body.terminal
            .map_or("any till".to_owned(), |t| format!("till {t}"))
    );
    let result = mint_checked(&context, &body).await;
    let (detail, outcome) = match &result {
        Ok(minted) => (format!("{asked}: {}", minted.code), "ok".to_owned()),
        Err(error) => (asked, format!("refused: {}", error.message)),
    };
    context
        .audit(Some(&manager.name), &manager.from, ACTION, detail, &outcome)
        .await;
    let minted = result?;
    Ok((StatusCode::CREATED, Json(minted)).into_response())
}

#[derive(serde::Serialize)]
struct Minted {
    code: String,
    offer: crate::protocol::Identifier,
    title: String,
    /// The one till it is for; null: any.
    terminal: Option<u8>,
    extra: u8,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
}

async fn mint_checked(context: &Context, body: &MintBody) -> Result<Minted, ApiError> {
    let offer = context
        .offers
        .iter()
        .find(|offer| offer.id.as_str() == body.offer.trim())
        .ok_or_else(|| {
            let known: Vec<&str> = context.offers.iter().map(|o| o.id.as_str()).collect();
            ApiError::bad_request(format!(
                "there is no offer {:?}; the offers are {}",
                crate::text::one_line(&body.offer),
                known.join(", ")
            ))
        })?;
    let extra = u8::try_from(body.extra)
        .ok()
        .filter(|extra| EXTRA_RANGE.contains(extra))
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "{} vouchers is out of range; a code lets {} to {} past the cap",
                body.extra,
                EXTRA_RANGE.start(),
                EXTRA_RANGE.end()
            ))
        })?;
    if !VALIDITY_MINUTES.contains(&body.minutes) {
        return Err(ApiError::bad_request(format!(
            "{} minutes is out of range; a code is valid for {} to {} minutes",
            body.minutes,
            VALIDITY_MINUTES.start(),
            VALIDITY_MINUTES.end()
        )));
    }
    let terminal = match body.terminal {
        None => 0,
        Some(number) => u8::try_from(number)
            .ok()
            .filter(|number| (1..=127).contains(number))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "till number {number} is out of range; tills are numbered 1 to 127 (counter.terminal)"
                ))
            })?,
    };
    let replica = context.vouchers.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "this console keeps no voucher replica, so it has no voucher secret to sign codes with; give its config the venue's [counter] section",
        )
    })?;
    let now = override_minute(OffsetDateTime::now_utc());
    // Two codes asked for alike within one minute would be one code, and the second
    // manager's allowance would be spent by the first's uses: a code minted recently
    // (the audit log remembers) moves the expiry on by a minute instead.
    let recent: Vec<String> = context
        .audit
        .newest(200)
        .into_iter()
        .filter(|entry| entry.action == ACTION)
        .map(|entry| entry.detail)
        .collect();
    let (offer_number, minutes) = (offer.number, body.minutes);
    let candidates = replica
        .scan(move |store| {
            Ok((0..30)
                .filter_map(|later| {
                    OverrideCode::mint(
                        OverrideFields {
                            offer: offer_number,
                            terminal,
                            extra,
                            expires_minute: now + minutes + later,
                        },
                        store.secret(),
                    )
                })
                .collect::<Vec<_>>())
        })
        .await
        .map_err(|error| ApiError::new(status_of(&error), error.to_string()))?;
    let code = candidates
        .into_iter()
        .find(|code| {
            !recent
                .iter()
                .any(|detail| detail.ends_with(&code.grouped()))
        })
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "thirty codes alike were minted in the last minutes; wait a minute and ask again",
            )
        })?;
    Ok(Minted {
        code: code.grouped(),
        offer: offer.id.clone(),
        title: offer.title.clone(),
        terminal: (terminal != 0).then_some(terminal),
        extra,
        expires_at: minute_instant(code.fields.expires_minute),
    })
}
