//! The public change subject: every change, as the JSON a webhook gets (schema
//! `consentd.webhook.v1`), published to `<subject>.<profile_id>` and kept in the JetStream
//! stream `<stream>-changes` for pipelines to consume at their own pace, separate from the
//! replicated log (which is sealed, internal, and trimmed after snapshots).
//!
//! It is delivered like a subscription (the feed, the position, in a cluster one node at a
//! time by lease), as the server's own feed [`FEED_ID`]; each message carries
//! `Nats-Msg-Id: msg_<revision>`, so JetStream drops the copy a takeover or restart sends
//! again within its de-duplication window. A NATS that does not answer is retried without
//! end (the feed waits, its lag grows on `/metrics`); it never pauses.

use std::time::Duration;

use async_nats::jetstream::{self, stream};
use bytes::Bytes;
use tokio::sync::OnceCell;

use crate::cluster::ClusterConfig;

/// The feed's id among the subscriptions (`_`: the server's own, never an admin's).
pub const FEED_ID: &str = "_changes";
/// How long the stream keeps a change.
pub const MAX_AGE: Duration = Duration::from_secs(7 * 86_400);
const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);
const ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the changes go.
pub struct Publisher {
    subject: String,
    stream: String,
    replicas: usize,
    /// Standalone mode: the NATS to connect to, on first use.
    connect: Option<ClusterConfig>,
    js: OnceCell<jetstream::Context>,
    /// The stream was made (or found) once.
    stream_ready: OnceCell<()>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher").field("subject", &self.subject).field("stream", &self.stream).finish()
    }
}

impl Publisher {
    /// On a cluster's connection.
    pub fn on(js: jetstream::Context, subject: String, stream: String, replicas: usize) -> Publisher {
        Publisher {
            subject,
            stream,
            replicas,
            connect: None,
            js: OnceCell::new_with(Some(js)),
            stream_ready: OnceCell::new(),
        }
    }

    /// Standalone: connects to `nats` when the first change is published.
    pub fn connecting(nats: ClusterConfig, subject: String, stream: String) -> Publisher {
        let replicas = nats.replicas;
        Publisher { subject, stream, replicas, connect: Some(nats), js: OnceCell::new(), stream_ready: OnceCell::new() }
    }

    async fn context(&self) -> Result<&jetstream::Context, String> {
        let js = self
            .js
            .get_or_try_init(|| async {
                let config = self.connect.as_ref().ok_or("no NATS connection")?;
                crate::cluster::connect(config).await.map_err(|e| e.to_string())
            })
            .await?;
        Ok(js)
    }

    /// Creates the stream, or adds this subject to it.
    async fn ensure_stream(&self, js: &jetstream::Context) -> Result<(), String> {
        let subjects = format!("{}.>", self.subject);
        let config = stream::Config {
            name: self.stream.clone(),
            subjects: vec![subjects.clone()],
            storage: stream::StorageType::File,
            num_replicas: self.replicas,
            max_age: MAX_AGE,
            duplicate_window: DUPLICATE_WINDOW,
            ..Default::default()
        };
        let mut stream = js.get_or_create_stream(config).await.map_err(|e| e.to_string())?;
        let info = stream.info().await.map_err(|e| e.to_string())?;
        if !info.config.subjects.contains(&subjects) {
            let mut config = info.config.clone();
            config.subjects.push(subjects);
            js.update_stream(config).await.map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Publishes one change and waits for JetStream to store it (or to report it a
    /// duplicate of one stored).
    pub async fn publish(&self, profile_id: &str, message_id: &str, body: Bytes) -> Result<(), String> {
        let js = self.context().await?;
        self.stream_ready.get_or_try_init(|| self.ensure_stream(js)).await?;
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(async_nats::header::NATS_MESSAGE_ID, message_id);
        let subject = format!("{}.{profile_id}", self.subject);
        let sent = async {
            let ack = js
                .publish_with_headers(subject.clone(), headers.clone(), body.clone())
                .await
                .map_err(|e| e.to_string())?;
            ack.await.map_err(|e| e.to_string())
        };
        match tokio::time::timeout(ACK_TIMEOUT, sent).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => {
                // No stream takes the subject (first use, or deleted by an operator): make
                // it, and let the retry publish again.
                if let Err(made) = self.ensure_stream(js).await {
                    return Err(format!("{e}; and the stream `{}` cannot be made: {made}", self.stream));
                }
                Err(e)
            }
            Err(_) => Err(format!("no acknowledgement from JetStream within {ACK_TIMEOUT:?}")),
        }
    }
}
