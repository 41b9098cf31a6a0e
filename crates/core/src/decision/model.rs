//! Plain model types of the decision engine: channels, enforcement models, consent records
//! and suppressions in the compact form the hot index keeps them in.
//! One file because the packed forms and the enums they pack are one encoding: a change to
//! either must be seen next to the other.

use std::fmt;

/// Seconds since the Unix epoch. The engine never reads a clock; callers pass `now`.
pub type UnixSeconds = i64;

/// The channel a message is delivered on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[repr(u8)]
pub enum Channel {
    Email = 0,
    Sms = 1,
    Whatsapp = 2,
    Push = 3,
    Voice = 4,
    Custom = 5,
}

impl Channel {
    /// How many channels there are: the length of every per-channel table.
    pub const COUNT: usize = 6;

    pub const ALL: [Channel; Channel::COUNT] =
        [Channel::Email, Channel::Sms, Channel::Whatsapp, Channel::Push, Channel::Voice, Channel::Custom];

    /// The form of contact point this channel delivers to.
    pub fn contact_kind(self) -> crate::contact::Kind {
        use crate::contact::Kind;
        match self {
            Channel::Email => Kind::Email,
            Channel::Sms | Channel::Whatsapp | Channel::Voice => Kind::Phone,
            Channel::Push | Channel::Custom => Kind::Token,
        }
    }

    /// The channels that deliver to contact points of `kind` (a phone number's sms,
    /// whatsapp and voice): what erasures and moves of one contact point cover.
    pub fn of_kind(kind: crate::contact::Kind) -> impl Iterator<Item = Channel> {
        Channel::ALL.into_iter().filter(move |c| c.contact_kind() == kind)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Whatsapp => "whatsapp",
            Channel::Push => "push",
            Channel::Voice => "voice",
            Channel::Custom => "custom",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a purpose is enforced on one channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum EnforcementModel {
    /// Sends only with an explicit, current opt-in.
    Restrictive,
    /// Sends unless opted out or suppressed.
    NonRestrictive,
    /// Always sends; records and suppressions are not read.
    Disabled,
}

impl EnforcementModel {
    pub fn parse(s: &str) -> Option<EnforcementModel> {
        match s {
            "restrictive" => Some(EnforcementModel::Restrictive),
            "non_restrictive" => Some(EnforcementModel::NonRestrictive),
            "disabled" => Some(EnforcementModel::Disabled),
            _ => None,
        }
    }
}

/// Why a message is sent; decides the default enforcement model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum PurposeKind {
    Commercial,
    Transactional,
    Custom,
}

impl PurposeKind {
    /// "Better safe than sorry": everything but transactional is restrictive by default;
    /// transactional mail goes out unless the person opted out or is suppressed.
    pub fn default_model(self) -> EnforcementModel {
        match self {
            PurposeKind::Commercial | PurposeKind::Custom => EnforcementModel::Restrictive,
            PurposeKind::Transactional => EnforcementModel::NonRestrictive,
        }
    }

    pub fn parse(s: &str) -> Option<PurposeKind> {
        match s {
            "commercial" => Some(PurposeKind::Commercial),
            "transactional" => Some(PurposeKind::Transactional),
            "custom" => Some(PurposeKind::Custom),
            _ => None,
        }
    }
}

/// A stored consent status. "No record" (`not_set`) is the absence of a [`Record`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[repr(u8)]
pub enum Status {
    OptedIn = 1,
    OptedOut = 2,
    /// Double opt-in requested, not confirmed. Never counts as consent.
    Pending = 3,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::OptedIn => "opted_in",
            Status::OptedOut => "opted_out",
            Status::Pending => "pending",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "opted_in" => Some(Status::OptedIn),
            "opted_out" => Some(Status::OptedOut),
            "pending" => Some(Status::Pending),
            _ => None,
        }
    }
}

/// A channel-wide block on one contact point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[repr(u8)]
pub enum SuppressionKind {
    HardBounce = 0,
    SpamComplaint = 1,
    SmsStop = 2,
    Manual = 3,
    /// The contact point was erased at a data subject's request: a tombstone under the keyed
    /// hash that blocks every channel of it until a new, proven opt-in (DECISION-RULES.md,
    /// "A contact point's life").
    Erased = 4,
    /// The person moved to another address or number (`MoveContactPoint`): their consent
    /// went with them, and the old contact point no longer reaches them.
    Moved = 5,
}

