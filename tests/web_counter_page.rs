//! The web counter's page in real headless Chromium, served by a real till (in-process, real
//! Mosquitto): staff sign in, issue a voucher (code and QR shown), redeem it by typing the
//! code Enter-terminated as a keyboard-wedge scanner does (VALID, then ALREADY REDEEMED), the
//! banner switches live to cash only when an incident is declared through the CLI, the
//! language button words everything in Spanish, and the page shows that its link is lost
//! when the till stops. Screenshots of each state at phone (390×844), tablet (820×1180) and
//! POS (1024×768) sizes go to target/screenshots/web-counter-*.png.

mod common;
#[path = "web_counter/support.rs"]
mod support;

use common::console::{stop_node, WAIT};
use common::webdriver::{browser, Browser};
use common::*;
use std::path::Path;
use support::*;

/// (name, width, height) of the screens staff use.
const SIZES: [(&str, u32, u32); 3] = [
    ("phone", 390, 844),
    ("tablet", 820, 1180),
    ("pos", 1024, 768),
];

/// Screenshots of the page's current state at every size, ending at the POS size.
async fn shoot(page: &Browser, shots: &Path, state: &str) {
    for (size, width, height) in SIZES {
        // The window's size includes the browser's own bars: grown by them, the page itself
        // gets the device's screen size.
        page.set_window_size(width, height).await;
        let inner = page
            .run("return [innerWidth, innerHeight];", serde_json::json!([]))
            .await;
        let short = |index: usize, wanted: u32| {
            wanted.saturating_sub(inner[index].as_u64().unwrap_or(0) as u32)
        };
        page.set_window_size(width + short(0, width), height + short(1, height))
            .await;
        // Reading the layout makes the page lay itself out at the new size at once.
        let shown = page
            .run("return [innerWidth, innerHeight];", serde_json::json!([]))
            .await;
        eprintln!("{size}: {inner} -> {shown}");
        page.screenshot(&shots.join(format!("web-counter-{state}-{size}.png")))
            .await;
    }
}

async fn answer_is(page: &Browser, answer: &str) {
    page.wait_until(
        &format!("document.getElementById('answer').dataset.answer === '{answer}'"),
        WAIT,
        &format!("the answer slot shows {answer}"),
    )
    .await;
}

#[test]
fn staff_sign_in_issue_redeem_by_typing_see_the_incident_live_and_the_link_lost() {
    let Some(broker) = mosquitto("") else {
        return;
    };
    let url = broker.url();
    let directory = tempfile::tempdir().unwrap();
    let shots = screenshots_dir();
    runtime().block_on(async {
        let till = start_till(directory.path(), &url).await;
        let Some(page) = browser(1024, 768).await else {
            stop_node(till.node, till.trigger).await;
            return;
        };
        page.goto(&format!("http://{}/counter", till.address)).await;
        page.wait_until(
            "document.body.classList.contains('signed-out') && window.__counter && window.__counter.setup",
            WAIT,
            "the sign-in form with its words",
        )
        .await;
        shoot(&page, &shots, "signed-out").await;

        // A wrong PIN is told so on the form; the right one opens the desk.
        page.type_into("#signin-number", STAFF).await;
        page.type_into("#signin-pin", "9999").await;
        page.click("#signin-submit").await;
        page.wait_until("!document.getElementById('signin-error').hidden", WAIT, "the wrong PIN is refused").await;
        assert!(page.text("#signin-error").await.contains("do not match"));
        page.type_into("#signin-pin", PIN).await;
        page.click("#signin-submit").await;
        page.wait_until(
            "document.body.dataset.link === 'up' && document.body.dataset.mode === 'normal'",
            WAIT,
            "the desk, live, on the venue's normal status",
        )
        .await;
        assert!(page.text("#staff").await.contains(STAFF));
        shoot(&page, &shots, "normal").await;

        // Issue: the code and its QR, worded like the native counter.
        page.click("[data-offer='popcorn']").await;
        page.wait_until("document.getElementById('issue-half').classList.contains('showing-code')", WAIT, "the issued code").await;
        let code = page.text("#issued-code").await;
        assert_eq!(code.len(), 19, "XXXX-XXXX-XXXX-XXXX: {code}");
        assert!(page.text("#issued-line").await.contains(POPCORN));
        let qr = page.run("const img = document.getElementById('issued-qr'); return [img.src.slice(0, 26), img.naturalWidth];", serde_json::json!([])).await;
        assert_eq!(qr[0], "data:image/svg+xml;charset", "{qr}");
        shoot(&page, &shots, "issued").await;

        // Redeem by typing the code and Enter, as a wedge scanner types it.
        page.type_into("#code", &format!("{code}\u{E007}")).await;
        answer_is(&page, "VALID").await;
        assert!(page.text("#answer-detail").await.contains(POPCORN));
        assert_eq!(page.run("return document.getElementById('code').value;", serde_json::json!([])).await, "", "cleared for the next guest");
        shoot(&page, &shots, "valid").await;
        page.type_into("#code", &format!("{code}\u{E007}")).await;
        answer_is(&page, "ALREADY REDEEMED").await;
        shoot(&page, &shots, "already-redeemed").await;
        // A redeemed voucher is a manager's to void: the form says so and nothing changes.
        page.click("#void-open").await;
        page.type_into("#void-code", &code).await;
        page.type_into("#void-reason", "printed twice").await;
        page.click("#void-submit").await;
        page.wait_until("!document.getElementById('void-error').hidden", WAIT, "the void is refused").await;
        assert!(page.text("#void-error").await.contains("manager"));
        shoot(&page, &shots, "void-refused").await;
        page.click("#void-cancel").await;
        let (_, record) = till.counter.lookup(code.clone()).await.unwrap();
        let record = record.expect("the voucher on disk");
        assert_eq!(record.redemptions.len(), 1);
        assert!(record.voided.is_none());
        assert_eq!(record.redemptions[0].staff.as_deref(), Some(STAFF));

        // An incident declared through the CLI: the banner switches live, with the words to say.
        declare(&url, "start", &["--offer", "A free small popcorn on your next visit"]);
        page.wait_until("document.body.dataset.mode === 'cash_only'", WAIT, "the banner switches to cash only").await;
        assert!(!page.text("#say-cash").await.is_empty(), "the words to say");
        shoot(&page, &shots, "cash-only").await;
        page.click("#language").await;
        page.wait_until("document.documentElement.lang === 'es' && document.body.dataset.mode === 'cash_only'", WAIT, "Spanish").await;
        page.wait_until("document.getElementById('redeem').textContent === 'Comprobar y canjear'", WAIT, "the Spanish labels").await;
        page.wait_until("window.__counter.status && /Desde/.test(window.__counter.status.since)", WAIT, "the Spanish banner").await;
        shoot(&page, &shots, "cash-only-es").await;

        // The till stops: the page keeps the last status and says the link is lost.
        stop_node(till.node, till.trigger).await;
        page.wait_until("document.body.dataset.link === 'lost'", WAIT, "the page notices the lost link").await;
        assert_eq!(page.run("return document.body.dataset.mode;", serde_json::json!([])).await, "cash_only");
        assert!(page.text("#note").await.contains(':'), "since HH:MM");
        shoot(&page, &shots, "link-lost").await;
        page.quit().await;
    });
}
