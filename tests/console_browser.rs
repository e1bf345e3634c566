//! The manager's console end to end in a real headless Chromium at a 10-inch tablet's size:
//! sign in, declare cash only with a hostile headline, watch three headless display nodes
//! confirm over a real Mosquitto, resolve, watch them clear, see a screen go offline. The
//! hostile text must show as text and never run; wording a manager leaves untouched
//! reaches Spanish screens in Spanish. Screenshots go to target/screenshots/.

mod common;

use common::console::sign_in_in_browser;
use common::webdriver::browser;
use common::*;
use raincheck::app::start_node;
use raincheck::shutdown::shutdown_pair;
use serde_json::json;
use std::path::Path;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
const HOSTILE: &str = "<img src=x onerror=\"window.__pwned=1\"> Cash only";

/// A console node's config: the manager Dana (PIN 4821), the venue's offers and secret.
fn console_config(directory: &Path, url: &str) -> std::path::PathBuf {
    // The counter config writes the shared secret; the console reuses its [counter] part.
    let counter = write_counter_config(directory, "console", 100, "allow", Some(url));
    let text = std::fs::read_to_string(&counter).unwrap().replace(
        "roles = [\"counter\"]",
        "roles = [\"console\"]\nvenue_name = \"Rialto Picture House\"",
    );
    let hash = raincheck::console::hash_pin("4821").unwrap();
    let text = format!(
        "{text}\n[console]\nlisten = \"127.0.0.1:0\"\n[[console.managers]]\nname = \"Dana\"\npin_hash = \"{hash}\"\n"
    );
    std::fs::write(&counter, text).unwrap();
    counter
}

fn display_node(directory: &Path, node: &str, url: &str) -> NodeProcess {
    let config = write_config(
        directory,
        node,
        &format!(
            "name = \"Lobby {node}\"\n[broker]\nurl = \"{url}\"\nkeep_alive_secs = 2\nwatchdog_secs = 6\nreconnect_min_ms = 50\nreconnect_max_ms = 500\n[display]\nbackend = \"offscreen\"\n"
        ),
    );
    NodeProcess::start_with(node, config)
}

