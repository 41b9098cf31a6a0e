//! Link tokens of the HTTP edge: the capability in an unsubscribe or preference-center URL.
//!
//! `base64url(header ++ sealed) "." base64url(HMAC-SHA256(key, header ++ sealed))`, where
//! the header names the version, the signing key's id, the action, the profile, the
//! channel, the contact point's keyed hash ([`ContactKey`]), the purpose and topic numbers,
//! the issue time and (from version 2) the id of the API key that minted the link, and `sealed` is the normalized contact point encrypted with
//! XChaCha20-Poly1305 under a key derived from the same secret. So a token never shows the
//! address in clear, a changed byte anywhere fails the signature, and the store can still
//! record the change (and publish it with its address) for a contact point it never saw.
//!
//! Keys have ids: the newest signs, every kept key verifies, so a rotated key does not
//! break links already in inboxes. For the same reason version 1 tokens (no minting key)
//! still verify, with an empty `minted_by`; every new token is version 2.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;

use super::codec::ContactKey;
use consentd_core::decision::{Channel, UnixSeconds};

/// The version new tokens carry: 2 added the minting API key's id (#22).
const VERSION: u8 = 2;
/// Tokens minted before the minting key was recorded; still honoured until they expire.
const VERSION_WITHOUT_MINTER: u8 = 1;
/// Longest token accepted for parsing; anything longer is refused before any work.
pub const LINK_BYTES_MAX: usize = 1024;
const NONCE_LEN: usize = 24;

/// What a link lets its holder do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkAction {
    /// Opt out of one purpose or topic (one-click).
    Unsubscribe,
    /// See and change every purpose and topic of the profile on this channel.
    Preferences,
}

impl LinkAction {
    fn to_byte(self) -> u8 {
        match self {
            LinkAction::Unsubscribe => 1,
            LinkAction::Preferences => 2,
        }
    }

    fn from_byte(b: u8) -> Option<LinkAction> {
        match b {
            1 => Some(LinkAction::Unsubscribe),
            2 => Some(LinkAction::Preferences),
            _ => None,
        }
    }
}

/// What a link token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkClaims {
    pub action: LinkAction,
    pub profile_id: String,
    pub channel: Channel,
    pub contact: ContactKey,
    /// Normalized; sealed inside the token.
    pub contact_point: String,
    pub purpose_no: u16,
    /// 0: the purpose itself.
    pub topic_no: u16,
    pub issued_at: UnixSeconds,
    /// The id of the API key whose `MintLinks` or `CheckStream` made the link, so a change
    /// made with it can be traced to the sender that handed it out. Empty for links minted
    /// before this was recorded (version 1).
    pub minted_by: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("the link is malformed")]
    Malformed,
    #[error("the link's signature is not valid")]
    BadSignature,
    #[error("the link has expired")]
    Expired,
}

/// One signing key.
#[derive(Clone)]
pub struct LinkKey {
    pub id: u8,
    pub secret: [u8; 32],
}

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LinkKey({})", self.id)
    }
}

impl LinkKey {
    #[expect(clippy::expect_used, reason = "HMAC accepts keys of any length; this cannot fail")]
    fn mac(&self, label: &[u8], data: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.secret).expect("any key length");
        mac.update(label);
        mac.update(data);
        mac
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        let key = self.mac(b"consentd link seal v1", &[]).finalize().into_bytes();
        XChaCha20Poly1305::new(&key)
    }
}

/// Every kept key; the last one signs.
#[derive(Clone, Debug)]
pub struct LinkKeys {
    keys: Vec<LinkKey>,
}

impl LinkKeys {
    /// `keys` in id order; at least one.
    pub fn new(mut keys: Vec<LinkKey>) -> Option<LinkKeys> {
        keys.sort_by_key(|k| k.id);
        (!keys.is_empty()).then_some(LinkKeys { keys })
    }

    pub fn all(&self) -> &[LinkKey] {
        &self.keys
    }

    pub fn newest_id(&self) -> u8 {
        self.keys.last().map_or(0, |k| k.id)
    }

    fn signing(&self) -> &LinkKey {
        // `new` refuses an empty set.
        &self.keys[self.keys.len() - 1]
    }

    fn by_id(&self, id: u8) -> Option<&LinkKey> {
        self.keys.iter().find(|k| k.id == id)
    }

    pub fn sign(&self, c: &LinkClaims) -> String {
        self.sign_as(c, VERSION)
    }

