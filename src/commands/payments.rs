//! `raincheck payments report ok|down --source ID`: the hook a POS or a probe calls to
//! publish its debounced health, retained on its own topic.

use super::target::venue_target;
use crate::cli::{BusArgs, HealthArg};
use crate::client::BusSession;
use crate::protocol::{Identifier, PaymentHealth, PaymentStatus, Topic, TopicKind, SCHEMA_VERSION};
use anyhow::{anyhow, bail, Result};
use std::process::ExitCode;
use time::OffsetDateTime;

pub async fn report(
    status: HealthArg,
    source: String,
    detail: Option<String>,
    bus: BusArgs,
) -> Result<ExitCode> {
    let source =
        Identifier::parse(&source).map_err(|error| anyhow!("--source {source:?} {error}"))?;
    if detail.as_ref().is_some_and(|d| d.chars().count() > 200) {
        bail!("--detail is longer than 200 characters");
    }
    let mut session = BusSession::open(venue_target(&bus)?.bus, "payments").await?;
    let status = match status {
        HealthArg::Ok => PaymentStatus::Ok,
        HealthArg::Down => PaymentStatus::Down,
    };
    // Keep the original "since" (and, while down, the outage's first revision) while the
    // status does not change: a repeated "down" is not a new failure.
    let previous = session
        .state
        .payments
        .get(&source)
        .filter(|previous| previous.status == status);
    let since = previous.map_or_else(OffsetDateTime::now_utc, |p| p.since);
    let down_since_revision = previous
        .filter(|p| p.status == PaymentStatus::Down)
        .map(|p| p.outage_revision());
    let revision = session.next_revision()?;
    let health = PaymentHealth {
        v: SCHEMA_VERSION,
        source: source.clone(),
        status,
        revision,
        since,
        detail,
        down_since_revision,
    };
    let topic = Topic::venue(&session.target.venue, TopicKind::Payments, &source).to_string();
    session
        .publish_retained(&topic, crate::protocol::encode(&health))
        .await?;
    println!(
        "payment source {source} reported {} at revision {}",
        if status == PaymentStatus::Ok {
            "ok"
        } else {
            "down"
        },
        health.revision
    );
    session.close().await;
    Ok(ExitCode::SUCCESS)
}
