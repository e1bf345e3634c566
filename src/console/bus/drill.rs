//! What the console's bus worker publishes for drills: a manager's start or end
//! (`model::prepare_drill` / `prepare_drill_end` from the retained set, on
//! `…/drill/console`, retained), and the end of any running drill when its time is up —
//! the console is the drill's keeper, as it is an expiring incident's, so every screen
//! leaves the drill at once. Split from `bus.rs`, which keeps the loop.

use super::{BusState, ConsoleBus};
use crate::model::{latest_drill, prepare_drill, prepare_drill_end, DrillRefusal, DrillRequest};
use crate::protocol::{encode, DrillOrder, DrillState, Identifier, Topic, TopicKind};
use rumqttc::QoS;
use time::OffsetDateTime;
use tokio::time::Instant;

/// What a manager asked of the drill.
#[derive(Debug)]
pub enum DrillCommand {
    Start(DrillRequest),
    End { actor: String },
}

/// Why a drill command was not published.
#[derive(Debug, thiserror::Error)]
pub enum DrillFailure {
    #[error("{0}")]
    Refused(DrillRefusal),
    #[error("the console has no link to the broker right now; try again")]
    NoLink,
    #[error("the console is still reading the venue's state; try again in a moment")]
    NotReady,
}

/// The moment the running drill's time is up, unless its end is already published.
pub(super) fn drill_due(state: &BusState, ended: Option<&Identifier>) -> Option<Instant> {
    latest_drill(&state.venue)
        .filter(|order| order.state == DrillState::Running)
        .filter(|order| Some(&order.drill_id) != ended)
        .map(|order| crate::deadline::instant_at(order.ends_at))
}

impl ConsoleBus {
    /// Publishes the manager's drill command; the order published, or why not.
    pub(super) fn publish_drill(
        &self,
        state: &BusState,
        command: DrillCommand,
    ) -> Result<DrillOrder, DrillFailure> {
        if !state.connected {
            return Err(DrillFailure::NoLink);
        }
        if !self.barrier.reached() {
            return Err(DrillFailure::NotReady);
        }
        let source = Identifier::parse(crate::console::CONSOLE_SOURCE)
            .expect("the console's source id is a valid identifier");
        let now = OffsetDateTime::now_utc();
        let order = match command {
            DrillCommand::Start(request) => prepare_drill(
                &state.venue,
                request,
                now,
                crate::model::drill_id(now, rand::random()),
            ),
            DrillCommand::End { actor } => prepare_drill_end(&state.venue, &source, Some(actor)),
        }
        .map_err(DrillFailure::Refused)?;
        let topic = Topic::venue(&self.venue, TopicKind::Drill, &order.source).to_string();
        self.client
            .try_publish(topic, QoS::AtLeastOnce, true, encode(&order))
            .map_err(|_| DrillFailure::NoLink)?;
        Ok(order)
    }

    /// Ends the running drill now that its time is up; the drill it ended, if it did.
    pub(super) fn end_drill_on_time(&self, state: &BusState) -> Option<Identifier> {
        let order = self
            .publish_drill(
                state,
                DrillCommand::End {
                    actor: "time".to_owned(),
                },
            )
            .inspect_err(|error| tracing::debug!("console: the drill's end waits: {error}"))
            .ok()?;
        tracing::info!(drill = %order.drill_id, "the drill's time is up; every screen returns");
        Some(order.drill_id)
    }
}
