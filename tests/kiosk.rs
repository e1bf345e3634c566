//! The Wayland kiosk of docs/DEPLOY.md ("Kiosk under cage") with real parts: cage on
//! wlroots' headless backend (a 1280×720 output), an incident declared before the screen
//! starts, the screen grabbed with `grim`. The sign must be its cash-only amber to the last
//! row and column, in landscape and portrait, with and without `cage -d`; the counter must
//! cover the output too. Skipped, saying why, when cage, grim or Xwayland is missing,
//! unless RAINCHECK_REQUIRE_CAGE=1 (as in CI).
//!
//! cage refuses to run as root, so as root (CI) the kiosk runs as `nobody` through
//! `setpriv`, with a private XDG_RUNTIME_DIR and a copy of the binary it can read.
//!
//! Scan-out: cage 0.1 hands a full-screen client's buffer straight to the output, and on
//! the headless backend grim then reads the last *composited* frame, which can be an early
//! one. A turned output (`-r`) is composited on every frame, so each case turns it
//! (landscape by 180°).

mod common;

use common::kiosk::*;
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The counter's window, whatever it shows: anything but the compositor's black around a
/// window that does not cover the output (the counter's darkest colour, its footer, is
/// #2a2f38).
const COUNTER_WINDOW: Page = Page {
    name: "counter window",
    matches: |p| p.iter().any(|&c| c >= 0x18),
    min_share: 0.95,
};

/// Runs a kiosk node (`role`) under cage with `cage_options`, grabs the output until it
/// shows `page` from edge to edge, then waits for each of `in_log` in the node's log.
fn under_cage(
    name: &str,
    role: KioskRole,
    cage_options: &[&str],
    (width, height): (u32, u32),
    page: &Page,
    display_extra: &str,
    in_log: &[&str],
) -> Option<()> {
    if !tools_present(
        &["cage", "grim", "Xwayland"],
        "RAINCHECK_REQUIRE_CAGE",
        "apt-get install cage grim xwayland",
    ) {
        return None;
    }
    let broker = mosquitto("")?;
    let (_, revision) = declare(&broker.url(), "start", &[]);
    let node = "kiosk-1";
    let (directory, binary_copy, config) =
        kiosk_directory(role, node, &broker.url(), display_extra);
    let runtime_dir = directory.path().join("xdg");
    std::fs::create_dir(&runtime_dir).unwrap();
    std::fs::set_permissions(&runtime_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    give_to_kiosk_user(&runtime_dir);
    let mut command = as_kiosk_user("/usr/bin/env");
    command
        .arg("-i")
        .arg("PATH=/usr/bin:/bin")
        .arg(format!("XDG_RUNTIME_DIR={}", runtime_dir.display()))
        .args(["WLR_BACKENDS=headless", "WLR_RENDERER=pixman"])
        .args(["WLR_LIBINPUT_NO_DEVICES=1", "RUST_LOG=info"])
        .arg("cage")
        .args(cage_options)
        .arg("--")
        .arg(&binary_copy)
        .args(["run", "--config"])
        .arg(&config);
    let session = Session::start(command, directory.path().join("cage.log"));

    wait_drawn(&broker.url(), node, revision, &session);
    assert_fills(name, width, height, page, || grim(&runtime_dir));
    for text in in_log {
        session.wait_for_log(text);
    }
    let log = session.log();
    assert!(!log.contains("panicked"), "the kiosk panicked:\n{log}");
    Some(())
}

/// The output as a PNG, grabbed as the kiosk user.
fn grim(runtime_dir: &Path) -> Result<Vec<u8>, String> {
    let output = as_kiosk_user("grim")
        .arg("-")
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("XDG_RUNTIME_DIR", runtime_dir)
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
}

#[test]
fn under_cage_the_sign_fills_a_landscape_output_even_without_minus_d() {
    // Without -d cage asks for client-side decorations: the sign must still have no frame
    // (its title bar took 35 px off the bottom of the sign before). A CEC command that is
    // not installed is a warning, and the sign is drawn all the same.
    under_cage(
        "kiosk-cage-landscape",
        KioskRole::Signage,
        &["-r", "-r"],
        (1280, 720),
        &CASH_ONLY_SIGN,
        "cec_command = [\"/nonexistent/cec-ctl\", \"--to\", \"0\", \"--image-view-on\"]\n",
        &["\"/nonexistent/cec-ctl\" is not installed"],
    );
}

#[test]
fn under_cage_the_sign_fills_a_portrait_output() {
    // The command line of docs/DEPLOY.md, "Kiosk under cage", on a screen turned left.
    under_cage(
        "kiosk-cage-portrait",
        KioskRole::Signage,
        &["-d", "-r"],
        (720, 1280),
        &CASH_ONLY_SIGN,
        "",
        &["the Signage kiosk window covers its monitor"],
    );
}

#[test]
fn under_cage_the_counter_fills_the_output() {
    under_cage(
        "kiosk-cage-counter",
        KioskRole::Counter,
        &["-d", "-r", "-r"],
        (1280, 720),
        &COUNTER_WINDOW,
        "",
        &["the Counter kiosk window covers its monitor"],
    );
}
