//! One truth for every screen, whenever it starts (issue 11), on a real Mosquitto: each
//! sequence that used to leave the broker's retained set on another view than the running
//! screens — an older revision written after a newer one, a retained declaration emptied
//! with `mosquitto_pub -r -n`, two declarations tying on one topic, a broker restarted
//! without its retained set — converges once the venue's keeper (the console) repairs it:
//! a node that starts afterwards computes the view the running screen draws. And a resolve
//! works when the screens still show an incident the broker no longer holds.

mod common;

use common::console::{start_console, stop_node, write_console_config};
use common::*;
use raincheck::model::{compute_view, VenueView, ViewMode};
use raincheck::protocol::{encode, DeclarationState, Identifier, IncidentDeclaration, Scope};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

/// Publishes `payload` retained on the venue topic `suffix` with the real `mosquitto_pub`
/// (`None`: an empty retained payload, what a technician's "clean up" does).
fn mosquitto_pub(port: u16, suffix: &str, payload: Option<&[u8]>) {
    let topic = format!("raincheck/v1/{VENUE}/{suffix}");
    let mut command = std::process::Command::new("mosquitto_pub");
    command.args([
        "-h",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-q",
        "1",
        "-r",
        "-t",
        &topic,
    ]);
    match payload {
        Some(bytes) => command
            .arg("-m")
            .arg(String::from_utf8_lossy(bytes).as_ref()),
        None => command.arg("-n"),
    };
    let output = command.output().expect("run mosquitto_pub");
    assert!(output.status.success(), "mosquitto_pub: {output:?}");
}

/// Waits until a node starting now — a fresh session reading the broker's retained set —
/// computes a view that `expected` accepts and that `screen` (running all along) draws.
async fn a_late_joiner_agrees(
    url: &str,
    screen: &str,
    what: &str,
    expected: impl Fn(&VenueView) -> bool,
) -> VenueView {
    let deadline = Instant::now() + WAIT;
    loop {
        let late = observer(url).await;
        let view = compute_view(&late.state);
        let agrees = expected(&view) && all_confirmed(&[screen])(&late.state);
        let headline = late.headline();
        late.close().await;
        if agrees {
            return view;
        }
        assert!(
            Instant::now() < deadline,
            "a node starting now still disagrees ({what}): it computes {view:?}; {headline}"
        );
    }
}

/// The CLI's own declaration as the venue holds it.
fn cli_declaration(state: &raincheck::model::VenueState) -> IncidentDeclaration {
    state
        .declarations
        .get(&(Scope::Venue, Identifier::parse("cli").unwrap()))
        .expect("the CLI has declared")
        .clone()
}

