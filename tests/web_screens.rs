//! Web screens end to end over a real Mosquitto: signs drawn by a browser at
//! `/screen/{id}?key=…`, each reported by the console like a Slint screen. In real headless
//! Chromium: three pages (landscape English/Spanish rotation, portrait Spanish, a banner)
//! confirm the normal view, switch to cash only and confirm, a page reloaded mid-incident
//! comes back on the current view, a wrong key sees nothing of the venue, a page gone for
//! longer than the grace is reported offline, and a page cut off from the console shows
//! the link-lost note. Over plain HTTP: forged, missing and revoked keys, oversized and
//! malformed bodies, too many pages per screen and per address. Under the shipped broker ACL,
//! a web screen confirms only with the line the ACL's header documents. Screenshots go to
//! target/screenshots/web-screen-*.png.

mod common;

use common::console::{start_console, stop_node, write_console_config, VENUE_NAME, WAIT};
use common::webdriver::{browser, Browser};
use common::*;
use raincheck::model::{Confirmations, Standing, VenueState};
use raincheck::protocol::{DisplayStatus, Identifier};
use reqwest::StatusCode;
use serde_json::Value;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Longer than the console's grace (10 s) plus a report's way through the broker.
const OFFLINE_WITHIN: Duration = Duration::from_secs(25);

struct Screen {
    id: &'static str,
    key: String,
}

fn screen(id: &'static str) -> Screen {
    Screen {
        id,
        key: raincheck::config::new_access_key(),
    }
}

fn entry(screen: &Screen, extra: &str) -> String {
    format!(
        "[[console.web_screens]]\nid = \"{}\"\nname = \"Web {}\"\nkey_hash = \"{}\"\n{extra}\n",
        screen.id,
        screen.id,
        raincheck::config::access_key_hash(&screen.key)
    )
}

fn page_url(address: SocketAddr, screen: &Screen, query: &str) -> String {
    format!(
        "http://{address}/screen/{}?key={}{query}",
        screen.id, screen.key
    )
}

fn standing(state: &VenueState, node: &str) -> Option<Standing> {
    Confirmations::of(state).standing(&Identifier::parse(node).unwrap())
}

fn offline(node: &'static str) -> impl Fn(&VenueState) -> bool {
    move |state: &VenueState| {
        state
            .displays
            .get(&Identifier::parse(node).unwrap())
            .is_some_and(|report| report.status == DisplayStatus::Offline)
    }
}

/// Appends `[display]` settings: the screens' rotation every 3 s.
fn with_display(config: &std::path::Path) {
    let text = std::fs::read_to_string(config).unwrap();
    std::fs::write(config, format!("{text}\n[display]\nlanguage_secs = 3\n")).unwrap();
}

async fn shows(page: &Browser, state: &str, what: &str) {
    page.wait_until(
        &format!("document.body.classList.contains('state-{state}')"),
        WAIT,
        what,
    )
    .await;
}

