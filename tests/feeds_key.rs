//! `raincheck console feed-key NAME`: the key it prints is what the config entry it prints
//! hashes, and that entry loads; a name that would break the TOML is refused.

use std::path::Path;
use std::process::Command;

/// `raincheck console feed-key NAME` prints a key and the config entry with its hash; the
/// entry loads, and the key is what it hashes.
#[test]
fn feed_key_prints_a_key_and_its_config_entry() {
    let output = Command::new(env!("CARGO_BIN_EXE_raincheck"))
        .args(["console", "feed-key", "website"])
        .output()
        .expect("run raincheck console feed-key");
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    let value = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(&format!("{name} = \"")))
            .and_then(|rest| rest.strip_suffix('"'))
            .unwrap_or_else(|| panic!("no {name} line in {text}"))
            .to_owned()
    };
    let key = value("key");
    assert_eq!(key.len(), 64);
    assert_eq!(value("key_hash"), raincheck::config::access_key_hash(&key));
    let entry = &text[text.find("[[console.feeds.keys]]").unwrap()..];
    let config = format!("[node]\nvenue = \"v\"\nid = \"s\"\nroles = [\"signage\"]\n\n{entry}");
    let loaded = raincheck::config::load_str(&config, Path::new("test.toml"))
        .unwrap_or_else(|report| panic!("{report}"));
    assert_eq!(loaded.console.feeds.keys[0].name, "website");

    let refused = Command::new(env!("CARGO_BIN_EXE_raincheck"))
        .args(["console", "feed-key", "we\"b"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("NAME must be"));
}
