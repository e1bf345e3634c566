//! The drill rules: shown only while running, hidden by a real incident in force or
//! declared after it began, refused during an incident, ended by anyone's end order.

use super::*;
use crate::model::fixtures::{at, declaration, id};
use crate::protocol::{BusMessage, DeclarationState, Scope};

fn request(seconds: i64, full_screen: &[&str]) -> DrillRequest {
    DrillRequest {
        source: id("console"),
        actor: Some("Dana".into()),
        runs_for: time::Duration::seconds(seconds),
        full_screen: full_screen.iter().map(|node| id(node)).collect(),
    }
}

fn declared(state: &mut VenueState, revision: u64, active: bool) {
    let declaration_state = if active {
        DeclarationState::Active
    } else {
        DeclarationState::Resolved
    };
    state.apply(BusMessage::Declaration {
        scope: Scope::Venue,
        declaration: declaration("console", revision, declaration_state),
    });
}

#[test]
fn a_running_drill_is_in_the_view_and_its_end_takes_it_out() {
    let mut state = VenueState::default();
    let order = prepare_drill(
        &state,
        request(60, &["lobby-2", "lobby-2"]),
        at(0),
        id("drill-1"),
    )
    .expect("a quiet venue may drill");
    assert_eq!(order.revision, 1);
    assert_eq!(order.full_screen, vec![id("lobby-2")], "sorted, once each");
    assert_eq!(order.ends_at, at(60));
    state.apply(BusMessage::Drill(order));
    let view = compute_view(&state);
    assert_eq!(view.mode, ViewMode::Normal, "a drill is not an incident");
    let drill = view.drill.expect("the drill is in the view");
    assert_eq!(drill.drill_id, id("drill-1"));
    // Another source's end order ends it: the latest order wins.
    let end = prepare_drill_end(&state, &id("cli"), None).expect("a drill runs");
    assert_eq!(end.revision, 2);
    state.apply(BusMessage::Drill(end));
    assert_eq!(compute_view(&state).drill, None);
    assert_eq!(
        prepare_drill_end(&state, &id("cli"), None).unwrap_err(),
        DrillRefusal::NoneRunning
    );
}

#[test]
fn a_real_incident_wins_and_the_drill_does_not_come_back_after_it() {
    let mut state = VenueState::default();
    declared(&mut state, 1, false);
    let order = prepare_drill(&state, request(120, &[]), at(0), id("drill-1")).unwrap();
    state.apply(BusMessage::Drill(order));
    assert!(
        compute_view(&state).drill.is_some(),
        "over the all clear, a drill shows"
    );
    declared(&mut state, 3, true);
    let view = compute_view(&state);
    assert_eq!(view.mode, ViewMode::CashOnly);
    assert_eq!(view.drill, None, "the real incident wins");
    declared(&mut state, 4, false);
    assert_eq!(
        compute_view(&state).drill,
        None,
        "resolved before the drill's end, the drill stays hidden"
    );
}

#[test]
fn a_drill_is_refused_during_an_incident_while_another_runs_and_out_of_range() {
    let mut state = VenueState::default();
    declared(&mut state, 1, true);
    assert!(matches!(
        prepare_drill(&state, request(60, &[]), at(0), id("drill-1")),
        Err(DrillRefusal::IncidentInForce { .. })
    ));
    let mut quiet = VenueState::default();
    for seconds in [9, 601] {
        assert_eq!(
            prepare_drill(&quiet, request(seconds, &[]), at(0), id("drill-1")).unwrap_err(),
            DrillRefusal::DurationOutOfRange
        );
    }
    let names: Vec<String> = (0..65).map(|n| format!("screen-{n}")).collect();
    let many: Vec<&str> = names.iter().map(String::as_str).collect();
    assert_eq!(
        prepare_drill(&quiet, request(60, &many), at(0), id("drill-1")).unwrap_err(),
        DrillRefusal::TooManyScreens
    );
    let order = prepare_drill(&quiet, request(60, &[]), at(0), id("drill-1")).unwrap();
    quiet.apply(BusMessage::Drill(order));
    assert_eq!(
        prepare_drill(&quiet, request(60, &[]), at(30), id("drill-2")).unwrap_err(),
        DrillRefusal::AlreadyRunning {
            drill_id: "drill-1".into()
        }
    );
    // Past its end (its end order lost), a new drill may start.
    assert!(prepare_drill(&quiet, request(60, &[]), at(61), id("drill-2")).is_ok());
}

#[test]
fn a_screen_drops_a_drill_whose_end_it_never_heard_once_the_margin_passed() {
    let mut state = VenueState::default();
    let order = prepare_drill(&state, request(60, &[]), at(0), id("drill-1")).unwrap();
    state.apply(BusMessage::Drill(order));
    let margin = crate::protocol::EXPIRY_MARGIN;
    let over = at(60) + margin;
    assert_eq!(crate::model::next_screen_change(&state, at(0)), Some(over));
    assert!(
        crate::model::compute_view_at(&state, over - time::Duration::seconds(1))
            .drill
            .is_some()
    );
    assert_eq!(crate::model::compute_view_at(&state, over).drill, None);
    assert_eq!(crate::model::next_screen_change(&state, over), None);
}
