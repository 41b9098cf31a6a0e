//! Configuration writes: profiles, purposes, topics and API keys. They are rare, synced
//! one by one, and serialized by the store's admin lock, which also covers every
//! read-modify-write (`update_*`), so two concurrent admin changes never lose one.
//!
//! In cluster mode each change goes through the replicated log as the whole new record
//! (an update is read and changed on the receiving node), and every node applies it under
//! its admin lock, stamped with the entry's time and position. Two updates of one record
//! sent to two nodes at once: the later entry wins whole.

use std::collections::HashMap;
use std::sync::Arc;

use prost::Message;
use rocksdb::WriteOptions;

use super::codec::{CF_CONFIG, CF_META, StoredApiKey, StoredProfile, StoredPurpose, StoredTopic};
use super::link::LinkKeys;
use super::op::{Op, OpResult, SigningKeyKind, Stamp};
use super::view::ApiKey;
use super::{Refusal, StorageError, Store, config};
use consentd_core::decision::{Catalog, Profile, Purpose, Subject, Topic};

pub(super) fn unexpected() -> StorageError {
    StorageError::Replica("the log answered an admin change with another kind of result".to_owned())
}

impl Store {
    pub(super) fn admin_guard(&self) -> std::sync::MutexGuard<'_, ()> {
        match self.inner.admin_lock.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Seconds now: the clock's, or the log entry's in cluster mode.
    fn admin_now(&self, stamp: Option<Stamp>) -> i64 {
        stamp.map_or_else(|| self.now_us(), |s| s.at_us).div_euclid(1_000_000)
    }

