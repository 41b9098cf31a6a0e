//! Reads of stored records outside the hot index: contact records, history pages and
//! their chain check, the change feed, and full scans for export. A checksum failure or an
//! undecodable value on the way is reported to the store's health (see [`super::health`]).

use prost::Message;
use rocksdb::{Direction, IteratorMode};

use super::codec::{self, CF_CHANGES, CF_HISTORY, CF_STATE, ContactKey, EventBody, StoredContact, StoredEvent};
use super::history::{self, ChainVerification};
use super::view::{Contact, Event};
use super::{StorageError, Store};

impl Store {
    /// The profile of the contact point a valid token names (for access checks before
    /// confirming); `None` when the record no longer exists.
    pub fn token_profile(&self, token: &str) -> Result<Option<String>, StorageError> {
        let now = self.now_us().div_euclid(1_000_000);
        let claims = self.shared().token_key.verify(token, now)?;
        Ok(self.get_stored(&claims.contact)?.map(|c| c.profile_id))
    }

    /// The stored records and suppressions of one contact point.
    pub fn get_contact(&self, key: &ContactKey) -> Result<Option<Contact>, StorageError> {
        self.get_stored(key)?
            .map(|c| {
                Contact::try_from(c)
                    .map_err(|e| self.shared().undecodable(format!("contact {} is undecodable: {e}", key.log_tag())))
            })
            .transpose()
    }

    pub(super) fn get_stored(&self, key: &ContactKey) -> Result<Option<StoredContact>, StorageError> {
        let s = self.shared();
        match s.db.get_pinned_cf(s.cf(CF_STATE)?, key.0).map_err(|e| s.read_error(e))? {
            None => Ok(None),
            Some(bytes) => self.decode_stored(key, bytes.as_ref()).map(Some),
        }
    }

    /// The `state` value of `key`, decoded; damage is reported to the store's health.
    pub(super) fn decode_stored(&self, key: &ContactKey, bytes: &[u8]) -> Result<StoredContact, StorageError> {
        StoredContact::decode(bytes)
            .map_err(|e| self.shared().undecodable(format!("contact {} is undecodable: {e}", key.log_tag())))
    }

    /// History events of one contact point with `seq > after_seq`, at most `limit`.
    pub fn history(&self, key: &ContactKey, after_seq: u64, limit: usize) -> Result<Vec<Event>, StorageError> {
        let mut out = Vec::new();
        for item in self.history_iter(key, after_seq)? {
            if out.len() >= limit {
                break;
            }
            let (_, event) = item?;
            out.push(self.decode_event(key, event)?);
        }
        Ok(out)
    }

    /// A page of events after `after_seq`: at most `limit` of them and, past the first, at
    /// most `bytes_max` bytes of stored events (a page of events with 64 KiB notices would
    /// otherwise outgrow the message limit); and whether more follow.
    pub fn history_page(
        &self,
        key: &ContactKey,
        after_seq: u64,
        limit: usize,
        bytes_max: usize,
    ) -> Result<(Vec<Event>, bool), StorageError> {
        let mut out = Vec::new();
        let mut bytes = 0usize;
        for item in self.history_iter(key, after_seq)? {
            let (_, event) = item?;
            let size = event.body.len() + event.prev_hash.len() + event.hash.len();
            if out.len() >= limit || (!out.is_empty() && bytes + size > bytes_max) {
                return Ok((out, true));
            }
            bytes += size;
            out.push(self.decode_event(key, event)?);
        }
        Ok((out, false))
    }

    fn decode_event(&self, key: &ContactKey, event: StoredEvent) -> Result<Event, StorageError> {
        let bad = |e: String| self.shared().undecodable(format!("history event undecodable: {e}"));
        let body = EventBody::decode(event.body.as_slice()).map_err(|e| bad(e.to_string()))?;
        Event::from_stored(*key, body, event).map_err(|d| bad(d.0))
    }

