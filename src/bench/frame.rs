//! `raincheck bench frame`: state change → new frame rendered, with Slint's software
//! renderer into memory at 1080p (full repaint each time, the worst case), alternating
//! between the normal and cash-only screens. Target: ≤ 16 ms (one frame at 60 Hz).

use super::stats::percentiles;
use crate::config::{DisplaySection, TextsSection};
use crate::model::{Presentation, ViewMode};
use crate::screen::offscreen::OffscreenScreen;
use crate::screen::screen_content;
use anyhow::{Context, Result};
use std::process::ExitCode;
use std::time::Instant;

pub fn run(rounds: usize, width: u32, height: u32) -> Result<ExitCode> {
    let screen = OffscreenScreen::new(width, height)?;
    let now = time::OffsetDateTime::now_utc();
    let mut cash = Presentation::booting(now);
    cash.has_state = true;
    cash.view.mode = ViewMode::CashOnly;
    cash.view.started_at = Some(now);
    cash.view.texts.offer = Some(
        "Ask any member of staff for your raincheck: a free small popcorn on your next visit."
            .into(),
    );
    let mut normal = cash.clone();
    normal.view.mode = ViewMode::Normal;
    let (display, texts) = (DisplaySection::default(), TextsSection::default());
    // A state change as the screen makes it: the content from the presentation (texts,
    // bundled wording), handed to Slint, drawn.
    let switch_to = |presentation: &Presentation| {
        let (content, _) = screen_content(
            presentation,
            "Rialto Picture House",
            &display,
            &texts,
            "en",
            now,
        );
        screen.show(&content, "en");
        screen.render()
    };
    // Warm the glyph caches the way a screen that has shown both states has.
    for presentation in [&cash, &normal] {
        switch_to(presentation);
    }
    let mut samples = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let presentation = if round.is_multiple_of(2) {
            &cash
        } else {
            &normal
        };
        let started = Instant::now();
        let frame = switch_to(presentation);
        samples.push(started.elapsed());
        std::hint::black_box(frame);
    }
    let stats = percentiles(&samples).context("no rounds")?;
    println!("state change -> frame rendered at {width}x{height} (software renderer): {stats}");
    Ok(ExitCode::SUCCESS)
}
