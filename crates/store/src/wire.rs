//! The replicated log's wire format: what one cluster node publishes and every node applies.
//!
//! The log is the source of truth for every node, so its encoding is a format of its own,
//! never a serialization of the store's domain types: protobuf messages declared here
//! (tags fixed, like the on-disk records of `codec`, whose catalog and key messages it
//! reuses), mapped once to [`Entry`] in each direction, with the same one mapping of each
//! number that `view` owns.
//!
//! What is published is a [`Sealed`] envelope: a format version, the id of the key that
//! authenticated it, the entry's exact bytes and an HMAC-SHA256 over the message id and
//! those bytes. The MAC key is derived from the cluster secret, so only a node that holds
//! the secret can write an entry any node applies; binding the message id (JetStream's
//! `Nats-Msg-Id`) means a copy of a valid entry published under another id fails the MAC,
//! and under the same id within the de-duplication window JetStream drops it (replays
//! after the window are refused by age, see `cluster`).
//!
//! Opening an envelope tells three cases apart, because they call for different answers:
//! not authentic (garbage, forged, tampered, a key this node does not hold): skipped alike
//! by every node; authentic but of a version this node does not know: the node stops
//! applying and says so (a newer node wrote it; applying a guess could diverge);
//! authentic, known version, but not a valid entry: skipped alike by every node running
//! this version.

use hmac::{Hmac, Mac};
use prost::Message;
use sha2::Sha256;

use super::codec::{ContactKey, StoredApiKey, StoredProfile, StoredProof, StoredPurpose, StoredTopic};
use super::model::{Confirmation, ConsentChange, ContactRef, Idempotency, LifeChange, LifeEvent, SuppressionChange};
use super::model::{Expect, WebhookDef, WebhookOp};
use super::op::{BatchItem, Entry, Op, SigningKeyKind};
use super::token::TokenClaims;
use super::view;
use consentd_core::decision::{Profile, Purpose, Status, Subject, Topic};

/// The newest version this build writes and applies. Version 2 added batch entries (many
/// changes in one entry) and key rotations; every other entry is still written as version
/// 1, byte for byte as before, so a node of the previous release keeps applying those and
/// stops, saying to upgrade it, at the first entry it could not apply alike.
pub const VERSION: u32 = 2;
/// The version of an entry of one change (and of records kept beside the log).
const VERSION_SINGLE: u32 = 1;
/// Largest envelope a node opens (a catalog entry with its bounded lists, or a batch of
/// changes, which the publishing node keeps below [`BATCH_BYTES_MAX`]).
pub const SEALED_BYTES_MAX: usize = 1 << 20;
/// What a publishing node puts into one batch entry at most: the changes' encoded bytes
/// (a quarter of what a node opens, so the envelope, ids and MAC always fit, and well below
/// NATS's default 1 MiB message).
pub const BATCH_BYTES_MAX: usize = 256 << 10;
/// Changes in one batch entry at most.
pub const BATCH_ITEMS_MAX: usize = 4096;
const MAC_LABEL: &[u8] = b"consentd log entry";

/// The key that authenticates log entries: derived from the cluster secret, named by an
/// id so that a node can tell "signed with a key I do not hold" from "tampered".
#[derive(Clone)]
pub struct LogKey {
    pub id: [u8; 8],
    mac: [u8; 32],
}

impl std::fmt::Debug for LogKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LogKey({})", hex(&self.id))
    }
}

impl LogKey {
    pub(super) fn new(id: [u8; 8], mac: [u8; 32]) -> LogKey {
        LogKey { id, mac }
    }

    /// The id in hex, as snapshots' metadata and server info show it.
    pub fn id_hex(&self) -> String {
        hex(&self.id)
    }

    fn hmac(&self, label: &[u8]) -> Hmac<Sha256> {
        // HMAC accepts a key of any length, so this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.mac).unwrap_or_else(|_| unreachable!());
        mac.update(label);
        mac
    }

