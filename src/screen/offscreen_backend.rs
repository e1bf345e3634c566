//! The `offscreen` display backend: a node that draws each view it is told into memory
//! with the same content, bridge and Slint component as its window, and reports the
//! rendered frame — for tests and benchmarks that run many real nodes in one process, and
//! so can open no window each. Slint allows one platform per process and its windows live
//! on one thread, so one render thread serves every node of the process; identical
//! content (the same view, texts and language) is rendered once and its verdict shared,
//! which is what lets a thousand simulated screens confirm from rendered frames.

use super::content::{screen_content, ScreenContent};
use super::offscreen::OffscreenScreen;
use super::proof::{judge_frame, meant_to_be_blank, record};
use crate::config::NodeConfig;
use crate::model::{Drawing, Presentation};
use crate::shutdown::Shutdown;
use std::collections::HashMap;
use std::sync::{mpsc, Mutex, OnceLock};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

/// The size every offscreen node draws at: 16:9, small enough to render quickly.
const WIDTH: u32 = 640;
const HEIGHT: u32 = 360;
/// Verdicts kept before the cache starts again (distinct contents in one process).
const CACHE_LIMIT: usize = 512;

struct Job {
    content: ScreenContent,
    language: String,
    reply: oneshot::Sender<Result<(), String>>,
}

static RENDERER: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();

/// The process's render thread, started on first use.
fn renderer() -> mpsc::Sender<Job> {
    let sender = RENDERER.get_or_init(|| {
        let (sender, jobs) = mpsc::channel::<Job>();
        let spawned = std::thread::Builder::new()
            .name("raincheck-offscreen".into())
            .spawn(move || render_jobs(jobs));
        if let Err(error) = spawned {
            // The receiver is gone with the closure, so every job answers "cannot draw".
            tracing::error!("cannot start the offscreen render thread: {error}");
        }
        Mutex::new(sender)
    });
    sender
        .lock()
        .expect("the render queue's lock is only held to clone the sender")
        .clone()
}

fn render_jobs(jobs: mpsc::Receiver<Job>) {
    let screen = OffscreenScreen::new(WIDTH, HEIGHT).map_err(|error| error.to_string());
    let mut verdicts: HashMap<(ScreenContent, String), Result<(), String>> = HashMap::new();
    while let Ok(job) = jobs.recv() {
        let key = (job.content, job.language);
        let verdict = match (verdicts.get(&key), &screen) {
            (Some(verdict), _) => verdict.clone(),
            (None, Err(reason)) => Err(format!("cannot draw offscreen: {reason}")),
            (None, Ok(screen)) => {
                screen.show(&key.0, &key.1);
                let frame = screen.render();
                let verdict = judge_frame(
                    frame.width,
                    frame.height,
                    frame.pixels.iter().map(|p| (p.r, p.g, p.b)),
                    meant_to_be_blank(&key.0),
                );
                if verdicts.len() >= CACHE_LIMIT {
                    verdicts.clear();
                }
                verdicts.insert(key, verdict.clone());
                verdict
            }
        };
        let _ = job.reply.send(verdict);
    }
}

/// Renders `content` in `language` on the process's render thread.
async fn render(content: ScreenContent, language: String) -> Result<(), String> {
    let (reply, answer) = oneshot::channel();
    let job = Job {
        content,
        language,
        reply,
    };
    if renderer().send(job).is_err() {
        return Err("the offscreen render thread is gone".to_owned());
    }
    answer
        .await
        .unwrap_or_else(|_| Err("the offscreen render thread stopped".to_owned()))
}

/// Draws every presentation this node is told, in its first language, and records each
/// rendered frame as the node's drawing.
pub fn spawn_offscreen_drawer(
    config: &NodeConfig,
    mut presentation: watch::Receiver<Presentation>,
    drawing: watch::Sender<Drawing>,
    mut shutdown: Shutdown,
) -> JoinHandle<()> {
    let config = config.clone();
    let language = config
        .display
        .languages
        .first()
        .cloned()
        .unwrap_or_else(|| "en".to_owned());
    tokio::spawn(async move {
        let mut current = presentation.borrow_and_update().clone();
        loop {
            if drawing.borrow().is_news(&current) {
                let (content, _) = screen_content(
                    &current,
                    &config.node.venue_name,
                    &config.display,
                    &config.texts,
                    &language,
                    time::OffsetDateTime::now_utc(),
                );
                let verdict = tokio::select! {
                    _ = shutdown.wait() => break,
                    verdict = render(content, language.clone()) => verdict,
                };
                record(&drawing, &current, verdict);
            }
            tokio::select! {
                _ = shutdown.wait() => break,
                changed = presentation.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    current = presentation.borrow_and_update().clone();
                }
            }
        }
    })
}
