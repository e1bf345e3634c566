//! The web screens' worker: follows the console's snapshot, hands each screen's pages
//! their `view` event (one computation per language list, shared by every page as an
//! `Arc<str>` on a watch channel, so a slow page only ever holds the latest), and
//! publishes each web screen's `DisplayReport` from the console's session: `syncing`
//! while a page is open but has painted no venue view, `drawn` with the revision and
//! digest a page painted, `offline` once no page has been open for [`GRACE`] (a reload
//! stays within it). A report goes out only when it changes, and all of them again when
//! the console's link comes back (the broker may have lost them). On shutdown the bus
//! worker publishes every web screen offline before it disconnects ([`farewells`]): the
//! console's last will covers only the console itself.

use super::bus::PublishedSnapshot;
use super::web_screens::{Pages, WebScreens};
use super::web_screens_feed::{view_event, SignSettings, ViewTracker};
use crate::config::WebScreenConfig;
use crate::model::Presentation;
use crate::protocol::{encode, DisplayReport, DisplayStatus, Identifier, Shown, Topic, TopicKind};
use crate::shutdown::Shutdown;
use rumqttc::{AsyncClient, QoS};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::time::Instant;

/// How long a web screen may have no page open before it is reported offline.
pub const GRACE: Duration = Duration::from_secs(10);
/// When the broker's request queue is full, try again this soon.
const RETRY: Duration = Duration::from_millis(100);
/// The roles a web screen reports: a screen, drawn by a browser.
const ROLES: [&str; 2] = ["signage", "web"];

pub struct WebScreensWorker {
    pub venue: Identifier,
    pub screens: Arc<WebScreens>,
    pub settings: SignSettings,
    pub snapshots: watch::Receiver<Arc<PublishedSnapshot>>,
    pub client: AsyncClient,
    pub shutdown: Shutdown,
}

/// The offline report of every configured web screen, for the bus worker to publish
/// before it disconnects.
pub fn farewells(venue: &Identifier, screens: &[WebScreenConfig]) -> Vec<(String, Vec<u8>)> {
    screens
        .iter()
        .map(|screen| (topic(venue, &screen.id), encode(&offline(screen))))
        .collect()
}

fn topic(venue: &Identifier, id: &Identifier) -> String {
    Topic::venue(venue, TopicKind::Displays, id).to_string()
}

fn offline(screen: &WebScreenConfig) -> DisplayReport {
    let mut report = DisplayReport::offline(&screen.id, Some(screen.name.clone()));
    report.roles = ROLES.iter().map(|r| (*r).to_owned()).collect();
    report
}

/// The report of a screen whose pages are `pages` now; `None` while it is within the
/// grace with nothing painted (say nothing rather than "syncing" for a reload).
fn report_of(screen: &WebScreenConfig, pages: &Pages, now: Instant) -> Option<DisplayReport> {
    let gone_for = pages
        .left_at
        .map(|left| now.saturating_duration_since(left));
    if pages.open == 0 && gone_for.is_some_and(|gone| gone >= GRACE) {
        return Some(offline(screen));
    }
    let mut report = offline(screen);
    report.status = DisplayStatus::Online;
    report.shown = Some(Shown::Syncing);
    match &pages.painted {
        Some(painted) if painted.view.synced => {
            let view = &painted.view.view;
            report.shown = Some(Shown::Drawn);
            report.revision = Some(view.revision);
            report.digest = Some(painted.view.digest.clone());
            report.mode = Some(view.mode.as_str().to_owned());
            report.incident_id = view.incident_id.clone();
            report.since = Some(painted.at);
            report.drawn_at = Some(painted.at);
        }
        _ if pages.open == 0 => return None,
        _ => {}
    }
    Some(report)
}

