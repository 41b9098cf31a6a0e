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

pub mod http;
pub mod payload;
pub mod sign;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::watch;

use crate::app::Until;
use crate::storage::Store;
use crate::storage::view::Event;
use crate::storage::webhook::WebhookDef;

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
    /// Bumped by every change of a subscription: the deliveries restart from the store.
    changed: watch::Sender<u64>,
    stats: Mutex<HashMap<String, Stats>>,
    /// Positions set by `ReplayWebhook`, written once the subscription's task has stopped.
    replays: Mutex<HashMap<String, u64>>,
    admin: Mutex<()>,
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

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Webhooks {
    pub fn new(store: Store, retry_budget: Duration) -> Arc<Webhooks> {
        Arc::new(Webhooks {
            store,
            retry_budget,
            changed: watch::Sender::new(0),
            stats: Mutex::new(HashMap::new()),
            replays: Mutex::new(HashMap::new()),
            admin: Mutex::new(()),
        })
    }

    /// Called after a subscription was created, changed or deleted.
    pub fn reload(&self) {
        self.changed.send_modify(|n| *n += 1);
    }

    /// Delivers a subscription's changes again from after `position`. Written between
    /// stopping and restarting the deliveries, so no delivery in flight overwrites it.
    pub fn replay(&self, id: &str, position: u64) {
        lock(&self.replays).insert(id.to_owned(), position);
        self.reload();
    }

    /// Each subscription's delivery figures.
    pub fn stats(&self) -> Vec<(String, Stats)> {
        let mut all: Vec<_> = lock(&self.stats).iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    fn update(&self, id: &str, f: impl FnOnce(&mut Stats)) {
        f(lock(&self.stats).entry(id.to_owned()).or_default());
    }

    /// Serialises the admin calls' read-modify-writes of subscriptions with each other and
    /// with a delivery task recording a pause.
    pub fn admin_lock(&self) -> std::sync::MutexGuard<'_, ()> {
        lock(&self.admin)
    }

    /// Runs every active subscription's deliveries until `stop`. When subscriptions change,
    /// only the changed ones restart; a task stops cooperatively and stores its position
    /// first, so a restart delivers nothing twice but the message that was in flight.
    pub async fn run(self: Arc<Self>, mut stop: Until) {
        let mut changed = self.changed.subscribe();
        let mut running: HashMap<String, Running> = HashMap::new();
        loop {
            self.sync(&mut running).await;
            tokio::select! {
                () = stop.reached() => break,
                r = changed.changed() => if r.is_err() { break },
            }
        }
        for (_, task) in running.drain() {
            task.stop().await;
        }
    }

    /// Starts, stops and restarts delivery tasks to match the stored subscriptions.
    async fn sync(self: &Arc<Self>, running: &mut HashMap<String, Running>) {
        let defs = match self.store.webhooks() {
            Ok(defs) => defs,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the webhook subscriptions");
                return;
            }
        };
        let replays: HashMap<String, u64> = lock(&self.replays).drain().collect();
        let wanted: HashMap<&str, &WebhookDef> = defs.iter().map(|d| (d.webhook_id.as_str(), d)).collect();
        let ids: Vec<String> = running.keys().cloned().collect();
        for id in ids {
            let keep = wanted.get(id.as_str()).is_some_and(|d| {
                !d.paused && running.get(&id).is_some_and(|r| r.generation == d.generation && !r.handle.is_finished())
            }) && !replays.contains_key(&id);
            if !keep && let Some(task) = running.remove(&id) {
                task.stop().await;
                if !wanted.contains_key(id.as_str()) {
                    // Deleted: the stopped task may have stored its position again.
                    let _ = self.store.delete_webhook(&id);
                }
            }
        }
        // A replay's position, written once its task has stopped.
        for (id, position) in replays {
            if wanted.contains_key(id.as_str())
                && let Err(e) = self.store.set_webhook_position(&id, position)
            {
                tracing::error!(webhook = %id, error = %e, "cannot set the replay's position");
            }
        }
        lock(&self.stats).retain(|id, _| wanted.contains_key(id.as_str()));
        for def in &defs {
            let position = self.store.webhook_position(&def.webhook_id).unwrap_or(0);
            self.update(&def.webhook_id, |s| {
                s.paused = def.paused;
                s.position = position;
            });
            if !def.paused && !running.contains_key(&def.webhook_id) {
                let (stop_tx, stop_rx) = watch::channel(false);
                let handle = tokio::spawn(Arc::clone(self).deliver(def.clone(), stop_rx));
                running.insert(def.webhook_id.clone(), Running { generation: def.generation, stop: stop_tx, handle });
            }
        }
    }

    /// One subscription's deliveries, from its stored position on, until `stop`.
    async fn deliver(self: Arc<Self>, def: WebhookDef, mut stop: watch::Receiver<bool>) {
        let id = def.webhook_id.clone();
        let Ok(target) = http::Target::parse(&def.url, usize::MAX) else {
            tracing::error!(webhook = %id, "a stored webhook URL does not parse; not delivering");
            return;
        };
        let mut client = http::Client::new(target);
        let mut revisions = self.store.subscribe();
        let mut position = match self.store.webhook_position(&id) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(webhook = %id, error = %e, "cannot read the webhook's position");
                return;
            }
        };
        self.update(&id, |s| s.position = position);
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
                        _ = stop.wait_for(|s| *s) => return,
                    }
                }
                Err(_) => return,
            };
            if batch.is_empty() {
                tokio::select! {
                    r = revisions.wait_for(|r| *r > seen) => if r.is_err() { return },
                    _ = stop.wait_for(|s| *s) => return,
                }
                continue;
            }
            for (revision, event) in batch {
                if self.subscribed(&def, &event) {
                    let body = self.message(&def, revision, &event);
                    let message_id = format!("msg_{revision}");
                    let sent = tokio::select! {
                        r = self.send(&mut client, &def, &message_id, body) => r,
                        _ = stop.wait_for(|s| *s) => {
                            // The message in flight is delivered again after the restart.
                            self.keep_position(&id, position);
                            return;
                        }
                    };
                    if let Err(error) = sent {
                        tracing::warn!(webhook = %id, revision, %error, "webhook paused: its retry budget ran out");
                        self.pause(&def, position, error);
                        return;
                    }
                    self.update(&id, |s| s.delivered += 1);
                }
                position = revision;
                self.update(&id, |s| s.position = position);
            }
            // Once per batch read: a crash before it delivers this batch's changes again
            // (at least once), with the same ids.
            self.keep_position(&id, position);
        }
    }

    /// Records that the retry budget ran out, unless the subscription was changed or
    /// deleted meanwhile (then that change wins, and the task is restarted or dropped).
    fn pause(&self, def: &WebhookDef, position: u64, error: String) {
        let _admin = self.admin_lock();
        let stored = match self.store.webhook(&def.webhook_id) {
            Ok(Some(stored)) if stored.generation == def.generation => stored,
            Ok(_) => return,
            Err(e) => {
                tracing::error!(webhook = %def.webhook_id, error = %e, "cannot read the webhook to pause it");
                return;
            }
        };
        self.keep_position(&def.webhook_id, position);
        let paused = WebhookDef {
            paused: true,
            last_error: error,
            last_error_at: Some(self.store.now_us().div_euclid(1_000_000)),
            ..stored
        };
        if let Err(e) = self.store.put_webhook(&paused, None) {
            tracing::error!(webhook = %def.webhook_id, error = %e, "cannot record the webhook's pause");
        }
        self.update(&def.webhook_id, |s| s.paused = true);
    }

    fn keep_position(&self, id: &str, position: u64) {
        if let Err(e) = self.store.set_webhook_position(id, position) {
            tracing::error!(webhook = %id, error = %e, "cannot record the webhook's position");
        }
    }

    fn subscribed(&self, def: &WebhookDef, event: &Event) -> bool {
        (def.profile_ids.is_empty() || def.profile_ids.contains(&event.profile_id))
            && (def.event_kinds.is_empty() || def.event_kinds.contains(&(payload::kind_of(event.kind) as i32)))
    }

    fn message(&self, def: &WebhookDef, revision: u64, event: &Event) -> Bytes {
        let key = self.store.contact_key(&event.profile_id, event.channel, &event.contact_point);
        let hex: String = key.0.iter().map(|b| format!("{b:02x}")).collect();
        Bytes::from(payload::body(revision, event, &hex, def.personal_data).to_string())
    }

    /// Sends one message, retrying until a 2xx answer or the retry budget is spent; the
    /// last failure's cause when it is.
    async fn send(&self, client: &mut http::Client, def: &WebhookDef, id: &str, body: Bytes) -> Result<(), String> {
        let started = tokio::time::Instant::now();
        let mut delay = RETRY_DELAY_FIRST;
        loop {
            let error = match self.post_signed(client, def, id, body.clone()).await {
                Ok(200..=299) => return Ok(()),
                Ok(code) => format!("the receiver answered HTTP {code}"),
                Err(e) => e,
            };
            self.update(&def.webhook_id, |s| s.failed_attempts += 1);
            // Full jitter: anywhere up to the delay, so receivers that come back are not
            // met by every sender at once.
            let wait = delay.mul_f64(rand::random::<f64>());
            if started.elapsed() + wait > self.retry_budget {
                return Err(error);
            }
            tracing::debug!(webhook = %def.webhook_id, %error, retry_in_ms = wait.as_millis() as u64, "delivery failed");
            tokio::time::sleep(wait).await;
            delay = (delay * 2).min(RETRY_DELAY_MAX);
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