    /// `sign` in a given format version: tests make the tokens older servers minted.
    fn sign_as(&self, c: &LinkClaims, version: u8) -> String {
        let key = self.signing();
        let mut buf = Vec::with_capacity(64 + c.profile_id.len() + c.contact_point.len());
        buf.push(version);
        buf.push(key.id);
        buf.push(c.action.to_byte());
        // Profile ids are at most 64 bytes (checked where profiles are created).
        buf.push(u8::try_from(c.profile_id.len()).unwrap_or(u8::MAX));
        buf.extend_from_slice(c.profile_id.as_bytes());
        buf.push(c.channel.index() as u8);
        buf.extend_from_slice(&c.contact.0);
        buf.extend_from_slice(&c.purpose_no.to_be_bytes());
        buf.extend_from_slice(&c.topic_no.to_be_bytes());
        buf.extend_from_slice(&c.issued_at.to_be_bytes());
        if version == VERSION_WITHOUT_MINTER {
            return seal_and_sign(key, buf, c);
        }
        // Key ids are `ck_` and 16 hex digits (or `local`); a longer one is cut, never
        // allowed to shift the fields after it.
        let minted_by = &c.minted_by.as_bytes()[..c.minted_by.len().min(usize::from(u8::MAX))];
        buf.push(minted_by.len() as u8);
        buf.extend_from_slice(minted_by);
        seal_and_sign(key, buf, c)
    }

    /// Checks format, key, signature (in constant time) and age: a link is honoured for
    /// `validity_secs` after it was issued.
    pub fn verify(&self, token: &str, now: UnixSeconds, validity_secs: i64) -> Result<LinkClaims, LinkError> {
        if token.len() > LINK_BYTES_MAX {
            return Err(LinkError::Malformed);
        }
        let (body_b64, tag_b64) = token.trim().split_once('.').ok_or(LinkError::Malformed)?;
        let buf = URL_SAFE_NO_PAD.decode(body_b64).map_err(|_| LinkError::Malformed)?;
        let tag = URL_SAFE_NO_PAD.decode(tag_b64).map_err(|_| LinkError::Malformed)?;
        let mut r = Reader { buf: &buf, at: 0 };
        let version = r.u8()?;
        if version != VERSION && version != VERSION_WITHOUT_MINTER {
            return Err(LinkError::Malformed);
        }
        let key = self.by_id(r.u8()?).ok_or(LinkError::BadSignature)?;
        key.mac(b"consentd link v1", &buf).verify_slice(&tag).map_err(|_| LinkError::BadSignature)?;
        // Signed by us from here on: a failure below is a bug or an old format.
        let action = LinkAction::from_byte(r.u8()?).ok_or(LinkError::Malformed)?;
        let profile_len = usize::from(r.u8()?);
        let profile_id = String::from_utf8(r.take(profile_len)?.to_vec()).map_err(|_| LinkError::Malformed)?;
        let channel = Channel::ALL.get(usize::from(r.u8()?)).copied().ok_or(LinkError::Malformed)?;
        let contact = ContactKey::from_slice(r.take(16)?).ok_or(LinkError::Malformed)?;
        let purpose_no = u16::from_be_bytes(r.array()?);
        let topic_no = u16::from_be_bytes(r.array()?);
        let issued_at = i64::from_be_bytes(r.array()?);
        let minted_by = match version {
            VERSION_WITHOUT_MINTER => String::new(),
            _ => {
                let len = usize::from(r.u8()?);
                String::from_utf8(r.take(len)?.to_vec()).map_err(|_| LinkError::Malformed)?
            }
        };
        let header_len = r.at;
        let nonce = r.take(NONCE_LEN)?;
        let sealed = &buf[r.at..];
        let contact_point = key
            .cipher()
            .decrypt(XNonce::from_slice(nonce), Payload { msg: sealed, aad: &buf[..header_len] })
            .ok()
            .and_then(|p| String::from_utf8(p).ok())
            .ok_or(LinkError::Malformed)?;
        if now.saturating_sub(issued_at) > validity_secs {
            return Err(LinkError::Expired);
        }
        Ok(LinkClaims {
            action,
            profile_id,
            channel,
            contact,
            contact_point,
            purpose_no,
            topic_no,
            issued_at,
            minted_by,
        })
    }

    /// A form token bound to one link token: the preference center's forms carry it, so a
    /// form posted from elsewhere needs the link itself to be forged as well.
    pub fn form_token(&self, link_token: &str) -> String {
        URL_SAFE_NO_PAD
            .encode(&self.signing().mac(b"consentd form v1", link_token.as_bytes()).finalize().into_bytes()[..16])
    }

    /// Whether `form_token` belongs to `link_token` under any kept key (constant time).
    pub fn form_token_ok(&self, link_token: &str, form_token: &str) -> bool {
        let Ok(given) = URL_SAFE_NO_PAD.decode(form_token) else { return false };
        given.len() == 16
            && self
                .keys
                .iter()
                .any(|k| k.mac(b"consentd form v1", link_token.as_bytes()).verify_truncated_left(&given).is_ok())
    }
}

