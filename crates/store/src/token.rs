//! Double opt-in confirmation tokens: `base64url(claims) "." base64url(HMAC-SHA256)`.
//! Signed with a key kept in the data directory (its id is inside the token so keys can be
//! rotated), expiring, and single-use because the pending record they name is consumed.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::codec::ContactKey;
use consentd_core::decision::{Subject, UnixSeconds};

const VERSION: u8 = 1;
const CLAIMS_LEN: usize = 1 + 1 + 16 + 2 + 2 + 16 + 8;
/// Longest token accepted for parsing; anything longer is refused before any work.
pub const CONFIRMATION_TOKEN_BYTES_MAX: usize = 256;

/// What a token says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TokenClaims {
    pub contact: ContactKey,
    pub subject: Subject,
    pub token_id: [u8; 16],
    pub expires_at: UnixSeconds,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("confirmation token is malformed")]
    Malformed,
    #[error("confirmation token signature is not valid")]
    BadSignature,
    #[error("confirmation token has expired")]
    Expired,
}

/// A signing key and its id.
#[derive(Clone)]
pub struct TokenKey {
    pub id: u8,
    pub secret: [u8; 32],
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenKey({})", self.id)
    }
}

impl TokenKey {
    #[expect(clippy::expect_used, reason = "HMAC accepts keys of any length; this cannot fail")]
    fn mac(&self, data: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.secret).expect("any key length");
        mac.update(data);
        mac
    }

    pub fn sign(&self, claims: &TokenClaims) -> String {
        let mut buf = Vec::with_capacity(CLAIMS_LEN);
        buf.push(VERSION);
        buf.push(self.id);
        buf.extend_from_slice(&claims.contact.0);
        buf.extend_from_slice(&claims.subject.purpose.to_be_bytes());
        buf.extend_from_slice(&claims.subject.topic.to_be_bytes());
        buf.extend_from_slice(&claims.token_id);
        buf.extend_from_slice(&claims.expires_at.to_be_bytes());
        let tag = self.mac(&buf).finalize().into_bytes();
        format!("{}.{}", URL_SAFE_NO_PAD.encode(&buf), URL_SAFE_NO_PAD.encode(tag))
    }

    /// Checks format, key, signature (in constant time) and expiry.
    pub fn verify(&self, token: &str, now: UnixSeconds) -> Result<TokenClaims, TokenError> {
        if token.len() > CONFIRMATION_TOKEN_BYTES_MAX {
            return Err(TokenError::Malformed);
        }
        let (claims_b64, tag_b64) = token.trim().split_once('.').ok_or(TokenError::Malformed)?;
        let buf = URL_SAFE_NO_PAD.decode(claims_b64).map_err(|_| TokenError::Malformed)?;
        let tag = URL_SAFE_NO_PAD.decode(tag_b64).map_err(|_| TokenError::Malformed)?;
        if buf.len() != CLAIMS_LEN || buf[0] != VERSION {
            return Err(TokenError::Malformed);
        }
        if buf[1] != self.id {
            return Err(TokenError::BadSignature);
        }
        self.mac(&buf).verify_slice(&tag).map_err(|_| TokenError::BadSignature)?;
        let field = |from: usize, to: usize| &buf[from..to];
        let contact = ContactKey::from_slice(field(2, 18)).ok_or(TokenError::Malformed)?;
        let purpose = u16::from_be_bytes([buf[18], buf[19]]);
        let topic = u16::from_be_bytes([buf[20], buf[21]]);
        let token_id = <[u8; 16]>::try_from(field(22, 38)).map_err(|_| TokenError::Malformed)?;
        let expires_at = i64::from_be_bytes(<[u8; 8]>::try_from(field(38, 46)).map_err(|_| TokenError::Malformed)?);
        if expires_at <= now {
            return Err(TokenError::Expired);
        }
        Ok(TokenClaims { contact, subject: Subject { purpose, topic }, token_id, expires_at })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> TokenClaims {
        TokenClaims {
            contact: ContactKey([7; 16]),
            subject: Subject { purpose: 3, topic: 9 },
            token_id: [1; 16],
            expires_at: 2_000,
        }
    }

    #[test]
    fn round_trip_and_refusals() {
        let key = TokenKey { id: 1, secret: [42; 32] };
        let token = key.sign(&claims());
        assert_eq!(key.verify(&token, 1_999), Ok(claims()));
        assert_eq!(key.verify(&token, 2_000), Err(TokenError::Expired));
        let other = TokenKey { id: 1, secret: [43; 32] };
        assert_eq!(other.verify(&token, 0), Err(TokenError::BadSignature));
        let rotated = TokenKey { id: 2, secret: [42; 32] };
        assert_eq!(rotated.verify(&token, 0), Err(TokenError::BadSignature));
        // Flip one claims character: the signature no longer matches.
        let mut tampered: Vec<char> = token.chars().collect();
        tampered[10] = if tampered[10] == 'A' { 'B' } else { 'A' };
        let tampered: String = tampered.into_iter().collect();
        assert!(key.verify(&tampered, 0).is_err());
        assert_eq!(key.verify("garbage", 0), Err(TokenError::Malformed));
        assert_eq!(key.verify(&"a".repeat(1000), 0), Err(TokenError::Malformed));
    }
}
