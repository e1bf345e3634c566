//! What each CLI command does. Every command ends in either success or one clear error
//! line and a non-zero exit (see `main.rs`).

pub mod check_config;
pub mod console;
pub mod demo;
pub mod drill;
pub mod incident;
pub mod lan;
pub mod node;
pub mod payments;
pub mod report;
pub mod status;
pub mod target;
pub mod voucher;

use crate::cli::{Cli, Command, IncidentAction, PaymentsAction};
use anyhow::{Context, Result};
use std::path::Path;
use std::process::ExitCode;

pub fn dispatch(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Run { config } => {
            let node_config =
                crate::config::load(&config).map_err(|report| anyhow::anyhow!("{report}"))?;
            let dir = config.parent().unwrap_or(Path::new(".")).to_owned();
            crate::app::run_daemon(node_config, &dir)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo(args) => demo::run(args),
        Command::CheckConfig { files } => Ok(check_config::run(&files)),
        Command::Incident { action } => block_on(async move {
            match action {
                IncidentAction::Start(args) => incident::start(args).await,
                IncidentAction::Update(args) => incident::update(args).await,
                IncidentAction::Resolve(args) => incident::resolve(args).await,
            }
        }),
        Command::Payments {
            action:
                PaymentsAction::Report {
                    status,
                    source,
                    detail,
                    bus,
                },
        } => block_on(payments::report(status, source, detail, bus)),
        Command::Status { bus, json } => block_on(status::status(bus, json)),
        Command::Watch { bus } => block_on(status::watch(bus)),
        Command::Voucher { config, action } => voucher::run(config, action),
        Command::Node {
            action: crate::cli::NodeAction::Forget { id, undo, bus },
        } => block_on(node::forget(id, undo, bus)),
        Command::Console {
            action: crate::cli::ConsoleAction::HashPin { config, name },
        } => console::run_hash_pin(config, name),
        Command::Console {
            action: crate::cli::ConsoleAction::FeedKey { name },
        } => console::run_feed_key(&name),
        Command::Console {
            action: crate::cli::ConsoleAction::WebScreenKey { id, name },
        } => console::run_web_screen_key(&id, &name),
        Command::Report {
            action:
                crate::cli::ReportAction::Incident {
                    id,
                    config,
                    format,
                    out,
                },
        } => report::run_incident(&id, &config, &format, out.as_deref()),
        Command::Drill { action } => block_on(async move {
            match action {
                crate::cli::DrillAction::Start(args) => drill::start(args).await,
                crate::cli::DrillAction::End { bus } => drill::end(bus).await,
            }
        }),
        Command::Lan {
            action: crate::cli::LanAction::ClientToken { name, may },
        } => lan::run_client_token(&name, &may),
        Command::Bench { which } => crate::bench::run(which),
    }
}

/// One small runtime for one-shot commands.
pub fn block_on<F: std::future::Future<Output = Result<ExitCode>>>(future: F) -> Result<ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?
        .block_on(future)
}
