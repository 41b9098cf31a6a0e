//! Who delivers each webhook subscription in a cluster, and how far it got.
//!
//! Every node holds every subscription (they come through the log), but one node at a time
//! delivers each: the holder of its lease, a record in the JetStream key-value bucket
//! `<stream>-webhooks` (replicated like the log) under the subscription's id. A record
//! names its holder (a node's id and a random per start), the delivery position and the
//! generation that delivered it; it is sealed with the log key, so NATS alone can neither
//! move a position nor hand a lease to anyone.
//!
//! Every write is a compare-and-set on the record's revision in the bucket:
//! - The holder renews every [`RENEW`], writing its position. A renewal refused because
//!   the record changed means another node took the lease: the holder stops at once.
//! - A holder that cannot renew for [`SELF_FENCE`] stops delivering by itself.
//! - Another node takes a lease when the record is released (a holder that stopped
//!   cleanly), held by an earlier start of itself, or unchanged for [`TTL`] by its own
//!   clock since it first saw that revision. `TTL` is twice `SELF_FENCE`, so a holder cut
//!   off from NATS has stopped before anyone else starts; no clocks are compared.
//!
//! After a takeover the new holder starts from the last position written: the changes
//! since (at most one renewal's worth, and the message in flight) are delivered again,
//! with the same `webhook-id`s, since message ids are revisions and revisions are the
//! log's, the same on every node.

use std::time::Duration;

use async_nats::jetstream::{self, kv};
use prost::Message;

use crate::storage::webhook::Position;
use crate::storage::wire::{self, LogKey};

/// How often a holder renews its lease (and writes its position).
pub const RENEW: Duration = Duration::from_secs(2);
/// A holder that has not renewed for this long stops delivering.
pub const SELF_FENCE: Duration = Duration::from_secs(5);
/// A lease unchanged for this long (as its observer measures) is taken over.
pub const TTL: Duration = Duration::from_secs(10);

const LABEL: &str = "consentd webhook lease";

#[derive(Clone, PartialEq, prost::Message)]
struct LeaseRecord {
    #[prost(string, tag = "1")]
    holder: String,
    #[prost(uint64, tag = "2")]
    revision: u64,
    #[prost(uint64, tag = "3")]
    generation: u64,
    #[prost(bool, tag = "4")]
    released: bool,
}

/// A lease as read.
#[derive(Clone, Debug)]
pub struct Lease {
    pub holder: String,
    pub position: Position,
    pub released: bool,
    /// The record's revision in the bucket: what a compare-and-set names.
    pub version: u64,
}

/// What a renewal found.
#[derive(Debug)]
pub enum Renewal {
    Kept(u64),
    /// Another node holds the lease now (or the subscription is gone).
    Lost,
    /// NATS did not answer; the lease may still be ours.
    Failed(String),
}

/// The leases of one cluster.
pub struct Leases {
    kv: kv::Store,
    node_id: String,
    /// This start of this node: `node_id/random`.
    holder: String,
    key: LogKey,
}

impl std::fmt::Debug for Leases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leases").field("holder", &self.holder).finish_non_exhaustive()
    }
}

pub fn bucket_name(stream: &str) -> String {
    format!("{stream}-webhooks")
}

impl Leases {
    /// Opens (or creates) the bucket.
    pub async fn open(
        js: &jetstream::Context,
        stream: &str,
        replicas: usize,
        holder: &str,
        node_id: &str,
        key: LogKey,
    ) -> Result<Leases, String> {
        let name = bucket_name(stream);
        let kv = super::until_ready("opening the webhook leases", || async {
            if let Ok(kv) = js.get_key_value(&name).await {
                return Ok(kv);
            }
            js.create_key_value(kv::Config {
                bucket: name.clone(),
                history: 1,
                num_replicas: replicas,
                storage: jetstream::stream::StorageType::File,
                max_value_size: 1024,
                ..Default::default()
            })
            .await
            .map_err(|e| e.to_string())
        })
        .await?;
        Ok(Leases { kv, node_id: node_id.to_owned(), holder: holder.to_owned(), key })
    }

    fn seal(&self, id: &str, position: Position, released: bool) -> bytes::Bytes {
        let record = LeaseRecord {
            holder: self.holder.clone(),
            revision: position.revision,
            generation: position.generation,
            released,
        };
        wire::seal_record(LABEL, id, record.encode_to_vec(), &self.key).into()
    }

    /// The lease of subscription `id`; none when there is no record. A record that does not
    /// open (not sealed with this cluster's key) is reported, and taken over like an
    /// expired one.
    pub async fn read(&self, id: &str) -> Result<Option<Lease>, String> {
        let Some(entry) = self.kv.entry(id).await.map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        if entry.operation != kv::Operation::Put {
            return Ok(None);
        }
        let opened = wire::open_record(LABEL, id, &entry.value, std::slice::from_ref(&self.key))
            .map_err(|e| e.to_string())
            .and_then(|body| LeaseRecord::decode(body.as_slice()).map_err(|e| e.to_string()));
        match opened {
            Ok(r) => Ok(Some(Lease {
                holder: r.holder,
                position: Position { revision: r.revision, generation: r.generation },
                released: r.released,
                version: entry.revision,
            })),
            Err(e) => {
                tracing::warn!(webhook = %id, error = %e, "a webhook lease record is not authentic; taking it over");
                Ok(Some(Lease {
                    holder: String::new(),
                    position: Position::default(),
                    released: true,
                    version: entry.revision,
                }))
            }
        }
    }

    /// Whether `holder` is an earlier start of this node (its lease can be taken at once).
    pub fn is_earlier_start(&self, holder: &str) -> bool {
        holder != self.holder && holder.rsplit_once('/').is_some_and(|(node, _)| node == self.node_id)
    }

    /// Takes the lease: `seen` is the record's version read (none: there was none). The new
    /// version, or none when another node was first.
    pub async fn claim(&self, id: &str, seen: Option<u64>, position: Position) -> Result<Option<u64>, String> {
        let value = self.seal(id, position, false);
        let written = match seen {
            None => self.kv.create(id, value).await.map_err(|e| match e.kind() {
                kv::CreateErrorKind::AlreadyExists => None,
                _ => Some(e.to_string()),
            }),
            Some(version) => self.kv.update(id, value, version).await.map_err(|e| match e.kind() {
                kv::UpdateErrorKind::WrongLastRevision => None,
                _ => Some(e.to_string()),
            }),
        };
        match written {
            Ok(version) => Ok(Some(version)),
            Err(None) => Ok(None),
            Err(Some(e)) => Err(e),
        }
    }

    /// Renews a held lease at `version` with the position; `released` gives it up.
    pub async fn renew(&self, id: &str, version: u64, position: Position, released: bool) -> Renewal {
        match self.kv.update(id, self.seal(id, position, released), version).await {
            Ok(v) => Renewal::Kept(v),
            Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => Renewal::Lost,
            Err(e) => Renewal::Failed(e.to_string()),
        }
    }

    /// Forgets a deleted subscription's lease.
    pub async fn remove(&self, id: &str) {
        if let Err(e) = self.kv.purge(id).await {
            tracing::warn!(webhook = %id, error = %e, "cannot remove a deleted webhook's lease");
        }
    }
}
