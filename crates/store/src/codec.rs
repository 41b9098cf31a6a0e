//! Key layout and value encodings of the RocksDB store.
//!
//! Values are prost messages defined here by hand (not generated from the API's .proto
//! files): the on-disk format is the store's own and evolves with field numbers, while API
//! types stay inside `api`. prost encodes fields in tag order, so an encoding is
//! deterministic and can be hashed for the history chain.
//!
//! | column family | key | value |
//! |---|---|---|
//! | `state`   | contact key (16) | [`StoredContact`] |
//! | `index`   | contact key (16) | packed hot-index entry, see [`encode_index_entry`] |
//! | `history` | contact key (16) ++ seq (u64 BE) | [`StoredEvent`] |
//! | `changes` | revision (u64 BE) | contact key (16) ++ seq (u64 BE) |
//! | `config`  | `profile/..`, `purpose/..`, `topic/..`, `apikey/..` | `Stored*` config |
//! | `idem`    | SHA-256(actor, idempotency key) | [`StoredIdem`] |
//! | `meta`    | `revision`, `contact_key`, `token_key/1`, `link_key/<id>`, `format` | raw bytes |

use std::hash::{Hash, Hasher};

use siphasher::sip::SipHasher13 as SipHasher13x64;
use siphasher::sip128::{Hasher128, SipHasher13};

use consentd_core::decision::{Channel, ContactState, PackedRecord, Suppressions};

pub const CF_STATE: &str = "state";
pub const CF_INDEX: &str = "index";
pub const CF_HISTORY: &str = "history";
pub const CF_CHANGES: &str = "changes";
pub const CF_CONFIG: &str = "config";
pub const CF_IDEM: &str = "idem";
pub const CF_META: &str = "meta";
pub const ALL_CFS: [&str; 7] = [CF_STATE, CF_INDEX, CF_HISTORY, CF_CHANGES, CF_CONFIG, CF_IDEM, CF_META];

pub const META_REVISION: &[u8] = b"revision";
/// Cluster mode: the last log entry applied (or skipped). Absent in a store written before
/// batch entries, where it was the revision: every entry then took exactly one revision.
pub const META_LOG_POSITION: &[u8] = b"log_position";
pub const META_CONTACT_KEY: &[u8] = b"contact_key";
pub const META_TOKEN_KEY: &[u8] = b"token_key/1";
/// Followed by the key id as one byte.
pub const META_LINK_KEY_PREFIX: &[u8] = b"link_key/";
/// Receipt keys: the id byte follows; the value is the 32-byte seed (empty: derived from
/// the cluster secret).
pub const META_RECEIPT_KEY_PREFIX: &[u8] = b"receipt_key/";

/// The 32 bytes of a link or receipt key stored as `value` under `name`: the value itself,
/// or, when it is empty (a key derived from the cluster secret: rotated through the log, or
/// restored from a snapshot), `derive`'s. A store opened without the secret has none.
pub fn stored_key(name: &[u8], value: &[u8], derive: Option<impl FnOnce() -> [u8; 32]>) -> Result<[u8; 32], String> {
    let name = String::from_utf8_lossy(name);
    match (value.is_empty(), derive) {
        (true, Some(derive)) => Ok(derive()),
        (true, None) => {
            Err(format!("key `{name}` is derived from a cluster secret: start the node with its cluster secret"))
        }
        (false, _) => <[u8; 32]>::try_from(value).map_err(|_| format!("key `{name}` is damaged")),
    }
}
pub const META_FORMAT: &[u8] = b"format";
/// `consentd-4`: each `index` entry carries its [`Origin`] (profile tag and channel, for
/// scans by profile: the policy simulation); a store of an earlier format has its `index`
/// family rebuilt from `state` when it opens. `consentd-3`: contact points may carry an erasure's tombstone (suppression bit 4, which a
/// release before it masks away, sending to an erased address) and a reassignment date
/// (`StoredContact` fields 8 and 9). `consentd-2`: the log position is stored apart from the
/// revision (`META_LOG_POSITION`). A store of `consentd-1` is the same but for that key.
/// Older formats are upgraded when they open (nothing else changes); a release that knows
/// only an older one must refuse the directory afterwards.
pub const FORMAT_VERSION: &[u8] = b"consentd-4";
pub const FORMAT_VERSION_3: &[u8] = b"consentd-3";
pub const FORMAT_VERSION_2: &[u8] = b"consentd-2";
pub const FORMAT_VERSION_1: &[u8] = b"consentd-1";

