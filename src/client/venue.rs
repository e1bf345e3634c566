//! A short-lived session on a venue's broker: connect, read the venue's whole retained
//! set to the sync barrier, then publish and watch. The CLI's commands, the benchmarks'
//! observers and the tests all open one with [`BusSession::open`] from a plain
//! [`BusTarget`].

use super::link::{Link, LinkEvent};
use super::target::BusTarget;
use crate::model::{compute_view, Confirmations, VenueState, VenueView};
use crate::protocol::{decode_message, BusMessage, Identifier, RejectReason, Topic};
use anyhow::{anyhow, Result};
use rumqttc::QoS;
use std::time::Duration;
use tokio::time::Instant;

pub struct BusSession {
    pub target: BusTarget,
    pub state: VenueState,
    /// The message most recently applied, for callers that follow single messages
    /// (the switch benchmark).
    pub last_applied: Option<BusMessage>,
    confirmations: Confirmations,
    link: Link,
}

/// What one received event changed, for `watch`.
pub enum SessionChange {
    Status,
    LinkLost(String),
    LinkBack,
}

/// The parts of a session a received message changes, apart from its link.
struct Known<'a> {
    venue: &'a Identifier,
    state: &'a mut VenueState,
    confirmations: &'a mut Confirmations,
    last_applied: &'a mut Option<BusMessage>,
}

impl Known<'_> {
    /// Decodes one publish for the venue and takes it in; the reason it was ignored
    /// otherwise (logged at debug).
    fn apply(&mut self, topic: &str, payload: &[u8]) -> Result<(), RejectReason> {
        match decode_message(topic, payload, self.venue) {
            Ok(message) => {
                self.state.apply(message.clone());
                self.confirmations.applied(self.state, &message);
                *self.last_applied = Some(message);
                Ok(())
            }
            Err(reason) => {
                tracing::debug!(%topic, "ignored: {reason}");
                Err(reason)
            }
        }
    }
}

impl BusSession {
    /// Connects and reads the retained set; fails with one clear line if the broker
    /// cannot be reached within the target's timeout.
    pub async fn open(target: BusTarget, label: &str) -> Result<Self> {
        let link = Link::open(
            &target.broker,
            label,
            Topic::status_filters(&target.venue),
            |client_id| Topic::sync_barrier(&target.venue, client_id),
        )
        .await?;
        let mut session = Self {
            target,
            state: VenueState::default(),
            last_applied: None,
            confirmations: Confirmations::of(&VenueState::default()),
            link,
        };
        session.sync().await?;
        Ok(session)
    }

    /// Splits the session into its link and what messages change.
    fn parts(&mut self) -> (&mut Link, Known<'_>) {
        let Self {
            target,
            state,
            last_applied,
            confirmations,
            link,
        } = self;
        let known = Known {
            venue: &target.venue,
            state,
            confirmations,
            last_applied,
        };
        (link, known)
    }

    /// Publishes to the barrier topic and applies everything up to its echo.
    pub async fn sync(&mut self) -> Result<()> {
        let (link, mut known) = self.parts();
        link.sync(|topic, payload| {
            let _ = known.apply(topic, payload);
        })
        .await
    }

    pub fn view(&self) -> VenueView {
        compute_view(&self.state)
    }

    /// One more than every revision the session has seen, or a clear refusal when a
    /// faulty publisher has used up the revision range.
    pub fn next_revision(&self) -> Result<u64> {
        self.state.next_revision().map_err(|holder| {
            anyhow!(
                "{}",
                crate::model::DeclareRefusal::RevisionsExhausted { holder }
            )
        })
    }

    /// Who shows the current view, kept up to date as messages arrive.
    pub fn confirmations(&self) -> &Confirmations {
        &self.confirmations
    }

    /// "11 of 12 screens confirmed — Lobby 2 offline", for people.
    pub fn headline(&self) -> String {
        let cleared = self.view().mode == crate::model::ViewMode::AllClear;
        self.confirmations.headline(&self.state, cleared, |_| None)
    }

    /// Queues a retained status message without waiting for the broker.
    pub fn publish_retained_nowait(&self, topic: &str, payload: Vec<u8>) -> Result<()> {
        self.link
            .try_publish(topic, QoS::AtLeastOnce, true, payload)
    }

    /// Queues a non-retained message without waiting (tests and floods).
    pub fn publish_nowait(&self, topic: &str, payload: Vec<u8>) -> Result<()> {
        self.link
            .try_publish(topic, QoS::AtMostOnce, false, payload)
    }

    /// Publishes a retained status message and waits until the broker echoes it back,
    /// which proves it was accepted and retained.
    pub async fn publish_retained(&mut self, topic: &str, payload: Vec<u8>) -> Result<()> {
        let (link, mut known) = self.parts();
        link.publish_retained(topic, payload, |got, body| {
            known.apply(got, body).map_err(|reason| reason.to_string())
        })
        .await
    }

    /// Waits for the next event that changes something; `None` when `until` passes
    /// (never, for `None`).
    pub async fn next_change(
        &mut self,
        until: impl Into<Option<Instant>>,
    ) -> Option<SessionChange> {
        let until = until.into();
        loop {
            let (link, mut known) = self.parts();
            match link.next_event(until).await? {
                LinkEvent::Message { topic, payload } => {
                    if known.apply(&topic, &payload).is_ok() {
                        return Some(SessionChange::Status);
                    }
                }
                LinkEvent::Lost(reason) => return Some(SessionChange::LinkLost(reason)),
                LinkEvent::Back => return Some(SessionChange::LinkBack),
            }
        }
    }

    /// Waits until at least one screen or counter has drawn the current view and every
    /// other online one that draws has too, or `within` passes; true when they do. A venue
    /// where nothing has drawn it is never "confirmed": not one whose screens are all
    /// headless or offline, nor one where no node ever reported (a mistyped venue id).
    pub async fn wait_confirmed(&mut self, within: Duration) -> bool {
        let until = Instant::now() + within;
        loop {
            if self.confirmations.all_confirmed() {
                return true;
            }
            if self.next_change(until).await.is_none() {
                return false;
            }
        }
    }

    pub async fn close(self) {
        self.link.close().await;
    }
}
