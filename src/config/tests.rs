//! The config loader's promises, on whole files: every problem in one run, each with
//! its key and line, and every shipped example loads and documents every field.

use super::*;
use std::path::Path;

fn problems(text: &str) -> Vec<ConfigProblem> {
    load_str(text, Path::new("test.toml"))
        .expect_err("must be refused")
        .problems
}

#[test]
fn reports_every_problem_with_key_and_line() {
    let text = "[node]\nvenue = \"rialto\"\nid = \"Lobby 1\"\nroles = [\"signage\"]\n\n[broker]\nurl = \"mqtt://x\"\nkeep_alive = 5\n\n[weather]\nx = 1\n";
    let found = problems(text);
    let keys: Vec<_> = found.iter().map(|p| (p.key.as_str(), p.line)).collect();
    assert!(keys.contains(&("weather", Some(10))), "{found:?}");
    assert!(keys.contains(&("node.id", Some(3))), "{found:?}");
    assert!(keys.contains(&("broker.keep_alive", Some(8))), "{found:?}");
}

#[test]
fn semantic_problems_point_at_their_line() {
    let text = "[node]\nvenue = \"rialto\"\nid = \"lobby-1\"\nroles = []\n[broker]\nurl = \"http://x\"\nwatchdog_secs = 2\n";
    let found = problems(text);
    let keys: Vec<_> = found.iter().map(|p| (p.key.as_str(), p.line)).collect();
    assert_eq!(
        keys,
        vec![
            ("node.roles", Some(4)),
            ("broker.url", Some(6)),
            ("broker.watchdog_secs", Some(7))
        ]
    );
    let shown = ConfigReport {
        file: "test.toml".into(),
        problems: found,
    }
    .to_string();
    assert!(
        shown.contains("test.toml:6: broker.url: scheme \"http\" is not supported"),
        "{shown}"
    );
}

#[test]
fn syntax_errors_have_a_line() {
    let found = problems("[node]\nvenue = \"rialto\nid = 3\n");
    assert_eq!(found[0].key, "(syntax)");
    assert_eq!(found[0].line, Some(2));
}

#[test]
fn missing_node_section_is_named() {
    let found = problems("[broker]\nurl = \"mqtt://127.0.0.1:1883\"\n");
    assert_eq!(found[0].key, "node");
}

#[test]
fn every_shipped_example_loads() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("config/ exists") {
        let path = entry.expect("readable dir entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path).unwrap();
            load_str_without_file_checks(&text, &path).unwrap_or_else(|report| panic!("{report}"));
            seen += 1;
        }
    }
    assert!(
        seen >= 4,
        "expected an example per role plus demo.toml, found {seen}"
    );
}

#[test]
fn the_signage_example_documents_every_field() {
    use crate::config::{BrokerSection, DisplaySection};
    let example =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/signage.toml"))
            .unwrap();
    let mut fields: Vec<String> = Vec::new();
    for section in [
        serde_json::to_value(BrokerSection::default()).unwrap(),
        serde_json::to_value(DisplaySection::default()).unwrap(),
    ] {
        fields.extend(section.as_object().unwrap().keys().cloned());
    }
    fields.extend(["venue", "id", "name", "venue_name", "roles", "data_dir"].map(String::from));
    fields.extend(
        crate::protocol::TextField::NAMES
            .iter()
            .map(|name| name.to_string()),
    );
    for field in fields {
        let written = example.lines().any(|line| {
            line.trim_start_matches(['#', ' '])
                .starts_with(&format!("{field} ="))
        });
        assert!(
            written,
            "config/signage.toml does not show `{field}`; add it with a comment"
        );
    }
}

#[test]
fn the_console_example_documents_every_field() {
    use crate::config::ConsoleSection;
    let example =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/console.toml"))
            .unwrap();
    let section = serde_json::to_value(ConsoleSection::default()).unwrap();
    for field in section
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| *k != "managers")
    {
        // A field that is a table of its own is shown as its `[console.…]` header.
        let written = example.lines().any(|line| {
            let line = line.trim_start_matches(['#', ' ']);
            line.starts_with(&format!("{field} ="))
                || line.starts_with(&format!("[console.{field}]"))
        });
        assert!(
            written,
            "config/console.toml does not show `{field}`; add it with a comment"
        );
    }
    assert!(example.contains("[[console.managers]]"));
}

