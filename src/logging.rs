//! Logging through tracing: readable with colours on a terminal, and without timestamps
//! or colours under systemd (journald stamps lines itself and `JOURNAL_STREAM` tells us
//! we are there). `RUST_LOG` overrides the default level.

use tracing_subscriber::EnvFilter;

/// `long_running` nodes log at info; one-shot commands only log errors, since their
/// outcome is their one line of output.
pub fn init_logging(verbose: bool, long_running: bool) {
    let default = match (verbose, long_running) {
        // rumqttd logs every ordinary client disconnect as an error; hear it only on -v.
        (true, _) => "debug,rumqttd=warn",
        (false, true) => "info,rumqttd=off",
        (false, false) => "error",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let under_journald = std::env::var_os("JOURNAL_STREAM").is_some();
    let on_terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let result = if under_journald {
        builder.without_time().with_ansi(false).try_init()
    } else {
        builder.with_ansi(on_terminal).try_init()
    };
    // A second initialisation (tests) keeps the first subscriber; nothing to report.
    drop(result);
}
