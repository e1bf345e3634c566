//! `raincheck bench idle --seconds S [--screen|--counter|--console|--detector]`: resident memory and CPU of a node
//! process (this binary, `raincheck run`) connected to a private Mosquitto, sampled from
//! /proc after a warm-up. Targets: headless ≤ 15 MB RSS and ≤ 0.5 % of one core; a
//! signage node with its 1080p window ≤ 60 MB and ≤ 1 %.

use crate::mosquitto::MosquittoProcess;
use anyhow::{Context, Result};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

const WARM_UP: Duration = Duration::from_secs(5);

/// Which node to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdleNode {
    /// A headless display node: MQTT, the view, its report.
    Headless,
    /// A signage node with its 1920×1080 window.
    Screen,
    /// A headless counter: voucher store, voucher sync session and its timers.
    Counter,
    /// A console: its MQTT worker and the HTTP server, no page open.
    Console,
    /// A detector probing a local port every 5 s.
    Detector,
}

impl IdleNode {
    fn describe(self) -> &'static str {
        match self {
            IdleNode::Headless => "headless",
            IdleNode::Screen => "signage (1080p window)",
            IdleNode::Counter => "headless counter (voucher store and sync)",
            IdleNode::Console => "console (MQTT worker and HTTP server)",
            IdleNode::Detector => "detector (a probe every 5 s)",
        }
    }
}

pub fn run(seconds: u64, node: IdleNode) -> Result<ExitCode> {
    let screen = node == IdleNode::Screen;
    if screen
        && std::env::var_os("DISPLAY").is_none()
        && std::env::var_os("WAYLAND_DISPLAY").is_none()
    {
        anyhow::bail!(
            "--screen needs a display; run it under `xvfb-run -s \"-screen 0 1920x1080x24\"`"
        );
    }
    let broker = MosquittoProcess::start("").context("start a private mosquitto")?;
    let directory = tempfile::tempdir()?;
    let config = directory.path().join("idle.toml");
    // A port that answers, for the detector's probe.
    let probed = std::net::TcpListener::bind("127.0.0.1:0")?;
    let extra = match node {
        IdleNode::Counter => {
            use std::os::unix::fs::PermissionsExt;
            let secret = directory.path().join("voucher-secret");
            std::fs::write(&secret, b"idle-benchmark-secret-32-bytes!!")?;
            std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600))?;
            format!(
                "[counter]\nterminal = 1\nsecret_file = \"{}\"\n[[counter.offers]]\nid = \"popcorn\"\nnumber = 1\ntitle = \"Popcorn\"\nvalidity_days = 90\n",
                secret.display()
            )
        }
        IdleNode::Console => format!(
            "[console]\nlisten = \"127.0.0.1:0\"\n[[console.managers]]\nname = \"Bench\"\npin_hash = \"{}\"\n",
            crate::console::hash_pin("4821").map_err(|e| anyhow::anyhow!(e))?
        ),
        IdleNode::Detector => format!(
            "[[detection.probes]]\nid = \"processor\"\ntarget = \"tcp://{}\"\n",
            probed.local_addr()?
        ),
        IdleNode::Headless | IdleNode::Screen => String::new(),
    };
    let (role, backend) = match node {
        IdleNode::Screen => ("signage", "winit"),
        IdleNode::Headless => ("signage", "headless"),
        IdleNode::Counter => ("counter", "headless"),
        IdleNode::Console => ("console", "headless"),
        IdleNode::Detector => ("detector", "headless"),
    };
    std::fs::write(
        &config,
        format!(
            "[node]\nvenue = \"bench\"\nid = \"idle-node\"\nroles = [\"{role}\"]\ndata_dir = \"{}\"\n[broker]\nurl = \"{}\"\n[display]\nbackend = \"{backend}\"\n{extra}",
            directory.path().display(),
            broker.url()
        ),
    )?;
    let mut child = Command::new(std::env::current_exe()?)
        .arg("run")
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("start the node")?;
    std::thread::sleep(WARM_UP);
    let pid = child.id();
    let ticks_before = cpu_ticks(pid)?;
    let started = std::time::Instant::now();
    std::thread::sleep(Duration::from_secs(seconds.max(1)));
    let ticks_after = cpu_ticks(pid)?;
    let elapsed = started.elapsed().as_secs_f64();
    let (rss_kib, peak_kib) = memory_kib(pid)?;
    let _ = child.kill();
    let _ = child.wait();
    let ticks_per_second = 100.0; // USER_HZ on Linux
    let cpu_percent = (ticks_after - ticks_before) as f64 / ticks_per_second / elapsed * 100.0;
    println!(
        "{} node idle over {elapsed:.0} s: RSS {:.1} MB (peak {:.1} MB), CPU {cpu_percent:.2} % of one core",
        node.describe(),
        rss_kib as f64 / 1024.0,
        peak_kib as f64 / 1024.0
    );
    Ok(ExitCode::SUCCESS)
}

/// utime + stime of a process, in clock ticks.
pub fn cpu_ticks(pid: u32) -> Result<u64> {
    let stat =
        std::fs::read_to_string(format!("/proc/{pid}/stat")).context("read /proc/PID/stat")?;
    // The command name may hold spaces; fields resume after its closing parenthesis.
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |index: usize| {
        fields
            .get(index)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Ok(field(11) + field(12))
}

/// (VmRSS, VmHWM) in KiB.
pub fn memory_kib(pid: u32) -> Result<(u64, u64)> {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).context("read /proc/PID/status")?;
    let value = |key: &str| {
        status
            .lines()
            .find(|line| line.starts_with(key))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Ok((value("VmRSS:"), value("VmHWM:")))
}
