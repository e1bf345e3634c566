//! What head office knows of the chain, from its own broker alone: its chain-wide
//! declarations, and each venue's display reports that came up that venue's bridge (the
//! venues' own declarations and payment reports stay in the venue; see docs/CHAIN.md).
//! From that, HQ can say which screens show its declaration, but not why a screen shows
//! something else: a venue manager's own declaration takes precedence there (model::view),
//! and HQ cannot see it. A venue whose bridge is down (Mosquitto's retained notification)
//! is counted apart: its reports at HQ are from before the cut, and its screens will get
//! the chain's retained declaration when the bridge returns.

use super::confirmation::{Confirmations, Standing, Tally};
use super::venue_state::{ApplyOutcome, VenueState};
use super::view::{compute_view, VenueView};
use crate::protocol::{BusMessage, Identifier, Scope};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChainState {
    /// Chain-scope declarations only, merged per source like a venue's.
    pub declarations: VenueState,
    /// Per venue, the display reports that came up its bridge.
    pub venues: BTreeMap<Identifier, VenueState>,
    /// Per venue, whether its bridge to this broker is up, once the bridge has said so.
    pub bridges: BTreeMap<Identifier, bool>,
}

impl ChainState {
    /// Applies one decoded message; `venue` is the topic's venue (`None` for chain
    /// topics). HQ keeps only what it subscribes to: chain declarations and display
    /// reports; anything else changes nothing.
    pub fn apply(&mut self, venue: Option<&Identifier>, message: BusMessage) -> ApplyOutcome {
        match (venue, message) {
            (
                None,
                message @ BusMessage::Declaration {
                    scope: Scope::Chain,
                    ..
                },
            ) => self.declarations.apply(message),
            (
                Some(venue),
                message @ (BusMessage::Display(_)
                | BusMessage::DisplayRemoved(_)
                | BusMessage::Retired(_)
                | BusMessage::RetirementWithdrawn(_)),
            ) => self.venues.entry(venue.clone()).or_default().apply(message),
            _ => ApplyOutcome::Unchanged,
        }
    }

    /// Records a venue bridge's state notification; true when it changed.
    pub fn set_bridge(&mut self, venue: &Identifier, up: bool) -> bool {
        self.bridges.insert(venue.clone(), up) != Some(up)
    }

    /// What a venue shows when it has no declaration of its own: the chain view. Display
    /// reports never change a view, so this is the same for every venue.
    pub fn view(&self) -> VenueView {
        compute_view(&self.declarations)
    }

    /// The highest revision HQ has seen: its declarations and every venue's screens. A
    /// chain declaration one above it orders after everything the venues show, so it
    /// cannot look stale at a venue (and a chain resolve is the newest resolve there).
    pub fn max_revision(&self) -> u64 {
        self.venues
            .values()
            .map(VenueState::max_revision)
            .chain([self.declarations.max_revision()])
            .max()
            .unwrap_or(0)
    }

    /// One above [`Self::max_revision`], or the topic at the top when believable
    /// revisions have used up the range (no honest chain gets there).
    pub fn next_revision(&self) -> Result<u64, String> {
        let top = self.max_revision();
        if top < crate::protocol::MAX_REVISION {
            return Ok(top + 1);
        }
        self.declarations.next_revision()?;
        let holder = self
            .venues
            .iter()
            .find_map(|(venue, state)| {
                state
                    .next_revision()
                    .err()
                    .map(|holder| format!("{venue}/{holder}"))
            })
            .unwrap_or_default();
        Err(holder)
    }

