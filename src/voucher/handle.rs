//! The way to a terminal's voucher worker: typed requests over a bounded channel, each
//! answered on its own oneshot, and one typed error for every refusal. The counter
//! screen, the counter API and the console all go through [`CounterHandle`], so a rule
//! answers the same wherever staff or managers meet it; `api::status_of` maps the error
//! to HTTP in one place.

use super::code::{CodeError, VoucherCode};
use super::events::VoucherRecord;
use super::lifecycle::{Redemption, VoidRefusal};
use super::managers::ManagerGate;
use super::override_audit::{OverrideAttempt, TillAudit};
use super::override_code::OverrideRefusal;
use super::store::{IssuedVoucher, OverrideAsk, StoreError};
use crate::protocol::Identifier;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Requests the voucher worker holds before the sender waits.
const REQUEST_CAPACITY: usize = 64;

/// Why a voucher request was not carried out. Nothing changed in the store.
#[derive(Debug, thiserror::Error)]
pub enum CounterError {
    #[error("no offer {0} in this terminal's config")]
    UnknownOffer(Identifier),
    #[error(
        "this till's voucher store is behind what the other tills hold (restored from an old backup?), \
         so it will not issue or redeem: a code could be handed out twice. Switch the other tills on and \
         keep this one connected; it catches up by itself within a minute. Meanwhile use another till"
    )]
    StoreBehind,
    #[error(
        "this till's voucher store was restored or moved, so it will not issue or redeem until it has \
         checked with the venue network that no code would be handed out twice. Connect it to the venue \
         network; it checks within seconds. Meanwhile use another till"
    )]
    StoreUnproven,
    #[error("the voucher worker has stopped")]
    Stopped,
    #[error("too many unreadable codes in the last minute at this terminal; wait a moment and try again")]
    TooManyAttempts,
    #[error("{0}")]
    Void(#[from] VoidRefusal),
    #[error("{0}")]
    Code(#[from] CodeError),
    /// A manager's override was offered and refused (wrong PIN, bad or used-up code).
    #[error("{0}")]
    Override(#[from] OverrideRefusal),
    #[error(transparent)]
    Store(StoreError),
}

impl CounterError {
    /// The cap reached, when this refusal is one a manager's override can lift.
    pub fn cap_reached(&self) -> Option<&crate::voucher::limits::CapReached> {
        match self {
            CounterError::Store(StoreError::CapReached { reached, .. }) => Some(reached),
            _ => None,
        }
    }
}

/// A manager's override offered with an issue, as staff typed it.
#[derive(Clone, Debug)]
pub enum OverrideOffer {
    /// A manager's name and PIN typed at the till; `from` is where (for the throttle).
    Pin {
        manager: String,
        pin: String,
        from: String,
    },
    /// A one-time code minted on the console; `from` is where it was typed (for the log).
    Code { code: String, from: String },
}

impl From<StoreError> for CounterError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Code(error) => CounterError::Code(error),
            StoreError::Void(refusal) => CounterError::Void(refusal),
            StoreError::Override(refusal) => CounterError::Override(refusal),
            other => CounterError::Store(other),
        }
    }
}

/// What the counter (screen, API, console) asks of its voucher worker.
pub enum CounterRequest {
    Issue {
        offer: Identifier,
        incident: Option<Identifier>,
        staff: Option<String>,
        /// Past a cap: a manager already verified, or a code the store checks.
        past_cap: Option<OverrideAsk>,
        reply: oneshot::Sender<Result<IssuedVoucher, CounterError>>,
    },
    Redeem {
        code: String,
        staff: Option<String>,
        reply: oneshot::Sender<Result<Redemption, CounterError>>,
    },
    Void {
        code: String,
        reason: String,
        manager: Option<String>,
        reply: oneshot::Sender<Result<(), CounterError>>,
    },
    Lookup {
        code: String,
        reply: oneshot::Sender<Result<LookupResult, CounterError>>,
    },
    /// A read over the whole store (figures, reports, exports), run on a blocking thread
    /// beside the worker — never in its loop, so a long scan does not hold up a guest's
    /// issue or redemption. The job answers on its own channel.
    Scan { job: ScanJob },
}

/// A whole-store read: given the store, it reads what it needs and sends its answer.
pub type ScanJob = Box<dyn FnOnce(&super::store::VoucherStore) + Send>;

impl CounterRequest {
    /// Whether the request only reads (served even while the store is behind).
    pub fn reads_only(&self) -> bool {
        matches!(
            self,
            CounterRequest::Lookup { .. } | CounterRequest::Scan { .. }
        )
    }

    /// Refuses a request that would write, with `error`; a read is given back.
    pub fn refuse_write(self, error: impl FnOnce() -> CounterError) -> Option<Self> {
        match self {
            CounterRequest::Issue { reply, .. } => drop(reply.send(Err(error()))),
            CounterRequest::Redeem { reply, .. } => drop(reply.send(Err(error()))),
            CounterRequest::Void { reply, .. } => drop(reply.send(Err(error()))),
            read => return Some(read),
        }
        None
    }
}