/// A contact point's identity in the store: a keyed 128-bit SipHash-1-3 of profile, channel
/// and normalized value. Keyed with a secret made when the data directory was created, so
/// that an attacker who controls sign-up addresses cannot craft two that collide.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct ContactKey(pub [u8; 16]);

impl ContactKey {
    pub fn derive(secret: &[u8; 16], profile: &str, channel: Channel, contact_point: &str) -> ContactKey {
        let (k0, k1) = split_key(secret);
        let mut h = SipHasher13::new_with_keys(k0, k1);
        h.write(profile.as_bytes());
        // A separator that cannot occur in a profile id keeps (ab, c) and (a, bc) apart.
        h.write_u8(0xff);
        h.write_u8(channel as u8);
        h.write(contact_point.as_bytes());
        ContactKey(h.finish128().as_bytes())
    }

    /// A short, non-reversible tag for logs (never log a contact point in clear text).
    pub fn log_tag(&self) -> String {
        self.0[..4].iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn from_slice(bytes: &[u8]) -> Option<ContactKey> {
        <[u8; 16]>::try_from(bytes).ok().map(ContactKey)
    }
}

impl std::fmt::Debug for ContactKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ContactKey({})", self.log_tag())
    }
}

impl Hash for ContactKey {
    /// The key is already a uniform keyed hash: its first eight bytes are the table hash.
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut first = [0u8; 8];
        first.copy_from_slice(&self.0[..8]);
        state.write_u64(u64::from_le_bytes(first));
    }
}

fn split_key(secret: &[u8; 16]) -> (u64, u64) {
    let mut a = [0u8; 8];
    let mut b = [0u8; 8];
    a.copy_from_slice(&secret[..8]);
    b.copy_from_slice(&secret[8..]);
    (u64::from_le_bytes(a), u64::from_le_bytes(b))
}

/// Whose entry it is: a 5-bit tag of the profile id and the channel (3 bits), one byte. It
/// is stored in the `index` family, so the tag is part of the store's format: the top five
/// bits of SipHash-1-3 of the id under the all-zero key, never changed.
///
/// One byte, not more, because the hot index keeps one per slot (1.2 bytes per contact
/// point, inside the 40 its memory bound allows). Profiles share a tag often; the policy
/// simulation tells their entries apart by their records' purposes, and reads the stored
/// profile of the few entries with suppressions alone ([`crate::simulate`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Origin(u8);

impl Origin {
    const CHANNEL_BITS: u32 = 3;

    pub fn new(profile_id: &str, channel: Channel) -> Origin {
        Origin((Origin::profile_tag(profile_id) << Origin::CHANNEL_BITS) | channel as u8)
    }

    /// The tag [`Origin::new`] gives `profile_id`.
    pub fn profile_tag(profile_id: &str) -> u8 {
        let mut h = SipHasher13x64::new_with_keys(0, 0);
        h.write(profile_id.as_bytes());
        // The top five bits of the hash.
        (h.finish() >> (64 - (8 - Origin::CHANNEL_BITS))) as u8
    }

    pub fn tag(self) -> u8 {
        self.0 >> Origin::CHANNEL_BITS
    }

    pub fn channel(self) -> Option<Channel> {
        Channel::ALL.get(usize::from(self.0 & ((1 << Origin::CHANNEL_BITS) - 1))).copied()
    }

    pub fn to_bits(self) -> u8 {
        self.0
    }

    /// `None` for bits whose channel is not one.
    pub fn from_bits(bits: u8) -> Option<Origin> {
        let origin = Origin(bits);
        origin.channel().map(|_| origin)
    }
}

pub fn history_key(contact: &ContactKey, seq: u64) -> [u8; 24] {
    let mut k = [0u8; 24];
    k[..16].copy_from_slice(&contact.0);
    k[16..].copy_from_slice(&seq.to_be_bytes());
    k
}