    /// Which screens of which venues show the chain view now.
    pub fn confirmations(&self) -> ChainConfirmation {
        let expected_digest = self.view().digest();
        let venues = self
            .venues
            .iter()
            .filter(|(_, state)| !state.displays.is_empty())
            .map(|(venue, state)| VenueConfirmation {
                venue: venue.clone(),
                bridge_up: self.bridges.get(venue).copied(),
                screens: Confirmations::against(state, expected_digest.clone()).shown_to_people(),
            })
            .collect();
        ChainConfirmation {
            expected_digest,
            venues,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VenueConfirmation {
    pub venue: Identifier,
    /// `None` until the venue's bridge has published its state here.
    pub bridge_up: Option<bool>,
    /// Its screens and counters, by the one confirmation rule.
    pub screens: Tally,
}

impl VenueConfirmation {
    /// Its screens cannot hear HQ now: the bridge said it went down.
    pub fn cut_off(&self) -> bool {
        self.bridge_up == Some(false)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainConfirmation {
    pub expected_digest: String,
    pub venues: Vec<VenueConfirmation>,
}

impl ChainConfirmation {
    fn reachable(&self) -> impl Iterator<Item = &VenueConfirmation> {
        self.venues.iter().filter(|v| !v.cut_off())
    }

    /// Screens of reachable venues with this standing.
    pub fn count(&self, standing: Standing) -> usize {
        self.reachable()
            .map(|v| match standing {
                Standing::Confirmed => v.screens.confirmed,
                Standing::Lagging => v.screens.lagging,
                Standing::Syncing => v.screens.syncing,
                Standing::Headless => v.screens.headless,
                Standing::Offline => v.screens.offline,
            })
            .sum()
    }

    /// Screens behind a bridge that is down.
    pub fn cut_off_screens(&self) -> usize {
        self.venues
            .iter()
            .filter(|v| v.cut_off())
            .map(|v| v.screens.total)
            .sum()
    }

    pub fn screens(&self) -> usize {
        self.venues.iter().map(|v| v.screens.total).sum()
    }

    /// Every online screen of every reachable venue shows the chain view.
    pub fn all_reachable_confirmed(&self) -> bool {
        self.count(Standing::Lagging) + self.count(Standing::Syncing) == 0
    }

    /// For people: "10 of 12 screens in 2 venues show it; rialto: 2 show something else
    /// …". HQ cannot tell a screen that has not caught up from one whose venue manager's
    /// own declaration takes precedence, so the line says both.
    pub fn headline(&self) -> String {
        let venues = self.venues.len();
        let mut line = format!(
            "{} of {} screens in {venues} venue{} show it",
            self.count(Standing::Confirmed),
            self.screens(),
            if venues == 1 { "" } else { "s" }
        );
        let mut notes = Vec::new();
        let offline = self.count(Standing::Offline);
        if offline > 0 {
            notes.push(format!("{offline} offline"));
        }
        let lagging: Vec<String> = self
            .reachable()
            .filter(|v| v.screens.behind() > 0)
            .map(|v| format!("{} {}", v.venue, v.screens.behind()))
            .collect();
        if !lagging.is_empty() {
            let shown = lagging
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            let more = lagging.len().saturating_sub(5);
            let more = if more > 0 {
                format!(" and {more} more venues")
            } else {
                String::new()
            };
            notes.push(format!(
                "showing something else (not caught up yet, or their venue manager's own \
                 declaration takes precedence): {shown}{more}"
            ));
        }
        let cut: Vec<String> = self
            .venues
            .iter()
            .filter(|v| v.cut_off())
            .map(|v| v.venue.to_string())
            .collect();
        if !cut.is_empty() {
            let shown = cut.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
            notes.push(format!(
                "{} screens behind a bridge that is down, which get it when the bridge returns: {shown}{}",
                self.cut_off_screens(),
                if cut.len() > 5 { ", …" } else { "" }
            ));
        }
        if !notes.is_empty() {
            line.push_str(" — ");
            line.push_str(&notes.join("; "));
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::{self, declaration, id};
    use crate::protocol::{DeclarationState, DisplayStatus, IncidentDeclaration};

    /// A screen's report at `revision` showing `digest`, online or not.
    fn report(node: &str, revision: u64, digest: &str, online: bool) -> BusMessage {
        let mut report = fixtures::report(node, "signage", Some(digest));
        report.revision = Some(revision);
        if !online {
            report.status = DisplayStatus::Offline;
        }
        BusMessage::Display(report)
    }

    fn chain(declaration: IncidentDeclaration) -> BusMessage {
        BusMessage::Declaration {
            scope: Scope::Chain,
            declaration,
        }
    }

    #[test]
    fn keeps_chain_declarations_and_reports_per_venue_and_nothing_else() {
        let mut state = ChainState::default();
        let active = declaration("hq", 5, DeclarationState::Active);
        assert_eq!(
            state.apply(None, chain(active.clone())),
            ApplyOutcome::Changed
        );
        // A venue declaration that reached HQ by mistake is not HQ's to show.
        let venue_scoped = BusMessage::Declaration {
            scope: Scope::Venue,
            declaration: declaration("cli", 9, DeclarationState::Active),
        };
        assert_eq!(
            state.apply(Some(&id("rialto")), venue_scoped),
            ApplyOutcome::Unchanged
        );
        // Two venues may both have a "lobby-1": they stay apart.
        state.apply(Some(&id("rialto")), report("lobby-1", 3, "aaaa", true));
        state.apply(Some(&id("odeon")), report("lobby-1", 4, "bbbb", true));
        assert_eq!(state.venues.len(), 2);
        assert_eq!(state.view().revision, 5);
        assert_eq!(state.view().scope, Some(Scope::Chain));
        assert_eq!(state.declarations.declarations.len(), 1);
    }

    #[test]
    fn the_next_revision_is_above_every_screen_of_every_venue() {
        let mut state = ChainState::default();
        state.apply(None, chain(declaration("hq", 5, DeclarationState::Active)));
        state.apply(Some(&id("rialto")), report("lobby-1", 40, "aaaa", true));
        state.apply(Some(&id("odeon")), report("lobby-1", 12, "bbbb", true));
        assert_eq!(state.next_revision(), Ok(41));
        // One screen's own login writing the top of the range pins nothing.
        state.apply(
            Some(&id("odeon")),
            report("lobby-2", crate::protocol::MAX_REVISION, "cccc", true),
        );
        assert_eq!(state.next_revision(), Ok(41));
    }

    #[test]
    fn confirmations_count_reachable_screens_and_set_cut_off_venues_apart() {
        let mut state = ChainState::default();
        state.apply(None, chain(declaration("hq", 5, DeclarationState::Active)));
        let digest = state.view().digest();
        state.apply(Some(&id("rialto")), report("lobby-1", 5, &digest, true));
        state.apply(Some(&id("rialto")), report("lobby-2", 3, "stale", true));
        state.apply(Some(&id("rialto")), report("bar", 3, "stale", false));
        state.apply(Some(&id("odeon")), report("lobby-1", 4, "stale", true));
        state.set_bridge(&id("odeon"), false);
        assert!(state.set_bridge(&id("rialto"), true));
        assert!(!state.set_bridge(&id("rialto"), true));

        let summary = state.confirmations();
        assert_eq!(summary.screens(), 4);
        assert_eq!(summary.count(Standing::Confirmed), 1);
        assert_eq!(summary.count(Standing::Lagging), 1);
        assert_eq!(summary.count(Standing::Offline), 1);
        assert_eq!(summary.cut_off_screens(), 1);
        assert!(!summary.all_reachable_confirmed());
        let headline = summary.headline();
        assert!(
            headline.starts_with("1 of 4 screens in 2 venues show it"),
            "{headline}"
        );
        assert!(headline.contains("1 offline"), "{headline}");
        assert!(headline.contains("rialto 1"), "{headline}");
        assert!(
            headline.contains("1 screens behind a bridge that is down")
                && headline.contains("odeon"),
            "{headline}"
        );

        // The lagging screen catches up: only the cut-off venue is left, and it does not
        // hold up the answer, because nothing HQ does can reach it now.
        state.apply(Some(&id("rialto")), report("lobby-2", 5, &digest, true));
        assert!(state.confirmations().all_reachable_confirmed());
    }

    #[test]
    fn a_venue_whose_screens_were_all_removed_is_not_counted() {
        let mut state = ChainState::default();
        state.apply(Some(&id("rialto")), report("lobby-1", 1, "aaaa", true));
        state.apply(
            Some(&id("rialto")),
            BusMessage::DisplayRemoved(id("lobby-1")),
        );
        let summary = state.confirmations();
        assert!(summary.venues.is_empty());
        assert_eq!(summary.headline(), "0 of 0 screens in 0 venues show it");
    }
}
