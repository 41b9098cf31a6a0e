//! Webhooks: every change of the subscribed kinds and profiles, POSTed to each
//! subscription's URL as one signed JSON message (schema in `payload`, signing in `sign`,
//! the connection in `http`), in revision order, at least once.
//!
//! Each active subscription has one delivery task. It reads the change feed from its
//! position (the store's `changes_after`, woken by the revision watch), so a slow or dead
//! receiver holds nothing but its own task: writes and checks never wait for deliveries,
//! and a subscription that is behind catches up from the store, not from a queue.
//! A failed delivery is retried with exponential backoff and full jitter, up to the retry
//! budget (`--webhook-retry-secs`); then the subscription is paused with its last error
//! (visible in `ListWebhooks` and `/metrics`) until `ReplayWebhook` or an update resumes it.
//! The position is stored after each batch read from the feed (at most 256 changes); a
//! stop or crash before it delivers those changes again, with the same `webhook-id`s.
//!
//! In cluster mode every node runs this, and one node at a time delivers each
//! subscription: the holder of its lease (see `cluster::leases`), which keeps the position
//! there, so another node takes over where it stopped.

pub mod changes;
pub mod http;
pub mod payload;
pub mod sign;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::watch;

use crate::app::Until;
use crate::cluster::leases::{self, Leases};
use crate::storage::view::Event;
use crate::storage::webhook::{Expect, Position, WebhookDef};
use crate::storage::{StorageError, Store};

/// Per subscription, for `/metrics`.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub delivered: u64,
    pub failed_attempts: u64,
    pub position: u64,
    pub paused: bool,
}

/// The delivery side of every subscription.
pub struct Webhooks {
    store: Store,
    retry_budget: Duration,
    /// Cluster mode: who delivers each subscription.
    leases: Option<Arc<Leases>>,
    /// The public change subject, delivered as the subscription `changes_def`.
    changes: Option<(Arc<changes::Publisher>, WebhookDef)>,
    stats: Mutex<HashMap<String, Stats>>,
}

/// Where a delivery task sends its messages.
enum Sink {
    Http(http::Client),
    Nats(Arc<changes::Publisher>),
}

/// A running delivery task: the subscription's generation it runs, and how to stop it.
struct Running {
    generation: u64,
    stop: watch::Sender<bool>,
    handle: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Asks the task to stop (it stores its position) and waits for it.
    async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.handle.await;
    }
}

/// Cluster mode: a lease this node holds, shared by the delivery and its renewals.
struct Held {
    leases: Arc<Leases>,
    /// The record's version in the bucket, as this node last wrote it.
    version: Mutex<u64>,
    /// How far deliveries got, written with the next renewal.
    position: Mutex<Position>,
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhooks").field("retry_budget", &self.retry_budget).finish_non_exhaustive()
    }
}

/// Changes read from the feed at once.
const FEED_BATCH: usize = 256;
/// The first retry's delay, doubled per attempt up to [`RETRY_DELAY_MAX`].
const RETRY_DELAY_FIRST: Duration = Duration::from_millis(500);
const RETRY_DELAY_MAX: Duration = Duration::from_secs(300);
/// The change subject's longest wait between two tries.
const NATS_RETRY_DELAY_MAX: Duration = Duration::from_secs(30);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How a delivery task ended.
enum Ended {
    /// Asked to stop, paused, or unable to go on: its position is kept.
    Stopped,
    /// Cluster mode: another node holds the lease now; nothing more is written.
    Lost,
}

impl Webhooks {
    /// `leases`: cluster mode's (see `cluster::leases`); none: standalone.
    pub fn new(store: Store, retry_budget: Duration, leases: Option<Arc<Leases>>) -> Arc<Webhooks> {
        Webhooks::with_changes(store, retry_budget, leases, None)
    }

    /// With the public change subject: `changes` publishes every change (with personal data
    /// when the flag says so), from the changes after the first start on.
    pub fn with_changes(
        store: Store,
        retry_budget: Duration,
        leases: Option<Arc<Leases>>,
        changes: Option<(changes::Publisher, bool)>,
    ) -> Arc<Webhooks> {
        let changes = changes.map(|(publisher, personal_data)| {
            let def = WebhookDef {
                webhook_id: changes::FEED_ID.to_owned(),
                personal_data,
                generation: 1,
                resume_from: Some(store.revision()),
                resume_generation: 1,
                ..Default::default()
            };
            (Arc::new(publisher), def)
        });
        Arc::new(Webhooks { store, retry_budget, leases, changes, stats: Mutex::new(HashMap::new()) })
    }

