//! Loading a config file and reporting *every* problem in it with its key and line, in
//! one run, as `raincheck check-config` promises. TOML deserialisation stops at the first
//! error, so each top-level section is read on its own (the other sections masked out,
//! byte offsets and lines kept); a bad value, or a bad element of an array of tables, is
//! reported and cut out and the section read again, so one mistake does not hide the
//! next. Then every section that could be read is checked for what serde cannot express
//! (each section's `check`, beside its struct).

use super::console::ConsoleSection;
use super::counter::CounterSection;
use super::detection::DetectionSection;
use super::display::DisplaySection;
use super::lan::{LanPermission, LanSection};
use super::metrics::MetricsSection;
use super::node::{NodeSection, Role};
use super::texts::TextsSection;
use super::{BrokerSection, NodeConfig};
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

mod locate;
use locate::{
    blank, find_key, line_of_key, line_of_offset, mask_by_section, missing_field, unknown_field,
};

/// One thing wrong with a config file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Dotted key ("broker.url"), or the section when the key is unknown.
    pub key: String,
    /// 1-based line, when the key appears in the file.
    pub line: Option<usize>,
    pub message: String,
}

/// Every problem found in one file, one per line when shown.
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

/// What a section's checks may consult beyond the section itself.
pub struct Checks {
    /// The config file's directory: relative paths are relative to it.
    pub base: PathBuf,
    /// Whether referenced files must exist (not for shipped examples and the demo).
    pub files: bool,
    roles: Vec<Role>,
}

impl Checks {
    /// Checks for a node with `roles` that do not look at files (for section tests).
    #[cfg(test)]
    pub fn for_roles(roles: &[Role]) -> Self {
        Self {
            base: PathBuf::from("."),
            files: false,
            roles: roles.to_vec(),
        }
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Reports `path` (relative to the config) if it is set but not a file.
    pub fn file_exists(&self, problems: &mut Problems, key: &str, path: &Option<PathBuf>) {
        if let Some(path) = path.as_ref().filter(|_| self.files) {
            let resolved = self.base.join(path);
            if !resolved.is_file() {
                problems.push(
                    key,
                    format!("{} does not exist or is not a file", resolved.display()),
                );
            }
        }
    }
}

/// Problems a section's checks found, by dotted key; their lines are looked up after.
#[derive(Default)]
pub struct Problems(Vec<(String, String)>);

impl Problems {
    pub fn push(&mut self, key: &str, message: impl Into<String>) {
        self.0.push((key.to_owned(), message.into()));
    }

    /// The keys with a problem, in order (for tests of one section's checks).
    #[cfg(test)]
    pub fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(key, _)| key.as_str()).collect()
    }

    /// The messages, in order (for tests of one section's checks).
    #[cfg(test)]
    pub fn messages(&self) -> Vec<String> {
        self.0.iter().map(|(_, message)| message.clone()).collect()
    }
}

const SECTIONS: [&str; 9] = [
    "node",
    "broker",
    "texts",
    "display",
    "counter",
    "console",
    "detection",
    "metrics",
    "lan",
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
    load_checking(text, origin, true)
}

/// Like [`load_str`] without checking that referenced files exist: for shipped examples
/// and the demo, whose files are made elsewhere.
pub fn load_str_without_file_checks(text: &str, origin: &Path) -> Result<NodeConfig, ConfigReport> {
    load_checking(text, origin, false)
}

/// The file being checked, and the problems found so far.
struct Reader<'a> {
    text: &'a str,
    document: toml_edit::ImDocument<String>,
    masked: BTreeMap<&'static str, String>,
    problems: Vec<ConfigProblem>,
}