/// Appends the sealed contact point to the header in `buf`, then the signature.
fn seal_and_sign(key: &LinkKey, mut buf: Vec<u8>, c: &LinkClaims) -> String {
    let header_len = buf.len();
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    buf.extend_from_slice(&nonce);
    let sealed = key
        .cipher()
        .encrypt(XNonce::from_slice(&nonce), Payload { msg: c.contact_point.as_bytes(), aad: &buf[..header_len] })
        .unwrap_or_default();
    buf.extend_from_slice(&sealed);
    let tag = key.mac(b"consentd link v1", &buf).finalize().into_bytes();
    format!("{}.{}", URL_SAFE_NO_PAD.encode(&buf), URL_SAFE_NO_PAD.encode(tag))
}

struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], LinkError> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.buf.len()).ok_or(LinkError::Malformed)?;
        let out = &self.buf[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, LinkError> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], LinkError> {
        <[u8; N]>::try_from(self.take(N)?).map_err(|_| LinkError::Malformed)
    }
}

/// The meta key a link key is kept under.
pub(super) fn link_key_name(id: u8) -> Vec<u8> {
    let mut name = super::codec::META_LINK_KEY_PREFIX.to_vec();
    name.push(id);
    name
}

/// A new link key with a fresh random secret.
pub(super) fn new_link_key(id: u8) -> LinkKey {
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    LinkKey { id, secret }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> LinkClaims {
        LinkClaims {
            action: LinkAction::Unsubscribe,
            profile_id: "acme".into(),
            channel: Channel::Email,
            contact: ContactKey([7; 16]),
            contact_point: "jane@example.com".into(),
            purpose_no: 3,
            topic_no: 9,
            issued_at: 1_000,
            minted_by: "ck_0123456789abcdef".into(),
        }
    }

    fn keys(ids: &[(u8, u8)]) -> LinkKeys {
        LinkKeys::new(ids.iter().map(|&(id, b)| LinkKey { id, secret: [b; 32] }).collect()).unwrap_or_else(|| panic!())
    }

    #[test]
    fn round_trip_hides_the_address_and_refuses_tampering() {
        let k = keys(&[(1, 42)]);
        let token = k.sign(&claims());
        assert!(!token.contains("jane") && !token.contains("example"), "{token}");
        assert_eq!(k.verify(&token, 1_000, 10), Ok(claims()));
        assert_eq!(k.verify(&token, 1_011, 10), Err(LinkError::Expired));
        assert_eq!(keys(&[(1, 43)]).verify(&token, 1_000, 10), Err(LinkError::BadSignature));
        assert_eq!(keys(&[(2, 42)]).verify(&token, 1_000, 10), Err(LinkError::BadSignature));
        for i in [0, 5, 20, token.len() - 3] {
            let mut t: Vec<char> = token.chars().collect();
            t[i] = if t[i] == 'A' { 'B' } else { 'A' };
            let t: String = t.into_iter().collect();
            assert!(k.verify(&t, 1_000, 10).is_err(), "byte {i} changed and still verified");
        }
        assert_eq!(k.verify("garbage", 0, 10), Err(LinkError::Malformed));
        assert_eq!(k.verify(&"a".repeat(5000), 0, 10), Err(LinkError::Malformed));
    }

    #[test]
    fn links_minted_before_the_minting_key_was_recorded_still_verify() {
        let k = keys(&[(1, 42)]);
        let old = k.sign_as(&claims(), VERSION_WITHOUT_MINTER);
        assert_eq!(k.verify(&old, 1_000, 10), Ok(LinkClaims { minted_by: String::new(), ..claims() }));
        let new = k.sign(&claims());
        assert_eq!(k.verify(&new, 1_000, 10).map(|c| c.minted_by), Ok("ck_0123456789abcdef".to_owned()));
    }

    #[test]
    fn rotated_keys_still_verify_and_the_newest_signs() {
        let old = keys(&[(1, 42)]);
        let token = old.sign(&claims());
        let rotated = keys(&[(1, 42), (2, 7)]);
        assert_eq!(rotated.verify(&token, 1_000, 10), Ok(claims()));
        let new_token = rotated.sign(&claims());
        assert_eq!(old.verify(&new_token, 1_000, 10), Err(LinkError::BadSignature));
        assert!(rotated.form_token_ok(&token, &rotated.form_token(&token)));
        assert!(!rotated.form_token_ok(&new_token, &rotated.form_token(&token)));
    }
}
