//! Test fixtures for the model's unit tests (and the console snapshot's): identifiers, a
//! fixed clock, a venue manager's declaration and a node's report, built one way.

use crate::protocol::{
    Authority, DeclarationState, DisplayReport, DisplayStatus, Identifier, IncidentDeclaration,
    IncidentMode, IncidentTexts, Shown, SCHEMA_VERSION,
};
use time::OffsetDateTime;

pub fn id(text: &str) -> Identifier {
    Identifier::parse(text).expect("a fixture id is valid")
}

/// `seconds` after a fixed instant (2027-01-15 08:00 UTC).
pub fn at(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000 + seconds).expect("in range")
}

/// A manager's cash-only declaration of incident `inc-1` by `source`, made at `at(0)`.
pub fn declaration(source: &str, revision: u64, state: DeclarationState) -> IncidentDeclaration {
    IncidentDeclaration {
        v: SCHEMA_VERSION,
        source: id(source),
        authority: Authority::Manager,
        revision,
        incident_id: id("inc-1"),
        state,
        mode: IncidentMode::CashOnly,
        texts: IncidentTexts::default(),
        translations: Default::default(),
        offer_id: None,
        supersedes: Vec::new(),
        started_at: at(0),
        declared_at: at(0),
        actor: None,
        next_update_by: None,
        expires_at: None,
    }
}

/// `node`'s report as one `role` named "Name {node}": online showing `digest` (at
/// revision 1), or its last will when `digest` is `None`.
pub fn report(node: &str, role: &str, digest: Option<&str>) -> DisplayReport {
    let mut report = DisplayReport::offline(&id(node), Some(format!("Name {node}")));
    report.roles = vec![role.to_owned()];
    if let Some(digest) = digest {
        report.status = DisplayStatus::Online;
        report.digest = Some(digest.to_owned());
        report.revision = Some(1);
        report.shown = Some(Shown::Drawn);
    }
    report
}
