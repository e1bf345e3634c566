//! Drill reports on disk: `{data_dir}/drills/{drill_id}.json`, replaced whole (written to
//! a temporary file, synced, renamed) after every change the recorder sees, so a reader
//! never meets half a report; read back and listed for the console's report routes.

use super::results::DrillReport;
use crate::protocol::Identifier;
use std::io::Write;
use std::path::{Path, PathBuf};

pub fn directory(data_dir: &Path) -> PathBuf {
    data_dir.join("drills")
}

fn path_of(data_dir: &Path, drill: &Identifier) -> PathBuf {
    directory(data_dir).join(format!("{drill}.json"))
}

/// Writes `report` in place of the drill's earlier one.
pub fn save(data_dir: &Path, report: &DrillReport) -> std::io::Result<()> {
    let directory = directory(data_dir);
    std::fs::create_dir_all(&directory)?;
    let target = path_of(data_dir, &report.drill_id);
    let temporary = target.with_extension("json.tmp");
    let bytes = serde_json::to_vec_pretty(report).expect("a drill report serialises: plain fields");
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(&bytes)?;
    file.sync_data()?;
    std::fs::rename(&temporary, &target)
}

/// Writes each of `reports` (the recorder's batch: a drill that ended, the next begun).
pub fn save_all(data_dir: &Path, reports: &[DrillReport]) -> std::io::Result<()> {
    reports.iter().try_for_each(|report| save(data_dir, report))
}

/// The drill's report, or `None` when the console kept none.
pub fn read(data_dir: &Path, drill: &Identifier) -> std::io::Result<Option<DrillReport>> {
    match std::fs::read(path_of(data_dir, drill)) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidData, error)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

/// Every kept drill report, newest first, at most `limit`; unreadable files are skipped.
pub fn list(data_dir: &Path, limit: usize) -> Vec<DrillReport> {
    let Ok(entries) = std::fs::read_dir(directory(data_dir)) else {
        return Vec::new();
    };
    let mut reports: Vec<DrillReport> = entries
        .filter_map(Result::ok)
        .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "json"))
        .filter_map(|entry| std::fs::read(entry.path()).ok())
        .filter_map(|bytes| serde_json::from_slice(&bytes).ok())
        .collect();
    reports.sort_by_key(|report| std::cmp::Reverse(report.started_at));
    reports.truncate(limit);
    reports
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::drill::results::{DrillOutcome, NodeResult};
    use crate::model::NodeKind;

    #[test]
    fn a_saved_report_replaces_the_last_and_reads_back_and_an_unknown_drill_is_none() {
        let directory = tempfile::tempdir().unwrap();
        let id = Identifier::parse("drill-1").unwrap();
        let mut report = DrillReport {
            drill_id: id.clone(),
            venue_name: "Rialto".into(),
            started_at: time::OffsetDateTime::UNIX_EPOCH,
            ends_at: time::OffsetDateTime::UNIX_EPOCH + time::Duration::minutes(2),
            ended_at: None,
            interrupted: false,
            nodes: Vec::new(),
        };
        save(directory.path(), &report).unwrap();
        report.nodes.push(NodeResult {
            node: Identifier::parse("lobby-1").unwrap(),
            name: None,
            kind: NodeKind::Screen,
            full_screen: false,
            outcome: DrillOutcome::Confirmed,
            after_ms: Some(120),
            reason: None,
        });
        save(directory.path(), &report).unwrap();
        assert_eq!(read(directory.path(), &id).unwrap(), Some(report.clone()));
        assert_eq!(list(directory.path(), 10), vec![report]);
        let unknown = Identifier::parse("drill-2").unwrap();
        assert_eq!(read(directory.path(), &unknown).unwrap(), None);
    }
}
