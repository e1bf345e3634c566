//! Web screens: signs drawn by a browser, served by the console and reported like any
//! screen (docs/CONSOLE.md, "Web screens"; docs/PROTOCOL.md, "Web screens").
//!
//! Why the console and not a new `web` role: the console already holds the venue's view
//! (its bus worker's snapshot), an HTTP server with TLS, connection caps and a session on
//! the broker; a web screen needs exactly those three and nothing else, and a venue that
//! runs web screens runs a console. The page is a renderer only: every word comes from
//! `screen::screen_content` on the server (the one implementation of what a sign says),
//! per language, and the page posts back which view it painted, after the browser painted
//! it (`requestAnimationFrame`, then a task). The console then publishes that screen's
//! `DisplayReport` on `displays/{id}` from its own session, `shown: drawn` with the
//! revision and digest the page painted, so the confirmation rule counts it unchanged.
//!
//! This file holds the registry the routes and the worker share: the configured screens,
//! their keys, how many pages each has open (and from which address), what they painted,
//! and the bounded ring of recently served views a painted report must name. The feed
//! (`web_screens_feed`), the worker (`web_screens_worker`) and the routes
//! (`web_screens_routes`) live beside it.

use crate::access::same_secret;
use crate::config::{access_key_hash, WebScreenConfig};
use crate::model::VenueView;
use crate::protocol::Identifier;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use time::OffsetDateTime;
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

/// Views a painted report may name: the current one and a few before it (a page may post
/// what it painted just as the next view is served).
const RECENT_VIEWS: usize = 8;

/// One view as served to pages: `seq` numbers it, `synced` says whether it is the venue's
/// view (not the boot screen shown while the console reads the broker).
#[derive(Clone, Debug)]
pub struct ServedView {
    pub seq: u64,
    pub digest: String,
    pub view: VenueView,
    pub synced: bool,
}

/// What a page said it painted, and when (the console's clock).
#[derive(Clone, Debug)]
pub struct Painted {
    pub view: ServedView,
    pub at: OffsetDateTime,
}

/// One configured web screen and the live feed its pages read.
pub struct WebScreen {
    pub config: WebScreenConfig,
    /// The current `view` event's JSON for this screen's languages.
    pub feed: watch::Sender<Arc<str>>,
}

/// Pages open and what they painted, per screen.
#[derive(Default)]
pub struct Pages {
    pub open: u32,
    /// When the last page went away (or the console started): offline after the grace.
    pub left_at: Option<Instant>,
    pub painted: Option<Painted>,
}

#[derive(Default)]
pub struct Shared {
    pub pages: HashMap<Identifier, Pages>,
    pub per_address: HashMap<IpAddr, u32>,
    /// Screens whose report may have changed.
    pub dirty: BTreeSet<Identifier>,
    pub recent: VecDeque<ServedView>,
}

/// Why a page is turned away.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageRefusal {
    #[error("this screen's key is not valid (unknown screen, wrong or revoked key); ask the venue's technician for the screen's address")]
    BadKey,
    #[error("this screen already has {0} pages open; close one or raise max_pages")]
    TooManyPages(u32),
    #[error("this address already holds {0} web screen streams; try again later")]
    TooManyFromAddress(u32),
}

pub struct WebScreens {
    pub screens: BTreeMap<Identifier, WebScreen>,
    pub per_address_limit: u32,
    shared: Mutex<Shared>,
    /// Wakes the worker when a page comes, goes or paints.
    pub wake: Notify,
}

impl WebScreens {
    pub fn new(configs: &[WebScreenConfig], per_address_limit: u32) -> Arc<Self> {
        let started = Instant::now();
        let mut shared = Shared::default();
        let screens = configs
            .iter()
            .map(|config| {
                shared.pages.insert(
                    config.id.clone(),
                    Pages {
                        left_at: Some(started),
                        ..Pages::default()
                    },
                );
                shared.dirty.insert(config.id.clone());
                let (feed, _) = watch::channel(Arc::<str>::from(""));
                let screen = WebScreen {
                    config: config.clone(),
                    feed,
                };
                (config.id.clone(), screen)
            })
            .collect();
        Arc::new(Self {
            screens,
            per_address_limit,
            shared: Mutex::new(shared),
            wake: Notify::new(),
        })
    }

