//! Raincheck vouchers: the code format (`code`), events and the records they merge into
//! (`events`), every voucher rule (`lifecycle`), the sled store (`store`), and the
//! terminal's voucher worker (`worker`, reached through `handle`) with its pure
//! anti-entropy (`anti_entropy`); `provenance` notices a store restored or moved. An
//! offer's caps (`limits`) and the two ways a manager lets an issue past one — a PIN at
//! the till (`managers`) or a one-time code from the console (`override_code`), each
//! written to the node's audit log (`override_audit`). The counter's local API (`api`),
//! CSV export, the console's figures (`figures`, kept as running sums by the store), the
//! secret file and receipts (`printer`) sit beside them.

pub mod anti_entropy;
pub mod api;
mod check;
pub mod code;
pub mod events;
pub mod export;
pub mod figures;
pub mod handle;
pub mod lifecycle;
pub mod limits;
pub mod managers;
pub mod open;
pub mod override_audit;
pub mod override_code;
pub mod printer;
mod provenance;
pub mod report;
pub mod report_overrides;
pub mod store;
pub mod worker;

pub use code::{CodeError, VoucherCode, VoucherFields, VoucherSecret};
pub use handle::{CounterError, CounterHandle, CounterRequest};
pub use worker::VoucherWorker;
