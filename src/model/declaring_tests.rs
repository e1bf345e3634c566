//! Tests of `declaring.rs`, kept apart so the module itself reads in one sitting.

use super::*;
use crate::protocol::BusMessage;

fn id(text: &str) -> Identifier {
    Identifier::parse(text).unwrap()
}

fn request(action: DeclareAction, headline: Option<&str>) -> DeclareRequest {
    DeclareRequest {
        action,
        source: id("console"),
        authority: Authority::Manager,
        actor: Some("Dana".into()),
        texts: IncidentTexts {
            headline: headline.map(str::to_owned),
            ..Default::default()
        },
        translations: Default::default(),
        offer_id: None,
        next_update_by: None,
        expires_at: None,
    }
}

fn at(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000 + seconds).unwrap()
}

fn apply(state: &mut VenueState, declaration: IncidentDeclaration, scope: Scope) {
    state.apply(BusMessage::Declaration { scope, declaration });
}

#[test]
fn start_then_update_then_resolve_keeps_one_incident_and_rising_revisions() {
    let template = Template {
        texts: IncidentTexts {
            body: Some("template body".into()),
            ..Default::default()
        },
        translations: [(
            "es".to_owned(),
            IncidentTexts {
                body: Some("cuerpo de plantilla".into()),
                ..Default::default()
            },
        )]
        .into(),
    };
    let mut state = VenueState::default();
    let started = prepare_declaration(
        &state,
        request(DeclareAction::Start, Some("Cash only")),
        Some(&template),
        at(0),
        id("inc-1"),
    )
    .unwrap();
    assert_eq!(started.adopted, None);
    assert_eq!(
        started.declaration.texts.body.as_deref(),
        Some("template body")
    );
    assert_eq!(started.declaration.revision, 1);
    apply(&mut state, started.declaration.clone(), Scope::Venue);

    let updated = prepare_declaration(
        &state,
        request(DeclareAction::Update, Some("Still cash only")),
        None,
        at(60),
        id("inc-2"),
    )
    .unwrap();
    assert_eq!(updated.declaration.incident_id, id("inc-1"));
    assert_eq!(updated.declaration.started_at, at(0));
    assert_eq!(
        updated.declaration.texts.body.as_deref(),
        Some("template body")
    );
    assert_eq!(
        updated.declaration.translations["es"].body.as_deref(),
        Some("cuerpo de plantilla"),
        "a language's template stays through an update"
    );
    assert_eq!(updated.declaration.revision, 2);
    apply(&mut state, updated.declaration, Scope::Venue);

    let resolved = prepare_declaration(
        &state,
        request(DeclareAction::Resolve, None),
        None,
        at(90),
        id("inc-3"),
    )
    .unwrap();
    assert_eq!(resolved.declaration.state, DeclarationState::Resolved);
    assert_eq!(resolved.declaration.incident_id, id("inc-1"));
    assert_eq!(resolved.declaration.texts, IncidentTexts::default());
    assert!(resolved.declaration.translations.is_empty());
    assert_eq!(resolved.declaration.revision, 3);
}

#[test]
fn an_own_resolve_ends_the_sources_incident_even_behind_a_manager() {
    let mut state = VenueState::default();
    let automatic = DeclareRequest {
        source: id("auto-d"),
        authority: Authority::Automatic,
        ..request(DeclareAction::Start, Some("Cards down"))
    };
    let started = prepare_declaration(&state, automatic, None, at(0), id("inc-a"))
        .unwrap()
        .declaration;
    apply(&mut state, started, Scope::Venue);
    let manager = prepare_declaration(
        &state,
        request(DeclareAction::Start, Some("Manager")),
        None,
        at(5),
        id("inc-m"),
    )
    .unwrap()
    .declaration;
    apply(&mut state, manager, Scope::Venue);
    assert_eq!(prepare_own_resolve(&state, &id("nobody"), at(9)), None);
    let resolve = prepare_own_resolve(&state, &id("auto-d"), at(9))
        .unwrap()
        .unwrap();
    assert_eq!(resolve.state, DeclarationState::Resolved);
    assert_eq!(
        resolve.incident_id,
        id("inc-a"),
        "its own incident, not the shown one"
    );
    assert_eq!(resolve.revision, 3);
    assert_eq!(resolve.authority, Authority::Automatic);
    assert_eq!(resolve.texts, IncidentTexts::default());
    assert_eq!(resolve.declared_at, at(9));
}

#[test]
fn incident_ids_read_as_their_start() {
    let id = incident_id(at(0), 0x3fa9);
    assert!(id.as_str().starts_with("inc-20270115-"), "{id}");
    assert!(id.as_str().ends_with("-3fa9"), "{id}");
}

#[test]
fn update_and_resolve_need_an_active_incident_and_long_texts_are_refused() {
    let state = VenueState::default();
    for action in [DeclareAction::Update, DeclareAction::Resolve] {
        let refusal = prepare_declaration(&state, request(action, None), None, at(0), id("inc-1"))
            .unwrap_err();
        assert_eq!(refusal, DeclareRefusal::NothingActive { shown: "normal" });
    }
    let long = "x".repeat(IncidentTexts::MAX_CHARS + 1);
    let refusal = prepare_declaration(
        &state,
        request(DeclareAction::Start, Some(&long)),
        None,
        at(0),
        id("inc-1"),
    )
    .unwrap_err();
    assert!(matches!(
        refusal,
        DeclareRefusal::TextTooLong {
            field: "headline",
            ..
        }
    ));
}