#[test]
fn a_manager_declares_watches_every_screen_confirm_and_resolves_from_a_tablet() {
    let Some(mut broker) = mosquitto("") else {
        return;
    };
    let directory = tempfile::tempdir().unwrap();
    let url = broker.url();
    let runtime = runtime();
    let (trigger, shutdown) = shutdown_pair();
    let config = raincheck::config::load(&console_config(directory.path(), &url)).unwrap();
    let console = runtime
        .block_on(async { start_node(&config, directory.path(), shutdown) })
        .expect("console starts");
    let address = console.console.expect("the console role serves HTTP");
    let mut displays: Vec<NodeProcess> = ["lobby-1", "lobby-2", "box-office"]
        .iter()
        .map(|node| display_node(directory.path(), node, &url))
        .collect();
    let shots = screenshots_dir();

    runtime.block_on(async {
        let Some(tablet) = browser(1280, 800).await else { return };
        tablet.goto(&format!("http://{address}/")).await;
        tablet.wait_until("!document.querySelector('#signin').hidden", WAIT, "the sign-in form shows").await;
        tablet.type_into("#signin-name", "Dana").await;
        tablet.type_into("#signin-pin", "1111").await;
        tablet.click("#signin-submit").await;
        tablet
            .wait_until("!document.querySelector('#signin-error').hidden", WAIT, "a wrong PIN is refused")
            .await;
        assert!(tablet.text("#signin-error").await.contains("do not match"));
        tablet.type_into("#signin-pin", "4821").await;
        tablet.click("#signin-submit").await;
        tablet.wait_until("!document.querySelector('#app').hidden", WAIT, "the console opens").await;
        tablet
            .wait_until(
                "document.querySelector('#headline').textContent.includes('3 of 3 screens confirmed')",
                WAIT,
                "the three screens report the normal view",
            )
            .await;
        tablet.screenshot(&shots.join("console-1-normal-1280x800.png")).await;

        // Declare: the preview shows exactly the typed text, as text.
        tablet.click("#declare-open").await;
        tablet.wait_until("!document.querySelector('#declare-sheet').hidden", WAIT, "the declare sheet opens").await;
        tablet.click("[data-offer-id='popcorn']").await;
        tablet.type_into("#text-headline", HOSTILE).await;
        tablet
            .wait_until(
                &format!("document.querySelector('#preview-headline').textContent === {}", json!(HOSTILE)),
                WAIT,
                "the preview shows the headline as typed",
            )
            .await;
        tablet.screenshot(&shots.join("console-2-declare-preview.png")).await;
        tablet.click("#declare-confirm").await;
        tablet
            .wait_until(
                "document.body.dataset.phase === 'confirmed' && document.querySelector('#headline').textContent.includes('3 of 3 screens confirmed')",
                WAIT,
                "every screen confirms cash only",
            )
            .await;
        let revision = tablet.run("return Number(document.body.dataset.revision);", json!([])).await;
        assert!(revision.as_u64().unwrap_or(0) >= 1, "the page shows the new revision");
        let pwned = tablet
            .run("return [window.__pwned === undefined, document.querySelectorAll('img[src=\"x\"]').length];", json!([]))
            .await;
        assert_eq!(pwned, json!([true, 0]), "the hostile headline ran or became markup");
        assert!(tablet.text("#mode").await.to_uppercase().contains("CASH ONLY"));
        tablet.screenshot(&shots.join("console-3-cash-only-confirmed.png")).await;

        // Watch: every node, confirmed, with its name.
        tablet.click("[data-tab='screens']").await;
        tablet
            .wait_until(
                "document.querySelectorAll(\".node[data-kind='screen'][data-standing='confirmed']\").length === 3",
                WAIT,
                "three confirmed screen cards",
            )
            .await;
        assert!(tablet.text("#nodes").await.contains("Lobby lobby-2"));
        tablet.set_window_size(800, 1280).await;
        tablet.screenshot(&shots.join("console-4-screens-800x1280.png")).await;
        tablet.set_window_size(1280, 800).await;

        // A screen vanishes: the console names it.
        let gone = displays.remove(1);
        drop(gone);
        tablet
            .wait_until(
                "document.querySelector(\".node[data-node='lobby-2'][data-standing='offline']\") !== null",
                WAIT,
                "the stopped screen shows as offline",
            )
            .await;
        tablet.click("[data-tab='status']").await;
        tablet
            .wait_until(
                "document.querySelector('#headline').textContent.includes('2 of 3 screens confirmed — Lobby lobby-2 offline since ')",
                WAIT,
                "the headline names the offline screen and since when",
            )
            .await;

        // Resolve: "all clear" is done only when every online screen has cleared.
        tablet.click("#resolve-open").await;
        tablet.wait_until("!document.querySelector('#resolve-sheet').hidden", WAIT, "the resolve sheet opens").await;
        tablet.click("#resolve-confirm").await;
        tablet
            .wait_until(
                "document.body.dataset.phase === 'cleared' && document.querySelector('#headline').textContent.includes('2 of 3 screens cleared')",
                WAIT,
                "the two online screens clear",
            )
            .await;
        tablet.screenshot(&shots.join("console-5-all-clear.png")).await;

        // The stopped screen was taken out of service: the manager forgets it, and it
        // shows nowhere any more (the count is of the two screens that are left).
        tablet.click("[data-tab='screens']").await;
        tablet.run("window.confirm = () => true;", serde_json::json!([])).await;
        tablet.screenshot(&shots.join("console-5b-forget.png")).await;
        tablet.click(".node[data-node='lobby-2'] .node-forget").await;
        tablet
            .wait_until(
                "document.querySelector(\".node[data-node='lobby-2']\") === null",
                WAIT,
                "the forgotten screen is gone from the console",
            )
            .await;
        tablet.click("[data-tab='status']").await;
        tablet
            .wait_until(
                "document.querySelector('#headline').textContent.includes('2 of 2 screens')",
                WAIT,
                "the count no longer includes the forgotten screen",
            )
            .await;

        // The audit tab shows what Dana did.
        tablet.click("[data-tab='audit']").await;
        tablet
            .wait_until(
                "document.querySelector('#audit').textContent.includes('resolve') && document.querySelector('#audit').textContent.includes('declare')",
                WAIT,
                "the audit log lists the declaration and the resolve",
            )
            .await;
        tablet.screenshot(&shots.join("console-6-audit.png")).await;

        // A screen that cannot draw is listed apart, with why, and never counted as showing.
        let config = write_config(
            directory.path(),
            "kiosk",
            &format!("name = \"Foyer kiosk\"\n[broker]\nurl = \"{url}\"\n[display]\nbackend = \"headless\"\n"),
        );
        let _dark = NodeProcess::start_with("kiosk", config);
        tablet.click("[data-tab='screens']").await;
        tablet
            .wait_until(
                "document.querySelector(\".node[data-node='kiosk'][data-standing='headless']\") !== null",
                WAIT,
                "the headless screen is listed as drawing nothing",
            )
            .await;
        assert!(tablet.text("#nodes").await.contains("display.backend is \"headless\""));
        tablet.screenshot(&shots.join("console-7-headless-screen.png")).await;

        tablet.click("[data-tab='status']").await;
        tablet
            .wait_until(
                "document.querySelector('#count-screens').textContent.includes('Draws nothing')",
                WAIT,
                "the status page counts the screen that draws nothing apart",
            )
            .await;
        tablet.screenshot(&shots.join("console-8-status-headless.png")).await;

        // Its own link gone, the console claims nothing and says since when it is blind.
        broker.kill();
        tablet
            .wait_until(
                "document.body.dataset.phase === 'blind' && document.querySelector('#headline').textContent.includes('cannot see the venue since')",
                WAIT,
                "the console says it cannot see the venue",
            )
            .await;
        tablet.screenshot(&shots.join("console-9-blind.png")).await;
        tablet.quit().await;
    });
    trigger.trigger();
    runtime.block_on(console.join());
}

