//! The real windows (signage and/or counter) on the main thread (Slint must own it); the tokio runtime runs
//! on its own threads and reaches the window only through `upgrade_in_event_loop`. The
//! window redraws only when something changes: a new presentation, the end of the
//! all-clear period, or a language rotation. Each new view is proved from a frame the
//! window's renderer drew (`proof`) before the node reports it as shown.

use super::bridge;
use super::cec::spawn_cec_follower;
use super::content::screen_content;
use super::counter::open_counter_window;
use super::kiosk::{self, KioskRole};
use super::proof::{meant_to_be_blank, WindowProof};
use super::thumbnail::thumbnail_png;
use super::ui::SignageWindow;
use crate::config::{NodeConfig, Role, ScreenBackend};
use crate::model::{Drawing, Presentation};
use crate::shutdown::Shutdown;
use slint::ComponentHandle;
use std::cell::RefCell;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// Why the window loop ended.
pub enum ScreenExit {
    /// Shutdown was requested, or the window was closed.
    Closed,
    /// No window could be opened; the node carries on headless.
    Unavailable(String),
}

pub struct ScreenSetup {
    pub config: NodeConfig,
    pub presentation: watch::Receiver<Presentation>,
    /// Where the frames that prove a view are recorded for the status worker.
    pub drawing: watch::Sender<Drawing>,
    pub runtime: tokio::runtime::Handle,
    /// Where PNG thumbnails go when `display.thumbnails` is on.
    pub thumbnails: Option<mpsc::Sender<Vec<u8>>>,
    /// The voucher worker, when this node is a counter: opens the counter window.
    pub counter: Option<crate::voucher::CounterHandle>,
    /// Beat a liveness heartbeat from the UI thread (only under systemd's watchdog, so an
    /// idle screen otherwise stays fully idle).
    pub ui_heartbeat: bool,
    pub shutdown: Shutdown,
}

/// State that lives on the UI thread only.
struct UiState {
    window: slint::Weak<SignageWindow>,
    config: NodeConfig,
    presentation: Presentation,
    drawing: watch::Sender<Drawing>,
    language: usize,
    all_clear_timer: slint::Timer,
    thumbnail_timer: slint::Timer,
    last_thumbnail: Option<Instant>,
    thumbnails: Option<mpsc::Sender<Vec<u8>>>,
}

thread_local! {
    static UI: RefCell<Option<UiState>> = const { RefCell::new(None) };
}

/// How often the UI thread beats its heartbeat under systemd's watchdog.
const UI_HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(5);

/// Opens the window and runs it until shutdown; returns at once if there is no display.
/// A window system that cannot work (winit panics on an X server without RandR, for
/// one) must not take the node down: it carries on headless and says why.
pub fn run_window(setup: ScreenSetup) -> ScreenExit {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| open_and_run(setup))) {
        Ok(exit) => exit,
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("no message");
            ScreenExit::Unavailable(format!(
                "the window system failed ({message}); on X11, the server needs the RandR extension"
            ))
        }
    }
}