pub fn revision_key(revision: u64) -> [u8; 8] {
    revision.to_be_bytes()
}

pub fn decode_u64(bytes: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(bytes).ok().map(u64::from_be_bytes)
}

/// The hot-index entry as stored in the `index` family: one byte of suppression bits, the
/// entry's [`Origin`] (one byte), then eight bytes per packed record. Start-up
/// loads this family alone, which is much cheaper than decoding every full record.
///
/// A store before `consentd-4` wrote no origin (1 + 8n bytes, told apart by the length);
/// it is rewritten whole when such a store opens (`open::rebuild_index`).
pub fn encode_index_entry(state: &ContactState, origin: Origin) -> Vec<u8> {
    let packed = state.to_packed();
    let mut out = Vec::with_capacity(2 + 8 * packed.len());
    out.push(state.suppressions().bits());
    out.push(origin.to_bits());
    for r in packed {
        out.extend_from_slice(&r.to_bytes());
    }
    out
}

/// An entry of the current form; `None` for damaged bytes or an entry without its origin.
pub fn decode_index_entry(bytes: &[u8]) -> Option<(ContactState, Origin)> {
    let (&bits, rest) = bytes.split_first()?;
    if rest.len() % 8 != 1 {
        return None;
    }
    let (&origin, rest) = rest.split_first()?;
    let origin = Origin::from_bits(origin)?;
    let records = rest
        .chunks_exact(8)
        .map(|c| <[u8; 8]>::try_from(c).ok().and_then(PackedRecord::from_bytes))
        .collect::<Option<Vec<_>>>()?;
    Some((ContactState::from_packed(Suppressions::from_bits(bits), records), origin))
}

