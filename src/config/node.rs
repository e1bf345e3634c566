//! `[node]`: who this node is (venue, id, name), what it does (roles) and where it keeps
//! its data.

use super::load::{Checks, Problems};
use crate::protocol::Identifier;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What a node does; any combination is allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A guest-facing screen showing the venue's payment status.
    Signage,
    /// A staff terminal that issues and redeems raincheck vouchers.
    Counter,
    /// The manager's web console.
    Console,
    /// Watches payments (POS reports, processor probes) and raises automatic incidents.
    Detector,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Signage => "signage",
            Role::Counter => "counter",
            Role::Console => "console",
            Role::Detector => "detector",
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSection {
    /// Venue id shared by every node of the venue (a-z, 0-9, '-', '_').
    pub venue: Identifier,
    /// This node's id, unique within the venue; it names the node's display topic.
    pub id: Identifier,
    /// Human name shown in the console ("Lobby screen 2"). Defaults to the id.
    #[serde(default)]
    pub name: Option<String>,
    /// The venue's name as guests know it, shown on the normal screen.
    #[serde(default = "default_venue_name")]
    pub venue_name: String,
    /// Roles this node plays: "signage", "counter", "console", "detector" (at least one).
    pub roles: Vec<Role>,
    /// Where this node keeps its data (vouchers, audit log). Must be writable.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
}

fn default_venue_name() -> String {
    "Welcome".to_owned()
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("/var/lib/raincheck")
}

impl NodeSection {
    pub(super) fn check(&self, _: &Checks, problems: &mut Problems) {
        if self.roles.is_empty() {
            problems.push(
                "node.roles",
                "no roles; list at least one of \"signage\", \"counter\", \"console\", \"detector\"",
            );
        }
        let mut roles = self.roles.clone();
        roles.sort();
        roles.dedup();
        if roles.len() != self.roles.len() {
            problems.push("node.roles", "a role is listed twice");
        }
    }
}
