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
use tokio::task::JoinSet;

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
    /// Positions set by `ReplayWebhook`, written once the deliveries have stopped.
    replays: Mutex<HashMap<String, u64>>,
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

    /// Runs every active subscription's deliveries until `stop`; restarts them all when a
    /// subscription changes.
    pub async fn run(self: Arc<Self>, mut stop: Until) {
        let mut changed = self.changed.subscribe();
        loop {
            let replays: Vec<(String, u64)> = lock(&self.replays).drain().collect();
            for (id, position) in replays {
                if let Err(e) = self.store.set_webhook_position(&id, position) {
                    tracing::error!(webhook = %id, error = %e, "cannot set the replay's position");
                }
            }
            let mut tasks = JoinSet::new();
            match self.store.webhooks() {
                Ok(defs) => {
                    let ids: Vec<String> = defs.iter().map(|d| d.webhook_id.clone()).collect();
                    lock(&self.stats).retain(|id, _| ids.contains(id));
                    for def in defs {
                        self.update(&def.webhook_id, |s| s.paused = def.paused);
                        if !def.paused {
                            tasks.spawn(Arc::clone(&self).deliver(def));
                        }
                    }
                }
                Err(e) => tracing::error!(error = %e, "cannot read the webhook subscriptions"),
            }
            tokio::select! {
                () = stop.reached() => return,
                r = changed.changed() => if r.is_err() { return },
            }
            tasks.shutdown().await;
        }
    }

    /// One subscription's deliveries, from its stored position on.
    async fn deliver(self: Arc<Self>, mut def: WebhookDef) {
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
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
                Err(_) => return,
            };
            if batch.is_empty() {
                if revisions.wait_for(|r| *r > seen).await.is_err() {
                    return;
                }
                continue;
            }
            for (revision, event) in batch {
                if self.subscribed(&def, &event) {
                    let body = self.message(&def, revision, &event);
                    if let Err(error) = self.send(&mut client, &def, &format!("msg_{revision}"), body).await {
                        tracing::warn!(webhook = %id, revision, %error, "webhook paused: its retry budget ran out");
                        self.keep_position(&id, position);
                        def.paused = true;
                        def.last_error = error;
                        def.last_error_at = Some(self.store.now_us().div_euclid(1_000_000));
                        if let Err(e) = self.store.put_webhook(&def, None) {
                            tracing::error!(webhook = %id, error = %e, "cannot record the webhook's pause");
                        }
                        self.update(&id, |s| s.paused = true);
                        return;
                    }
                    self.update(&id, |s| s.delivered += 1);
                }
                position = revision;
                self.update(&id, |s| s.position = position);
            }
            // Once per batch read: a stop or crash before it delivers this batch's changes
            // again (at least once), with the same ids.
            self.keep_position(&id, position);
        }
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
            let error = match self.attempt(client, def, id, body.clone()).await {
                Ok(()) => return Ok(()),
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

    async fn attempt(&self, client: &mut http::Client, def: &WebhookDef, id: &str, body: Bytes) -> Result<(), String> {
        let now = self.store.now_us().div_euclid(1_000_000);
        let signature = sign::signature(def.signing_secrets(now), id, now, &body);
        let headers =
            [("webhook-id", id.to_owned()), ("webhook-timestamp", now.to_string()), ("webhook-signature", signature)];
        match client.post(&headers, body).await? {
            200..=299 => Ok(()),
            code => Err(format!("the receiver answered HTTP {code}")),
        }
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
        let now = self.store.now_us().div_euclid(1_000_000);
        let body = Bytes::from(body.to_string());
        let signature = sign::signature(def.signing_secrets(now), id, now, &body);
        let headers =
            [("webhook-id", id.to_owned()), ("webhook-timestamp", now.to_string()), ("webhook-signature", signature)];
        match http::Client::new(target).post(&headers, body).await {
            Ok(code @ 200..=299) => (code, String::new()),
            Ok(code) => (code, format!("the receiver answered HTTP {code}")),
            Err(e) => (0, e),
        }
    }
}
