//! The HTTP door's connection loop: hyper's HTTP/1.1 server with the bounds `axum::serve` does
//! not have. A request head must arrive within `http.header_read_timeout_secs` (from connecting,
//! or from its first byte on a reused connection); an idle keep-alive connection may wait
//! `http.keep_alive_idle_secs` for its next request (longer than SFTPGo's 90 s, so SFTPGo drops
//! its idle connections first and never sends into one we are closing); at most
//! `http.max_connections` are open, and more are closed at once, so a flood of silent sockets
//! cannot take the file descriptors the FTP door needs.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::rt::{Sleep, Timer};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower_service::Service;

use crate::core::gateway::Gateway;

/// How long each connection may take over its request heads and idle waits.
#[derive(Clone, Copy, Debug)]
pub struct ConnLimits {
    pub header_read: Duration,
    pub keep_alive_idle: Duration,
}

/// Serves `router` on `listener` until `shutdown` resolves; then stops accepting, closes idle
/// connections and waits for in-flight requests (the caller bounds that wait).
pub async fn serve(
    gw: Gateway,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let cfg = gw.config_shared();
    let limits = ConnLimits {
        header_read: Duration::from_secs(cfg.http.header_read_timeout_secs),
        keep_alive_idle: Duration::from_secs(cfg.http.keep_alive_idle_secs),
    };
    let slots = Arc::new(Semaphore::new(cfg.http.max_connections));
    let app = super::router(gw);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut refused_logged: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            r = listener.accept() => match r {
                Ok(v) => v,
                Err(e) => {
                    // Out of file descriptors (or a connection reset before accept): wait a
                    // little instead of spinning, as every other server does.
                    tracing::warn!(error = %e, "HTTP door cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            metrics::counter!("ftpgate_http_connections_refused_total").increment(1);
            if refused_logged.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                refused_logged = Some(Instant::now());
                tracing::warn!(
                    %peer,
                    max_connections = cfg.http.max_connections,
                    "HTTP door full: closing new connections (http.max_connections)"
                );
            }
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (app, watcher) = (app.clone(), graceful.watcher());
        tokio::spawn(async move {
            if let Err(e) = serve_connection(app, stream, peer, limits, watcher).await {
                tracing::debug!(%peer, error = %e, "HTTP connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// One HTTP/1.1 connection, its requests carrying the peer address as axum's `ConnectInfo`.
async fn serve_connection(
    app: Router,
    stream: TcpStream,
    peer: SocketAddr,
    limits: ConnLimits,
    watcher: hyper_util::server::graceful::Watcher,
) -> hyper::Result<()> {
    let counters = Arc::new(IoCounters::default());
    let io = TokioIo::new(CountingIo {
        inner: stream,
        counters: counters.clone(),
    });
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        app.clone().call(req)
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(HeadTimer { counters, limits })
        .header_read_timeout(limits.header_read)
        .keep_alive(true)
        .serve_connection(io, service);
    watcher.watch(conn).await
}

/// Bytes read and written on one connection: the timer reads them to tell a connection that is
/// idle between requests from one that has started (and is slow to finish) a request head.
#[derive(Default)]
struct IoCounters {
    read: AtomicU64,
    written: AtomicU64,
}

/// A stream that counts what passes through it.
struct CountingIo<S> {
    inner: S,
    counters: Arc<IoCounters>,
}

impl<S: AsyncRead + Unpin> AsyncRead for CountingIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len().saturating_sub(before);
        if n > 0 {
            self.counters.read.fetch_add(n as u64, Ordering::Relaxed);
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for CountingIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = r {
            self.counters.written.fetch_add(n as u64, Ordering::Relaxed);
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = r {
            self.counters.written.fetch_add(n as u64, Ordering::Relaxed);
        }
        r
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

/// hyper's header-read timer, with one change: hyper (1.4 and later) also runs it while a
/// keep-alive connection waits for its next request, which would close SFTPGo's idle
/// connections after 30 s. Here a reused connection that has not sent a byte of its next
/// request may wait `keep_alive_idle`; from that first byte the head must be complete within
/// `header_read`. A new connection gets `header_read` from the start, as in hyper.
struct HeadTimer {
    counters: Arc<IoCounters>,
    limits: ConnLimits,
}

impl Timer for HeadTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Sleep>> {
        self.sleep_until(Instant::now() + duration)
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>> {
        let started = deadline
            .checked_sub(self.limits.header_read)
            .unwrap_or(deadline);
        let reused = self.counters.written.load(Ordering::Relaxed) > 0;
        let first = if reused {
            started + self.limits.keep_alive_idle
        } else {
            deadline
        };
        Box::pin(HeadSleep {
            counters: self.counters.clone(),
            read_at_start: self.counters.read.load(Ordering::Relaxed),
            waiting_for_first_byte: reused,
            header_read: self.limits.header_read,
            sleep: Box::pin(tokio::time::sleep_until(first.into())),
        })
    }
}

struct HeadSleep {
    counters: Arc<IoCounters>,
    read_at_start: u64,
    /// An idle keep-alive connection: the deadline moves to `header_read` after the first byte.
    waiting_for_first_byte: bool,
    header_read: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl Future for HeadSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // hyper polls this each time a read leaves the head incomplete, so bytes that just
        // arrived are seen here at once.
        if self.waiting_for_first_byte
            && self.counters.read.load(Ordering::Relaxed) > self.read_at_start
        {
            self.waiting_for_first_byte = false;
            let deadline = tokio::time::Instant::now() + self.header_read;
            self.sleep.as_mut().reset(deadline);
        }
        self.sleep.as_mut().poll(cx)
    }
}

impl Sleep for HeadSleep {}
