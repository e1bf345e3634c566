//! Raincheck vouchers: the code format (`code`), events and records (`events`), the
//! redemption decision (`lifecycle`), the sled store (`store`) and receipts (`printer`).
//! Sync between terminals and the counter screen build on these.

pub mod api;
pub mod code;
pub mod events;
pub mod export;
pub mod lifecycle;
pub mod open;
pub mod printer;
pub mod store;
pub mod sync;

pub use code::{CodeError, VoucherCode, VoucherFields, VoucherSecret};