fn load_checking(text: &str, origin: &Path, files: bool) -> Result<NodeConfig, ConfigReport> {
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
    let mut reader = Reader {
        text,
        masked: mask_by_section(text),
        document,
        problems: Vec::new(),
    };
    reader.unknown_sections();
    let node = reader.section::<NodeSection>("node");
    if matches!(node, Ok(None)) {
        reader.problems.push(ConfigProblem {
            key: "node".into(),
            line: None,
            message: "missing section [node]; it needs at least venue, id and roles".into(),
        });
    }
    let broker = reader.section::<BrokerSection>("broker");
    let texts = reader.section::<TextsSection>("texts");
    let display = reader.section::<DisplaySection>("display");
    let counter = reader.section::<CounterSection>("counter");
    let console = reader.section::<ConsoleSection>("console");
    let detection = reader.section::<DetectionSection>("detection");
    let metrics = reader.section::<MetricsSection>("metrics");
    let lan = reader.section::<LanSection>("lan");

    let node = node.ok().flatten();
    let checks = Checks {
        base: origin.parent().unwrap_or(Path::new(".")).to_owned(),
        files,
        roles: node.as_ref().map(|n| n.roles.clone()).unwrap_or_default(),
    };
    let mut found = Problems::default();
    // Each section that could be read is checked, whatever happened to the others.
    if let Some(node) = &node {
        node.check(&checks, &mut found);
    }
    if let Ok(broker) = &broker {
        broker
            .clone()
            .unwrap_or_default()
            .check(&checks, &mut found);
    }
    if let Ok(texts) = &texts {
        texts.clone().unwrap_or_default().check(&checks, &mut found);
    }
    if let Ok(display) = &display {
        display
            .clone()
            .unwrap_or_default()
            .check(&checks, &mut found);
    }
    match &counter {
        Ok(Some(counter)) => {
            counter.check(&checks, &mut found);
            // The counter speaks the screen languages this node has texts for.
            if let (Some(language), Ok(display)) = (&counter.language, &display) {
                let languages = display.as_ref().map_or_else(
                    || DisplaySection::default().languages,
                    |d| d.languages.clone(),
                );
                if !languages.contains(language) {
                    found.push(
                        "counter.language",
                        format!("{language:?} is not one of display.languages {languages:?}"),
                    );
                }
            }
        }
        Ok(None) => CounterSection::check_absent(&checks, &mut found),
        Err(()) => {}
    }
    if let Ok(console) = &console {
        console
            .clone()
            .unwrap_or_default()
            .check(&checks, &mut found);
    }
    // POS reports may come over the LAN instead of (or besides) the loopback endpoint.
    let lan_reports = matches!(&lan, Ok(Some(lan)) if lan.grants(LanPermission::Payments));
    if let Ok(detection) = &detection {
        detection
            .clone()
            .unwrap_or_default()
            .check(&checks, lan_reports, &mut found);
    }
    if let Ok(Some(lan)) = &lan {
        lan.check(&checks, &mut found);
    }
    for (key, message) in found.0 {
        let line = line_of_key(&reader.document, text, &key);
        reader.problems.push(ConfigProblem { key, line, message });
    }
    let mut problems = reader.problems;
    // In the order of the file, so a technician can fix them top to bottom.
    problems.sort_by_key(|problem| problem.line.unwrap_or(usize::MAX));
    match (
        node, broker, texts, display, counter, console, detection, metrics, lan,
    ) {
        (
            Some(node),
            Ok(broker),
            Ok(texts),
            Ok(display),
            Ok(counter),
            Ok(console),
            Ok(detection),
            Ok(metrics),
            Ok(lan),
        ) if problems.is_empty() => Ok(NodeConfig {
            node,
            broker: broker.unwrap_or_default(),
            texts: texts.unwrap_or_default(),
            display: display.unwrap_or_default(),
            counter,
            console: console.unwrap_or_default(),
            detection: detection.unwrap_or_default(),
            metrics: metrics.unwrap_or_default(),
            lan,
        }),
        _ => Err(report(problems)),
    }
}

impl Reader<'_> {
    fn unknown_sections(&mut self) {
        for (key, item) in self.document.as_table().iter() {
            if !SECTIONS.contains(&key) {
                let span = item
                    .span()
                    .or_else(|| self.document.as_table().key(key).and_then(|k| k.span()));
                self.problems.push(ConfigProblem {
                    key: key.to_owned(),
                    line: span.map(|span| line_of_offset(self.text, span.start)),
                    message: format!(
                        "unknown section or key; the sections are {}",
                        SECTIONS.join(", ")
                    ),
                });
            }
        }
    }

    /// Reads one top-level section: `Ok(None)` when it is absent, `Err(())` when it
    /// cannot be read even with its bad parts cut out (a required key is missing).
    fn section<T: DeserializeOwned>(&mut self, name: &'static str) -> Result<Option<T>, ()> {
        let Some(mut working) = self.masked.get(name).cloned() else {
            return Ok(None);
        };
        if working.trim().is_empty() {
            return Ok(None);
        }
        let mut cut: Vec<(String, Range<usize>)> = Vec::new();
        loop {
            let error = match toml::from_str::<BTreeMap<String, T>>(&working) {
                Ok(mut sections) => return Ok(sections.remove(name)),
                Err(error) => error,
            };
            let span = error.span();
            // A required key that was cut out for its own problem is missing now: that is
            // the same problem, already reported. In an element of an array of tables, the
            // element goes too and the rest is read; at the section's top, it cannot be read.
            let missing = missing_field(error.message());
            if cut.iter().any(|(path, _)| {
                missing.is_some_and(|field| path.rsplit('.').next() == Some(field))
            }) {
                match span.clone().and_then(|span| self.enclosing(span)) {
                    Some((path, range))
                        if self.text[range.clone()].starts_with("[[")
                            && !cut.iter().any(|(_, done)| *done == range) =>
                    {
                        blank(&mut working, range.clone());
                        cut.push((path, range));
                        continue;
                    }
                    _ => return Err(()),
                }
            }
            let found = span.clone().and_then(|span| self.enclosing(span));
            let key = match (&found, unknown_field(error.message())) {
                (Some((path, _)), _) => path.clone(),
                (None, Some(field)) => format!("{name}.{field}"),
                (None, None) => name.to_owned(),
            };
            let line = match &found {
                Some((_, range)) => Some(line_of_offset(self.text, range.start)),
                None => span.map(|span| line_of_offset(self.text, span.start)),
            };
            self.problems.push(ConfigProblem {
                key,
                line,
                message: error.message().to_owned(),
            });
            // Cut the bad part out and read the rest again, unless that was tried.
            match found {
                Some((path, range)) if !cut.iter().any(|(_, done)| *done == range) => {
                    blank(&mut working, range.clone());
                    cut.push((path, range));
                }
                _ => return Err(()),
            }
        }
    }

    /// The innermost key (with its value), or element of an array of tables, around
    /// an error's span: its dotted path and byte range.
    fn enclosing(&self, span: Range<usize>) -> Option<(String, Range<usize>)> {
        // An error about a whole element of an array of tables (a missing field): the
        // element, named by its array.
        if self.text.get(span.clone())?.starts_with("[[") {
            let header = self.text[span.clone()].lines().next()?;
            let path = header
                .trim()
                .trim_start_matches("[[")
                .trim_end_matches("]]");
            return Some((path.trim().to_owned(), span));
        }
        let mut best = None;
        find_key(self.document.as_table(), "", span.start, &mut best);
        best
    }
}
