//! The gate for what head office hears on its own broker: chain declarations, the
//! display reports that came up each venue's bridge, and each bridge's own state
//! notification (Mosquitto's, retained: "1" connected, "0" gone by its last will).

use super::{decode_message, BusMessage, RejectReason};
use crate::protocol::topics::Topic;
use crate::protocol::Identifier;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainMessage {
    /// A venue's bridge to this broker came up or went down.
    Bridge { venue: Identifier, up: bool },
    /// A chain declaration (`venue` None) or a venue's message that came up its bridge.
    Status {
        venue: Option<Identifier>,
        message: Box<BusMessage>,
    },
}

/// Checks and decodes one publish received at head office.
pub fn decode_chain_message(topic: &str, payload: &[u8]) -> Result<ChainMessage, RejectReason> {
    if let Some(venue) = Topic::bridge_state_venue(topic) {
        return match payload {
            b"1" => Ok(ChainMessage::Bridge { venue, up: true }),
            b"0" => Ok(ChainMessage::Bridge { venue, up: false }),
            _ => Err(RejectReason::Malformed(
                "a bridge state is \"1\" or \"0\"".into(),
            )),
        };
    }
    let parsed = Topic::parse(topic).ok_or(RejectReason::UnknownTopic)?;
    // The venue check of decode_message applies to venue topics only; for chain topics
    // any identifier will do, so the owner stands in.
    let venue = parsed.venue.as_ref().unwrap_or(&parsed.owner);
    let message = decode_message(topic, payload, venue)?;
    Ok(ChainMessage::Status {
        venue: parsed.venue,
        message: Box::new(message),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bridge_states_and_reports_of_any_venue() {
        let rialto = Identifier::parse("rialto").unwrap();
        assert_eq!(
            decode_chain_message("raincheck/v1/rialto/bridge/hq", b"0"),
            Ok(ChainMessage::Bridge {
                venue: rialto.clone(),
                up: false
            })
        );
        assert!(decode_chain_message("raincheck/v1/rialto/bridge/hq", b"yes").is_err());
        let report = br#"{"v":1,"node":"lobby-1","status":"online"}"#;
        assert!(matches!(
            decode_chain_message("raincheck/v1/rialto/displays/lobby-1", report),
            Ok(ChainMessage::Status { venue: Some(v), message }) if v == rialto && matches!(*message, BusMessage::Display(_))
        ));
        assert_eq!(
            decode_chain_message("elsewhere/x", report),
            Err(RejectReason::UnknownTopic)
        );
    }
}
