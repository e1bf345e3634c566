//! The drill result from snapshots built as the console builds them: confirmations timed
//! from the first snapshot with the drill, and at the end every node's standing.

use super::*;
use crate::console::snapshot::build_snapshot;
use crate::model::fixtures::{at, id, report};
use crate::model::{
    compute_view, prepare_drill, prepare_drill_end, Confirmations, DrillRequest, VenueState,
};
use crate::protocol::BusMessage;
use std::collections::BTreeMap;

fn snapshot(state: &VenueState, seconds: i64) -> ConsoleSnapshot {
    build_snapshot(
        &id("rialto"),
        "Rialto",
        None,
        state,
        &Confirmations::of(state),
        &BTreeMap::new(),
        at(seconds),
    )
}

fn drew(state: &mut VenueState, node: &str, role: &str) {
    let digest = compute_view(state).digest();
    state.apply(BusMessage::Display(report(node, role, Some(&digest))));
}

fn started(state: &mut VenueState, full_screen: &[&str]) {
    let request = DrillRequest {
        source: id("console"),
        actor: Some("Dana".into()),
        runs_for: time::Duration::minutes(2),
        full_screen: full_screen.iter().map(|node| id(node)).collect(),
    };
    let order = prepare_drill(state, request, at(0), id("drill-1")).expect("a quiet venue");
    state.apply(BusMessage::Drill(order));
}

#[test]
fn each_confirmation_is_timed_and_who_never_confirmed_says_why_at_the_end() {
    let mut state = VenueState::default();
    for node in ["lobby-1", "lobby-2"] {
        drew(&mut state, node, "signage");
    }
    drew(&mut state, "till-1", "counter");
    state.apply(BusMessage::Display(report("bar-1", "signage", None)));
    let mut observer = DrillObserver::default();
    assert!(
        observer.observe(&snapshot(&state, 0)).is_empty(),
        "no drill, nothing to write"
    );

    started(&mut state, &["lobby-2"]);
    let first = observer.observe(&snapshot(&state, 1));
    let running = first.last().expect("the drill is written at once");
    assert_eq!(running.drill_id, id("drill-1"));
    assert!(running
        .nodes
        .iter()
        .all(|n| n.outcome != DrillOutcome::Confirmed));

    drew(&mut state, "lobby-1", "signage");
    observer.observe(&snapshot(&state, 2));
    drew(&mut state, "lobby-2", "signage");
    let later = observer.observe(&snapshot(&state, 3));
    let running = later.last().expect("a change");
    let line = |report: &DrillReport, node: &str| {
        report
            .nodes
            .iter()
            .find(|n| n.node == id(node))
            .cloned()
            .expect("listed")
    };
    assert_eq!(
        line(running, "lobby-1").after_ms,
        Some(2_000),
        "timed from the start at 0"
    );
    assert_eq!(line(running, "lobby-2").after_ms, Some(3_000));
    assert!(line(running, "lobby-2").full_screen);
    assert!(!line(running, "lobby-1").full_screen);
    assert_eq!(line(running, "till-1").outcome, DrillOutcome::Waiting);
    assert_eq!(line(running, "bar-1").outcome, DrillOutcome::Offline);
    assert_eq!(
        observer.observe(&snapshot(&state, 3)),
        Vec::new(),
        "nothing new"
    );

    let end = prepare_drill_end(&state, &id("console"), None).expect("running");
    state.apply(BusMessage::Drill(end));
    let ended = observer.observe(&snapshot(&state, 5));
    let report = ended.first().expect("the ended drill is written");
    assert_eq!(report.ended_at, Some(at(5)));
    assert!(!report.interrupted);
    assert_eq!(line(report, "till-1").outcome, DrillOutcome::Lagging);
    assert_eq!(line(report, "lobby-1").outcome, DrillOutcome::Confirmed);
    assert_eq!(report.confirmed(), (2, 4));
    assert_eq!(report.slowest_ms(), Some(3_000));
}

#[test]
fn a_real_incident_during_the_drill_ends_it_as_interrupted() {
    let mut state = VenueState::default();
    drew(&mut state, "lobby-1", "signage");
    started(&mut state, &[]);
    let mut observer = DrillObserver::default();
    observer.observe(&snapshot(&state, 1));
    let revision = state.next_revision().expect("room");
    state.apply(BusMessage::Declaration {
        scope: crate::protocol::Scope::Venue,
        declaration: crate::model::fixtures::declaration(
            "console",
            revision,
            crate::protocol::DeclarationState::Active,
        ),
    });
    let ended = observer.observe(&snapshot(&state, 2));
    assert!(ended.first().expect("ended").interrupted);
}
