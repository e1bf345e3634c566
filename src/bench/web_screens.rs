//! `raincheck bench web-screens --pages P --clients C`: trigger → every web screen painted
//! and confirmed. A console node runs in this process against a private Mosquitto with
//! P + C web screens; P real headless Chromium pages (one browser process each, as on a
//! player) and C simulated pages (an SSE stream each, which posts what it was told as
//! painted, as a page does after its paint) connect to it. Each round publishes a manager's
//! declaration (cash only, then all clear) and times until an observer on the broker sees
//! every web screen confirm it. Also prints the memory per connected page: the bench
//! process's RSS before and after the pages connect (with simulated pages, console and
//! clients both, so an upper bound; with Chromium pages only, the console alone) and each
//! Chromium's PSS (its processes' own share of memory). Every browser connects from
//! 127.0.0.1, so the bench raises the console's connection limits (`console.max_connections`,
//! `console.max_connections_per_address`) past what one host would get in a venue.

use super::fleet::VENUE;
use super::stats::percentiles;
use crate::app::start_node;
use crate::client::{BusSession, BusTarget};
use crate::model::{prepare_declaration, DeclareAction, DeclareRequest, NodeKind};
use crate::protocol::{encode, Authority, Identifier, IncidentTexts, Topic, TopicKind};
use crate::shutdown::shutdown_pair;
use anyhow::{bail, Context, Result};
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::time::Instant;

const ROUND_TIMEOUT: Duration = Duration::from_secs(60);
/// Untimed switches before the timed rounds.
const WARM_UP: usize = 2;
const CHROMIUM: &str = "/usr/bin/chromium";
/// Simulated pages per loopback source address, each with its own stream and one shared
/// posting connection per address: many devices, as in a venue, not one host.
const PER_ADDRESS: usize = 12;
/// The console's connection limits for the bench: 1,000 simulated streams and their posting
/// connections, and 50 browsers from one address, each with its stream, its posts and its
/// page loads. Well inside `ulimit -n` (20,000 on the bench machine).
const LIMITS: &str =
    "max_connections = 4096\nmax_connections_per_address = 1024\nweb_streams_per_address = 1024\n";

pub fn run(pages: usize, clients: usize, rounds: usize) -> Result<ExitCode> {
    let (broker, runtime) = super::fleet::private_broker_and_runtime()?;
    let data = tempfile::tempdir()?;
    let result = runtime.block_on(measure(pages, clients, rounds, broker.url(), data.path()));
    drop(broker);
    result
}

fn screen_id(kind: &str, index: usize) -> String {
    format!("{kind}-{index}")
}

fn key(kind: &str, index: usize) -> String {
    format!("bench-key-{kind}-{index}")
}

fn console_config(
    url: &str,
    data: &Path,
    pages: usize,
    clients: usize,
) -> Result<crate::config::NodeConfig> {
    let mut text = format!(
        "[node]\nvenue = \"{VENUE}\"\nid = \"back-office\"\nroles = [\"console\"]\ndata_dir = \"{}\"\n[broker]\nurl = \"{url}\"\n[console]\nlisten = \"0.0.0.0:0\"\n{LIMITS}[[console.managers]]\nname = \"Bench\"\npin_hash = \"{}\"\n",
        data.display(),
        crate::console::hash_pin("4821").map_err(|e| anyhow::anyhow!(e))?
    );
    for (kind, count) in [("page", pages), ("sim", clients)] {
        for index in 0..count {
            let _ = write!(
                text,
                "[[console.web_screens]]\nid = \"{}\"\nname = \"Bench {kind} {index}\"\nkey_hash = \"{}\"\nmax_pages = 1\n",
                screen_id(kind, index),
                crate::config::access_key_hash(&key(kind, index))
            );
        }
    }
    crate::config::load_str(&text, Path::new("bench.toml"))
        .map_err(|report| anyhow::anyhow!("{report}"))
}

