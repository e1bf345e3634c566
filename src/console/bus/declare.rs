//! What the console's bus worker publishes for managers: their declarations, one at a
//! time (made by `model::prepare_declaration` from the retained set, answered only once
//! the broker echoes them back, with the precedence note), and node retirements. Split
//! from `bus.rs`, which keeps the loop and what the bus tells the console.

use super::{BusState, ConsoleBus, DeclareFailure, DeclareOutcome, PendingEcho, ECHO_TIMEOUT};
use crate::model::{compute_view, prepare_declaration, DeclareRequest, VenueState};
use crate::protocol::{encode, Identifier, Topic, TopicKind};
use rumqttc::QoS;
use time::OffsetDateTime;
use tokio::sync::oneshot;
use tokio::time::Instant;

/// Tells the manager how their declaration ended, now that the broker has it.
pub(super) fn answer_echo(state: &BusState, echo: PendingEcho) {
    let shown = compute_view(&state.venue);
    let mut note = echo.adopted.map(|id| {
        format!("incident {id} was already active; it is now declared by you with these texts")
    });
    if let Some(precedence) = crate::model::precedence_note(&shown, &echo.declaration) {
        note = Some(precedence);
    }
    let _ = echo.reply.send(Ok(DeclareOutcome {
        declaration: echo.declaration,
        shown_revision: shown.revision,
        note,
    }));
}

impl ConsoleBus {
    /// Publishes the next declaration, or answers at once when it cannot be made.
    pub(super) fn publish_declaration(
        &self,
        state: &BusState,
        request: DeclareRequest,
        reply: oneshot::Sender<Result<DeclareOutcome, DeclareFailure>>,
    ) -> Option<PendingEcho> {
        if !state.connected {
            let _ = reply.send(Err(DeclareFailure::NoLink));
            return None;
        }
        if !self.barrier.reached() {
            let _ = reply.send(Err(DeclareFailure::NotReady));
            return None;
        }
        let now = OffsetDateTime::now_utc();
        let prepared = match prepare_declaration(
            &state.venue,
            request,
            Some(&self.templates),
            now,
            crate::model::incident_id(now, rand::random()),
        ) {
            Ok(prepared) => prepared,
            Err(refusal) => {
                let _ = reply.send(Err(DeclareFailure::Refused(refusal)));
                return None;
            }
        };
        let declaration = prepared.declaration;
        let topic = Topic::venue(&self.venue, TopicKind::Incident, &declaration.source).to_string();
        let payload = encode(&declaration);
        if self
            .client
            .try_publish(topic.clone(), QoS::AtLeastOnce, true, payload.clone())
            .is_err()
        {
            let _ = reply.send(Err(DeclareFailure::NoLink));
            return None;
        }
        Some(PendingEcho {
            topic,
            payload,
            declaration,
            adopted: prepared.adopted,
            deadline: Instant::now() + ECHO_TIMEOUT,
            reply,
        })
    }
}

impl ConsoleBus {
    /// Publishes `node`'s retirement (retained) if the rule allows it; the snapshot drops
    /// the node when the broker echoes it back.
    pub(super) fn publish_retirement(
        &self,
        venue: &VenueState,
        node: &Identifier,
        by: &str,
    ) -> Result<(), String> {
        let retirement =
            crate::model::retirement::retire(venue, node, by, OffsetDateTime::now_utc())
                .map_err(|refusal| refusal.to_string())?;
        let topic = Topic::venue(&self.venue, TopicKind::Retired, node).to_string();
        self.client
            .try_publish(topic, QoS::AtLeastOnce, true, encode(&retirement))
            .map_err(|_| "the console has no link to the broker right now; try again".to_owned())
    }
}