#[test]
fn starting_while_a_chain_incident_is_active_adopts_it_and_a_resolve_supersedes_it() {
    let mut state = VenueState::default();
    let mut chain = prepare_declaration(
        &state,
        request(DeclareAction::Start, Some("National outage")),
        None,
        at(0),
        id("hq-1"),
    )
    .unwrap()
    .declaration;
    chain.source = id("hq");
    apply(&mut state, chain, Scope::Chain);
    let adopted = prepare_declaration(
        &state,
        request(DeclareAction::Start, None),
        None,
        at(5),
        id("inc-9"),
    )
    .unwrap();
    assert_eq!(adopted.adopted, Some(id("hq-1")));
    assert_eq!(
        adopted.declaration.texts.headline.as_deref(),
        Some("National outage")
    );
    let resolved = prepare_declaration(
        &state,
        request(DeclareAction::Resolve, None),
        None,
        at(9),
        id("inc-9"),
    )
    .unwrap();
    assert_eq!(resolved.declaration.supersedes, vec![id("hq-1")]);
}

fn chain_request(action: DeclareAction, headline: Option<&str>) -> DeclareRequest {
    DeclareRequest {
        source: id("hq"),
        actor: Some("ops".into()),
        ..request(action, headline)
    }
}

fn screen(node: &str, revision: u64) -> BusMessage {
    BusMessage::Display(crate::protocol::DisplayReport {
        v: SCHEMA_VERSION,
        node: id(node),
        status: crate::protocol::DisplayStatus::Online,
        name: None,
        roles: Vec::new(),
        revision: Some(revision),
        digest: Some("0123456789abcdef".into()),
        mode: None,
        incident_id: None,
        since: None,
        shown: None,
        reason: None,
        drawn_at: None,
    })
}

#[test]
fn a_chain_declaration_orders_after_every_venue_screen_and_its_resolve_supersedes_nothing() {
    let mut chain = ChainState::default();
    chain.apply(Some(&id("rialto")), screen("lobby-1", 41));
    chain.apply(Some(&id("odeon")), screen("lobby-1", 7));
    let started = prepare_chain_declaration(
        &chain,
        chain_request(
            DeclareAction::Start,
            Some("Card payments are down nationally"),
        ),
        None,
        at(0),
        id("inc-hq-1"),
    )
    .unwrap();
    assert_eq!(started.declaration.revision, 42);
    assert_eq!(started.adopted, None);
    assert_eq!(started.declaration.source, id("hq"));
    // Left out, a text is filled by each venue's screens from their own templates.
    assert_eq!(started.declaration.texts.body, None);
    chain.apply(
        None,
        BusMessage::Declaration {
            scope: Scope::Chain,
            declaration: started.declaration.clone(),
        },
    );

    let updated = prepare_chain_declaration(
        &chain,
        chain_request(DeclareAction::Update, None),
        None,
        at(30),
        id("inc-hq-2"),
    )
    .unwrap();
    assert_eq!(updated.declaration.incident_id, id("inc-hq-1"));
    assert_eq!(
        updated.declaration.texts.headline.as_deref(),
        Some("Card payments are down nationally")
    );
    assert_eq!(updated.declaration.revision, 43);

    let resolved = prepare_chain_declaration(
        &chain,
        chain_request(DeclareAction::Resolve, None),
        None,
        at(60),
        id("inc-hq-3"),
    )
    .unwrap();
    assert_eq!(resolved.declaration.state, DeclarationState::Resolved);
    assert_eq!(resolved.declaration.incident_id, id("inc-hq-1"));
    assert!(resolved.declaration.supersedes.is_empty());
}

#[test]
fn a_chain_update_needs_an_active_chain_incident() {
    let mut chain = ChainState::default();
    // Whatever a venue's screens show, HQ acts on the chain's own incident only.
    chain.apply(Some(&id("rialto")), screen("lobby-1", 3));
    for action in [DeclareAction::Update, DeclareAction::Resolve] {
        let refusal = prepare_chain_declaration(
            &chain,
            chain_request(action, None),
            None,
            at(0),
            id("inc-1"),
        )
        .unwrap_err();
        assert_eq!(refusal, DeclareRefusal::NothingActive { shown: "normal" });
    }
}

#[test]
fn a_promised_next_update_lies_ahead_within_a_day_and_a_resolve_carries_none() {
    let state = VenueState::default();
    let promising = |minutes: i64, action| DeclareRequest {
        next_update_by: Some(at(minutes * 60)),
        ..request(action, None)
    };
    for minutes in [-1, 0, 24 * 60 + 1] {
        let refused = prepare_declaration(
            &state,
            promising(minutes, DeclareAction::Start),
            None,
            at(0),
            id("inc-1"),
        );
        assert_eq!(
            refused.err(),
            Some(DeclareRefusal::NextUpdateOutOfRange),
            "{minutes} min"
        );
    }
    let started = prepare_declaration(
        &state,
        promising(30, DeclareAction::Start),
        None,
        at(0),
        id("inc-1"),
    )
    .unwrap();
    assert_eq!(started.declaration.next_update_by, Some(at(30 * 60)));
    let mut state = VenueState::default();
    apply(&mut state, started.declaration, Scope::Venue);
    let resolved = prepare_declaration(
        &state,
        promising(30, DeclareAction::Resolve),
        None,
        at(60),
        id("inc-2"),
    )
    .unwrap();
    assert_eq!(resolved.declaration.next_update_by, None);
}
