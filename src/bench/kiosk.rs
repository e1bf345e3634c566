//! `raincheck bench kiosk [--rounds N] [--seconds S] [--user NAME]`: a kiosk screen under
//! cage on wlroots' headless backend (docs/DEPLOY.md, "Kiosk under cage"), with an
//! incident already declared on a private Mosquitto. Cold start: from starting cage to
//! the node's report that it *drew* the incident (a report is sent only once a rendered
//! frame shows the view), so a figure includes one loopback MQTT hop; each round is a new
//! cage, a new process and a new node id. Then the idle RSS and CPU of the kiosk's
//! raincheck process, and of cage itself, over `seconds`. Target: cold start ≤ 1 s.
//!
//! cage refuses to run as root: as root, the kiosk runs as `--user` (default `nobody`)
//! through `setpriv`, from a copy of this binary in a directory that user can read.

use super::idle::{cpu_ticks, memory_kib};
use super::stats::percentiles;
use crate::client::{BusSession, BusTarget};
use crate::model::Standing;
use crate::mosquitto::MosquittoProcess;
use crate::protocol::Identifier;
use anyhow::{bail, Context, Result};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

const VENUE: &str = "bench";
const WARM_UP: Duration = Duration::from_secs(5);
const FIRST_FRAME_WITHIN: Duration = Duration::from_secs(30);

pub fn run(rounds: usize, seconds: u64, user: String) -> Result<ExitCode> {
    if !Path::new("/usr/bin/cage").exists() {
        bail!("cage is not installed (apt-get install cage xwayland)");
    }
    let broker = MosquittoProcess::start("").context("start a private mosquitto")?;
    let declared = Command::new(std::env::current_exe()?)
        .args([
            "incident",
            "start",
            "--broker",
            &broker.url(),
            "--venue",
            VENUE,
        ])
        .args(["--timeout", "10"])
        .output()?;
    if !declared.status.success() {
        bail!(
            "cannot declare the incident: {}",
            String::from_utf8_lossy(&declared.stderr)
        );
    }
    let directory = kiosk_directory(&user)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut cold = Vec::new();
    let mut kiosk = None;
    for round in 0..rounds.max(1) {
        drop(kiosk.take());
        let node = format!("kiosk-{round}");
        let config = write_config(directory.path(), &node, &broker.url(), &user)?;
        let mut observer = runtime.block_on(async {
            let target =
                BusTarget::at_url(&broker.url(), VENUE)?.with_timeout(Duration::from_secs(10));
            BusSession::open(target, "bench-kiosk").await
        })?;
        let started = Instant::now();
        let session = start_cage(directory.path(), &config, &user)?;
        let drawn = runtime.block_on(wait_drawn(&mut observer, &node));
        let elapsed = started.elapsed();
        runtime.block_on(observer.close());
        if !drawn {
            bail!(
                "{node} did not draw the incident within {FIRST_FRAME_WITHIN:?}; cage's log: {}",
                directory.path().join("cage.log").display()
            );
        }
        cold.push(elapsed);
        kiosk = Some(session);
    }
    let fastest = cold.iter().min().copied().unwrap_or_default();
    if let Some(figures) = percentiles(&cold) {
        println!(
            "cold start under cage → first frame of the declared incident: {figures}, min {:.1} ms",
            fastest.as_secs_f64() * 1000.0
        );
    }
    let kiosk = kiosk.expect("at least one round");
    let raincheck =
        child_named(kiosk.child.id(), "raincheck").context("find the kiosk's raincheck process")?;
    std::thread::sleep(WARM_UP);
    let measured = [("raincheck", raincheck), ("cage", kiosk.child.id())];
    let before: Vec<u64> = measured
        .iter()
        .map(|(_, pid)| cpu_ticks(*pid))
        .collect::<Result<_>>()?;
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds.max(1)));
    let elapsed = started.elapsed().as_secs_f64();
    for ((name, pid), before) in measured.iter().zip(before) {
        let ticks = cpu_ticks(*pid)? - before;
        let (rss, peak) = memory_kib(*pid)?;
        println!(
            "{name} of an idle kiosk under cage over {elapsed:.0} s: RSS {:.1} MB (peak {:.1} MB), CPU {:.2} % of one core",
            rss as f64 / 1024.0,
            peak as f64 / 1024.0,
            ticks as f64 / 100.0 / elapsed * 100.0
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|line| line.starts_with("Uid:") && line.split_whitespace().nth(1) == Some("0"))
}