/// Everything stored about one contact point on one channel of one profile.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StoredContact {
    #[prost(string, tag = "1")]
    pub profile_id: String,
    #[prost(uint32, tag = "2")]
    pub channel: u32,
    /// The normalized contact point, kept for export and the change feed.
    #[prost(string, tag = "3")]
    pub contact_point: String,
    #[prost(message, repeated, tag = "4")]
    pub records: Vec<StoredRecord>,
    /// One entry per suppression kind ever added or lifted (the latest change of each).
    #[prost(message, repeated, tag = "5")]
    pub suppressions: Vec<StoredSuppression>,
    /// Number of history events; the next one gets `history_len + 1`.
    #[prost(uint64, tag = "6")]
    pub history_len: u64,
    /// Hash of the last history event (the chain head), empty before the first.
    #[prost(bytes = "vec", tag = "7")]
    pub last_hash: Vec<u8>,
    /// Phone numbers: the latest reassignment date (microseconds). Records that occurred at
    /// or before it no longer count (DECISION-RULES.md, "Reassigned numbers").
    #[prost(int64, optional, tag = "8")]
    pub reassigned_at_us: Option<i64>,
    /// When the contact point was erased (microseconds): the tombstone's time T. Changes
    /// that occurred at or before it are superseded; while the tombstone is active the
    /// contact point's plaintext is not kept (`contact_point` is empty).
    #[prost(int64, optional, tag = "9")]
    pub erased_at_us: Option<i64>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct StoredRecord {
    #[prost(uint32, tag = "1")]
    pub purpose_no: u32,
    #[prost(uint32, tag = "2")]
    pub topic_no: u32,
    /// 1 opted_in, 2 opted_out, 3 pending (as [`consentd_core::decision::Status`]).
    #[prost(uint32, tag = "3")]
    pub status: u32,
    /// Microseconds since the epoch: when the person acted.
    #[prost(int64, tag = "4")]
    pub occurred_at_us: i64,
    /// Seconds: opt-in lapse, or the confirmation deadline of a pending record.
    #[prost(int64, optional, tag = "5")]
    pub expires_at: Option<i64>,
    #[prost(uint64, tag = "6")]
    pub revision: u64,
    #[prost(uint32, tag = "7")]
    pub source: u32,
    /// Pending only: the id of the confirmation token that may confirm it.
    #[prost(bytes = "vec", tag = "8")]
    pub token_id: Vec<u8>,
    /// Pending only: the opt-in expiry requested, applied when confirmed.
    #[prost(int64, optional, tag = "9")]
    pub requested_expires_at: Option<i64>,
    /// Eight bytes of the change's content hash: orders two changes with the same
    /// `occurred_at` and the same direction, so any arrival order ends in the same state.
    #[prost(bytes = "vec", tag = "10")]
    pub tiebreak: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct StoredSuppression {
    #[prost(uint32, tag = "1")]
    pub kind: u32,
    #[prost(bool, tag = "2")]
    pub active: bool,
    #[prost(int64, tag = "3")]
    pub occurred_at_us: i64,
    #[prost(string, tag = "4")]
    pub reason: String,
    #[prost(uint64, tag = "5")]
    pub revision: u64,
}

/// One history event: its canonical body and its place in the hash chain.
/// Kinds (`EventBody::kind`): 1 consent, 2 confirmation, 3 suppression added, 4 suppression
/// lifted, 5 erased (suppression kind `erased`, at T), 6 reassigned (`occurred_at_us` is the
/// reassignment date).
#[derive(Clone, PartialEq, prost::Message)]
pub struct StoredEvent {
    /// Encoded [`EventBody`]; hashed as stored, so re-encoding can never change a hash.
    #[prost(bytes = "vec", tag = "1")]
    pub body: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    pub prev_hash: Vec<u8>,
    /// SHA-256(prev_hash ++ body).
    #[prost(bytes = "vec", tag = "3")]
    pub hash: Vec<u8>,
    /// The body was redacted by an erasure: its personal data removed, `hash` kept as it was
    /// computed over the original body, so the chain still links (see `history`).
    #[prost(bool, tag = "4")]
    pub redacted: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct StoredProof {
    #[prost(string, tag = "1")]
    pub ip_address: String,
    #[prost(string, tag = "2")]
    pub user_agent: String,
    #[prost(string, tag = "3")]
    pub notice_id: String,
    #[prost(string, tag = "4")]
    pub notice_version: String,
    #[prost(string, tag = "5")]
    pub notice_hash: String,
    #[prost(string, tag = "6")]
    pub notice_text: String,
}

/// Every field of a change, applied or superseded.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EventBody {
    #[prost(uint64, tag = "1")]
    pub seq: u64,
    /// 1 consent, 2 confirmation, 3 suppression added, 4 suppression lifted.
    #[prost(uint32, tag = "2")]
    pub kind: u32,
    #[prost(bool, tag = "3")]
    pub applied: bool,
    #[prost(uint64, tag = "4")]
    pub revision: u64,
    #[prost(string, tag = "5")]
    pub profile_id: String,
    #[prost(uint32, tag = "6")]
    pub channel: u32,
    #[prost(string, tag = "7")]
    pub contact_point: String,
    #[prost(string, tag = "8")]
    pub purpose_id: String,
    #[prost(string, tag = "9")]
    pub topic_id: String,
    /// As [`StoredRecord::status`]; 0 for suppression events.
    #[prost(uint32, tag = "10")]
    pub status: u32,
    /// Suppression events: the kind + 1 (0 = none).
    #[prost(uint32, tag = "11")]
    pub suppression_kind: u32,
    #[prost(int64, tag = "12")]
    pub occurred_at_us: i64,
    #[prost(int64, tag = "13")]
    pub recorded_at_us: i64,
    #[prost(int64, optional, tag = "14")]
    pub expires_at: Option<i64>,
    #[prost(uint32, tag = "15")]
    pub source: u32,
    #[prost(string, tag = "16")]
    pub actor: String,
    #[prost(string, tag = "17")]
    pub reason: String,
    #[prost(message, optional, tag = "18")]
    pub proof: Option<StoredProof>,
    #[prost(bytes = "vec", tag = "19")]
    pub token_id: Vec<u8>,
    #[prost(message, optional, tag = "20")]
    pub confirmation_proof: Option<StoredProof>,
    #[prost(int64, optional, tag = "21")]
    pub confirmed_at_us: Option<i64>,
    /// A consent or confirmation event whose opt-in lifted the tombstone of an erasure.
    #[prost(bool, tag = "22")]
    pub lifts_erasure: bool,
    /// An erasure event: the digest of every event redacted before it (see
    /// `history::RedactionDigest`), so a redacted body edited later breaks the chain.
    #[prost(bytes = "vec", tag = "23")]
    pub redacted_digest: Vec<u8>,
}

/// The answer kept for an idempotency key.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StoredIdem {
    #[prost(bytes = "vec", tag = "1")]
    pub content_hash: Vec<u8>,
    #[prost(uint32, tag = "2")]
    pub outcome: u32,
    #[prost(uint64, tag = "3")]
    pub revision: u64,
    #[prost(string, tag = "4")]
    pub confirmation_token: String,
    #[prost(int64, optional, tag = "5")]
    pub confirmation_expires_at: Option<i64>,
    #[prost(message, optional, tag = "6")]
    pub record: Option<StoredRecord>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct StoredProfile {
    #[prost(string, tag = "1")]
    pub id: String,
    #[prost(string, tag = "2")]
    pub display_name: String,
    #[prost(string, tag = "3")]
    pub default_region: String,
    /// Indexed by channel: 0 off, 1 every opt-in, 2 new contact points.
    #[prost(uint32, repeated, tag = "4")]
    pub double_opt_in: Vec<u32>,
    #[prost(int64, tag = "5")]
    pub confirmation_validity_secs: i64,
    #[prost(string, repeated, tag = "6")]
    pub extra_stop_keywords: Vec<String>,
    #[prost(string, repeated, tag = "7")]
    pub extra_start_keywords: Vec<String>,
    #[prost(bool, tag = "8")]
    pub active: bool,
    #[prost(int64, tag = "9")]
    pub created_at: i64,
    #[prost(int64, tag = "10")]
    pub updated_at: i64,
    #[prost(string, tag = "11")]
    pub brand_color: String,
    #[prost(string, tag = "12")]
    pub default_language: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct StoredPurpose {
    #[prost(string, tag = "1")]
    pub profile_id: String,
    #[prost(string, tag = "2")]
    pub id: String,
    #[prost(string, tag = "3")]
    pub display_name: String,
    /// 0 commercial, 1 transactional, 2 custom.
    #[prost(uint32, tag = "4")]
    pub kind: u32,
    /// Indexed by channel: 0 restrictive, 1 non-restrictive, 2 disabled.
    #[prost(uint32, repeated, tag = "5")]
    pub models: Vec<u32>,
    #[prost(bool, tag = "6")]
    pub active: bool,
    #[prost(uint32, tag = "7")]
    pub no: u32,
    #[prost(int64, tag = "8")]
    pub created_at: i64,
    #[prost(int64, tag = "9")]
    pub updated_at: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct StoredTopic {
    #[prost(string, tag = "1")]
    pub profile_id: String,
    #[prost(string, tag = "2")]
    pub purpose_id: String,
    #[prost(string, tag = "3")]
    pub id: String,
    #[prost(string, tag = "4")]
    pub display_name: String,
    #[prost(bool, tag = "5")]
    pub active: bool,
    #[prost(uint32, tag = "6")]
    pub no: u32,
    #[prost(int64, tag = "7")]
    pub created_at: i64,
    #[prost(int64, tag = "8")]
    pub updated_at: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct StoredApiKey {
    #[prost(string, tag = "1")]
    pub key_id: String,
    #[prost(string, tag = "2")]
    pub description: String,
    /// SHA-256 of the secret part.
    #[prost(bytes = "vec", tag = "3")]
    pub secret_hash: Vec<u8>,
    /// 1 check, 2 write, 3 admin.
    #[prost(uint32, repeated, tag = "4")]
    pub scopes: Vec<u32>,
    #[prost(string, repeated, tag = "5")]
    pub profile_ids: Vec<String>,
    #[prost(bool, tag = "6")]
    pub revoked: bool,
    #[prost(int64, tag = "7")]
    pub created_at: i64,
    /// Seconds since the epoch; from then on the key is refused. `None`: never.
    #[prost(int64, optional, tag = "8")]
    pub expires_at: Option<i64>,
}
