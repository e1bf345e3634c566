//! The plain X11 kiosk of docs/DEPLOY.md ("Kiosk on a bare X server"): raincheck as the
//! only client of `xinit`, no window manager, Xvfb as the server, an incident declared
//! before the screen starts. The root window grabbed with `xwd` must be the sign's
//! cash-only amber to its last row and column, in landscape and portrait (a bare X server
//! ignores full-screen requests: the node sizes its window to the monitor itself); the
//! screen saver must be off and a fake CEC command must have run once. An X server
//! without RandR, where winit cannot work, leaves a node that says it draws nothing. Skipped,
//! saying why, when a tool is missing, unless RAINCHECK_REQUIRE_XVFB=1 (as in CI).

mod common;

use common::kiosk::*;
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const NODE: &str = "kiosk-1";

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
        KioskRole::Signage,
        NODE,
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
    let mut command = Command::new("/usr/bin/xinit");
    command
        .arg(&binary_copy)
        .args(["run", "--config"])
        .arg(&config)
        .args(["--", "/usr/bin/Xvfb", display.as_str(), "-screen", "0"])
        .arg(format!("{width}x{height}x24"))
        .args(["-nolisten", "tcp"])
        .env("RUST_LOG", "info");
    let session = Session::start(command, directory.path().join("xinit.log"));

    wait_drawn(&broker.url(), NODE, revision, &session);
    assert_fills(name, width, height, &CASH_ONLY_SIGN, || {
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

/// An X server without RandR: winit cannot work there (it panics), and the node must say
/// so rather than die or claim a screen it cannot draw: it stays up and reports that it
/// draws nothing, and why.
#[test]
fn an_x_server_without_randr_is_a_screen_that_draws_nothing_not_a_crash() {
    if !tools_present(&["Xvfb"], "RAINCHECK_REQUIRE_XVFB", "apt-get install xvfb") {
        return;
    }
    let Some(broker) = mosquitto("") else { return };
    // Its own range of display numbers, apart from the tests above.
    let free = (450 + std::process::id() % 100..)
        .find(|n| !Path::new(&format!("/tmp/.X{n}-lock")).exists());
    let display = format!(":{}", free.expect("a free X display number"));
    let directory = tempfile::tempdir().unwrap();
    let mut server = Command::new("/usr/bin/Xvfb");
    server.args([display.as_str(), "-screen", "0", "1280x720x24"]);
    server.args(["-nolisten", "tcp", "-extension", "RANDR"]);
    let _server = Session::start(server, directory.path().join("xvfb.log"));
    let socket = format!("/tmp/.X11-unix/X{}", &display[1..]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !Path::new(&socket).exists() {
        assert!(Instant::now() < deadline, "Xvfb did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (_kiosk_dir, binary_copy, config) =
        kiosk_directory(KioskRole::Signage, NODE, &broker.url(), "");
    let mut command = Command::new(&binary_copy);
    command
        .args(["run", "--config"])
        .arg(&config)
        .env("DISPLAY", &display)
        .env("RUST_LOG", "warn");
    let node = Session::start(command, directory.path().join("node.log"));

    runtime().block_on(async {
        let mut observer = observer(&broker.url()).await;
        wait_for(
            &mut observer,
            Duration::from_secs(30),
            "the node reports that it draws nothing, and why",
            |state| {
                state.displays.values().any(|report| {
                    report.shown == Some(raincheck::protocol::Shown::Headless)
                        && report
                            .reason
                            .as_deref()
                            .is_some_and(|reason| reason.contains("RandR"))
                })
            },
        )
        .await;
        observer.close().await;
    });
    node.wait_for_log("running headless");
}