async fn measure(
    pages: usize,
    clients: usize,
    rounds: usize,
    url: String,
    data: &Path,
) -> Result<ExitCode> {
    let (trigger, shutdown) = shutdown_pair();
    let console = start_node(
        &console_config(&url, data, pages, clients)?,
        Path::new("."),
        shutdown.clone(),
    )?;
    let address = console
        .console
        .context("the console did not start its server")?;
    let port = address.port();
    let target = BusTarget::at_url(&url, VENUE)?.with_timeout(Duration::from_secs(30));
    let mut observer = BusSession::open(target, "bench").await?;
    let screens = pages + clients;

    let before = rss_kib(std::process::id());
    let mut tasks = Vec::with_capacity(clients);
    let mut posters: std::collections::HashMap<IpAddr, Poster> = Default::default();
    for index in 0..clients {
        let source = IpAddr::V4(Ipv4Addr::new(
            127,
            0,
            1 + (index / PER_ADDRESS / 250) as u8,
            1 + (index / PER_ADDRESS % 250) as u8,
        ));
        let poster = posters.entry(source).or_default().clone();
        tasks.push(tokio::spawn(simulated_page(
            source,
            port,
            screen_id("sim", index),
            key("sim", index),
            poster,
        )));
    }
    let browsers_dir = tempfile::tempdir()?;
    let mut browsers = Browsers(Vec::with_capacity(pages));
    for index in 0..pages {
        let page = format!(
            "http://127.0.0.1:{port}/screen/{}?key={}",
            screen_id("page", index),
            key("page", index)
        );
        browsers.0.push(
            Command::new(CHROMIUM)
                .args([
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    "--window-size=960,540",
                ])
                .arg(format!(
                    "--user-data-dir={}",
                    browsers_dir.path().join(index.to_string()).display()
                ))
                .arg(page)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .with_context(|| format!("start {CHROMIUM}"))?,
        );
    }
    // Chromium starts in about a second of CPU per browser; on 2 cores 50 take a while.
    let start_up = Duration::from_secs(60 + 5 * (pages as u64) + (clients as u64) / 10);
    wait_confirmed(&mut observer, screens, start_up)
        .await
        .context("every web screen confirms the normal view")?;
    let after = rss_kib(std::process::id());
    let chromium: Vec<u64> = browsers
        .0
        .iter()
        .map(|child| tree_sum(child.id(), pss_kib))
        .collect();
    println!("{pages} Chromium pages and {clients} simulated pages connected and confirmed");
    let connected = pages + clients;
    if connected > 0 {
        let whose = if clients > 0 {
            "console + simulated client, upper bound"
        } else {
            "the console alone: the browsers are other processes"
        };
        println!(
            "bench process RSS {before} KiB → {after} KiB: {:.1} KiB per connected page ({whose})",
            after.saturating_sub(before) as f64 / connected as f64
        );
    }
    if !chromium.is_empty() {
        println!(
            "Chromium memory per page (PSS of the browser and its helpers): {} MiB average",
            chromium.iter().sum::<u64>() / chromium.len() as u64 / 1024
        );
    }

    let mut samples = Vec::with_capacity(rounds);
    let mut cpu_before = (0, 0);
    // Two untimed switches first (cash only, all clear): each page's first switch pays for
    // loading the view's code and fonts, which a player does once, not per incident.
    for round in 0..rounds + WARM_UP {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let action = if round % 2 == 0 {
            DeclareAction::Start
        } else {
            DeclareAction::Resolve
        };
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
        let prepared = prepare_declaration(
            &observer.state,
            request,
            None,
            now,
            crate::model::incident_id(now, rand::random()),
        )
        .map_err(|refusal| anyhow::anyhow!("{refusal}"))?;
        let topic = Topic::venue(
            &Identifier::parse(VENUE)?,
            TopicKind::Incident,
            &prepared.declaration.source,
        )
        .to_string();
        let revision = prepared.declaration.revision;
        if round == WARM_UP {
            cpu_before = cpu_now(&browsers);
        }
        let started = Instant::now();
        observer.publish_retained_nowait(&topic, encode(&prepared.declaration))?;
        wait_until(&mut observer, ROUND_TIMEOUT, |session| {
            session.state.max_revision() >= revision && all_confirmed(session, screens)
        })
        .await
        .with_context(|| format!("round {round}: every web screen confirms"))?;
        if round >= WARM_UP {
            samples.push(started.elapsed());
        }
    }
    println!(
        "trigger → every web screen painted and confirmed ({} screens, {rounds} rounds): {}",
        screens,
        percentiles(&samples)
            .map(|p| p.to_string())
            .unwrap_or_default()
    );
    // Where a switch's time goes on 2 cores: the CPU each side spent per timed switch
    // (pauses between rounds included: pings, idle timers).
    let (browsers_cpu, own_cpu) = cpu_now(&browsers);
    let per_switch = |ticks: u64| ticks as f64 * 10.0 / rounds.max(1) as f64; // USER_HZ: 100 ticks/s
    println!(
        "CPU per switch: Chromium {:.1} ms per page ({:.0} ms for all {pages}), this process (console, observer, simulated pages) {:.0} ms",
        per_switch(browsers_cpu - cpu_before.0) / pages.max(1) as f64,
        per_switch(browsers_cpu - cpu_before.0),
        per_switch(own_cpu - cpu_before.1)
    );
    drop(browsers);
    for task in tasks {
        task.abort();
    }
    observer.close().await;
    trigger.trigger();
    let _ = tokio::time::timeout(Duration::from_secs(10), console.join()).await;
    Ok(ExitCode::SUCCESS)
}

