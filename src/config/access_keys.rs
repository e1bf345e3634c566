//! Keys that machines present (feed readers at `/feeds/…`, web screen pages at
//! `/screen/{id}`): 256 random bits shown once as 64 hex digits, stored in the config only
//! as `sha256:` and the key's SHA-256 in hex. A fast hash is as safe as a slow one for keys
//! this long, and keeps a flood of wrong keys cheap to refuse. The one implementation for
//! both; the console compares presented keys against these hashes in constant time.

use sha2::{Digest, Sha256};

/// How a stored key hash starts.
pub const KEY_HASH_PREFIX: &str = "sha256:";

/// A fresh key: 32 random bytes as 64 lowercase hex digits (safe in a URL, easy to paste).
pub fn new_access_key() -> String {
    let bytes: [u8; 32] = rand::random();
    hex(&bytes)
}

/// The stored form of `key`: `sha256:` and 64 hex digits.
pub fn access_key_hash(key: &str) -> String {
    format!("{KEY_HASH_PREFIX}{}", hex(&Sha256::digest(key.as_bytes())))
}

/// True if `text` is a stored key hash: `sha256:` and 64 lowercase hex digits.
pub fn is_access_key_hash(text: &str) -> bool {
    text.strip_prefix(KEY_HASH_PREFIX).is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_fresh_and_their_hashes_have_the_stored_shape() {
        let key = new_access_key();
        assert_eq!(key.len(), 64);
        assert_ne!(key, new_access_key());
        assert!(is_access_key_hash(&access_key_hash(&key)));
        for bad in [
            "sha256:",
            "md5:00",
            &format!("sha256:{}", "A".repeat(64)),
            &key,
        ] {
            assert!(!is_access_key_hash(bad), "{bad}");
        }
    }
}
