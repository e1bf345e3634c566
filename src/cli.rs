//! The command line: `raincheck run|demo|check-config|incident|payments|status|watch|bench`.
//! Definitions only; each command's behaviour lives in `commands/`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

mod bench;
mod drill;

pub use bench::BenchCommand;
pub use drill::{DrillAction, DrillStartArgs};

#[derive(Parser, Debug)]
#[command(
    name = "raincheck",
    version,
    about = "Venue payment-outage signage, rainchecks and proof of display"
)]
pub struct Cli {
    /// Log at debug level (RUST_LOG overrides).
    #[arg(long, short, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a node from its config file until SIGTERM.
    Run {
        #[arg(long, short, env = "RAINCHECK_CONFIG")]
        config: PathBuf,
    },
    /// Start a complete single-box demo venue (embedded broker, no set-up).
    Demo(DemoArgs),
    /// Check config files; prints every problem with its key and line.
    CheckConfig {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Declare, update or resolve an incident by hand (source "cli"), or chain-wide from
    /// head office (--chain).
    Incident {
        #[command(subcommand)]
        action: IncidentAction,
    },
    /// Report a payment source's health (the hook a POS calls).
    Payments {
        #[command(subcommand)]
        action: PaymentsAction,
    },
    /// Print the venue's view and every node's report once.
    Status {
        #[command(flatten)]
        bus: BusArgs,
        /// Machine-readable JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Follow the venue live, one line per change.
    Watch {
        #[command(flatten)]
        bus: BusArgs,
    },
    /// Issue, redeem, void and inspect raincheck vouchers in this terminal's store.
    Voucher {
        /// The counter terminal's config file.
        #[arg(long, short, env = "RAINCHECK_CONFIG", global = true)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        action: VoucherAction,
    },
    /// Look after the venue's nodes: retire one taken out of service.
    Node {
        #[command(subcommand)]
        action: NodeAction,
    },
    /// Look after the manager's console (sign-in PINs).
    Console {
        #[command(subcommand)]
        action: ConsoleAction,
    },
    /// The morning-after report of an incident (docs/CONSOLE.md, "Incident report").
    Report {
        #[command(subcommand)]
        action: ReportAction,
    },
    /// Run a staff drill: every screen and counter shows a "TEST — staff drill" marker and
    /// confirms it, with no alarm for guests (docs/CONSOLE.md, "Drills").
    Drill {
        #[command(subcommand)]
        action: DrillAction,
    },
    /// Look after the LAN listener (`[lan]`): tokens of POS servers and tills.
    Lan {
        #[command(subcommand)]
        action: LanAction,
    },
    /// Measure performance (see docs/BENCHMARKS.md).
    Bench {
        #[command(subcommand)]
        which: BenchCommand,
    },
}

#[derive(Subcommand, Debug, Clone)]
pub enum NodeAction {
    /// Retire a screen or counter that was taken out of service, so the console, `status`
    /// and head office stop listing it as offline. A node that is online is refused.
    Forget {
        /// The node's id (as `raincheck status` lists it).
        id: String,
        /// Withdraw the retirement instead.
        #[arg(long)]
        undo: bool,
        #[command(flatten)]
        bus: BusArgs,
    },
}

#[derive(Subcommand, Debug, Clone)]
pub enum ReportAction {
    /// One incident: its timeline (as the console recorded it) and its vouchers per till
    /// and offer with the outstanding liability, from this node's files. The node must be
    /// stopped (its voucher store opens in one process at a time); a running console
    /// serves the same report at /api/reports/incidents/ID.
    Incident {
        /// The incident id (as the console, `status` or the webhooks name it).
        id: String,
        /// The node's config file (a console's, or a counter's for its own vouchers).
        #[arg(long, short, env = "RAINCHECK_CONFIG")]
        config: PathBuf,
        /// html (for people, printable), csv or json (for the accounts).
        #[arg(long, default_value = "html")]
        format: String,
        /// Write the report here instead of to standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug, Clone)]
pub enum LanAction {
    /// Make the token of a machine that calls the LAN listener (a POS server, a till):
    /// prints the token, to give to that machine once, and the `[[lan.clients]]` entry
    /// with its hash to add to the node's config.
    ClientToken {
        /// Who calls with it ("pos-server", "till-3"): shown in logs.
        name: String,
        /// What it may do: payments (report card authorisations), vouchers (issue,
        /// redeem, look up), or both, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        may: Vec<String>,
    },
}

#[derive(Subcommand, Debug, Clone)]
pub enum ConsoleAction {
    /// Hash a manager's PIN (read from the terminal without echo, or from stdin). With
    /// --config and --name, writes it into that file's [[console.managers]]; otherwise
    /// prints the `pin_hash = "…"` line to paste.
    HashPin {
        /// The console's config file to write the manager into.
        #[arg(long, short, requires = "name")]
        config: Option<PathBuf>,
        /// The manager's name as they will type it at sign-in.
        #[arg(long)]
        name: Option<String>,
    },
    /// Make a key for the read-only feeds (/feeds/cap.xml, /feeds/status.json): prints
    /// the key, to give to the reader once, and the `[[console.feeds.keys]]` entry with its
    /// hash to add to the console's config.
    FeedKey {
        /// Who reads with it ("website", "xibo"): shown in the console's log.
        name: String,
    },
    /// Make the key of a web screen (a sign drawn by a browser at /screen/ID?key=…):
    /// prints the page's address path, to give to the player once, and the
    /// `[[console.web_screens]]` entry with the key's hash to add to the console's config.
    WebScreenKey {
        /// The web screen's node id ("bar-menu"): a-z, 0-9, '-' and '_'.
        id: String,
        /// Its name in the console ("Bar menu board").
        #[arg(long)]
        name: String,
    },
}

#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// Port of the demo's embedded broker on 127.0.0.1.
    #[arg(long, default_value_t = 1883)]
    pub port: u16,
    /// Port of the demo's manager console on 127.0.0.1.
    #[arg(long, default_value_t = 8080)]
    pub console_port: u16,
}

/// Where the venue's broker is: a node config file, or a URL and a venue id.
#[derive(Args, Debug, Clone, Default)]
pub struct BusArgs {
    /// A node config file to take the broker and venue from.
    #[arg(long, short, env = "RAINCHECK_CONFIG")]
    pub config: Option<PathBuf>,
    /// Broker URL (mqtt://host:port); overrides the config's.
    #[arg(long)]
    pub broker: Option<String>,
    /// Venue id; overrides the config's.
    #[arg(long)]
    pub venue: Option<String>,
    /// Give up reaching the broker after this many seconds (1-3600).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
}

#[derive(Args, Debug, Clone, Default)]
pub struct TextArgs {
    /// The big line on every screen.
    #[arg(long)]
    pub headline: Option<String>,
    /// The sentence under it.
    #[arg(long)]
    pub body: Option<String>,
    /// The raincheck offer, as guests should read it.
    #[arg(long)]
    pub offer: Option<String>,
    /// Where cash is accepted.
    #[arg(long)]
    pub cash_points: Option<String>,
    /// Offer id from the venue's config.
    #[arg(long)]
    pub offer_id: Option<String>,
    /// Wording for one screen language, repeatable: LANG:FIELD=TEXT, for example
    /// --in 'es:headline=Solo efectivo'. FIELD is headline, body, offer or cash_points. A
    /// screen in that language shows this line; the others show the shared one (or their
    /// language's template when none was given).
    #[arg(long = "in", value_name = "LANG:FIELD=TEXT")]
    pub in_language: Vec<String>,
}

#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AuthorityArg {
    /// A person decided (the default).
    #[default]
    Manager,
    /// An automatic detector decided; managers outrank it.
    Automatic,
}

#[derive(Args, Debug, Clone)]
pub struct DeclareArgs {
    #[command(flatten)]
    pub bus: BusArgs,
    #[command(flatten)]
    pub texts: TextArgs,
    /// Source id to publish as (each source owns one retained topic) [default: cli, or
    /// hq with --chain].
    #[arg(long)]
    pub source: Option<String>,
    /// Declare for every venue of the chain, on head office's broker
    /// (raincheck/v1/_chain/incident/SOURCE); a venue manager's own declaration still
    /// takes precedence in that venue. Needs no venue: --wait follows every venue's
    /// screens that report up a bridge.
    #[arg(long, conflicts_with = "venue")]
    pub chain: bool,
    /// Who stands behind the declaration.
    #[arg(long, value_enum, default_value_t = AuthorityArg::Manager)]
    pub authority: AuthorityArg,
    /// Who is acting (shown in the console and audit).
    #[arg(long)]
    pub actor: Option<String>,
    /// Promise the next update within this many minutes (5-1440): the console counts
    /// down to it and warns when it passes. For start and update.
    #[arg(long, value_name = "MINUTES", value_parser = clap::value_parser!(u32).range(5..=1440))]
    pub next_update_in: Option<u32>,
    /// End the incident by itself after this long ("90s", "45m", "8h"; up to 72h): the
    /// console or detector resolves it then on every screen at once. For start and update;
    /// an update without it withdraws the expiry.
    #[arg(long, value_name = "DURATION", value_parser = parse_expiry)]
    pub expires_in: Option<std::time::Duration>,
    /// Wait up to this many seconds for every online node to confirm, and report (0-3600).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub wait: u64,
}

#[derive(Subcommand, Debug)]
pub enum IncidentAction {
    /// Go cash only now.
    Start(DeclareArgs),
    /// Change the texts or offer of the incident shown now.
    Update(DeclareArgs),
    /// End the incident shown now (every screen goes to "card payments are back").
    Resolve(DeclareArgs),
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum HealthArg {
    Ok,
    Down,
}

#[derive(Subcommand, Debug)]
pub enum PaymentsAction {
    /// Publish a source's debounced health.
    Report {
        #[arg(value_enum)]
        status: HealthArg,
        /// Source id, e.g. pos-1 or processor-probe.
        #[arg(long)]
        source: String,
        /// A short reason ("timeouts from the acquirer").
        #[arg(long)]
        detail: Option<String>,
        #[command(flatten)]
        bus: BusArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum VoucherAction {
    /// Issue vouchers; each code is printed once it is safe on disk.
    Issue {
        /// Offer id from the config ("popcorn").
        #[arg(long)]
        offer: String,
        /// The incident the vouchers make up for.
        #[arg(long)]
        incident: Option<String>,
        /// Who issues them.
        #[arg(long)]
        staff: Option<String>,
        /// How many to issue (1-100000).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        count: u32,
        /// Also print a receipt on the configured printer.
        #[arg(long)]
        print: bool,
    },
    /// Check and redeem a code.
    Redeem {
        code: String,
        #[arg(long)]
        staff: Option<String>,
        /// Decide as a terminal cut off from the venue would (counter.offline_redemption).
        #[arg(long)]
        offline: bool,
    },
    /// Void a voucher (a manager's decision), with the reason.
    Void {
        code: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        manager: Option<String>,
    },
    /// Everything this terminal knows about a code.
    Show { code: String },
    /// Every voucher this terminal knows.
    List,
    /// Vouchers redeemed more than once (during a partition).
    Conflicts,
    /// Every voucher as CSV, for the office.
    Export {
        /// CSV (the only format so far).
        #[arg(long, required = true)]
        csv: bool,
    },
}

/// "90s", "45m" or "8h": a whole number and its unit, more than nothing, at most 72 hours.
fn parse_expiry(text: &str) -> Result<std::time::Duration, String> {
    let limit = crate::protocol::MAX_EXPIRY.whole_seconds().unsigned_abs();
    parse_span(text, 1, limit, "an incident may end itself after 1s to 72h")
}

/// A whole number of seconds, minutes or hours ("90s", "45m", "8h") within
/// `least..=most` seconds; `range` says the range in words when it is not.
pub(crate) fn parse_span(
    text: &str,
    least: u64,
    most: u64,
    range: &str,
) -> Result<std::time::Duration, String> {
    let wrong = || {
        format!("{text:?} is not a duration: write a whole number with s, m or h, such as 90s, 45m or 8h")
    };
    // Split before the last character, wherever it starts (the text may be any UTF-8).
    let (split, _) = text.char_indices().last().ok_or_else(wrong)?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| wrong())?;
    let seconds = match unit {
        "s" => Some(number),
        "m" => number.checked_mul(60),
        "h" => number.checked_mul(3_600),
        _ => None,
    }
    .ok_or_else(wrong)?;
    if !(least..=most).contains(&seconds) {
        return Err(format!("{text} is out of range: {range}"));
    }
    Ok(std::time::Duration::from_secs(seconds))
}
