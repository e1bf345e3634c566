//! Screen and counter node processes for the chaos scenarios: a screen with a metrics
//! endpoint, a counter with its local API, both restartable and killable.

use super::*;

/// A signage screen process with a Prometheus endpoint.
pub struct Screen {
    pub node: NodeProcess,
    pub metrics: String,
}

pub fn start_screen(directory: &Path, name: &str, url: &str) -> Screen {
    let metrics = format!("127.0.0.1:{}", free_port());
    let config = write_config(
        directory,
        name,
        &format!(
            "[broker]\nurl = \"{url}\"\nkeep_alive_secs = 2\nwatchdog_secs = 6\nreconnect_min_ms = 50\nreconnect_max_ms = 500\n\
             [display]\nbackend = \"offscreen\"\n[metrics]\nlisten = \"{metrics}\"\n"
        ),
    );
    Screen {
        node: NodeProcess::start_with(name, config),
        metrics,
    }
}

pub fn start_screens(directory: &Path, names: &[&str], url: &str) -> Vec<Screen> {
    names
        .iter()
        .map(|name| start_screen(directory, name, url))
        .collect()
}

/// A counter terminal process (role counter, offline redemption allowed, the local API on).
pub struct Counter {
    pub name: String,
    pub config: PathBuf,
    pub api: CounterApi,
    node: NodeProcess,
}

/// Writes a counter's config: the shared venue secret, `broker`, and an API port.
pub fn counter_config(directory: &Path, name: &str, terminal: u8, broker: &str) -> (PathBuf, u16) {
    let path = write_counter_config(directory, name, terminal, "allow", Some(broker));
    let port = free_port();
    let mut text = std::fs::read_to_string(&path).expect("read the counter config");
    let offers = text
        .find("[[counter.offers]]")
        .expect("offers in the counter config");
    text.insert_str(offers, &format!("api_listen = \"127.0.0.1:{port}\"\n"));
    std::fs::write(&path, text).expect("write the counter config");
    (path, port)
}

impl Counter {
    pub fn start(directory: &Path, name: &str, terminal: u8, broker: &str) -> Self {
        Self::start_with_env(directory, name, terminal, broker, &[])
    }

    /// A counter whose process runs with extra environment (libfaketime's clock offset).
    pub fn start_with_env(
        directory: &Path,
        name: &str,
        terminal: u8,
        broker: &str,
        env: &[(&str, String)],
    ) -> Self {
        let (config, port) = counter_config(directory, name, terminal, broker);
        Self {
            name: name.to_owned(),
            node: NodeProcess::start_with_env(name, config.clone(), env),
            config,
            api: CounterApi {
                base: format!("http://127.0.0.1:{port}"),
                http: http_client(),
            },
        }
    }

    pub fn pid(&self) -> u32 {
        self.node.pid()
    }

    /// SIGKILL: no goodbye, the broker's last wills speak for the counter.
    pub fn kill_hard(&mut self) {
        self.node.kill_hard();
    }

    /// A fresh process on the same config, store and environment (killing the old one if
    /// running).
    pub fn restart(&mut self) {
        self.node.restart();
    }

    /// SIGTERM and wait (bounded): the store's lock is free afterwards.
    pub fn stop(&mut self) {
        assert!(
            self.node.terminate(),
            "counter {} did not stop cleanly",
            self.name
        );
    }
}