impl SuppressionKind {
    /// In the order a decision reports them when several are active.
    pub const ALL: [SuppressionKind; 6] = [
        SuppressionKind::HardBounce,
        SuppressionKind::SpamComplaint,
        SuppressionKind::SmsStop,
        SuppressionKind::Manual,
        SuppressionKind::Erased,
        SuppressionKind::Moved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SuppressionKind::HardBounce => "hard_bounce",
            SuppressionKind::SpamComplaint => "spam_complaint",
            SuppressionKind::SmsStop => "sms_stop",
            SuppressionKind::Manual => "manual",
            SuppressionKind::Erased => "erased",
            SuppressionKind::Moved => "moved",
        }
    }

    pub fn parse(s: &str) -> Option<SuppressionKind> {
        SuppressionKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// The set of active suppression kinds, one bit each.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Suppressions(u8);

impl Suppressions {
    pub const NONE: Suppressions = Suppressions(0);

    pub fn from_bits(bits: u8) -> Suppressions {
        Suppressions(bits & ((1 << SuppressionKind::ALL.len()) - 1))
    }

    pub fn bits(self) -> u8 {
        self.0
    }

    pub fn contains(self, kind: SuppressionKind) -> bool {
        self.0 & kind.bit() != 0
    }

    pub fn with(self, kind: SuppressionKind) -> Suppressions {
        Suppressions(self.0 | kind.bit())
    }

    pub fn without(self, kind: SuppressionKind) -> Suppressions {
        Suppressions(self.0 & !kind.bit())
    }

    /// The first active kind in [`SuppressionKind::ALL`] order.
    pub fn first(self) -> Option<SuppressionKind> {
        SuppressionKind::ALL.into_iter().find(|k| self.contains(*k))
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// Interned purpose number, unique in one server. 14 bits, see [`Subject`].
pub type PurposeNo = u16;
/// Interned topic number, unique in one server; 0 is "no topic".
pub type TopicNo = u16;

/// What a record is about: a purpose, or one topic of a purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Subject {
    pub purpose: PurposeNo,
    /// 0 for the purpose-level record.
    pub topic: TopicNo,
}

impl Subject {
    /// Purpose numbers fit in 14 bits so that a record packs into 8 bytes.
    pub const PURPOSE_NO_MAX: PurposeNo = (1 << 14) - 1;
    pub const TOPIC_NO_MAX: TopicNo = u16::MAX;

    pub fn purpose(purpose: PurposeNo) -> Subject {
        Subject { purpose, topic: 0 }
    }
}

/// One consent record as the engine sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Record {
    pub status: Status,
    /// For `OptedIn`: when the opt-in lapses. For `Pending`: the confirmation deadline.
    /// Ignored for `OptedOut`: an opt-out never expires.
    pub expires_at: Option<UnixSeconds>,
}

/// A record packed into 8 bytes for the hot index: 2 bits status, 14 bits purpose number,
/// 16 bits topic number, 32 bits expiry as seconds since 2000-01-01 (`u32::MAX` = none).
///
/// Status bits 0 mark a *voided opt-in*: an opt-in recorded before its phone number's
/// reassignment date ([`PackedRecord::voided`]). It reads as no record ([`ContactState::get`]
/// skips it), but a restrictive decision reports why ([`ContactState::voided`]).
///
/// Expiry range: 2000-01-01 to 2136-02-07. Earlier expiries clamp to the epoch (already
/// expired either way); later ones to the last second of the range, which no send reaches.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PackedRecord {
    head: u32,
    expires: u32,
}

/// 2000-01-01T00:00:00Z as Unix seconds.
const PACK_EPOCH: UnixSeconds = 946_684_800;
const NO_EXPIRY: u32 = u32::MAX;

impl PackedRecord {
    pub fn new(subject: Subject, record: Record) -> PackedRecord {
        let status = record.status as u32;
        let purpose = u32::from(subject.purpose & Subject::PURPOSE_NO_MAX);
        let head = (status << 30) | (purpose << 16) | u32::from(subject.topic);
        let expires = match record.expires_at {
            None => NO_EXPIRY,
            Some(t) => {
                let rel = (t - PACK_EPOCH).clamp(0, i64::from(NO_EXPIRY - 1));
                // Clamped into 0..NO_EXPIRY just above, so the conversion cannot fail.
                u32::try_from(rel).unwrap_or(NO_EXPIRY - 1)
            }
        };
        PackedRecord { head, expires }
    }

    /// The mark of an opt-in a reassignment voided (DECISION-RULES.md, "Reassigned
    /// numbers"): no status, no expiry.
    pub fn voided(subject: Subject) -> PackedRecord {
        let purpose = u32::from(subject.purpose & Subject::PURPOSE_NO_MAX);
        PackedRecord { head: (purpose << 16) | u32::from(subject.topic), expires: NO_EXPIRY }
    }

