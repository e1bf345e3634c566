//! The module tree points one way (docs/ARCHITECTURE.md): `main` → commands and
//! benchmarks → the composition root (`app`) → workers → the MQTT edge → config and the
//! pure model → protocol. This reads every source file (test modules left out) and fails,
//! naming the file and the import, when a module reaches up or sideways where it must
//! not, or when the model stops being pure.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module's layer; a module may import only modules of a lower layer,
/// and the few same-layer neighbours listed in [`SIDEWAYS`].
const LAYERS: &[(&str, u8)] = &[
    // Leaves every layer may use.
    ("protocol", 0),
    ("text", 0),
    ("clock", 0),
    ("shutdown", 0),
    ("deadline", 0),
    ("liveness", 0),
    ("reject_log", 0),
    ("audit", 0),
    ("secret_file", 0),
    ("health", 0),
    ("http_client", 0),
    ("local_http", 0),
    ("web_server", 0),
    ("web_api", 0),
    ("access", 0),
    ("machine_keys", 0),
    ("metrics", 1),
    ("logging", 0),
    ("mosquitto", 0),
    // Data and decisions.
    ("config", 1),
    ("model", 1),
    // The edge to the broker.
    ("mqtt", 2),
    // Workers (and the one-shot client, a worker of its own).
    ("status", 3),
    ("voucher", 3),
    ("console", 3),
    ("lan", 3),
    ("detection", 3),
    ("keeper", 3),
    ("screen", 3),
    ("broker", 3),
    ("client", 3),
    // The composition root.
    ("app", 4),
    // What the binary runs.
    ("commands", 5),
    ("bench", 5),
    ("cli", 5),
];

/// Same-layer imports that are part of the design: a worker's handle is how others
/// reach it (the counter screen and the console hold a `CounterHandle`), and the
/// commands run the benchmarks.
const SIDEWAYS: &[(&str, &str)] = &[
    ("console", "voucher"),
    // The feeds say in words what the screens show: `screen::content` decides them (and
    // the web screens, signs drawn by a browser, show exactly those words).
    ("console", "screen"),
    ("screen", "voucher"),
    // The LAN listener serves this till's vouchers (its handle) and the web counter,
    // which words everything as the counter screen does (`screen::counter_words`).
    ("lan", "voucher"),
    ("lan", "screen"),
    ("commands", "bench"),
    ("commands", "cli"),
    ("bench", "cli"),
];

fn sources(directory: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(directory).expect("src is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The file without its unit tests, which may use anything.
fn shipped_code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("a readable source file");
    match text.find("#[cfg(test)]\nmod tests") {
        Some(tests) => text[..tests].to_owned(),
        None => text,
    }
}

/// The top-level modules a file names as `crate::module`.
fn imports(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (index, _) in code.match_indices("crate::") {
        let rest = &code[index + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            found.insert(name);
        }
    }
    found
}

#[test]
fn every_import_points_down() {
    let layers: BTreeMap<&str, u8> = LAYERS.iter().copied().collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    let mut wrong = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&root).expect("under src");
        let module = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .map(|name| name.trim_end_matches(".rs").to_owned())
            .expect("a module name");
        if matches!(module.as_str(), "main" | "lib") {
            continue;
        }
        let Some(&layer) = layers.get(module.as_str()) else {
            wrong.push(format!(
                "{}: module {module} has no layer in tests/layers.rs",
                relative.display()
            ));
            continue;
        };
        for import in imports(&shipped_code(file)) {
            if import == module {
                continue;
            }
            let Some(&target) = layers.get(import.as_str()) else {
                continue;
            };
            let sideways = SIDEWAYS.contains(&(module.as_str(), import.as_str()));
            if target > layer || (target == layer && !sideways && layer > 0) {
                wrong.push(format!(
                    "{}: {module} (layer {layer}) imports crate::{import} (layer {target})",
                    relative.display()
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that point the wrong way:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_model_and_the_protocol_are_pure() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root.join("model"), &mut files);
    sources(&root.join("protocol"), &mut files);
    let forbidden = [
        "tokio::",
        "std::fs",
        "std::net",
        "now_utc",
        "Instant::now",
        "rand::",
        "SystemTime",
        "crate::config",
        "crate::clock",
    ];
    let mut wrong = Vec::new();
    for file in files {
        let code = shipped_code(&file);
        for word in forbidden {
            if code.contains(word) {
                wrong.push(format!("{}: uses {word}", file.display()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "the pure layers reach out:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_benchmarks_build_on_the_fleet_not_on_each_other() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/bench");
    let mut wrong = Vec::new();
    for name in [
        "switch",
        "console",
        "detection",
        "idle",
        "vouchers",
        "frame",
        "stats",
    ] {
        let code = shipped_code(&root.join(format!("{name}.rs")));
        for other in [
            "switch",
            "console",
            "detection",
            "idle",
            "vouchers",
            "frame",
        ] {
            if other != name && code.contains(&format!("super::{other}")) {
                wrong.push(format!("bench/{name}.rs imports bench/{other}.rs"));
            }
        }
    }
    let fleet = shipped_code(&root.join("fleet.rs"));
    for other in [
        "switch",
        "console",
        "detection",
        "idle",
        "vouchers",
        "frame",
    ] {
        if fleet.contains(&format!("super::{other}")) {
            wrong.push(format!("bench/fleet.rs imports bench/{other}.rs"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
