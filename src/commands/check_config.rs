//! `raincheck check-config FILE…`: every problem of every file, with key and line; exit
//! status 1 if any file has one.

use std::path::PathBuf;
use std::process::ExitCode;

pub fn run(files: &[PathBuf]) -> ExitCode {
    let mut failed = false;
    for file in files {
        match crate::config::load(file) {
            Ok(config) => println!(
                "{}: ok (venue {}, node {}, roles {:?})",
                file.display(),
                config.node.venue,
                config.node.id,
                config.node.roles
            ),
            Err(report) => {
                failed = true;
                eprintln!("{report}");
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
