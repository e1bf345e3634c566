//! Topic names of protocol v1 and their parsing. Each publisher owns exactly one topic
//! per kind, so retained messages never overwrite somebody else's:
//! `raincheck/v1/{venue}/incident/{source}`, `…/payments/{source}`, `…/displays/{node}`,
//! and `raincheck/v1/_chain/incident/{source}` for head-office declarations.

use super::identifiers::Identifier;
use super::TOPIC_ROOT;
use std::fmt;

/// The segment that replaces the venue id for chain-wide (head office) topics.
pub const CHAIN_SEGMENT: &str = "_chain";

/// The kind segment of a venue bridge's state topic, `raincheck/v1/{venue}/bridge/{remote}`:
/// Mosquitto's bridge notification ("1" up, "0" down by last will), retained on both ends.
pub const BRIDGE_SEGMENT: &str = "bridge";

/// Whether a declaration concerns one venue or the whole chain.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Venue,
    Chain,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TopicKind {
    Incident,
    Payments,
    Displays,
    /// Retained PNG thumbnails of what screens show (binary payloads).
    Thumbnails,
    Vouchers,
    /// Retained: how far a counter's voucher store has caught up with each origin.
    VoucherMarks,
    /// Retained: a node a manager or technician retired (`raincheck node forget`).
    Retired,
    /// Retained: a manager's staff drill (`protocol::drills`).
    Drill,
}

impl TopicKind {
    fn segment(self) -> &'static str {
        match self {
            TopicKind::Incident => "incident",
            TopicKind::Payments => "payments",
            TopicKind::Displays => "displays",
            TopicKind::Thumbnails => "thumbnails",
            TopicKind::Vouchers => "vouchers",
            TopicKind::VoucherMarks => "voucher-marks",
            TopicKind::Retired => "retired",
            TopicKind::Drill => "drill",
        }
    }

    fn from_segment(segment: &str) -> Option<Self> {
        Some(match segment {
            "incident" => TopicKind::Incident,
            "payments" => TopicKind::Payments,
            "displays" => TopicKind::Displays,
            "thumbnails" => TopicKind::Thumbnails,
            "vouchers" => TopicKind::Vouchers,
            "voucher-marks" => TopicKind::VoucherMarks,
            "retired" => TopicKind::Retired,
            "drill" => TopicKind::Drill,
            _ => return None,
        })
    }
}

/// A parsed topic: who it belongs to and what it carries.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Topic {
    pub scope: Scope,
    /// The venue, or `None` for chain topics.
    pub venue: Option<Identifier>,
    pub kind: TopicKind,
    /// The source (incident, payments) or node (displays, vouchers) owning the topic.
    pub owner: Identifier,
}

impl Topic {
    pub fn venue(venue: &Identifier, kind: TopicKind, owner: &Identifier) -> Self {
        Self {
            scope: Scope::Venue,
            venue: Some(venue.clone()),
            kind,
            owner: owner.clone(),
        }
    }

    pub fn chain_incident(owner: &Identifier) -> Self {
        Self {
            scope: Scope::Chain,
            venue: None,
            kind: TopicKind::Incident,
            owner: owner.clone(),
        }
    }

    /// Parses a topic name; `None` when it is not a v1 topic this node understands.
    pub fn parse(name: &str) -> Option<Self> {
        let rest = name.strip_prefix(TOPIC_ROOT)?.strip_prefix('/')?;
        let mut parts = rest.split('/');
        let (venue_part, kind_part, owner_part) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let kind = TopicKind::from_segment(kind_part)?;
        let owner = Identifier::parse(owner_part).ok()?;
        if venue_part == CHAIN_SEGMENT {
            return (kind == TopicKind::Incident).then(|| Topic::chain_incident(&owner));
        }
        let venue = Identifier::parse(venue_part).ok()?;
        Some(Topic::venue(&venue, kind, &owner))
    }

    /// What a display node subscribes to: everything its view depends on, and nothing
    /// else. In particular not the other nodes' reports: with N screens that would be N²
    /// deliveries for every switch.
    pub fn view_filters(venue: &Identifier) -> Vec<String> {
        vec![
            format!("{TOPIC_ROOT}/{venue}/incident/+"),
            format!("{TOPIC_ROOT}/{venue}/payments/+"),
            format!("{TOPIC_ROOT}/{venue}/drill/+"),
            format!("{TOPIC_ROOT}/{CHAIN_SEGMENT}/incident/+"),
        ]
    }

    /// What a keeper holds (model::keeper): the venue's declarations and payment health.
    pub fn kept_filters(venue: &Identifier) -> Vec<String> {
        vec![
            format!("{TOPIC_ROOT}/{venue}/incident/+"),
            format!("{TOPIC_ROOT}/{venue}/payments/+"),
        ]
    }