/// The `id` of `user`: (uid, gid).
fn ids_of(user: &str) -> Result<(u32, u32)> {
    let id = |flag: &str| -> Result<u32> {
        let output = Command::new("id").args([flag, user]).output()?;
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .with_context(|| format!("no user {user:?}"))
    };
    Ok((id("-u")?, id("-g")?))
}

/// A directory the kiosk user can read, with a copy of this binary and its runtime dir.
fn kiosk_directory(user: &str) -> Result<tempfile::TempDir> {
    let directory = tempfile::Builder::new()
        .prefix("raincheck-bench-kiosk-")
        .tempdir_in("/tmp")?;
    std::fs::set_permissions(directory.path(), std::fs::Permissions::from_mode(0o755))?;
    let binary = directory.path().join("raincheck");
    std::fs::copy(std::env::current_exe()?, &binary)?;
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755))?;
    let runtime_dir = directory.path().join("xdg");
    std::fs::create_dir(&runtime_dir)?;
    std::fs::set_permissions(&runtime_dir, std::fs::Permissions::from_mode(0o700))?;
    if is_root() {
        let (uid, gid) = ids_of(user)?;
        std::os::unix::fs::chown(&runtime_dir, Some(uid), Some(gid))?;
    }
    Ok(directory)
}

fn write_config(directory: &Path, node: &str, url: &str, user: &str) -> Result<std::path::PathBuf> {
    let data = directory.join(format!("{node}-data"));
    std::fs::create_dir_all(&data)?;
    if is_root() {
        let (uid, gid) = ids_of(user)?;
        std::os::unix::fs::chown(&data, Some(uid), Some(gid))?;
    }
    let config = directory.join(format!("{node}.toml"));
    std::fs::write(
        &config,
        format!(
            "[node]\nvenue = \"{VENUE}\"\nid = \"{node}\"\nroles = [\"signage\"]\ndata_dir = \"{}\"\n[broker]\nurl = \"{url}\"\n[display]\nbackend = \"winit\"\nfullscreen = true\n",
            data.display()
        ),
    )?;
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644))?;
    Ok(config)
}

/// cage and everything it started, in one process group, ended when dropped.
struct Kiosk {
    child: std::process::Child,
}

impl Drop for Kiosk {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.child.wait();
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
    }
}

/// The documented kiosk command line (`cage -d -- raincheck run …`) on the headless backend.
fn start_cage(directory: &Path, config: &Path, user: &str) -> Result<Kiosk> {
    let mut command = if is_root() {
        let mut command = Command::new("setpriv");
        command
            .arg(format!("--reuid={user}"))
            .arg(format!("--regid={}", ids_of(user)?.1));
        command.args(["--clear-groups", "/usr/bin/env"]);
        command
    } else {
        Command::new("/usr/bin/env")
    };
    let log = std::fs::File::create(directory.join("cage.log"))?;
    command
        .arg("-i")
        .arg("PATH=/usr/bin:/bin")
        .arg(format!(
            "XDG_RUNTIME_DIR={}",
            directory.join("xdg").display()
        ))
        .args([
            "WLR_BACKENDS=headless",
            "WLR_RENDERER=pixman",
            "WLR_LIBINPUT_NO_DEVICES=1",
        ])
        .args(["cage", "-d", "--"])
        .arg(directory.join("raincheck"))
        .args(["run", "--config"])
        .arg(config)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0);
    Ok(Kiosk {
        child: command.spawn().context("start cage")?,
    })
}

/// Waits until `node` reports it drew the venue's view (the declared incident).
async fn wait_drawn(observer: &mut BusSession, node: &str) -> bool {
    let Ok(node) = Identifier::parse(node) else {
        return false;
    };
    let until = tokio::time::Instant::now() + FIRST_FRAME_WITHIN;
    loop {
        if observer.confirmations().standing(&node) == Some(Standing::Confirmed) {
            return true;
        }
        if observer.next_change(until).await.is_none() {
            return false;
        }
    }
}

/// The first child of `parent` whose command name is `name`, from /proc.
fn child_named(parent: u32, name: &str) -> Result<u32> {
    for entry in std::fs::read_dir("/proc")? {
        let Ok(pid) = entry?.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let ppid = stat[close + 1..]
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse::<u32>().ok());
        if &stat[open + 1..close] == name && ppid == Some(parent) {
            return Ok(pid);
        }
    }
    bail!("no {name} process under {parent}")
}