#[test]
fn every_sequence_that_split_the_venue_converges_through_the_keeper() {
    let Some(broker) = mosquitto("") else { return };
    let url = broker.url();
    let directory = tempfile::tempdir().unwrap();
    let runtime = runtime();
    let _screen = NodeProcess::start(directory.path(), "lobby-1", &url);
    let keeper_config = write_console_config(directory.path(), "back-office", &url, "");
    let (keeper, stop_keeper) = runtime.block_on(async {
        let (node, trigger, _) = start_console(&keeper_config, directory.path());
        (node, trigger)
    });
    let mut broker = broker;
    runtime.block_on(async {
        let mut running = observer_once_online(&url, &["lobby-1"], WAIT).await;
        declare(&url, "start", &[]);
        // Updated once, so an older revision of the same topic exists (revision ≥ 1).
        let (_, started) = declare(&url, "update", &["--headline", "Cash only tonight"]);
        wait_for(
            &mut running,
            WAIT,
            "cash only on lobby-1",
            confirmed_after(&["lobby-1"], started),
        )
        .await;
        let current = cli_declaration(&running.state);
        running.close().await;

        // An older revision written after the newer one.
        let mut older = current.clone();
        older.revision = started - 1;
        older.state = DeclarationState::Resolved;
        mosquitto_pub(broker.port, "incident/cli", Some(&encode(&older)));
        a_late_joiner_agrees(&url, "lobby-1", "older after newer", |view| {
            view.mode == ViewMode::CashOnly && view.revision == started
        })
        .await;

        // The retained declaration emptied by hand.
        mosquitto_pub(broker.port, "incident/cli", None);
        a_late_joiner_agrees(&url, "lobby-1", "an emptied retained declaration", |view| {
            view.mode == ViewMode::CashOnly && view.revision == started
        })
        .await;

        // Two declarations tying on one topic (two one-shot CLIs at the same moment):
        // every node keeps the byte-greater one; the broker keeps whichever came last.
        let mut first = current.clone();
        first.revision = started + 1;
        first.texts.headline = Some("Tie A".into());
        let mut second = first.clone();
        second.texts.headline = Some("Tie B".into());
        let (greater, smaller) = if encode(&first) > encode(&second) {
            (first, second)
        } else {
            (second, first)
        };
        mosquitto_pub(broker.port, "incident/cli", Some(&encode(&greater)));
        mosquitto_pub(broker.port, "incident/cli", Some(&encode(&smaller)));
        let winner = greater.texts.headline.clone();
        a_late_joiner_agrees(&url, "lobby-1", "a tie on one topic", |view| {
            view.revision == started + 1 && view.texts.headline == winner
        })
        .await;

        // The broker restarts without its retained set, and a declaration is made at
        // once, before the screen and the keeper are back: it may get a revision below what
        // the screen shows. Whatever the order, the venue ends on one view.
        broker.restart().expect("restart mosquitto");
        let after = cli(&[
            "incident",
            "start",
            "--broker",
            &url,
            "--venue",
            VENUE,
            "--timeout",
            "10",
            "--headline",
            "After the restart",
        ]);
        assert!(after.status.success(), "{}", stderr_of(&after));
        a_late_joiner_agrees(
            &url,
            "lobby-1",
            "a broker that lost its retained set",
            |view| view.mode == ViewMode::CashOnly && view.revision > started,
        )
        .await;
        stop_node(keeper, stop_keeper).await;
    });
}

#[test]
fn a_resolve_works_when_screens_show_an_incident_the_broker_lost() {
    let Some(mut broker) = mosquitto("") else {
        return;
    };
    let url = broker.url();
    let directory = tempfile::tempdir().unwrap();
    let runtime = runtime();
    let _screen = NodeProcess::start(directory.path(), "lobby-1", &url);
    runtime.block_on(async {
        let mut running = observer_once_online(&url, &["lobby-1"], WAIT).await;
        let (_, started) = declare(&url, "start", &[]);
        wait_for(
            &mut running,
            WAIT,
            "cash only on lobby-1",
            confirmed_after(&["lobby-1"], started),
        )
        .await;
        let incident = compute_view(&running.state)
            .incident_id
            .expect("an incident");
        running.close().await;
        // No keeper runs here: the broker comes back empty, and only the screen's own
        // report (republished when it reconnects) says what it shows.
        broker.restart().expect("restart mosquitto");
        let mut back = observer(&url).await;
        wait_for(
            &mut back,
            WAIT,
            "lobby-1 reports its cash-only screen again",
            |state| {
                state.declarations.is_empty()
                    && state
                        .displays
                        .values()
                        .any(|report| report.incident_id.as_ref() == Some(&incident))
            },
        )
        .await;
        back.close().await;
        let (said, resolved) = declare(&url, "resolve", &[]);
        assert!(
            said.contains(incident.as_str()),
            "the resolve names the incident on screen: {said}"
        );
        assert!(
            resolved > started,
            "ordered after what the screen shows: {said}"
        );
        a_late_joiner_agrees(&url, "lobby-1", "the resolve of a lost incident", |view| {
            view.mode == ViewMode::AllClear && view.incident_id.as_ref() == Some(&incident)
        })
        .await;
    });
}
