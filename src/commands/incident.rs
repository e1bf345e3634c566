//! `raincheck incident start|update|resolve`: a manual declaration published as one
//! source (default `cli`) with a Lamport revision one above everything seen, then read
//! back from the broker, and optionally followed until every screen confirms.

use super::session::BusSession;
use super::target::BusTarget;
use crate::cli::{AuthorityArg, DeclareArgs};
use crate::model::{NodeStanding, VenueView};
use crate::protocol::{
    Authority, DeclarationState, Identifier, IncidentDeclaration, IncidentMode, IncidentTexts,
    Scope, Topic, TopicKind, SCHEMA_VERSION,
};
use anyhow::{anyhow, bail, Result};
use rand::Rng;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

pub async fn start(args: DeclareArgs) -> Result<ExitCode> {
    declare(args, Action::Start).await
}

pub async fn update(args: DeclareArgs) -> Result<ExitCode> {
    declare(args, Action::Update).await
}

pub async fn resolve(args: DeclareArgs) -> Result<ExitCode> {
    declare(args, Action::Resolve).await
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Action {
    Start,
    Update,
    Resolve,
}

async fn declare(args: DeclareArgs, action: Action) -> Result<ExitCode> {
    let source = Identifier::parse(&args.source)
        .map_err(|error| anyhow!("--source {:?} {error}", args.source))?;
    let offer_id = match &args.texts.offer_id {
        Some(id) => {
            Some(Identifier::parse(id).map_err(|error| anyhow!("--offer-id {id:?} {error}"))?)
        }
        None => None,
    };
    let manual_texts = IncidentTexts {
        headline: args.texts.headline.clone(),
        body: args.texts.body.clone(),
        offer: args.texts.offer.clone(),
        cash_points: args.texts.cash_points.clone(),
    };
    for (field, text) in manual_texts.fields() {
        if let Some(text) = text {
            let chars = text.chars().count();
            if chars > IncidentTexts::MAX_CHARS {
                bail!(
                    "--{} is {chars} characters; the limit is {}",
                    field.replace('_', "-"),
                    IncidentTexts::MAX_CHARS
                );
            }
        }
    }
    let target = BusTarget::from_args(&args.bus)?;
    let mut session = BusSession::open(target, "cli").await?;
    let current = session.view();
    let now = OffsetDateTime::now_utc();
    let authority = match args.authority {
        AuthorityArg::Manager => Authority::Manager,
        AuthorityArg::Automatic => Authority::Automatic,
    };
    let (incident_id, started_at, state, texts) = match action {
        Action::Start if current.is_active() => {
            eprintln!(
                "note: incident {} is already active; declaring it as yours with these texts",
                current
                    .incident_id
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            );
            (
                current.incident_id.clone(),
                current.started_at.unwrap_or(now),
                DeclarationState::Active,
                fill(manual_texts, &session, &current),
            )
        }
        Action::Start => (
            None,
            now,
            DeclarationState::Active,
            fill(manual_texts, &session, &VenueView::normal()),
        ),
        Action::Update | Action::Resolve if !current.is_active() => {
            session.close().await;
            bail!(
                "no incident is active (the venue shows {}); start one with `raincheck incident start`",
                current.mode.as_str()
            );
        }
        Action::Update => (
            current.incident_id.clone(),
            current.started_at.unwrap_or(now),
            DeclarationState::Active,
            merge(manual_texts, &current.texts),
        ),
        // The all-clear screen has its own wording: only what the operator typed now.
        Action::Resolve => (
            current.incident_id.clone(),
            current.started_at.unwrap_or(now),
            DeclarationState::Resolved,
            manual_texts,
        ),
    };
    let incident_id = incident_id.unwrap_or_else(|| new_incident_id(now));
    // A venue resolve answers for the chain incidents it can see (see model::view).
    let supersedes = if state == DeclarationState::Resolved {
        session
            .state
            .declarations
            .iter()
            .filter(|((scope, _), d)| *scope == Scope::Chain && d.state == DeclarationState::Active)
            .map(|(_, d)| d.incident_id.clone())
            .collect()
    } else {
        Vec::new()
    };
    let revision = next_revision(&session)?;
    let declaration = IncidentDeclaration {
        v: SCHEMA_VERSION,
        source: source.clone(),
        authority,
        revision,
        incident_id: incident_id.clone(),
        state,
        mode: IncidentMode::CashOnly,
        texts,
        offer_id: offer_id.or(current.offer_id.clone()),
        supersedes,
        started_at,
        declared_at: now,
        actor: args.actor.clone(),
    };
    let topic = Topic::venue(&session.target.venue, TopicKind::Incident, &source).to_string();
    let payload = serde_json::to_vec(&declaration)?;
    let published_at = Instant::now();
    session.publish_retained(&topic, payload).await?;
    let shown = session.view();
    let verb = if state == DeclarationState::Resolved {
        "resolved"
    } else {
        "declared"
    };
    println!(
        "{verb} incident {incident_id} at revision {} as source {source}",
        declaration.revision
    );
    if shown.revision != declaration.revision {
        println!(
            "note: screens keep showing {} (incident {}) because it takes precedence over this declaration",
            shown.mode.as_str(),
            shown.incident_id.as_ref().map(ToString::to_string).unwrap_or_default()
        );
    }
    let mut code = ExitCode::SUCCESS;
    if args.wait > 0 {
        let summary = session.wait_confirmed(Duration::from_secs(args.wait)).await;
        if summary.all_online_confirmed() {
            println!(
                "{} (in {:.1} ms)",
                summary.headline(),
                published_at.elapsed().as_secs_f64() * 1000.0
            );
        } else {
            println!("after {} s: {}", args.wait, summary.headline());
            if summary.count(NodeStanding::Lagging) > 0 {
                code = ExitCode::from(3);
            }
        }
    }
    session.close().await;
    Ok(code)
}

/// One more than every revision the session has seen, or a clear refusal when a faulty
/// publisher has used up the revision range.
pub fn next_revision(session: &BusSession) -> Result<u64> {
    session.state.next_revision().map_err(|holder| {
        anyhow!(
            "the retained message on {holder} carries the largest possible revision, so nothing newer can be \
             published; find and fix the publisher of that topic, then clear it on the broker"
        )
    })
}

/// Operator texts where given, else the config's cash-only template, else the texts of
/// the incident being adopted.
fn fill(manual: IncidentTexts, session: &BusSession, current: &VenueView) -> IncidentTexts {
    let template = session.target.texts.as_ref().map(|t| &t.cash_only);
    let pick = |given: Option<String>,
                from_current: &Option<String>,
                from_template: Option<&Option<String>>| {
        given
            .or_else(|| from_current.clone())
            .or_else(|| from_template.cloned().flatten())
    };
    IncidentTexts {
        headline: pick(
            manual.headline,
            &current.texts.headline,
            template.map(|t| &t.headline),
        ),
        body: pick(manual.body, &current.texts.body, template.map(|t| &t.body)),
        offer: pick(
            manual.offer,
            &current.texts.offer,
            template.map(|t| &t.offer),
        ),
        cash_points: pick(
            manual.cash_points,
            &current.texts.cash_points,
            template.map(|t| &t.cash_points),
        ),
    }
}

fn merge(manual: IncidentTexts, current: &IncidentTexts) -> IncidentTexts {
    IncidentTexts {
        headline: manual.headline.or_else(|| current.headline.clone()),
        body: manual.body.or_else(|| current.body.clone()),
        offer: manual.offer.or_else(|| current.offer.clone()),
        cash_points: manual.cash_points.or_else(|| current.cash_points.clone()),
    }
}

/// "inc-20261122-1942-3fa9": sortable by start, readable aloud, unique enough per venue.
pub fn new_incident_id(now: OffsetDateTime) -> Identifier {
    let suffix: u16 = rand::thread_rng().gen();
    let text = format!(
        "inc-{:04}{:02}{:02}-{:02}{:02}-{suffix:04x}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute()
    );
    // Built only from digits, '-' and hex: always a valid identifier.
    Identifier::parse(&text)
        .unwrap_or_else(|_| unreachable!("incident ids are built from valid characters"))
}
