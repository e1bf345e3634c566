//! Chaos, with real processes: the venue's Mosquitto is killed and restarted (same port,
//! on-disk persistence) in the middle of an incident while the counters keep issuing and
//! redeeming offline; then screens and counters are SIGKILLed and restarted at random
//! (seeded; `RAINCHECK_CHAOS_SEED` replays a schedule) while declarations change and
//! vouchers are issued and redeemed. After each, every screen and counter confirms the
//! same, correct view, and every counter's store holds every voucher an API call
//! answered, exactly once, with exactly the redemptions that were answered VALID.
//! The other chaos scenarios are in chaos_partition.rs, chaos_clock.rs and chaos_flood.rs.

mod common;

use common::chaos::*;
use common::*;
use raincheck::model::ViewMode;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restarted_mid_incident_keeps_every_screen_on_it_and_loses_no_voucher() {
    let persistence = tempfile::tempdir().unwrap();
    let Some(mut broker) = persistent_mosquitto(persistence.path()) else {
        return;
    };
    let directory = tempfile::tempdir().unwrap();
    let url = broker.url();
    let screen_names = ["lobby-1", "lobby-2", "box-office"];
    let screens = start_screens(directory.path(), &screen_names, &url);
    let mut counters = vec![
        Counter::start(directory.path(), "till-1", 1, &url),
        Counter::start(directory.path(), "till-2", 2, &url),
    ];
    let everyone = ["lobby-1", "lobby-2", "box-office", "till-1", "till-2"];
    let http = http_client();
    let mut first = observer_once_online(&url, &everyone, WAIT).await;
    for counter in &counters {
        counter.api.wait_serving(WAIT).await;
    }

    let mut ledger = Ledger::default();
    let a1 = ledger.issue(&counters[0]).await;
    ledger.issue(&counters[0]).await;
    let b1 = ledger.issue(&counters[1]).await;
    ledger.redeem(&counters[1], &a1).await;

    let before_declaring = std::time::SystemTime::now();
    let (_, incident) = declare_and_confirm(
        &mut first,
        &url,
        "start",
        &["--headline", "Card payments are down: cash only"],
        &everyone,
        "every screen and counter shows the incident",
    )
    .await;
    let shown = first.view();
    assert_eq!(shown.mode, ViewMode::CashOnly);
    // The venue broker saves after every change; the kill must not beat that save.
    let saved = persistence.path().to_owned();
    tokio::task::spawn_blocking(move || wait_for_autosave(&saved, before_declaring))
        .await
        .unwrap();
    first.close().await;

    broker.kill();
    let down_at = Instant::now();
    for (screen, name) in screens.iter().zip(screen_names) {
        let link = format!("raincheck_mqtt_connected{{connection=\"{name}\"}}");
        wait_metrics(
            &http,
            &screen.metrics,
            WAIT,
            &format!("{name} to notice the broker is gone"),
            |text| metric(text, &link) == Some(0.0),
        )
        .await;
    }

    // Offline first: both counters keep issuing and redeeming with no broker, each
    // answer at once; till-2 accepts a voucher till-1 printed during the outage, which
    // it can only know by its code (the venue secret), not by any record.
    let c1 = ledger.issue(&counters[0]).await;
    ledger.issue(&counters[0]).await;
    ledger.issue(&counters[1]).await;
    ledger.redeem(&counters[0], &b1).await;
    ledger.redeem(&counters[1], &c1).await;

    // Never blank: for the whole outage every screen keeps the incident on (the "link
    // lost" note is drawn from the same presentation; see tests/link_loss.rs).
    const OUTAGE: Duration = Duration::from_secs(5);
    while down_at.elapsed() < OUTAGE {
        for (screen, name) in screens.iter().zip(screen_names) {
            let text = metrics_text(&http, &screen.metrics)
                .await
                .unwrap_or_else(|| panic!("{name} stopped answering during the outage"));
            let link = format!("raincheck_mqtt_connected{{connection=\"{name}\"}}");
            assert_eq!(
                metric(&text, &link),
                Some(0.0),
                "{name}: the broker is down"
            );
            assert_eq!(
                (
                    metric(&text, "raincheck_view_mode{mode=\"cash_only\"}"),
                    metric(&text, "raincheck_view_revision"),
                ),
                (Some(1.0), Some(incident as f64)),
                "{name} must keep showing the incident while the broker is down:\n{text}"
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    broker
        .restart()
        .expect("the broker comes back on the same port");
    let mut second = observer(&url).await;
    assert_eq!(
        second.view(),
        shown,
        "the declaration survived the broker's restart; log:\n{}",
        broker.log()
    );
    for (screen, name) in screens.iter().zip(screen_names) {
        let link = format!("raincheck_mqtt_connected{{connection=\"{name}\"}}");
        let text = wait_metrics(
            &http,
            &screen.metrics,
            WAIT,
            &format!("{name} to reconnect"),
            |text| metric(text, &link) == Some(1.0),
        )
        .await;
        assert_eq!(
            metric(&text, "raincheck_view_revision"),
            Some(incident as f64),
            "{name} reconverged on the incident:\n{text}"
        );
    }
    wait_for(
        &mut second,
        WAIT,
        "every node confirms the incident after the restart",
        all_confirmed(&everyone),
    )
    .await;
    // A resolve published after the restart reaches everyone: nobody is stuck.
    let (_, resolved) = declare_and_confirm(
        &mut second,
        &url,
        "resolve",
        &[],
        &everyone,
        "every screen and counter shows all clear",
    )
    .await;
    let view = second.view();
    assert_eq!((view.mode, view.revision), (ViewMode::AllClear, resolved));
    second.close().await;

    // Online again: one more each way, then every store must agree.
    let d1 = ledger.issue(&counters[1]).await;
    ledger.redeem(&counters[0], &d1).await;
    wait_for_voucher_sync(broker.port, &["till-1", "till-2"], &ledger, WAIT).await;
    let stores = stop_and_read(&mut counters);
    verify_vouchers(&ledger, &stores, Answers::AllAnswered);
}

type Shared<T> = Arc<Mutex<T>>;

/// Calls fired at a counter just before it is killed: six issues and a redemption of each
/// code in `redeem`. Each task returns the codes still free to redeem later: a fresh
/// answered code, or a redemption that was never made because nothing was listening.
fn burst(
    name: &str,
    api: &CounterApi,
    ledger: &Shared<Ledger>,
    failures: &Shared<Vec<String>>,
    redeem: Vec<String>,
) -> Vec<tokio::task::JoinHandle<Option<String>>> {
    let issues = (0..6).map(|_| None);
    issues
        .chain(redeem.into_iter().map(Some))
        .map(|code| {
            let (name, api) = (name.to_owned(), api.clone());
            let (ledger, failures) = (ledger.clone(), failures.clone());
            tokio::spawn(async move {
                match code {
                    None => match api.issue().await {
                        Ok(code) => {
                            ledger.lock().unwrap().record_issue(&name, code.clone());
                            Some(code)
                        }
                        Err(CallError::NoAnswer(_)) => {
                            ledger.lock().unwrap().unanswered_issues += 1;
                            None
                        }
                        Err(CallError::NotListening(_)) => None,
                        Err(CallError::Refused(status, body)) => {
                            let refusal = format!("{name} refused to issue: {status} {body}");
                            failures.lock().unwrap().push(refusal);
                            None
                        }
                    },
                    Some(code) => match api.redeem(&code).await {
                        Ok(answer) if answer == "VALID" => {
                            ledger.lock().unwrap().record_redemption(&name, &code);
                            None
                        }
                        Ok(answer) => {
                            let wrong = format!(
                                "{name} answered {answer} to the first redemption of {code}"
                            );
                            failures.lock().unwrap().push(wrong);
                            None
                        }
                        Err(CallError::NoAnswer(_)) => {
                            ledger.lock().unwrap().maybe_redeemed.insert(code);
                            None
                        }
                        Err(CallError::NotListening(_)) => Some(code),
                        Err(CallError::Refused(status, body)) => {
                            let refusal =
                                format!("{name} refused to redeem {code}: {status} {body}");
                            failures.lock().unwrap().push(refusal);
                            None
                        }
                    },
                }
            })
        })
        .collect()
}

/// What the venue should show after the declarations made so far.
#[derive(Clone, Debug)]
struct Expected {
    revision: u64,
    mode: ViewMode,
    headline: Option<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screens_and_counters_killed_at_random_converge_and_keep_every_voucher() {
    let seed = chaos_seed("screens_and_counters_killed_at_random_converge_and_keep_every_voucher");
    let Some(broker) = mosquitto("") else { return };
    let mut rng = StdRng::seed_from_u64(seed.seed);
    let directory = tempfile::tempdir().unwrap();
    let url = broker.url();
    let screen_names = ["lobby-1", "lobby-2", "box-office"];
    let counter_names = ["till-1", "till-2", "till-3"];
    let mut screens = start_nodes(directory.path(), &screen_names, &url);
    let mut counters: Vec<Counter> = counter_names
        .iter()
        .zip(1..)
        .map(|(name, terminal)| Counter::start(directory.path(), name, terminal, &url))
        .collect();
    let everyone: Vec<&str> = screen_names.iter().chain(&counter_names).copied().collect();
    let mut observer = observer_once_online(&url, &everyone, WAIT).await;
    for counter in &counters {
        counter.api.wait_serving(WAIT).await;
    }
    let (_, revision) = declare(&url, "start", &["--headline", "round 0"]);
    let mut expected = Expected {
        revision,
        mode: ViewMode::CashOnly,
        headline: Some("round 0".into()),
    };

    // The load: each counter's till software issues a voucher every ~50 ms and has every
    // other one redeemed at a counter picked at random, whatever is being killed.
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let (stop_load, load_stopped) = tokio::sync::watch::channel(false);
    let apis: Vec<(String, CounterApi)> = counters
        .iter()
        .map(|c| (c.name.clone(), c.api.clone()))
        .collect();
    let mut load = Vec::new();
    for (index, (name, api)) in apis.iter().cloned().enumerate() {
        let (ledger, failures, apis) = (ledger.clone(), failures.clone(), apis.clone());
        let mut stopped = load_stopped.clone();
        let mut rng = StdRng::seed_from_u64(seed.seed.wrapping_add(1 + index as u64));
        load.push(tokio::spawn(async move {
            let mut issued = 0u32;
            while !*stopped.borrow_and_update() {
                match api.issue().await {
                    Ok(code) => {
                        ledger.lock().unwrap().record_issue(&name, code.clone());
                        issued += 1;
                        if issued.is_multiple_of(2) {
                            let (at, other) = &apis[rng.gen_range(0..apis.len())];
                            match other.redeem(&code).await {
                                Ok(answer) if answer == "VALID" => {
                                    ledger.lock().unwrap().record_redemption(at, &code)
                                }
                                Ok(answer) => failures.lock().unwrap().push(format!(
                                    "{at} answered {answer} to the first redemption of {code}"
                                )),
                                Err(CallError::NoAnswer(_)) => {
                                    ledger.lock().unwrap().maybe_redeemed.insert(code);
                                }
                                // Never made: this code stays unredeemed.
                                Err(CallError::NotListening(_)) => {}
                                Err(CallError::Refused(status, body)) => {
                                    failures.lock().unwrap().push(format!(
                                        "{at} refused to redeem {code}: {status} {body}"
                                    ))
                                }
                            }
                        }
                    }
                    Err(CallError::NoAnswer(_)) => {
                        ledger.lock().unwrap().unanswered_issues += 1;
                    }
                    Err(CallError::NotListening(_)) => {}
                    Err(CallError::Refused(status, body)) => failures
                        .lock()
                        .unwrap()
                        .push(format!("{name} refused to issue: {status} {body}")),
                }
                // Pacing, not synchronisation: a busy evening, not a benchmark.
                let _ = tokio::time::timeout(Duration::from_millis(50), stopped.changed()).await;
            }
        }));
    }

    // The chaos: each round SIGKILLs one or two nodes, sometimes changes the declaration
    // while they are down (they must catch up from retained messages alone), and
    // restarts them. Every choice and pause comes from the seed.
    const ROUNDS: usize = 12;
    let mut counter_kills = 0;
    // Vouchers answered in earlier bursts and not yet redeemed (the load never sees them).
    let mut pool: Vec<String> = Vec::new();
    for round in 1..=ROUNDS {
        tokio::time::sleep(Duration::from_millis(rng.gen_range(300..1500))).await;
        let total = screens.len() + counters.len();
        let first = rng.gen_range(0..total);
        let mut victims = vec![first];
        if rng.gen_bool(0.3) {
            let second = rng.gen_range(0..total);
            if second != first {
                victims.push(second);
            }
        }
        let names: Vec<&str> = victims.iter().map(|&v| everyone[v]).collect();
        let mut in_flight = Vec::new();
        for &victim in &victims {
            if victim < screens.len() {
                screens[victim].kill_hard();
            } else {
                // kill -9 while calls are being served: between a store's transaction, its
                // flush and the answer is exactly where a voucher could be lost or doubled.
                let counter = &counters[victim - screens.len()];
                let take = pool.len().min(2);
                let redeem: Vec<String> = pool.drain(..take).collect();
                in_flight.push(burst(
                    &counter.name,
                    &counter.api,
                    &ledger,
                    &failures,
                    redeem,
                ));
                tokio::time::sleep(Duration::from_micros(rng.gen_range(0..5000))).await;
                counters[victim - screens.len()].kill_hard();
                counter_kills += 1;
            }
        }
        for calls in in_flight {
            for call in calls {
                let left = tokio::time::timeout(WAIT, call)
                    .await
                    .expect("a call to a killed counter ends")
                    .expect("a burst task panicked");
                pool.extend(left);
            }
        }
        let mut action = String::new();
        if rng.gen_bool(0.5) {
            let headline = format!("round {round}");
            let (verb, extra): (&str, Vec<&str>) = match expected.mode {
                ViewMode::CashOnly if rng.gen_bool(0.3) => ("resolve", vec![]),
                ViewMode::CashOnly => ("update", vec!["--headline", &headline]),
                _ => ("start", vec!["--headline", &headline]),
            };
            let (_, revision) = declare_async(&url, verb, &extra).await;
            expected = Expected {
                revision,
                mode: if verb == "resolve" {
                    ViewMode::AllClear
                } else {
                    ViewMode::CashOnly
                },
                headline: (verb != "resolve").then(|| headline.clone()),
            };
            action = format!(", then {verb} at revision {revision}");
        }
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..1000))).await;
        for &victim in &victims {
            if victim < screens.len() {
                screens[victim].restart();
            } else {
                counters[victim - screens.len()].restart();
            }
        }
        eprintln!("round {round}: SIGKILL {names:?}{action}, restarted");
    }
    stop_load.send_replace(true);
    for task in load {
        tokio::time::timeout(WAIT, task)
            .await
            .expect("the load stops in time")
            .expect("a load task panicked");
    }
    let failures = failures.lock().unwrap().clone();
    assert!(
        failures.is_empty(),
        "counter answers that must not happen: {failures:#?}"
    );

    wait_for(
        &mut observer,
        Duration::from_secs(30),
        "every screen and counter confirms the last declaration after the chaos",
        confirmed_after(&everyone, expected.revision),
    )
    .await;
    let view = observer.view();
    assert_eq!(
        (view.revision, view.mode, view.texts.headline.clone()),
        (expected.revision, expected.mode, expected.headline.clone()),
        "the venue shows the last declaration"
    );
    observer.close().await;

    let ledger = Arc::try_unwrap(ledger).unwrap().into_inner().unwrap();
    eprintln!(
        "{} vouchers answered, {} redemptions answered, {} issue and {} redemption calls killed mid-call, {counter_kills} counter kills",
        ledger.issued.len(),
        ledger.redeemed.len(),
        ledger.unanswered_issues,
        ledger.maybe_redeemed.len()
    );
    assert!(
        ledger.issued.len() >= 30,
        "too little load to mean anything: {} vouchers",
        ledger.issued.len()
    );
    wait_for_voucher_sync(
        broker.port,
        &counter_names,
        &ledger,
        Duration::from_secs(30),
    )
    .await;
    let stores = stop_and_read(&mut counters);
    verify_vouchers(&ledger, &stores, Answers::SomeUnanswered);
    let quiet = stores[0]
        .records
        .iter()
        .filter(|r| !ledger.issued.contains_key(&r.code))
        .count();
    let redeemed_quietly = ledger
        .maybe_redeemed
        .iter()
        .filter(|code| {
            stores[0]
                .records
                .iter()
                .any(|r| &r.code == *code && !r.redemptions.is_empty())
        })
        .count();
    eprintln!(
        "durable but never answered (killed between the flush and the answer): {quiet} vouchers, {redeemed_quietly} redemptions"
    );
    drop(seed);
}
