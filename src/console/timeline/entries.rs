//! What an incident's timeline records, derived from the console's successive snapshots:
//! the declaration, each update, each screen's and counter's confirmation of each
//! revision (with the time since the console first saw that revision), link losses and
//! returns, the resolve, and the all clear — the moment every online screen shows it.
//! **Pure**: [`Observer::observe`] takes a snapshot and says what is new since the last
//! one; the worker appends that to the incident's file. A console that restarts mid
//! incident starts observing afresh: it records what it then sees, never an invented past.

use crate::console::snapshot::{ConsoleSnapshot, Phase};
use crate::model::{NodeKind, Standing, ViewMode};
use crate::protocol::Identifier;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// One line of an incident's timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TimelineEntry {
    /// Cash only with this incident id was first seen (`declared_at`: the declaration's
    /// own time, as its source's clock wrote it).
    Declared {
        revision: u64,
        source: Option<Identifier>,
        /// The declaration's own headline; `None` when screens show their bundled wording.
        headline: Option<String>,
        #[serde(with = "time::serde::rfc3339::option")]
        declared_at: Option<OffsetDateTime>,
    },
    /// A new revision of the same incident.
    Updated {
        revision: u64,
        headline: Option<String>,
    },
    /// One screen or counter drew the current revision.
    Confirmed {
        node: Identifier,
        name: Option<String>,
        kind: NodeKind,
        revision: u64,
        /// Milliseconds from the console seeing the revision to seeing this confirmation.
        after_ms: u64,
    },
    /// A node went offline (its last will, or the broker's).
    LinkLost {
        node: Identifier,
        name: Option<String>,
    },
    /// An offline node came back.
    LinkBack {
        node: Identifier,
        name: Option<String>,
    },
    /// Every online screen and counter showed the current revision.
    AllConfirmed { revision: u64, mode: String },
    /// Cash only ended for this incident; `by_expiry` when it ended itself at the expiry
    /// the manager set (the keeper's resolve, declared at that very moment).
    Resolved {
        revision: u64,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        by_expiry: bool,
    },
}

/// A timeline entry, the incident it belongs to, and when the console saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamped {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub incident: Identifier,
    #[serde(flatten)]
    pub entry: TimelineEntry,
}

/// What the observer remembers between snapshots.
#[derive(Default)]
pub struct Observer {
    /// The incident being followed: from its declaration until the all clear after its
    /// resolve (or the next incident).
    incident: Option<Identifier>,
    /// The revision being confirmed, and when the console first saw it.
    revision: Option<(u64, OffsetDateTime)>,
    resolved: bool,
    /// The expiry the incident's latest cash-only revision carried.
    expires_at: Option<OffsetDateTime>,
    confirmed: BTreeMap<Identifier, u64>,
    offline: BTreeMap<Identifier, bool>,
    all_confirmed: Option<u64>,
}

fn mode_name(mode: ViewMode) -> &'static str {
    match mode {
        ViewMode::Normal => "normal",
        ViewMode::CashOnly => "cash_only",
        ViewMode::AllClear => "all_clear",
    }
}

impl Observer {
    /// The entries `snapshot` adds to the followed incident's timeline.
    pub fn observe(&mut self, snapshot: &ConsoleSnapshot) -> Vec<Stamped> {
        // A blind console knows nothing new; what it saw last stays as it was.
        if snapshot.progress.phase == Phase::Blind {
            return Vec::new();
        }
        let at = snapshot.generated_at;
        let view = &snapshot.view.view;
        let mut entries = Vec::new();
        let cash_only = view.mode == ViewMode::CashOnly;
        match (&self.incident, &view.incident_id) {
            (current, Some(incident)) if cash_only && current.as_ref() != Some(incident) => {
                *self = Observer {
                    incident: Some(incident.clone()),
                    revision: Some((view.revision, at)),
                    offline: std::mem::take(&mut self.offline),
                    ..Observer::default()
                };
                entries.push(TimelineEntry::Declared {
                    revision: view.revision,
                    source: view.source.clone(),
                    headline: view.texts.headline.clone(),
                    declared_at: view.declared_at,
                });
            }
            (Some(_), _) if self.revision.map(|(r, _)| r) != Some(view.revision) => {
                self.revision = Some((view.revision, at));
                self.all_confirmed = None;
                if cash_only && !self.resolved {
                    entries.push(TimelineEntry::Updated {
                        revision: view.revision,
                        headline: view.texts.headline.clone(),
                    });
                } else if !self.resolved {
                    self.resolved = true;
                    entries.push(TimelineEntry::Resolved {
                        revision: view.revision,
                        by_expiry: self.expires_at.is_some() && view.declared_at == self.expires_at,
                    });
                }
            }
            _ => {}
        }
        if cash_only && self.incident == view.incident_id {
            self.expires_at = view.expires_at;
        }
        let Some(incident) = self.incident.clone() else {
            self.note_links(snapshot, &mut Vec::new());
            return Vec::new();
        };
        self.note_links(snapshot, &mut entries);
        if let Some((revision, seen_at)) = self.revision {
            for row in &snapshot.nodes {
                let counts = matches!(row.kind, NodeKind::Screen | NodeKind::Counter);
                if counts
                    && row.standing == Standing::Confirmed
                    && row.revision == Some(revision)
                    && self.confirmed.get(&row.node) != Some(&revision)
                {
                    self.confirmed.insert(row.node.clone(), revision);
                    let after = (at - seen_at).whole_milliseconds().max(0);
                    entries.push(TimelineEntry::Confirmed {
                        node: row.node.clone(),
                        name: row.name.clone(),
                        kind: row.kind,
                        revision,
                        after_ms: u64::try_from(after).unwrap_or(u64::MAX),
                    });
                }
            }
            let done = matches!(snapshot.progress.phase, Phase::Confirmed | Phase::Cleared);
            if done && self.all_confirmed != Some(revision) {
                self.all_confirmed = Some(revision);
                entries.push(TimelineEntry::AllConfirmed {
                    revision,
                    mode: mode_name(view.mode).to_owned(),
                });
            }
        }
        let stamped = entries
            .into_iter()
            .map(|entry| Stamped {
                at,
                incident: incident.clone(),
                entry,
            })
            .collect();
        // The all clear after the resolve closes the incident's timeline.
        if self.resolved && snapshot.progress.phase == Phase::Cleared {
            self.incident = None;
            self.revision = None;
        }
        stamped
    }

    /// Link losses and returns of screens and counters since the last snapshot.
    fn note_links(&mut self, snapshot: &ConsoleSnapshot, entries: &mut Vec<TimelineEntry>) {
        for row in &snapshot.nodes {
            if !matches!(row.kind, NodeKind::Screen | NodeKind::Counter) {
                continue;
            }
            let offline = row.standing == Standing::Offline;
            let before = self.offline.insert(row.node.clone(), offline);
            match (before, offline) {
                (Some(false), true) => entries.push(TimelineEntry::LinkLost {
                    node: row.node.clone(),
                    name: row.name.clone(),
                }),
                (Some(true), false) => entries.push(TimelineEntry::LinkBack {
                    node: row.node.clone(),
                    name: row.name.clone(),
                }),
                _ => {}
            }
        }
    }
}
