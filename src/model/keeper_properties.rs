//! The guarantee the keeper gives, as a property: whatever publishers do to the broker's
//! retained set — an older revision written after a newer one, a retained message emptied,
//! two publishers tying on one topic, the broker losing everything — once a keeper that
//! heard it all has repaired the broker, a node that starts then computes the same view as
//! the nodes that ran throughout.

use super::keeper::{payload_of, Keeper};
use super::properties::{declaration, payment};
use super::*;
use crate::protocol::{BusMessage, Identifier, Scope, Topic, TopicKind};
use proptest::prelude::*;
use std::collections::BTreeMap;

#[derive(Clone, Debug)]
enum Step {
    Publish(BusMessage),
    /// `mosquitto_pub -r -n` on the topic of this message.
    Empty(BusMessage),
    /// The broker restarts without its retained set; every client reconnects.
    BrokerLoss,
    /// The keeper publishes what it finds behind.
    Repair,
}

fn venue_message() -> impl Strategy<Value = BusMessage> {
    prop_oneof![3 => declaration(), 1 => payment()].prop_filter("venue topics", |message| {
        !matches!(
            message,
            BusMessage::Declaration {
                scope: Scope::Chain,
                ..
            }
        )
    })
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => venue_message().prop_map(Step::Publish),
        1 => venue_message().prop_map(Step::Empty),
        1 => Just(Step::BrokerLoss),
        2 => Just(Step::Repair),
    ]
}

fn topic_of(venue: &Identifier, message: &BusMessage) -> String {
    match message {
        BusMessage::Declaration { declaration, .. } => {
            Topic::venue(venue, TopicKind::Incident, &declaration.source).to_string()
        }
        BusMessage::Payment(health) => {
            Topic::venue(venue, TopicKind::Payments, &health.source).to_string()
        }
        other => unreachable!("only venue declarations and payments are generated: {other:?}"),
    }
}

/// A broker keeping the last written retained message per topic, and what it delivers.
#[derive(Default)]
struct Broker {
    retained: BTreeMap<String, BusMessage>,
}

struct Venue {
    id: Identifier,
    broker: Broker,
    running: VenueState,
    keeper: Keeper,
}

impl Venue {
    fn publish(&mut self, topic: String, message: Option<BusMessage>) {
        match &message {
            Some(message) => {
                self.broker.retained.insert(topic.clone(), message.clone());
                self.running.apply(message.clone());
            }
            None => {
                self.broker.retained.remove(&topic);
            }
        }
        self.keeper.heard(&topic, message);
    }

    fn reconnect_keeper(&mut self) {
        self.keeper.forget_broker();
        for (topic, message) in self.broker.retained.clone() {
            self.keeper.heard(&topic, Some(message));
        }
    }

    fn repair(&mut self) {
        for (topic, payload) in self.keeper.repairs(&self.id) {
            let message = self
                .keeper
                .kept(&self.id)
                .into_iter()
                .find(|(kept, _)| *kept == topic)
                .map(|(_, message)| message)
                .expect("a repair is of a kept topic");
            assert_eq!(payload, payload_of(&message));
            self.publish(topic, Some(message));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn after_a_repair_a_late_joiner_sees_what_running_nodes_see(
        steps in proptest::collection::vec(step(), 1..40),
    ) {
        let id = Identifier::parse("v").unwrap();
        let mut venue = Venue {
            id: id.clone(),
            broker: Broker::default(),
            running: VenueState::default(),
            keeper: Keeper::default(),
        };
        for step in steps {
            match step {
                Step::Publish(message) => venue.publish(topic_of(&id, &message), Some(message)),
                Step::Empty(message) => venue.publish(topic_of(&id, &message), None),
                Step::BrokerLoss => {
                    venue.broker.retained.clear();
                    venue.reconnect_keeper();
                }
                Step::Repair => venue.repair(),
            }
        }
        venue.repair();
        prop_assert!(venue.keeper.repairs(&id).is_empty(), "one pass repairs everything");
        let mut late = VenueState::default();
        for message in venue.broker.retained.values() {
            late.apply(message.clone());
        }
        prop_assert_eq!(compute_view(&late), compute_view(&venue.running));
    }
}
