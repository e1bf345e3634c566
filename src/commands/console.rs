//! `raincheck console hash-pin`: makes the argon2 hash of a manager's PIN and either
//! prints the line to paste or writes the manager into a console config file, keeping
//! the file's comments and layout (toml_edit) and checking the result before replacing it.
//! `raincheck console feed-key NAME`: makes a key for the read-only feeds and prints it
//! with the `[[console.feeds.keys]]` entry holding its hash.

use crate::console::{check_pin_shape, hash_pin};
use anyhow::{anyhow, bail, Context, Result};
use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub fn run_hash_pin(config: Option<PathBuf>, name: Option<String>) -> Result<ExitCode> {
    let pin = read_pin()?;
    check_pin_shape(&pin).map_err(|why| anyhow!("{why}; nothing was written"))?;
    let hash = hash_pin(&pin).map_err(|error| anyhow!(error))?;
    match (config, name) {
        (Some(path), Some(name)) => {
            let name = name.trim().to_owned();
            if name.is_empty() || name.chars().count() > crate::config::MAX_MANAGER_NAME {
                bail!(
                    "--name must be 1 to {} characters",
                    crate::config::MAX_MANAGER_NAME
                );
            }
            let replaced = write_manager(&path, &name, &hash)?;
            let verb = if replaced {
                "changed the PIN of"
            } else {
                "added"
            };
            println!("{verb} manager {name:?} in {}", path.display());
        }
        _ => println!("pin_hash = \"{hash}\""),
    }
    Ok(ExitCode::SUCCESS)
}

/// `raincheck console feed-key NAME`: a fresh feed key and the config entry with its
/// hash; the key itself is never stored, so it is shown this once.
pub fn run_feed_key(name: &str) -> Result<ExitCode> {
    let name = config_safe_name(name, "NAME")?;
    let key = crate::config::new_access_key();
    println!("# The key for {name:?}: give it to the reader; it is not stored anywhere.");
    println!("# Read with: Authorization: Bearer {key}   or   /feeds/cap.xml?key={key}");
    println!("key = \"{key}\"");
    println!();
    println!("# Add to the console's config:");
    println!("[[console.feeds.keys]]");
    println!("name = \"{name}\"");
    println!("key_hash = \"{}\"", crate::config::access_key_hash(&key));
    Ok(ExitCode::SUCCESS)
}

/// `raincheck console web-screen-key ID --name NAME`: a fresh key for one web screen.
pub fn run_web_screen_key(id: &str, name: &str) -> Result<ExitCode> {
    let id =
        crate::protocol::Identifier::parse(id).map_err(|error| anyhow!("ID {id:?} {error}"))?;
    let name = config_safe_name(name, "--name")?;
    let key = crate::config::new_access_key();
    println!("# The page of {name:?}: open it full screen on the player (add &layout=banner for a strip).");
    println!("# The key is not stored anywhere; revoke it with `revoked = true`.");
    println!("# http(s)://CONSOLE-ADDRESS/screen/{id}?key={key}");
    println!();
    println!("# Add to the console's config (and the broker ACL line below to its login):");
    println!("[[console.web_screens]]");
    println!("id = \"{id}\"");
    println!("name = \"{name}\"");
    println!("key_hash = \"{}\"", crate::config::access_key_hash(&key));
    println!();
    println!("# topic write raincheck/v1/VENUE/displays/{id}");
    Ok(ExitCode::SUCCESS)
}

/// `name` trimmed, if it can be pasted into a TOML string as printed: 1 to 64
/// characters, no quotes, backslashes or control characters. `what` names the argument.
pub(super) fn config_safe_name<'a>(name: &'a str, what: &str) -> Result<&'a str> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > 64
        || name.contains(['"', '\\'])
        || name.chars().any(char::is_control)
    {
        bail!(
            "{what} must be 1 to 64 characters, without quotes, backslashes or control characters"
        );
    }
    Ok(name)
}

/// The PIN from the terminal without echo, or the first line of stdin.
fn read_pin() -> Result<String> {
    if std::io::stdin().is_terminal() {
        let pin = rpassword::prompt_password("PIN (4-12 digits): ").context("read the PIN")?;
        let again = rpassword::prompt_password("The same PIN again: ").context("read the PIN")?;
        if pin != again {
            bail!("the two PINs differ; nothing was written");
        }
        return Ok(pin.trim().to_owned());
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("read the PIN from stdin")?;
    Ok(line.trim().to_owned())
}

/// Adds or updates the manager; true if one by that name was already there.
fn write_manager(path: &Path, name: &str, hash: &str) -> Result<bool> {
    let text = std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
    let mut document: toml_edit::DocumentMut = text
        .parse()
        .map_err(|error| anyhow!("{} is not valid TOML: {error}", path.display()))?;
    let console = document
        .entry("console")
        .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()))
        .as_table_mut()
        .ok_or_else(|| anyhow!("`console` in {} is not a table", path.display()))?;
    let managers = console
        .entry("managers")
        .or_insert_with(|| toml_edit::Item::ArrayOfTables(toml_edit::ArrayOfTables::new()))
        .as_array_of_tables_mut()
        .ok_or_else(|| {
            anyhow!(
                "console.managers in {} is not a list of [[console.managers]]",
                path.display()
            )
        })?;
    let existing = managers.iter_mut().find(|table| {
        table
            .get("name")
            .and_then(|n| n.as_str())
            .is_some_and(|n| n.trim().eq_ignore_ascii_case(name))
    });
    let replaced = match existing {
        Some(table) => {
            table["pin_hash"] = toml_edit::value(hash);
            true
        }
        None => {
            let mut table = toml_edit::Table::new();
            table["name"] = toml_edit::value(name);
            table["pin_hash"] = toml_edit::value(hash);
            managers.push(table);
            false
        }
    };
    let updated = document.to_string();
    crate::config::load_str(&updated, path).map_err(|report| {
        anyhow!("the file would not be valid afterwards, so it was left as it was:\n{report}")
    })?;
    let temporary = path.with_extension("toml.new");
    std::fs::write(&temporary, updated)
        .with_context(|| format!("write {}", temporary.display()))?;
    if let Ok(metadata) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(&temporary, metadata.permissions());
    }
    std::fs::rename(&temporary, path).with_context(|| format!("replace {}", path.display()))?;
    Ok(replaced)
}
