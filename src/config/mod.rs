//! Node configuration: one TOML file per node, one serde struct per section, every field
//! documented and defaulted where a default is safe. `config/*.toml` are the commented
//! examples; a test loads each of them through [`load`] so they cannot drift from these
//! structs. Loading collects every problem with its key and line (see `check`).

mod check;
mod check_console;
mod check_detection;
mod sections;

pub use check::{load, load_str, load_str_without_file_checks, ConfigProblem, ConfigReport};
pub use check_console::MAX_MANAGER_NAME;
pub use sections::{
    BrokerMode, BrokerSection, BrokerUrl, ConsoleSection, CounterSection, DetectionSection,
    DisplaySection, ManagerAccount, ModeTexts, NodeConfig, NodeSection, NormalStyle, OfferConfig,
    OfflineRedemption, ProbeConfig, ResolvePolicy, Role, ScreenBackend, TextsSection,
    SCREEN_LANGUAGES,
};
