//! Offscreen rendering with Slint's software renderer: a [`SignageWindow`] drawn into a
//! memory buffer, with no display server. Tests render every state with it, the frame
//! benchmark times it, and headless nodes could thumbnail with it. Slint allows one
//! platform per process, so this installs its own only if none is installed yet.

use super::bridge;
use super::content::ScreenContent;
use super::ui::SignageWindow;
use anyhow::{anyhow, Result};
use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType};
use slint::platform::{Platform, WindowAdapter};
use slint::ComponentHandle;
use slint::Rgb8Pixel;
use std::cell::RefCell;
use std::rc::Rc;

thread_local! {
    /// The window adapter most recently created on this thread, picked up by the
    /// [`OffscreenScreen`] whose component caused its creation.
    static LAST_WINDOW: RefCell<Option<Rc<MinimalSoftwareWindow>>> = const { RefCell::new(None) };
}

struct OffscreenPlatform;

/// Closures posted with `invoke_from_event_loop`, run by [`pump_events`]: offscreen there
/// is no event loop, so whoever drives the screen (a test) runs them on its own thread.
static POSTED: std::sync::Mutex<Vec<Box<dyn FnOnce() + Send>>> = std::sync::Mutex::new(Vec::new());

struct OffscreenEventLoopProxy;

impl slint::platform::EventLoopProxy for OffscreenEventLoopProxy {
    fn quit_event_loop(&self) -> Result<(), slint::EventLoopError> {
        Ok(())
    }

    fn invoke_from_event_loop(
        &self,
        event: Box<dyn FnOnce() + Send>,
    ) -> Result<(), slint::EventLoopError> {
        POSTED
            .lock()
            .map_err(|_| slint::EventLoopError::EventLoopTerminated)?
            .push(event);
        Ok(())
    }
}

/// Runs every closure posted to the (absent) event loop and every timer that is due;
/// returns how many closures ran.
pub fn pump_events() -> usize {
    let posted: Vec<_> = match POSTED.lock() {
        Ok(mut queue) => queue.drain(..).collect(),
        Err(_) => return 0,
    };
    let count = posted.len();
    for event in posted {
        event();
    }
    // Timers (the counter's answer clearing, proof retries) run on real time here too.
    slint::platform::update_timers_and_animations();
    count
}

impl Platform for OffscreenPlatform {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, slint::PlatformError> {
        let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
        LAST_WINDOW.with(|last| *last.borrow_mut() = Some(window.clone()));
        Ok(window)
    }

    fn new_event_loop_proxy(&self) -> Option<Box<dyn slint::platform::EventLoopProxy>> {
        Some(Box::new(OffscreenEventLoopProxy))
    }
}

/// The software window behind the component created last on this thread, sized and
/// shown: for offscreen screens other than the signage one (the counter's).
pub fn offscreen_window_of(
    component: &impl ComponentHandle,
    width: u32,
    height: u32,
) -> Result<Rc<MinimalSoftwareWindow>> {
    let window = LAST_WINDOW
        .with(|last| last.borrow_mut().take())
        .ok_or_else(|| {
            anyhow!("another Slint platform is active; offscreen rendering is unavailable")
        })?;
    window.set_size(slint::PhysicalSize::new(width, height));
    component
        .show()
        .map_err(|error| anyhow!("cannot show the screen: {error}"))?;
    Ok(window)
}

/// Draws a full frame of an offscreen window.
pub fn render_window(window: &MinimalSoftwareWindow, width: u32, height: u32) -> Frame {
    slint::platform::update_timers_and_animations();
    let mut pixels = vec![Rgb8Pixel::default(); (width * height) as usize];
    window.request_redraw();
    window.draw_if_needed(|renderer| {
        renderer.render(&mut pixels, width as usize);
    });
    Frame {
        width,
        height,
        pixels,
    }
}

/// Installs the offscreen platform for this process (once; later calls are harmless).
pub fn install_offscreen_platform() {
    // Already set (by us, or by a window backend: then `OffscreenScreen::new` says so).
    let _ = slint::platform::set_platform(Box::new(OffscreenPlatform));
}

/// One rendered frame, RGB.
pub struct Frame {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<Rgb8Pixel>,
}

/// A signage screen of a fixed size drawn into memory.
pub struct OffscreenScreen {
    pub component: SignageWindow,
    window: Rc<MinimalSoftwareWindow>,
    width: u32,
    height: u32,
    language: RefCell<String>,
}

impl OffscreenScreen {
    pub fn new(width: u32, height: u32) -> Result<Self> {
        install_offscreen_platform();
        let component =
            SignageWindow::new().map_err(|error| anyhow!("cannot create the screen: {error}"))?;
        let window = offscreen_window_of(&component, width, height)?;
        Ok(Self {
            component,
            window,
            width,
            height,
            language: RefCell::new("en".into()),
        })
    }

    pub fn show(&self, content: &ScreenContent, language: &str) {
        bridge::apply(&self.component, content);
        // Switching language re-translates every string; only do it on a real change.
        if *self.language.borrow() != language {
            bridge::select_language(language);
            *self.language.borrow_mut() = language.to_owned();
        }
    }

    /// Draws the current state (always a full frame).
    pub fn render(&self) -> Frame {
        slint::platform::update_timers_and_animations();
        let mut pixels = vec![Rgb8Pixel::default(); (self.width * self.height) as usize];
        self.window.request_redraw();
        self.window.draw_if_needed(|renderer| {
            renderer.render(&mut pixels, self.width as usize);
        });
        Frame {
            width: self.width,
            height: self.height,
            pixels,
        }
    }
}

impl Frame {
    /// Encodes the frame as an 8-bit RGB PNG.
    pub fn to_png(&self) -> Result<Vec<u8>> {
        encode_png(
            self.width,
            self.height,
            self.pixels.iter().flat_map(|p| [p.r, p.g, p.b]).collect(),
        )
    }

    /// The fraction of pixels exactly of `colour` (r, g, b): how tests see a state's colour.
    pub fn share_of(&self, colour: (u8, u8, u8)) -> f64 {
        let matching = self
            .pixels
            .iter()
            .filter(|p| (p.r, p.g, p.b) == colour)
            .count();
        matching as f64 / self.pixels.len().max(1) as f64
    }

    /// The pixel at (x, y).
    pub fn pixel(&self, x: u32, y: u32) -> Rgb8Pixel {
        self.pixels[(y * self.width + x) as usize]
    }
}

pub fn encode_png(width: u32, height: u32, rgb: Vec<u8>) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bytes, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&rgb)?;
    }
    Ok(bytes)
}
