//! The two server-streaming reads of `ConsentService`: export (a scan of every contact
//! point of a profile, history in pages) and the change feed. Both go through bounded
//! channels: a slow reader holds the producer, never server memory.

use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::api::auth::{Principal, still_valid};
use crate::api::error::storage_status;
use crate::api::{convert, pb};
use crate::config::Limits;
use crate::storage::Store;

/// Changes read from the store per step of a watch stream.
const WATCH_PAGE: usize = 256;

/// Every contact point of `profile_id`, with its history when asked.
pub(super) fn export(
    store: Store,
    profile_id: String,
    include_history: bool,
) -> ReceiverStream<Result<pb::ExportRecordsResponse, Status>> {
    // A bounded channel: a slow reader holds the scan, never server memory.
    let (tx, rx) = mpsc::channel(256);
    tokio::task::spawn_blocking(move || {
        let catalog = store.catalog();
        let now_secs = store.now_us().div_euclid(1_000_000);
        let result = store.for_each_contact(|key, c| {
            if c.profile_id != profile_id {
                return true;
            }
            let channel = c.channel;
            let (records, suppressions) = convert::contact_to_pb(&catalog, &c, now_secs);
            let mut msg = pb::ExportRecordsResponse {
                channel: convert::channel_to_pb(channel) as i32,
                contact_point: c.contact_point,
                records,
                suppressions,
                events: Vec::new(),
                reassigned_at: c.reassigned_at_us.map(convert::ts_from_us),
                erased_at: c.erased_at_us.map(convert::ts_from_us),
            };
            if !include_history {
                return tx.blocking_send(Ok(msg)).is_ok();
            }
            // A long history goes out in pages: the first message carries the records,
            // the next ones only further events of the same contact point, so no
            // contact can outgrow the message limit.
            let mut after_seq = 0;
            loop {
                let page = store.history_page(
                    &key,
                    after_seq,
                    Limits::EXPORT_EVENTS_PER_MESSAGE_MAX,
                    Limits::HISTORY_PAGE_BYTES_MAX,
                );
                let (page, full) = match page {
                    Ok(page) => page,
                    Err(e) => {
                        let _ = tx.blocking_send(Err(storage_status(e)));
                        return false;
                    }
                };
                after_seq = page.last().map_or(after_seq, |event| event.seq);
                msg.events = page.into_iter().map(convert::event_to_pb).collect();
                let next = pb::ExportRecordsResponse {
                    channel: msg.channel,
                    contact_point: msg.contact_point.clone(),
                    ..Default::default()
                };
                if tx.blocking_send(Ok(std::mem::replace(&mut msg, next))).is_err() {
                    return false;
                }
                if !full {
                    return true;
                }
            }
        });
        if let Err(e) = result {
            let _ = tx.blocking_send(Err(storage_status(e)));
        }
    });
    ReceiverStream::new(rx)
}

/// Applied changes after `after_revision` that `principal` may see, then new ones as they
/// are committed, until the client leaves or the key stops being valid. `permit` is one of
/// the server's watch slots, held for the stream's life.
pub(super) fn watch(
    store: Store,
    principal: Principal,
    after_revision: u64,
    profile_ids: Vec<String>,
    permit: OwnedSemaphorePermit,
) -> ReceiverStream<Result<pb::WatchChangesResponse, Status>> {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        // Held for the stream's life.
        let _permit = permit;
        let mut revisions = store.subscribe();
        let mut keys = store.subscribe_keys();
        let mut last = after_revision;
        loop {
            revisions.borrow_and_update();
            if let Err(status) = still_valid(&store, &principal) {
                let _ = tx.send(Err(status)).await;
                return;
            }
            let page = match store.changes_after(last, WATCH_PAGE) {
                Ok(p) => p,
                Err(e) => {
                    let _ = tx.send(Err(storage_status(e))).await;
                    return;
                }
            };
            let full = page.len() == WATCH_PAGE;
            for (rev, event) in page {
                last = rev;
                let wanted = principal.allows(&event.profile_id)
                    && (profile_ids.is_empty() || profile_ids.contains(&event.profile_id));
                if !wanted {
                    continue;
                }
                let msg = pb::WatchChangesResponse {
                    revision: rev,
                    profile_id: event.profile_id.clone(),
                    channel: convert::channel_to_pb(event.channel) as i32,
                    contact_point: event.contact_point.clone(),
                    event: Some(convert::event_to_pb(event)),
                };
                if tx.send(Ok(msg)).await.is_err() {
                    return;
                }
            }
            if full {
                continue;
            }
            tokio::select! {
                changed = revisions.changed() => if changed.is_err() { return },
                // Re-checked at the top of the loop.
                changed = keys.changed() => if changed.is_err() { return },
                () = tx.closed() => return,
            }
        }
    });
    ReceiverStream::new(rx)
}
