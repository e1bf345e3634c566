//! `raincheck incident start|update|resolve`: a manual declaration published as one
//! source (default `cli`) with a Lamport revision one above everything seen, then read
//! back from the broker, and optionally followed until every screen confirms. With
//! `--chain`, head office's declaration for every venue (default source `hq`) on its own
//! broker, followed through the display reports that come up the venues' bridges.

use super::target::{chain_target, venue_target};
use crate::cli::{AuthorityArg, DeclareArgs};
use crate::client::{BusSession, ChainSession};
use crate::model::{
    check_text_lengths, incident_id, precedence_note, prepare_chain_declaration,
    prepare_declaration, DeclareAction, DeclareRefusal, DeclareRequest,
};
use crate::protocol::{
    Authority, DeclarationState, Identifier, IncidentTexts, TextField, Topic, TopicKind,
};
use anyhow::{anyhow, bail, Result};
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
    if args.chain && args.authority == AuthorityArg::Automatic {
        bail!("a chain-wide declaration is head office's decision: leave out --authority automatic (automatic detection runs in each venue)");
    }
    let source_text = args
        .source
        .clone()
        .unwrap_or_else(|| if args.chain { "hq" } else { "cli" }.to_owned());
    let source = Identifier::parse(&source_text)
        .map_err(|error| anyhow!("--source {source_text:?} {error}"))?;
    let offer_id = match &args.texts.offer_id {
        Some(id) => {
            Some(Identifier::parse(id).map_err(|error| anyhow!("--offer-id {id:?} {error}"))?)
        }
        None => None,
    };
    if action == Action::Resolve && args.expires_in.is_some() {
        bail!("--expires-in ends an incident in force by itself; leave it out of a resolve");
    }
    if action == Action::Resolve && args.next_update_in.is_some() {
        bail!("--next-update-in promises an update of an incident in force; leave it out of a resolve");
    }
    let request = DeclareRequest {
        action: match action {
            Action::Start => DeclareAction::Start,
            Action::Update => DeclareAction::Update,
            Action::Resolve => DeclareAction::Resolve,
        },
        source: source.clone(),
        authority: match args.authority {
            AuthorityArg::Manager => Authority::Manager,
            AuthorityArg::Automatic => Authority::Automatic,
        },
        actor: args.actor.clone(),
        texts: IncidentTexts {
            headline: args.texts.headline.clone(),
            body: args.texts.body.clone(),
            offer: args.texts.offer.clone(),
            cash_points: args.texts.cash_points.clone(),
        },
        translations: translations_from(&args.texts.in_language)?,
        offer_id,
        next_update_by: args
            .next_update_in
            .map(|minutes| OffsetDateTime::now_utc() + time::Duration::minutes(i64::from(minutes))),
        expires_at: args
            .expires_in
            .map(|after| OffsetDateTime::now_utc() + after),
    };
    // Refuse over-long texts before touching the network.
    if let Err(DeclareRefusal::TextTooLong {
        field,
        chars,
        limit,
    }) = check_text_lengths(&request.texts)
    {
        bail!(
            "--{} is {chars} characters; the limit is {limit}",
            field.replace('_', "-")
        );
    }
    if args.chain {
        return declare_chain(args, request).await;
    }
    let target = venue_target(&args.bus)?;
    let mut session = BusSession::open(target.bus, "cli").await?;
    let now = OffsetDateTime::now_utc();
    // The config's shared texts only, as the console does: wording per language is each
    // screen's own template.
    let template = target.texts.as_ref().map(|t| crate::model::Template {
        texts: t.cash_only.clone(),
        translations: Default::default(),
    });
    let prepared = match prepare_declaration(
        &session.state,
        request,
        template.as_ref(),
        now,
        incident_id(now, rand::random()),
    ) {
        Ok(prepared) => prepared,
        Err(refusal) => {
            session.close().await;
            return Err(explain(refusal, |shown| {
                format!(
                "no incident is active (the venue shows {shown}); start one with `raincheck incident start`"
            )
            }));
        }
    };
    note_adopted(&prepared, "incident");
    let declaration = prepared.declaration;
    let incident_id = declaration.incident_id.clone();
    let state = declaration.state;
    let topic = Topic::venue(&session.target.venue, TopicKind::Incident, &source).to_string();
    let payload = crate::protocol::encode(&declaration);
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
    if let Some(expiry) = declaration.expires_at {
        println!(
            "it ends itself at {} unless it is updated or resolved first",
            crate::clock::hour_minute_second(expiry)
        );
    }
    if let Some(note) = precedence_note(&shown, &declaration) {
        println!("note: {note}");
    }
    let mut code = ExitCode::SUCCESS;
    if args.wait > 0 {
        let confirmed = session.wait_confirmed(Duration::from_secs(args.wait)).await;
        let headline = if session.confirmations().shown_to_people().total == 0 {
            format!(
                "no screen or counter of venue {} has reported — is the venue id right?",
                session.target.venue
            )
        } else {
            session.headline()
        };
        if confirmed {
            println!(
                "{headline} (in {:.1} ms)",
                published_at.elapsed().as_secs_f64() * 1000.0
            );
        } else {
            println!("after {} s: {headline}", args.wait);
            code = ExitCode::from(3);
        }
    }
    session.close().await;
    Ok(code)
}

