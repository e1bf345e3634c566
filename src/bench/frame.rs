//! `raincheck bench frame`: state change → new frame rendered, with Slint's software
//! renderer into memory (full repaint each time, the worst case), alternating between the
//! normal and cash-only screens in the bundled language whose cash-only wording is the
//! longest (more lines to shape and draw). Target: ≤ 16 ms (one frame at 60 Hz).

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
    let language = longest_language();
    // A state change as the screen makes it: the content from the presentation (texts,
    // bundled wording), handed to Slint, drawn.
    let switch_to = |presentation: &Presentation| {
        let (content, _) = screen_content(
            presentation,
            "Rialto Picture House",
            &display,
            &texts,
            language,
            now,
        );
        screen.show(&content, language);
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
    let orientation = if height > width {
        "portrait"
    } else {
        "landscape"
    };
    println!(
        "state change -> frame rendered at {width}x{height} {orientation}, language {language} \
         (the longest bundled wording; software renderer): {stats}"
    );
    Ok(ExitCode::SUCCESS)
}

/// The bundled language whose cash-only wording has the most characters.
fn longest_language() -> &'static str {
    use crate::model::{bundled_texts, WordingMode};
    crate::protocol::translations::SCREEN_LANGUAGES
        .into_iter()
        .max_by_key(|language| {
            let texts = bundled_texts(language, WordingMode::CashOnly);
            crate::protocol::TextField::ALL
                .into_iter()
                .filter_map(|field| texts.get(field).map(|text| text.chars().count()))
                .sum::<usize>()
        })
        .expect("there are bundled languages")
}
