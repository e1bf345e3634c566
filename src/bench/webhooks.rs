//! `raincheck bench webhooks --displays D --rounds N --events K`: webhook delivery latency and
//! throughput from the durable queue. D real display nodes and a real console node run in
//! this process against a private Mosquitto; the console has one `[[console.webhooks]]`
//! endpoint, a receiver in this process that checks each body's HMAC signature and stamps
//! its arrival. Latency: per round a manager's declaration (cash only, then all clear) is
//! published and timed to `incident.started` / `incident.resolved` and `screens.confirmed`
//! at the receiver, beside the bus's own "every screen confirmed" (the natural limit).
//! Throughput: with the receiver down, start/resolve cycles fill the console's sled queue
//! until its delivery log counts K waiting deliveries; the receiver comes back and the drain is timed from its first
//! arrival to its last (the wait before the first is the retry backoff, reported apart),
//! beside a bare POST loop through the same client to the same receiver and what the
//! worker's queue calls cost per delivery on the same disk.

mod limits;
mod receiver;

use super::fleet::VENUE;
use super::stats::percentiles;
use crate::app::start_node;
use crate::client::BusSession;
use crate::model::{prepare_declaration, DeclareAction, DeclareRequest, NodeKind};
use crate::protocol::{encode, Authority, Identifier, IncidentTexts, Topic, TopicKind};
use crate::shutdown::shutdown_pair;
use anyhow::{anyhow, bail, Context, Result};
use axum::body::Bytes;
use receiver::{Arrival, Receiver};
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio::time::Instant;

const SECRET: &[u8] = b"bench-webhook-secret-of-enough-length";
const PIN: &str = "4821";
const ROUND_TIMEOUT: Duration = Duration::from_secs(60);
/// The head of the queue waits out its retry backoff (2, 4, 8 … s, capped at 600 s) before
/// the drain can start.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(900);

pub fn run(displays: usize, rounds: usize, events: usize) -> Result<ExitCode> {
    let (broker, runtime) = super::fleet::private_broker_and_runtime()?;
    // On the machine's disk, not in memory: every delivery flushes the queue.
    let data = tempfile::tempdir()?;
    let result = runtime.block_on(measure(displays, rounds, events, broker.url(), data.path()));
    drop(broker);
    result
}

