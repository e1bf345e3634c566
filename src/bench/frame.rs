//! `raincheck bench frame`: state change → new frame rendered, with Slint's software
//! renderer into memory at 1080p (full repaint each time, the worst case), alternating
//! between the normal and cash-only screens. Target: ≤ 16 ms (one frame at 60 Hz).

use super::stats::percentiles;
use crate::config::NormalStyle;
use crate::screen::offscreen::OffscreenScreen;
use crate::screen::{ScreenContent, ScreenMode};
use anyhow::{Context, Result};
use std::process::ExitCode;
use std::time::Instant;

pub fn run(rounds: usize, width: u32, height: u32) -> Result<ExitCode> {
    let screen = OffscreenScreen::new(width, height)?;
    let mut content = ScreenContent {
        mode: ScreenMode::Normal,
        normal_style: NormalStyle::Welcome,
        venue_name: "Rialto Picture House".into(),
        headline: String::new(),
        body: String::new(),
        offer:
            "Ask any member of staff for your raincheck: a free small popcorn on your next visit."
                .into(),
        cash_points: String::new(),
        since_time: "19:42".into(),
        link_lost_since: String::new(),
    };
    // Warm the glyph caches the way a screen that has shown both states has.
    for mode in [ScreenMode::CashOnly, ScreenMode::Normal] {
        content.mode = mode;
        screen.show(&content, "en");
        screen.render();
    }
    let mut samples = Vec::with_capacity(rounds);
    for round in 0..rounds {
        content.mode = if round.is_multiple_of(2) {
            ScreenMode::CashOnly
        } else {
            ScreenMode::Normal
        };
        let started = Instant::now();
        screen.show(&content, "en");
        let frame = screen.render();
        samples.push(started.elapsed());
        std::hint::black_box(frame);
    }
    let stats = percentiles(&samples).context("no rounds")?;
    println!("state change -> frame rendered at {width}x{height} (software renderer): {stats}");
    Ok(ExitCode::SUCCESS)
}
