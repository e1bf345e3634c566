//! The arguments of `raincheck drill start|end` (split from `cli.rs`).

use super::BusArgs;
use clap::{Args, Subcommand};

#[derive(Subcommand, Debug, Clone)]
pub enum DrillAction {
    /// Start a staff drill as source `cli`: every screen and counter shows the drill
    /// marker and confirms it. Refused while a real incident is in force.
    Start(DrillStartArgs),
    /// End the running drill now (whoever started it).
    End {
        #[command(flatten)]
        bus: BusArgs,
    },
}

#[derive(Args, Debug, Clone)]
pub struct DrillStartArgs {
    /// How long the drill runs before every screen returns ("90s", "2m"; 10s to 10m).
    #[arg(long = "for", value_name = "DURATION", default_value = "2m", value_parser = parse_drill_length)]
    pub runs_for: std::time::Duration,
    /// A screen (node id) that shows the full cash-only screen with the marker rather than
    /// the marker alone; repeat for more.
    #[arg(long = "full-screen", value_name = "NODE")]
    pub full_screen: Vec<String>,
    /// Wait up to this many seconds for every online screen and counter to confirm the
    /// drill, print each one's result, and end the drill (0-600; 0 leaves it running).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=600))]
    pub wait: u64,
    /// Who is running it (shown in the drill report).
    #[arg(long)]
    pub actor: Option<String>,
    #[command(flatten)]
    pub bus: BusArgs,
}

fn parse_drill_length(text: &str) -> Result<std::time::Duration, String> {
    super::parse_span(text, 10, 600, "a drill runs for 10s to 10m")
}