async fn measure(
    displays: usize,
    rounds: usize,
    events: usize,
    url: String,
    data: &Path,
) -> Result<ExitCode> {
    let (trigger, shutdown) = shutdown_pair();
    let (mut observer, mut nodes, _fleet) =
        super::fleet::start_fleet(&url, displays, &shutdown).await?;
    let (sender, mut arrivals) = mpsc::unbounded_channel();
    let forged = Arc::new(AtomicUsize::new(0));
    let (address, receiver) = Receiver::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        sender.clone(),
        forged.clone(),
    )
    .await?;
    let console = start_node(
        &console_config(&url, data, address)?,
        Path::new("."),
        shutdown.clone(),
    )?;
    let console_at = console
        .console
        .context("the console did not start its server")?;
    let (cookie, csrf) = super::console_client::sign_in_as(console_at, "Bench", PIN).await?;
    nodes.push(console);
    println!(
        "{displays} display nodes and a console online; webhook receiver at http://{address}/hook"
    );

    // Untimed: the console reads the venue and announces its first incident.
    let mut seen = Vec::new();
    for action in [DeclareAction::Start, DeclareAction::Resolve] {
        let (revision, _) = declare(&observer, action)?;
        confirmed_on_bus(&mut observer, revision, displays).await?;
        arrived(
            &mut arrivals,
            &mut seen,
            "screens.confirmed",
            revision,
            &forged,
        )
        .await?;
    }

    let (mut declared, mut resolved, mut confirmed, mut on_bus, mut added) =
        (vec![], vec![], vec![], vec![], vec![]);
    for round in 0..rounds * 2 {
        super::fleet::settle().await;
        let (action, event, samples) = if round % 2 == 0 {
            (DeclareAction::Start, "incident.started", &mut declared)
        } else {
            (DeclareAction::Resolve, "incident.resolved", &mut resolved)
        };
        let (revision, at) = declare(&observer, action)?;
        let bus = confirmed_on_bus(&mut observer, revision, displays).await? - at;
        let first = arrived(&mut arrivals, &mut seen, event, revision, &forged).await? - at;
        let hook = arrived(
            &mut arrivals,
            &mut seen,
            "screens.confirmed",
            revision,
            &forged,
        )
        .await?
            - at;
        samples.push(first);
        confirmed.push(hook);
        on_bus.push(bus);
        added.push(hook.saturating_sub(bus));
    }
    let show =
        |samples: &[Duration]| percentiles(samples).map_or_else(String::new, |p| p.to_string());
    println!(
        "declaration published -> incident.started received: {}",
        show(&declared)
    );
    println!(
        "declaration published -> incident.resolved received: {}",
        show(&resolved)
    );
    println!(
        "declaration published -> screens.confirmed received: {}",
        show(&confirmed)
    );
    println!(
        "  natural limit, the same declarations -> every screen confirmed on the bus: {}",
        show(&on_bus)
    );
    println!(
        "  what the console, its queue and the POST add, per declaration: {}",
        show(&added)
    );

    // Throughput: the receiver goes away, the queue fills, the receiver comes back.
    receiver.stop().await;
    let filling = Instant::now();
    let (mut last, mut cycles, mut waiting) = (0, 0, 0);
    // Up to four events a cycle (started, confirmed, resolved, confirmed); fewer when the
    // worker sees two states in one snapshot, so the queue's own count says when to stop.
    while waiting < events {
        if cycles > events {
            bail!("{cycles} cycles queued only {waiting} deliveries");
        }
        for action in [DeclareAction::Start, DeclareAction::Resolve] {
            let (revision, _) = declare(&observer, action)?;
            confirmed_on_bus(&mut observer, revision, displays).await?;
            last = revision;
        }
        cycles += 1;
        waiting = queued(console_at, &cookie, &csrf).await?;
    }
    println!(
        "{cycles} start/resolve cycles declared and confirmed with the receiver down in {:.1} s: {waiting} deliveries waiting in the queue",
        filling.elapsed().as_secs_f64()
    );
    let (_, receiver) = Receiver::start(address, sender.clone(), forged.clone()).await?;
    let back = Instant::now();
    let drained = drain(&mut arrivals, last, &forged).await?;
    let (Some(head), Some(tail)) = (drained.first(), drained.last()) else {
        bail!("nothing was drained");
    };
    let in_order = drained.windows(2).all(|w| w[0].revision <= w[1].revision);
    let span = tail.at - head.at;
    let drain_rate = rate(drained.len(), span);
    println!(
        "drain of {} queued events: first {:.1} s after the receiver came back (retry backoff), then {drain_rate:.0} events/s ({:.2} ms each; {:.1} s in all), {}",
        drained.len(),
        (head.at - back).as_secs_f64(),
        1000.0 / drain_rate,
        span.as_secs_f64(),
        if in_order { "in order" } else { "OUT OF ORDER" }
    );
    let quarter = drained.len() / 4;
    if quarter > 1 {
        let part = |from: usize| rate(quarter, drained[from + quarter - 1].at - drained[from].at);
        println!(
            "  first quarter (queue {}..{}) {:.0} events/s, last quarter {:.0} events/s",
            drained.len(),
            drained.len() - quarter,
            part(0),
            part(drained.len() - quarter)
        );
    }

    // The natural limit: the same bodies, one POST at a time, through the same client.
    let bodies: Vec<Bytes> = drained.iter().map(|a| a.body.clone()).collect();
    let bare = limits::bare_posts(address, &bodies).await?;
    println!(
        "  natural limit, a bare POST loop of the same {} bodies through crate::http_client: {bare:.0} events/s ({:.2} ms each): the queue drains at 1/{:.1} of it",
        bodies.len(),
        1000.0 / bare,
        bare / drain_rate
    );
    let costs = limits::queue_costs(data.join("queue-probe.sled"), bodies).await?;
    println!(
        "  the worker's queue calls per delivery, on a queue of {} on the same disk: scan to find the head {:.2} ms (full queue), remove + log + flush {}",
        drained.len(),
        costs.scan.as_secs_f64() * 1000.0,
        costs.finish
    );
    println!("signatures checked: {} bad", forged.load(Ordering::Relaxed));
    receiver.stop().await;
    observer.close().await;
    trigger.trigger();
    for node in nodes {
        let _ = tokio::time::timeout(Duration::from_secs(10), node.join()).await;
    }
    Ok(ExitCode::SUCCESS)
}

/// How many deliveries wait in the console's queue: its delivery log, `GET /api/webhooks`.
async fn queued(console: SocketAddr, cookie: &str, csrf: &str) -> Result<usize> {
    let call =
        super::console_client::call(console, "GET", "/api/webhooks", cookie, csrf, Bytes::new());
    let (status, body) = tokio::time::timeout(ROUND_TIMEOUT, call)
        .await
        .context("the console's delivery log did not answer")??;
    if !status.is_success() {
        bail!("the delivery log answered {status}");
    }
    let log: serde_json::Value = serde_json::from_slice(&body)?;
    let waiting = log["waiting"]
        .as_u64()
        .context("no waiting count in the delivery log")?;
    Ok(usize::try_from(waiting)?)
}

fn rate(count: usize, span: Duration) -> f64 {
    count.saturating_sub(1) as f64 / span.as_secs_f64().max(1e-9)
}