/// What a screen showing `language` draws of the observer's view (its config has no texts).
fn drawn_in(
    observer: &raincheck::client::BusSession,
    language: &str,
) -> raincheck::screen::ScreenContent {
    let now = time::OffsetDateTime::now_utc();
    let presentation = raincheck::model::Presentation {
        view: raincheck::model::compute_view(&observer.state),
        has_state: true,
        restored: false,
        link: raincheck::model::LinkState::Up,
        shown_since: now,
        drill_full_screen: false,
    };
    let (content, _) = raincheck::screen::screen_content(
        &presentation,
        "Rialto",
        &raincheck::config::DisplaySection::default(),
        &raincheck::config::TextsSection::default(),
        language,
        now,
    );
    content
}

#[test]
fn wording_is_written_per_screen_language_and_left_untouched_it_stays_each_languages_own() {
    let Some(broker) = mosquitto("") else {
        return;
    };
    let directory = tempfile::tempdir().unwrap();
    let url = broker.url();
    let runtime = runtime();
    let (_trigger, shutdown) = shutdown_pair();
    // The console's English template pre-fills the form; it must not be frozen into the
    // declaration, or Spanish screens would show it.
    let path = console_config(directory.path(), &url);
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("[display]\n", "[display]\nlanguages = [\"en\", \"es\"]\n");
    std::fs::write(
        &path,
        format!("{text}\n[texts.en.cash_only]\nheadline = \"Cash only right now\"\n"),
    )
    .unwrap();
    let config = raincheck::config::load(&path).unwrap();
    let console = runtime
        .block_on(async { start_node(&config, directory.path(), shutdown) })
        .expect("console starts");
    let address = console.console.expect("the console role serves HTTP");
    let _display = display_node(directory.path(), "lobby-1", &url);
    let shots = screenshots_dir();

    runtime.block_on(async {
        let Some(tablet) = browser(1280, 800).await else { return };
        let mut observer = observer_once_online(&url, &["lobby-1"], WAIT).await;
        tablet.goto(&format!("http://{address}/")).await;
        sign_in_in_browser(&tablet).await;

        // Untouched: every screen its own language's wording.
        tablet.click("#declare-open").await;
        tablet.wait_until("!document.querySelector('#declare-sheet').hidden", WAIT, "the declare sheet opens").await;
        assert_eq!(
            tablet.run("return document.querySelector('#text-headline').value;", json!([])).await,
            json!("Cash only right now"),
            "the form starts from the English template"
        );
        tablet.click("#declare-confirm").await;
        wait_for(&mut observer, WAIT, "cash only declared", |state| {
            raincheck::model::compute_view(state).mode == raincheck::model::ViewMode::CashOnly
        })
        .await;
        wait_for(&mut observer, WAIT, "lobby-1 draws it", all_confirmed(&["lobby-1"])).await;
        let view = raincheck::model::compute_view(&observer.state);
        assert!(view.translations.is_empty(), "untouched wording was sent: {:?}", view.translations);
        for field in raincheck::protocol::TextField::ALL {
            let sent = view.texts.get(field).unwrap_or_default();
            assert!(sent.is_empty(), "{field:?} was frozen into the declaration: {sent:?}");
        }
        let spanish = drawn_in(&observer, "es");
        let bundled = raincheck::model::bundled_texts("es", raincheck::model::WordingMode::CashOnly);
        assert_eq!(Some(spanish.headline.as_str()), bundled.headline.as_deref());
        assert_eq!(Some(spanish.body.as_str()), bundled.body.as_deref());
        assert_eq!(Some(spanish.offer.as_str()), bundled.offer.as_deref());
        assert_eq!(Some(spanish.cash_points.as_str()), bundled.cash_points.as_deref());

        // Written in Spanish only: Spanish screens show it, English ones their own.
        tablet
            .wait_until("!document.querySelector('#incident-actions').hidden", WAIT, "the update button shows")
            .await;
        tablet.click("#update-open").await;
        tablet.wait_until("!document.querySelector('#declare-sheet').hidden", WAIT, "the update sheet opens").await;
        tablet.click("[data-language='es']").await;
        tablet
            .wait_until(
                "document.querySelector('#text-headline').value === 'Los pagos con tarjeta no funcionan' && document.querySelector('#preview .replica-badge').textContent === 'SOLO EFECTIVO'",
                WAIT,
                "the Spanish tab shows the Spanish wording and preview",
            )
            .await;
        tablet.run("document.querySelector('#text-headline').value = '';", json!([])).await;
        tablet.type_into("#text-headline", "Hoy solo efectivo").await;
        tablet.screenshot(&shots.join("console-10-declare-spanish-tab.png")).await;
        tablet.click("#update-confirm").await;
        wait_for(&mut observer, WAIT, "the Spanish headline declared", |state| {
            raincheck::model::compute_view(state)
                .translations
                .get("es")
                .and_then(|texts| texts.headline.as_deref())
                == Some("Hoy solo efectivo")
        })
        .await;
        assert_eq!(drawn_in(&observer, "es").headline, "Hoy solo efectivo");
        assert_eq!(drawn_in(&observer, "en").headline, "Card payments are down");
    });
    drop(console);
    drop(broker);
}
