//! An incident's timeline on disk: `{data_dir}/incidents/{incident}.jsonl`, one
//! [`Stamped`] entry per line, appended and flushed as the console sees them. The
//! incident id is an `Identifier` (letters, digits, `-`, `_`), so it is a safe file name.
//! Reading stops at `MAX_ENTRIES` (a venue with hundreds of screens flapping all night
//! still gives a bounded report) and skips a line it cannot read (a torn last write).

use super::entries::Stamped;
use crate::protocol::Identifier;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

/// Entries one incident's timeline keeps at most; later ones are not written.
pub const MAX_ENTRIES: usize = 100_000;

fn path_of(data_dir: &Path, incident: &Identifier) -> PathBuf {
    data_dir
        .join("incidents")
        .join(format!("{}.jsonl", incident.as_str()))
}

/// Appends `entries` to their incidents' files.
pub fn append(data_dir: &Path, entries: &[Stamped]) -> std::io::Result<()> {
    std::fs::create_dir_all(data_dir.join("incidents"))?;
    for entry in entries {
        let path = path_of(data_dir, &entry.incident);
        // Cheap guard against a file without end: the size says roughly how many lines.
        if std::fs::metadata(&path).is_ok_and(|m| m.len() > (MAX_ENTRIES as u64) * 400) {
            continue;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        let mut line = serde_json::to_vec(entry).expect("a timeline entry serialises");
        line.push(b'\n');
        file.write_all(&line)?;
        file.sync_data()?;
    }
    Ok(())
}

/// The timeline of `incident`, oldest first; `None` when the console recorded nothing of it.
pub fn read(data_dir: &Path, incident: &Identifier) -> std::io::Result<Option<Vec<Stamped>>> {
    let file = match std::fs::File::open(path_of(data_dir, incident)) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    let mut entries = Vec::new();
    for line in std::io::BufReader::new(file).lines() {
        if entries.len() >= MAX_ENTRIES {
            break;
        }
        if let Ok(entry) = serde_json::from_str::<Stamped>(&line?) {
            entries.push(entry);
        }
    }
    Ok(Some(entries))
}

#[cfg(test)]
mod tests {
    use super::super::entries::TimelineEntry;
    use super::*;

    #[test]
    fn entries_are_read_back_in_order_and_a_torn_line_is_skipped() {
        let directory = tempfile::tempdir().unwrap();
        let incident = Identifier::parse("inc-7").unwrap();
        let entry = |revision| Stamped {
            at: time::OffsetDateTime::UNIX_EPOCH,
            incident: incident.clone(),
            entry: TimelineEntry::Resolved {
                revision,
                by_expiry: false,
            },
        };
        assert!(read(directory.path(), &incident).unwrap().is_none());
        append(directory.path(), &[entry(1), entry(2)]).unwrap();
        let path = path_of(directory.path(), &incident);
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(b"{\"at\": \"torn").unwrap();
        let read_back = read(directory.path(), &incident).unwrap().unwrap();
        assert_eq!(read_back, vec![entry(1), entry(2)]);
    }
}