#[test]
fn web_screens_switch_confirm_come_back_after_a_reload_and_show_the_link_lost_note() {
    let Some(broker) = mosquitto("") else {
        return;
    };
    let url = broker.url();
    let directory = tempfile::tempdir().unwrap();
    let (lobby, foyer, bar) = (screen("lobby-web"), screen("foyer-web"), screen("bar-menu"));
    let screens_toml = [
        entry(&lobby, "languages = [\"en\", \"es\"]"),
        entry(&foyer, "languages = [\"es\"]"),
        entry(&bar, "layout = \"banner_bottom\""),
    ]
    .concat();
    let config = write_console_config(directory.path(), "back-office", &url, &screens_toml);
    with_display(&config);
    let shots = screenshots_dir();
    let runtime = runtime();
    runtime.block_on(async {
        let (node, trigger, address) = start_console(&config, directory.path());
        let Some(lobby_page) = browser(1920, 1080).await else {
            return;
        };
        let foyer_page = browser(1080, 1920).await.expect("a second Chromium");
        let bar_page = browser(1280, 720).await.expect("a third Chromium");
        lobby_page.goto(&page_url(address, &lobby, "")).await;
        foyer_page.goto(&page_url(address, &foyer, "")).await;
        bar_page.goto(&page_url(address, &bar, "")).await;
        let names = ["lobby-web", "foyer-web", "bar-menu"];
        let mut session = observer(&url).await;
        wait_for(&mut session, WAIT, "every web screen confirms the normal view", all_confirmed(&names)).await;
        shows(&lobby_page, "normal", "the lobby page shows the normal sign").await;
        assert!(lobby_page.text("#venue-name").await.contains(VENUE_NAME));
        lobby_page.screenshot(&shots.join("web-screen-normal.png")).await;

        // A staff drill: the marker on every page, the full cash-only screen on the one
        // chosen; each page confirms it, and returns when it ends.
        let drill = cli(&["drill", "start", "--broker", url.as_str(), "--venue", VENUE, "--full-screen", "foyer-web"]);
        assert!(drill.status.success(), "{}", stderr_of(&drill));
        wait_for(&mut session, WAIT, "every web screen confirms the drill", |state| {
            raincheck::model::compute_view(state).drill.is_some() && all_confirmed(&names)(state)
        })
        .await;
        lobby_page
            .wait_until("!document.querySelector('#drill').hidden", WAIT, "the drill marker")
            .await;
        assert_eq!(lobby_page.text("#drill").await, "TEST — staff drill");
        shows(&lobby_page, "normal", "the lobby keeps its normal sign under the marker").await;
        shows(&foyer_page, "cash_only", "the chosen page shows the full cash-only screen").await;
        foyer_page.screenshot(&shots.join("web-screen-drill-full-screen.png")).await;
        let ended = cli(&["drill", "end", "--broker", url.as_str(), "--venue", VENUE]);
        assert!(ended.status.success(), "{}", stderr_of(&ended));
        wait_for(&mut session, WAIT, "every web screen confirms the end of the drill", |state| {
            raincheck::model::compute_view(state).drill.is_none() && all_confirmed(&names)(state)
        })
        .await;
        lobby_page
            .wait_until("document.querySelector('#drill').hidden", WAIT, "the marker goes")
            .await;

        // Cash only: trigger → every page painted and confirmed.
        let started = Instant::now();
        let (_, revision) = declare(&url, "start", &["--offer", "A free small popcorn on your next visit", "--cash-points", "Pay cash at the box office and the bar"]);
        wait_for(&mut session, WAIT, "every web screen confirms cash only", confirmed_after(&names, revision)).await;
        println!("trigger → 3 web screens painted and confirmed: {:?}", started.elapsed());
        for page in [&lobby_page, &foyer_page, &bar_page] {
            shows(page, "cash_only", "the page shows cash only").await;
        }
        lobby_page
            .wait_until("document.documentElement.lang === 'en'", WAIT, "the lobby shows English")
            .await;
        assert_eq!(lobby_page.text("#cash-label").await, "CASH ONLY");
        assert!(lobby_page.text("#offer").await.contains("popcorn"));
        assert!(lobby_page.text("#since").await.starts_with("Since "));
        lobby_page.screenshot(&shots.join("web-screen-cash-only-en.png")).await;
        // The rotation reaches Spanish, with the sign's own Spanish labels.
        lobby_page
            .wait_until("document.documentElement.lang === 'es'", WAIT, "the lobby rotates to Spanish")
            .await;
        assert_ne!(lobby_page.text("#cash-label").await, "CASH ONLY");
        lobby_page.screenshot(&shots.join("web-screen-cash-only-es.png")).await;
        foyer_page.screenshot(&shots.join("web-screen-cash-only-es-portrait.png")).await;
        bar_page.screenshot(&shots.join("web-screen-banner.png")).await;
        let strip: Value = bar_page
            .run("const r = document.querySelector('#sign').getBoundingClientRect(); return [r.top, r.height, innerHeight, getComputedStyle(document.body).backgroundColor];", serde_json::json!([]))
            .await;
        assert!(strip[1].as_f64().unwrap() < 0.3 * strip[2].as_f64().unwrap(), "a strip, not the page: {strip}");
        assert_eq!(strip[3], "rgba(0, 0, 0, 0)", "transparent elsewhere");

        // A page reloaded mid-incident comes back on the current view and reports it.
        lobby_page.run("location.reload(); return 1;", serde_json::json!([])).await;
        shows(&lobby_page, "cash_only", "the reloaded page shows cash only again").await;
        lobby_page
            .wait_until("window.__raincheck && window.__raincheck.view !== null", WAIT, "the reloaded page has the view")
            .await;
        wait_for(&mut session, WAIT, "the reloaded page still confirms", confirmed_after(&names, revision)).await;

        // A wrong key sees nothing of the venue; the screen whose page left goes offline
        // after the grace.
        bar_page.goto(&format!("http://{address}/screen/bar-menu?key=not-the-key")).await;
        bar_page
            .wait_until("!document.querySelector('#refused').hidden", WAIT, "a wrong key is refused")
            .await;
        let seen = bar_page.run("return document.body.innerText;", serde_json::json!([])).await;
        let seen = seen.as_str().unwrap_or_default().to_owned();
        assert!(!seen.contains(VENUE_NAME) && !seen.contains("popcorn") && !seen.contains("CASH"), "{seen}");
        bar_page.screenshot(&shots.join("web-screen-wrong-key.png")).await;
        wait_for(&mut session, OFFLINE_WITHIN, "the banner's screen is offline after the grace", offline("bar-menu")).await;
        assert_eq!(standing(&session.state, "lobby-web"), Some(Standing::Confirmed));

        // The console stops: the pages show the link-lost note over the last view, and the
        // console said goodbye for its web screens.
        stop_node(node, trigger).await;
        lobby_page
            .wait_until("!document.querySelector('#note').hidden", WAIT, "the link-lost note shows")
            .await;
        shows(&lobby_page, "cash_only", "the last view stays").await;
        assert!(lobby_page.text("#note").await.contains(':'));
        lobby_page.screenshot(&shots.join("web-screen-link-lost.png")).await;
        wait_for(&mut session, WAIT, "the stopped console reports its web screens offline", offline("lobby-web")).await;
        for page in [lobby_page, foyer_page, bar_page] {
            page.quit().await;
        }
    });
}

