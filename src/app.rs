//! The server's lifecycle: every task it starts is owned by one [`App`] (one `JoinSet`),
//! and one signal, its [`Phase`], tells them all where the server is. The stop order,
//! written once (`server::serve` follows it):
//!
//! 1. **Not serving**: health `""` and every service say NOT_SERVING, `/readyz` fails and
//!    systemd hears STOPPING, so balancers take the node out before anything closes.
//! 2. **Draining** (phase [`Phase::Draining`]): the gRPC and edge listeners stop accepting;
//!    open gRPC calls and edge requests run to their end. Metrics still answer.
//! 3. **Grace**: at most `shutdown_grace_ms` for them; what is still open then is cut.
//! 4. **Join** (phase [`Phase::Stopped`]): every task is asked to end and joined; one that
//!    does not end within [`App::JOIN_MS`] is aborted.
//! 5. **Cluster**: this node stops applying the replicated log.
//! 6. **Flush**: the store's memtables are written out, so the next start replays no WAL.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

/// Where the server is in its life. Ordered: a task waiting for a phase is released by any
/// later one too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Serving,
    /// Step 1: health says NOT_SERVING; nothing is closed yet.
    NotServing,
    /// Steps 2 and 3: listeners closed, open calls and requests finishing.
    Draining,
    /// Step 4: every task ends.
    Stopped,
}

/// Every task of the server, and the phase they follow.
pub struct App {
    tasks: JoinSet<()>,
    phase: Arc<watch::Sender<Phase>>,
}

/// Waits for one phase (or a later one). Also released when the [`App`] is gone.
#[derive(Clone)]
pub struct Until {
    rx: watch::Receiver<Phase>,
    phase: Phase,
}

impl Until {
    pub async fn reached(&mut self) {
        let phase = self.phase;
        let _ = self.rx.wait_for(|p| *p >= phase).await;
    }

    /// Whether the phase is reached now.
    pub fn is_reached(&self) -> bool {
        *self.rx.borrow() >= self.phase
    }
}

/// Moves the server through steps 1 and 2; held by whatever decides to stop.
#[derive(Clone)]
pub struct Drain(Arc<watch::Sender<Phase>>);

impl Drain {
    /// Step 1: from now on nothing reports the server as serving.
    pub fn not_serving(&self) {
        self.advance(Phase::NotServing);
    }

    /// Step 2: listeners close, open calls and requests run to their end.
    pub fn begin(&self) {
        self.advance(Phase::Draining);
    }

    /// Phases only move forward.
    fn advance(&self, to: Phase) {
        self.0.send_if_modified(|p| {
            let forward = *p < to;
            if forward {
                *p = to;
            }
            forward
        });
    }
}

impl Default for App {
    fn default() -> App {
        App::new()
    }
}

impl App {
    /// How long joining waits for the tasks to end by themselves before aborting them.
    pub const JOIN_MS: u64 = 2_000;

    pub fn new() -> App {
        App { tasks: JoinSet::new(), phase: Arc::new(watch::Sender::new(Phase::Serving)) }
    }

    /// Released once the server reaches `phase`.
    pub fn until(&self, phase: Phase) -> Until {
        Until { rx: self.phase.subscribe(), phase }
    }

    pub fn drain(&self) -> Drain {
        Drain(Arc::clone(&self.phase))
    }

    /// Starts `task`, owned by the app until [`App::join`].
    pub fn spawn(&mut self, name: &'static str, task: impl Future<Output = ()> + Send + 'static) {
        self.tasks.spawn(async move {
            task.await;
            tracing::debug!(task = name, "task ended");
        });
    }

    /// Step 4: tells every task to stop, joins them, aborts what does not end in time.
    pub async fn join(mut self) {
        self.phase.send_replace(Phase::Stopped);
        let ended = tokio::time::timeout(Duration::from_millis(Self::JOIN_MS), async {
            while let Some(r) = self.tasks.join_next().await {
                if let Err(e) = r
                    && e.is_panic()
                {
                    tracing::error!(error = %e, "a server task panicked");
                }
            }
        })
        .await;
        if ended.is_err() {
            tracing::warn!(tasks = self.tasks.len(), "tasks still running at stop; aborting them");
            self.tasks.shutdown().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn phases_release_their_waiters_in_order_and_join_aborts_the_stubborn() {
        let mut app = App::new();
        let draining = app.until(Phase::Draining);
        let stopped = app.until(Phase::Stopped);
        assert!(!draining.is_reached() && !stopped.is_reached());
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        for (name, mut until) in [("drain", draining.clone()), ("stop", stopped.clone())] {
            let tx = tx.clone();
            app.spawn(name, async move {
                until.reached().await;
                let _ = tx.send(name);
            });
        }
        // Never ends by itself: join must abort it.
        app.spawn("stubborn", std::future::pending());
        app.drain().not_serving();
        assert!(!draining.is_reached());
        app.drain().begin();
        assert_eq!(rx.recv().await, Some("drain"));
        assert!(draining.is_reached() && !stopped.is_reached());
        app.drain().begin(); // twice is once
        app.drain().not_serving(); // and never back
        tokio::time::pause();
        app.join().await;
        assert_eq!(rx.recv().await, Some("stop"));
        assert!(stopped.is_reached());
    }
}