impl WebScreensWorker {
    pub async fn run(mut self) {
        let mut tracker = ViewTracker::new(OffsetDateTime::now_utc());
        let mut sent: HashMap<Identifier, (Vec<u8>, bool)> = HashMap::new();
        let mut connected = false;
        let mut recheck_at = self.refresh_feeds(&mut tracker);
        let mut retry_at: Option<Instant> = None;
        loop {
            let grace_at = self.next_grace(&sent);
            let wake_at = [recheck_at, grace_at, retry_at].into_iter().flatten().min();
            tokio::select! {
                _ = self.shutdown.wait() => break,
                changed = self.snapshots.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    let now_connected = self.snapshots.borrow().snapshot.link.connected;
                    if now_connected && !connected {
                        // The broker may have lost what we published: say it all again.
                        sent.clear();
                        self.screens.shared().dirty.extend(self.screens.screens.keys().cloned());
                    }
                    connected = now_connected;
                    recheck_at = self.refresh_feeds(&mut tracker);
                }
                _ = self.screens.wake.notified() => {}
                _ = crate::deadline::sleep_until(wake_at) => {
                    if recheck_at.is_some_and(|at| at <= Instant::now()) {
                        recheck_at = self.refresh_feeds(&mut tracker);
                    }
                    retry_at = None;
                }
            }
            if !self.publish_reports(&mut sent) {
                retry_at = Some(Instant::now() + RETRY);
            }
        }
    }

    /// Recomputes every screen's `view` event; when to do it again without news.
    fn refresh_feeds(&mut self, tracker: &mut ViewTracker) -> Option<Instant> {
        let now = OffsetDateTime::now_utc();
        let published = self.snapshots.borrow_and_update().clone();
        let (presentation, served) = tracker.follow(&published.snapshot, now);
        self.screens.served(served.clone());
        let mut events: HashMap<(&[String], bool), Arc<str>> = HashMap::new();
        let mut recheck: Option<Duration> = None;
        for (id, screen) in &self.screens.screens {
            let languages = if screen.config.languages.is_empty() {
                &self.settings.display.languages
            } else {
                &screen.config.languages
            };
            // A drill may name this sign for the full cash-only screen.
            let full = presentation.view.drill_full_screen_for(id);
            let event = events
                .entry((languages.as_slice(), full))
                .or_insert_with(|| {
                    let presentation = Presentation {
                        drill_full_screen: full,
                        ..presentation.clone()
                    };
                    let (json, again) =
                        view_event(&self.settings, &presentation, &served, languages, now);
                    recheck = match (recheck, again) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                    Arc::from(json)
                })
                .clone();
            screen.feed.send_if_modified(|current| {
                let changed = **current != *event;
                if changed {
                    *current = event;
                }
                changed
            });
        }
        recheck.map(|after| Instant::now() + after)
    }

    /// When the next screen without a page reaches the end of its grace.
    fn next_grace(&self, sent: &HashMap<Identifier, (Vec<u8>, bool)>) -> Option<Instant> {
        let shared = self.screens.shared();
        shared
            .pages
            .iter()
            .filter(|(id, pages)| {
                pages.open == 0 && !sent.get(*id).is_some_and(|(_, offline)| *offline)
            })
            .filter_map(|(_, pages)| pages.left_at.map(|left| left + GRACE))
            .min()
    }

    /// Publishes every changed report; false if the request queue was full.
    fn publish_reports(&self, sent: &mut HashMap<Identifier, (Vec<u8>, bool)>) -> bool {
        let now = Instant::now();
        let mut shared = self.screens.shared();
        let mut due = std::mem::take(&mut shared.dirty);
        for (id, pages) in &shared.pages {
            let ended = pages.open == 0
                && pages
                    .left_at
                    .is_some_and(|left| now.saturating_duration_since(left) >= GRACE);
            if ended && !sent.get(id).is_some_and(|(_, offline)| *offline) {
                due.insert(id.clone());
            }
        }
        let mut all_sent = true;
        for id in due {
            let (Some(screen), Some(pages)) =
                (self.screens.screens.get(&id), shared.pages.get_mut(&id))
            else {
                continue;
            };
            let Some(report) = report_of(&screen.config, pages, now) else {
                continue;
            };
            let is_offline = report.status == DisplayStatus::Offline;
            if is_offline {
                // The next page starts from "syncing", not from a view painted before.
                pages.painted = None;
            }
            let payload = encode(&report);
            if sent.get(&id).is_some_and(|(last, _)| *last == payload) {
                continue;
            }
            let published = self
                .client
                .try_publish(
                    topic(&self.venue, &id),
                    QoS::AtLeastOnce,
                    true,
                    payload.clone(),
                )
                .is_ok();
            if published {
                sent.insert(id, (payload, is_offline));
            } else {
                shared.dirty.insert(id);
                all_sent = false;
            }
        }
        all_sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::web_screens::{Painted, ServedView};
    use crate::model::{fixtures, VenueView};

    fn config() -> WebScreenConfig {
        WebScreenConfig {
            id: fixtures::id("bar-menu"),
            name: "Bar menu".into(),
            key_hash: crate::config::access_key_hash("k"),
            languages: Vec::new(),
            layout: Default::default(),
            revoked: false,
            max_pages: 4,
        }
    }

    fn painted(synced: bool) -> Option<Painted> {
        let view = VenueView::normal();
        Some(Painted {
            view: ServedView {
                seq: 3,
                digest: view.digest(),
                view,
                synced,
            },
            at: OffsetDateTime::UNIX_EPOCH,
        })
    }

    #[test]
    fn a_screen_is_drawn_only_with_a_painted_venue_view_and_offline_after_the_grace() {
        let now = Instant::now();
        let open = |painted| Pages {
            open: 1,
            left_at: None,
            painted,
        };
        let report = report_of(&config(), &open(None), now).unwrap();
        assert_eq!(report.shown, Some(Shown::Syncing));
        assert_eq!(report.roles, ["signage", "web"]);
        // The boot screen painted while the console reads the broker proves nothing.
        let report = report_of(&config(), &open(painted(false)), now).unwrap();
        assert_eq!((report.shown, report.digest), (Some(Shown::Syncing), None));
        let report = report_of(&config(), &open(painted(true)), now).unwrap();
        assert_eq!(report.shown, Some(Shown::Drawn));
        assert_eq!(report.digest, Some(VenueView::normal().digest()));
        assert_eq!(report.name.as_deref(), Some("Bar menu"));

        // A reload: no page for a moment, the drawn report stands; nothing said before a
        // first paint; offline once the grace has passed.
        let gone = |painted, for_| Pages {
            open: 0,
            left_at: Some(now - for_),
            painted,
        };
        let report = report_of(&config(), &gone(painted(true), Duration::from_secs(1)), now);
        assert_eq!(report.unwrap().shown, Some(Shown::Drawn));
        assert!(report_of(&config(), &gone(None, Duration::from_secs(1)), now).is_none());
        let report = report_of(&config(), &gone(painted(true), GRACE), now).unwrap();
        assert_eq!(report.status, DisplayStatus::Offline);
    }
}