/// The parsed code, and what this terminal knows of it.
pub type LookupResult = (Result<VoucherCode, CodeError>, Option<VoucherRecord>);

/// The counter's way to its voucher worker.
#[derive(Clone)]
pub struct CounterHandle {
    requests: mpsc::Sender<CounterRequest>,
    /// The till's managers: a PIN is checked here, in the caller's task, so argon2 never
    /// holds up the worker's loop.
    managers: Arc<ManagerGate>,
    /// Where every override offered here is written, taken or refused.
    audit: Option<TillAudit>,
}

/// A handle and the receiving end the worker serves, for a till with `managers` whose
/// overrides are written to `audit`.
pub fn counter_channel(
    managers: Vec<crate::config::ManagerAccount>,
    audit: Option<TillAudit>,
) -> (CounterHandle, mpsc::Receiver<CounterRequest>) {
    let (requests, receiver) = mpsc::channel(REQUEST_CAPACITY);
    let managers = Arc::new(ManagerGate::new(managers));
    let handle = CounterHandle {
        requests,
        managers,
        audit,
    };
    (handle, receiver)
}

impl CounterHandle {
    async fn ask<T>(
        &self,
        build: impl FnOnce(oneshot::Sender<Result<T, CounterError>>) -> CounterRequest,
    ) -> Result<T, CounterError> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(build(reply))
            .await
            .map_err(|_| CounterError::Stopped)?;
        answer.await.map_err(|_| CounterError::Stopped)?
    }

    /// Issues a voucher; answered once it is durable.
    pub async fn issue(
        &self,
        offer: Identifier,
        incident: Option<Identifier>,
        staff: Option<String>,
    ) -> Result<IssuedVoucher, CounterError> {
        self.issue_with(offer, incident, staff, None).await
    }

    /// Issues a voucher, past a reached cap if `past_cap` is a manager's valid override
    /// (a PIN is checked before anything is asked of the store: a wrong one issues
    /// nothing, even within the caps); answered once it is durable, and once an
    /// override's outcome, taken or refused, is in the audit log.
    pub async fn issue_with(
        &self,
        offer: Identifier,
        incident: Option<Identifier>,
        staff: Option<String>,
        past_cap: Option<OverrideOffer>,
    ) -> Result<IssuedVoucher, CounterError> {
        let Some(offered) = past_cap else {
            return self.issue_as(offer, incident, staff, None).await;
        };
        let attempt = OverrideAttempt::of(&offered);
        let result = match offered {
            OverrideOffer::Code { code, .. } => Ok(OverrideAsk::Code(code)),
            OverrideOffer::Pin { manager, pin, from } => self
                .managers
                .check(&manager, pin, &from)
                .await
                .map(OverrideAsk::Manager)
                .map_err(CounterError::from),
        };
        let result = match result {
            Ok(ask) => {
                self.issue_as(offer.clone(), incident, staff, Some(ask))
                    .await
            }
            Err(refused) => Err(refused),
        };
        if let Some(audit) = &self.audit {
            audit.attempt(&attempt, &offer, &result).await;
        }
        result
    }

    async fn issue_as(
        &self,
        offer: Identifier,
        incident: Option<Identifier>,
        staff: Option<String>,
        past_cap: Option<OverrideAsk>,
    ) -> Result<IssuedVoucher, CounterError> {
        self.ask(|reply| CounterRequest::Issue {
            offer,
            incident,
            staff,
            past_cap,
            reply,
        })
        .await
    }

    /// Checks a typed or scanned code and redeems it if valid; durable before the answer.
    pub async fn redeem(
        &self,
        code: String,
        staff: Option<String>,
    ) -> Result<Redemption, CounterError> {
        self.ask(|reply| CounterRequest::Redeem { code, staff, reply })
            .await
    }

    /// Voids a voucher (a manager's decision); durable before the answer.
    pub async fn void(
        &self,
        code: String,
        reason: String,
        manager: Option<String>,
    ) -> Result<(), CounterError> {
        self.ask(|reply| CounterRequest::Void {
            code,
            reason,
            manager,
            reply,
        })
        .await
    }

    pub async fn lookup(&self, code: String) -> Result<LookupResult, CounterError> {
        self.ask(|reply| CounterRequest::Lookup { code, reply })
            .await
    }

    /// Runs `read` over the store on a blocking thread and answers what it returns; for
    /// a whole-store read, stream with `VoucherStore::each_record` rather than collect.
    pub async fn scan<T: Send + 'static>(
        &self,
        read: impl FnOnce(&super::store::VoucherStore) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, CounterError> {
        self.ask(|reply| CounterRequest::Scan {
            job: Box::new(move |store| {
                let _ = reply.send(read(store).map_err(CounterError::from));
            }),
        })
        .await
    }

    /// Every record, in code order (all in memory: for tests and small stores).
    pub async fn records(&self) -> Result<Vec<VoucherRecord>, CounterError> {
        self.scan(|store| store.records()).await
    }
}
