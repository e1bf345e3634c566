//! Chaos on the clocks, with real processes: publishers whose clocks are ten minutes off
//! (raw declarations with skewed times, the real CLI and a real counter under libfaketime)
//! are ordered by Lamport revision, never by time. The newest revision is shown even when
//! its clock says it is the oldest; an older revision is never shown, not for a moment,
//! even when its clock says it is the newest; every screen and counter agrees; and
//! vouchers issued on a fast clock verify, redeem and sync like any other, exactly once.
//! Without libfaketime (Debian package `libfaketime`) the faked-clock processes are
//! skipped with a message; the raw skewed declarations always run. See chaos.rs for the
//! rest of the suite.

mod common;

use common::chaos::*;
use common::*;
use raincheck::client::BusSession;
use raincheck::model::{compute_view, VenueState};
use raincheck::protocol::{
    Authority, BusMessage, DeclarationState, Identifier, IncidentDeclaration, IncidentMode,
    IncidentTexts, Scope,
};
use std::time::Duration;
use time::OffsetDateTime;

const WAIT: Duration = Duration::from_secs(20);
const TEN_MINUTES: time::Duration = time::Duration::minutes(10);

fn id(text: &str) -> Identifier {
    Identifier::parse(text).unwrap()
}

/// A manager's declaration as a tablet with its own clock would publish it.
fn declaration(
    source: &str,
    revision: u64,
    incident: &Identifier,
    at: OffsetDateTime,
    headline: &str,
) -> IncidentDeclaration {
    IncidentDeclaration {
        v: 1,
        source: id(source),
        authority: Authority::Manager,
        revision,
        incident_id: incident.clone(),
        state: DeclarationState::Active,
        mode: IncidentMode::CashOnly,
        texts: IncidentTexts {
            headline: Some(headline.into()),
            ..Default::default()
        },
        translations: Default::default(),
        offer_id: None,
        supersedes: Vec::new(),
        started_at: at,
        declared_at: at,
        actor: Some("chaos".into()),
        next_update_by: None,
        expires_at: None,
    }
}