    /// Each subscription's delivery figures (in cluster mode, of those this node delivers).
    pub fn stats(&self) -> Vec<(String, Stats)> {
        let mut all: Vec<_> = lock(&self.stats).iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    fn update(&self, id: &str, f: impl FnOnce(&mut Stats)) {
        f(lock(&self.stats).entry(id.to_owned()).or_default());
    }

    /// The last revision delivered to a subscription (or where its deliveries start), and in
    /// cluster mode the node that delivers it.
    pub async fn position(&self, def: &WebhookDef) -> Result<(u64, String), StorageError> {
        match &self.leases {
            None => Ok((def.start_position(self.store.webhook_position(&def.webhook_id)?), String::new())),
            Some(leases) => match leases.read(&def.webhook_id).await {
                Ok(lease) => {
                    let holder = lease.as_ref().filter(|l| !l.released).map(|l| l.holder.clone()).unwrap_or_default();
                    Ok((def.start_position(lease.map(|l| l.position)), holder))
                }
                Err(e) => Err(StorageError::Unavailable(format!("cannot read the webhook's lease from NATS: {e}"))),
            },
        }
    }

    /// After a subscription was deleted: in cluster mode its lease goes too (a holder still
    /// delivering finds it gone at its next renewal and stops).
    pub async fn forget(&self, id: &str) {
        if let Some(leases) = &self.leases {
            leases.remove(id).await;
        }
    }

    /// Runs every active subscription's deliveries until `stop`. When subscriptions change,
    /// only the changed ones restart; a task stops cooperatively and stores its position
    /// first, so a restart delivers nothing twice but the message that was in flight. In
    /// cluster mode this node also looks, every renewal period, for leases to take.
    pub async fn run(self: Arc<Self>, mut stop: Until) {
        let mut changed = self.store.subscribe_webhooks();
        let mut running: HashMap<String, Running> = HashMap::new();
        let mut seen: HashMap<String, (u64, tokio::time::Instant)> = HashMap::new();
        let mut tick = tokio::time::interval(leases::RENEW);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            changed.borrow_and_update();
            self.sync(&mut running, &mut seen).await;
            tokio::select! {
                () = stop.reached() => break,
                r = changed.changed() => if r.is_err() { break },
                _ = tick.tick(), if self.leases.is_some() => {}
            }
        }
        for (_, task) in running.drain() {
            task.stop().await;
        }
    }

