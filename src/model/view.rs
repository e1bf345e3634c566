//! The venue view: what every screen and counter shows, computed from the retained set
//! alone. The precedence rules of invariant 2 live here and only here:
//! 1. the venue manager's latest declaration, if active, is shown;
//! 2. else an active chain (head office) declaration, unless the venue manager's latest
//!    resolve names it in `supersedes`;
//! 3. else the newest *active* automatic declaration (detectors are independent), but only
//!    if it is newer (higher Lamport revision) than the venue manager's latest declaration —
//!    a manager's resolve holds until a new failure is reported after it;
//! 4. else the newest resolve of any source (all clear), or normal if nothing was ever
//!    declared.

use super::drill::{drill_in_view, DrillView};
use super::venue_state::VenueState;
use crate::protocol::{
    Authority, DeclarationState, Identifier, IncidentDeclaration, IncidentMode, IncidentTexts,
    Scope, Translations,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViewMode {
    /// Nothing declared: business as usual.
    Normal,
    CashOnly,
    /// The incident shown last was resolved.
    AllClear,
}

impl ViewMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ViewMode::Normal => "normal",
            ViewMode::CashOnly => "cash_only",
            ViewMode::AllClear => "all_clear",
        }
    }
}

/// What a display shows. Two equal views have equal digests, and the digest is what
/// displays report and the console compares.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VenueView {
    pub mode: ViewMode,
    /// Revision of the declaration shown (0 when nothing was ever declared).
    pub revision: u64,
    pub incident_id: Option<Identifier>,
    pub scope: Option<Scope>,
    pub source: Option<Identifier>,
    pub authority: Option<Authority>,
    pub texts: IncidentTexts,
    /// Left out of the JSON when empty, so a view without translations keeps the digest
    /// it had before they existed (nodes of a venue upgrade one at a time).
    #[serde(default, skip_serializing_if = "Translations::is_empty")]
    pub translations: Translations,
    pub offer_id: Option<Identifier>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub declared_at: Option<OffsetDateTime>,
    /// When the next update was promised (left out of the digest's text when unset, so
    /// a view without one keeps the digest it always had).
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub next_update_by: Option<OffsetDateTime>,
    /// When the incident ends itself (see `model::expiry`); out of the digest's text
    /// when unset, like `next_update_by`.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires_at: Option<OffsetDateTime>,
    /// The staff drill screens draw over this view (`model::drill`); out of the digest's
    /// text when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drill: Option<DrillView>,
}

impl VenueView {
    /// Whether the drill shown, if any, names `node` for the full cash-only screen
    /// rather than the marker (every surface asks here: native screens, web signs).
    pub fn drill_full_screen_for(&self, node: &Identifier) -> bool {
        self.drill
            .as_ref()
            .is_some_and(|drill| drill.full_screen.contains(node))
    }

    pub fn normal() -> Self {
        Self {
            mode: ViewMode::Normal,
            revision: 0,
            incident_id: None,
            scope: None,
            source: None,
            authority: None,
            texts: IncidentTexts::default(),
            translations: Translations::new(),
            offer_id: None,
            started_at: None,
            declared_at: None,
            next_update_by: None,
            expires_at: None,
            drill: None,
        }
    }

    fn from_declaration(scope: Scope, declaration: &IncidentDeclaration) -> Self {
        let mode = match (declaration.state, declaration.mode) {
            (DeclarationState::Active, IncidentMode::CashOnly) => ViewMode::CashOnly,
            (DeclarationState::Resolved, _) => ViewMode::AllClear,
        };
        Self {
            mode,
            revision: declaration.revision,
            incident_id: Some(declaration.incident_id.clone()),
            scope: Some(scope),
            source: Some(declaration.source.clone()),
            authority: Some(declaration.authority),
            texts: declaration.texts.clone(),
            translations: declaration.translations.clone(),
            offer_id: declaration.offer_id.clone(),
            started_at: Some(declaration.started_at),
            declared_at: Some(declaration.declared_at),
            next_update_by: declaration.next_update_by,
            expires_at: declaration.expires_at,
            drill: None,
        }
    }

    /// A short, stable fingerprint of the view (16 hex digits of SHA-256 over its JSON).
    pub fn digest(&self) -> String {
        let bytes = crate::protocol::encode(self);
        let hash = Sha256::digest(&bytes);
        hash.iter()
            .take(8)
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    pub fn is_active(&self) -> bool {
        self.mode == ViewMode::CashOnly
    }
}

/// The latest believable declaration among those matching `filter`, by (revision,
/// source).
fn latest(
    state: &VenueState,
    filter: impl Fn(&Scope, &IncidentDeclaration) -> bool,
) -> Option<(&Scope, &IncidentDeclaration)> {
    state
        .believable_declarations()
        .filter(|((scope, _), declaration)| filter(scope, declaration))
        .max_by(|((_, a_source), a), ((_, b_source), b)| {
            (a.revision, a_source).cmp(&(b.revision, b_source))
        })
        .map(|((scope, _), declaration)| (scope, declaration))
}

/// Computes the view from the retained set; see the module docs for the rules, and
/// `model::drill` for the drill it may carry.
pub fn compute_view(state: &VenueState) -> VenueView {
    let mut view = incident_view(state);
    view.drill = drill_in_view(state, &view);
    view
}

/// The view of the declarations alone.
fn incident_view(state: &VenueState) -> VenueView {
    let is_active = |d: &IncidentDeclaration| d.state == DeclarationState::Active;
    let venue_manager = latest(state, |scope, d| {
        *scope == Scope::Venue && d.authority == Authority::Manager
    });
    let chain = latest(state, |scope, _| *scope == Scope::Chain);
    // Detectors are independent sources: one detector's recovery must not hide another
    // detector's failure, so the newest *active* automatic declaration is the candidate.
    let automatic_active = latest(state, |scope, d| {
        *scope == Scope::Venue && d.authority == Authority::Automatic && is_active(d)
    });

    if let Some((scope, declaration)) = venue_manager.filter(|(_, d)| is_active(d)) {
        return VenueView::from_declaration(scope.clone(), declaration);
    }
    if let Some((scope, declaration)) = chain.filter(|(_, d)| is_active(d)) {
        let superseded =
            venue_manager.is_some_and(|(_, m)| m.supersedes.contains(&declaration.incident_id));
        if !superseded {
            return VenueView::from_declaration(scope.clone(), declaration);
        }
    }
    if let Some((scope, declaration)) = automatic_active {
        let newer_than_manager =
            venue_manager.is_none_or(|(_, m)| declaration.revision > m.revision);
        if newer_than_manager {
            return VenueView::from_declaration(scope.clone(), declaration);
        }
    }
    // Nothing active is in force: show the newest resolve, so the revision shown never
    // goes backwards, or normal if nothing was ever declared.
    latest(state, |_, d| d.state == DeclarationState::Resolved)
        .map(|(scope, declaration)| VenueView::from_declaration(scope.clone(), declaration))
        .unwrap_or_else(VenueView::normal)
}
