//! Accepting connections without being knocked over by them: a cap on open connections, a
//! deadline for a new connection's first bytes and for silent ones, back-off when the
//! process runs out of file descriptors, and the open-file limit raised at start.
//!
//! A flood of idle TCP connections used to be held forever; with a 1,024-descriptor limit
//! 1,100 of them made the server unreachable while `accept` spun on `EMFILE`. Here:
//! - past `connections_max` a new connection is accepted and closed at once (the client
//!   sees a reset, not a hang), and a warning is logged at most once a second;
//! - a connection that sends nothing within `handshake_timeout_ms` of being accepted, or
//!   neither sends nor receives anything for `connection_idle_ms`, is closed (live HTTP/2
//!   connections see the server's keep-alive pings, so only dead or hostile ones go);
//! - `accept` errors (`EMFILE` and friends) pause accepting for a moment instead of
//!   retrying in a tight loop.
//!
//! [`serve_http1`] runs the HTTP/1.1 listeners (the edge, metrics) on these connections
//! and drains them like tonic drains gRPC: on the drain signal it stops accepting, lets
//! every connection finish the request it is in, and returns once all have closed.
//!
//! Must not touch: anything above the byte stream (HTTP/2 and gRPC are tonic's; requests
//! are the router's).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::time::Sleep;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::{Connected, TcpConnectInfo};

/// The limits of [`accept`], from `config::Limits`.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    pub connections_max: usize,
    pub handshake_timeout: Duration,
    pub idle_timeout: Duration,
}

/// Counters for metrics and tests.
#[derive(Debug, Default)]
pub struct ConnectionStats {
    pub open: AtomicUsize,
    pub refused: AtomicU64,
    pub timed_out: AtomicU64,
    pub accept_errors: AtomicU64,
}

/// The most connections a process with `open_files_max` descriptors may hold: what is left
/// after the store's share ([`crate::config::Limits::OPEN_FILES_RESERVED`]), and at least half.
pub fn connections_max_for(open_files_max: u64) -> usize {
    let left = open_files_max.saturating_sub(crate::config::Limits::OPEN_FILES_RESERVED).max(open_files_max / 2);
    usize::try_from(left).unwrap_or(usize::MAX)
}

/// Raises the soft open-file limit to the hard limit; returns the limit now in force.
pub fn raise_open_file_limit() -> io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

/// Accepts connections from `listener` under `limits`, as a stream for tonic's
/// `serve_with_incoming_shutdown`; with `tls`, each connection's handshake runs in its own
/// task (bounded by the handshake deadline), so a slow client never holds up the next.
/// The accept task ends when the stream is dropped.
pub fn accept(
    listener: TcpListener,
    limits: ConnectionLimits,
    stats: Arc<ConnectionStats>,
    tls: Option<Arc<crate::tls::ReloadingTls>>,
) -> ReceiverStream<io::Result<Conn>> {
    let (tx, rx) = mpsc::channel(16);
    let slots = Arc::new(Semaphore::new(limits.connections_max));
    tokio::spawn(async move {
        let mut last_warning: Option<Instant> = None;
        let mut warn = |what: &str, detail: String| {
            if last_warning.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                last_warning = Some(Instant::now());
                tracing::warn!(detail, "{what}");
            }
        };
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                () = tx.closed() => return,
            };
            let (stream, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE, ENFILE, ENOBUFS, ENOMEM: retrying at once only spins.
                    stats.accept_errors.fetch_add(1, Ordering::Relaxed);
                    warn("accept failed; pausing 100 ms", e.to_string());
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
                stats.refused.fetch_add(1, Ordering::Relaxed);
                warn("connection limit reached; closing new connections", format!("limit {}", limits.connections_max));
                drop(stream);
                continue;
            };
            if let Err(e) = stream.set_nodelay(true) {
                tracing::debug!(error = %e, "cannot set TCP_NODELAY");
            }
            let guarded = GuardedStream::new(stream, peer, limits, Arc::clone(&stats), permit);
            match &tls {
                None => {
                    if tx.send(Ok(Conn::Plain(guarded))).await.is_err() {
                        return;
                    }
                }
                Some(tls) => {
                    let acceptor = tls.acceptor();
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        match tokio::time::timeout(limits.handshake_timeout, acceptor.accept(guarded)).await {
                            Ok(Ok(stream)) => {
                                let _ = tx.send(Ok(Conn::Tls(Box::new(stream)))).await;
                            }
                            Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                            Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                        }
                    });
                }
            }
        }
    });
    ReceiverStream::new(rx)
}

/// An accepted connection, plain or TLS.
#[derive(Debug)]
pub enum Conn {
    Plain(GuardedStream),
    Tls(Box<tokio_rustls::server::TlsStream<GuardedStream>>),
}

impl Connected for Conn {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        match self {
            Conn::Plain(s) => s.connect_info(),
            Conn::Tls(s) => s.get_ref().0.connect_info(),
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, data),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, data),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Conn::Plain(s) => s.is_write_vectored(),
            Conn::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// A TCP stream that holds a connection slot and closes itself when silent too long.
