//! The benchmarks' arguments: `raincheck bench …` (figures in docs/BENCHMARKS.md).
//! Definitions only; each benchmark lives in `bench/`.

use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Trigger → every display confirmed, against a real Mosquitto on loopback.
    Switch {
        /// How many display nodes to simulate (each with its own real MQTT client).
        #[arg(long, default_value_t = 1000)]
        displays: usize,
        /// How many switches to time.
        #[arg(long, default_value_t = 40)]
        rounds: usize,
        /// Use this broker instead of starting a private Mosquitto.
        #[arg(long)]
        broker: Option<String>,
        /// The chain case: a private HQ Mosquitto and a venue Mosquitto bridged to it as
        /// shipped (config/mosquitto/bridge-to-hq.conf), displays on the venue broker, each
        /// trigger a chain declaration published at HQ.
        #[arg(long, conflicts_with = "broker")]
        bridged: bool,
        /// With --bridged, also time the confirmations back up the bridge at HQ (an HQ
        /// session in this process then decodes every report, slowing the venue figure).
        #[arg(long, requires = "bridged")]
        observe_at_hq: bool,
    },
    /// A manager's click → every display confirmed, through the console's API and live stream.
    Console {
        /// How many display nodes to simulate (each with its own real MQTT client).
        #[arg(long, default_value_t = 1000)]
        displays: usize,
        /// How many declare/resolve clicks to time.
        #[arg(long, default_value_t = 40)]
        rounds: usize,
    },
    /// A manager's drill click → every screen's drill confirmation, through the console.
    Drill {
        /// How many display nodes to simulate (each with its own real MQTT client).
        #[arg(long, default_value_t = 1000)]
        displays: usize,
        /// How many drills to time.
        #[arg(long, default_value_t = 20)]
        rounds: usize,
        /// How many screens draw the full cash-only screen rather than the marker.
        #[arg(long, default_value_t = 0)]
        full_screen: usize,
    },
    /// Processor down → every display cash only, through a detector with the default debounce.
    Detection {
        /// How many display nodes to simulate.
        #[arg(long, default_value_t = 100)]
        displays: usize,
        /// How many outages to time (each takes about 35 s: debounce down and back up).
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
    /// Idle RSS and CPU of a node process (headless, or a signage window with --screen).
    Idle {
        /// How long to sample.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Measure a signage node with its full-screen window (needs DISPLAY, e.g. xvfb-run).
        #[arg(long)]
        screen: bool,
        /// Measure a headless counter: voucher store, voucher sync session and its timers.
        #[arg(long, conflicts_with_all = ["screen", "console", "detector"])]
        counter: bool,
        /// Measure a console: its MQTT worker and HTTP server, no page open.
        #[arg(long, conflicts_with_all = ["screen", "detector"])]
        console: bool,
        /// Measure a detector probing a local port every 5 s.
        #[arg(long, conflicts_with = "screen")]
        detector: bool,
    },
    /// The voucher store: durable issue, verify + look-up, catch-up, bytes per voucher.
    Vouchers {
        /// Vouchers in the store for the look-up measurement.
        #[arg(long, default_value_t = 1_000_000)]
        stored: usize,
        /// Durable issues to time.
        #[arg(long, default_value_t = 2000)]
        issues: usize,
    },
    /// The incident report and the console's voucher figures over a large store.
    Reports {
        /// Vouchers in the store.
        #[arg(long, default_value_t = 1_000_000)]
        stored: usize,
        /// How many figure calls to time through the console.
        #[arg(long, default_value_t = 50)]
        rounds: usize,
    },
    /// A brand-new counter catching up with another's voucher events over MQTT.
    CatchUp {
        #[arg(long, default_value_t = 100_000)]
        events: usize,
    },
    /// State change → new frame rendered, with the software renderer, offscreen.
    Frame {
        /// How many state changes to time.
        #[arg(long, default_value_t = 500)]
        rounds: usize,
        #[arg(long, default_value_t = 1920)]
        width: u32,
        #[arg(long, default_value_t = 1080)]
        height: u32,
    },
    /// A kiosk screen under cage (headless wlroots): cold start → first frame of a declared
    /// incident, then idle RSS/CPU of raincheck and cage.
    Kiosk {
        /// How many cold starts to time (each a new cage and process).
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// How long to sample the idle kiosk.
        #[arg(long, default_value_t = 30)]
        seconds: u64,
        /// As root, the user cage runs as (cage refuses root).
        #[arg(long, default_value = "nobody")]
        user: String,
    },
    /// Trigger → every web screen (a sign drawn by a browser) painted and confirmed:
    /// real headless Chromium pages and simulated SSE pages on one console.
    WebScreens {
        /// Real headless Chromium pages, one browser process each.
        #[arg(long, default_value_t = 10)]
        pages: usize,
        /// Simulated pages (an SSE stream each, posting what they paint).
        #[arg(long, default_value_t = 200)]
        clients: usize,
        /// How many switches to time.
        #[arg(long, default_value_t = 20)]
        rounds: usize,
    },
    /// Webhook delivery: declaration → event received (and → screens.confirmed), and the
    /// drain rate of the durable queue after the receiver was down.
    Webhooks {
        /// How many display nodes to simulate (each with its own real MQTT client).
        #[arg(long, default_value_t = 10)]
        displays: usize,
        /// How many start/resolve cycles to time.
        #[arg(long, default_value_t = 20)]
        rounds: usize,
        /// About how many events to queue while the receiver is down (four per cycle).
        #[arg(long, default_value_t = 1000)]
        events: usize,
    },
}
