//! Which webhook events a new console snapshot means, given what was already announced:
//! an incident started (a new incident id in cash only), updated (its revision moved),
//! resolved (cash only ended), and every screen confirmed (the phase says every online
//! screen and counter shows the current view). Pure: the worker keeps `Announced` on disk,
//! so a restarted console neither repeats nor skips an event, and each event's id is
//! derived from what it announces, so a receiver can de-duplicate a redelivery.

use crate::config::HookEvent;
use crate::console::snapshot::{ConsoleSnapshot, Phase};
use crate::model::ViewMode;
use crate::protocol::Identifier;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// What was last announced to the receivers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announced {
    /// The incident in cash only, and the revision announced for it.
    pub incident: Option<(Identifier, u64)>,
    /// The (revision, mode) whose "every screen confirmed" was announced.
    pub confirmed: Option<(u64, String)>,
}

/// One event to deliver: its kind, an id stable for what it announces, and its body.
#[derive(Clone, Debug, PartialEq)]
pub struct Occurred {
    pub event: HookEvent,
    pub id: String,
    pub body: serde_json::Value,
}

fn mode_name(mode: ViewMode) -> &'static str {
    match mode {
        ViewMode::Normal => "normal",
        ViewMode::CashOnly => "cash_only",
        ViewMode::AllClear => "all_clear",
    }
}

fn tally(tally: &crate::model::Tally) -> serde_json::Value {
    json!({ "total": tally.total, "confirmed": tally.confirmed, "offline": tally.offline })
}

/// The events `snapshot` means after `announced`, and what is announced then. A console
/// that cannot see the venue (blind) announces nothing: its snapshot may be stale.
pub fn occurred(announced: &Announced, snapshot: &ConsoleSnapshot) -> (Vec<Occurred>, Announced) {
    let mut next = announced.clone();
    let mut events = Vec::new();
    if snapshot.progress.phase == Phase::Blind {
        return (events, next);
    }
    let view = &snapshot.view.view;
    let cash_only = view.mode == ViewMode::CashOnly;
    let current = view
        .incident_id
        .clone()
        .filter(|_| cash_only)
        .map(|id| (id, view.revision));
    let body = |event: HookEvent, incident: Option<&Identifier>, revision: u64| {
        json!({
            "event": event.name(),
            "venue": snapshot.venue,
            "venue_name": snapshot.venue_name,
            "incident_id": incident,
            "revision": revision,
            "mode": mode_name(view.mode),
            "texts": view.texts,
            "translations": view.translations,
            "started_at": view.started_at.map(|t| t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()),
            "screens": tally(&snapshot.progress.screens),
            "counters": tally(&snapshot.progress.counters),
        })
    };
    let mut push = |event: HookEvent, incident: Option<&Identifier>, revision: u64| {
        let subject = incident.map_or_else(|| "venue".to_owned(), Identifier::to_string);
        let id = format!("{}.{subject}.r{revision}.{}", snapshot.venue, event.name());
        let mut body = body(event, incident, revision);
        body["id"] = json!(id);
        events.push(Occurred { event, id, body });
    };
    match (&announced.incident, &current) {
        (None, Some((id, revision))) => push(HookEvent::Started, Some(id), *revision),
        (Some((old, _)), Some((id, revision))) if old != id => {
            push(HookEvent::Resolved, Some(old), *revision);
            push(HookEvent::Started, Some(id), *revision);
        }
        (Some((_, old_revision)), Some((id, revision))) if revision > old_revision => {
            push(HookEvent::Updated, Some(id), *revision)
        }
        (Some((old, _)), None) => push(HookEvent::Resolved, Some(old), view.revision),
        _ => {}
    }
    next.incident = current;
    let shown = (view.revision, mode_name(view.mode).to_owned());
    if snapshot.progress.done
        && matches!(snapshot.progress.phase, Phase::Confirmed | Phase::Cleared)
        && announced.confirmed.as_ref() != Some(&shown)
    {
        let incident = view.incident_id.clone();
        push(HookEvent::Confirmed, incident.as_ref(), view.revision);
        next.confirmed = Some(shown);
    }
    (events, next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::snapshot::build_snapshot;
    use crate::model::fixtures::{at, declaration, id, report};
    use crate::model::{compute_view, prepare_drill, Confirmations, DrillRequest, VenueState};
    use crate::protocol::{BusMessage, DeclarationState, Scope};

    fn snapshot(state: &VenueState) -> ConsoleSnapshot {
        let confirmations = Confirmations::of(state);
        build_snapshot(
            &id("rialto"),
            "Rialto",
            None,
            state,
            &confirmations,
            &Default::default(),
            at(5),
        )
    }

    fn drew(state: &mut VenueState) {
        let digest = compute_view(state).digest();
        state.apply(BusMessage::Display(report(
            "lobby-1",
            "signage",
            Some(&digest),
        )));
    }

    #[test]
    fn a_drill_fires_no_webhook_and_a_real_incident_after_it_does() {
        let mut state = VenueState::default();
        drew(&mut state);
        let request = DrillRequest {
            source: id("console"),
            actor: None,
            runs_for: time::Duration::minutes(2),
            full_screen: vec![id("lobby-1")],
        };
        let order = prepare_drill(&state, request, at(0), id("drill-1")).expect("a quiet venue");
        state.apply(BusMessage::Drill(order));
        drew(&mut state);
        let drilling = snapshot(&state);
        assert!(drilling.view.view.drill.is_some() && drilling.progress.done);
        let (events, announced) = occurred(&Announced::default(), &drilling);
        assert!(events.is_empty(), "a drill is no incident: {events:?}");
        let revision = state.next_revision().expect("room");
        state.apply(BusMessage::Declaration {
            scope: Scope::Venue,
            declaration: declaration("console", revision, DeclarationState::Active),
        });
        let (events, _) = occurred(&announced, &snapshot(&state));
        assert_eq!(events.first().map(|e| e.event), Some(HookEvent::Started));
    }
}
