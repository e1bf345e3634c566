//! `raincheck lan client-token NAME --may payments,vouchers`: makes the token of a
//! machine that calls a node's LAN listener and prints it once, with the
//! `[[lan.clients]]` entry holding only its hash (the token itself is stored nowhere).

use super::console::config_safe_name;
use anyhow::{bail, Result};
use std::process::ExitCode;

pub fn run_client_token(name: &str, may: &[String]) -> Result<ExitCode> {
    let name = config_safe_name(name, "NAME")?;
    let mut permissions = Vec::new();
    for word in may {
        let word = word.trim();
        match word {
            "payments" | "vouchers" => {
                if !permissions.contains(&word) {
                    permissions.push(word);
                }
            }
            other => bail!(
                "--may {other:?} is not a permission; use payments, vouchers or both (comma-separated)"
            ),
        }
    }
    let token = crate::config::new_access_key();
    println!("# The token for {name:?}: give it to that machine; it is not stored anywhere.");
    println!("# Send it as: Authorization: Bearer {token}");
    println!("token = \"{token}\"");
    println!();
    println!("# Add to the node's config (under [lan]):");
    println!("[[lan.clients]]");
    println!("name = \"{name}\"");
    println!(
        "token_hash = \"{}\"",
        crate::config::access_key_hash(&token)
    );
    let quoted: Vec<String> = permissions.iter().map(|p| format!("\"{p}\"")).collect();
    println!("may = [{}]", quoted.join(", "));
    Ok(ExitCode::SUCCESS)
}
