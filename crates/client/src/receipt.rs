//! Decision receipts: what one `CheckStream` batch was answered with, signed by the server
//! with Ed25519, so a sender can later show what a send was allowed on (docs/receipts.md).
//!
//! The signed body is a canonical byte string, the same on every platform and version of
//! this format: the magic line, then the fields below in this order, integers big-endian
//! and of fixed width, strings as a 4-byte length and UTF-8 bytes, optional values as one
//! byte (0 absent, 1 present) and the value.
//!
//! | field | encoding |
//! |---|---|
//! | magic | `consentd-receipt/1\n` |
//! | key id | u32 |
//! | decided at (µs since the Unix epoch) | i64 |
//! | revision read | u64 |
//! | batch id | u64 |
//! | profile, channel (the API's number), purpose, topic | string, u32, string, string |
//! | as of: time (µs), clock (the API's number) | optional i64 + u32 |
//! | as of revision | optional u64 |
//! | overrides: count, then index, channel, topic each | u32, then u32, u32, string |
//! | recipients: count, digest | u32, 32 bytes |
//! | outcomes: one byte per recipient | `count` bytes: decision × 64 + reason |
//!
//! The digest is SHA-256 over, per recipient in order, `0x01` and its 16-byte keyed hash
//! (the store's key of profile, channel and normalized contact point), or `0x00` for a
//! contact point that is not valid. It names the recipients without showing them: only the
//! server (which holds the hash key) can say whether a list is the one a receipt covers.

use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest as _, Sha256};

const MAGIC: &[u8] = b"consentd-receipt/1\n";
/// The most recipients one receipt may name (decoding refuses more before allocating).
pub const RECIPIENTS_MAX: u32 = 1 << 20;
const STRING_BYTES_MAX: u32 = 4096;

/// What a receipt says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub key_id: u32,
    pub decided_at_us: i64,
    pub revision: u64,
    pub batch_id: u64,
    pub profile_id: String,
    pub channel: i32,
    pub purpose_id: String,
    pub topic_id: String,
    /// As of a past moment: (µs, clock).
    pub as_of: Option<(i64, i32)>,
    pub as_of_revision: Option<u64>,
    /// (index, channel, topic).
    pub overrides: Vec<(u32, i32, String)>,
    pub recipients: u32,
    pub recipients_digest: [u8; 32],
    /// One byte per recipient: decision × 64 + reason.
    pub outcomes: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    #[error("not a consentd receipt (version 1)")]
    Magic,
    #[error("the receipt is cut short or malformed at byte {0}")]
    Malformed(usize),
    #[error("the receipt has {0} bytes after its last field")]
    Trailing(usize),
    #[error("no public key with id {0}: fetch the server's receipt keys")]
    UnknownKey(u32),
    #[error("the signature does not verify: the receipt was changed or not signed by key {0}")]
    BadSignature(u32),
    #[error("the public key of id {0} is not a valid Ed25519 key")]
    BadKey(u32),
}

/// The ordered digest of a batch's recipients, fed one at a time.
#[derive(Clone, Default)]
pub struct RecipientsDigest {
    hash: Sha256,
    count: u32,
}

impl RecipientsDigest {
    /// The next recipient: its keyed hash, or `None` for an invalid contact point.
    pub fn push(&mut self, keyed_hash: Option<&[u8; 16]>) {
        match keyed_hash {
            Some(k) => {
                self.hash.update([1u8]);
                self.hash.update(k);
            }
            None => self.hash.update([0u8]),
        }
        self.count += 1;
    }

    pub fn finish(self) -> (u32, [u8; 32]) {
        (self.count, self.hash.finalize().into())
    }
}

