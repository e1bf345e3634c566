//! The `raincheck` binary: parse the command line, set up logging, hand over to the
//! command. Errors end on stderr, one problem per line, with exit status 1.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    raincheck::clock::capture_local_offset();
    let cli = raincheck::cli::Cli::parse();
    let long_running = matches!(
        cli.command,
        raincheck::cli::Command::Run { .. }
            | raincheck::cli::Command::Demo(_)
            | raincheck::cli::Command::Bench { .. }
    );
    raincheck::logging::init_logging(cli.verbose, long_running);
    match raincheck::commands::dispatch(cli) {
        Ok(code) => code,
        Err(error) => {
            // One problem per line (a config report lists every problem of a file).
            for line in format!("{error:#}").lines() {
                eprintln!("error: {line}");
            }
            ExitCode::FAILURE
        }
    }
}
