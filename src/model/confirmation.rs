//! Who shows the current view (invariant 3): each node's latest display report compared
//! with the digest of the view computed from the same retained set. Offline means the
//! broker published the node's last will, or the node said so itself on shutdown.

use super::venue_state::VenueState;
use crate::protocol::{DisplayStatus, Identifier};
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeStanding {
    Confirmed,
    /// Online but showing another view (it has not caught up yet, or it is stuck).
    Lagging,
    Offline,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodeConfirmation {
    pub node: Identifier,
    pub name: Option<String>,
    pub standing: NodeStanding,
    pub revision: Option<u64>,
    pub digest: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConfirmationSummary {
    pub expected_digest: String,
    pub nodes: Vec<NodeConfirmation>,
}

impl ConfirmationSummary {
    pub fn compute(state: &VenueState, expected_digest: &str) -> Self {
        let nodes = state
            .displays
            .values()
            .map(|report| {
                let standing = match report.status {
                    DisplayStatus::Offline => NodeStanding::Offline,
                    DisplayStatus::Online if report.digest.as_deref() == Some(expected_digest) => {
                        NodeStanding::Confirmed
                    }
                    DisplayStatus::Online => NodeStanding::Lagging,
                };
                NodeConfirmation {
                    node: report.node.clone(),
                    name: report.name.clone(),
                    standing,
                    revision: report.revision,
                    digest: report.digest.clone(),
                }
            })
            .collect();
        Self {
            expected_digest: expected_digest.to_owned(),
            nodes,
        }
    }

    pub fn count(&self, standing: NodeStanding) -> usize {
        self.nodes.iter().filter(|n| n.standing == standing).count()
    }

    /// True when every node that is online shows the expected view.
    pub fn all_online_confirmed(&self) -> bool {
        self.count(NodeStanding::Lagging) == 0
    }

    /// One line for people: "11 of 12 nodes confirmed — lobby-2 offline".
    pub fn headline(&self) -> String {
        let total = self.nodes.len();
        let confirmed = self.count(NodeStanding::Confirmed);
        let mut line = format!("{confirmed} of {total} nodes confirmed");
        let others: Vec<String> = self
            .nodes
            .iter()
            .filter(|n| n.standing != NodeStanding::Confirmed)
            .take(5)
            .map(|n| {
                let label = n
                    .name
                    .as_deref()
                    .map(crate::text::one_line)
                    .unwrap_or_else(|| n.node.to_string());
                let what = if n.standing == NodeStanding::Offline {
                    "offline"
                } else {
                    "lagging"
                };
                format!("{label} {what}")
            })
            .collect();
        if !others.is_empty() {
            line.push_str(" — ");
            line.push_str(&others.join(", "));
        }
        line
    }
}
