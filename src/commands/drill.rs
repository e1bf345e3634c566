//! `raincheck drill start|end`: a technician's staff drill as source `cli`, built from
//! the retained set by `model::prepare_drill` exactly as the console builds its own, and
//! with `--wait` followed until every online screen and counter confirms the drill view:
//! each one's result is printed (confirmed in N ms, lagging, offline, headless) and the
//! drill is ended. Exit status 3 when not every one confirmed in time.

use super::target::venue_target;
use crate::cli::{BusArgs, DrillStartArgs};
use crate::client::BusSession;
use crate::model::{drill_id, prepare_drill, prepare_drill_end, DrillRequest, NodeKind, Standing};
use crate::protocol::{encode, DrillOrder, Identifier, Topic, TopicKind};
use anyhow::{anyhow, Result};
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::time::Instant;

const SOURCE: &str = "cli";

fn source() -> Identifier {
    Identifier::parse(SOURCE).expect("\"cli\" is a valid identifier")
}

async fn publish(session: &mut BusSession, order: &DrillOrder) -> Result<()> {
    let topic = Topic::venue(&session.target.venue, TopicKind::Drill, &order.source).to_string();
    session.publish_retained(&topic, encode(order)).await
}

pub async fn start(args: DrillStartArgs) -> Result<ExitCode> {
    let full_screen = args
        .full_screen
        .iter()
        .map(|node| {
            Identifier::parse(node).map_err(|error| anyhow!("--full-screen {node:?} {error}"))
        })
        .collect::<Result<Vec<_>>>()?;
    let runs_for = time::Duration::try_from(args.runs_for)
        .map_err(|_| anyhow!("--for is out of range: a drill runs for 10s to 10m"))?;
    let target = venue_target(&args.bus)?;
    let mut session = BusSession::open(target.bus, "cli").await?;
    let unknown: Vec<String> = full_screen
        .iter()
        .filter(|node| !session.state.displays.contains_key(*node))
        .map(ToString::to_string)
        .collect();
    let now = OffsetDateTime::now_utc();
    let request = DrillRequest {
        source: source(),
        actor: Some(args.actor.clone().unwrap_or_else(|| SOURCE.to_owned())),
        runs_for,
        full_screen,
    };
    let prepared = if unknown.is_empty() {
        prepare_drill(&session.state, request, now, drill_id(now, rand::random()))
            .map_err(|refusal| anyhow!("{refusal}"))
    } else {
        Err(anyhow!(
            "--full-screen {}: no such screen has reported on this venue's broker; `raincheck status` lists them",
            unknown.join(", ")
        ))
    };
    let order = match prepared {
        Ok(order) => order,
        Err(error) => {
            session.close().await;
            return Err(error);
        }
    };
    let published_at = Instant::now();
    publish(&mut session, &order).await?;
    println!(
        "drill {} started at revision {}: every screen and counter shows the drill marker until {}",
        order.drill_id,
        order.revision,
        crate::clock::hour_minute_second(order.ends_at)
    );
    if args.wait == 0 {
        session.close().await;
        return Ok(ExitCode::SUCCESS);
    }
    let confirmed = follow(&mut session, published_at, Duration::from_secs(args.wait)).await;
    let end = prepare_drill_end(&session.state, &source(), args.actor.clone())
        .map_err(|refusal| anyhow!("{refusal}"));
    if let Ok(end) = &end {
        publish(&mut session, end).await?;
        println!("drill {} ended: every screen returns", order.drill_id);
    }
    session.close().await;
    Ok(if confirmed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}

/// Prints each screen and counter's result once every online one confirmed or `within`
/// passed; true when all did.
async fn follow(session: &mut BusSession, since: Instant, within: Duration) -> bool {
    let deadline = since + within;
    let mut confirmed_after: BTreeMap<Identifier, Duration> = BTreeMap::new();
    loop {
        for (node, kind, standing) in session.confirmations().nodes() {
            if matches!(kind, NodeKind::Screen | NodeKind::Counter)
                && standing == Standing::Confirmed
            {
                confirmed_after
                    .entry(node.clone())
                    .or_insert_with(|| since.elapsed());
            }
        }
        if session.confirmations().all_confirmed() || session.next_change(deadline).await.is_none()
        {
            break;
        }
    }
    let all = session.confirmations().all_confirmed();
    for (node, kind, standing) in session.confirmations().nodes() {
        if !matches!(kind, NodeKind::Screen | NodeKind::Counter) {
            continue;
        }
        let name = session
            .state
            .displays
            .get(node)
            .and_then(|report| report.name.clone())
            .map(|name| format!("{name} ({node})"))
            .unwrap_or_else(|| node.to_string());
        let result = match (confirmed_after.get(node), standing) {
            (Some(after), _) => format!("confirmed in {} ms", after.as_millis()),
            (None, Standing::Lagging) => "did not show it (lagging)".to_owned(),
            (None, Standing::Syncing) => "still starting up (syncing)".to_owned(),
            (None, Standing::Offline) => "offline".to_owned(),
            (None, Standing::Headless) => "draws nothing (headless)".to_owned(),
            (None, Standing::Confirmed) => "confirmed".to_owned(),
        };
        println!("  {name}: {result}");
    }
    println!("{}", session.headline());
    all
}

pub async fn end(bus: BusArgs) -> Result<ExitCode> {
    let target = venue_target(&bus)?;
    let mut session = BusSession::open(target.bus, "cli").await?;
    let end = match prepare_drill_end(&session.state, &source(), Some(SOURCE.to_owned())) {
        Ok(end) => end,
        Err(refusal) => {
            session.close().await;
            return Err(anyhow!("{refusal}"));
        }
    };
    publish(&mut session, &end).await?;
    println!("drill {} ended: every screen returns", end.drill_id);
    session.close().await;
    Ok(ExitCode::SUCCESS)
}
