//! `raincheck status [--json]` and `raincheck watch`: the venue's view, payment health
//! and every node's confirmation, once for scripts or live for people.

use super::session::{BusSession, SessionChange};
use super::target::BusTarget;
use crate::cli::BusArgs;
use crate::clock::{hour_minute, hour_minute_second};
use crate::model::{ConfirmationSummary, NodeStanding, VenueView, ViewMode};
use crate::protocol::PaymentStatus;
use anyhow::Result;
use serde_json::json;
use std::process::ExitCode;
use std::time::Duration;
use tokio::time::Instant;

pub async fn status(bus: BusArgs, as_json: bool) -> Result<ExitCode> {
    let target = BusTarget::from_args(&bus)?;
    let session = BusSession::open(target, "status").await?;
    let view = session.view();
    let summary = session.confirmations();
    if as_json {
        let payments: Vec<_> = session.state.payments.values().collect();
        let document = json!({
            "venue": session.target.venue,
            "view": view,
            "digest": view.digest(),
            "payments": payments,
            "confirmation": {
                "headline": summary.headline(),
                "all_online_confirmed": summary.all_online_confirmed(),
                "confirmed": summary.count(NodeStanding::Confirmed),
                "lagging": summary.count(NodeStanding::Lagging),
                "offline": summary.count(NodeStanding::Offline),
                "nodes": summary.nodes,
            },
        });
        println!("{}", serde_json::to_string_pretty(&document)?);
    } else {
        println!("venue {}: {}", session.target.venue, describe_view(&view));
        if let Some(headline) = &view.texts.headline {
            println!("  headline: {}", crate::text::one_line(headline));
        }
        println!("payments: {}", describe_payments(&session));
        println!("nodes: {}", summary.headline());
        for node in &summary.nodes {
            println!(
                "  {:<20} {:<10} revision {}",
                node.node.to_string(),
                standing_word(node.standing),
                node.revision
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "-".into())
            );
        }
    }
    session.close().await;
    Ok(ExitCode::SUCCESS)
}

pub async fn watch(bus: BusArgs) -> Result<ExitCode> {
    let target = BusTarget::from_args(&bus)?;
    let mut session = BusSession::open(target, "watch").await?;
    let mut last_view = session.view();
    let mut last_nodes = session.confirmations();
    println!("{} {}", stamp(), describe_view(&last_view));
    println!("{} {}", stamp(), last_nodes.headline());
    let forever = Instant::now() + Duration::from_secs(86_400 * 365);
    loop {
        let change = tokio::select! {
            change = session.next_change(forever) => change,
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
                let nodes = session.confirmations();
                if standings(&nodes) != standings(&last_nodes) {
                    println!("{} {}", stamp(), nodes.headline());
                    last_nodes = nodes;
                }
            }
        }
    }
    session.close().await;
    Ok(ExitCode::SUCCESS)
}

fn standings(summary: &ConfirmationSummary) -> Vec<(String, NodeStanding)> {
    summary
        .nodes
        .iter()
        .map(|n| (n.node.to_string(), n.standing))
        .collect()
}

fn stamp() -> String {
    hour_minute_second(time::OffsetDateTime::now_utc())
}

fn standing_word(standing: NodeStanding) -> &'static str {
    match standing {
        NodeStanding::Confirmed => "confirmed",
        NodeStanding::Lagging => "LAGGING",
        NodeStanding::Offline => "offline",
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