    /// Starts, stops and restarts delivery tasks to match the stored subscriptions (and in
    /// cluster mode, the leases this node holds or may take).
    async fn sync(
        self: &Arc<Self>,
        running: &mut HashMap<String, Running>,
        seen: &mut HashMap<String, (u64, tokio::time::Instant)>,
    ) {
        let mut defs = match self.store.webhooks() {
            Ok(defs) => defs,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the webhook subscriptions");
                return;
            }
        };
        defs.extend(self.changes.as_ref().map(|(_, def)| def.clone()));
        let wanted: HashMap<&str, &WebhookDef> = defs.iter().map(|d| (d.webhook_id.as_str(), d)).collect();
        let ids: Vec<String> = running.keys().cloned().collect();
        for id in ids {
            let keep = wanted.get(id.as_str()).is_some_and(|d| {
                !d.paused && running.get(&id).is_some_and(|r| r.generation == d.generation && !r.handle.is_finished())
            });
            if !keep && let Some(task) = running.remove(&id) {
                task.stop().await;
                if !wanted.contains_key(id.as_str())
                    && let Some(leases) = &self.leases
                {
                    leases.remove(&id).await;
                }
            }
        }
        lock(&self.stats)
            .retain(|id, _| running.contains_key(id) || (self.leases.is_none() && wanted.contains_key(id.as_str())));
        seen.retain(|id, _| wanted.contains_key(id.as_str()));
        for def in &defs {
            if self.leases.is_none() {
                let position = self.store.webhook_position(&def.webhook_id).ok().flatten();
                self.update(&def.webhook_id, |s| {
                    s.paused = def.paused;
                    s.position = def.start_position(position);
                });
            }
            if def.paused || running.contains_key(&def.webhook_id) {
                continue;
            }
            let held = match &self.leases {
                None => None,
                Some(leases) => match self.claim(leases, def, seen).await {
                    Some(held) => Some(held),
                    None => continue,
                },
            };
            let (stop_tx, stop_rx) = watch::channel(false);
            let handle = tokio::spawn(Arc::clone(self).run_one(def.clone(), stop_rx, held));
            running.insert(def.webhook_id.clone(), Running { generation: def.generation, stop: stop_tx, handle });
        }
    }

    /// Cluster mode: takes the subscription's lease if it is free (see `cluster::leases`).
    async fn claim(
        &self,
        leases: &Arc<Leases>,
        def: &WebhookDef,
        seen: &mut HashMap<String, (u64, tokio::time::Instant)>,
    ) -> Option<Arc<Held>> {
        let id = &def.webhook_id;
        let lease = match leases.read(id).await {
            Ok(lease) => lease,
            Err(e) => {
                tracing::debug!(webhook = %id, error = %e, "cannot read the webhook's lease");
                return None;
            }
        };
        let now = tokio::time::Instant::now();
        let free = match &lease {
            None => true,
            Some(l) if l.released || leases.is_earlier_start(&l.holder) => true,
            Some(l) => match seen.get(id.as_str()) {
                Some(&(version, since)) if version == l.version => now.duration_since(since) >= leases::TTL,
                _ => {
                    seen.insert(id.clone(), (l.version, now));
                    false
                }
            },
        };
        if !free {
            return None;
        }
        let position =
            Position { revision: def.start_position(lease.as_ref().map(|l| l.position)), generation: def.generation };
        match leases.claim(id, lease.as_ref().map(|l| l.version), position).await {
            Ok(Some(version)) => {
                seen.remove(id.as_str());
                tracing::info!(webhook = %id, from_revision = position.revision + 1, "delivering this webhook from this node");
                Some(Arc::new(Held {
                    leases: Arc::clone(leases),
                    version: Mutex::new(version),
                    position: Mutex::new(position),
                }))
            }
            Ok(None) => None,
            Err(e) => {
                tracing::debug!(webhook = %id, error = %e, "cannot take the webhook's lease");
                None
            }
        }
    }

    /// One subscription's deliveries; in cluster mode while its lease is held, renewed
    /// beside them and given up when they stop.
    async fn run_one(self: Arc<Self>, def: WebhookDef, stop: watch::Receiver<bool>, held: Option<Arc<Held>>) {
        let id = def.webhook_id.clone();
        let Some(held) = held else {
            let start = match self.store.webhook_position(&id) {
                Ok(p) => def.start_position(p),
                Err(e) => {
                    tracing::error!(webhook = %id, error = %e, "cannot read the webhook's position");
                    return;
                }
            };
            self.deliver(&def, start, stop, None).await;
            return;
        };
        let start = lock(&held.position).revision;
        let ended = tokio::select! {
            ended = self.deliver(&def, start, stop, Some(held.as_ref())) => ended,
            () = self.renew(&id, &held) => Ended::Lost,
        };
        lock(&self.stats).remove(&id);
        if let Ended::Stopped = ended {
            let version = *lock(&held.version);
            let position = *lock(&held.position);
            match held.leases.renew(&id, version, position, true).await {
                leases::Renewal::Kept(_) => {}
                leases::Renewal::Lost => {
                    tracing::warn!(webhook = %id, "the webhook's lease was taken before it was given up")
                }
                leases::Renewal::Failed(e) => {
                    tracing::warn!(webhook = %id, error = %e, "cannot give the webhook's lease up; it expires instead")
                }
            }
        }
    }

    /// Renews a lease until it is lost, or cannot be renewed for `SELF_FENCE` (counted from
    /// the last renewal that succeeded; a renewal still waiting for NATS then is given up).
    async fn renew(&self, id: &str, held: &Held) {
        let mut renewed = tokio::time::Instant::now();
        let mut wait = leases::RENEW;
        loop {
            tokio::time::sleep(wait).await;
            let fence = renewed + leases::SELF_FENCE;
            let version = *lock(&held.version);
            let position = *lock(&held.position);
            let attempt = tokio::time::timeout_at(fence, held.leases.renew(id, version, position, false)).await;
            match attempt {
                Ok(leases::Renewal::Kept(v)) => {
                    *lock(&held.version) = v;
                    renewed = tokio::time::Instant::now();
                    wait = leases::RENEW;
                }
                Ok(leases::Renewal::Lost) => {
                    tracing::warn!(webhook = %id, "another node took this webhook's lease; stopping its deliveries here");
                    return;
                }
                Ok(leases::Renewal::Failed(e)) if tokio::time::Instant::now() < fence => {
                    tracing::debug!(webhook = %id, error = %e, "lease renewal failed; trying again");
                    wait = Duration::from_millis(500);
                }
                Ok(leases::Renewal::Failed(_)) | Err(_) => {
                    tracing::warn!(webhook = %id, "cannot renew this webhook's lease; stopping its deliveries here");
                    return;
                }
            }
        }
    }

    /// One subscription's deliveries, from `position` on, until `stop`.
    async fn deliver(
        &self,
        def: &WebhookDef,
        mut position: u64,
        mut stop: watch::Receiver<bool>,
        held: Option<&Held>,
    ) -> Ended {
        let id = def.webhook_id.clone();
        let mut sink = match &self.changes {
            Some((publisher, own)) if own.webhook_id == id => Sink::Nats(Arc::clone(publisher)),
            _ => match http::Target::parse(&def.url, usize::MAX) {
                Ok(target) => Sink::Http(http::Client::new(target)),
                Err(e) => {
                    tracing::error!(webhook = %id, error = %e, "a stored webhook URL does not parse; pausing it");
                    self.pause(def, held, position, format!("its URL does not parse: {e}")).await;
                    return Ended::Stopped;
                }
            },
        };
        let mut revisions = self.store.subscribe();
        self.update(&id, |s| {
            s.position = position;
            s.paused = false;
        });
        // Recorded at once: where this generation starts survives a crash before its first
        // batch (the change subject's first start would otherwise move to a later revision).
        self.keep_position(def, held, position);
        loop {
            // What the feed holds at least; an empty read waits for a later revision (not
            // every revision is a change of the feed: cluster mode's admin entries are not).
            let seen = *revisions.borrow_and_update();
            let store = self.store.clone();
            let batch = tokio::task::spawn_blocking(move || store.changes_after(position, FEED_BATCH)).await;
            let batch = match batch {
                Ok(Ok(b)) => b,
                Ok(Err(e)) => {
                    tracing::error!(webhook = %id, error = %e, "cannot read the change feed");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                        _ = stop.wait_for(|s| *s) => return Ended::Stopped,
                    }
                }
                Err(_) => return Ended::Stopped,
            };
            if batch.is_empty() {
                tokio::select! {
                    r = revisions.wait_for(|r| *r > seen) => if r.is_err() { return Ended::Stopped },
                    _ = stop.wait_for(|s| *s) => return Ended::Stopped,
                }
                continue;
            }
            for (revision, event) in batch {
                if self.subscribed(def, &event) {
                    let body = self.message(def, revision, &event);
                    let message_id = format!("msg_{revision}");
                    let sent = tokio::select! {
                        r = self.send(&mut sink, def, &event.profile_id, &message_id, body) => r,
                        _ = stop.wait_for(|s| *s) => {
                            // The message in flight is delivered again after the restart.
                            self.keep_position(def, held, position);
                            return Ended::Stopped;
                        }
                    };
                    if let Err(error) = sent {
                        tracing::warn!(webhook = %id, revision, %error, "webhook paused: its retry budget ran out");
                        self.pause(def, held, position, error).await;
                        return Ended::Stopped;
                    }
                    self.update(&id, |s| s.delivered += 1);
                }
                position = revision;
                self.update(&id, |s| s.position = position);
            }
            // Once per batch read: a crash before it delivers this batch's changes again
            // (at least once), with the same ids.
            self.keep_position(def, held, position);
        }
    }

    /// Records that the retry budget ran out (a new generation, paused with its error),
    /// unless the subscription was changed or deleted meanwhile: then that change wins.
    async fn pause(&self, def: &WebhookDef, held: Option<&Held>, position: u64, error: String) {
        self.keep_position(def, held, position);
        self.update(&def.webhook_id, |s| s.paused = true);
        let paused = WebhookDef {
            paused: true,
            last_error: error,
            last_error_at: Some(self.store.now_us().div_euclid(1_000_000)),
            generation: def.generation + 1,
            ..def.clone()
        };
        match self.store.put_webhook(paused, Expect::Generation(def.generation)).await {
            Ok(()) | Err(StorageError::Refused(_)) => {}
            Err(e) => tracing::error!(webhook = %def.webhook_id, error = %e, "cannot record the webhook's pause"),
        }
    }

    fn keep_position(&self, def: &WebhookDef, held: Option<&Held>, revision: u64) {
        let position = Position { revision, generation: def.generation };
        if let Some(held) = held {
            *lock(&held.position) = position;
        } else if let Err(e) = self.store.set_webhook_position(&def.webhook_id, position) {
            tracing::error!(webhook = %def.webhook_id, error = %e, "cannot record the webhook's position");
        }
    }

    fn subscribed(&self, def: &WebhookDef, event: &Event) -> bool {
        (def.profile_ids.is_empty() || def.profile_ids.contains(&event.profile_id))
            && (def.event_kinds.is_empty() || def.event_kinds.contains(&(payload::kind_of(event.kind) as i32)))
    }

    fn message(&self, def: &WebhookDef, revision: u64, event: &Event) -> Bytes {
        let hex: String = event.contact_key.0.iter().map(|b| format!("{b:02x}")).collect();
        Bytes::from(payload::body(revision, event, &hex, def.personal_data).to_string())
    }

    /// Sends one message, retrying until a 2xx answer (or JetStream's acknowledgement) or
    /// until the retry budget is spent (webhooks only: the change subject waits for NATS);
    /// the last failure's cause when it is.
    async fn send(
        &self,
        sink: &mut Sink,
        def: &WebhookDef,
        profile_id: &str,
        id: &str,
        body: Bytes,
    ) -> Result<(), String> {
        let started = tokio::time::Instant::now();
        let mut delay = RETRY_DELAY_FIRST;
        loop {
            let (error, budget) = match sink {
                Sink::Http(client) => match self.post_signed(client, def, id, body.clone()).await {
                    Ok(200..=299) => return Ok(()),
                    Ok(code) => (format!("the receiver answered HTTP {code}"), Some(self.retry_budget)),
                    Err(e) => (e, Some(self.retry_budget)),
                },
                Sink::Nats(publisher) => match publisher.publish(profile_id, id, body.clone()).await {
                    Ok(()) => return Ok(()),
                    Err(e) => (e, None),
                },
            };
            self.update(&def.webhook_id, |s| s.failed_attempts += 1);
            // Full jitter: anywhere up to the delay, so receivers that come back are not
            // met by every sender at once.
            let wait = delay.mul_f64(rand::random::<f64>());
            if budget.is_some_and(|budget| started.elapsed() + wait > budget) {
                return Err(error);
            }
            tracing::debug!(webhook = %def.webhook_id, %error, retry_in_ms = wait.as_millis() as u64, "delivery failed");
            tokio::time::sleep(wait).await;
            // NATS is the deployment's own: it is tried again sooner than a receiver.
            delay = (delay * 2).min(if budget.is_some() { RETRY_DELAY_MAX } else { NATS_RETRY_DELAY_MAX });
        }
    }

    /// One POST of `body` as message `id`, signed with the subscription's secrets now; the
    /// receiver's status code, or why none came.
    async fn post_signed(
        &self,
        client: &mut http::Client,
        def: &WebhookDef,
        id: &str,
        body: Bytes,
    ) -> Result<u16, String> {
        let now = self.store.now_us().div_euclid(1_000_000);
        let signature = sign::signature(def.signing_secrets(now), id, now, &body);
        let headers =
            [("webhook-id", id.to_owned()), ("webhook-timestamp", now.to_string()), ("webhook-signature", signature)];
        client.post(&headers, body).await
    }

    /// `TestWebhook`: one signed test message now, no retry; (status code, error).
    pub async fn test(&self, def: &WebhookDef, id: &str) -> (u16, String) {
        let target = match http::Target::parse(&def.url, usize::MAX) {
            Ok(t) => t,
            Err(e) => return (0, e),
        };
        let body = serde_json::json!({
            "schema": payload::SCHEMA,
            "type": "webhook.test",
            "timestamp": payload::rfc3339(self.store.now_us()),
            "data": { "webhook_id": def.webhook_id },
        });
        let body = Bytes::from(body.to_string());
        match self.post_signed(&mut http::Client::new(target), def, id, body).await {
            Ok(code @ 200..=299) => (code, String::new()),
            Ok(code) => (code, format!("the receiver answered HTTP {code}")),
            Err(e) => (0, e),
        }
    }
}
