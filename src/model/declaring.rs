//! Turning a manager's (or the CLI's) intent — start, update or resolve — into the next
//! declaration of one source, from the retained set alone: the Lamport revision one above
//! everything seen, the incident being adopted or updated, the texts (typed, else the
//! incident's, else the template), and on a resolve the chain incidents it answers for.
//! Shared by `raincheck incident` and the console so both publish exactly alike. Head
//! office's chain-wide declarations are built the same way from what HQ knows
//! ([`prepare_chain_declaration`]), except that a chain resolve answers for nothing.

use super::chain::ChainState;
use super::venue_state::VenueState;
use super::view::{compute_view, VenueView, ViewMode};
use crate::protocol::{
    check_translations, Authority, DeclarationState, DisplayStatus, Identifier,
    IncidentDeclaration, IncidentMode, IncidentTexts, Scope, Shown, TranslationProblem,
    Translations, SCHEMA_VERSION,
};
use time::OffsetDateTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeclareAction {
    /// Start cash only (or adopt the incident already active, with these texts).
    Start,
    /// Change the active incident's texts or offer.
    Update,
    /// End the active incident: screens show all clear.
    Resolve,
}

/// What someone asked for; `texts` holds only what they typed.
#[derive(Clone, Debug)]
pub struct DeclareRequest {
    pub action: DeclareAction,
    pub source: Identifier,
    pub authority: Authority,
    pub actor: Option<String>,
    pub texts: IncidentTexts,
    /// Per language, texts over `texts` on screens showing that language.
    pub translations: Translations,
    pub offer_id: Option<Identifier>,
    /// When the next update is promised; only on a start or update.
    pub next_update_by: Option<OffsetDateTime>,
    /// When the incident ends itself; only on a start or update (an update without one
    /// withdraws it, like the promise of a next update).
    pub expires_at: Option<OffsetDateTime>,
}

/// Why a request cannot become a declaration; each message says what to do instead.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeclareRefusal {
    #[error("no incident is active (the venue shows {shown}); start one first")]
    NothingActive { shown: &'static str },
    #[error("the {field} is {chars} characters; the limit is {limit}")]
    TextTooLong {
        field: &'static str,
        chars: usize,
        limit: usize,
    },
    #[error("{0}")]
    Translations(TranslationProblem),
    #[error("the next update must be promised for a time ahead, within 24 hours")]
    NextUpdateOutOfRange,
    #[error("the incident can end itself only at a time ahead, within 72 hours")]
    ExpiryOutOfRange,
    #[error(
        "head office's incidents do not end themselves (no keeper at head office would end it on every \
         screen at once); resolve it with `raincheck incident resolve --chain`"
    )]
    ExpiryOnChain,
    #[error(
        "the retained message on {holder} carries the largest possible revision, so nothing newer can be \
         published; find and fix the publisher of that topic, then clear it on the broker"
    )]
    RevisionsExhausted { holder: String },
}

/// A new incident's wording where the request gives none: texts for every language, and
/// per language (the detector's `[texts.es.cash_only]` and the like).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Template {
    pub texts: IncidentTexts,
    pub translations: Translations,
}

/// The declaration to publish, and the incident it adopted if one was already active.
#[derive(Clone, Debug)]
pub struct PreparedDeclaration {
    pub declaration: IncidentDeclaration,
    pub adopted: Option<Identifier>,
}

/// Builds the next declaration; `fresh_incident_id` is used only when a new incident
/// starts (the caller makes it, so this stays free of randomness and clocks).
pub fn prepare_declaration(
    state: &VenueState,
    request: DeclareRequest,
    template: Option<&Template>,
    now: OffsetDateTime,
    fresh_incident_id: Identifier,
) -> Result<PreparedDeclaration, DeclareRefusal> {
    // A venue resolve answers for the chain incidents it can see (see model::view).
    let active_chain_incidents = state
        .believable_declarations()
        .filter(|((scope, _), d)| *scope == Scope::Chain && d.state == DeclarationState::Active)
        .map(|(_, d)| d.incident_id.clone())
        .collect();
    build(
        view_to_act_on(state),
        state.next_revision(),
        active_chain_incidents,
        request,
        template,
        now,
        fresh_incident_id,
    )
}

