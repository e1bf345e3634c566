//! The node's audit log: who did what, when, from where, and how it ended — one JSON line
//! per action in `{data_dir}/audit.jsonl`, flushed to disk before the action is answered,
//! so it survives restarts and `kill -9`. One log per node, opened by the composition
//! root: the console writes what managers do on the tablet (and the overrides its replica
//! hears of from other tills), a till what managers do at it (overrides past a cap,
//! refused ones too). The newest entries are also kept in memory for the console's page.
//! `append` blocks on the disk; `record` runs it off the async threads.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;

/// The log's file in the data directory.
const FILE_NAME: &str = "audit.jsonl";
/// Its name before tills wrote to it too (only consoles kept one): taken over at open.
const OLD_FILE_NAME: &str = "console-audit.jsonl";

/// Entries kept in memory (and read back at start) for the page.
const RECENT: usize = 1000;
/// How much of the file's end is read at start to find those entries.
const TAIL_BYTES: u64 = 1024 * 1024;
/// Longest text kept per field; the rest is cut.
const MAX_FIELD_CHARS: usize = 300;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The signed-in manager, or the name tried at a failed sign-in.
    pub manager: Option<String>,
    /// The client's address.
    pub from: String,
    /// "sign-in", "declare", "update", "resolve", "void", "export", "sign-out",
    /// "override" (a voucher issued past a cap at a till), "override-code", "drill start"…
    pub action: String,
    pub detail: String,
    /// "ok", or why it was refused or failed.
    pub outcome: String,
}

pub struct AuditLog {
    path: PathBuf,
    file: Mutex<File>,
    recent: Mutex<VecDeque<AuditEntry>>,
}

impl AuditLog {
    pub fn open(data_dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        let path = data_dir.join(FILE_NAME);
        let old = data_dir.join(OLD_FILE_NAME);
        if !path.exists() && old.exists() {
            std::fs::rename(&old, &path)?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)?;
        let recent = read_tail(&mut file)?;
        Ok(Self {
            path,
            file: Mutex::new(file),
            recent: Mutex::new(recent),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one entry and flushes it to disk.
    pub fn append(&self, mut entry: AuditEntry) -> std::io::Result<()> {
        entry.manager = entry.manager.map(|m| clean(&m));
        entry.from = clean(&entry.from);
        entry.detail = clean(&entry.detail);
        entry.outcome = clean(&entry.outcome);
        let mut line = serde_json::to_vec(&entry).map_err(std::io::Error::other)?;
        line.push(b'\n');
        {
            let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
            file.write_all(&line)?;
            file.sync_data()?;
        }
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if recent.len() == RECENT {
            recent.pop_front();
        }
        recent.push_back(entry);
        Ok(())
    }

    /// Writes one entry off the async threads. A log that cannot be written is logged as
    /// an error and the action goes on: refusing service for a full disk would leave
    /// guests without vouchers and managers without the cash-only screens.
    pub async fn record(self: &Arc<Self>, entry: AuditEntry) {
        let log = self.clone();
        let written = tokio::task::spawn_blocking(move || log.append(entry)).await;
        if !matches!(written, Ok(Ok(()))) {
            tracing::error!(path = %self.path.display(), "cannot write the audit log; check the disk and the data directory");
        }
    }

    /// Up to `limit` entries, newest first.
    pub fn newest(&self, limit: usize) -> Vec<AuditEntry> {
        let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        recent.iter().rev().take(limit).cloned().collect()
    }
}

fn clean(text: &str) -> String {
    crate::text::one_line(text)
        .chars()
        .take(MAX_FIELD_CHARS)
        .collect()
}

fn read_tail(file: &mut File) -> std::io::Result<VecDeque<AuditEntry>> {
    let length = file.metadata()?.len();
    let start = length.saturating_sub(TAIL_BYTES);
    file.seek(SeekFrom::Start(start))?;
    // Bytes, not `read_to_string`: a tail cut mid-character would be refused whole (and
    // the buffer left empty); read lossily, the damaged first line is skipped below.
    let mut bytes = Vec::new();
    file.take(TAIL_BYTES).read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes);
    let mut lines = text.lines();
    if start > 0 {
        lines.next(); // probably cut in the middle
    }
    let mut recent: VecDeque<AuditEntry> = lines
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    while recent.len() > RECENT {
        recent.pop_front();
    }
    Ok(recent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_survive_a_reopen_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(dir.path()).unwrap();
        for action in ["sign-in", "declare", "resolve"] {
            log.append(AuditEntry {
                at: OffsetDateTime::UNIX_EPOCH,
                manager: Some("Dana\u{1b}[2J".into()),
                from: "10.0.0.5".into(),
                action: action.into(),
                detail: "x".repeat(1000),
                outcome: "ok".into(),
            })
            .unwrap();
        }
        drop(log);
        let log = AuditLog::open(dir.path()).unwrap();
        let entries = log.newest(10);
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].action, "resolve");
        assert_eq!(entries[0].manager.as_deref(), Some("Dana [2J"));
        assert_eq!(entries[0].detail.chars().count(), MAX_FIELD_CHARS);
        assert_eq!(log.newest(1).len(), 1);
    }

    #[test]
    fn a_console_log_of_the_old_name_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let line = r#"{"at":"2026-01-01T00:00:00Z","manager":"Dana","from":"10.0.0.5","action":"declare","detail":"x","outcome":"ok"}"#;
        std::fs::write(dir.path().join(OLD_FILE_NAME), format!("{line}\n")).unwrap();
        let log = AuditLog::open(dir.path()).unwrap();
        assert_eq!(log.path(), dir.path().join(FILE_NAME));
        assert_eq!(log.newest(10)[0].action, "declare");
        assert!(!dir.path().join(OLD_FILE_NAME).exists());
    }
}