/// The Chromium processes, killed however the benchmark ends.
struct Browsers(Vec<Child>);

impl Drop for Browsers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Every web screen (the venue's only screens) confirms the current view, from the
/// session's tracker, kept per report as `bench switch` counts: recounting every screen
/// on every report cost O(screens) each, on the same 2 cores as the console — at 1,000
/// pages most of this process's CPU.
fn all_confirmed(session: &BusSession, screens: usize) -> bool {
    let confirmations = session.confirmations();
    confirmations.all_confirmed() && confirmations.tally(NodeKind::Screen).confirmed >= screens
}

async fn wait_confirmed(observer: &mut BusSession, screens: usize, within: Duration) -> Result<()> {
    wait_until(observer, within, |session| all_confirmed(session, screens)).await
}

async fn wait_until(
    observer: &mut BusSession,
    within: Duration,
    done: impl Fn(&BusSession) -> bool,
) -> Result<()> {
    let deadline = Instant::now() + within;
    while !done(observer) {
        if observer.next_change(deadline).await.is_none() {
            bail!("not within {within:?}: {}", observer.headline());
        }
    }
    Ok(())
}

/// One keep-alive connection the simulated pages of one source address post through, so
/// that they fit in the console's 512 connections beside their streams.
type Poster = std::sync::Arc<tokio::sync::Mutex<Option<tokio::net::TcpStream>>>;

/// A page without a browser: reads the stream and posts every synced view as painted.
async fn simulated_page(
    source: IpAddr,
    port: u16,
    id: String,
    key: String,
    poster: Poster,
) -> Result<()> {
    let server = SocketAddr::from(([127, 0, 0, 1], port));
    let stream = connect_from(source, server).await?;
    let (read, mut write) = stream.into_split();
    write
        .write_all(format!("GET /screen/{id}/events?key={key} HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n").as_bytes())
        .await?;
    let mut lines = BufReader::new(read).lines();
    let mut event = String::new();
    while let Some(line) = lines.next_line().await? {
        if let Some(name) = line.strip_prefix("event:") {
            event = name.trim().to_owned();
        } else if let Some(data) = line.strip_prefix("data:") {
            if event != "view" {
                continue;
            }
            let view: serde_json::Value = serde_json::from_str(data.trim())?;
            if view["synced"] != true {
                continue;
            }
            let body =
                serde_json::json!({"seq": view["seq"], "digest": view["digest"]}).to_string();
            let request = format!(
                "POST /screen/{id}/painted?key={key} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            // The console closes a keep-alive connection idle for 15 s: post again on a
            // fresh one when the answer does not come.
            let mut poster = poster.lock().await;
            for _attempt in 0..2 {
                if poster.is_none() {
                    *poster = Some(connect_from(source, server).await?);
                }
                let connection = poster.as_mut().context("a poster connection")?;
                let mut buffer = [0u8; 1024];
                let answered = match connection.write_all(request.as_bytes()).await {
                    Ok(()) => matches!(connection.read(&mut buffer).await, Ok(read) if read > 0),
                    Err(_) => false,
                };
                if answered {
                    break;
                }
                *poster = None;
            }
        }
    }
    Ok(())
}

async fn connect_from(source: IpAddr, server: SocketAddr) -> Result<tokio::net::TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source, 0))?;
    Ok(socket.connect(server).await?)
}

/// Resident memory of `pid`, KiB.
fn rss_kib(pid: u32) -> u64 {
    proc_kib(&format!("/proc/{pid}/status"), "VmRSS:")
}

/// Proportional set size of `pid` (shared pages split among their users), KiB.
fn pss_kib(pid: u32) -> u64 {
    proc_kib(&format!("/proc/{pid}/smaps_rollup"), "Pss:")
}

/// The KiB figure of the line starting with `field` in a /proc file; 0 if unreadable.
fn proc_kib(path: &str, field: &str) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix(field))
                .and_then(|value| value.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// `figure` summed over `pid` and every process below it (a browser and its helpers; the
/// children of each of its threads, since Chromium starts helpers from several).
fn tree_sum(pid: u32, figure: fn(u32) -> u64) -> u64 {
    let mut total = figure(pid);
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return total;
    };
    for task in tasks.flatten() {
        let children = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        for child in children.split_whitespace().filter_map(|c| c.parse().ok()) {
            total += tree_sum(child, figure);
        }
    }
    total
}

/// CPU ticks of every browser's processes, and of this process.
fn cpu_now(browsers: &Browsers) -> (u64, u64) {
    let ticks = |pid| super::idle::cpu_ticks(pid).unwrap_or(0);
    let browsers = browsers.0.iter().map(|c| tree_sum(c.id(), ticks)).sum();
    (browsers, ticks(std::process::id()))
}