    fn write_config(
        &self,
        key: Vec<u8>,
        value: Vec<u8>,
        catalog: Option<Catalog>,
        stamp: Option<Stamp>,
    ) -> Result<(), StorageError> {
        let s = self.shared();
        if let Some(refusal) = s.write_refusal() {
            return Err(refusal);
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        let mut batch = rocksdb::WriteBatch::default();
        if catalog.is_some() {
            // The catalog's history, for decisions as of a past moment (`past`).
            let at_us = stamp.map_or_else(|| self.now_us(), |s| s.at_us);
            super::past::record_catalog_change(&mut batch, s.cf(CF_META)?, at_us, &key, &value);
        }
        batch.put_cf(s.cf(CF_CONFIG)?, key, value);
        if let Some(stamp) = stamp {
            stamp.write(&mut batch, s.cf(CF_META)?);
        }
        s.db.write_opt(batch, &wo)?;
        if let Some(catalog) = catalog {
            s.catalog.store(Arc::new(catalog));
        }
        if let Some(stamp) = stamp {
            stamp.publish(s);
        }
        Ok(())
    }

    pub(super) async fn submit_admin(&self, op: Op) -> Option<Result<OpResult, StorageError>> {
        let log = self.log()?;
        Some(log.submit(op).await)
    }

    /// Creates (`create`) or replaces a profile.
    pub async fn put_profile(&self, profile: Profile, create: bool) -> Result<Profile, StorageError> {
        if self.replicated() {
            return match self.submit_admin(Op::Profile { profile, create }).await {
                Some(Ok(OpResult::Profile(p))) => Ok(p),
                Some(Err(e)) => Err(e),
                _ => Err(unexpected()),
            };
        }
        let _guard = self.admin_guard();
        self.put_profile_locked(profile, create, None)
    }

    /// [`Store::put_profile`] with the admin lock already held.
    pub(super) fn put_profile_locked(
        &self,
        mut profile: Profile,
        create: bool,
        stamp: Option<Stamp>,
    ) -> Result<Profile, StorageError> {
        let mut catalog = (*self.catalog()).clone();
        let now = self.admin_now(stamp);
        match (catalog.profile(&profile.id), create) {
            (Some(_), true) => {
                return Err(StorageError::Refused(Refusal::AlreadyExists(format!("profile `{}`", profile.id))));
            }
            (None, false) => return Err(StorageError::Refused(Refusal::NotFound(format!("profile `{}`", profile.id)))),
            (Some(old), false) => profile.created_at = old.created_at,
            (None, true) => profile.created_at = now,
        }
        profile.updated_at = now;
        catalog.insert_profile(profile.clone());
        let value = StoredProfile::from(&profile).encode_to_vec();
        self.write_config(config::profile_key(&profile.id), value, Some(catalog), stamp)?;
        Ok(profile)
    }

    /// Creates (`create`: a new number is assigned) or replaces a purpose.
    pub async fn put_purpose(&self, purpose: Purpose, create: bool) -> Result<Purpose, StorageError> {
        if self.replicated() {
            return match self.submit_admin(Op::Purpose { purpose, create }).await {
                Some(Ok(OpResult::Purpose(p))) => Ok(p),
                Some(Err(e)) => Err(e),
                _ => Err(unexpected()),
            };
        }
        let _guard = self.admin_guard();
        self.put_purpose_locked(purpose, create, None)
    }

    /// [`Store::put_purpose`] with the admin lock already held.
    pub(super) fn put_purpose_locked(
        &self,
        mut purpose: Purpose,
        create: bool,
        stamp: Option<Stamp>,
    ) -> Result<Purpose, StorageError> {
        let mut catalog = (*self.catalog()).clone();
        if catalog.profile(&purpose.profile_id).is_none() {
            return Err(StorageError::Refused(Refusal::NotFound(format!("profile `{}`", purpose.profile_id))));
        }
        let now = self.admin_now(stamp);
        match (catalog.purpose(&purpose.profile_id, &purpose.id), create) {
            (Some(_), true) => {
                return Err(StorageError::Refused(Refusal::AlreadyExists(format!("purpose `{}`", purpose.id))));
            }
            (None, false) => return Err(StorageError::Refused(Refusal::NotFound(format!("purpose `{}`", purpose.id)))),
            (Some(old), false) => {
                purpose.no = old.no;
                purpose.created_at = old.created_at;
            }
            (None, true) => {
                let max = self.inner.quotas.0;
                if catalog.purposes_of(&purpose.profile_id).count() >= max {
                    return Err(StorageError::Refused(Refusal::Limit(format!(
                        "profile `{}` has {max} purposes, the most one profile may have",
                        purpose.profile_id
                    ))));
                }
                let next = catalog.max_numbers().0 + 1;
                if next > Subject::PURPOSE_NO_MAX {
                    return Err(StorageError::Refused(Refusal::Limit(format!(
                        "at most {} purposes per server",
                        Subject::PURPOSE_NO_MAX
                    ))));
                }
                purpose.no = next;
                purpose.created_at = now;
            }
        }
        purpose.updated_at = now;
        catalog.insert_purpose(purpose.clone());
        let value = StoredPurpose::from(&purpose).encode_to_vec();
        self.write_config(config::purpose_key(&purpose.profile_id, &purpose.id), value, Some(catalog), stamp)?;
        Ok(purpose)
    }

    /// Creates (`create`: a new number is assigned) or replaces a topic.
    pub async fn put_topic(&self, topic: Topic, create: bool) -> Result<Topic, StorageError> {
        if self.replicated() {
            return match self.submit_admin(Op::Topic { topic, create }).await {
                Some(Ok(OpResult::Topic(t))) => Ok(t),
                Some(Err(e)) => Err(e),
                _ => Err(unexpected()),
            };
        }
        let _guard = self.admin_guard();
        self.put_topic_locked(topic, create, None)
    }

    /// [`Store::put_topic`] with the admin lock already held.
    pub(super) fn put_topic_locked(
        &self,
        mut topic: Topic,
        create: bool,
        stamp: Option<Stamp>,
    ) -> Result<Topic, StorageError> {
        let mut catalog = (*self.catalog()).clone();
        if catalog.purpose(&topic.profile_id, &topic.purpose_id).is_none() {
            return Err(StorageError::Refused(Refusal::NotFound(format!("purpose `{}`", topic.purpose_id))));
        }
        let now = self.admin_now(stamp);
        match (catalog.topic(&topic.profile_id, &topic.purpose_id, &topic.id), create) {
            (Some(_), true) => {
                return Err(StorageError::Refused(Refusal::AlreadyExists(format!("topic `{}`", topic.id))));
            }
            (None, false) => return Err(StorageError::Refused(Refusal::NotFound(format!("topic `{}`", topic.id)))),
            (Some(old), false) => {
                topic.no = old.no;
                topic.created_at = old.created_at;
            }
            (None, true) => {
                let quota = self.inner.quotas.1;
                let used = catalog.topics().filter(|t| t.profile_id == topic.profile_id).count();
                if used >= quota {
                    return Err(StorageError::Refused(Refusal::Limit(format!(
                        "profile `{}` has {quota} topics, the most one profile may have",
                        topic.profile_id
                    ))));
                }
                let max = catalog.max_numbers().1;
                topic.no = max.checked_add(1).ok_or_else(|| {
                    StorageError::Refused(Refusal::Limit(format!(
                        "at most {} topics per server",
                        Subject::TOPIC_NO_MAX
                    )))
                })?;
                topic.created_at = now;
            }
        }
        topic.updated_at = now;
        catalog.insert_topic(topic.clone());
        let value = StoredTopic::from(&topic).encode_to_vec();
        let key = config::topic_key(&topic.profile_id, &topic.purpose_id, &topic.id);
        self.write_config(key, value, Some(catalog), stamp)?;
        Ok(topic)
    }

    /// Changes a stored profile in place: read, `change` and write happen under the admin
    /// lock, so two concurrent updates of different fields both land (in cluster mode the
    /// record is read and changed here and replaced whole on every node).
    pub async fn update_profile(
        &self,
        id: &str,
        change: impl FnOnce(&mut Profile) + Send,
    ) -> Result<Profile, StorageError> {
        let current = || {
            self.catalog()
                .profile(id)
                .cloned()
                .ok_or_else(|| StorageError::Refused(Refusal::NotFound(format!("profile `{id}`"))))
        };
        if self.replicated() {
            let mut profile = current()?;
            change(&mut profile);
            return self.put_profile(profile, false).await;
        }
        let _guard = self.admin_guard();
        let mut profile = current()?;
        change(&mut profile);
        self.put_profile_locked(profile, false, None)
    }

    /// Changes a stored purpose in place, like [`Store::update_profile`].
    pub async fn update_purpose(
        &self,
        profile: &str,
        id: &str,
        change: impl FnOnce(&mut Purpose) + Send,
    ) -> Result<Purpose, StorageError> {
        let current = || {
            self.catalog()
                .purpose(profile, id)
                .cloned()
                .ok_or_else(|| StorageError::Refused(Refusal::NotFound(format!("purpose `{id}`"))))
        };
        if self.replicated() {
            let mut purpose = current()?;
            change(&mut purpose);
            return self.put_purpose(purpose, false).await;
        }
        let _guard = self.admin_guard();
        let mut purpose = current()?;
        change(&mut purpose);
        self.put_purpose_locked(purpose, false, None)
    }

    /// Changes a stored topic in place, like [`Store::update_profile`].
    pub async fn update_topic(
        &self,
        profile: &str,
        purpose: &str,
        id: &str,
        change: impl FnOnce(&mut Topic) + Send,
    ) -> Result<Topic, StorageError> {
        let current = || {
            self.catalog()
                .topic(profile, purpose, id)
                .cloned()
                .ok_or_else(|| StorageError::Refused(Refusal::NotFound(format!("topic `{id}`"))))
        };
        if self.replicated() {
            let mut topic = current()?;
            change(&mut topic);
            return self.put_topic(topic, false).await;
        }
        let _guard = self.admin_guard();
        let mut topic = current()?;
        change(&mut topic);
        self.put_topic_locked(topic, false, None)
    }

    /// Changes a stored API key in place (revocation), like [`Store::update_profile`].
    pub async fn update_api_key(
        &self,
        key_id: &str,
        change: impl FnOnce(&mut ApiKey) + Send,
    ) -> Result<ApiKey, StorageError> {
        let current = || {
            self.api_keys()
                .get(key_id)
                .cloned()
                .ok_or_else(|| StorageError::Refused(Refusal::NotFound(format!("API key `{key_id}`"))))
        };
        if self.replicated() {
            let mut key = current()?;
            change(&mut key);
            self.put_api_key(key.clone()).await?;
            return Ok(key);
        }
        let _guard = self.admin_guard();
        let mut key = current()?;
        change(&mut key);
        self.put_api_key_locked(key.clone(), None)?;
        Ok(key)
    }

    pub fn api_keys(&self) -> Arc<HashMap<String, ApiKey>> {
        self.inner.api_keys.load_full()
    }

    /// Stores an API key (new or revoked).
    pub async fn put_api_key(&self, key: ApiKey) -> Result<(), StorageError> {
        if self.replicated() {
            return match self.submit_admin(Op::ApiKey(key)).await {
                Some(Ok(OpResult::ApiKey)) => Ok(()),
                Some(Err(e)) => Err(e),
                _ => Err(unexpected()),
            };
        }
        self.put_api_key_sync(key)
    }

    /// [`Store::put_api_key`] of a standalone store, outside a runtime (offline recovery).
    pub fn put_api_key_sync(&self, key: ApiKey) -> Result<(), StorageError> {
        let _guard = self.admin_guard();
        self.put_api_key_locked(key, None)
    }

    pub(super) fn put_api_key_locked(&self, key: ApiKey, stamp: Option<Stamp>) -> Result<(), StorageError> {
        let mut keys = (*self.api_keys()).clone();
        let stored = StoredApiKey::from(key.clone());
        self.write_config(config::api_key_key(&key.key_id), stored.encode_to_vec(), None, stamp)?;
        keys.insert(key.key_id.clone(), key);
        self.inner.api_keys.store(Arc::new(keys));
        self.inner.keys_changed.send_replace(());
        Ok(())
    }

    /// The keys that sign and verify the edge's link tokens.
    pub fn link_keys(&self) -> Arc<LinkKeys> {
        self.inner.link_keys.load_full()
    }

    /// Adds a new link key that signs from now on; links signed with older keys keep
    /// working. Returns the new key's id. Offline (standalone): see [`Store::rotate_signing_key`].
    pub fn rotate_link_key(&self) -> Result<u8, StorageError> {
        let _guard = self.admin_guard();
        self.rotate_key_locked(SigningKeyKind::Link, None)
    }

    /// Adds a link or receipt key that signs from now on (the older ones keep verifying),
    /// and returns its id. In a cluster it goes through the log, and every node derives
    /// the same key from the cluster secret.
    pub async fn rotate_signing_key(&self, kind: SigningKeyKind) -> Result<u8, StorageError> {
        if let Some(r) = self.submit_admin(Op::RotateKey(kind)).await {
            return match r? {
                OpResult::KeyRotated(id) => Ok(id),
                _ => Err(StorageError::Replica("the log answered a key rotation with another kind of result".into())),
            };
        }
        let _guard = self.admin_guard();
        self.rotate_key_locked(kind, None)
    }

    /// Adds key `newest + 1` of `kind`. Standalone (no stamp) it is random and stored; a
    /// log entry's key is derived from the cluster secret, and only its id is stored (an
    /// empty value, which `open` derives again).
    pub(super) fn rotate_key_locked(&self, kind: SigningKeyKind, stamp: Option<Stamp>) -> Result<u8, StorageError> {
        let s = self.shared();
        if let Some(refusal) = s.write_refusal() {
            return Err(refusal);
        }
        let cluster = match (stamp, &self.inner.cluster_secret) {
            (Some(_), Some(secret)) => Some(secret),
            (Some(_), None) => {
                return Err(StorageError::Replica("a key rotation from the log, but no cluster secret".to_owned()));
            }
            (None, _) => None,
        };
        let meta = s.cf(CF_META)?;
        let mut batch = rocksdb::WriteBatch::default();
        let full =
            |what: &str| StorageError::Refused(Refusal::Limit(format!("255 {what} keys exist; no further rotation")));
        let id = match kind {
            SigningKeyKind::Link => self.link_keys().newest_id().checked_add(1).ok_or_else(|| full("link"))?,
            SigningKeyKind::Receipt => {
                self.receipt_keys().signing().id.checked_add(1).ok_or_else(|| full("receipt"))?
            }
        };
        let secret = match (kind, cluster) {
            (SigningKeyKind::Link, Some(c)) => c.link_key_of(id),
            (SigningKeyKind::Receipt, Some(c)) => c.receipt_seed_of(id),
            (SigningKeyKind::Link, None) => super::link::new_link_key(id).secret,
            (SigningKeyKind::Receipt, None) => super::receipt::new_seed(),
        };
        let stored: &[u8] = if cluster.is_some() { &[] } else { &secret };
        match kind {
            SigningKeyKind::Link => batch.put_cf(meta, super::link::link_key_name(id), stored),
            SigningKeyKind::Receipt => batch.put_cf(meta, super::receipt::key_name(id), stored),
        }
        if let Some(stamp) = stamp {
            stamp.write(&mut batch, meta);
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        s.db.write_opt(batch, &wo)?;
        match kind {
            SigningKeyKind::Link => {
                let mut keys = self.link_keys().all().to_vec();
                keys.push(super::link::LinkKey { id, secret });
                if let Some(keys) = LinkKeys::new(keys) {
                    self.inner.link_keys.store(Arc::new(keys));
                }
            }
            SigningKeyKind::Receipt => {
                let mut keys = self.receipt_keys().all().to_vec();
                keys.push(super::receipt::ReceiptKey::from_seed(id, &secret));
                self.inner.receipt_keys.store(Arc::new(super::receipt::ReceiptKeys::new(keys)));
            }
        }
        if let Some(stamp) = stamp {
            stamp.publish(s);
        }
        Ok(id)
    }
}
