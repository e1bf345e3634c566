//! Declaring from the console: the templates the form starts from (the venue's own, else
//! the screens' bundled wording), and start / update / resolve, each published by the bus
//! worker as source `console` with the manager's name, answered after the broker's echo
//! and written to the audit log first.

use super::bus::{ConsoleRequest, DeclareFailure, DeclareOutcome};
use super::http::{ApiError, CheckedManager, Context, JsonBody, Manager};
use crate::model::screen_labels::{language_name, screen_label};
use crate::model::{bundled_texts, DeclareAction, DeclareRefusal, DeclareRequest, WordingMode};
use crate::protocol::translations::WrittenTexts;
use crate::protocol::{Authority, Identifier, IncidentTexts, Translations};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tokio::sync::oneshot;

/// The source name of every console declaration (docs/PROTOCOL.md).

#[derive(Serialize)]
pub(super) struct OfferInfo {
    id: Identifier,
    title: String,
    terms: String,
}

#[derive(Serialize)]
pub(super) struct Templates {
    venue_name: String,
    offers: Vec<OfferInfo>,
    cash_only: IncidentTexts,
    all_clear: IncidentTexts,
    /// Each language the venue's screens speak (the console's `display.languages`): the
    /// form's tab, the cash-only wording it starts from, and the sign's own labels for
    /// the preview.
    languages: Vec<LanguageForm>,
    /// Minutes after payments recovered that a manager's incident is called stale.
    stale_incident_minutes: u32,
}

#[derive(Serialize)]
struct LanguageForm {
    code: String,
    name: &'static str,
    cash_only: IncidentTexts,
    labels: SignLabels,
}

#[derive(Serialize)]
struct SignLabels {
    cash_only: String,
    raincheck: String,
    /// With `{}` where the time goes.
    since: String,
}

/// What the form starts from in `language`: the venue's template, else the screens'
/// bundled wording.
fn form_texts(template: &IncidentTexts, mode: WordingMode, language: &str) -> IncidentTexts {
    let bundled = bundled_texts(language, mode);
    IncidentTexts::from_fn(|field| {
        template
            .get(field)
            .or_else(|| bundled.get(field))
            .filter(|text| !text.is_empty())
            .map(str::to_owned)
    })
}

pub(super) async fn templates(
    State(context): State<Context>,
    _manager: Manager,
) -> Json<Templates> {
    // The form is in English; what the manager leaves as it is goes out as "the
    // template", and every screen fills it in its own language.
    let english = context.texts.in_language("en");
    Json(Templates {
        stale_incident_minutes: context.settings.stale_incident_minutes,
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
        cash_only: form_texts(&english.cash_only, WordingMode::CashOnly, "en"),
        all_clear: form_texts(&english.all_clear, WordingMode::AllClear, "en"),
        languages: context
            .languages
            .iter()
            .map(|code| LanguageForm {
                code: code.clone(),
                name: language_name(code),
                cash_only: form_texts(
                    &context.texts.in_language(code).cash_only,
                    WordingMode::CashOnly,
                    code,
                ),
                labels: SignLabels {
                    cash_only: screen_label(code, "CASH ONLY"),
                    raincheck: screen_label(code, "Your raincheck"),
                    since: screen_label(code, "Since {}"),
                },
            })
            .collect(),
    })
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct DeclareBody {
    /// The texts as typed; a misspelt field is refused rather than silently replaced by
    /// the template on every screen.
    #[serde(default, deserialize_with = "IncidentTexts::deserialize_strict")]
    texts: IncidentTexts,
    /// Per screen language, what the manager wrote over the template; a line left out
    /// or empty is each screen's own template in that language.
    #[serde(default)]
    translations: BTreeMap<String, WrittenTexts>,
    #[serde(default)]
    offer_id: Option<String>,
    /// Minutes until the next update is promised (5-1440); the console counts down.
    #[serde(default)]
    next_update_minutes: Option<u32>,
    /// Minutes until the incident ends itself (1-4320); left out, it stays until resolved.
    #[serde(default)]
    expires_in_minutes: Option<u32>,
}

/// Typed texts trimmed, with empty lines left out ("the template").
fn typed_texts(texts: &IncidentTexts) -> IncidentTexts {
    IncidentTexts::from_fn(|field| {
        texts
            .get(field)
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_owned)
    })
}

#[derive(Serialize)]
pub(super) struct Declared {
    incident_id: Identifier,
    revision: u64,
    shown_revision: u64,
    note: Option<String>,
}

type Declaring =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Json<Declared>, ApiError>> + Send>>;

/// The handler of one declaring action (start, update, resolve): same checks, same body.
pub(super) fn declaring(
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
                "incident {} revision {}{}{}",
                outcome.declaration.incident_id,
                outcome.declaration.revision,
                outcome
                    .declaration
                    .texts
                    .headline
                    .as_deref()
                    .map(|h| format!(": {h}"))
                    .unwrap_or_default(),
                outcome
                    .declaration
                    .expires_at
                    .map(|at| format!(" (ends itself at {})", crate::clock::hour_minute(at)))
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
    // A field left blank means "the template".
    let texts = typed_texts(&body.texts);
    let mut translations = Translations::new();
    for (language, written) in &body.translations {
        if !context.languages.contains(language) {
            return Err(ApiError::bad_request(format!(
                "the screens do not show {language:?}; write in one of {:?}",
                context.languages
            )));
        }
        let texts = typed_texts(&written.0);
        if texts != IncidentTexts::default() {
            translations.insert(language.clone(), texts);
        }
    }
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
    let next_update_by = match body.next_update_minutes {
        None => None,
        Some(minutes) if (5..=1440).contains(&minutes) => {
            Some(time::OffsetDateTime::now_utc() + time::Duration::minutes(i64::from(minutes)))
        }
        Some(minutes) => {
            return Err(ApiError::bad_request(format!(
                "next_update_minutes {minutes} is out of range; promise the next update in 5 to 1440 minutes"
            )))
        }
    };
    let expires_at = match body.expires_in_minutes {
        None => None,
        Some(minutes) if (1..=4320).contains(&minutes) => {
            Some(time::OffsetDateTime::now_utc() + time::Duration::minutes(i64::from(minutes)))
        }
        Some(minutes) => {
            return Err(ApiError::bad_request(format!(
                "expires_in_minutes {minutes} is out of range; an incident may end itself after 1 to 4320 minutes (72 hours)"
            )))
        }
    };
    let request = DeclareRequest {
        action,
        source: Identifier::parse(super::CONSOLE_SOURCE)
            .map_err(|error| ApiError::bad_request(error.to_string()))?,
        authority: Authority::Manager,
        actor: Some(manager.name.clone()),
        texts,
        translations,
        offer_id,
        next_update_by,
        expires_at,
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
            DeclareFailure::Refused(
                DeclareRefusal::TextTooLong { .. }
                | DeclareRefusal::Translations(_)
                | DeclareRefusal::NextUpdateOutOfRange
                | DeclareRefusal::ExpiryOutOfRange
                | DeclareRefusal::ExpiryOnChain,
            ) => StatusCode::BAD_REQUEST,
            DeclareFailure::Refused(_) => StatusCode::CONFLICT,
            _ => StatusCode::SERVICE_UNAVAILABLE,
        };
        ApiError::new(status, failure.to_string())
    })
}