/// The view a declaration follows: the retained set's, or — when that shows no incident
/// but screens still draw one (a broker that lost its retained set) — the incident the
/// latest believable drawn report shows, so a manager can update or resolve what guests
/// see. The new revision is above those reports already (`max_revision`).
fn view_to_act_on(state: &VenueState) -> VenueView {
    let computed = compute_view(state);
    if computed.mode == ViewMode::CashOnly {
        return computed;
    }
    let believable = state.ceiling().saturating_add(super::revisions::MAX_STEP);
    let shown = state
        .displays
        .values()
        .filter(|report| {
            report.status == DisplayStatus::Online
                && report.shown == Some(Shown::Drawn)
                && report.mode.as_deref() == Some(ViewMode::CashOnly.as_str())
                && report
                    .revision
                    .is_some_and(|revision| revision > computed.revision && revision <= believable)
        })
        .filter_map(|report| Some((report.revision?, report.incident_id.clone()?)))
        .max();
    match shown {
        // When it started is unknown here: the resolve carries its own time.
        Some((revision, incident_id)) => VenueView {
            mode: ViewMode::CashOnly,
            revision,
            incident_id: Some(incident_id),
            scope: Some(Scope::Venue),
            ..VenueView::normal()
        },
        None => computed,
    }
}

/// Head office's next chain-wide declaration (published on `_chain/incident/{source}`):
/// start, update and resolve act on the chain's own incident, whatever any venue shows,
/// and a resolve lists nothing in `supersedes` (that field is a venue's answer to the
/// chain). The revision is one above everything HQ has seen, venues' screens included.
pub fn prepare_chain_declaration(
    chain: &ChainState,
    request: DeclareRequest,
    template: Option<&Template>,
    now: OffsetDateTime,
    fresh_incident_id: Identifier,
) -> Result<PreparedDeclaration, DeclareRefusal> {
    if request.expires_at.is_some() {
        return Err(DeclareRefusal::ExpiryOnChain);
    }
    build(
        chain.view(),
        chain.next_revision(),
        Vec::new(),
        request,
        template,
        now,
        fresh_incident_id,
    )
}

/// The declaration that follows `current` (the view the declarer is acting on).
fn build(
    current: VenueView,
    revision: Result<u64, String>,
    supersedes_on_resolve: Vec<Identifier>,
    request: DeclareRequest,
    template: Option<&Template>,
    now: OffsetDateTime,
    fresh_incident_id: Identifier,
) -> Result<PreparedDeclaration, DeclareRefusal> {
    check_text_lengths(&request.texts)?;
    check_translations(&request.translations).map_err(DeclareRefusal::Translations)?;
    let active = current.mode == ViewMode::CashOnly;
    if !active && request.action != DeclareAction::Start {
        return Err(DeclareRefusal::NothingActive {
            shown: current.mode.as_str(),
        });
    }
    let (incident_id, adopted) = match (&current.incident_id, active) {
        (Some(id), true) => (id.clone(), Some(id.clone())),
        _ => (fresh_incident_id, None),
    };
    let started_at = if active {
        current.started_at.unwrap_or(now)
    } else {
        now
    };
    let (state_of_declaration, texts, translations) = match request.action {
        DeclareAction::Start => {
            let (base, base_translations) = if active {
                (current.texts.clone(), current.translations.clone())
            } else {
                Default::default()
            };
            (
                DeclarationState::Active,
                fill(request.texts, &base, template.map(|t| &t.texts)),
                fill_translations(
                    request.translations,
                    &base_translations,
                    template.map(|t| &t.translations),
                ),
            )
        }
        DeclareAction::Update => (
            DeclarationState::Active,
            fill(request.texts, &current.texts, None),
            fill_translations(request.translations, &current.translations, None),
        ),
        // The all-clear screen has its own wording: only what was typed now.
        DeclareAction::Resolve => (
            DeclarationState::Resolved,
            request.texts,
            request.translations,
        ),
    };
    let supersedes = if state_of_declaration == DeclarationState::Resolved {
        supersedes_on_resolve
    } else {
        Vec::new()
    };
    let revision = revision.map_err(|holder| DeclareRefusal::RevisionsExhausted { holder })?;
    // A promise of the next update belongs to an incident in force, and must lie ahead.
    let next_update_by = match request.next_update_by {
        Some(_) if state_of_declaration == DeclarationState::Resolved => None,
        Some(next) if next <= now || next > now + crate::protocol::payloads::MAX_NEXT_UPDATE => {
            return Err(DeclareRefusal::NextUpdateOutOfRange);
        }
        next => next,
    };
    let expires_at = match request.expires_at {
        Some(_) if state_of_declaration == DeclarationState::Resolved => None,
        Some(expiry) if expiry <= now || expiry > now + crate::protocol::payloads::MAX_EXPIRY => {
            return Err(DeclareRefusal::ExpiryOutOfRange);
        }
        expiry => expiry,
    };
    let declaration = IncidentDeclaration {
        v: SCHEMA_VERSION,
        source: request.source,
        authority: request.authority,
        revision,
        incident_id,
        state: state_of_declaration,
        mode: IncidentMode::CashOnly,
        texts,
        translations,
        offer_id: request.offer_id.or(current.offer_id),
        supersedes,
        started_at,
        declared_at: now,
        actor: request.actor,
        next_update_by,
        expires_at,
    };
    Ok(PreparedDeclaration {
        declaration,
        adopted: adopted.filter(|_| request.action == DeclareAction::Start),
    })
}

