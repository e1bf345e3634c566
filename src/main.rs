//! The `raincheck` binary: parse the command line, set up logging, hand over to the
//! command. Errors end as one line on stderr and exit status 1.

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
            eprintln!("error: {}", format!("{error:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}
