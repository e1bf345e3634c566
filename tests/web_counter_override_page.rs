//! The web counter's override sheet in real headless Chromium, served by a real till
//! (in-process, real Mosquitto, a real incident): the second popcorn of the incident at a
//! till capped at one opens the manager's override sheet with the cap in words; a wrong PIN
//! is told on the sheet and issues nothing; the manager's PIN issues past the cap and the
//! record says who. Screenshots go to the temporary directory.

mod common;
#[path = "web_counter/support.rs"]
mod support;

use common::console::{stop_node, WAIT};
use common::counters::{start_counter, wait_till_serving};
use common::webdriver::browser;
use common::*;
use support::*;

#[test]
fn a_reached_cap_opens_the_override_sheet_and_a_managers_pin_issues_past_it() {
    let Some(broker) = mosquitto("") else { return };
    let url = broker.url();
    let directory = tempfile::tempdir().unwrap();
    let path = write_web_counter_config(directory.path(), &url, "");
    let pin_hash = raincheck::access::hash_pin("4821").unwrap();
    let text = std::fs::read_to_string(&path).unwrap().replacen(
        "validity_days = 90\n",
        &format!(
            "validity_days = 90\ntill_cap = 1\n\
             [[counter.managers]]\nname = \"Dana\"\npin_hash = \"{pin_hash}\"\n"
        ),
        1,
    );
    std::fs::write(&path, text).unwrap();
    runtime().block_on(async {
        let (node, trigger, counter) = start_counter(&path, directory.path());
        let address = node.lan.expect("the web counter listens");
        wait_till_serving(&reqwest::Client::new(), &format!("http://{address}")).await;
        let Some(page) = browser(1024, 768).await else {
            stop_node(node, trigger).await;
            return;
        };
        page.goto(&format!("http://{address}/counter")).await;
        page.wait_until(
            "document.body.classList.contains('signed-out') && window.__counter && window.__counter.setup",
            WAIT,
            "the sign-in form",
        )
        .await;
        page.type_into("#signin-number", STAFF).await;
        page.type_into("#signin-pin", PIN).await;
        page.click("#signin-submit").await;
        declare(&url, "start", &[]);
        page.wait_until("document.body.dataset.mode === 'cash_only'", WAIT, "cash only")
            .await;

        page.click("[data-offer='popcorn']").await;
        page.wait_until(
            "document.getElementById('issue-half').classList.contains('showing-code')",
            WAIT,
            "the first code",
        )
        .await;
        let first = page.text("#issued-code").await;
        page.click("#done").await;
        page.click("[data-offer='popcorn']").await;
        page.wait_until(
            "!document.getElementById('override-sheet').hidden",
            WAIT,
            "the override sheet",
        )
        .await;
        let cap = page.text("#override-cap").await;
        assert!(
            cap.contains("A free small popcorn: this till has issued 1 of 1 for this incident"),
            "{cap}"
        );
        assert_eq!(page.text("#override-title").await, "Manager override");
        page.screenshot(&std::env::temp_dir().join("web-counter-override-pos.png"))
            .await;

        page.type_into("#override-manager", "Dana").await;
        page.type_into("#override-pin", "1111").await;
        page.click("#override-submit").await;
        page.wait_until(
            "!document.getElementById('override-error').hidden",
            WAIT,
            "the wrong PIN is refused",
        )
        .await;
        assert!(
            // Said once, as the native till says it (not "Not issued: … nothing was issued").
            page.text("#override-error").await.trim() == "Wrong manager name or PIN: nothing was issued",
            "{}",
            page.text("#override-error").await
        );
        page.screenshot(&std::env::temp_dir().join("web-counter-override-wrong-pin-pos.png"))
            .await;
        assert_eq!(counter.records().await.unwrap().len(), 1, "nothing issued");

        page.type_into("#override-pin", "4821").await;
        page.click("#override-submit").await;
        page.wait_until(
            &format!(
                "document.getElementById('override-sheet').hidden && document.getElementById('issued-code').textContent !== '{first}'"
            ),
            WAIT,
            "the code issued past the cap",
        )
        .await;
        let past: Vec<_> = counter
            .records()
            .await
            .unwrap()
            .into_iter()
            .filter_map(|record| record.past_cap)
            .collect();
        assert_eq!(past.len(), 1, "{past:?}");
        assert_eq!(past[0].manager.as_deref(), Some("Dana"));
        page.quit().await;
        stop_node(node, trigger).await;
    });
}