    pub fn shared(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The screen `id` if `key` opens it: same answer for an unknown id, a wrong key and a
    /// revoked one, so nobody learns which ids exist.
    pub fn authorise(&self, id: &str, key: &str) -> Result<&WebScreen, PageRefusal> {
        let hash = access_key_hash(key);
        let screen = Identifier::parse(id)
            .ok()
            .and_then(|id| self.screens.get(&id))
            .ok_or(PageRefusal::BadKey)?;
        if screen.config.revoked || !same_secret(&hash, &screen.config.key_hash) {
            return Err(PageRefusal::BadKey);
        }
        Ok(screen)
    }

    /// Counts a page in, within the screen's and the address's limits; the guard counts
    /// it out when the stream ends however it ends.
    pub fn open_page(
        self: &Arc<Self>,
        screen: &WebScreen,
        from: IpAddr,
    ) -> Result<PageGuard, PageRefusal> {
        let mut shared = self.shared();
        let on_address = shared.per_address.get(&from).copied().unwrap_or(0);
        if on_address >= self.per_address_limit {
            return Err(PageRefusal::TooManyFromAddress(on_address));
        }
        let id = screen.config.id.clone();
        let pages = shared.pages.entry(id.clone()).or_default();
        if pages.open >= screen.config.max_pages {
            return Err(PageRefusal::TooManyPages(pages.open));
        }
        pages.open += 1;
        pages.left_at = None;
        *shared.per_address.entry(from).or_default() += 1;
        shared.dirty.insert(id.clone());
        drop(shared);
        self.wake.notify_one();
        Ok(PageGuard {
            screens: self.clone(),
            id,
            from,
        })
    }

    /// Remembers a view served to pages, for painted reports to name.
    pub fn served(&self, view: ServedView) {
        let mut shared = self.shared();
        if shared
            .recent
            .back()
            .is_some_and(|last| last.seq == view.seq)
        {
            return;
        }
        shared.recent.push_back(view);
        while shared.recent.len() > RECENT_VIEWS {
            shared.recent.pop_front();
        }
    }

    /// A page of `id` painted the view numbered `seq` with `digest`; false if no such
    /// view was served recently.
    pub fn painted(&self, id: &Identifier, seq: u64, digest: &str, at: OffsetDateTime) -> bool {
        let mut shared = self.shared();
        let Some(view) = shared
            .recent
            .iter()
            .find(|view| view.seq == seq && view.digest == digest)
            .cloned()
        else {
            return false;
        };
        let pages = shared.pages.entry(id.clone()).or_default();
        // A late post for an older view than one already painted changes nothing.
        if pages.painted.as_ref().is_some_and(|p| p.view.seq > seq) {
            return true;
        }
        pages.painted = Some(Painted { view, at });
        shared.dirty.insert(id.clone());
        drop(shared);
        self.wake.notify_one();
        true
    }
}

/// One open page of a screen; dropping it counts the page out.
pub struct PageGuard {
    screens: Arc<WebScreens>,
    id: Identifier,
    from: IpAddr,
}

impl Drop for PageGuard {
    fn drop(&mut self) {
        let mut shared = self.screens.shared();
        if let Some(count) = shared.per_address.get_mut(&self.from) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                shared.per_address.remove(&self.from);
            }
        }
        if let Some(pages) = shared.pages.get_mut(&self.id) {
            pages.open = pages.open.saturating_sub(1);
            if pages.open == 0 {
                pages.left_at = Some(Instant::now());
            }
        }
        shared.dirty.insert(self.id.clone());
        drop(shared);
        self.screens.wake.notify_one();
    }
}
