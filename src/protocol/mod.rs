//! The wire protocol (v1): topic names and JSON payloads that every node, the CLI and
//! the console exchange through the broker. `docs/PROTOCOL.md` is the prose version of
//! this module; the two must agree. Decoding is strict about versions, sizes and
//! identifiers and lenient about unknown fields, so newer publishers can add fields
//! without breaking older displays.

pub mod decode;
pub mod drills;
pub mod identifiers;
pub mod payloads;
pub mod texts;
pub mod topics;
pub mod translations;
pub mod vouchers;

pub use decode::{
    decode_chain_message, decode_message, decode_thumbnail, decode_voucher_message, BusMessage,
    ChainMessage, RejectReason, Thumbnail, VoucherMessage,
};
pub use drills::{DrillOrder, DrillState, MAX_DRILL, MAX_FULL_SCREEN};
pub use identifiers::{Identifier, IdentifierError};
pub use payloads::{
    Authority, DeclarationState, DisplayReport, DisplayStatus, IncidentDeclaration, IncidentMode,
    NodeRetirement, PaymentHealth, PaymentStatus, Shown, EXPIRY_MARGIN, MAX_EXPIRY, SCHEMA_VERSION,
};
pub use texts::{IncidentTexts, TextField};
pub use topics::{Scope, Topic, TopicKind};
pub use translations::{check_translations, TranslationProblem, Translations};
pub use vouchers::{VoucherBatch, VoucherChange, VoucherEvent, VoucherMarks};

/// Largest payload any node accepts or sends. Declarations carry a few short texts;
/// anything near this size is either a bug or an attack.
pub const MAX_PAYLOAD_BYTES: usize = 16 * 1024;

/// Largest revision accepted: the largest integer a JavaScript console can hold exactly.
/// A bound is needed because revisions are Lamport clocks: a single absurd value would
/// otherwise pin one source's declaration forever.
pub const MAX_REVISION: u64 = (1 << 53) - 1;

/// The bytes of one of this protocol's payloads. Our payload types are plain structs with
/// string keys, so serialising them cannot fail; and an empty payload would *delete* a
/// retained message at the broker, so there is deliberately no fallback.
pub fn encode<T: serde::Serialize>(payload: &T) -> Vec<u8> {
    serde_json::to_vec(payload)
        .expect("protocol payloads serialise: plain structs and enums with string keys")
}

/// Root of every topic of this protocol version.
pub const TOPIC_ROOT: &str = "raincheck/v1";