impl Receipt {
    /// The canonical body (what the signature covers).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(160 + self.outcomes.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.key_id.to_be_bytes());
        out.extend_from_slice(&self.decided_at_us.to_be_bytes());
        out.extend_from_slice(&self.revision.to_be_bytes());
        out.extend_from_slice(&self.batch_id.to_be_bytes());
        put_str(&mut out, &self.profile_id);
        out.extend_from_slice(&(self.channel as u32).to_be_bytes());
        put_str(&mut out, &self.purpose_id);
        put_str(&mut out, &self.topic_id);
        match self.as_of {
            Some((at, clock)) => {
                out.push(1);
                out.extend_from_slice(&at.to_be_bytes());
                out.extend_from_slice(&(clock as u32).to_be_bytes());
            }
            None => out.push(0),
        }
        match self.as_of_revision {
            Some(r) => {
                out.push(1);
                out.extend_from_slice(&r.to_be_bytes());
            }
            None => out.push(0),
        }
        out.extend_from_slice(&(self.overrides.len() as u32).to_be_bytes());
        for (index, channel, topic) in &self.overrides {
            out.extend_from_slice(&index.to_be_bytes());
            out.extend_from_slice(&(*channel as u32).to_be_bytes());
            put_str(&mut out, topic);
        }
        out.extend_from_slice(&self.recipients.to_be_bytes());
        out.extend_from_slice(&self.recipients_digest);
        out.extend_from_slice(&self.outcomes);
        out
    }

    /// Reads a canonical body; refuses anything else (another version, a cut or padded one).
    pub fn decode(body: &[u8]) -> Result<Receipt, ReceiptError> {
        let rest = body.strip_prefix(MAGIC).ok_or(ReceiptError::Magic)?;
        let mut r = Reader { bytes: rest, at: MAGIC.len() };
        let key_id = r.u32()?;
        let decided_at_us = r.u64()? as i64;
        let revision = r.u64()?;
        let batch_id = r.u64()?;
        let profile_id = r.string()?;
        let channel = r.u32()? as i32;
        let purpose_id = r.string()?;
        let topic_id = r.string()?;
        let as_of = match r.flag()? {
            true => Some((r.u64()? as i64, r.u32()? as i32)),
            false => None,
        };
        let as_of_revision = if r.flag()? { Some(r.u64()?) } else { None };
        let n = r.u32()?;
        if n > RECIPIENTS_MAX {
            return Err(ReceiptError::Malformed(r.at));
        }
        let mut overrides = Vec::with_capacity((n as usize).min(r.bytes.len() / 12));
        for _ in 0..n {
            overrides.push((r.u32()?, r.u32()? as i32, r.string()?));
        }
        let recipients = r.u32()?;
        if recipients > RECIPIENTS_MAX {
            return Err(ReceiptError::Malformed(r.at));
        }
        let recipients_digest: [u8; 32] = r.take(32)?.try_into().map_err(|_| ReceiptError::Malformed(r.at))?;
        let outcomes = r.take(recipients as usize)?.to_vec();
        if !r.bytes.is_empty() {
            return Err(ReceiptError::Trailing(r.bytes.len()));
        }
        Ok(Receipt {
            key_id,
            decided_at_us,
            revision,
            batch_id,
            profile_id,
            channel,
            purpose_id,
            topic_id,
            as_of,
            as_of_revision,
            overrides,
            recipients,
            recipients_digest,
            outcomes,
        })
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ReceiptError> {
        if self.bytes.len() < n {
            return Err(ReceiptError::Malformed(self.at));
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        self.at += n;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32, ReceiptError> {
        let at = self.at;
        self.take(4)?.try_into().map(u32::from_be_bytes).map_err(|_| ReceiptError::Malformed(at))
    }

    fn u64(&mut self) -> Result<u64, ReceiptError> {
        let at = self.at;
        self.take(8)?.try_into().map(u64::from_be_bytes).map_err(|_| ReceiptError::Malformed(at))
    }

    fn flag(&mut self) -> Result<bool, ReceiptError> {
        let at = self.at;
        match self.take(1)? {
            [0] => Ok(false),
            [1] => Ok(true),
            _ => Err(ReceiptError::Malformed(at)),
        }
    }

    fn string(&mut self) -> Result<String, ReceiptError> {
        let at = self.at;
        let n = self.u32()?;
        if n > STRING_BYTES_MAX {
            return Err(ReceiptError::Malformed(at));
        }
        let bytes = self.take(n as usize)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| ReceiptError::Malformed(at))
    }
}

/// The public keys as JSON, the one document `consentctl receipt keys` and the HTTP edge's
/// `/receipt-keys` print and `receipt verify --keys` reads: `{"keys": [{"id", "algorithm",
/// "public_key" (base64), "signing"}]}`. `keys`: (id, Ed25519 public key, signs new ones).
pub fn keys_json(keys: impl IntoIterator<Item = (u32, [u8; 32], bool)>) -> serde_json::Value {
    use base64::Engine;
    let keys: Vec<serde_json::Value> = keys
        .into_iter()
        .map(|(id, public, signing)| {
            serde_json::json!({
                "id": id,
                "algorithm": "Ed25519",
                "public_key": base64::engine::general_purpose::STANDARD.encode(public),
                "signing": signing,
            })
        })
        .collect();
    serde_json::json!({ "keys": keys })
}

/// Checks `signature` over `body` with the public key of the body's key id among `keys`
/// (id, 32-byte Ed25519 public key), and reads the body. Offline: no server involved.
pub fn verify(body: &[u8], signature: &[u8], keys: &[(u32, [u8; 32])]) -> Result<Receipt, ReceiptError> {
    let receipt = Receipt::decode(body)?;
    let id = receipt.key_id;
    let (_, public) = keys.iter().find(|(k, _)| *k == id).ok_or(ReceiptError::UnknownKey(id))?;
    let key = VerifyingKey::from_bytes(public).map_err(|_| ReceiptError::BadKey(id))?;
    let signature = Signature::from_slice(signature).map_err(|_| ReceiptError::BadSignature(id))?;
    key.verify_strict(body, &signature).map_err(|_| ReceiptError::BadSignature(id))?;
    Ok(receipt)
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::{Signer as _, SigningKey};

    use super::*;

    // The server signs with the store's receipt keys; these stand in for them.
    fn sign(key: &SigningKey, body: &[u8]) -> [u8; 64] {
        key.sign(body).to_bytes()
    }

    fn signing_key(seed: &[u8; 32]) -> SigningKey {
        SigningKey::from_bytes(seed)
    }

    fn sample() -> Receipt {
        let mut d = RecipientsDigest::default();
        d.push(Some(&[7; 16]));
        d.push(None);
        let (recipients, recipients_digest) = d.finish();
        Receipt {
            key_id: 2,
            decided_at_us: 1_700_000_000_123_456,
            revision: 42,
            batch_id: 9,
            profile_id: "acme".into(),
            channel: 1,
            purpose_id: "newsletter".into(),
            topic_id: String::new(),
            as_of: Some((1_600_000_000_000_000, 2)),
            as_of_revision: None,
            overrides: vec![(1, 2, "events".into())],
            recipients,
            recipients_digest,
            outcomes: vec![(1 << 6) | 3, (2 << 6) | 1],
        }
    }

    #[test]
    fn a_body_reads_back_as_written_and_nothing_else_reads() {
        let r = sample();
        let body = r.encode();
        assert_eq!(Receipt::decode(&body), Ok(r));
        for cut in 0..body.len() {
            assert!(Receipt::decode(&body[..cut]).is_err(), "cut at {cut}");
        }
        let mut padded = body.clone();
        padded.push(0);
        assert_eq!(Receipt::decode(&padded), Err(ReceiptError::Trailing(1)));
    }

    #[test]
    fn every_flipped_byte_fails_verification() {
        let key = signing_key(&[5; 32]);
        let keys = [(2, key.verifying_key().to_bytes())];
        let body = sample().encode();
        let sig = sign(&key, &body);
        assert!(verify(&body, &sig, &keys).is_ok());
        for i in 0..body.len() {
            let mut b = body.clone();
            b[i] ^= 1;
            assert!(verify(&b, &sig, &keys).is_err(), "byte {i} of the body");
        }
        for i in 0..sig.len() {
            let mut s = sig;
            s[i] ^= 1;
            assert!(verify(&body, &s, &keys).is_err(), "byte {i} of the signature");
        }
        let other = signing_key(&[6; 32]);
        assert_eq!(verify(&body, &sig, &[(2, other.verifying_key().to_bytes())]), Err(ReceiptError::BadSignature(2)));
        assert_eq!(verify(&body, &sig, &[(1, keys[0].1)]), Err(ReceiptError::UnknownKey(2)));
    }
}
