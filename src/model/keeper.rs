//! The keeper's rule: one truth for every screen, whenever it starts (invariant 1 for late
//! joiners). Nodes keep the *highest* revision per topic; the broker keeps the *last
//! written* retained message. The two drift apart when an older revision is written
//! after a newer one, when a retained message is emptied (`mosquitto_pub -r -n`), when two
//! publishers tie on one topic, or when the broker loses its retained set — and then a
//! screen started later reads another view than the running ones, for good. A keeper (a
//! long-running declaring node: the console, the detector, the single box's own node)
//! holds the winner of every venue declaration and payment topic and, once it has read
//! the broker's retained set, names each topic whose broker copy is not that winner, so
//! the worker can publish the winner again. It also ends incidents at their expiry
//! (`model::expiry`) when the worker tells it the time. Pure: no clock, no I/O.

use super::expiry;
use super::venue_state::{ApplyOutcome, VenueState};
use crate::protocol::{encode, BusMessage, Identifier, Scope, Topic, TopicKind};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// What a keeper holds and what it last heard from the broker, topic by topic.
#[derive(Clone, Debug, Default)]
pub struct Keeper {
    state: VenueState,
    /// The broker's copy per topic since the current session began: the message, or
    /// `None` for an empty or refused payload (nothing a late joiner could use).
    broker: BTreeMap<String, Option<BusMessage>>,
}

impl Keeper {
    /// A message (or, with `None`, an empty or refused payload) the broker delivered on
    /// `topic`; true when the keeper's winners changed (they are then worth saving).
    pub fn heard(&mut self, topic: &str, message: Option<BusMessage>) -> bool {
        let changed = match &message {
            Some(message @ (BusMessage::Declaration { .. } | BusMessage::Payment(_))) => {
                self.state.apply(message.clone()) == ApplyOutcome::Changed
            }
            _ => false,
        };
        self.broker.insert(topic.to_owned(), message);
        changed
    }

    /// A winner restored from the keeper's own disk: held, not heard from the broker.
    pub fn restore(&mut self, message: BusMessage) {
        self.state.apply(message);
    }

    /// Ends every incident whose expiry has come by `now` (the keeper's clock) with the
    /// resolve `model::expiry` builds; true when the winners changed. The repairs then
    /// publish those resolves, as they publish any winner the broker lacks.
    pub fn expire(&mut self, now: OffsetDateTime) -> bool {
        let mut changed = false;
        for declaration in expiry::due_resolves(&self.state, now, time::Duration::ZERO) {
            let message = BusMessage::Declaration {
                scope: Scope::Venue,
                declaration,
            };
            changed |= self.state.apply(message) == ApplyOutcome::Changed;
        }
        changed
    }

    /// When [`Keeper::expire`] will next have something to do, strictly after `now`.
    pub fn next_expiry(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        expiry::next_due(&self.state, now, time::Duration::ZERO)
    }

    /// A new session: what the broker held before tells nothing about what it holds now.
    pub fn forget_broker(&mut self) {
        self.broker.clear();
    }

    /// Every winner as the retained message of its topic, in topic order.
    pub fn kept(&self, venue: &Identifier) -> Vec<(String, BusMessage)> {
        let declarations = self
            .state
            .declarations
            .iter()
            .filter(|((scope, _), _)| *scope == Scope::Venue)
            .map(|((scope, source), declaration)| {
                (
                    Topic::venue(venue, TopicKind::Incident, source).to_string(),
                    BusMessage::Declaration {
                        scope: scope.clone(),
                        declaration: declaration.clone(),
                    },
                )
            });
        let payments = self.state.payments.iter().map(|(source, health)| {
            (
                Topic::venue(venue, TopicKind::Payments, source).to_string(),
                BusMessage::Payment(health.clone()),
            )
        });
        let mut kept: Vec<_> = declarations.chain(payments).collect();
        kept.sort_by(|a, b| a.0.cmp(&b.0));
        kept
    }

    /// The topics whose broker copy is not the winner, with the payload to publish
    /// (retained) on each. Meaningful once the broker's retained set has been read.
    pub fn repairs(&self, venue: &Identifier) -> Vec<(String, Vec<u8>)> {
        self.kept(venue)
            .into_iter()
            .filter(|(topic, winner)| {
                self.broker.get(topic).and_then(Option::as_ref) != Some(winner)
            })
            .map(|(topic, winner)| (topic, payload_of(&winner)))
            .collect()
    }
}

/// The retained payload that carries `message`.
pub fn payload_of(message: &BusMessage) -> Vec<u8> {
    match message {
        BusMessage::Declaration { declaration, .. } => encode(declaration),
        BusMessage::Payment(health) => encode(health),
        BusMessage::Display(report) => encode(report),
        BusMessage::Retired(retirement) => encode(retirement),
        BusMessage::Drill(order) => encode(order),
        BusMessage::DisplayRemoved(_) | BusMessage::RetirementWithdrawn(_) => Vec::new(),
    }
}
