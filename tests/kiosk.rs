//! The two kiosk paths of docs/DEPLOY.md, with real parts and an incident declared before
//! the screen starts: the Wayland kiosk (cage, with and without `-d`, on wlroots' headless
//! backend, the screen grabbed with `grim`) and the plain X11 one (`xinit` with no window manager, Xvfb as the
//! server, the screen grabbed with `xwd`). Each grab must be the sign's cash-only amber to
//! its last row and column, in landscape and in portrait. Skipped, saying why, when a tool
//! is missing, unless RAINCHECK_REQUIRE_CAGE=1 / RAINCHECK_REQUIRE_XVFB=1 (as in CI).
//!
//! cage refuses to run as root, so as root (CI) the kiosk runs as `nobody` through
//! `setpriv`, with a private XDG_RUNTIME_DIR and a copy of the binary it can read.

mod common;

use common::*;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const NODE: &str = "kiosk-1";
const GRAB_WITHIN: Duration = Duration::from_secs(20);

/// Whether every tool is installed; panics instead of skipping when `require` is set.
fn tools_present(tools: &[&str], require: &str, install: &str) -> bool {
    let missing: Vec<&&str> = tools
        .iter()
        .filter(|tool| !Path::new("/usr/bin").join(tool).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert_ne!(
        std::env::var(require).as_deref(),
        Ok("1"),
        "{require}=1 but {missing:?} is not installed ({install})"
    );
    eprintln!("SKIPPED: {missing:?} is not installed ({install}); this test needs it");
    false
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|line| line.starts_with("Uid:"))
        .and_then(|line| line.split_whitespace().nth(1).map(|uid| uid == "0"))
        .unwrap_or(false)
}

/// `nobody`'s uid and gid, for the files the kiosk writes.
fn nobody() -> (u32, u32) {
    let id = |flag: &str| -> u32 {
        let output = Command::new("id").args([flag, "nobody"]).output().unwrap();
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .unwrap()
    };
    (id("-u"), id("-g"))
}

/// A command run as the kiosk user: `nobody` when the tests run as root.
fn as_kiosk_user(program: &str) -> Command {
    if is_root() {
        let mut command = Command::new("setpriv");
        command.args([
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            program,
        ]);
        command
    } else {
        Command::new(program)
    }
}

/// A process group (cage or xinit and everything they started), ended when dropped.
struct Session {
    child: std::process::Child,
    log: PathBuf,
}

impl Session {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

/// A private, world-readable directory with a copy of the binary and a signage config
/// whose window is a kiosk, its data directory writable by the kiosk user.
fn kiosk_directory(broker_url: &str, display_extra: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let directory = tempfile::Builder::new()
        .prefix("raincheck-kiosk-")
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::set_permissions(directory.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let binary_copy = directory.path().join("raincheck");
    std::fs::copy(binary(), &binary_copy).expect("copy the binary");
    std::fs::set_permissions(&binary_copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = write_config(
        directory.path(),
        NODE,
        &format!(
            "[broker]\nurl = \"{broker_url}\"\n[display]\nbackend = \"winit\"\nfullscreen = true\n{display_extra}"
        ),
    );
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    if is_root() {
        let (uid, gid) = nobody();
        std::os::unix::fs::chown(
            directory.path().join(format!("{NODE}-data")),
            Some(uid),
            Some(gid),
        )
        .unwrap();
    }
    (directory, binary_copy, config)
}

/// How much of a grabbed screen is the cash-only page, and where it is not.
struct Coverage {
    width: u32,
    height: u32,
    amber_share: f64,
    /// The share of amber in the last rows and the last columns (a band shows here).
    bottom_edge: f64,
    right_edge: f64,
    black_rows: usize,
}

impl Coverage {
    fn of(width: u32, height: u32, rgb: &[[u8; 3]]) -> Self {
        let amber = |p: &[u8; 3]| p[0] > 0xf0 && (0xa8..0xbe).contains(&p[1]) && p[2] < 0x10;
        let black = |p: &[u8; 3]| p[0] < 0x10 && p[1] < 0x10 && p[2] < 0x10;
        let (w, h) = (width as usize, height as usize);
        let at = |x: usize, y: usize| &rgb[y * w + x];
        let share = |pixels: &mut dyn Iterator<Item = &[u8; 3]>| {
            let (mut all, mut hit) = (0usize, 0usize);
            for p in pixels {
                all += 1;
                hit += usize::from(amber(p));
            }
            hit as f64 / all.max(1) as f64
        };
        let edge = 8;
        Coverage {
            width,
            height,
            amber_share: share(&mut rgb.iter()),
            bottom_edge: share(
                &mut (h - edge..h)
                    .flat_map(|y| (0..w).map(move |x| (x, y)))
                    .map(|(x, y)| at(x, y)),
            ),
            right_edge: share(
                &mut (0..h)
                    .flat_map(|y| (w - edge..w).map(move |x| (x, y)))
                    .map(|(x, y)| at(x, y)),
            ),
            black_rows: (0..h)
                .filter(|&y| (0..w).filter(|&x| black(at(x, y))).count() * 100 >= w * 99)
                .count(),
        }
    }

    fn fills(&self, width: u32, height: u32) -> bool {
        (self.width, self.height) == (width, height)
            && self.amber_share > 0.5
            && self.bottom_edge > 0.95
            && self.right_edge > 0.95
            && self.black_rows == 0
    }
}

impl std::fmt::Display for Coverage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}×{}: {:.0} % amber, last rows {:.0} %, last columns {:.0} %, {} black rows",
            self.width,
            self.height,
            self.amber_share * 100.0,
            self.bottom_edge * 100.0,
            self.right_edge * 100.0,
            self.black_rows
        )
    }
}

