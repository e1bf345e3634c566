//! The console's "Override code for a till" form in real headless Chromium, against a real
//! console node (real Mosquitto, its voucher replica): a manager picks the offer, how many
//! and for how long, and the page shows the code grouped like a voucher code with what it
//! allows; a till number out of range is held back by the form. The
//! screenshot goes to the temporary directory.

mod common;

use common::console::*;
use common::webdriver::browser;
use common::*;

#[test]
fn a_manager_gets_an_override_code_from_the_vouchers_tab() {
    let Some(broker) = mosquitto("") else { return };
    let directory = tempfile::tempdir().unwrap();
    runtime().block_on(async {
        let config = write_console_config(directory.path(), "back-office", &broker.url(), "");
        let (node, trigger, address) = start_console(&config, directory.path());
        let Some(tablet) = browser(1024, 900).await else {
            stop_node(node, trigger).await;
            return;
        };
        tablet.goto(&format!("http://{address}/")).await;
        sign_in_in_browser(&tablet).await;
        tablet.click("#tab-vouchers").await;
        tablet
            .wait_until(
                "document.querySelectorAll('#override-offer option').length === 1",
                WAIT,
                "the offers in the override form",
            )
            .await;
        tablet.type_into("#override-terminal", "200").await;
        // The form itself holds a till number out of range back (the server refuses it too:
        // tests/voucher_limits.rs).
        let valid = tablet
            .run(
                "return document.getElementById('override-terminal').checkValidity();",
                serde_json::json!([]),
            )
            .await;
        assert_eq!(valid, false);
        tablet
            .run(
                "document.getElementById('override-terminal').value = '';",
                serde_json::json!([]),
            )
            .await;
        tablet.click("#override-submit").await;
        tablet
            .wait_until(
                "!document.getElementById('override-result').hidden",
                WAIT,
                "the code on the page",
            )
            .await;
        let code = tablet.text("#override-code").await;
        assert_eq!(code.len(), 19, "{code}");
        let what = tablet.text("#override-what").await;
        assert!(
            what.contains("A free small popcorn: 5 more at any till"),
            "{what}"
        );
        tablet
            .run(
                "document.getElementById('override-form').scrollIntoView();",
                serde_json::json!([]),
            )
            .await;
        tablet
            .screenshot(&std::env::temp_dir().join("console-override-code.png"))
            .await;
        tablet.quit().await;
        stop_node(node, trigger).await;
    });
}
