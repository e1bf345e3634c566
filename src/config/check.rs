//! Loading a config file and reporting *every* problem in it with its key and line, as
//! `raincheck check-config` promises. TOML deserialisation stops at the first error, so
//! each top-level section is deserialised on its own (other sections blanked out, line
//! numbers preserved), then the whole file is checked for what serde cannot express.

use super::sections::{BrokerMode, BrokerUrl, NodeConfig, SCREEN_LANGUAGES};
use crate::protocol::IncidentTexts;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// One thing wrong with a config file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Dotted key ("broker.url"), or the section when the key is unknown.
    pub key: String,
    /// 1-based line, when the key appears in the file.
    pub line: Option<usize>,
    pub message: String,
}

/// Every problem found in one file.
#[derive(Clone, Debug)]
pub struct ConfigReport {
    pub file: PathBuf,
    pub problems: Vec<ConfigProblem>,
}

impl fmt::Display for ConfigReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, problem) in self.problems.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            let file = self.file.display();
            match problem.line {
                Some(line) => write!(f, "{file}:{line}: {}: {}", problem.key, problem.message)?,
                None => write!(f, "{file}: {}: {}", problem.key, problem.message)?,
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConfigReport {}

const SECTIONS: [&str; 8] = [
    "node",
    "broker",
    "texts",
    "display",
    "counter",
    "console",
    "detection",
    "metrics",
];

/// Reads and checks a config file.
pub fn load(path: &Path) -> Result<NodeConfig, ConfigReport> {
    let text = std::fs::read_to_string(path).map_err(|error| ConfigReport {
        file: path.to_owned(),
        problems: vec![ConfigProblem {
            key: "(file)".into(),
            line: None,
            message: format!("cannot read it: {error}; check the path and permissions"),
        }],
    })?;
    load_str(&text, path)
}

/// Checks config text; `origin` names it in reports and anchors relative paths.
pub fn load_str(text: &str, origin: &Path) -> Result<NodeConfig, ConfigReport> {
    load_checking(text, origin, FileChecks::Yes)
}

/// Like [`load_str`] without checking that referenced files exist: for shipped examples
/// and the demo, whose files are made elsewhere.
pub fn load_str_without_file_checks(text: &str, origin: &Path) -> Result<NodeConfig, ConfigReport> {
    load_checking(text, origin, FileChecks::No)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FileChecks {
    Yes,
    No,
}

fn load_checking(text: &str, origin: &Path, files: FileChecks) -> Result<NodeConfig, ConfigReport> {
    let report = |problems| ConfigReport {
        file: origin.to_owned(),
        problems,
    };
    let document = match toml_edit::ImDocument::parse(text.to_owned()) {
        Ok(document) => document,
        Err(error) => {
            let line = error.span().map(|span| line_of_offset(text, span.start));
            return Err(report(vec![ConfigProblem {
                key: "(syntax)".into(),
                line,
                message: error.message().trim().to_owned(),
            }]));
        }
    };
    let mut problems = Vec::new();
    for (key, item) in document.as_table().iter() {
        if !SECTIONS.contains(&key) {
            let line = item
                .span()
                .or_else(|| document.as_table().key(key).and_then(|k| k.span()));
            problems.push(ConfigProblem {
                key: key.to_owned(),
                line: line.map(|span| line_of_offset(text, span.start)),
                message: format!(
                    "unknown section or key; the sections are {}",
                    SECTIONS.join(", ")
                ),
            });
        }
    }
    let masked = mask_by_section(text);
    use super::sections::{BrokerSection, DisplaySection, NodeSection, TextsSection};
    check_section::<NodeSection>("node", &masked, &document, &mut problems);
    check_section::<BrokerSection>("broker", &masked, &document, &mut problems);
    check_section::<TextsSection>("texts", &masked, &document, &mut problems);
    check_section::<DisplaySection>("display", &masked, &document, &mut problems);
    check_section::<super::sections::CounterSection>("counter", &masked, &document, &mut problems);
    check_section::<super::sections::ConsoleSection>("console", &masked, &document, &mut problems);
    check_section::<super::sections::MetricsSection>("metrics", &masked, &document, &mut problems);
    check_section::<super::sections::DetectionSection>(
        "detection",
        &masked,
        &document,
        &mut problems,
    );
    if !problems.is_empty() {
        return Err(report(problems));
    }
    let config: NodeConfig = match toml::from_str(text) {
        Ok(config) => config,
        Err(error) => {
            let line = error.span().map(|span| line_of_offset(text, span.start));
            return Err(report(vec![ConfigProblem {
                key: "(file)".into(),
                line,
                message: error.message().to_owned(),
            }]));
        }
    };
    for (key, message) in semantic_problems(&config, origin, files) {
        let line = line_of_key(&document, text, &key);
        problems.push(ConfigProblem { key, line, message });
    }
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(report(problems))
    }
}

/// For each top-level section, the file's text with every other section's lines blanked,
/// so a section can be deserialised alone with its real line numbers.
fn mask_by_section(text: &str) -> BTreeMap<String, String> {
    let mut owners: Vec<Option<String>> = Vec::new();
    let mut current: Option<String> = None;
    let mut in_multiline: Option<&str> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if in_multiline.is_none() && trimmed.starts_with('[') {
            let name: String = trimmed
                .trim_start_matches('[')
                .trim_start()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                .collect();
            current = Some(name);
        }
        owners.push(current.clone());
        for quote in ["\"\"\"", "'''"] {
            if line.matches(quote).count() % 2 == 1 {
                in_multiline = match in_multiline {
                    Some(open) if open == quote => None,
                    None => Some(quote),
                    other => other,
                };
            }
        }
    }
    let mut masked = BTreeMap::new();
    for section in SECTIONS {
        let kept: Vec<&str> = text
            .lines()
            .zip(&owners)
            .map(|(line, owner)| {
                if owner.as_deref() == Some(section) {
                    line
                } else {
                    ""
                }
            })
            .collect();
        masked.insert(section.to_owned(), kept.join("\n"));
    }
    masked
}