    /// What a counter's voucher session subscribes to: every counter's events and marks.
    pub fn voucher_filters(venue: &Identifier) -> Vec<String> {
        vec![
            format!("{TOPIC_ROOT}/{venue}/vouchers/+"),
            format!("{TOPIC_ROOT}/{venue}/voucher-marks/+"),
        ]
    }

    /// A client's private sync-barrier topic (docs/PROTOCOL.md, "Sync barrier"): whatever
    /// the client publishes there comes back after every retained message it subscribed to.
    pub fn sync_barrier(venue: &Identifier, client: &str) -> String {
        format!("{TOPIC_ROOT}/{venue}/sync/{client}")
    }

    /// What head office reads on its own broker: the chain's declarations, every venue's
    /// display reports that came up its bridge, and every bridge's state.
    pub fn chain_status_filters() -> Vec<String> {
        vec![
            format!("{TOPIC_ROOT}/{CHAIN_SEGMENT}/incident/+"),
            format!("{TOPIC_ROOT}/+/displays/+"),
            format!("{TOPIC_ROOT}/+/retired/+"),
            format!("{TOPIC_ROOT}/+/{BRIDGE_SEGMENT}/+"),
        ]
    }

    /// Head office's sync-barrier topic: under `_chain/`, which no bridge carries.
    pub fn chain_sync_barrier(client: &str) -> String {
        format!("{TOPIC_ROOT}/{CHAIN_SEGMENT}/sync/{client}")
    }

    /// The venue whose bridge state `name` is, if it is a bridge state topic.
    pub fn bridge_state_venue(name: &str) -> Option<Identifier> {
        let rest = name.strip_prefix(TOPIC_ROOT)?.strip_prefix('/')?;
        let mut parts = rest.split('/');
        let (venue, kind, remote) = (parts.next()?, parts.next()?, parts.next()?);
        if kind != BRIDGE_SEGMENT || parts.next().is_some() {
            return None;
        }
        Identifier::parse(remote).ok()?;
        Identifier::parse(venue).ok()
    }

    /// Every node's thumbnail (the console only: PNGs are large).
    pub fn thumbnail_filter(venue: &Identifier) -> String {
        format!("{TOPIC_ROOT}/{venue}/thumbnails/+")
    }

    /// What an observer (console, CLI, status) subscribes to: the view's inputs plus
    /// every node's display report.
    pub fn status_filters(venue: &Identifier) -> Vec<String> {
        let mut filters = Self::view_filters(venue);
        filters.push(format!("{TOPIC_ROOT}/{venue}/displays/+"));
        filters.push(format!("{TOPIC_ROOT}/{venue}/retired/+"));
        filters
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let venue = match &self.venue {
            Some(venue) => venue.as_str(),
            None => CHAIN_SEGMENT,
        };
        write!(
            f,
            "{TOPIC_ROOT}/{venue}/{}/{}",
            self.kind.segment(),
            self.owner
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> Identifier {
        Identifier::parse(text).unwrap()
    }

    #[test]
    fn round_trips_every_kind() {
        for kind in [
            TopicKind::Incident,
            TopicKind::Payments,
            TopicKind::Displays,
            TopicKind::Thumbnails,
            TopicKind::Vouchers,
        ] {
            let topic = Topic::venue(&id("rialto"), kind, &id("lobby-1"));
            assert_eq!(Topic::parse(&topic.to_string()), Some(topic));
        }
        let chain = Topic::chain_incident(&id("hq"));
        assert_eq!(chain.to_string(), "raincheck/v1/_chain/incident/hq");
        assert_eq!(Topic::parse(&chain.to_string()), Some(chain));
    }

    #[test]
    fn bridge_state_topics_name_their_venue() {
        assert_eq!(
            Topic::bridge_state_venue("raincheck/v1/rialto/bridge/hq"),
            Some(id("rialto"))
        );
        for other in [
            "raincheck/v1/rialto/displays/hq",
            "raincheck/v1/_chain/bridge/hq",
            "raincheck/v1/rialto/bridge",
            "raincheck/v1/rialto/bridge/hq/x",
            "$SYS/broker/connection/rialto/state",
        ] {
            assert_eq!(Topic::bridge_state_venue(other), None, "{other}");
        }
    }

    #[test]
    fn refuses_topics_that_do_not_parse() {
        for bad in [
            "raincheck/v2/rialto/incident/cli",
            "raincheck/v1/rialto/incident",
            "raincheck/v1/rialto/incident/cli/extra",
            "raincheck/v1/rialto/weather/cli",
            "raincheck/v1/Rialto/incident/cli",
            "raincheck/v1/_chain/displays/x",
            "raincheck/v1/rialto/incident/+",
            "",
        ] {
            assert_eq!(Topic::parse(bad), None, "{bad:?}");
        }
    }
}
