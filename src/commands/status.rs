//! `raincheck status [--json]` and `raincheck watch`: the venue's view, payment health
//! and every node's confirmation, once for scripts or live for people.

use super::target::venue_target;
use crate::cli::BusArgs;
use crate::client::{BusSession, SessionChange};
use crate::clock::{hour_minute, hour_minute_second};
use crate::model::{Confirmations, NodeKind, Standing, VenueView, ViewMode};
use crate::protocol::PaymentStatus;
use anyhow::Result;
use serde_json::json;
use std::process::ExitCode;

pub async fn status(bus: BusArgs, as_json: bool) -> Result<ExitCode> {
    let session = BusSession::open(venue_target(&bus)?.bus, "status").await?;
    let view = session.view();
    let confirmations = session.confirmations();
    if as_json {
        let payments: Vec<_> = session.state.payments.values().collect();
        let people = confirmations.shown_to_people();
        let nodes: Vec<_> = confirmations
            .nodes()
            .map(|(node, kind, standing)| {
                let report = session.state.displays.get(node);
                json!({
                    "node": node,
                    "name": report.and_then(|r| r.name.clone()),
                    "kind": kind,
                    "standing": standing,
                    "revision": report.and_then(|r| r.revision),
                    "digest": report.and_then(|r| r.digest.clone()),
                })
            })
            .collect();
        let document = json!({
            "venue": session.target.venue,
            "view": view,
            "digest": view.digest(),
            "payments": payments,
            "confirmation": {
                "headline": session.headline(),
                "all_online_confirmed": confirmations.all_confirmed(),
                "confirmed": people.confirmed,
                "lagging": people.lagging,
                "syncing": people.syncing,
                "headless": people.headless,
                "offline": people.offline,
                "screens": confirmations.tally(NodeKind::Screen),
                "counters": confirmations.tally(NodeKind::Counter),
                "nodes": nodes,
            },
        });
        println!("{}", serde_json::to_string_pretty(&document)?);
    } else {
        println!("venue {}: {}", session.target.venue, describe_view(&view));
        if let Some(headline) = &view.texts.headline {
            println!("  headline: {}", crate::text::one_line(headline));
        }
        println!("payments: {}", describe_payments(&session));
        println!("nodes: {}", session.headline());
        for (node, _, standing) in confirmations.nodes() {
            let revision = session.state.displays.get(node).and_then(|r| r.revision);
            println!(
                "  {:<20} {:<10} revision {}",
                node.to_string(),
                standing_word(standing),
                revision
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "-".into())
            );
        }
    }
    session.close().await;
    Ok(ExitCode::SUCCESS)
}

pub async fn watch(bus: BusArgs) -> Result<ExitCode> {
    let mut session = BusSession::open(venue_target(&bus)?.bus, "watch").await?;
    let mut last_view = session.view();
    let mut last_nodes = standings(session.confirmations());
    println!("{} {}", stamp(), describe_view(&last_view));
    println!("{} {}", stamp(), session.headline());
    loop {
        let change = tokio::select! {
            change = session.next_change(None) => change,
            _ = tokio::signal::ctrl_c() => break,
        };
        match change {
            None => break,
            Some(SessionChange::LinkLost(reason)) => {
                println!("{} status link lost: {reason}", stamp())
            }
            Some(SessionChange::LinkBack) => println!("{} status link back", stamp()),
            Some(SessionChange::Status) => {
                let view = session.view();
                if view != last_view {
                    println!("{} {}", stamp(), describe_view(&view));
                    last_view = view;
                }
                let nodes = standings(session.confirmations());
                if nodes != last_nodes {
                    println!("{} {}", stamp(), session.headline());
                    last_nodes = nodes;
                }
            }
        }
    }
    session.close().await;
    Ok(ExitCode::SUCCESS)
}

fn standings(confirmations: &Confirmations) -> Vec<(String, Standing)> {
    confirmations
        .nodes()
        .map(|(node, _, standing)| (node.to_string(), standing))
        .collect()
}

fn stamp() -> String {
    hour_minute_second(time::OffsetDateTime::now_utc())
}

fn standing_word(standing: Standing) -> &'static str {
    match standing {
        Standing::Confirmed => "confirmed",
        Standing::Lagging => "LAGGING",
        Standing::Syncing => "syncing",
        Standing::Offline => "offline",
        Standing::Headless => "HEADLESS",
    }
}

/// "CASH ONLY — incident inc-… (revision 7, manager via cli, since 19:42)"
pub fn describe_view(view: &VenueView) -> String {
    let incident = view
        .incident_id
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    let who = match (view.authority, &view.source) {
        (Some(authority), Some(source)) => format!(
            "{} via {source}",
            if authority == crate::protocol::Authority::Manager {
                "manager"
            } else {
                "automatic"
            }
        ),
        _ => String::new(),
    };
    match view.mode {
        ViewMode::Normal => "normal (nothing declared)".to_owned(),
        ViewMode::CashOnly => format!(
            "CASH ONLY — incident {incident} (revision {}, {who}, since {})",
            view.revision,
            view.started_at.map(hour_minute).unwrap_or_default()
        ),
        ViewMode::AllClear => format!(
            "all clear — incident {incident} resolved (revision {}, {who})",
            view.revision
        ),
    }
}

fn describe_payments(session: &BusSession) -> String {
    if session.state.payments.is_empty() {
        return "no sources report".into();
    }
    session
        .state
        .payments
        .values()
        .map(|p| match p.status {
            PaymentStatus::Ok => format!("{} ok", p.source),
            PaymentStatus::Down => format!("{} DOWN since {}", p.source, hour_minute(p.since)),
        })
        .collect::<Vec<_>>()
        .join("; ")
}