    /// Whether this is the mark of a voided opt-in rather than a record.
    #[inline]
    pub fn is_voided(self) -> bool {
        self.head >> 30 == 0
    }

    pub fn subject(self) -> Subject {
        Subject {
            purpose: ((self.head >> 16) & u32::from(Subject::PURPOSE_NO_MAX)) as u16,
            topic: (self.head & 0xffff) as u16,
        }
    }

    pub fn record(self) -> Record {
        let status = match self.head >> 30 {
            1 => Status::OptedIn,
            2 => Status::OptedOut,
            // 3 is pending; 0 is a voided opt-in, which callers skip (`is_voided`): read
            // as a record it is the one that never counts as consent.
            _ => Status::Pending,
        };
        let expires_at = if self.expires == NO_EXPIRY { None } else { Some(PACK_EPOCH + i64::from(self.expires)) };
        Record { status, expires_at }
    }
}

/// How a stored record reads once its phone number was reassigned at `reassigned_at`
/// (DECISION-RULES.md, "Reassigned numbers"): a record that occurred at or before that moment
/// no longer counts; an opt-in leaves the voided mark so that a restrictive decision says
/// why; an opt-out or a pending one leaves nothing (`not_set`). Both times in one unit.
pub fn after_reassignment(
    subject: Subject,
    record: Record,
    occurred_at: i64,
    reassigned_at: Option<i64>,
) -> Option<PackedRecord> {
    match reassigned_at {
        Some(d) if occurred_at <= d => (record.status == Status::OptedIn).then(|| PackedRecord::voided(subject)),
        _ => Some(PackedRecord::new(subject, record)),
    }
}

impl PackedRecord {
    pub fn to_bytes(self) -> [u8; 8] {
        let mut out = [0u8; 8];
        out[..4].copy_from_slice(&self.head.to_le_bytes());
        out[4..].copy_from_slice(&self.expires.to_le_bytes());
        out
    }

    /// `None` for bytes neither [`PackedRecord::new`] nor [`PackedRecord::voided`]
    /// produces (a voided mark of purpose 0, which no purpose has, or one with an expiry).
    pub fn from_bytes(bytes: [u8; 8]) -> Option<PackedRecord> {
        let [a, b, c, d, e, f, g, h] = bytes;
        let head = u32::from_le_bytes([a, b, c, d]);
        let expires = u32::from_le_bytes([e, f, g, h]);
        let r = PackedRecord { head, expires };
        (!r.is_voided() || (r.subject().purpose != 0 && expires == NO_EXPIRY)).then_some(r)
    }
}

impl fmt::Debug for PackedRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PackedRecord").field(&self.subject()).field(&self.record()).finish()
    }
}

/// Everything the engine may read about one contact point on one channel.
///
/// This is also the hot index's value type, so it is kept to 16 bytes: up to two records of
/// which at most one has an expiry (the common case: a purpose and a topic) sit inline as
/// two 4-byte heads and one 4-byte expiry; anything else goes to one heap vector behind a
/// thin pointer. Records are sorted by subject.
#[derive(Clone, PartialEq, Eq)]
pub struct ContactState {
    repr: Repr,
}

#[derive(Clone, PartialEq, Eq)]
enum Repr {
    /// Up to two records; `expiring` is 1 + the index of the one with an expiry (0: none).
    Small { suppressions: Suppressions, len: u8, expiring: u8, heads: [u32; 2], expires: u32 },
    /// Everything else. A `Box<Vec>` (a thin pointer) rather than a `Box<[_]>` (a fat
    /// one) keeps the whole enum at 16 bytes; the double indirection only costs the rare
    /// contact point with three or more records.
    #[expect(clippy::box_collection, reason = "a thin pointer keeps ContactState at 16 bytes")]
    Heap { suppressions: Suppressions, records: Box<Vec<PackedRecord>> },
}

impl Default for ContactState {
    fn default() -> Self {
        ContactState::from_sorted(Suppressions::NONE, &[])
    }
}

impl fmt::Debug for ContactState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContactState")
            .field("suppressions", &self.suppressions())
            .field("records", &self.to_packed())
            .finish()
    }
}

/// Record `i` of the inline representation.
#[inline]
fn small_record(i: usize, expiring: u8, heads: &[u32; 2], expires: u32) -> PackedRecord {
    let expires = if usize::from(expiring) == i + 1 { expires } else { NO_EXPIRY };
    PackedRecord { head: heads[i], expires }
}