fn check_section<T: DeserializeOwned>(
    section: &str,
    masked: &BTreeMap<String, String>,
    document: &toml_edit::ImDocument<String>,
    problems: &mut Vec<ConfigProblem>,
) {
    let text = document.raw();
    let Some(alone) = masked.get(section) else {
        return;
    };
    if alone.trim().is_empty() {
        if section == "node" {
            problems.push(ConfigProblem {
                key: "node".into(),
                line: None,
                message: "missing section [node]; it needs at least venue, id and roles".into(),
            });
        }
        return;
    }
    if let Err(error) = toml::from_str::<BTreeMap<String, T>>(alone) {
        let line = error.span().map(|span| line_of_offset(alone, span.start));
        let named = error
            .message()
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(field, _)| field.to_owned());
        let key = named
            .or_else(|| key_at_line(text, line))
            .map(|k| format!("{section}.{k}"))
            .unwrap_or_else(|| section.to_owned());
        let line = match line {
            Some(line) if key_at_line(text, Some(line)).is_some() => Some(line),
            _ => line_of_key(document, text, &key).or(line),
        };
        problems.push(ConfigProblem {
            key,
            line,
            message: error.message().to_owned(),
        });
    }
}

/// Checks serde cannot express: cross-field rules, URLs, files, text lengths.
fn semantic_problems(
    config: &NodeConfig,
    origin: &Path,
    files: FileChecks,
) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    let mut push = |key: &str, message: String| problems.push((key.to_owned(), message));
    if config.node.roles.is_empty() {
        push(
            "node.roles",
            "no roles; list at least one of \"signage\", \"counter\", \"console\", \"detector\""
                .into(),
        );
    }
    let mut roles = config.node.roles.clone();
    roles.sort();
    roles.dedup();
    if roles.len() != config.node.roles.len() {
        push("node.roles", "a role is listed twice".into());
    }
    let broker = &config.broker;
    if broker.mode == BrokerMode::External {
        if let Err(message) = BrokerUrl::parse(&broker.url) {
            push("broker.url", message);
        }
    }
    if !(1..=3600).contains(&broker.keep_alive_secs) {
        push(
            "broker.keep_alive_secs",
            format!("{} is out of range; use 1 to 3600", broker.keep_alive_secs),
        );
    }
    if broker.watchdog_secs <= broker.keep_alive_secs {
        push(
            "broker.watchdog_secs",
            format!(
                "{} must exceed keep_alive_secs ({}), or a healthy link would be cut between pings",
                broker.watchdog_secs, broker.keep_alive_secs
            ),
        );
    }
    if broker.reconnect_min_ms == 0 || broker.reconnect_min_ms > broker.reconnect_max_ms {
        push(
            "broker.reconnect_min_ms",
            "must be at least 1 and at most reconnect_max_ms".into(),
        );
    }
    let base = origin.parent().unwrap_or(Path::new("."));
    for (key, path) in [
        ("broker.password_file", &broker.password_file),
        ("broker.ca_file", &broker.ca_file),
    ] {
        if let Some(path) = path.as_ref().filter(|_| files == FileChecks::Yes) {
            let resolved = base.join(path);
            if !resolved.is_file() {
                push(
                    key,
                    format!("{} does not exist or is not a file", resolved.display()),
                );
            }
        }
    }
    if broker.password_file.is_some() && broker.username.is_none() {
        push(
            "broker.username",
            "password_file is set but username is not".into(),
        );
    }
    let texts = &config.texts;
    for (mode, mode_texts) in [
        ("normal", &texts.normal),
        ("cash_only", &texts.cash_only),
        ("all_clear", &texts.all_clear),
    ] {
        for (field, value) in mode_texts.fields() {
            let chars = value.as_deref().map(|v| v.chars().count()).unwrap_or(0);
            if chars > IncidentTexts::MAX_CHARS {
                push(
                    &format!("texts.{mode}.{field}"),
                    format!(
                        "{chars} characters; the limit is {}",
                        IncidentTexts::MAX_CHARS
                    ),
                );
            }
        }
    }
    check_counter(config, base_dir(origin), files, &mut push);
    super::check_detection::check_detection(config, &mut push);
    super::check_console::check_console(
        config,
        base_dir(origin),
        files == FileChecks::Yes,
        &mut push,
    );
    let display = &config.display;
    if ![0, 90, 180, 270].contains(&display.rotation) {
        push(
            "display.rotation",
            format!("{} is not one of 0, 90, 180, 270", display.rotation),
        );
    }
    if display.languages.is_empty() {
        push(
            "display.languages",
            format!("no languages; list at least one of {:?}", SCREEN_LANGUAGES),
        );
    }
    for language in &display.languages {
        if !SCREEN_LANGUAGES.contains(&language.as_str()) {
            push(
                "display.languages",
                format!(
                    "{language:?} has no bundled texts; use {:?}",
                    SCREEN_LANGUAGES
                ),
            );
        }
    }
    if display.language_secs < 3 {
        push(
            "display.language_secs",
            "must be at least 3, or guests cannot finish reading".into(),
        );
    }
    if !(80..=640).contains(&display.thumbnail_width) {
        push(
            "display.thumbnail_width",
            format!("{} is out of range; use 80 to 640", display.thumbnail_width),
        );
    }
    if display.thumbnail_secs < 5 {
        push("display.thumbnail_secs", "must be at least 5".into());
    }
    problems
}

