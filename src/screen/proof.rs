//! Proof from the pixel (invariant 3): the one rule for when a rendered frame proves that
//! a screen shows a view, and the one place that records it for the status worker. The
//! window proves with a snapshot its own renderer draws from the scene it presents
//! (Slint's software renderer has no rendering notifier, so this is the equal hook); the
//! offscreen backend proves with the frame it rendered. A frame proves the view when the
//! renderer produced it at full size and it is not one flat colour — unless the content
//! is meant to be blank (the "dark" and "transparent" normal screens).

use super::content::{ScreenContent, ScreenMode};
use crate::config::NormalStyle;
use crate::model::{Drawing, Presentation};
use slint::ComponentHandle;
use std::rc::Rc;
use std::time::Duration;
use tokio::sync::watch;

/// Whether `content` is drawn as one flat colour on purpose.
pub fn meant_to_be_blank(content: &ScreenContent) -> bool {
    content.mode == ScreenMode::Normal
        && matches!(
            content.normal_style,
            NormalStyle::Dark | NormalStyle::Transparent
        )
}

/// The verdict on a rendered frame of `width`×`height` whose pixels are `rgb`: `Ok` when
/// it proves the content, else why not (in words for the console).
pub fn judge_frame(
    width: u32,
    height: u32,
    mut rgb: impl Iterator<Item = (u8, u8, u8)>,
    blank_expected: bool,
) -> Result<(), String> {
    if width == 0 || height == 0 {
        return Err(format!("the renderer drew an empty {width}×{height} frame"));
    }
    if blank_expected {
        return Ok(());
    }
    let Some(first) = rgb.next() else {
        return Err("the renderer returned no pixels".to_owned());
    };
    if rgb.all(|pixel| pixel == first) {
        let (r, g, b) = first;
        return Err(format!(
            "the rendered frame is one flat colour (#{r:02x}{g:02x}{b:02x}): nothing readable is on screen"
        ));
    }
    Ok(())
}

/// Records what the screen drew for `presentation`: a proved frame, or why it proves
/// nothing. Only news is sent, so the status worker republishes on a real change.
pub fn record(
    drawing: &watch::Sender<Drawing>,
    presentation: &Presentation,
    verdict: Result<(), String>,
) {
    let next = match verdict {
        Ok(()) => Drawing::Drawn {
            view: Box::new(presentation.view.clone()),
            synced: presentation.has_state,
            at: time::OffsetDateTime::now_utc(),
        },
        Err(reason) => {
            tracing::warn!("the screen proves nothing: {reason}");
            Drawing::Nothing { reason }
        }
    };
    drawing.send_if_modified(|current| {
        let news = match (&*current, &next) {
            (Drawing::Drawn { .. }, Drawing::Drawn { .. }) => current.is_news(presentation),
            _ => *current != next,
        };
        if news {
            *current = next;
        }
        news
    });
}

/// How often, and how many times, a window that cannot be read back yet (it has no size
/// until the display server configures it) is tried again before it counts as not
/// drawing: 100 × 50 ms.
const RETRY_EVERY: Duration = Duration::from_millis(50);
const ATTEMPTS: u32 = 100;

/// A proof to take of one window, for one presentation.
pub struct WindowProof<C: ComponentHandle> {
    pub component: slint::Weak<C>,
    /// What the window was given to draw.
    pub presentation: Presentation,
    /// What the window shows now: a proof of an older view is dropped, as the newer
    /// view's own proof is on its way.
    pub current: Box<dyn Fn() -> Option<Presentation>>,
    pub blank_expected: bool,
    pub drawing: watch::Sender<Drawing>,
}

impl<C: ComponentHandle + 'static> WindowProof<C> {
    /// Takes the proof once the event loop turns (after the window is shown), retrying
    /// while the window cannot be read back. Call on the UI thread.
    pub fn start(self) {
        let proof = Rc::new(self);
        slint::Timer::single_shot(Duration::ZERO, move || proof.attempt(ATTEMPTS));
    }

    fn attempt(self: Rc<Self>, left: u32) {
        let Some(component) = self.component.upgrade() else {
            return;
        };
        let still_shown = (self.current)().is_some_and(|now| {
            now.view == self.presentation.view && now.has_state == self.presentation.has_state
        });
        if !still_shown {
            return;
        }
        let verdict = snapshot_verdict(component.window(), self.blank_expected);
        if verdict.is_err() && left > 0 {
            slint::Timer::single_shot(RETRY_EVERY, move || self.attempt(left - 1));
            return;
        }
        record(&self.drawing, &self.presentation, verdict);
    }
}

/// The verdict on a frame the window's renderer draws now.
fn snapshot_verdict(window: &slint::Window, blank_expected: bool) -> Result<(), String> {
    let size = window.size();
    if size.width == 0 || size.height == 0 {
        return Err("the window has no size: it is not on any display".to_owned());
    }
    match window.take_snapshot() {
        Ok(frame) => judge_frame(
            frame.width(),
            frame.height(),
            frame.as_slice().iter().map(|p| (p.r, p.g, p.b)),
            blank_expected,
        ),
        Err(error) => Err(format!("cannot read back the frame: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flat_frame_proves_nothing_unless_blank_is_the_content() {
        let flat = || std::iter::repeat_n((0, 0, 0), 16);
        assert!(judge_frame(4, 4, flat(), false)
            .unwrap_err()
            .contains("one flat colour (#000000)"));
        assert_eq!(judge_frame(4, 4, flat(), true), Ok(()));
        let drawn = flat().chain([(255, 179, 0)]);
        assert_eq!(judge_frame(4, 4, drawn, false), Ok(()));
        assert!(judge_frame(0, 4, flat(), true).is_err());
    }

    #[test]
    fn only_news_is_recorded() {
        let mut presentation = Presentation::booting(time::OffsetDateTime::UNIX_EPOCH);
        let (sender, mut receiver) = watch::channel(Drawing::Pending);
        record(&sender, &presentation, Ok(()));
        assert!(receiver.has_changed().unwrap());
        receiver.borrow_and_update();
        // The same view again (a language rotation): nothing new to report.
        record(&sender, &presentation, Ok(()));
        assert!(!receiver.has_changed().unwrap());
        presentation.has_state = true;
        record(&sender, &presentation, Ok(()));
        assert!(matches!(
            *receiver.borrow_and_update(),
            Drawing::Drawn { synced: true, .. }
        ));
        record(&sender, &presentation, Err("gone".into()));
        assert!(matches!(*receiver.borrow(), Drawing::Nothing { .. }));
    }
}
