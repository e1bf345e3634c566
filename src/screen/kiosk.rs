//! What a full-screen window (`display.fullscreen = true`) does to be a kiosk: cover the
//! whole monitor with or without a window manager, hide the pointer on signs, keep the
//! display from blanking, and keep the counter's keyboard focus. Only the window level is
//! here; what is drawn is the `.slint` files' job.
//!
//! Why each step is needed: a bare X server (xinit, no window manager) ignores the
//! full-screen request, so winit leaves its 800×600 default window in the corner: on X11
//! the window is moved to the monitor's origin and sized to the monitor, as winit reports
//! it. On Wayland the compositor (cage) sizes the window; only a warning is left to give
//! if it does not cover the monitor. A monitor that reports no size (winit's 1×1
//! placeholder when RandR is missing) is a logged fallback: the sign keeps the size the
//! display server gave it and lays itself out in it. Blanking: on X11 the screen saver and
//! DPMS are switched off with `xset` (if installed); cage has no idle daemon, so nothing
//! blanks a Wayland kiosk (docs/DEPLOY.md, "Kiosk under cage").

use slint::winit_030::winit;
use slint::winit_030::{EventResult, WinitWindowAccessor};
use slint::ComponentHandle;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;
use winit::dpi::PhysicalSize;
use winit::event::WindowEvent;
use winit::raw_window_handle::{HasWindowHandle, RawWindowHandle};

/// Which window is made a kiosk: the sign hides the pointer, the counter keeps the focus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KioskRole {
    Signage,
    Counter,
}

/// How long after the window appears its size is compared with the monitor's: long
/// enough for the display server's first configure and our own resize to land.
const SIZE_CHECK_AFTER: Duration = Duration::from_secs(3);

/// Turns a shown full-screen window into a kiosk window once winit has created it. Does
/// nothing on a window that is not winit's (the KMS backend is full screen by itself).
pub fn prepare<T: ComponentHandle + 'static>(component: &T, role: KioskRole) {
    let handle = component.clone_strong();
    let spawned = slint::spawn_local(async move {
        let Ok(window) = handle.window().winit_window().await else {
            // Not a winit window (KMS): the backend covers the screen; say it anyway.
            handle.window().set_fullscreen(true);
            return;
        };
        let x11 = is_x11(&window);
        fill_monitor(&window, x11);
        if role == KioskRole::Signage {
            // Nobody points at a sign; a pointer left in the middle of it is a blemish.
            window.set_cursor_visible(false);
        }
        if role == KioskRole::Counter {
            window.focus_window();
        }
        if x11 {
            keep_x11_display_awake();
        }
        follow_events(handle.window(), Arc::downgrade(&window), role);
        let weak = Arc::downgrade(&window);
        slint::Timer::single_shot(SIZE_CHECK_AFTER, move || {
            if let Some(window) = weak.upgrade() {
                check_coverage(&window, role);
            }
        });
    });
    if let Err(error) = spawned {
        tracing::warn!("cannot prepare the kiosk window: {error}");
    }
}

fn is_x11(window: &winit::window::Window) -> bool {
    matches!(
        window.window_handle().map(|handle| handle.as_raw()),
        Ok(RawWindowHandle::Xlib(_) | RawWindowHandle::Xcb(_))
    )
}

/// The monitor the window is on, else the primary one, else the first one: one with a
/// usable size (winit reports 1×1 for a display that gives none).
fn monitor_of(window: &winit::window::Window) -> Option<winit::monitor::MonitorHandle> {
    window
        .current_monitor()
        .into_iter()
        .chain(window.primary_monitor())
        .chain(window.available_monitors())
        .find(|monitor| usable(monitor.size()))
}

fn usable(size: PhysicalSize<u32>) -> bool {
    size.width > 1 && size.height > 1
}

/// On X11 the window covers the monitor whether or not a window manager honours the
/// full-screen request; on Wayland the compositor decides, so there is nothing to do.
fn fill_monitor(window: &winit::window::Window, x11: bool) {
    let Some(monitor) = monitor_of(window) else {
        let size = window.inner_size();
        tracing::warn!(
            "the display reports no monitor size; the kiosk window keeps the {}×{} the display server gave it (on X11 without a window manager, check that the X server has RandR)",
            size.width,
            size.height
        );
        window.set_fullscreen(Some(winit::window::Fullscreen::Borderless(None)));
        return;
    };
    let size = monitor.size();
    tracing::info!(
        "kiosk window on monitor {} ({}×{} at {},{})",
        monitor.name().unwrap_or_default(),
        size.width,
        size.height,
        monitor.position().x,
        monitor.position().y
    );
    if x11 {
        window.set_outer_position(monitor.position());
        let _ = window.request_inner_size(size);
    }
    window.set_fullscreen(Some(winit::window::Fullscreen::Borderless(Some(monitor))));
}

/// Warns once when the window does not cover its monitor (a window manager or
/// compositor that keeps part of the screen, decorations the compositor asked for).
fn check_coverage(window: &winit::window::Window, role: KioskRole) {
    let Some(monitor) = monitor_of(window) else {
        return;
    };
    let (have, want) = (window.inner_size(), monitor.size());
    // A rotated output (cage -r, xrandr --rotate) reports its mode unrotated.
    let covers = |w: u32, h: u32| have.width >= w && have.height >= h;
    if !covers(want.width, want.height) && !covers(want.height, want.width) {
        tracing::warn!(
            "the {role:?} kiosk window is {}×{} but its monitor is {}×{}: the display server did not give it the whole screen (under cage, run `cage -d`; on X11, run no window manager or one that honours full screen)",
            have.width,
            have.height,
            want.width,
            want.height
        );
    } else {
        tracing::info!(
            "the {role:?} kiosk window covers its monitor ({}×{})",
            have.width,
            have.height
        );
    }
}

/// The counter takes the focus back when it loses it (a popup, another window), so a
/// scanner's keystrokes never go elsewhere.
fn follow_events(
    slint_window: &slint::Window,
    window: Weak<winit::window::Window>,
    role: KioskRole,
) {
    slint_window.on_winit_window_event(move |_, event| {
        if role == KioskRole::Counter {
            if let (WindowEvent::Focused(false), Some(window)) = (event, window.upgrade()) {
                window.focus_window();
            }
        }
        EventResult::Propagate
    });
}

/// Switches the X server's screen saver and DPMS off, once per process. `xset` is a
/// separate program (x11-xserver-utils); without it, a warning says how the X server
/// must be started instead.
fn keep_x11_display_awake() {
    static DONE: AtomicBool = AtomicBool::new(false);
    if DONE.swap(true, Ordering::SeqCst) {
        return;
    }
    // Off the UI thread: xset talks to the X server, which is busy with our window.
    std::thread::spawn(|| {
        let outcome = std::process::Command::new("xset")
            .args(["s", "off", "s", "noblank", "-dpms"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .output();
        match outcome {
            Ok(output) if output.status.success() => {
                tracing::info!("X screen saver and DPMS switched off while raincheck runs")
            }
            Ok(output) => tracing::warn!(
                "`xset s off s noblank -dpms` failed ({}): {}; the X server may blank this screen",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
            Err(error) => tracing::warn!(
                "cannot run `xset` ({error}; apt-get install x11-xserver-utils): the X server may blank this screen unless it was started with `-s 0 -dpms`"
            ),
        }
    });
}