fn open_and_run(setup: ScreenSetup) -> ScreenExit {
    if let Err(reason) = select_backend(setup.config.display.backend) {
        return ScreenExit::Unavailable(reason);
    }
    let signage = if setup.config.has_role(Role::Signage) {
        match SignageWindow::new() {
            Ok(window) => Some(window),
            Err(error) => return ScreenExit::Unavailable(format!("cannot open a window: {error}")),
        }
    } else {
        None
    };
    let counter = match setup.counter.clone() {
        None => None,
        // The counter panel proves what it shows only on a node without signage.
        Some(handle) => match open_counter_window(
            &setup.config,
            setup.presentation.clone(),
            (signage.is_none()).then(|| setup.drawing.clone()),
            &setup.runtime,
            handle,
        ) {
            Ok(window) => Some(window),
            Err(error) => {
                return ScreenExit::Unavailable(format!("cannot open the counter window: {error}"))
            }
        },
    };
    let language_timer = slint::Timer::default();
    if let Some(window) = &signage {
        window.set_kiosk(setup.config.display.fullscreen);
        start_signage(&setup, window, &language_timer);
    }
    // One box with both windows (the demo, a till that is also a sign): side by side, so
    // nobody has to find the counter hidden under the sign.
    if let (Some(sign), Some(till), false) = (&signage, &counter, setup.config.display.fullscreen) {
        sign.window()
            .set_size(slint::LogicalSize::new(960.0, 540.0));
        sign.window()
            .set_position(slint::LogicalPosition::new(0.0, 0.0));
        till.window()
            .set_size(slint::LogicalSize::new(800.0, 540.0));
        till.window()
            .set_position(slint::LogicalPosition::new(980.0, 0.0));
    }
    for shown in [
        signage.as_ref().map(|w| w.window()),
        counter.as_ref().map(|w| w.window()),
    ]
    .into_iter()
    .flatten()
    {
        // Full screen is asked of winit by `kiosk::prepare` once the window exists, not
        // of Slint before: Slint takes it back when the compositor answers with a
        // maximized window instead (cage 0.1), and the sign then keeps a stale layout.
        if let Err(error) = shown.show() {
            return ScreenExit::Unavailable(format!("cannot show the window: {error}"));
        }
    }
    if setup.config.display.fullscreen {
        if let Some(window) = &signage {
            kiosk::prepare(window, KioskRole::Signage);
        }
        // Last, so that on a box with both the counter ends up with the keyboard.
        if let Some(window) = &counter {
            kiosk::prepare(window, KioskRole::Counter);
        }
    }
    spawn_cec_follower(
        &setup.runtime,
        setup.presentation.clone(),
        setup.config.display.cec_command.clone(),
    );
    spawn_shutdown_follower(&setup);
    // Under systemd's watchdog the UI thread proves it is turning; otherwise no timer, so
    // an idle screen stays fully idle.
    let ui_heartbeat = slint::Timer::default();
    if setup.ui_heartbeat {
        let heartbeat = crate::liveness::register("ui");
        ui_heartbeat.start(slint::TimerMode::Repeated, UI_HEARTBEAT, move || {
            heartbeat.beat()
        });
    }
    if let Err(error) = slint::run_event_loop() {
        return ScreenExit::Unavailable(format!("the window stopped: {error}"));
    }
    UI.with(|ui| ui.borrow_mut().take());
    ScreenExit::Closed
}

/// The signage window's state, timers and presentation follower.
fn start_signage(setup: &ScreenSetup, window: &SignageWindow, language_timer: &slint::Timer) {
    let presentation = setup.presentation.borrow().clone();
    let languages = setup.config.display.languages.len();
    UI.with(|ui| {
        *ui.borrow_mut() = Some(UiState {
            window: window.as_weak(),
            config: setup.config.clone(),
            presentation,
            drawing: setup.drawing.clone(),
            language: 0,
            all_clear_timer: slint::Timer::default(),
            thumbnail_timer: slint::Timer::default(),
            last_thumbnail: None,
            thumbnails: setup.thumbnails.clone(),
        })
    });
    refresh();
    select_current_language();
    if languages > 1 {
        let every = Duration::from_secs(u64::from(setup.config.display.language_secs.max(3)));
        language_timer.start(slint::TimerMode::Repeated, every, || {
            with_ui(|ui| {
                ui.language = (ui.language + 1) % ui.config.display.languages.len().max(1)
            });
            // The labels are Slint's translations, the texts the bundled wording's.
            select_current_language();
            retranslate();
        });
    }
    spawn_presentation_follower(setup, window.as_weak());
}

fn select_backend(backend: ScreenBackend) -> Result<(), String> {
    let name = match backend {
        ScreenBackend::Headless => return Err("display.backend is \"headless\"".into()),
        ScreenBackend::Offscreen => return Err("display.backend is \"offscreen\"".into()),
        ScreenBackend::Auto
            if std::env::var_os("DISPLAY").is_none()
                && std::env::var_os("WAYLAND_DISPLAY").is_none() =>
        {
            return Err("no display server (DISPLAY and WAYLAND_DISPLAY are unset)".into())
        }
        ScreenBackend::Auto | ScreenBackend::Winit => "winit",
        ScreenBackend::Kms if cfg!(feature = "kms") => "linuxkms",
        ScreenBackend::Kms => {
            return Err("this build has no KMS support; rebuild with `--features kms`".into())
        }
    };
    slint::BackendSelector::new()
        .backend_name(name.into())
        .select()
        .map_err(|error| format!("cannot start the {name} backend: {error}"))
}

fn with_ui<R>(action: impl FnOnce(&mut UiState) -> R) -> Option<R> {
    UI.with(|ui| ui.borrow_mut().as_mut().map(action))
}

