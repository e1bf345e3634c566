//! Reading a JSON payload into its type, strictly typed in every field: serde reads a
//! struct from an *array* by position (`["cli", "manager", 3, …]` would be a
//! declaration), which the protocol refuses. A payload is read into a JSON value, then
//! into its type, and the value is held against the type's own serialisation: wherever
//! the type writes an object, the payload must have had an object, and an array where it
//! writes an array. Every other wrong type (a number for a string, an object for an
//! array) serde refuses itself. Unknown fields stay ignored.

use super::RejectReason;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// The payload as `T`, or why not. `what` names the payload in messages ("a voucher
/// batch"); `quote` says whether serde's message may be passed on (it quotes the payload,
/// which for vouchers may hold codes).
pub fn decode_typed<T: DeserializeOwned + Serialize>(
    payload: &[u8],
    what: &str,
    quote: bool,
) -> Result<T, RejectReason> {
    let refusal = |detail: String| {
        if quote {
            RejectReason::Malformed(shorten(detail))
        } else {
            RejectReason::Malformed(format!("{what} that is not valid JSON for this version"))
        }
    };
    let value: Value = serde_json::from_slice(payload).map_err(|e| refusal(e.to_string()))?;
    let typed = T::deserialize(&value).map_err(|e| refusal(e.to_string()))?;
    let written = serde_json::to_value(&typed).map_err(|e| refusal(e.to_string()))?;
    let mut path = String::new();
    same_shape(&value, &written, &mut path).map_err(|detail| {
        if quote {
            RejectReason::Malformed(detail)
        } else {
            RejectReason::Malformed(format!("{what}: {detail}"))
        }
    })?;
    Ok(typed)
}

/// The `v` of a payload that must be a JSON object, before its type is known.
pub fn version_of(payload: &[u8]) -> Result<Option<u64>, RejectReason> {
    let value: Value = serde_json::from_slice(payload)
        .map_err(|e| RejectReason::Malformed(shorten(e.to_string())))?;
    let Value::Object(fields) = value else {
        return Err(RejectReason::Malformed(format!(
            "a payload is a JSON object, not {}",
            kind(&value)
        )));
    };
    match fields.get("v") {
        None => Ok(None),
        Some(Value::Number(number)) => number.as_u64().map(Some).ok_or_else(|| {
            RejectReason::Malformed("`v` (schema version) is not a whole number".into())
        }),
        Some(other) => Err(RejectReason::Malformed(format!(
            "`v` (schema version) is {}, not a number",
            kind(other)
        ))),
    }
}

fn same_shape(input: &Value, written: &Value, path: &mut String) -> Result<(), String> {
    let at = |path: &str| {
        if path.is_empty() {
            "the payload".to_owned()
        } else {
            format!("`{path}`")
        }
    };
    match written {
        Value::Object(fields) => {
            let Value::Object(given) = input else {
                return Err(format!(
                    "{} must be an object, not {}",
                    at(path),
                    kind(input)
                ));
            };
            for (key, written_field) in fields {
                if let Some(given_field) = given.get(key) {
                    let length = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(key);
                    same_shape(given_field, written_field, path)?;
                    path.truncate(length);
                }
            }
            Ok(())
        }
        Value::Array(items) => {
            let Value::Array(given) = input else {
                return Err(format!(
                    "{} must be an array, not {}",
                    at(path),
                    kind(input)
                ));
            };
            for (index, (given_item, written_item)) in given.iter().zip(items).enumerate() {
                let length = path.len();
                path.push_str(&format!("[{index}]"));
                same_shape(given_item, written_item, path)?;
                path.truncate(length);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// serde quotes the offending value, which may be kilobytes long; logs need the gist.
pub fn shorten(text: String) -> String {
    let short: String = text.chars().take(200).collect();
    if short.len() < text.len() {
        format!("{short}…")
    } else {
        short
    }
}
