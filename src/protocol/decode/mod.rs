//! Turning a raw MQTT publish (topic + bytes) into a typed message, or into a specific
//! reason for ignoring it. This is the single gate for invariant 7: every inbound
//! message of every session passes one of these functions before anything acts on it —
//! status messages here, voucher sync (`vouchers`), thumbnails (`thumbnails`) and what
//! head office hears (`chain`) beside it — and every refusal says why in words an
//! operator can act on.

mod chain;
#[cfg(test)]
mod shape_tests;
mod thumbnails;
mod typed;
mod vouchers;

pub use chain::{decode_chain_message, ChainMessage};
pub use thumbnails::{decode_thumbnail, Thumbnail, MAX_THUMBNAIL_BYTES};
pub use vouchers::{decode_voucher_message, VoucherMessage};

use super::drills::DrillOrder;
use super::identifiers::Identifier;
use super::payloads::{
    DeclarationState, DisplayReport, IncidentDeclaration, NodeRetirement, PaymentHealth,
    SCHEMA_VERSION,
};
use super::topics::{Scope, Topic, TopicKind};
use super::{MAX_PAYLOAD_BYTES, MAX_REVISION};

/// A message that passed every check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BusMessage {
    Declaration {
        scope: Scope,
        declaration: IncidentDeclaration,
    },
    Payment(PaymentHealth),
    Display(DisplayReport),
    /// An empty retained payload on a display topic: the node was decommissioned.
    DisplayRemoved(Identifier),
    /// The node was retired (`raincheck node forget`): its offline report counts nowhere.
    Retired(NodeRetirement),
    /// An empty retained payload on a retired topic: the retirement was withdrawn.
    RetirementWithdrawn(Identifier),
    /// A staff drill's start or end.
    Drill(DrillOrder),
}

/// Why a message was ignored. Displayed in logs next to the topic.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RejectReason {
    #[error("payload is {bytes} bytes; the limit is {limit}")]
    Oversized { bytes: usize, limit: usize },
    #[error("topic is not a raincheck v1 status topic")]
    UnknownTopic,
    #[error("topic belongs to venue {0:?}, not this one")]
    ForeignVenue(String),
    #[error("empty payload; declarations and payment reports are never withdrawn, publish a resolve or an ok instead")]
    EmptyPayload,
    #[error("payload is not valid JSON for this topic: {0}")]
    Malformed(String),
    #[error("schema version {0} is not supported (this build reads v{SCHEMA_VERSION}); upgrade this node")]
    UnknownVersion(u32),
    #[error("payload says it comes from {payload:?} but was published on the topic of {topic:?}")]
    OwnerMismatch { topic: String, payload: String },
    #[error("revision {0} is out of range (1 to {MAX_REVISION})")]
    RevisionOutOfRange(u64),
    #[error("text field {field} is {chars} characters; the limit is {limit}")]
    TextTooLong {
        field: &'static str,
        chars: usize,
        limit: usize,
    },
    #[error("translations: {0}")]
    Translations(super::TranslationProblem),
    #[error("vouchers and thumbnails are not status messages")]
    NotStatus,
}

impl RejectReason {
    /// A short, stable name of the reason, for metrics labels and rate-limited logs.
    pub fn kind(&self) -> &'static str {
        match self {
            RejectReason::Oversized { .. } => "oversized",
            RejectReason::UnknownTopic => "unknown-topic",
            RejectReason::ForeignVenue(_) => "foreign-venue",
            RejectReason::EmptyPayload => "empty",
            RejectReason::Malformed(_) => "malformed",
            RejectReason::UnknownVersion(_) => "version",
            RejectReason::OwnerMismatch { .. } => "owner",
            RejectReason::RevisionOutOfRange(_) => "revision",
            RejectReason::TextTooLong { .. } => "text",
            RejectReason::Translations(_) => "translations",
            RejectReason::NotStatus => "not-status",
        }
    }
}

