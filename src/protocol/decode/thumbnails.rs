//! The gate for thumbnails: small PNGs of what a screen shows, retained on
//! `…/thumbnails/{node}` for the console. An empty retained payload withdraws one.

use super::RejectReason;
use crate::protocol::topics::{Topic, TopicKind};
use crate::protocol::Identifier;
use bytes::Bytes;

/// Largest thumbnail accepted (a 640-pixel PNG is far smaller).
pub const MAX_THUMBNAIL_BYTES: usize = 512 * 1024;
const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Thumbnail {
    Png {
        node: Identifier,
        png: Bytes,
    },
    /// The node's thumbnail was withdrawn (it was retired, or stopped publishing them).
    Removed(Identifier),
}

/// Checks one publish on a thumbnail topic of `venue`; `None` when it is not one.
pub fn decode_thumbnail(
    topic_name: &str,
    payload: Bytes,
    venue: &Identifier,
) -> Option<Result<Thumbnail, RejectReason>> {
    let topic = Topic::parse(topic_name)?;
    if topic.kind != TopicKind::Thumbnails || topic.venue.as_ref() != Some(venue) {
        return None;
    }
    let node = topic.owner;
    Some(if payload.is_empty() {
        Ok(Thumbnail::Removed(node))
    } else if payload.len() > MAX_THUMBNAIL_BYTES {
        Err(RejectReason::Oversized {
            bytes: payload.len(),
            limit: MAX_THUMBNAIL_BYTES,
        })
    } else if !payload.starts_with(PNG_MAGIC) {
        Err(RejectReason::Malformed(
            "a thumbnail that is not a PNG".into(),
        ))
    } else {
        Ok(Thumbnail::Png { node, png: payload })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pngs_of_this_venue_of_sensible_size() {
        let venue = Identifier::parse("rialto").unwrap();
        let topic = "raincheck/v1/rialto/thumbnails/lobby-1";
        let png = Bytes::from([PNG_MAGIC, b"rest"].concat());
        assert!(matches!(
            decode_thumbnail(topic, png.clone(), &venue),
            Some(Ok(Thumbnail::Png { .. }))
        ));
        assert!(matches!(
            decode_thumbnail(topic, Bytes::new(), &venue),
            Some(Ok(Thumbnail::Removed(_)))
        ));
        assert!(matches!(
            decode_thumbnail(topic, Bytes::from_static(b"GIF89a"), &venue),
            Some(Err(RejectReason::Malformed(_)))
        ));
        assert!(
            decode_thumbnail("raincheck/v1/odeon/thumbnails/lobby-1", png.clone(), &venue)
                .is_none()
        );
        assert!(decode_thumbnail("raincheck/v1/rialto/displays/lobby-1", png, &venue).is_none());
    }
}