fn console_config(
    url: &str,
    data: &Path,
    receiver: SocketAddr,
) -> Result<crate::config::NodeConfig> {
    use std::os::unix::fs::PermissionsExt;
    let secret = data.join("webhook-secret");
    std::fs::write(&secret, SECRET)?;
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600))?;
    let data_dir = data.join("console");
    std::fs::create_dir_all(&data_dir)?;
    let text = format!(
        "[node]\nvenue = \"{VENUE}\"\nid = \"back-office\"\nroles = [\"console\"]\ndata_dir = \"{}\"\n\
         [broker]\nurl = \"{url}\"\n[console]\nlisten = \"127.0.0.1:0\"\n\
         [[console.managers]]\nname = \"Bench\"\npin_hash = \"{}\"\n\
         [[console.webhooks]]\nname = \"bench\"\nurl = \"http://{receiver}/hook\"\nsecret_file = \"{}\"\n",
        data_dir.display(),
        crate::console::hash_pin(PIN).map_err(|e| anyhow!(e))?,
        secret.display()
    );
    crate::config::load_str(&text, Path::new("bench-webhooks.toml"))
        .map_err(|report| anyhow!("{report}"))
}

/// Publishes a manager's declaration from the observer's session: its revision, and when.
fn declare(observer: &BusSession, action: DeclareAction) -> Result<(u64, Instant)> {
    let request = DeclareRequest {
        action,
        source: Identifier::parse("bench")?,
        authority: Authority::Manager,
        actor: Some("bench".into()),
        texts: IncidentTexts {
            headline: Some("Cash only right now".into()),
            ..Default::default()
        },
        translations: Default::default(),
        offer_id: None,
        next_update_by: None,
        expires_at: None,
    };
    let now = OffsetDateTime::now_utc();
    let id = crate::model::incident_id(now, rand::random());
    let prepared = prepare_declaration(&observer.state, request, None, now, id)
        .map_err(|refusal| anyhow!("{refusal}"))?;
    let topic = Topic::venue(
        &Identifier::parse(VENUE)?,
        TopicKind::Incident,
        &prepared.declaration.source,
    )
    .to_string();
    let revision = prepared.declaration.revision;
    let at = Instant::now();
    observer.publish_retained_nowait(&topic, encode(&prepared.declaration))?;
    Ok((revision, at))
}

/// When the observer saw every display confirm the view of `revision`.
async fn confirmed_on_bus(
    observer: &mut BusSession,
    revision: u64,
    displays: usize,
) -> Result<Instant> {
    let deadline = Instant::now() + ROUND_TIMEOUT;
    loop {
        let confirmations = observer.confirmations();
        if observer.state.max_revision() >= revision
            && confirmations.all_confirmed()
            && confirmations.tally(NodeKind::Screen).confirmed >= displays
        {
            return Ok(Instant::now());
        }
        if observer.next_change(deadline).await.is_none() {
            bail!("revision {revision} not confirmed by every display within {ROUND_TIMEOUT:?}");
        }
    }
}

/// When `event` of `revision` reached the receiver (arrivals are kept in `seen`, so the
/// order they are asked for in does not matter).
async fn arrived(
    arrivals: &mut mpsc::UnboundedReceiver<Arrival>,
    seen: &mut Vec<Arrival>,
    event: &str,
    revision: u64,
    forged: &AtomicUsize,
) -> Result<Instant> {
    let deadline = Instant::now() + ROUND_TIMEOUT;
    loop {
        if let Some(found) = seen
            .iter()
            .find(|a| a.event == event && a.revision == revision)
        {
            return Ok(found.at);
        }
        match tokio::time::timeout_at(deadline, arrivals.recv()).await {
            Ok(Some(arrival)) => seen.push(arrival),
            _ => bail!(
                "{event} of revision {revision} not received within {ROUND_TIMEOUT:?} ({} bad signatures)",
                forged.load(Ordering::Relaxed)
            ),
        }
    }
}

/// Every arrival up to the last event the queue holds: `screens.confirmed` of `last`.
async fn drain(
    arrivals: &mut mpsc::UnboundedReceiver<Arrival>,
    last: u64,
    forged: &AtomicUsize,
) -> Result<Vec<Arrival>> {
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    let mut drained = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, arrivals.recv()).await {
            Ok(Some(arrival)) => {
                let done = arrival.event == "screens.confirmed" && arrival.revision == last;
                drained.push(arrival);
                if done {
                    return Ok(drained);
                }
            }
            _ => bail!(
                "the queue did not drain within {DRAIN_TIMEOUT:?}: {} events arrived ({} bad signatures)",
                drained.len(),
                forged.load(Ordering::Relaxed)
            ),
        }
    }
}