/// Checks and decodes one publish addressed to `venue`'s status topics.
pub fn decode_message(
    topic_name: &str,
    payload: &[u8],
    venue: &Identifier,
) -> Result<BusMessage, RejectReason> {
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(RejectReason::Oversized {
            bytes: payload.len(),
            limit: MAX_PAYLOAD_BYTES,
        });
    }
    let topic = Topic::parse(topic_name).ok_or(RejectReason::UnknownTopic)?;
    if let Some(topic_venue) = &topic.venue {
        if topic_venue != venue {
            return Err(RejectReason::ForeignVenue(topic_venue.to_string()));
        }
    }
    if payload.is_empty() {
        return match topic.kind {
            TopicKind::Displays => Ok(BusMessage::DisplayRemoved(topic.owner)),
            TopicKind::Retired => Ok(BusMessage::RetirementWithdrawn(topic.owner)),
            _ => Err(RejectReason::EmptyPayload),
        };
    }
    match typed::version_of(payload)? {
        Some(version) if version == u64::from(SCHEMA_VERSION) => {}
        Some(other) => {
            return Err(RejectReason::UnknownVersion(
                u32::try_from(other).unwrap_or(u32::MAX),
            ))
        }
        None => {
            return Err(RejectReason::Malformed(
                "missing field `v` (schema version)".into(),
            ))
        }
    }
    match topic.kind {
        TopicKind::Incident => {
            let mut declaration: IncidentDeclaration =
                typed::decode_typed(payload, "a declaration", true)?;
            // One instant written with two offsets must be one message, not two.
            declaration.started_at = utc(declaration.started_at)?;
            declaration.declared_at = utc(declaration.declared_at)?;
            if let Some(next) = declaration.next_update_by {
                let next = utc(next)?;
                if next <= declaration.declared_at
                    || next > declaration.declared_at + super::payloads::MAX_NEXT_UPDATE
                {
                    return Err(RejectReason::Malformed(
                        "next_update_by must be after declared_at and within 24 hours of it".into(),
                    ));
                }
                declaration.next_update_by = Some(next);
            }
            if let Some(expires) = declaration.expires_at {
                declaration.expires_at = Some(check_expiry(&topic, &declaration, expires)?);
            }
            check_owner(&topic.owner, &declaration.source)?;
            check_revision(declaration.revision)?;
            if let Some((field, chars)) = declaration.texts.too_long().next() {
                return Err(RejectReason::TextTooLong {
                    field: field.name(),
                    chars,
                    limit: super::IncidentTexts::MAX_CHARS,
                });
            }
            if let Err(problem) = super::check_translations(&declaration.translations) {
                return Err(RejectReason::Translations(problem));
            }
            Ok(BusMessage::Declaration {
                scope: topic.scope,
                declaration,
            })
        }
        TopicKind::Payments => {
            let mut health: PaymentHealth = typed::decode_typed(payload, "a payment report", true)?;
            health.since = utc(health.since)?;
            check_owner(&topic.owner, &health.source)?;
            check_revision(health.revision)?;
            Ok(BusMessage::Payment(health))
        }
        TopicKind::Displays => {
            let mut report: DisplayReport = typed::decode_typed(payload, "a display report", true)?;
            report.since = report.since.map(utc).transpose()?;
            report.drawn_at = report.drawn_at.map(utc).transpose()?;
            if let Some(chars) = report
                .reason
                .as_ref()
                .map(|reason| reason.chars().count())
                .filter(|chars| *chars > super::vouchers::MAX_REASON_CHARS)
            {
                return Err(RejectReason::TextTooLong {
                    field: "reason",
                    chars,
                    limit: super::vouchers::MAX_REASON_CHARS,
                });
            }
            check_owner(&topic.owner, &report.node)?;
            // 0 is a node showing "nothing declared"; above the range, the report would
            // push every publisher's next revision out of range (or overflow it).
            if let Some(revision) = report.revision.filter(|r| *r > MAX_REVISION) {
                return Err(RejectReason::RevisionOutOfRange(revision));
            }
            Ok(BusMessage::Display(report))
        }
        TopicKind::Retired => {
            let mut retirement: NodeRetirement =
                typed::decode_typed(payload, "a node retirement", true)?;
            retirement.at = utc(retirement.at)?;
            check_owner(&topic.owner, &retirement.node)?;
            let chars = retirement.by.chars().count();
            if chars > super::vouchers::MAX_STAFF_CHARS {
                return Err(RejectReason::TextTooLong {
                    field: "by",
                    chars,
                    limit: super::vouchers::MAX_STAFF_CHARS,
                });
            }
            Ok(BusMessage::Retired(retirement))
        }
        TopicKind::Drill => {
            let mut order: DrillOrder = typed::decode_typed(payload, "a drill", true)?;
            order.started_at = utc(order.started_at)?;
            order.ends_at = utc(order.ends_at)?;
            check_owner(&topic.owner, &order.source)?;
            check_revision(order.revision)?;
            check_drill(&order)?;
            Ok(BusMessage::Drill(order))
        }
        TopicKind::Vouchers | TopicKind::VoucherMarks | TopicKind::Thumbnails => {
            Err(RejectReason::NotStatus)
        }
    }
}