#[test]
fn the_detector_example_documents_every_field() {
    use crate::config::DetectionSection;
    let example =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/detector.toml"))
            .unwrap();
    let section = serde_json::to_value(DetectionSection::default()).unwrap();
    let probe = ["id", "target", "interval_secs", "timeout_ms", "ca_file"];
    let fields = section
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| *k != "probes");
    for field in fields.map(String::as_str).chain(probe) {
        let written = example.lines().any(|line| {
            line.trim_start_matches(['#', ' '])
                .starts_with(&format!("{field} ="))
        });
        assert!(
            written,
            "config/detector.toml does not show `{field}`; add it with a comment"
        );
    }
}

#[test]
fn detection_problems_are_named() {
    let text = "[node]\nvenue = \"v\"\nid = \"d\"\nroles = [\"detector\"]\n[detection]\npos_listen = \"0.0.0.0:8181\"\nquorum = 0\n[[detection.probes]]\nid = \"p\"\ntarget = \"ftp://x\"\n";
    let found = problems(text);
    let keys: Vec<&str> = found.iter().map(|p| p.key.as_str()).collect();
    for key in [
        "detection.pos_listen",
        "detection.quorum",
        "detection.probes.target",
    ] {
        assert!(keys.contains(&key), "{key} missing from {found:?}");
    }
    assert!(
        !found.iter().any(|p| p.message.contains("missing field")),
        "a value cut out for its own problem is not reported again as missing: {found:?}"
    );
    let without_sources = "[node]\nvenue = \"v\"\nid = \"d\"\nroles = [\"detector\"]\n";
    assert!(problems(without_sources)[0].message.contains("pos_listen"));
}

#[test]
fn console_problems_are_named() {
    let text = "[node]\nvenue = \"v\"\nid = \"c\"\nroles = [\"console\"]\n[console]\nsession_minutes = 2\nbusiness_day_starts = \"5am\"\ntls_key_file = \"k.pem\"\n[[console.managers]]\nname = \"Dana\"\npin_hash = \"1234\"\n";
    let found = problems(text);
    let keys: Vec<&str> = found.iter().map(|p| p.key.as_str()).collect();
    for key in [
        "console.session_minutes",
        "console.business_day_starts",
        "console.tls_cert_file",
        "console.managers",
    ] {
        assert!(keys.contains(&key), "{key} missing from {found:?}");
    }
    let without_managers = "[node]\nvenue = \"v\"\nid = \"c\"\nroles = [\"console\"]\n";
    assert!(problems(without_managers)[0].message.contains("hash-pin"));
}

#[test]
fn one_run_reports_every_problem_even_behind_a_broken_offer() {
    let text = "[node]\nvenue = \"v\"\nid = \"till\"\nroles = [\"counter\"]\n\
[broker]\nurl = \"mqtt://broker:1883/x\"\nkeep_alive_secs = 0\n\
[display]\nrotation = 45\nlanguages = [\"it\"]\n\
[counter]\nterminal = 200\nsecret_file = \"missing\"\nprinter = \"tcp://printer.local\"\n\
[[counter.offers]]\nid = \"popcorn\"\nnumber = 1\ntitle = \"Popcorn\"\n\
[[counter.offers]]\nid = \"soda\"\nnumber = 40\ntitle = \"Soda\"\nvalidity_days = 30\n\
[console]\nbusiness_day_starts = \"5am\"\n";
    let found = problems(text);
    let keys: Vec<(&str, Option<usize>)> = found.iter().map(|p| (p.key.as_str(), p.line)).collect();
    assert_eq!(
        keys,
        vec![
            ("broker.url", Some(6)),
            ("broker.keep_alive_secs", Some(7)),
            ("display.rotation", Some(9)),
            ("display.languages", Some(10)),
            ("counter.terminal", Some(12)),
            ("counter.secret_file", Some(13)),
            ("counter.printer", Some(14)),
            ("counter.offers", Some(15)),
            ("counter.offers", Some(15)),
            ("console.business_day_starts", Some(25)),
        ],
        "{found:#?}"
    );
    assert!(found[7].message.contains("validity_days"), "{found:#?}");
    assert!(
        found[8].message.contains("soda has number 40"),
        "{found:#?}"
    );
    let shown = ConfigReport {
        file: "till.toml".into(),
        problems: found,
    }
    .to_string();
    assert_eq!(shown.lines().count(), 10, "one problem per line:\n{shown}");
}