    fn history_iter(
        &self,
        key: &ContactKey,
        after_seq: u64,
    ) -> Result<impl Iterator<Item = Result<(u64, StoredEvent), StorageError>> + '_, StorageError> {
        let s = self.shared();
        let start = codec::history_key(key, after_seq.saturating_add(1));
        let prefix = key.0;
        let iter = s.db.iterator_cf(s.cf(CF_HISTORY)?, IteratorMode::From(&start, Direction::Forward));
        Ok(iter
            .map_while(move |item| match item {
                Ok((k, v)) if k.len() == 24 && k[..16] == prefix => Some(Ok((k, v))),
                Ok(_) => None,
                Err(e) => Some(Err(s.read_error(e))),
            })
            .map(|item| {
                let (k, v) = item?;
                let seq = codec::decode_u64(&k[16..]).unwrap_or(0);
                let event = StoredEvent::decode(v.as_ref())
                    .map_err(|e| s.undecodable(format!("history event {seq} undecodable: {e}")))?;
                Ok((seq, event))
            }))
    }

    /// Verifies the whole hash chain of one contact point against its stored head. A long
    /// chain verified earlier in this process is checked from where that verification
    /// ended (see [`history::VerifiedPrefixes`]); the answer's `events_read` says how many
    /// events this call read.
    pub fn verify_history(&self, key: &ContactKey) -> Result<(ChainVerification, u64), StorageError> {
        let s = self.shared();
        let (len, head, erased) = match self.get_stored(key)? {
            Some(c) => (c.history_len, c.last_hash, c.erased_at_us.is_some()),
            None => (0, Vec::new(), false),
        };
        // Resume after the verified prefix, if the event at its end is still the one
        // verified then (same hash, and its hash still covers its body).
        let mut from = (0u64, history::GENESIS_HASH);
        // An erased chain is read whole: its erasure events vouch for every redacted event
        // before them (see `history::RedactionDigest`).
        if let Some((at, hash)) = s.verified.get(&key.0).filter(|(at, _)| *at <= len && *at > 0 && !erased) {
            let same = match self.history_iter(key, at - 1)?.next() {
                Some(Ok((seq, e))) => {
                    seq == at && e.hash.as_slice() == hash && history::chain_hash(&e.prev_hash, &e.body) == hash
                }
                _ => false,
            };
            if same {
                from = (at, hash);
            } else {
                s.verified.forget(&key.0);
            }
        }
        // Streamed: one event in memory at a time, not the whole history (200k events took
        // 141 MB per call when collected first).
        let mut damaged = None;
        let mut failed = None;
        let mut read = 0u64;
        // Events past the length read above were appended since (the writer stores an
        // event and its contact record in one batch): not part of the chain checked now.
        let events = self.history_iter(key, from.0)?.map_while(|item| match item {
            Ok((seq, _)) if seq > len => None,
            Ok(e) => {
                read += 1;
                Some(e)
            }
            Err(StorageError::Corrupt { detail, .. }) => {
                damaged = Some(detail);
                None
            }
            Err(e) => {
                failed = Some(e);
                None
            }
        });
        let v = history::verify_chain_from(events, from.0, &from.1, len, &head);
        if let Some(e) = failed {
            return Err(e);
        }
        if let Some(detail) = damaged {
            s.verified.forget(&key.0);
            let v = ChainVerification {
                intact: false,
                events_checked: v.events_checked,
                first_broken_seq: v.events_checked + 1,
                detail,
            };
            return Ok((v, read));
        }
        if v.intact {
            s.verified.put(key.0, len, &head);
        } else {
            s.verified.forget(&key.0);
        }
        Ok((v, read))
    }

    /// Applied changes with a revision greater than `after`, in revision order, at most `limit`.
    pub fn changes_after(&self, after: u64, limit: usize) -> Result<Vec<(u64, Event)>, StorageError> {
        let s = self.shared();
        let start = codec::revision_key(after.saturating_add(1));
        let mut out = Vec::new();
        for item in s.db.iterator_cf(s.cf(CF_CHANGES)?, IteratorMode::From(&start, Direction::Forward)) {
            if out.len() >= limit {
                break;
            }
            let (k, v) = item.map_err(|e| s.read_error(e))?;
            let bad = || s.undecodable("change feed entry is damaged".to_owned());
            let rev = codec::decode_u64(&k).ok_or_else(bad)?;
            let hist = s.db.get_pinned_cf(s.cf(CF_HISTORY)?, &*v).map_err(|e| s.read_error(e))?.ok_or_else(bad)?;
            let event = StoredEvent::decode(hist.as_ref()).map_err(|_| bad())?;
            let key = v.get(..16).and_then(ContactKey::from_slice).ok_or_else(bad)?;
            out.push((rev, self.decode_event(&key, event)?));
        }
        Ok(out)
    }

    /// Every stored contact point with its key, in key order, for export.
    pub fn for_each_contact(&self, mut f: impl FnMut(ContactKey, Contact) -> bool) -> Result<(), StorageError> {
        let s = self.shared();
        for item in s.db.iterator_cf(s.cf(CF_STATE)?, IteratorMode::Start) {
            let (k, v) = item.map_err(|e| s.read_error(e))?;
            let key = ContactKey::from_slice(&k).ok_or_else(|| s.undecodable("a contact key is damaged"))?;
            let bad = |e: String| s.undecodable(format!("contact undecodable: {e}"));
            let contact = StoredContact::decode(v.as_ref()).map_err(|e| bad(e.to_string()))?;
            let contact = Contact::try_from(contact).map_err(|d| bad(d.0))?;
            if !f(key, contact) {
                break;
            }
        }
        Ok(())
    }
}