async fn publish_declaration(observer: &mut BusSession, declaration: &IncidentDeclaration) {
    let topic = format!("raincheck/v1/{VENUE}/incident/{}", declaration.source);
    observer
        .publish_retained(&topic, serde_json::to_vec(declaration).unwrap())
        .await
        .expect("the broker takes the skewed declaration and every node would accept it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishers_ten_minutes_off_are_ordered_by_revision_and_every_screen_agrees() {
    let Some(broker) = mosquitto("") else { return };
    let faketime = libfaketime();
    let directory = tempfile::tempdir().unwrap();
    let url = broker.url();
    let _screens = start_nodes(
        directory.path(),
        &["lobby-1", "lobby-2", "box-office"],
        &url,
    );
    // till-1 runs ten minutes fast when libfaketime is there to fake its clock.
    let mut counters = vec![
        match &faketime {
            Some(library) => Counter::start_with_env(
                directory.path(),
                "till-1",
                1,
                &url,
                &faked_clock(library, "+10m"),
            ),
            None => Counter::start(directory.path(), "till-1", 1, &url),
        },
        Counter::start(directory.path(), "till-2", 2, &url),
    ];
    let everyone = ["lobby-1", "lobby-2", "box-office", "till-1", "till-2"];
    let mut observer = observer_once_online(&url, &everyone, WAIT).await;

    let (_, first) = declare_and_confirm(
        &mut observer,
        &url,
        "start",
        &["--headline", "correct clock"],
        &everyone,
        "the first declaration shown",
    )
    .await;
    let incident = observer.view().incident_id.expect("an incident id");
    let now = OffsetDateTime::now_utc();

    // A tablet ten minutes fast publishes the newest declaration: it is shown.
    let fast = declaration(
        "fast-tablet",
        observer.next_revision().unwrap(),
        &incident,
        now + TEN_MINUTES,
        "ten minutes fast",
    );
    assert!(fast.revision > first);
    publish_declaration(&mut observer, &fast).await;
    wait_for(
        &mut observer,
        WAIT,
        "every node shows the fast tablet's newer declaration",
        confirmed_after(&everyone, fast.revision),
    )
    .await;
    assert_eq!(
        observer.view().texts.headline.as_deref(),
        Some("ten minutes fast")
    );

    // The correct clock declares again: ten minutes *earlier* by the clocks, newer by
    // revision, so it wins everywhere.
    let (_, again) = declare_and_confirm(
        &mut observer,
        &url,
        "update",
        &["--headline", "correct clock again"],
        &everyone,
        "every node shows the correct clock's later revision",
    )
    .await;
    let view = observer.view();
    assert_eq!(
        (view.revision, view.texts.headline.as_deref()),
        (again, Some("correct clock again"))
    );
    assert!(
        view.declared_at.unwrap() < fast.declared_at,
        "the winner is older by the clocks: {view:?}"
    );

    // A tablet ten minutes slow publishes the newest: shown, though "older" than all.
    let slow = declaration(
        "slow-tablet",
        observer.next_revision().unwrap(),
        &incident,
        now - TEN_MINUTES,
        "ten minutes slow",
    );
    publish_declaration(&mut observer, &slow).await;
    wait_for(
        &mut observer,
        WAIT,
        "every node shows the slow tablet's newest revision",
        confirmed_after(&everyone, slow.revision),
    )
    .await;
    assert_eq!(
        observer.view().texts.headline.as_deref(),
        Some("ten minutes slow")
    );

    // The fast tablet speaks again, latest of all by its clock, but from a revision it
    // had before the last two: no node may show it, not even for a moment.
    let stale = declaration(
        "fast-tablet",
        again,
        &incident,
        now + TEN_MINUTES * 2,
        "stale but fast",
    );
    let mut alone = VenueState::default();
    alone.apply(BusMessage::Declaration {
        scope: Scope::Venue,
        declaration: stale.clone(),
    });
    let stale_digest = compute_view(&alone).digest();
    publish_declaration(&mut observer, &stale).await;
    assert_eq!(
        observer.view().texts.headline.as_deref(),
        Some("ten minutes slow")
    );
    // The next real declaration (from a CLI ten minutes fast, when it can be faked):
    // every report until all confirm it is one of the real views.
    let mut update = std::process::Command::new(binary());
    update.args([
        "incident",
        "update",
        "--broker",
        &url,
        "--venue",
        VENUE,
        "--timeout",
        "10",
        "--headline",
        "after the stale one",
    ]);
    if let Some(library) = &faketime {
        update.envs(faked_clock(library, "+10m"));
    }
    let output = tokio::task::spawn_blocking(move || update.output().expect("run the CLI"))
        .await
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let last = printed_revision(&stdout_of(&output));
    let mut reports = Vec::new();
    wait_recording(
        &mut observer,
        WAIT,
        "every node shows the declaration after the stale one",
        &mut reports,
        confirmed_after(&everyone, last),
    )
    .await;
    assert!(
        reports
            .iter()
            .all(|r| r.digest.as_deref() != Some(stale_digest.as_str())),
        "a node showed the stale declaration: {reports:?}"
    );
    let view = observer.view();
    assert_eq!(
        (view.revision, view.texts.headline.as_deref()),
        (last, Some("after the stale one"))
    );
    if faketime.is_some() {
        let skew = view.declared_at.unwrap() - OffsetDateTime::now_utc();
        assert!(
            skew > time::Duration::minutes(9),
            "the CLI ran ten minutes fast: {view:?}"
        );
    }

    // Vouchers across the skew: each side honours the other's; the skewed times travel
    // as information only.
    for counter in &counters {
        counter.api.wait_serving(WAIT).await;
    }
    let mut ledger = Ledger::default();
    let fast_code = ledger.issue(&counters[0]).await;
    ledger.issue(&counters[0]).await;
    let correct_code = ledger.issue(&counters[1]).await;
    ledger.redeem(&counters[1], &fast_code).await;
    ledger.redeem(&counters[0], &correct_code).await;
    wait_for_voucher_sync(broker.port, &["till-1", "till-2"], &ledger, WAIT).await;
    let record = counters[1]
        .api
        .record(&fast_code)
        .await
        .expect("a look-up answer")
        .expect("till-2 holds till-1's voucher");
    if faketime.is_some() {
        let issued_at = record.issued.as_ref().unwrap().at;
        assert!(
            issued_at - OffsetDateTime::now_utc() > time::Duration::minutes(9),
            "till-1's clock runs ten minutes fast: {record:?}"
        );
    }
    observer.close().await;
    let stores = stop_and_read(&mut counters);
    verify_vouchers(&ledger, &stores, Answers::AllAnswered);
}