/// A drill runs for a while after its start, within `MAX_DRILL`, names at most
/// `MAX_FULL_SCREEN` screens, and its actor is short.
fn check_drill(order: &DrillOrder) -> Result<(), RejectReason> {
    if order.ends_at <= order.started_at || order.ends_at > order.started_at + super::MAX_DRILL {
        return Err(RejectReason::Malformed(
            "a drill's ends_at must be after its started_at and within 10 minutes of it".into(),
        ));
    }
    if order.full_screen.len() > super::MAX_FULL_SCREEN {
        return Err(RejectReason::Malformed(format!(
            "a drill names {} full-screen nodes; the limit is {}",
            order.full_screen.len(),
            super::MAX_FULL_SCREEN
        )));
    }
    match order.actor.as_ref().map(|actor| actor.chars().count()) {
        Some(chars) if chars > super::vouchers::MAX_STAFF_CHARS => Err(RejectReason::TextTooLong {
            field: "actor",
            chars,
            limit: super::vouchers::MAX_STAFF_CHARS,
        }),
        _ => Ok(()),
    }
}

/// The instant in UTC, so one instant written with two offsets is one message; refused
/// when it falls outside the years 0 to 9999, which RFC 3339 cannot write back.
fn utc(instant: time::OffsetDateTime) -> Result<time::OffsetDateTime, RejectReason> {
    instant
        .checked_to_offset(time::UtcOffset::UTC)
        .filter(|utc| (0..=9999).contains(&utc.year()))
        .ok_or_else(|| RejectReason::Malformed("a time outside the years 0 to 9999".into()))
}

fn check_owner(topic_owner: &Identifier, payload_owner: &Identifier) -> Result<(), RejectReason> {
    if topic_owner == payload_owner {
        Ok(())
    } else {
        Err(RejectReason::OwnerMismatch {
            topic: topic_owner.to_string(),
            payload: payload_owner.to_string(),
        })
    }
}

fn check_revision(revision: u64) -> Result<(), RejectReason> {
    if (1..=MAX_REVISION).contains(&revision) {
        Ok(())
    } else {
        Err(RejectReason::RevisionOutOfRange(revision))
    }
}

/// An expiry is a venue's active incident ending itself: after its declaration, within
/// `MAX_EXPIRY` of it, never on a resolve or on head office's topic (no keeper there).
fn check_expiry(
    topic: &Topic,
    declaration: &IncidentDeclaration,
    expires: time::OffsetDateTime,
) -> Result<time::OffsetDateTime, RejectReason> {
    let expires = utc(expires)?;
    let refused = |why: &str| Err(RejectReason::Malformed(why.into()));
    if topic.scope == Scope::Chain {
        return refused(
            "expires_at is not allowed on a chain declaration: head office resolves its own",
        );
    }
    if declaration.state != DeclarationState::Active {
        return refused("expires_at belongs to an active declaration, not a resolve");
    }
    if expires <= declaration.declared_at
        || expires > declaration.declared_at + super::payloads::MAX_EXPIRY
    {
        return refused("expires_at must be after declared_at and within 72 hours of it");
    }
    Ok(expires)
}

#[cfg(test)]
mod tests;
