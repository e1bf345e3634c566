//! The web counter's voucher calls, each answered by this till's voucher worker (so only
//! after the store flushed, like the native counter and the counter API), each with the
//! signed-in staff number written into the record, and each refusal mapped to HTTP by
//! `voucher::api::status_of`, the one map every voucher endpoint uses:
//!
//! - `POST /counter/api/issue` `{"offer"}` → 201 the code, its QR and the words to say,
//!   for the incident the node shows as active (the page never names one);
//! - `POST /counter/api/redeem` `{"code"}` → 200 the answer as the native counter words it;
//! - `POST /counter/api/void` `{"code", "reason"}` → 200; see [`staff_may_void`];
//! - `GET /counter/api/vouchers/{code}` → the record.
//!
//! Voids are a manager's decision everywhere else (the console, `raincheck voucher void`):
//! at a till, staff may only void what this till issued and nobody has redeemed — the
//! voucher printed twice, the wrong offer tapped — with a reason, recorded with their
//! number. Anything else is refused with a sentence sending them to a manager.

use super::qr::qr_svg;
use super::session::{CheckedStaff, JsonBody, Refusal, Shared, Staff};
use super::words::{PageWords, STAFF_VOID_LIMIT};
use crate::protocol::Identifier;
use crate::voucher::api::{refusal_body, status_of, OverrideBody};
use crate::voucher::events::VoucherRecord;
use crate::voucher::lifecycle::{judge_void, last_day_text};
use crate::voucher::CounterError;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

/// A voucher refusal with its status, in the page's words: `template` ("Not issued: {}")
/// holds the worker's sentence; without one, the sentence alone.
fn refused(words: &PageWords, template: Option<&str>, error: CounterError) -> Refusal {
    let sentence = words.wording().refusal(&error);
    let message = match template {
        Some(template) => words.say(template, &[&sentence]),
        None => sentence,
    };
    let mut refusal = Refusal::new(status_of(&error), message);
    // A reached cap: the page offers a manager's override.
    refusal.cap = refusal_body(&error).get("cap").cloned();
    refusal
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct IssueBody {
    offer: String,
    #[serde(default)]
    language: Option<String>,
    /// Past a reached cap: a manager's name and PIN, or a code from the console.
    #[serde(default, rename = "override")]
    past_cap: Option<OverrideBody>,
}

pub(super) async fn issue(
    State(shared): State<Shared>,
    CheckedStaff(staff): CheckedStaff,
    JsonBody(body): JsonBody<IssueBody>,
) -> Result<Response, Refusal> {
    let words = PageWords::new(&shared.config, body.language.as_deref());
    let not_issued = "Not issued: {}";
    let offer = Identifier::parse(&body.offer).map_err(|_| {
        Refusal::bad_request(words.say(
            not_issued,
            &[&format!(
                "{:?} is not an offer id",
                crate::text::one_line(&body.offer)
            )],
        ))
    })?;
    let Some(offer_config) = shared
        .config
        .counter
        .iter()
        .flat_map(|counter| counter.offers.iter())
        .find(|candidate| candidate.id == offer)
        .cloned()
    else {
        return Err(refused(
            &words,
            Some(not_issued),
            CounterError::UnknownOffer(offer),
        ));
    };
    // The incident a voucher issued now makes up for: the one the node shows as active.
    let incident = {
        let presentation = shared.presentation.borrow();
        let view = &presentation.view;
        view.incident_id.clone().filter(|_| view.is_active())
    };
    let past_cap = body
        .past_cap
        .map(|past| past.offer(&staff.from.0.ip().to_string()))
        .transpose()
        .map_err(|message| Refusal::bad_request(words.say(not_issued, &[message])))?;
    let overriding = past_cap.is_some();
    let issued = shared
        .counter
        .issue_with(offer, incident, Some(staff.number.clone()), past_cap)
        .await
        .map_err(|error| {
            if overriding {
                tracing::warn!(staff = %staff.number, client = %staff.from.0.ip(), %error, "web counter: a manager's override was refused");
                // The override sheet says why in the till's own sentence, as the native
                // till does: "Not issued: Wrong PIN: nothing was issued" said it twice.
                return refused(&words, None, error);
            }
            refused(&words, Some(not_issued), error)
        })?;
    let code = issued.code;
    let valid_until = last_day_text(code.fields.expiry_day);
    let (line, say) = words.issued(&offer_config.title, &valid_until);
    tracing::info!(staff = %staff.number, client = %staff.from.0.ip(), offer = %offer_config.id, "web counter: voucher issued");
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "code": code.to_string(),
            "offer": offer_config.id,
            "valid_until": valid_until,
            "line": line,
            "say": say,
            "qr_svg": qr_svg(&code.compact()),
        })),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RedeemBody {
    code: String,
    #[serde(default)]
    language: Option<String>,
}

