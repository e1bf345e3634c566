//! Checks of the `[console]` section that serde cannot express: at least one manager on a
//! console node, PIN hashes that really are argon2 hashes, TLS files in pairs, sane
//! limits. Called from `check` with the same `push(key, message)` as every other check.

use super::sections::{NodeConfig, Role};
use std::path::Path;

/// Longest manager name, in characters (it is shown in the audit log and on the page).
pub const MAX_MANAGER_NAME: usize = 64;

pub(super) fn check_console(
    config: &NodeConfig,
    base: &Path,
    check_files: bool,
    push: &mut impl FnMut(&str, String),
) {
    let console = &config.console;
    if config.has_role(Role::Console) && console.managers.is_empty() {
        push(
            "console.managers",
            "no managers can sign in; add one with `raincheck console hash-pin --config FILE --name NAME`"
                .into(),
        );
    }
    let mut names = std::collections::BTreeSet::new();
    for manager in &console.managers {
        let name = manager.name.trim();
        if name.is_empty() || name.chars().count() > MAX_MANAGER_NAME {
            push(
                "console.managers",
                format!("a manager's name must be 1 to {MAX_MANAGER_NAME} characters"),
            );
        } else if !names.insert(name.to_lowercase()) {
            push(
                "console.managers",
                format!("{name:?} is listed twice; names must be unique (ignoring case)"),
            );
        }
        if argon2::PasswordHash::new(&manager.pin_hash).is_err() {
            push(
                "console.managers",
                format!(
                    "the pin_hash of {name:?} is not an argon2 hash; make one with `raincheck console hash-pin`"
                ),
            );
        }
    }
    match (&console.tls_cert_file, &console.tls_key_file) {
        (Some(_), None) | (None, Some(_)) => push(
            "console.tls_cert_file",
            "set both tls_cert_file and tls_key_file for HTTPS, or neither for HTTP".into(),
        ),
        _ => {}
    }
    if check_files {
        for (key, path) in [
            ("console.tls_cert_file", &console.tls_cert_file),
            ("console.tls_key_file", &console.tls_key_file),
        ] {
            if let Some(path) = path {
                let resolved = base.join(path);
                if !resolved.is_file() {
                    push(
                        key,
                        format!("{} does not exist or is not a file", resolved.display()),
                    );
                }
            }
        }
    }
    if !(5..=1440).contains(&console.session_minutes) {
        push(
            "console.session_minutes",
            format!("{} is out of range; use 5 to 1440", console.session_minutes),
        );
    }
    if !(1024..=1024 * 1024).contains(&console.max_body_bytes) {
        push(
            "console.max_body_bytes",
            format!(
                "{} is out of range; use 1024 to 1048576",
                console.max_body_bytes
            ),
        );
    }
    if console.business_day_start().is_none() {
        push(
            "console.business_day_starts",
            format!(
                "{:?} is not a time of day; write it as \"HH:MM\", e.g. \"05:00\"",
                console.business_day_starts
            ),
        );
    }
}