#[test]
fn accented_text_before_a_bad_value_keeps_keys_and_lines_right() {
    let text = "[node]\nvenue = \"v\"\nid = \"c\"\nvenue_name = \"Café Ñandú ’s\"\nroles = [\"console\"]\n[console]\nsession_minutes = \"x\"\n";
    let found = problems(text);
    let keys: Vec<(&str, Option<usize>)> = found.iter().map(|p| (p.key.as_str(), p.line)).collect();
    assert!(
        keys.contains(&("console.session_minutes", Some(7))),
        "{found:#?}"
    );
}

#[test]
fn sections_written_before_any_table_are_read() {
    let text = "broker = { url = \"mqtt://192.0.2.7:1884\" }\nmetrics.listen = \"127.0.0.1:9464\"\n[node]\nvenue = \"v\"\nid = \"s\"\nroles = [\"signage\"]\n";
    let config = load_str(text, Path::new("test.toml")).expect("a valid file");
    assert_eq!(config.broker.url.host, "192.0.2.7");
    assert_eq!(config.broker.url.port, 1884);
    assert!(config.metrics.listen.is_some());
}

#[test]
fn a_misspelt_text_is_named_on_its_own_line() {
    let text = "[node]\nvenue = \"v\"\nid = \"s\"\nroles = [\"signage\"]\n[texts.cash_only]\nheadline = \"Cash only\"\nheadlin = \"typo\"\n";
    let found = problems(text);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].key, "texts.cash_only.headlin", "{found:#?}");
    assert_eq!(found[0].line, Some(7), "{found:#?}");
}

#[test]
fn a_backend_this_build_cannot_draw_with_is_refused() {
    let text = "[node]\nvenue = \"rialto\"\nid = \"lobby-1\"\nroles = [\"signage\"]\n[display]\nbackend = \"kms\"\n";
    let result = load_str(text, Path::new("test.toml"));
    if cfg!(feature = "kms") {
        assert!(result.is_ok());
        return;
    }
    let found = result
        .expect_err("a dark screen must not pass check-config")
        .problems;
    assert_eq!(found[0].key, "display.backend");
    assert_eq!(found[0].line, Some(6));
    assert!(found[0].message.contains("--features kms"), "{found:?}");
}

#[test]
fn an_empty_part_of_the_cec_command_is_named() {
    let found = problems(
        "[node]\nvenue = \"rialto\"\nid = \"lobby-1\"\nroles = [\"signage\"]\n[display]\ncec_command = [\"cec-ctl\", \"\"]\n",
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].key, "display.cec_command");
}

#[test]
fn cap_problems_are_each_on_their_own_line_in_one_run() {
    let text = "[node]\nvenue = \"v\"\nid = \"till\"\nroles = [\"counter\"]\n\
[counter]\nterminal = 1\nsecret_file = \"missing\"\n\
[[counter.offers]]\nid = \"popcorn\"\nnumber = 1\ntitle = \"Popcorn\"\nvalidity_days = 30\n\
till_cap = 5\nper_incident_cap = 5\ntill_value_cap = \"20.00\"\nvenue_cap = 0\n\
[[counter.offers]]\nid = \"soda\"\nnumber = 2\ntitle = \"Soda\"\nvalidity_days = 30\n\
face_value = \"2.00\"\nvenue_value_cap = \"0\"\n\
[[counter.managers]]\nname = \"Dana\"\npin_hash = \"1234\"\n";
    let found = load_str_without_file_checks(text, Path::new("till.toml"))
        .expect_err("must be refused")
        .problems;
    let messages: Vec<&str> = found.iter().map(|p| p.message.as_str()).collect();
    for expected in [
        "offer popcorn sets both till_cap and per_incident_cap",
        "offer popcorn has venue_cap = 0",
        "offer popcorn has till_value_cap = \"20.00\" but no face_value",
        "offer soda has venue_value_cap = \"0.00\"",
        "the pin_hash of \"Dana\" is not an argon2 hash",
    ] {
        assert!(
            messages.iter().any(|m| m.contains(expected)),
            "{expected:?} missing from {messages:#?}"
        );
    }
    assert_eq!(found.len(), 5, "{found:#?}");
}
