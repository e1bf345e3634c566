//! The voucher worker's answers to its counter: issue, redeem, void, look up (each in
//! `spawn_blocking`, answered only after the store's flush), the attempt limit on
//! unreadable codes, and whole-store reads run beside the loop. Split from `worker.rs`,
//! which keeps the loop, the bus and the anti-entropy; same `VoucherWorker`.

use super::{blocking, VoucherWorker};
use crate::voucher::handle::{CounterError, CounterRequest};
use crate::voucher::lifecycle::{RedeemAnswer, RedeemContext, Redemption};
use crate::voucher::store::{voucher_day, IssueRequest};
use std::time::Duration;
use time::OffsetDateTime;

/// Unreadable codes a terminal accepts per minute before it stops checking for a while:
/// a scanner misread or a typo is a handful, guessing is thousands.
const UNREADABLE_PER_MINUTE: usize = 20;

impl VoucherWorker {
    /// Answers one counter request; true when the store changed.
    pub(super) async fn serve(&mut self, request: CounterRequest, online: bool) -> bool {
        let refusal = if self.behind.is_some() {
            Some(CounterError::StoreBehind)
        } else if self.unproven {
            Some(CounterError::StoreUnproven)
        } else {
            None
        };
        let request = match refusal {
            Some(refusal) => match request.refuse_write(|| refusal) {
                Some(read) => read,
                None => return false,
            },
            None => request,
        };
        let now = OffsetDateTime::now_utc();
        match request {
            CounterRequest::Issue {
                offer,
                incident,
                staff,
                past_cap,
                reply,
            } => {
                let Some(offer) = self.counter.offers.iter().find(|o| o.id == offer).cloned()
                else {
                    let _ = reply.send(Err(CounterError::UnknownOffer(offer)));
                    return false;
                };
                let result = blocking(&self.store, move |store| {
                    store.issue(IssueRequest {
                        offer: &offer,
                        incident,
                        staff,
                        now,
                        past_cap,
                    })
                })
                .await;
                if let Ok(issued) = &result {
                    crate::metrics::add("raincheck_vouchers_total", &[("kind", "issued")], 1.0);
                    if let crate::protocol::vouchers::VoucherChange::Issued {
                        past_cap: Some(past),
                        offer_id,
                        ..
                    } = &issued.event.change
                    {
                        tracing::info!(
                            offer = %offer_id,
                            manager = past.manager.as_deref().unwrap_or(""),
                            override_code = past.code.as_deref().unwrap_or(""),
                            cap = crate::voucher::limits::cap_name(past.cap),
                            "counter: voucher issued past a cap under a manager's override"
                        );
                    }
                    self.publish_events(vec![issued.event.clone()]);
                }
                if let Err(error @ CounterError::Override(_)) = &result {
                    tracing::warn!(%error, "counter: an override code was refused");
                }
                let changed = result.is_ok();
                let _ = reply.send(result);
                changed
            }
            CounterRequest::Redeem { code, staff, reply } => {
                if self.guessing() {
                    let _ = reply.send(Ok(Redemption::unread(RedeemAnswer::TooManyAttempts)));
                    return false;
                }
                let context = RedeemContext {
                    today: voucher_day(now),
                    online,
                    policy: self.counter.offline_redemption,
                    this_terminal: self.counter.terminal,
                };
                let result = blocking(&self.store, move |store| {
                    store.redeem(&code, staff, context, now)
                })
                .await;
                let changed = matches!(&result, Ok((_, Some(_))));
                if let Ok((redemption, _)) = &result {
                    if redemption.answer.is_unreadable() {
                        self.count_unreadable(redemption.answer.headline());
                    }
                }
                let _ = reply.send(result.map(|(redemption, event)| {
                    if let Some(event) = event {
                        crate::metrics::add(
                            "raincheck_vouchers_total",
                            &[("kind", "redeemed")],
                            1.0,
                        );
                        self.publish_events(vec![event]);
                    }
                    redemption
                }));
                changed
            }
            CounterRequest::Void {
                code,
                reason,
                manager,
                reply,
            } => {
                let result = blocking(&self.store, move |store| {
                    store.void(&code, &reason, manager, now)
                })
                .await;
                let changed = result.is_ok();
                let _ = reply.send(result.map(|event| {
                    crate::metrics::add("raincheck_vouchers_total", &[("kind", "voided")], 1.0);
                    self.publish_events(vec![event]);
                }));
                changed
            }
            // A look-up answers whether a code is genuine, so it is limited like a
            // redemption: otherwise it would be an unthrottled oracle for the MAC.
            CounterRequest::Lookup { code, reply } => {
                if self.guessing() {
                    let _ = reply.send(Err(CounterError::TooManyAttempts));
                    return false;
                }
                let result = blocking(&self.store, move |store| store.lookup(&code)).await;
                if let Ok((Err(error), _)) = &result {
                    self.count_unreadable(&error.to_string());
                }
                let _ = reply.send(result);
                false
            }
            CounterRequest::Scan { job } => {
                self.scan(job);
                false
            }
        }
    }

    /// Runs a whole-store read beside the loop: sled reads alongside the worker's writes,
    /// and the job answers its caller itself.
    fn scan(&self, job: crate::voucher::handle::ScanJob) {
        let store = self.store.clone();
        let scans = self.scans.clone();
        tokio::spawn(async move {
            // Dropping the job unanswered tells its caller the worker stopped.
            let Ok(_turn) = scans.acquire_owned().await else {
                return;
            };
            let _ = tokio::task::spawn_blocking(move || job(&store)).await;
        });
    }

    /// Whether this terminal has seen too many unreadable codes in the last minute.
    fn guessing(&mut self) -> bool {
        let minute_ago = std::time::Instant::now() - Duration::from_secs(60);
        while self.unreadable.front().is_some_and(|at| *at < minute_ago) {
            self.unreadable.pop_front();
        }
        self.unreadable.len() >= UNREADABLE_PER_MINUTE
    }

    fn count_unreadable(&mut self, answer: &str) {
        self.unreadable.push_back(std::time::Instant::now());
        // The typed text is not logged: it may be a real voucher mistyped.
        tracing::warn!(
            answer,
            recent = self.unreadable.len(),
            "an unreadable voucher code was presented at this terminal"
        );
    }
}