pub(super) async fn redeem(
    State(shared): State<Shared>,
    CheckedStaff(staff): CheckedStaff,
    JsonBody(body): JsonBody<RedeemBody>,
) -> Result<Response, Refusal> {
    let words = PageWords::new(&shared.config, body.language.as_deref());
    // The worker parses and normalises whatever was typed or scanned, as for the screen.
    let redemption = shared
        .counter
        .redeem(body.code, Some(staff.number.clone()))
        .await
        .map_err(|error| refused(&words, Some("Could not check the code: {}"), error))?;
    tracing::debug!(staff = %staff.number, answer = redemption.answer.headline(), "web counter: code checked");
    Ok(Json(words.answer(&redemption)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct VoidBody {
    code: String,
    reason: String,
    #[serde(default)]
    language: Option<String>,
}

/// Whether staff at this till may void `record`: only a voucher this till issued
/// (`this_till`) that nobody has redeemed. A void already made is the lifecycle's to
/// refuse (`VoidRefusal::AlreadyVoided`), with who voided it and why.
pub fn staff_may_void(record: &VoucherRecord, this_till: &Identifier) -> bool {
    let issued_here = record
        .issued
        .as_ref()
        .is_some_and(|issued| &issued.origin == this_till);
    issued_here && record.redemptions.is_empty()
}

pub(super) async fn void(
    State(shared): State<Shared>,
    CheckedStaff(staff): CheckedStaff,
    JsonBody(body): JsonBody<VoidBody>,
) -> Result<Response, Refusal> {
    let words = PageWords::new(&shared.config, body.language.as_deref());
    let not_voided = "Not voided: {}";
    // The reason first: the quickest thing to fix, and the lifecycle's own rule.
    judge_void(None, &body.reason)
        .map_err(|refusal| refused(&words, Some(not_voided), CounterError::Void(refusal)))?;
    let (parsed, record) = shared
        .counter
        .lookup(body.code.clone())
        .await
        .map_err(|error| refused(&words, Some(not_voided), error))?;
    let code =
        parsed.map_err(|error| refused(&words, Some(not_voided), CounterError::Code(error)))?;
    let may = record
        .as_ref()
        .is_some_and(|record| staff_may_void(record, &shared.config.node.id));
    let already_voided = record.as_ref().is_some_and(|r| r.voided.is_some());
    if !may && !already_voided {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            words.say(not_voided, &[&words.say(STAFF_VOID_LIMIT, &[])]),
        ));
    }
    shared
        .counter
        .void(body.code, body.reason, Some(staff.number.clone()))
        .await
        .map_err(|error| refused(&words, Some(not_voided), error))?;
    tracing::info!(staff = %staff.number, client = %staff.from.0.ip(), "web counter: voucher voided");
    let shown = code.to_string();
    Ok(Json(json!({
        "code": shown,
        "message": words.say("Voucher {} voided", &[&shown]),
    }))
    .into_response())
}

pub(super) async fn show(
    State(shared): State<Shared>,
    _staff: Staff,
    code: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Response, Refusal> {
    let Path(code) = code.map_err(|rejection| Refusal::bad_request(rejection.body_text()))?;
    let error_status = |error: CounterError| Refusal::new(status_of(&error), error.to_string());
    let (parsed, record) = shared.counter.lookup(code).await.map_err(error_status)?;
    parsed.map_err(|error| error_status(CounterError::Code(error)))?;
    let record = record.ok_or_else(|| {
        Refusal::new(
            StatusCode::NOT_FOUND,
            "a valid code this till has no record of yet",
        )
    })?;
    Ok(Json(record).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::voucher::events::EventMark;

    fn mark(origin: &str) -> EventMark {
        EventMark {
            origin: Identifier::parse(origin).unwrap(),
            seq: 1,
            at: time::OffsetDateTime::UNIX_EPOCH,
            staff: Some("0412".into()),
            till: None,
        }
    }

    #[test]
    fn staff_void_only_what_this_till_issued_and_nobody_redeemed() {
        let here = Identifier::parse("till-1").unwrap();
        let mut record = VoucherRecord {
            issued: Some(mark("till-1")),
            ..VoucherRecord::default()
        };
        assert!(staff_may_void(&record, &here));
        record.redemptions.push(mark("till-2"));
        assert!(
            !staff_may_void(&record, &here),
            "redeemed: a manager's call"
        );
        let elsewhere = VoucherRecord {
            issued: Some(mark("till-2")),
            ..VoucherRecord::default()
        };
        assert!(!staff_may_void(&elsewhere, &here), "another till's voucher");
        assert!(
            !staff_may_void(&VoucherRecord::default(), &here),
            "unknown here"
        );
    }
}