/// The resolve of `source`'s own incident, whatever the view shows (an automatic
/// incident may be hidden behind a manager's, and a detector still ends what it started):
/// its latest declaration, resolved one revision above everything seen, with no texts
/// (the all-clear screen has its own wording). `None` when the source never declared.
pub fn prepare_own_resolve(
    state: &VenueState,
    source: &Identifier,
    now: OffsetDateTime,
) -> Option<Result<IncidentDeclaration, DeclareRefusal>> {
    let own = state.declarations.get(&(Scope::Venue, source.clone()))?;
    Some(
        state
            .next_revision()
            .map_err(|holder| DeclareRefusal::RevisionsExhausted { holder })
            .map(|revision| IncidentDeclaration {
                state: DeclarationState::Resolved,
                revision,
                declared_at: now,
                texts: IncidentTexts::default(),
                translations: Translations::new(),
                supersedes: Vec::new(),
                next_update_by: None,
                expires_at: None,
                ..own.clone()
            }),
    )
}

/// "inc-20261122-1942-3fa9": sortable by start, readable aloud, unique enough per venue.
/// `suffix` is the caller's random number: this module draws none and reads no clock.
pub fn incident_id(now: OffsetDateTime, suffix: u16) -> Identifier {
    let text = format!(
        "inc-{:04}{:02}{:02}-{:02}{:02}-{suffix:04x}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute()
    );
    Identifier::parse(&text).expect("incident ids are built from digits, '-' and hex")
}

/// When the view shown after publishing `declared` is not that declaration: what the
/// declarer is told (the CLI and the console alike).
pub fn precedence_note(shown: &VenueView, declared: &IncidentDeclaration) -> Option<String> {
    (shown.revision != declared.revision).then(|| {
        format!(
            "screens keep showing {} (incident {}) because it takes precedence over this declaration",
            shown.mode.as_str(),
            shown
                .incident_id
                .as_ref()
                .map_or_else(|| "none".to_owned(), ToString::to_string)
        )
    })
}

/// Refuses any text longer than screens can show readably.
pub fn check_text_lengths(texts: &IncidentTexts) -> Result<(), DeclareRefusal> {
    match texts.too_long().next() {
        Some((field, chars)) => Err(DeclareRefusal::TextTooLong {
            field: field.name(),
            chars,
            limit: IncidentTexts::MAX_CHARS,
        }),
        None => Ok(()),
    }
}

/// Per language, typed texts where given, else the current incident's in that language,
/// else the template's.
fn fill_translations(
    typed: Translations,
    current: &Translations,
    template: Option<&Translations>,
) -> Translations {
    let none = Translations::new();
    let template = template.unwrap_or(&none);
    let languages: std::collections::BTreeSet<String> = typed
        .keys()
        .chain(current.keys())
        .chain(template.keys())
        .cloned()
        .collect();
    languages
        .into_iter()
        .map(|language| {
            let texts = fill(
                typed.get(&language).cloned().unwrap_or_default(),
                current.get(&language).unwrap_or(&IncidentTexts::default()),
                template.get(&language),
            );
            (language, texts)
        })
        .filter(|(_, texts)| *texts != IncidentTexts::default())
        .collect()
}

/// Typed texts where given, else the current incident's, else the template's.
fn fill(
    typed: IncidentTexts,
    current: &IncidentTexts,
    template: Option<&IncidentTexts>,
) -> IncidentTexts {
    IncidentTexts::from_fn(|field| {
        typed
            .get(field)
            .or_else(|| current.get(field))
            .or_else(|| template.and_then(|t| t.get(field)))
            .map(str::to_owned)
    })
}

#[cfg(test)]
#[path = "declaring_tests.rs"]
mod tests;
