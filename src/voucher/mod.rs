//! Raincheck vouchers (issue 4, in progress): the code format is done; the sled store,
//! lifecycle, sync and the counter screen build on it.

pub mod code;

pub use code::{CodeError, VoucherCode, VoucherFields, VoucherSecret};