/// A live stream of one page, read as Server-Sent Events.
struct Stream {
    response: reqwest::Response,
    buffer: String,
}

impl Stream {
    async fn open(address: SocketAddr, id: &str, key: &str) -> Result<Self, (StatusCode, String)> {
        let response = reqwest::get(format!("http://{address}/screen/{id}/events?key={key}"))
            .await
            .expect("the console answers");
        if response.status() != StatusCode::OK {
            let status = response.status();
            return Err((status, response.text().await.unwrap_or_default()));
        }
        Ok(Self {
            response,
            buffer: String::new(),
        })
    }

    /// The data of the next event named `name`.
    async fn next(&mut self, name: &str) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let event: String = self.buffer.drain(..end + 2).collect();
                let kind = event
                    .lines()
                    .find_map(|l| l.strip_prefix("event:"))
                    .map(str::trim);
                let data = event
                    .lines()
                    .find_map(|l| l.strip_prefix("data:"))
                    .map(str::trim);
                if kind == Some(name) {
                    return serde_json::from_str(data.unwrap_or("null")).expect("JSON data");
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .unwrap_or_else(|_| panic!("no {name} event within {WAIT:?}"))
                .expect("the stream stays open")
                .expect("the stream does not end");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

#[test]
fn keys_bodies_and_limits_are_refused_clearly_and_a_simulated_page_confirms() {
    let Some(broker) = mosquitto("") else {
        return;
    };
    let url = broker.url();
    let directory = tempfile::tempdir().unwrap();
    let (a, b, gone) = (screen("web-a"), screen("web-b"), screen("web-revoked"));
    let screens_toml = [
        "web_streams_per_address = 3\n".to_owned(),
        entry(&a, "max_pages = 2"),
        entry(&b, ""),
        entry(&gone, "revoked = true"),
    ]
    .concat();
    let config = write_console_config(directory.path(), "back-office", &url, &screens_toml);
    let runtime = runtime();
    runtime.block_on(async {
        let (node, trigger, address) = start_console(&config, directory.path());
        let http = reqwest::Client::new();

        // Keys: missing, forged, revoked and an unknown screen get the same 403.
        let mut refusals = Vec::new();
        for (id, key) in [
            ("web-a", ""),
            ("web-a", "forged"),
            ("web-a", b.key.as_str()),
            ("web-revoked", gone.key.as_str()),
            ("nobody", a.key.as_str()),
        ] {
            let (status, body) = Stream::open(address, id, key).await.err().expect("refused");
            assert_eq!(status, StatusCode::FORBIDDEN, "{id} {key}");
            refusals.push(body);
        }
        assert!(
            refusals.windows(2).all(|w| w[0] == w[1]),
            "one answer for every bad key: {refusals:?}"
        );
        assert!(refusals[0].contains("key is not valid"));
        let check = http
            .get(format!("http://{address}/screen/web-a/key?key=forged"))
            .send()
            .await
            .unwrap();
        assert_eq!(check.status(), StatusCode::FORBIDDEN);

        // A simulated page: it reads the view, says it painted it, and the screen confirms.
        let mut page = Stream::open(address, "web-a", &a.key)
            .await
            .expect("a valid key opens");
        let setup = page.next("setup").await;
        assert_eq!(setup["id"], "web-a");
        let mut session = observer(&url).await;
        let mut view = page.next("view").await;
        while view["synced"] != true {
            view = page.next("view").await;
        }
        assert_eq!(view["languages"][0]["venue_name"], VENUE_NAME);
        let painted = format!("http://{address}/screen/web-a/painted?key={}", a.key);
        let answer = http
            .post(&painted)
            .json(&serde_json::json!({"seq": view["seq"], "digest": view["digest"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::NO_CONTENT);
        wait_for(
            &mut session,
            WAIT,
            "the simulated page's screen confirms",
            all_confirmed(&["web-a"]),
        )
        .await;

        // Bodies: a view never served, malformed, oversized, not JSON.
        let stale = http
            .post(&painted)
            .json(&serde_json::json!({"seq": 999, "digest": "0000"}))
            .send()
            .await
            .unwrap();
        assert_eq!(stale.status(), StatusCode::CONFLICT);
        let malformed = http
            .post(&painted)
            .header("content-type", "application/json")
            .body("{\"seq\": \"x\"")
            .send()
            .await
            .unwrap();
        assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
        let huge = http
            .post(&painted)
            .header("content-type", "application/json")
            .body(format!("{{\"seq\":1,\"digest\":\"{}\"}}", "f".repeat(4096)))
            .send()
            .await
            .unwrap();
        assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let text = http.post(&painted).body("seq=1").send().await.unwrap();
        assert_eq!(text.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let forged = http
            .post(format!("http://{address}/screen/web-a/painted?key=forged"))
            .json(&serde_json::json!({"seq": view["seq"], "digest": view["digest"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        assert_eq!(standing(&session.state, "web-a"), Some(Standing::Confirmed));

        // Limits: two pages for web-a, then 429; the third stream of this address is the
        // last one it may hold.
        let second = Stream::open(address, "web-a", &a.key)
            .await
            .expect("a second page");
        let (status, why) = Stream::open(address, "web-a", &a.key)
            .await
            .err()
            .expect("a third page is refused");
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{why}");
        assert!(why.contains("pages open"), "{why}");
        let third = Stream::open(address, "web-b", &b.key)
            .await
            .expect("the address's third stream");
        let (status, why) = Stream::open(address, "web-b", &b.key)
            .await
            .err()
            .expect("a fourth stream is refused");
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{why}");
        assert!(why.contains("this address"), "{why}");
        drop((second, third));

        // The page goes away: offline after the grace, not before the page has gone.
        let gone_at = Instant::now();
        drop(page);
        wait_for(
            &mut session,
            OFFLINE_WITHIN,
            "web-a is offline after the grace",
            offline("web-a"),
        )
        .await;
        assert!(
            gone_at.elapsed() >= Duration::from_secs(9),
            "offline only after the grace: {:?}",
            gone_at.elapsed()
        );
        stop_node(node, trigger).await;
    });
}

/// The shipped ACL with the line its header tells an installer to add for web screen `id`
/// (the example, uncommented, the example's id replaced), under the console's login.
fn acl_with_web_screen(id: &str) -> String {
    const SHIPPED: &str = include_str!("../config/mosquitto/raincheck.acl");
    let line = SHIPPED
        .lines()
        .find_map(|line| line.strip_prefix("#   topic write raincheck/v1/rialto/displays/"))
        .expect("the ACL's header shows the line to add for a web screen");
    let line = format!(
        "topic write raincheck/v1/rialto/displays/{}",
        line.replace("bar-menu", id)
    );
    format!("{SHIPPED}\nuser back-office\n{line}\n")
}

/// A page without a browser: it reads the first synced view and says it painted it.
async fn paint_once(address: SocketAddr, screen: &Screen) -> Stream {
    let mut page = Stream::open(address, screen.id, &screen.key)
        .await
        .expect("the key opens");
    let mut view = page.next("view").await;
    while view["synced"] != true {
        view = page.next("view").await;
    }
    let answer = reqwest::Client::new()
        .post(format!(
            "http://{address}/screen/{}/painted?key={}",
            screen.id, screen.key
        ))
        .json(&serde_json::json!({"seq": view["seq"], "digest": view["digest"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::NO_CONTENT);
    page
}

#[test]
fn under_the_shipped_acl_a_web_screen_confirms_only_with_its_documented_line() {
    use common::broker::*;
    let directory = directory_readable_by_mosquitto();
    let password = |user: &str| format!("pw-{user}-web");
    let (console_pw, cli_pw) = (password("back-office"), password("cli"));
    let passwd = directory.path().join("raincheck.passwd");
    let Some(()) =
        mosquitto_password_file(&passwd, &[("back-office", &console_pw), ("cli", &cli_pw)])
    else {
        return;
    };
    let acl = directory.path().join("raincheck.acl");
    std::fs::write(&acl, acl_with_web_screen("web-allowed")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&acl, std::fs::Permissions::from_mode(0o644)).unwrap();
    let Some(broker) = mosquitto(&format!(
        "allow_anonymous false\npassword_file {}\nacl_file {}\n",
        passwd.display(),
        acl.display()
    )) else {
        return;
    };
    let url = broker.url();
    let (allowed, unlisted) = (screen("web-allowed"), screen("web-unlisted"));
    let config = write_console_config(
        directory.path(),
        "back-office",
        &url,
        &[entry(&allowed, ""), entry(&unlisted, "")].concat(),
    );
    let secret = private_password_file(directory.path(), "back-office.password", &console_pw);
    let text = std::fs::read_to_string(&config).unwrap().replacen(
        &format!("url = \"{url}\"\n"),
        &format!(
            "url = \"{url}\"\nusername = \"back-office\"\npassword_file = \"{}\"\n",
            secret.display()
        ),
        1,
    );
    std::fs::write(&config, text).unwrap();
    let cli_secret = private_password_file(directory.path(), "cli.password", &cli_pw);
    let cli = write_config(
        directory.path(),
        "cli",
        &logged_in_broker_section(&url, "", "cli", &cli_secret),
    );
    let runtime = runtime();
    runtime.block_on(async {
        let (node, trigger, address) = start_console(&config, directory.path());
        let mut session = session_from_config(cli, 10)
            .await
            .expect("the cli user connects");
        // The unlisted screen paints first; the broker drops its report, in order before
        // the listed one's, which it passes.
        let _unlisted_page = paint_once(address, &unlisted).await;
        let _allowed_page = paint_once(address, &allowed).await;
        wait_for(
            &mut session,
            WAIT,
            "the listed web screen confirms",
            all_confirmed(&["web-allowed"]),
        )
        .await;
        assert!(
            !session
                .state
                .displays
                .contains_key(&Identifier::parse("web-unlisted").unwrap()),
            "the broker let the console publish a web screen the ACL does not list"
        );
        stop_node(node, trigger).await;
    });
}