fn base_dir(origin: &Path) -> &Path {
    origin.parent().unwrap_or(Path::new("."))
}

fn check_counter(
    config: &NodeConfig,
    base: &Path,
    files: FileChecks,
    push: &mut impl FnMut(&str, String),
) {
    use super::sections::Role;
    let Some(counter) = &config.counter else {
        if config.has_role(Role::Counter) {
            push(
                "counter",
                "the counter role needs a [counter] section (terminal, secret_file, offers)".into(),
            );
        }
        return;
    };
    if !(1..=127).contains(&counter.terminal) {
        push(
            "counter.terminal",
            format!("{} is out of range; use 1 to 127", counter.terminal),
        );
    }
    let secret = base.join(&counter.secret_file);
    match std::fs::metadata(&secret) {
        _ if files == FileChecks::No => {}
        Err(_) => push("counter.secret_file", format!("{} does not exist; create it with `head -c 32 /dev/urandom > FILE && chmod 600 FILE` and copy it to every terminal", secret.display())),
        Ok(metadata) => {
            use std::os::unix::fs::PermissionsExt;
            if metadata.permissions().mode() & 0o077 != 0 {
                push("counter.secret_file", format!("{} is readable by other users; run: chmod 600 {}", secret.display(), secret.display()));
            } else if metadata.len() < 16 {
                push("counter.secret_file", "holds fewer than 16 bytes; use at least 32 random bytes".into());
            }
        }
    }
    if let Some(address) = counter.api_listen.filter(|a| !a.ip().is_loopback()) {
        push(
            "counter.api_listen",
            format!("{address} is not a loopback address; the counter API is for software on this machine (127.0.0.1)"),
        );
    }
    if counter.offers.is_empty() {
        push(
            "counter.offers",
            "no offers; add at least one [[counter.offers]]".into(),
        );
    }
    let mut numbers = std::collections::BTreeSet::new();
    let mut ids = std::collections::BTreeSet::new();
    for offer in &counter.offers {
        if !(1..=31).contains(&offer.number) {
            push(
                "counter.offers",
                format!(
                    "offer {} has number {}; use 1 to 31",
                    offer.id, offer.number
                ),
            );
        }
        if !numbers.insert(offer.number) {
            push(
                "counter.offers",
                format!("number {} is used by two offers", offer.number),
            );
        }
        if !ids.insert(offer.id.clone()) {
            push(
                "counter.offers",
                format!("id {} is used by two offers", offer.id),
            );
        }
        if !(1..=3650).contains(&offer.validity_days) {
            push(
                "counter.offers",
                format!(
                    "offer {} is valid for {} days; use 1 to 3650",
                    offer.id, offer.validity_days
                ),
            );
        }
        if offer.title.trim().is_empty() || offer.title.chars().count() > 120 {
            push(
                "counter.offers",
                format!("offer {} needs a title of 1 to 120 characters", offer.id),
            );
        }
    }
    if let Some(printer) = &counter.printer {
        if !(printer.starts_with("tcp://") || printer.starts_with('/')) {
            push(
                "counter.printer",
                "use tcp://HOST:PORT or a device path such as /dev/usb/lp0".into(),
            );
        }
    }
}

