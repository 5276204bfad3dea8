//! The signature of an ERP delivery, as a receiver recomputes it (docs/CONNECTORS.md, "ERP
//! export"): HMAC-SHA256 keyed by the shared signing key over the timestamp header's text, a
//! dot and the exact body bytes, sent as `sha256=<lower-case hex>`. The timestamp is signed
//! too, so a receiver that refuses old timestamps also refuses a replayed request.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Header carrying the calculation id; a receiver treats a repeated key as the same message.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";

/// Header carrying the Unix time of the attempt, seconds, as decimal text.
pub const TIMESTAMP_HEADER: &str = "X-Thermaliq-Timestamp";

/// Header carrying `sha256=<hex>` of [`sign`].
pub const SIGNATURE_HEADER: &str = "X-Thermaliq-Signature";

/// The `X-Thermaliq-Signature` value of `body` sent at `timestamp` (Unix seconds).
pub fn sign(key: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of docs/CONNECTORS.md, computed there independently with
    /// `printf '%s' '1761958800.<body>' | openssl dgst -sha256 -hmac 'example-signing-key-0123456789'`.
    #[test]
    fn matches_the_documented_openssl_example() {
        let body = br#"{"calculation_id":"CALC-019A3E5B1C007D2E8F4A6B0C1D2E3F40","efficiency_percent_hhv":84.25}"#;
        assert_eq!(
            sign(b"example-signing-key-0123456789", 1_761_958_800, body),
            "sha256=f215cf2a5431e61e24ec528a9fbb346b8e4ea33df223ad2052bf5302a63c45f6"
        );
    }

    #[test]
    fn every_signed_part_changes_the_signature() {
        let base = sign(b"key-one-0123456789", 1_761_958_800, b"{}");
        assert_ne!(base, sign(b"key-two-0123456789", 1_761_958_800, b"{}"));
        assert_ne!(base, sign(b"key-one-0123456789", 1_761_958_801, b"{}"));
        assert_ne!(base, sign(b"key-one-0123456789", 1_761_958_800, b"{ }"));
    }
}
