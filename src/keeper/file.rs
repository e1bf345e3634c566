//! The keeper's file, `{data_dir}/retained.json`: the winners it holds, written after each
//! change (atomically: a temporary file renamed over the old one), read at start. It is
//! what lets a keeper that restarts with a broker that lost everything — a power cut on a
//! single box — put the venue's declarations back, and what the single box's embedded
//! broker is seeded from before it accepts a client. Every payload read back passes the
//! protocol gate again; a damaged file is reported and ignored, never trusted.

use crate::model::keeper::payload_of;
use crate::protocol::{decode_message, BusMessage, Identifier};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

const FILE_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct KeptFile {
    v: u32,
    retained: Vec<KeptMessage>,
}

#[derive(Serialize, Deserialize)]
struct KeptMessage {
    topic: String,
    /// The retained payload, JSON text as published.
    payload: String,
}

/// Where a node's kept retained set lives.
pub fn kept_path(data_dir: &Path) -> PathBuf {
    data_dir.join("retained.json")
}

/// Writes `kept` to `path` atomically. Blocking: call from `spawn_blocking`.
pub fn save(path: &Path, kept: &[(String, BusMessage)]) -> Result<()> {
    let file = KeptFile {
        v: FILE_VERSION,
        retained: kept
            .iter()
            .map(|(topic, message)| KeptMessage {
                topic: topic.clone(),
                payload: String::from_utf8_lossy(&payload_of(message)).into_owned(),
            })
            .collect(),
    };
    let text = serde_json::to_vec_pretty(&file).expect("the kept set serialises: strings only");
    let temporary = path.with_extension("json.new");
    std::fs::write(&temporary, text)
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    std::fs::rename(&temporary, path)
        .with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

/// The kept messages of `venue` in `path`, each checked by the gate; an absent file is an
/// empty set, a damaged one an error that says what is wrong.
pub fn load(path: &Path, venue: &Identifier) -> Result<Vec<(String, BusMessage)>> {
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error).with_context(|| format!("cannot read {}", path.display())),
    };
    let file: KeptFile = serde_json::from_slice(&text)
        .with_context(|| format!("{} is not a raincheck retained set", path.display()))?;
    if file.v != FILE_VERSION {
        anyhow::bail!(
            "{} is version {}; this build reads version {FILE_VERSION}",
            path.display(),
            file.v
        );
    }
    let mut kept = Vec::new();
    for entry in file.retained {
        match decode_message(&entry.topic, entry.payload.as_bytes(), venue) {
            Ok(message @ (BusMessage::Declaration { .. } | BusMessage::Payment(_))) => {
                kept.push((entry.topic, message))
            }
            Ok(_) => {
                tracing::warn!(topic = %entry.topic, "{}: not a declaration or payment report; skipped", path.display())
            }
            Err(reason) => {
                tracing::warn!(topic = %entry.topic, "{}: {reason}; skipped", path.display())
            }
        }
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures;
    use crate::protocol::{DeclarationState, Scope, Topic, TopicKind};

    #[test]
    fn what_is_saved_is_loaded_and_a_damaged_file_is_refused() {
        let directory = tempfile::tempdir().unwrap();
        let path = kept_path(directory.path());
        let venue = fixtures::id("rialto");
        assert!(
            load(&path, &venue).unwrap().is_empty(),
            "no file: nothing kept"
        );
        let declaration = fixtures::declaration("console", 4, DeclarationState::Active);
        let kept = vec![(
            Topic::venue(&venue, TopicKind::Incident, &fixtures::id("console")).to_string(),
            BusMessage::Declaration {
                scope: Scope::Venue,
                declaration,
            },
        )];
        save(&path, &kept).unwrap();
        assert_eq!(load(&path, &venue).unwrap(), kept);
        // Another venue's file yields nothing it would publish.
        assert!(load(&path, &fixtures::id("odeon")).unwrap().is_empty());
        std::fs::write(&path, b"{\"v\":1,\"retained\":[{\"topic\":1}]}").unwrap();
        let error = load(&path, &venue).unwrap_err().to_string();
        assert!(error.contains("is not a raincheck retained set"), "{error}");
    }
}