fn select_current_language() {
    let language = with_ui(|ui| {
        ui.config
            .display
            .languages
            .get(ui.language)
            .cloned()
            .unwrap_or_default()
    });
    if let Some(language) = language {
        bridge::select_language(&language);
    }
}

/// Recomputes the content and hands it to the window; schedules the next recheck, the
/// proof of a new view and a thumbnail of what changed.
fn refresh() {
    with_ui(|ui| {
        if apply_content(ui) {
            if ui.drawing.borrow().is_news(&ui.presentation) {
                WindowProof {
                    component: ui.window.clone(),
                    presentation: ui.presentation.clone(),
                    current: Box::new(|| with_ui(|ui| ui.presentation.clone())),
                    blank_expected: meant_to_be_blank(&current_content(ui).0),
                    drawing: ui.drawing.clone(),
                }
                .start();
            }
            schedule_thumbnail(ui);
        }
    });
}

/// The same content in the next language of the rotation: no news, so no thumbnail.
fn retranslate() {
    with_ui(|ui| {
        apply_content(ui);
    });
}

/// Hands the content for now and the language on screen to the window; false when the
/// window is gone.
fn apply_content(ui: &mut UiState) -> bool {
    {
        let Some(window) = ui.window.upgrade() else {
            return false;
        };
        let (content, recheck) = current_content(ui);
        bridge::apply(&window, &content);
        match recheck {
            Some(after) => ui
                .all_clear_timer
                .start(slint::TimerMode::SingleShot, after, refresh),
            None => ui.all_clear_timer.stop(),
        }
    }
    true
}

/// The content for now and the language on screen, and when to recompute it.
fn current_content(ui: &UiState) -> (super::ScreenContent, Option<Duration>) {
    let language = ui
        .config
        .display
        .languages
        .get(ui.language)
        .map_or("en", String::as_str);
    screen_content(
        &ui.presentation,
        &ui.config.node.venue_name,
        &ui.config.display,
        &ui.config.texts,
        language,
        time::OffsetDateTime::now_utc(),
    )
}

/// At most one thumbnail per `thumbnail_secs`; a change during the pause is caught up.
fn schedule_thumbnail(ui: &mut UiState) {
    if ui.thumbnails.is_none() {
        return;
    }
    let pause = Duration::from_secs(u64::from(ui.config.display.thumbnail_secs.max(5)));
    let wait = ui
        .last_thumbnail
        .map(|at| pause.saturating_sub(at.elapsed()))
        .unwrap_or_default();
    // Let the frame with the new content be drawn first.
    let wait = wait.max(Duration::from_millis(200));
    ui.thumbnail_timer
        .start(slint::TimerMode::SingleShot, wait, take_thumbnail);
}

fn take_thumbnail() {
    with_ui(|ui| {
        let (Some(window), Some(sender)) = (ui.window.upgrade(), ui.thumbnails.clone()) else {
            return;
        };
        ui.last_thumbnail = Some(Instant::now());
        match window.window().take_snapshot() {
            Ok(snapshot) => {
                let rgba: Vec<u8> = snapshot
                    .as_slice()
                    .iter()
                    .flat_map(|p| [p.r, p.g, p.b, p.a])
                    .collect();
                match thumbnail_png(
                    snapshot.width(),
                    snapshot.height(),
                    &rgba,
                    ui.config.display.thumbnail_width,
                ) {
                    Ok(png) => {
                        let _ = sender.try_send(png);
                    }
                    Err(error) => tracing::warn!("cannot encode the thumbnail: {error}"),
                }
            }
            Err(error) => tracing::warn!("cannot take a thumbnail of the screen: {error}"),
        }
    });
}

fn spawn_presentation_follower(setup: &ScreenSetup, window: slint::Weak<SignageWindow>) {
    let mut receiver = setup.presentation.clone();
    setup.runtime.spawn(async move {
        while receiver.changed().await.is_ok() {
            let presentation = receiver.borrow_and_update().clone();
            let delivered = window.upgrade_in_event_loop(move |_| {
                with_ui(|ui| ui.presentation = presentation);
                refresh();
            });
            if delivered.is_err() {
                break;
            }
        }
    });
}

fn spawn_shutdown_follower(setup: &ScreenSetup) {
    let mut shutdown = setup.shutdown.clone();
    setup.runtime.spawn(async move {
        shutdown.wait().await;
        let _ = slint::invoke_from_event_loop(|| {
            let _ = slint::quit_event_loop();
        });
    });
}