impl ContactState {
    pub fn new(suppressions: Suppressions, records: impl IntoIterator<Item = (Subject, Record)>) -> Self {
        let mut packed: Vec<PackedRecord> = records.into_iter().map(|(s, r)| PackedRecord::new(s, r)).collect();
        // Later entries for the same subject win, as with repeated `set`.
        packed.reverse();
        ContactState::from_packed(suppressions, packed)
    }

    /// From records in any order; the first of duplicate subjects is kept.
    pub fn from_packed(suppressions: Suppressions, mut records: Vec<PackedRecord>) -> Self {
        records.sort_by_key(|r| r.subject());
        records.dedup_by_key(|r| r.subject());
        ContactState::from_sorted(suppressions, &records)
    }

    fn from_sorted(suppressions: Suppressions, records: &[PackedRecord]) -> Self {
        let expiring: Vec<usize> = (0..records.len()).filter(|i| records[*i].expires != NO_EXPIRY).collect();
        let repr = if records.len() <= 2 && expiring.len() <= 1 {
            let mut heads = [0u32; 2];
            for (slot, r) in heads.iter_mut().zip(records) {
                *slot = r.head;
            }
            Repr::Small {
                suppressions,
                // At most two records and indexes below two: both fit a u8.
                len: records.len() as u8,
                expiring: expiring.first().map_or(0, |i| *i as u8 + 1),
                heads,
                expires: expiring.first().map_or(NO_EXPIRY, |i| records[*i].expires),
            }
        } else {
            Repr::Heap { suppressions, records: Box::new(records.to_vec()) }
        };
        ContactState { repr }
    }

    pub fn suppressions(&self) -> Suppressions {
        match &self.repr {
            Repr::Small { suppressions, .. } | Repr::Heap { suppressions, .. } => *suppressions,
        }
    }

    /// The records, packed and sorted by subject (a copy; not for the hot path).
    pub fn to_packed(&self) -> Vec<PackedRecord> {
        match &self.repr {
            Repr::Small { len, expiring, heads, expires, .. } => {
                (0..usize::from(*len)).map(|i| small_record(i, *expiring, heads, *expires)).collect()
            }
            Repr::Heap { records, .. } => records.to_vec(),
        }
    }

    /// Heap bytes owned beyond the 16 inline ones (vector header and records).
    pub fn heap_bytes(&self) -> usize {
        match &self.repr {
            Repr::Small { .. } => 0,
            Repr::Heap { records, .. } => std::mem::size_of::<Vec<PackedRecord>>() + records.capacity() * 8,
        }
    }

    /// The record of `subject`; `None` when there is none or a reassignment voided it.
    #[inline]
    pub fn get(&self, subject: Subject) -> Option<Record> {
        self.packed(subject).filter(|r| !r.is_voided()).map(PackedRecord::record)
    }

    /// The subject of the first record (voided ones included): every record of a state is
    /// of one profile, so this names it; `None` without records.
    #[inline]
    pub fn first_subject(&self) -> Option<Subject> {
        match &self.repr {
            Repr::Small { len: 0, .. } => None,
            Repr::Small { heads, .. } => Some(PackedRecord { head: heads[0], expires: NO_EXPIRY }.subject()),
            Repr::Heap { records, .. } => records.first().map(|r| r.subject()),
        }
    }

    /// Whether `subject`'s opt-in was voided by its number's reassignment.
    #[inline]
    pub fn voided(&self, subject: Subject) -> bool {
        self.packed(subject).is_some_and(PackedRecord::is_voided)
    }

    #[inline]
    fn packed(&self, subject: Subject) -> Option<PackedRecord> {
        match &self.repr {
            Repr::Small { len, expiring, heads, expires, .. } => (0..usize::from(*len))
                .map(|i| small_record(i, *expiring, heads, *expires))
                .find(|r| r.subject() == subject),
            Repr::Heap { records, .. } => records.iter().find(|r| r.subject() == subject).copied(),
        }
    }

    /// Sets or (with `None`) removes the record of `subject`.
    pub fn set(&mut self, subject: Subject, record: Option<Record>) {
        let mut records = self.to_packed();
        match (records.binary_search_by_key(&subject, |r| r.subject()), record) {
            (Ok(i), Some(rec)) => records[i] = PackedRecord::new(subject, rec),
            (Ok(i), None) => {
                records.remove(i);
            }
            (Err(i), Some(rec)) => records.insert(i, PackedRecord::new(subject, rec)),
            (Err(_), None) => return,
        }
        *self = ContactState::from_sorted(self.suppressions(), &records);
    }

    pub fn is_empty(&self) -> bool {
        self.suppressions().is_empty() && matches!(self.repr, Repr::Small { len: 0, .. })
    }
}
