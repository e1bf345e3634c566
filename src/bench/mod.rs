//! `raincheck bench …`: the measurements behind docs/BENCHMARKS.md. Benchmarks run the
//! real node code against a real Mosquitto on loopback; they print figures, they do not
//! assert them (timed assertions flake; targets are compared in the docs).

pub mod console;
pub mod console_client;
pub mod detection;
pub mod drill;
pub mod fleet;
pub mod frame;
pub mod idle;
pub mod kiosk;
pub mod reports;
pub mod responders;
pub mod stats;
pub mod switch;
pub mod vouchers;
pub mod web_screens;
pub mod webhooks;

use crate::cli::BenchCommand;
use anyhow::Result;
use std::process::ExitCode;

pub fn run(which: BenchCommand) -> Result<ExitCode> {
    match which {
        BenchCommand::Switch {
            displays,
            rounds,
            broker,
            bridged,
            observe_at_hq,
        } => switch::run(displays, rounds, broker, bridged, observe_at_hq),
        BenchCommand::Console { displays, rounds } => console::run(displays, rounds),
        BenchCommand::Drill {
            displays,
            rounds,
            full_screen,
        } => drill::run(displays, rounds, full_screen),
        BenchCommand::Detection { displays, rounds } => detection::run(displays, rounds),
        BenchCommand::Idle {
            seconds,
            screen,
            counter,
            console,
            detector,
        } => {
            let node = match (screen, counter, console, detector) {
                (true, ..) => idle::IdleNode::Screen,
                (_, true, ..) => idle::IdleNode::Counter,
                (_, _, true, _) => idle::IdleNode::Console,
                (.., true) => idle::IdleNode::Detector,
                _ => idle::IdleNode::Headless,
            };
            idle::run(seconds, node)
        }
        BenchCommand::Vouchers { stored, issues } => vouchers::run(stored, issues),
        BenchCommand::CatchUp { events } => vouchers::run_catch_up(events),
        BenchCommand::Reports { stored, rounds } => reports::run(stored, rounds),
        BenchCommand::Frame {
            rounds,
            width,
            height,
        } => frame::run(rounds, width, height),
        BenchCommand::Kiosk {
            rounds,
            seconds,
            user,
        } => kiosk::run(rounds, seconds, user),
        BenchCommand::WebScreens {
            pages,
            clients,
            rounds,
        } => web_screens::run(pages, clients, rounds),
        BenchCommand::Webhooks {
            displays,
            rounds,
            events,
        } => webhooks::run(displays, rounds, events),
    }
}