#[derive(Debug)]
pub struct GuardedStream {
    inner: TcpStream,
    peer: SocketAddr,
    deadline: Pin<Box<Sleep>>,
    /// No byte read yet: the handshake deadline applies.
    fresh: bool,
    limits: ConnectionLimits,
    stats: Arc<ConnectionStats>,
    _slot: OwnedSemaphorePermit,
}

impl GuardedStream {
    fn new(
        inner: TcpStream,
        peer: SocketAddr,
        limits: ConnectionLimits,
        stats: Arc<ConnectionStats>,
        slot: OwnedSemaphorePermit,
    ) -> GuardedStream {
        stats.open.fetch_add(1, Ordering::Relaxed);
        let deadline = Box::pin(tokio::time::sleep(limits.handshake_timeout));
        GuardedStream { inner, peer, deadline, fresh: true, limits, stats, _slot: slot }
    }

    fn activity(&mut self) {
        self.fresh = false;
        let next = tokio::time::Instant::now() + self.limits.idle_timeout;
        // Resetting a timer costs a little; once per 1/8 of the window is plenty.
        if next.saturating_duration_since(self.deadline.deadline()) > self.limits.idle_timeout / 8 {
            self.deadline.as_mut().reset(next);
        }
    }

    fn check_deadline(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        if self.deadline.as_mut().poll(cx).is_ready() {
            self.stats.timed_out.fetch_add(1, Ordering::Relaxed);
            let what = if self.fresh { "sent nothing after connecting" } else { "was silent too long" };
            tracing::debug!(peer = %self.peer, "closing a connection that {what}");
            return Err(io::Error::new(io::ErrorKind::TimedOut, format!("connection {what}")));
        }
        Ok(())
    }
}

impl Drop for GuardedStream {
    fn drop(&mut self) {
        self.stats.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Connected for GuardedStream {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.inner.connect_info()
    }
}

impl AsyncRead for GuardedStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    self.activity();
                }
                Poll::Ready(r)
            }
            Poll::Pending => {
                self.check_deadline(cx)?;
                Poll::Pending
            }
        }
    }
}

impl AsyncWrite for GuardedStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let n = ready!(Pin::new(&mut self.inner).poll_write(cx, data))?;
        // Writing alone does not end the handshake phase: a client must speak first.
        if n > 0 && !self.fresh {
            self.activity();
        }
        Poll::Ready(Ok(n))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let n = ready!(Pin::new(&mut self.inner).poll_write_vectored(cx, bufs))?;
        if n > 0 && !self.fresh {
            self.activity();
        }
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The client's address, put into each request [`serve_http1`] serves.
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub Option<SocketAddr>);

/// Resolves once `drain` is true or its sender is gone; holds no borrow of the value (a
/// `watch::Ref` held across an await would make the connection's task `!Send`).
/// Serves `app` over HTTP/1.1 on the connections [`accept`] takes from `listener`, each
/// request carrying its [`Peer`]. When `drain` is reached (or the app is gone): stops
/// accepting (the listener closes), asks every open connection to close after the request
/// it is in, and returns when all have; a caller that cannot wait drops the future, which
/// ends them all.
pub async fn serve_http1(
    listener: TcpListener,
    app: axum::Router,
    limits: ConnectionLimits,
    stats: Arc<ConnectionStats>,
    tls: Option<Arc<crate::tls::ReloadingTls>>,
    mut drain: crate::app::Until,
) {
    let mut incoming = accept(listener, limits, stats, tls);
    let mut open = tokio::task::JoinSet::new();
    loop {
        let conn = tokio::select! {
            c = incoming.next() => c,
            () = drain.reached() => break,
            // Reaps ended connections, so the set holds only open ones.
            Some(_) = open.join_next(), if !open.is_empty() => continue,
        };
        let conn = match conn {
            Some(Ok(conn)) => conn,
            Some(Err(e)) => {
                tracing::debug!(error = %e, "accept failed");
                continue;
            }
            None => break,
        };
        let peer = Peer(conn.connect_info().remote_addr());
        let app = app.clone();
        let mut drain = drain.clone();
        open.spawn(async move {
            let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(peer);
                let app = app.clone();
                async move { tower::ServiceExt::oneshot(app, req).await }
            });
            let served = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_millis(crate::config::Limits::HTTP1_HEADER_READ_MS))
                .max_buf_size(crate::config::Limits::HTTP1_HEAD_BYTES_MAX)
                .serve_connection(TokioIo::new(conn), service);
            tokio::pin!(served);
            let result = tokio::select! {
                r = served.as_mut() => r,
                () = drain.reached() => {
                    // Finishes the request in flight (an idle keep-alive connection closes
                    // at once), then closes.
                    served.as_mut().graceful_shutdown();
                    served.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "HTTP/1.1 connection ended with an error");
            }
        });
    }
    drop(incoming);
    while open.join_next().await.is_some() {}
}
