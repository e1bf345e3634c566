//! `raincheck node forget ID` (and `--undo`): retires a screen or counter that was taken
//! out of service, so it stops showing as "offline" in the console, `status` and head
//! office. The rule (known, not online) is `model::retirement`'s, shared with the console.

use super::target::venue_target;
use crate::cli::BusArgs;
use crate::client::BusSession;
use crate::model::retirement::{retire, unretire};
use crate::protocol::{Identifier, Topic, TopicKind};
use anyhow::{anyhow, Result};
use std::process::ExitCode;

/// Retires `node` (or withdraws its retirement with `undo`).
pub async fn forget(node: String, undo: bool, bus: BusArgs) -> Result<ExitCode> {
    let node = Identifier::parse(&node).map_err(|error| anyhow!("node {node:?} {error}"))?;
    let target = venue_target(&bus)?.bus;
    let by = target
        .broker
        .section
        .username
        .clone()
        .unwrap_or_else(|| "cli".to_owned());
    let mut session = BusSession::open(target, "node").await?;
    let topic = Topic::venue(&session.target.venue, TopicKind::Retired, &node).to_string();
    if undo {
        unretire(&session.state, &node).map_err(|refusal| anyhow!("{refusal}"))?;
        session.publish_retained(&topic, Vec::new()).await?;
        println!("{node} is no longer retired: its next report shows it again");
    } else {
        let retirement = retire(&session.state, &node, &by, time::OffsetDateTime::now_utc())
            .map_err(|refusal| anyhow!("{refusal}"))?;
        session
            .publish_retained(&topic, crate::protocol::encode(&retirement))
            .await?;
        println!(
            "{node} is retired: the console, `raincheck status` and head office no longer count it \
             (undo with `raincheck node forget {node} --undo`)"
        );
    }
    session.close().await;
    Ok(ExitCode::SUCCESS)
}