fn decode_png(bytes: &[u8]) -> Option<(u32, u32, Vec<[u8; 3]>)> {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .ok()?;
    let mut buffer = vec![0; reader.output_buffer_size()?];
    let info = reader.next_frame(&mut buffer).ok()?;
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        _ => return None,
    };
    let pixels = buffer[..info.buffer_size()]
        .chunks(channels)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    Some((info.width, info.height, pixels))
}

/// Grabs until the screen is the sign from edge to edge, or fails with the last grab saved
/// in target/screenshots/ for people to look at.
fn assert_sign_fills(
    name: &str,
    width: u32,
    height: u32,
    mut grab: impl FnMut() -> Result<Vec<u8>, String>,
) {
    let deadline = Instant::now() + GRAB_WITHIN;
    let path = screenshots_dir().join(format!("{name}.png"));
    loop {
        let grabbed = grab().and_then(|png| {
            decode_png(&png)
                .map(|(w, h, rgb)| (w, h, rgb, png))
                .ok_or_else(|| "the grab is not an 8-bit RGB PNG".to_owned())
        });
        let last = match grabbed {
            Ok((w, h, rgb, png)) => {
                let coverage = Coverage::of(w, h, &rgb);
                std::fs::write(&path, &png).unwrap();
                if coverage.fills(width, height) {
                    eprintln!("{name}: {coverage} (saved in {})", path.display());
                    return;
                }
                coverage.to_string()
            }
            Err(error) => error,
        };
        assert!(
            Instant::now() < deadline,
            "{name}: the sign does not fill the {width}×{height} output within {GRAB_WITHIN:?}: {last} (see {})",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// raincheck under cage with `cage_options` on wlroots' headless 1280×720 output (each
/// `-r` turns it a quarter clockwise).
fn cage_kiosk(name: &str, cage_options: &[&str], width: u32, height: u32) {
    if !tools_present(
        &["cage", "grim", "Xwayland"],
        "RAINCHECK_REQUIRE_CAGE",
        "apt-get install cage grim xwayland",
    ) {
        return;
    }
    let Some(broker) = mosquitto("") else { return };
    let (_, revision) = declare(&broker.url(), "start", &[]);
    // A CEC command that is not installed: a warning, and the sign is drawn all the same.
    let (directory, binary_copy, config) = kiosk_directory(
        &broker.url(),
        "cec_command = [\"/nonexistent/cec-ctl\", \"--to\", \"0\", \"--image-view-on\"]\n",
    );
    let runtime_dir = directory.path().join("xdg");
    std::fs::create_dir(&runtime_dir).unwrap();
    std::fs::set_permissions(&runtime_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    if is_root() {
        let (uid, gid) = nobody();
        std::os::unix::fs::chown(&runtime_dir, Some(uid), Some(gid)).unwrap();
    }
    let log = directory.path().join("cage.log");
    let log_file = std::fs::File::create(&log).unwrap();
    let mut command = as_kiosk_user("/usr/bin/env");
    command
        .arg("-i")
        .arg("PATH=/usr/bin:/bin")
        .arg(format!("XDG_RUNTIME_DIR={}", runtime_dir.display()))
        .args([
            "WLR_BACKENDS=headless",
            "WLR_RENDERER=pixman",
            "WLR_LIBINPUT_NO_DEVICES=1",
            "RUST_LOG=info",
        ])
        .arg("cage")
        .args(cage_options)
        .arg("--")
        .arg(&binary_copy)
        .args(["run", "--config"])
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        .process_group(0);
    let session = Session {
        child: command.spawn().expect("start cage"),
        log,
    };

    let runtime = runtime();
    runtime.block_on(async {
        let mut observer = observer(&broker.url()).await;
        wait_for(
            &mut observer,
            Duration::from_secs(30),
            "the kiosk confirms the incident",
            confirmed_after(&[NODE], revision),
        )
        .await;
        observer.close().await;
    });
    // Scan-out: cage 0.1 hands a full-screen client's buffer straight to the output, and on
    // the headless backend grim then reads the last composited frame instead. A rotated
    // output is always composited, so the landscape case turns the output by 180°.
    assert_sign_fills(name, width, height, || {
        let output = as_kiosk_user("grim")
            .arg("-")
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("XDG_RUNTIME_DIR", &runtime_dir)
            .env("WAYLAND_DISPLAY", "wayland-0")
            .output()
            .map_err(|error| format!("cannot run grim: {error}"))?;
        match output.status.success() {
            true => Ok(output.stdout),
            false => Err(format!(
                "grim: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )),
        }
    });
    let log = session.log();
    assert!(
        log.contains("is not installed") && log.contains("cec-ctl"),
        "a missing CEC command is a warning in the log:\n{log}"
    );
    assert!(!log.contains("panicked"), "the kiosk panicked:\n{log}");
}

#[test]
fn under_cage_the_sign_fills_a_landscape_output() {
    // Without -d cage asks for client-side decorations: the sign must still have no frame
    // (its title bar took 35 px off the bottom of the sign before).
    cage_kiosk("kiosk-cage-landscape", &["-r", "-r"], 1280, 720);
}

#[test]
fn under_cage_the_sign_fills_a_portrait_output() {
    // The command line of docs/DEPLOY.md, "Kiosk under cage".
    cage_kiosk("kiosk-cage-portrait", &["-d", "-r"], 720, 1280);
}

/// The pixels of an `xwd -root` dump (ZPixmap, 24/32 bits per pixel, as Xvfb gives).
fn decode_xwd(bytes: &[u8]) -> Option<(u32, u32, Vec<[u8; 3]>)> {
    let field = |index: usize| -> Option<u32> {
        Some(u32::from_be_bytes(
            bytes.get(index * 4..index * 4 + 4)?.try_into().ok()?,
        ))
    };
    let (header, width, height) = (field(0)? as usize, field(4)?, field(5)?);
    let (lsb_first, bits_per_pixel, bytes_per_line) =
        (field(7)? == 0, field(11)?, field(12)? as usize);
    let colours = field(19)? as usize;
    if bits_per_pixel != 32 {
        return None;
    }
    let data = bytes.get(header + colours * 12..)?;
    let mut pixels = Vec::with_capacity((width * height) as usize);
    for y in 0..height as usize {
        for x in 0..width as usize {
            let at = y * bytes_per_line + x * 4;
            let raw: [u8; 4] = data.get(at..at + 4)?.try_into().ok()?;
            let value = if lsb_first {
                u32::from_le_bytes(raw)
            } else {
                u32::from_be_bytes(raw)
            };
            pixels.push([(value >> 16) as u8, (value >> 8) as u8, value as u8]);
        }
    }
    Some((width, height, pixels))
}

fn png_of(width: u32, height: u32, rgb: &[[u8; 3]]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let flat: Vec<u8> = rgb.iter().flatten().copied().collect();
    encoder
        .write_header()
        .unwrap()
        .write_image_data(&flat)
        .unwrap();
    out
}

/// raincheck as xinit's only client on an X server with no window manager.
fn xinit_kiosk(name: &str, width: u32, height: u32, display_offset: u32) {
    if !tools_present(
        &["xinit", "Xvfb", "xwd", "xset"],
        "RAINCHECK_REQUIRE_XVFB",
        "apt-get install xinit xvfb x11-apps x11-xserver-utils",
    ) {
        return;
    }
    let Some(broker) = mosquitto("") else { return };
    let (_, revision) = declare(&broker.url(), "start", &[]);
    let directory = tempfile::tempdir().unwrap();
    // A fake CEC command that writes down how it was called.
    let record = directory.path().join("cec-calls");
    let fake = directory.path().join("fake-cec-ctl");
    std::fs::write(
        &fake,
        format!("#!/bin/sh\necho \"$@\" >> {}\n", record.display()),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (_kiosk_dir, binary_copy, config) = kiosk_directory(
        &broker.url(),
        &format!(
            "cec_command = [\"{}\", \"--to\", \"0\", \"--image-view-on\"]\n",
            fake.display()
        ),
    );
    // Tests run in parallel in one process: each its own range of display numbers.
    let free = (250 + display_offset + std::process::id() % 100 * 2..)
        .step_by(2)
        .find(|n| !Path::new(&format!("/tmp/.X{n}-lock")).exists());
    let display = format!(":{}", free.expect("a free X display number"));
    let log = directory.path().join("xinit.log");
    let log_file = std::fs::File::create(&log).unwrap();
    let mut command = Command::new("/usr/bin/xinit");
    command
        .arg(&binary_copy)
        .args(["run", "--config"])
        .arg(&config)
        .args(["--", "/usr/bin/Xvfb", display.as_str(), "-screen", "0"])
        .arg(format!("{width}x{height}x24"))
        .args(["-nolisten", "tcp"])
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        .process_group(0);
    let session = Session {
        child: command.spawn().expect("start xinit"),
        log,
    };

    let runtime = runtime();
    runtime.block_on(async {
        let mut observer = observer(&broker.url()).await;
        wait_for(
            &mut observer,
            Duration::from_secs(30),
            "the kiosk confirms the incident",
            confirmed_after(&[NODE], revision),
        )
        .await;
        observer.close().await;
    });
    assert_sign_fills(name, width, height, || {
        let output = Command::new("xwd")
            .args(["-root", "-silent", "-display", &display])
            .output()
            .map_err(|error| format!("cannot run xwd: {error}"))?;
        let (w, h, rgb) = decode_xwd(&output.stdout).ok_or_else(|| {
            let error = String::from_utf8_lossy(&output.stderr);
            format!("xwd: {} {}", output.status, error.trim())
        })?;
        Ok(png_of(w, h, &rgb))
    });
    // Blanking off while raincheck runs (the X server's default is 10 minutes).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let query = Command::new("xset")
            .args(["-display", &display, "q"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&query.stdout).to_string();
        if text.contains("timeout:  0 ") && text.contains("prefer blanking:  no") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the screen saver is still on:\n{text}\n{}",
            session.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The screen was switched on over CEC once, for the incident shown at start.
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::read_to_string(&record)
        .unwrap_or_default()
        .is_empty()
    {
        assert!(
            Instant::now() < deadline,
            "the CEC command did not run:\n{}",
            session.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        std::fs::read_to_string(&record).unwrap(),
        "--to 0 --image-view-on\n"
    );
    assert!(
        !session.log().contains("panicked"),
        "the kiosk panicked:\n{}",
        session.log()
    );
}

#[test]
fn on_x11_without_a_window_manager_the_sign_fills_a_landscape_screen() {
    xinit_kiosk("kiosk-x11-landscape", 1280, 720, 0);
}

#[test]
fn on_x11_without_a_window_manager_the_sign_fills_a_portrait_screen() {
    xinit_kiosk("kiosk-x11-portrait", 720, 1280, 1);
}