fn line_of_offset(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The bare key written on a line ("url = …" → "url"), to name the key of a serde error.
fn key_at_line(text: &str, line: Option<usize>) -> Option<String> {
    let content = text.lines().nth(line?.checked_sub(1)?)?;
    let (key, _) = content.split_once('=')?;
    let key = key.trim();
    (!key.is_empty() && !key.starts_with('[')).then(|| key.to_owned())
}

/// The line where a dotted key is written, if it is written at all.
fn line_of_key(
    document: &toml_edit::ImDocument<String>,
    text: &str,
    dotted: &str,
) -> Option<usize> {
    let mut table: &dyn toml_edit::TableLike = document.as_table();
    let mut parts = dotted.split('.').peekable();
    while let Some(part) = parts.next() {
        let (key, item) = table.get_key_value(part)?;
        if parts.peek().is_none() {
            let span = key.span().or_else(|| item.span())?;
            return Some(line_of_offset(text, span.start));
        }
        table = item.as_table_like()?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

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
                load_str_without_file_checks(&text, &path)
                    .unwrap_or_else(|report| panic!("{report}"));
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
        use crate::config::{BrokerSection, DisplaySection, ModeTexts};
        let example = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("config/signage.toml"),
        )
        .unwrap();
        let mut fields: Vec<String> = Vec::new();
        for section in [
            serde_json::to_value(BrokerSection::default()).unwrap(),
            serde_json::to_value(DisplaySection::default()).unwrap(),
            serde_json::to_value(ModeTexts::default()).unwrap(),
        ] {
            fields.extend(section.as_object().unwrap().keys().cloned());
        }
        fields.extend(["venue", "id", "name", "venue_name", "roles", "data_dir"].map(String::from));
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
        let example = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("config/console.toml"),
        )
        .unwrap();
        let section = serde_json::to_value(ConsoleSection::default()).unwrap();
        for field in section
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| *k != "managers")
        {
            let written = example.lines().any(|line| {
                line.trim_start_matches(['#', ' '])
                    .starts_with(&format!("{field} ="))
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
        let example = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("config/detector.toml"),
        )
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
            "detection.probes",
        ] {
            assert!(keys.contains(&key), "{key} missing from {found:?}");
        }
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
    fn broker_urls() {
        assert_eq!(
            BrokerUrl::parse("mqtt://127.0.0.1:1883").unwrap().port,
            1883
        );
        assert!(BrokerUrl::parse("mqtts://broker.local").unwrap().tls);
        assert_eq!(BrokerUrl::parse("mqtts://broker.local").unwrap().port, 8883);
        assert!(BrokerUrl::parse("broker.local").is_err());
        assert!(BrokerUrl::parse("mqtt://:1883").is_err());
        assert!(BrokerUrl::parse("mqtt://h:99999").is_err());
        let with_password = BrokerUrl::parse("mqtt://user:hunter22@h:1883").unwrap_err();
        assert!(!with_password.contains("hunter22"), "{with_password}");
    }
}
