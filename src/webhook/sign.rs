//! Signing per the Standard Webhooks convention (standardwebhooks.com): secrets are
//! `whsec_<base64>`, and `webhook-signature` is `v1,<base64 HMAC-SHA256>` over
//! `<webhook-id>.<webhook-timestamp>.<body>`, one per valid secret, space-separated.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const SECRET_PREFIX: &str = "whsec_";
/// Bytes of a generated secret.
pub const SECRET_BYTES: usize = 32;
/// Shortest and longest secret accepted from a caller, in decoded bytes.
pub const SECRET_BYTES_MIN: usize = 24;
pub const SECRET_BYTES_MAX: usize = 64;

/// A new random secret's key bytes.
pub fn generate() -> Vec<u8> {
    use rand::Rng;
    let mut key = vec![0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut key);
    key
}

/// `whsec_<base64>` of key bytes.
pub fn encode(key: &[u8]) -> String {
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// The key bytes of a `whsec_<base64>` secret; why not when it is not one.
pub fn decode(secret: &str) -> Result<Vec<u8>, String> {
    let b64 = secret.strip_prefix(SECRET_PREFIX).ok_or_else(|| format!("must start with `{SECRET_PREFIX}`"))?;
    let key = STANDARD.decode(b64.trim()).map_err(|_| "is not base64 after `whsec_`".to_owned())?;
    if !(SECRET_BYTES_MIN..=SECRET_BYTES_MAX).contains(&key.len()) {
        return Err(format!("must hold {SECRET_BYTES_MIN} to {SECRET_BYTES_MAX} bytes, holds {}", key.len()));
    }
    Ok(key)
}

/// The `webhook-signature` header's value for one message, signed with every key.
pub fn signature<'k>(keys: impl Iterator<Item = &'k [u8]>, id: &str, timestamp: i64, body: &[u8]) -> String {
    keys.map(|key| {
        // HMAC takes a key of any length.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
            .unwrap_or_else(|_| unreachable!("HMAC keys have no length limit"));
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    })
    .collect::<Vec<_>>()
    .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_webhooks_example_verifies() {
        // The convention's published test vector.
        let key = decode("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap_or_default();
        let body = br#"{"test": 2432232314}"#;
        let sig = signature([key.as_slice()].into_iter(), "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn secrets_round_trip_and_bad_ones_say_why() {
        let key = generate();
        assert_eq!(decode(&encode(&key)), Ok(key));
        assert!(decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err_and(|e| e.contains("whsec_")));
        assert!(decode("whsec_!!!").is_err_and(|e| e.contains("base64")));
        assert!(decode("whsec_c2hvcnQ=").is_err_and(|e| e.contains("24 to 64")));
    }

    #[test]
    fn during_a_rotation_both_secrets_sign() {
        let (a, b) = (generate(), generate());
        let sig = signature([a.as_slice(), b.as_slice()].into_iter(), "m", 1, b"{}");
        let parts: Vec<&str> = sig.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], signature([a.as_slice()].into_iter(), "m", 1, b"{}"));
        assert_eq!(parts[1], signature([b.as_slice()].into_iter(), "m", 1, b"{}"));
    }
}