    fn entry_mac(&self, msg_id: &str, version: u32, entry: &[u8]) -> Hmac<Sha256> {
        let mut mac = self.hmac(MAC_LABEL);
        mac.update(&(msg_id.len() as u64).to_be_bytes());
        mac.update(msg_id.as_bytes());
        mac.update(&version.to_be_bytes());
        mac.update(entry);
        mac
    }

    fn tag(&self, msg_id: &str, version: u32, entry: &[u8]) -> [u8; 32] {
        self.entry_mac(msg_id, version, entry).finalize().into_bytes().into()
    }

    fn verify(&self, msg_id: &str, version: u32, entry: &[u8], tag: &[u8]) -> bool {
        // Constant time: `verify_slice` compares with `subtle`.
        self.entry_mac(msg_id, version, entry).verify_slice(tag).is_ok()
    }
}

/// The MAC of a snapshot: over its revision, its time and its archive's bytes, fed in as
/// they are packed or unpacked.
pub struct SnapshotMac(Hmac<Sha256>);

impl SnapshotMac {
    pub fn new(key: &LogKey, revision: u64, taken_at_us: i64) -> SnapshotMac {
        let mut mac = key.hmac(b"consentd snapshot");
        mac.update(&revision.to_be_bytes());
        mac.update(&taken_at_us.to_be_bytes());
        SnapshotMac(mac)
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    pub fn finish_hex(self) -> String {
        hex(&self.0.finalize().into_bytes())
    }

    /// Constant time, against the hex form `finish_hex` gave.
    pub fn verify(self, expected_hex: &str) -> bool {
        let expected: Option<Vec<u8>> = (expected_hex.len() == 64)
            .then(|| (0..64).step_by(2).map(|i| u8::from_str_radix(expected_hex.get(i..i + 2)?, 16).ok()).collect())
            .flatten();
        expected.is_some_and(|tag| self.0.verify_slice(&tag).is_ok())
    }
}

/// Seals a record kept outside the log (in NATS, beside it) like an entry, under a label of
/// its own, so that no record opens as another kind or under another name.
pub fn seal_record(label: &str, name: &str, body: Vec<u8>, key: &LogKey) -> Vec<u8> {
    let mac = record_mac(key, label, name, &body).finalize().into_bytes().to_vec();
    Sealed { version: VERSION_SINGLE, key_id: key.id.to_vec(), entry: body, mac }.encode_to_vec()
}

/// Opens a record [`seal_record`] sealed with `label` under `name`: its body.
pub fn open_record(label: &str, name: &str, bytes: &[u8], keys: &[LogKey]) -> Result<Vec<u8>, WireError> {
    if bytes.len() > SEALED_BYTES_MAX {
        return Err(WireError::Unauthentic(format!("{} bytes, more than {SEALED_BYTES_MAX}", bytes.len())));
    }
    let Sealed { version, key_id, entry, mac } =
        Sealed::decode(bytes).map_err(|e| WireError::Unauthentic(format!("not an envelope ({e})")))?;
    let key = keys.iter().find(|k| k.id.as_slice() == key_id.as_slice()).ok_or_else(|| {
        WireError::Unauthentic(format!("signed with key `{}`, which this node does not hold", hex(&key_id)))
    })?;
    if record_mac(key, label, name, &entry).verify_slice(&mac).is_err() {
        return Err(WireError::Unauthentic(format!("its MAC does not match (`{name}`)")));
    }
    if version != VERSION_SINGLE {
        return Err(WireError::UnknownVersion(version));
    }
    Ok(entry)
}

fn record_mac(key: &LogKey, label: &str, name: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = key.hmac(b"consentd record");
    for part in [label.as_bytes(), name.as_bytes()] {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac.update(body);
    mac
}

/// Why an envelope was not opened.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Not written by a holder of the cluster secret (or not an envelope at all).
    #[error("not authentic: {0}")]
    Unauthentic(String),
    /// Authentic, but of a format version this node does not know.
    #[error("format version {0} is not known to this node (it knows 1 to {VERSION}): upgrade it")]
    UnknownVersion(u32),
    /// Authentic and of a known version, but not a valid entry.
    #[error("not a valid entry: {0}")]
    Invalid(String),
}

impl WireError {
    /// The label of `/metrics` and server info.
    pub fn kind(&self) -> &'static str {
        match self {
            WireError::Unauthentic(_) => "unauthentic",
            WireError::UnknownVersion(_) => "unknown_version",
            WireError::Invalid(_) => "invalid",
        }
    }
}

