//! Node configuration: one TOML file per node, one serde struct per section in its own
//! file with the checks serde cannot express beside it, typed values that parse when the
//! file is loaded (broker URL, printer, probe target, time of day), every field
//! documented and defaulted where a default is safe. `load` reports every problem of a
//! file in one run with its key and line. `config/*.toml` are the commented examples; a
//! test loads each of them so they cannot drift from these structs.

/// Serde for a config value written as one string: it deserialises through the type's
/// `FromStr` (so a bad value is refused at load, with the parser's sentence) and
/// serialises through its `Display`, which writes the same form back.
macro_rules! string_value {
    ($type:ty) => {
        impl serde::Serialize for $type {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $type {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

mod broker;
mod console;
mod counter;
mod counter_screen;
mod detection;
mod display;
mod feeds;
mod lan;
mod load;
mod metrics;
mod money;
mod node;
#[cfg(test)]
mod tests;
mod texts;
mod web_screens;
mod webhooks;

pub use crate::machine_keys::{
    access_key_hash, is_access_key_hash, new_access_key, KEY_HASH_PREFIX,
};
pub use broker::{BrokerMode, BrokerSection, BrokerUrl};
pub use console::{ConsoleSection, ManagerAccount, TimeOfDay, MAX_MANAGER_NAME};
pub use counter::{
    CounterSection, OfferConfig, OfflineRedemption, PrinterTarget, DEFAULT_PRINTER_PORT,
};
pub use counter_screen::{CounterWords, MAX_WORDS_CHARS};
pub use detection::{DetectionSection, ProbeConfig, ProbeTarget, ResolvePolicy};
pub use display::{DisplaySection, NormalStyle, ScreenBackend, SCREEN_LANGUAGES};
pub use feeds::{FeedKey, FeedsSection};
pub use lan::{
    is_staff_number, LanClient, LanPermission, LanSection, StaffAccount, WebCounterSection,
    MAX_LAN_CLIENTS, MAX_WEB_COUNTER_STAFF,
};
pub use load::{load, load_str, load_str_without_file_checks, ConfigProblem, ConfigReport};
pub use metrics::MetricsSection;
pub use money::{is_currency_code, Money};
pub use node::{NodeSection, Role};
pub use texts::{ModeTexts, TextsSection};
pub use web_screens::{WebLayout, WebScreenConfig, MAX_WEB_SCREENS};
pub use webhooks::{HookEvent, WebhookEndpoint, WebhookUrl, MAX_WEBHOOKS};

use serde::{Deserialize, Serialize};

/// A whole node configuration file.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Who this node is and what it does.
    pub node: NodeSection,
    /// How this node reaches the venue's MQTT broker.
    #[serde(default)]
    pub broker: BrokerSection,
    /// Default texts per mode, used when a declaration carries none.
    #[serde(default)]
    pub texts: TextsSection,
    /// Screen settings for the `signage` and `counter` roles.
    #[serde(default)]
    pub display: DisplaySection,
    /// Voucher settings for the `counter` role (required there). A console with this
    /// section keeps a replica of the venue's vouchers and offers them to managers.
    #[serde(default)]
    pub counter: Option<CounterSection>,
    /// The manager's web console, for nodes with the `console` role.
    #[serde(default)]
    pub console: ConsoleSection,
    /// Automatic payment-failure detection, for nodes with the `detector` role.
    #[serde(default)]
    pub detection: DetectionSection,
    /// The Prometheus metrics and health endpoint.
    #[serde(default)]
    pub metrics: MetricsSection,
    /// The listener on the venue LAN for POS servers, tills and the web counter; absent
    /// means none.
    #[serde(default)]
    pub lan: Option<LanSection>,
}

impl NodeConfig {
    pub fn has_role(&self, role: Role) -> bool {
        self.node.roles.contains(&role)
    }

    /// The node's human name, falling back to its id.
    pub fn display_name(&self) -> String {
        self.node
            .name
            .clone()
            .unwrap_or_else(|| self.node.id.to_string())
    }
}