/// Head office's declaration: on `raincheck/v1/_chain/incident/{source}` of HQ's broker,
/// built from HQ's retained set (its chain declarations and the venues' screens), and
/// with `--wait` followed through the display reports that come up the bridges.
async fn declare_chain(args: DeclareArgs, request: DeclareRequest) -> Result<ExitCode> {
    let source = request.source.clone();
    let target = chain_target(&args.bus)?;
    let mut session = ChainSession::open(target, "cli").await?;
    if session.state.venues.is_empty() {
        eprintln!(
            "note: no venue's screens report to this broker yet (is any venue bridged here? see docs/CHAIN.md); \
             the declaration stays retained and reaches each venue when its bridge connects"
        );
    }
    let now = OffsetDateTime::now_utc();
    // No template: a text left out is filled by each venue's screens from their own
    // config, in their own languages.
    let prepared = match prepare_chain_declaration(
        &session.state,
        request,
        None,
        now,
        incident_id(now, rand::random()),
    ) {
        Ok(prepared) => prepared,
        Err(refusal) => {
            session.close().await;
            return Err(explain(refusal, |_| {
                "no chain-wide incident is active on this broker; start one with `raincheck incident start --chain`".to_owned()
            }));
        }
    };
    note_adopted(&prepared, "chain-wide incident");
    let declaration = prepared.declaration;
    let topic = Topic::chain_incident(&source).to_string();
    let payload = crate::protocol::encode(&declaration);
    let published_at = Instant::now();
    session.publish_retained(&topic, payload).await?;
    let verb = if declaration.state == DeclarationState::Resolved {
        "resolved"
    } else {
        "declared"
    };
    println!(
        "{verb} chain-wide incident {} at revision {} as source {source}",
        declaration.incident_id, declaration.revision
    );
    let mut code = ExitCode::SUCCESS;
    if args.wait > 0 {
        let summary = session.wait_confirmed(Duration::from_secs(args.wait)).await;
        if summary.all_reachable_confirmed() {
            println!(
                "{} (in {:.1} ms)",
                summary.headline(),
                published_at.elapsed().as_secs_f64() * 1000.0
            );
        } else {
            println!("after {} s: {}", args.wait, summary.headline());
            code = ExitCode::from(3);
        }
    }
    session.close().await;
    Ok(code)
}

/// A refusal in words for the operator; `nothing_active` words the "start one first"
/// case for this kind of declaration (it gets what the screens show).
fn explain(refusal: DeclareRefusal, nothing_active: impl Fn(&str) -> String) -> anyhow::Error {
    match refusal {
        DeclareRefusal::NothingActive { shown } => anyhow!(nothing_active(shown)),
        other => anyhow!("{other}"),
    }
}

/// Tells the operator when their "start" took over an incident already in force.
fn note_adopted(prepared: &crate::model::PreparedDeclaration, what: &str) {
    if let Some(adopted) = &prepared.adopted {
        eprintln!(
            "note: {what} {adopted} is already active; declaring it as yours with these texts"
        );
    }
}

/// The `--in LANG:FIELD=TEXT` lines as a declaration's translations; the first bad one is
/// refused by name before anything is sent.
fn translations_from(lines: &[String]) -> Result<crate::protocol::Translations> {
    let mut translations = crate::protocol::Translations::new();
    for line in lines {
        let (target, text) = line.split_once('=').ok_or_else(|| {
            anyhow!("--in {line:?}: write LANG:FIELD=TEXT, e.g. 'es:headline=Solo efectivo'")
        })?;
        let (language, field_name) = target.split_once(':').ok_or_else(|| {
            anyhow!("--in {line:?}: write LANG:FIELD=TEXT, e.g. 'es:headline=Solo efectivo'")
        })?;
        let language = language.trim();
        if !crate::protocol::translations::SCREEN_LANGUAGES.contains(&language) {
            bail!(
                "--in {line:?}: {language:?} is not a screen language; use one of {:?}",
                crate::protocol::translations::SCREEN_LANGUAGES
            );
        }
        let field =
            TextField::from_name(&field_name.trim().replace('-', "_")).ok_or_else(|| {
                anyhow!(
                    "--in {line:?}: {field_name:?} is not a text; use one of {:?}",
                    TextField::NAMES
                )
            })?;
        let text = text.trim();
        if text.is_empty() {
            bail!("--in {line:?}: the text is empty; leave the line out to use the template");
        }
        translations
            .entry(language.to_owned())
            .or_default()
            .set(field, Some(text.to_owned()));
    }
    Ok(translations)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wording_per_language_lands_in_the_declarations_translations() {
        let lines = [
            "es:headline=Solo efectivo".to_owned(),
            "es:cash-points = Taquilla".to_owned(),
            "de:body=Bitte bar zahlen".to_owned(),
        ];
        let translations = translations_from(&lines).expect("three good lines");
        assert_eq!(
            translations["es"].headline.as_deref(),
            Some("Solo efectivo")
        );
        assert_eq!(translations["es"].cash_points.as_deref(), Some("Taquilla"));
        assert_eq!(translations["de"].body.as_deref(), Some("Bitte bar zahlen"));
        assert!(translations_from(&["es:headline=  ".to_owned()]).is_err());
    }
}