/// Encodes `entry` and seals it for publication under `msg_id`.
pub fn seal(entry: &Entry, msg_id: &str, key: &LogKey) -> Vec<u8> {
    let body = WireEntry::from(entry).encode_to_vec();
    let version = if since_version_2(&entry.op) { VERSION } else { VERSION_SINGLE };
    let mac = key.tag(msg_id, version, &body).to_vec();
    Sealed { version, key_id: key.id.to_vec(), entry: body, mac }.encode_to_vec()
}

/// Entries a node of version 1 would read as "no change" and skip: written as version 2.
fn since_version_2(op: &Op) -> bool {
    matches!(op, Op::Batch(_) | Op::RotateKey(_) | Op::Life(_))
}

/// The bytes `op` takes in an entry: what a publishing node counts against
/// [`BATCH_BYTES_MAX`].
pub fn op_len(op: &Op) -> usize {
    WireOp::from(op).encoded_len()
}

/// Authenticates and decodes an envelope published under `msg_id`.
pub fn open(bytes: &[u8], msg_id: &str, keys: &[LogKey]) -> Result<Entry, WireError> {
    if bytes.len() > SEALED_BYTES_MAX {
        return Err(WireError::Unauthentic(format!("{} bytes, more than {SEALED_BYTES_MAX}", bytes.len())));
    }
    let sealed = Sealed::decode(bytes).map_err(|e| WireError::Unauthentic(format!("not an envelope ({e})")))?;
    let Sealed { version, key_id, entry, mac } = sealed;
    let key = keys.iter().find(|k| k.id.as_slice() == key_id.as_slice()).ok_or_else(|| {
        WireError::Unauthentic(format!("signed with key `{}`, which this node does not hold", hex(&key_id)))
    })?;
    if !key.verify(msg_id, version, &entry, &mac) {
        return Err(WireError::Unauthentic(format!("its MAC does not match (message id `{msg_id}`)")));
    }
    if !(VERSION_SINGLE..=VERSION).contains(&version) {
        return Err(WireError::UnknownVersion(version));
    }
    let wire = WireEntry::decode(entry.as_slice()).map_err(|e| WireError::Invalid(e.to_string()))?;
    let entry = Entry::try_from(wire).map_err(WireError::Invalid)?;
    // A node of version 1 reads a batch or a key rotation as an entry without a change
    // and skips it; so does this one, so that every node does the same with it.
    if version < VERSION && since_version_2(&entry.op) {
        return Err(WireError::Invalid(format!(
            "a batch, key rotation, erasure or reassignment entry in format version {version}"
        )));
    }
    Ok(entry)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ---- the messages ------------------------------------------------------------------

/// What is published.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sealed {
    #[prost(uint32, tag = "1")]
    pub version: u32,
    #[prost(bytes = "vec", tag = "2")]
    pub key_id: Vec<u8>,
    /// A [`WireEntry`], exactly the bytes the MAC covers.
    #[prost(bytes = "vec", tag = "3")]
    pub entry: Vec<u8>,
    #[prost(bytes = "vec", tag = "4")]
    pub mac: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireEntry {
    #[prost(string, tag = "1")]
    origin: String,
    #[prost(uint64, tag = "2")]
    request: u64,
    #[prost(int64, tag = "3")]
    at_us: i64,
    #[prost(bytes = "vec", tag = "4")]
    token_id: Vec<u8>,
    #[prost(oneof = "WireOp", tags = "10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21")]
    op: Option<WireOp>,
}

/// Version 2: an erasure (no `reassigned_at_us`) or a reassignment of one contact point,
/// named by its keyed hash.
#[derive(Clone, PartialEq, prost::Message)]
struct WireLife {
    #[prost(string, tag = "1")]
    profile_id: String,
    #[prost(uint32, tag = "2")]
    channel: u32,
    #[prost(bytes = "vec", tag = "3")]
    key: Vec<u8>,
    #[prost(int64, optional, tag = "4")]
    reassigned_at_us: Option<i64>,
    #[prost(uint32, tag = "5")]
    source: u32,
    #[prost(string, tag = "6")]
    actor: String,
}

/// Version 2: a new link (1) or receipt (2) key, derived from the cluster secret by
/// every node; no key travels.
#[derive(Clone, PartialEq, prost::Message)]
struct WireRotateKey {
    #[prost(uint32, tag = "1")]
    kind: u32,
}

/// Version 2: changes that one node received together, in their order.
#[derive(Clone, PartialEq, prost::Message)]
struct WireBatch {
    #[prost(message, repeated, tag = "1")]
    items: Vec<WireBatchItem>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireBatchItem {
    #[prost(bytes = "vec", tag = "4")]
    token_id: Vec<u8>,
    /// Consent, suppression or confirmation only.
    #[prost(oneof = "WireOp", tags = "10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21")]
    op: Option<WireOp>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum WireOp {
    #[prost(message, tag = "10")]
    Consent(WireConsent),
    #[prost(message, tag = "11")]
    Suppression(WireSuppression),
    #[prost(message, tag = "12")]
    Confirm(WireConfirm),
    #[prost(message, tag = "13")]
    Profile(WireProfile),
    #[prost(message, tag = "14")]
    Purpose(WirePurpose),
    #[prost(message, tag = "15")]
    Topic(WireTopic),
    #[prost(message, tag = "16")]
    ApiKey(StoredApiKey),
    #[prost(message, tag = "17")]
    WebhookPut(WireWebhookPut),
    #[prost(message, tag = "18")]
    WebhookDelete(WireWebhookDelete),
    #[prost(message, tag = "19")]
    Batch(WireBatch),
    #[prost(message, tag = "20")]
    RotateKey(WireRotateKey),
    #[prost(message, tag = "21")]
    Life(WireLife),
}

/// A subscription as stored (its secrets encrypted, see `webhook`), and what it replaces.
#[derive(Clone, PartialEq, prost::Message)]
struct WireWebhookPut {
    #[prost(message, optional, tag = "1")]
    def: Option<WebhookDef>,
    /// The generation replaced; none: a new subscription.
    #[prost(uint64, optional, tag = "2")]
    expect_generation: Option<u64>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireWebhookDelete {
    #[prost(string, tag = "1")]
    webhook_id: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireContact {
    #[prost(string, tag = "1")]
    profile_id: String,
    /// The channel's stored number (`view`).
    #[prost(uint32, tag = "2")]
    channel: u32,
    #[prost(string, tag = "3")]
    contact_point: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireConsent {
    #[prost(message, optional, tag = "1")]
    contact: Option<WireContact>,
    #[prost(string, tag = "2")]
    purpose_id: String,
    #[prost(string, tag = "3")]
    topic_id: String,
    #[prost(uint32, tag = "4")]
    purpose_no: u32,
    #[prost(uint32, tag = "5")]
    topic_no: u32,
    #[prost(uint32, tag = "6")]
    status: u32,
    #[prost(int64, tag = "7")]
    occurred_at_us: i64,
    #[prost(uint32, tag = "8")]
    source: u32,
    #[prost(string, tag = "9")]
    actor: String,
    #[prost(string, tag = "10")]
    reason: String,
    #[prost(message, optional, tag = "11")]
    proof: Option<StoredProof>,
    #[prost(int64, optional, tag = "12")]
    expires_at: Option<i64>,
    /// 0 off, 1 every opt-in, 2 new contact points (as stored profiles).
    #[prost(uint32, tag = "13")]
    double_opt_in: u32,
    #[prost(int64, tag = "14")]
    confirmation_validity_secs: i64,
    #[prost(bytes = "vec", tag = "15")]
    idempotency_key_hash: Vec<u8>,
    #[prost(bytes = "vec", tag = "16")]
    idempotency_content_hash: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireSuppression {
    #[prost(message, optional, tag = "1")]
    contact: Option<WireContact>,
    #[prost(uint32, tag = "2")]
    kind: u32,
    #[prost(bool, tag = "3")]
    add: bool,
    #[prost(int64, tag = "4")]
    occurred_at_us: i64,
    #[prost(uint32, tag = "5")]
    source: u32,
    #[prost(string, tag = "6")]
    actor: String,
    #[prost(string, tag = "7")]
    reason: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireConfirm {
    #[prost(string, tag = "1")]
    token: String,
    #[prost(string, tag = "2")]
    ip_address: String,
    #[prost(string, tag = "3")]
    user_agent: String,
    #[prost(int64, tag = "4")]
    occurred_at_us: i64,
    #[prost(string, tag = "5")]
    actor: String,
    /// The claims the receiving node verified.
    #[prost(bytes = "vec", tag = "6")]
    claims_contact: Vec<u8>,
    #[prost(uint32, tag = "7")]
    claims_purpose_no: u32,
    #[prost(uint32, tag = "8")]
    claims_topic_no: u32,
    #[prost(bytes = "vec", tag = "9")]
    claims_token_id: Vec<u8>,
    #[prost(int64, tag = "10")]
    claims_expires_at: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireProfile {
    #[prost(message, optional, tag = "1")]
    profile: Option<StoredProfile>,
    #[prost(bool, tag = "2")]
    create: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
struct WirePurpose {
    #[prost(message, optional, tag = "1")]
    purpose: Option<StoredPurpose>,
    #[prost(bool, tag = "2")]
    create: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireTopic {
    #[prost(message, optional, tag = "1")]
    topic: Option<StoredTopic>,
    #[prost(bool, tag = "2")]
    create: bool,
}

// ---- the one mapping, domain -> wire ------------------------------------------------

impl From<&ContactRef> for WireContact {
    fn from(c: &ContactRef) -> Self {
        let ContactRef { profile_id, channel, contact_point } = c;
        WireContact {
            profile_id: profile_id.clone(),
            channel: view::channel_to_stored(*channel),
            contact_point: contact_point.clone(),
        }
    }
}

impl From<&Entry> for WireEntry {
    fn from(e: &Entry) -> Self {
        let Entry { origin, request, at_us, token_id, op } = e;
        WireEntry {
            origin: origin.clone(),
            request: *request,
            at_us: *at_us,
            token_id: token_id.to_vec(),
            op: Some(WireOp::from(op)),
        }
    }
}

impl From<&Op> for WireOp {
    fn from(op: &Op) -> Self {
        match op {
            Op::Consent(c) => WireOp::Consent(WireConsent::from(c)),
            Op::Suppression(s) => {
                let SuppressionChange { contact, kind, add, occurred_at_us, source, actor, reason } = s;
                WireOp::Suppression(WireSuppression {
                    contact: Some(WireContact::from(contact)),
                    kind: view::suppression_kind_to_stored(*kind),
                    add: *add,
                    occurred_at_us: *occurred_at_us,
                    source: view::source_to_stored(*source),
                    actor: actor.clone(),
                    reason: reason.clone(),
                })
            }
            Op::Confirm(confirmation, claims) => {
                let Confirmation { token, ip_address, user_agent, occurred_at_us, actor } = confirmation;
                let TokenClaims { contact, subject, token_id, expires_at } = claims;
                WireOp::Confirm(WireConfirm {
                    token: token.clone(),
                    ip_address: ip_address.clone(),
                    user_agent: user_agent.clone(),
                    occurred_at_us: *occurred_at_us,
                    actor: actor.clone(),
                    claims_contact: contact.0.to_vec(),
                    claims_purpose_no: u32::from(subject.purpose),
                    claims_topic_no: u32::from(subject.topic),
                    claims_token_id: token_id.to_vec(),
                    claims_expires_at: *expires_at,
                })
            }
            Op::Profile { profile, create } => {
                WireOp::Profile(WireProfile { profile: Some(StoredProfile::from(profile)), create: *create })
            }
            Op::Purpose { purpose, create } => {
                WireOp::Purpose(WirePurpose { purpose: Some(StoredPurpose::from(purpose)), create: *create })
            }
            Op::Topic { topic, create } => {
                WireOp::Topic(WireTopic { topic: Some(StoredTopic::from(topic)), create: *create })
            }
            Op::ApiKey(key) => WireOp::ApiKey(StoredApiKey::from(key.clone())),
            Op::Webhook(WebhookOp::Put { def, expect }) => WireOp::WebhookPut(WireWebhookPut {
                def: Some(def.as_ref().clone()),
                expect_generation: match expect {
                    Expect::Absent => None,
                    Expect::Generation(g) => Some(*g),
                },
            }),
            Op::Webhook(WebhookOp::Delete { webhook_id }) => {
                WireOp::WebhookDelete(WireWebhookDelete { webhook_id: webhook_id.clone() })
            }
            Op::Life(c) => {
                let LifeChange { profile_id, channel, key, event, source, actor } = c;
                WireOp::Life(WireLife {
                    profile_id: profile_id.clone(),
                    channel: view::channel_to_stored(*channel),
                    key: key.0.to_vec(),
                    reassigned_at_us: match event {
                        LifeEvent::Erase => None,
                        LifeEvent::Reassign { at_us } => Some(*at_us),
                    },
                    source: view::source_to_stored(*source),
                    actor: actor.clone(),
                })
            }
            Op::RotateKey(kind) => WireOp::RotateKey(WireRotateKey {
                kind: match kind {
                    SigningKeyKind::Link => 1,
                    SigningKeyKind::Receipt => 2,
                },
            }),
            Op::Batch(items) => WireOp::Batch(WireBatch {
                items: items
                    .iter()
                    .map(|BatchItem { token_id, op }| WireBatchItem {
                        token_id: token_id.to_vec(),
                        op: Some(WireOp::from(op)),
                    })
                    .collect(),
            }),
        }
    }
}

impl From<&ConsentChange> for WireConsent {
    fn from(c: &ConsentChange) -> Self {
        let ConsentChange {
            contact,
            purpose_id,
            topic_id,
            subject,
            status,
            occurred_at_us,
            source,
            actor,
            reason,
            proof,
            expires_at,
            double_opt_in,
            confirmation_validity_secs,
            idempotency,
        } = c;
        WireConsent {
            contact: Some(WireContact::from(contact)),
            purpose_id: purpose_id.clone(),
            topic_id: topic_id.clone(),
            purpose_no: u32::from(subject.purpose),
            topic_no: u32::from(subject.topic),
            status: view::status_to_stored(*status),
            occurred_at_us: *occurred_at_us,
            source: view::source_to_stored(*source),
            actor: actor.clone(),
            reason: reason.clone(),
            proof: proof.clone().map(StoredProof::from),
            expires_at: *expires_at,
            double_opt_in: super::config::doi_to_u32(*double_opt_in),
            confirmation_validity_secs: *confirmation_validity_secs,
            idempotency_key_hash: idempotency.map(|i| i.key_hash.to_vec()).unwrap_or_default(),
            idempotency_content_hash: idempotency.map(|i| i.content_hash.to_vec()).unwrap_or_default(),
        }
    }
}

// ---- and wire -> domain, refusing every number it does not know -----------------------

fn known<T>(what: &str, n: u32, v: Option<T>) -> Result<T, String> {
    v.ok_or_else(|| format!("unknown {what} {n}"))
}

fn fixed<const N: usize>(what: &str, bytes: &[u8]) -> Result<[u8; N], String> {
    bytes.try_into().map_err(|_| format!("`{what}` has {} bytes, not {N}", bytes.len()))
}

fn number<T: TryFrom<u32>>(what: &str, n: u32) -> Result<T, String> {
    T::try_from(n).map_err(|_| format!("`{what}` {n} is out of range"))
}

impl TryFrom<WireContact> for ContactRef {
    type Error = String;
    fn try_from(c: WireContact) -> Result<Self, String> {
        let WireContact { profile_id, channel, contact_point } = c;
        Ok(ContactRef {
            profile_id,
            channel: known("channel", channel, view::channel_from_stored(channel))?,
            contact_point,
        })
    }
}

impl TryFrom<WireEntry> for Entry {
    type Error = String;
    fn try_from(e: WireEntry) -> Result<Self, String> {
        let WireEntry { origin, request, at_us, token_id, op } = e;
        let op = op_from_wire(op.ok_or("the entry carries no change")?)?;
        Ok(Entry { origin, request, at_us, token_id: fixed("token_id", &token_id)?, op })
    }
}

fn op_from_wire(op: WireOp) -> Result<Op, String> {
    let op = match op {
        WireOp::Consent(c) => Op::Consent(ConsentChange::try_from(c)?),
        WireOp::Suppression(s) => {
            let WireSuppression { contact, kind, add, occurred_at_us, source, actor, reason } = s;
            Op::Suppression(SuppressionChange {
                contact: ContactRef::try_from(contact.ok_or("a suppression without its contact point")?)?,
                kind: known("suppression kind", kind, view::suppression_kind_from_stored(kind))?,
                add,
                occurred_at_us,
                source: known("source", source, view::source_from_stored(source))?,
                actor,
                reason,
            })
        }
        WireOp::Confirm(c) => {
            let WireConfirm {
                token,
                ip_address,
                user_agent,
                occurred_at_us,
                actor,
                claims_contact,
                claims_purpose_no,
                claims_topic_no,
                claims_token_id,
                claims_expires_at,
            } = c;
            let claims = TokenClaims {
                contact: ContactKey(fixed("claims_contact", &claims_contact)?),
                subject: Subject {
                    purpose: number("claims_purpose_no", claims_purpose_no)?,
                    topic: number("claims_topic_no", claims_topic_no)?,
                },
                token_id: fixed("claims_token_id", &claims_token_id)?,
                expires_at: claims_expires_at,
            };
            Op::Confirm(Confirmation { token, ip_address, user_agent, occurred_at_us, actor }, claims)
        }
        WireOp::Profile(WireProfile { profile, create }) => {
            Op::Profile { profile: Profile::from(&profile.ok_or("a profile entry without its profile")?), create }
        }
        WireOp::Purpose(WirePurpose { purpose, create }) => Op::Purpose {
            purpose: Purpose::try_from(&purpose.ok_or("a purpose entry without its purpose")?).map_err(|d| d.0)?,
            create,
        },
        WireOp::Topic(WireTopic { topic, create }) => Op::Topic {
            topic: Topic::try_from(&topic.ok_or("a topic entry without its topic")?).map_err(|d| d.0)?,
            create,
        },
        WireOp::ApiKey(key) => Op::ApiKey(view::ApiKey::try_from(key).map_err(|d| d.0)?),
        WireOp::WebhookPut(WireWebhookPut { def, expect_generation }) => {
            let def = def.ok_or("a webhook entry without its subscription")?;
            if def.webhook_id.is_empty() {
                return Err("a webhook entry without an id".to_owned());
            }
            if !def.secrets.is_empty() {
                return Err("a webhook entry with its secrets in the clear".to_owned());
            }
            let expect = expect_generation.map_or(Expect::Absent, Expect::Generation);
            Op::Webhook(WebhookOp::Put { def: Box::new(def), expect })
        }
        WireOp::WebhookDelete(WireWebhookDelete { webhook_id }) => Op::Webhook(WebhookOp::Delete { webhook_id }),
        WireOp::Life(WireLife { profile_id, channel, key, reassigned_at_us, source, actor }) => Op::Life(LifeChange {
            profile_id,
            channel: known("channel", channel, view::channel_from_stored(channel))?,
            key: ContactKey(fixed("key", &key)?),
            event: reassigned_at_us.map_or(LifeEvent::Erase, |at_us| LifeEvent::Reassign { at_us }),
            source: known("source", source, view::source_from_stored(source))?,
            actor,
        }),
        WireOp::RotateKey(WireRotateKey { kind }) => Op::RotateKey(match kind {
            1 => SigningKeyKind::Link,
            2 => SigningKeyKind::Receipt,
            other => return Err(format!("unknown signing key kind {other}")),
        }),
        WireOp::Batch(WireBatch { items }) => {
            if items.is_empty() || items.len() > BATCH_ITEMS_MAX {
                return Err(format!("a batch of {} changes (1 to {BATCH_ITEMS_MAX})", items.len()));
            }
            let items = items
                .into_iter()
                .enumerate()
                .map(|(i, WireBatchItem { token_id, op })| {
                    let op = op_from_wire(op.ok_or_else(|| format!("batch item {i} carries no change"))?)?;
                    if !op.batchable() {
                        return Err(format!("batch item {i} is not a change of one contact point"));
                    }
                    Ok(BatchItem { token_id: fixed("token_id", &token_id)?, op })
                })
                .collect::<Result<Vec<_>, String>>()?;
            Op::Batch(items)
        }
    };
    Ok(op)
}

impl TryFrom<WireConsent> for ConsentChange {
    type Error = String;
    fn try_from(c: WireConsent) -> Result<Self, String> {
        let WireConsent {
            contact,
            purpose_id,
            topic_id,
            purpose_no,
            topic_no,
            status,
            occurred_at_us,
            source,
            actor,
            reason,
            proof,
            expires_at,
            double_opt_in,
            confirmation_validity_secs,
            idempotency_key_hash,
            idempotency_content_hash,
        } = c;
        let status = known("status", status, view::status_from_stored(status))?;
        if !matches!(status, Status::OptedIn | Status::OptedOut) {
            return Err(format!("a change to status {status:?}; only opt-ins and opt-outs are written"));
        }
        let idempotency = match (idempotency_key_hash.is_empty(), idempotency_content_hash.is_empty()) {
            (true, true) => None,
            _ => Some(Idempotency {
                key_hash: fixed("idempotency_key_hash", &idempotency_key_hash)?,
                content_hash: fixed("idempotency_content_hash", &idempotency_content_hash)?,
            }),
        };
        Ok(ConsentChange {
            contact: ContactRef::try_from(contact.ok_or("a consent change without its contact point")?)?,
            purpose_id,
            topic_id,
            subject: Subject { purpose: number("purpose_no", purpose_no)?, topic: number("topic_no", topic_no)? },
            status,
            occurred_at_us,
            source: known("source", source, view::source_from_stored(source))?,
            actor,
            reason,
            proof: proof.map(view::Proof::from),
            expires_at,
            double_opt_in: known("double opt-in mode", double_opt_in, super::config::doi_from_stored(double_opt_in))?,
            confirmation_validity_secs,
            idempotency,
        })
    }
}

#[cfg(test)]
mod tests;
