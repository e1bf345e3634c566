//! The signage screen: what to draw (`content`, pure), how to hand it to Slint (`bridge`),
//! a real window on the main thread (`window`), and offscreen software rendering for
//! tests, benchmarks and thumbnails (`offscreen`, `thumbnail`), the `offscreen` display
//! backend (`offscreen_backend`), and the rule for when a frame proves a view (`proof`), and what makes a
//! full-screen window a kiosk (`kiosk`: monitor size, pointer, blanking, focus; `cec`: the
//! screen switched on over HDMI-CEC when an incident starts). The `.slint` files are in
//! `ui/`; this Rust side only sets properties.

pub mod bridge;
pub mod cec;
pub mod content;
pub mod counter;
mod counter_override;
mod counter_view;
pub mod counter_words;
pub mod kiosk;
pub mod offscreen;
pub mod offscreen_backend;
pub mod override_words;
pub mod proof;
pub mod thumbnail;
pub mod window;

/// The Slint components compiled from `ui/` by build.rs.
pub mod ui {
    slint::include_modules!();
}

pub use content::{screen_content, ScreenContent, ScreenMode};
