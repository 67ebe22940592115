//! Data connections: passive listeners on the configured port range that accept only the
//! control connection's client (connection-stealing protection), active connections for PORT/
//! EPRT, TLS on top when `PROT P`, and the two transfer pumps (download, upload). Every close of
//! a TLS data connection sends close_notify; a connection that ends without it (or with a TCP
//! reset) is a cut upload, and nothing of it is stored.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::BytesMut;
use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::oneshot;
use tokio::time::{Instant, timeout, timeout_at};
use tokio_rustls::TlsAcceptor;

use crate::base::config::IpRange;
use crate::base::error::CoreError;
use crate::core::ingest::{Committed, Upload};
use crate::store::blobs::BlobStream;

/// How long a client has to open the data connection after the transfer command.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Bound on the TLS handshake of a data connection.
pub const TLS_TIMEOUT: Duration = Duration::from_secs(30);
/// Bytes handed to the upload pipeline at once (fewer, larger blob writes).
const UPLOAD_CHUNK: usize = 256 * 1024;
/// How long a closed data connection waits for the client's side of the close (so that the
/// kernel never resets a connection whose last bytes the client has not read yet).
const LINGER: Duration = Duration::from_secs(10);

/// IPv4-mapped IPv6 addresses compare as IPv4.
pub fn canonical(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

pub enum DataConn {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

impl AsyncRead for DataConn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            DataConn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            DataConn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for DataConn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            DataConn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            DataConn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            DataConn::Plain(s) => Pin::new(s).poll_flush(cx),
            DataConn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            DataConn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            DataConn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

impl DataConn {
    /// Ends our side properly: TLS close_notify, then FIN. Then waits in the background for
    /// the client to close its side before releasing the socket.
    pub async fn close(mut self) -> io::Result<()> {
        let res = match timeout(LINGER, self.shutdown()).await {
            Ok(r) => r,
            Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "close timed out")),
        };
        if res.is_ok() {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = timeout(LINGER, async {
                    loop {
                        match self.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(_) => {}
                        }
                    }
                })
                .await;
            });
        }
        res
    }
}

/// A passive listener waiting for the client's data connection.
pub struct Passive {
    pub listener: TcpListener,
    pub port: u16,
}

/// Binds a listener on `ip` at the next free port of `range`, starting after the last one
/// handed out (so ports rotate and a just-closed one is not reused at once).
pub fn bind_passive(ip: IpAddr, range: (u16, u16), next: &AtomicU32) -> io::Result<Passive> {
    let (lo, hi) = range;
    let n = u32::from(hi - lo) + 1;
    let start = next.fetch_add(1, Ordering::Relaxed) % n;
    let mut last_err = None;
    for i in 0..n {
        let port = lo + ((start + i) % n) as u16;
        let sock = if ip.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        }?;
        sock.set_reuseaddr(true)?;
        match sock.bind(SocketAddr::new(ip, port)) {
            Ok(()) => match sock.listen(8) {
                Ok(listener) => {
                    next.store(start + i + 1, Ordering::Relaxed);
                    return Ok(Passive { listener, port });
                }
                Err(e) => last_err = Some(e),
            },
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err
        .unwrap_or_else(|| io::Error::new(io::ErrorKind::AddrInUse, "no free passive port")))
}

/// Accepts the data connection of the client at `expected`. Connections from any other
/// address (or, behind a PROXY-protocol balancer, from a peer not in `ftp.proxy_allowed`) are
/// dropped (and logged) and the wait goes on until `wait` has passed.
pub async fn accept_from(
    listener: &TcpListener,
    expected: IpAddr,
    proxy_allowed: Option<&[IpRange]>,
    wait: Duration,
) -> io::Result<TcpStream> {
    let deadline = Instant::now() + wait;
    let expected = canonical(expected);
    loop {
        let (mut tcp, peer) = timeout_at(deadline, listener.accept())
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no data connection"))??;
        let source = if let Some(allowed) = proxy_allowed {
            if !allowed.iter().any(|r| r.contains(&canonical(peer.ip()))) {
                tracing::warn!(peer = %peer, "data connection from an address not in ftp.proxy_allowed dropped");
                continue;
            }
            match timeout_at(deadline, super::proxy::read_header(&mut tcp)).await {
                Ok(Ok(h)) => h.source.map_or(peer.ip(), |s| s.ip()),
                Ok(Err(e)) => {
                    tracing::warn!(peer = %peer, error = %e, "data connection without a valid PROXY header dropped");
                    continue;
                }
                Err(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "no data connection",
                    ));
                }
            }
        } else {
            peer.ip()
        };
        if canonical(source) == expected {
            return Ok(tcp);
        }
        tracing::warn!(
            from = %canonical(source),
            client = %expected,
            "refused a data connection from another address than the control connection's"
        );
    }
}

/// Active mode: connect to the client's announced address.
pub async fn connect_active(addr: SocketAddr) -> io::Result<TcpStream> {
    timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))?
}

/// Wraps an accepted data socket in TLS when the session asked for `PROT P`.
pub async fn secure(tcp: TcpStream, tls: Option<&TlsAcceptor>) -> io::Result<DataConn> {
    let Some(acceptor) = tls else {
        return Ok(DataConn::Plain(tcp));
    };
    match timeout(TLS_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(s)) => Ok(DataConn::Tls(Box::new(s))),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "TLS handshake timed out",
        )),
    }
}

/// How a transfer ended.
#[derive(Debug)]
pub enum Outcome {
    /// Download or listing sent completely.
    Sent(u64),
    /// Upload committed (the photo is durable and in the catalog).
    Stored(Committed),
    /// The core refused the upload (type, size, quota) or could not store it.
    Refused(CoreError),
    /// The data connection broke (reset, TLS closed without close_notify).
    Cut(String),
    /// No progress for the idle timeout.
    Idle,
    /// Reading the file to send failed.
    SourceFailed(String),
    /// ABOR, control connection lost, or shutdown grace over.
    Cancelled,
}

async fn write_all_cancellable(
    conn: &mut DataConn,
    data: &[u8],
    idle: Duration,
    cancel: &mut oneshot::Receiver<()>,
) -> Result<(), Outcome> {
    tokio::select! {
        biased;
        _ = cancel => Err(Outcome::Cancelled),
        r = timeout(idle, conn.write_all(data)) => match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Outcome::Cut(e.to_string())),
            Err(_) => Err(Outcome::Idle),
        },
    }
}

/// Sends `data` (a listing) then closes properly.
pub async fn send_bytes(
    mut conn: DataConn,
    data: Vec<u8>,
    idle: Duration,
    mut cancel: oneshot::Receiver<()>,
) -> Outcome {
    if let Err(o) = write_all_cancellable(&mut conn, &data, idle, &mut cancel).await {
        let _ = timeout(Duration::from_secs(2), conn.close()).await;
        return o;
    }
    match conn.close().await {
        Ok(()) => Outcome::Sent(data.len() as u64),
        Err(e) => Outcome::Cut(e.to_string()),
    }
}

/// Streams a file to the client, then closes properly (close_notify + FIN) before the 226.
pub async fn send_stream(
    mut conn: DataConn,
    mut stream: BlobStream,
    idle: Duration,
    mut cancel: oneshot::Receiver<()>,
) -> Outcome {
    let mut sent = 0u64;
    loop {
        let next = tokio::select! {
            biased;
            _ = &mut cancel => {
                let _ = timeout(Duration::from_secs(2), conn.close()).await;
                return Outcome::Cancelled;
            }
            n = timeout(idle, stream.next()) => n,
        };
        match next {
            Ok(Some(Ok(chunk))) => {
                if let Err(o) = write_all_cancellable(&mut conn, &chunk, idle, &mut cancel).await {
                    let _ = timeout(Duration::from_secs(2), conn.close()).await;
                    return o;
                }
                sent += chunk.len() as u64;
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                let _ = timeout(Duration::from_secs(2), conn.close()).await;
                return Outcome::SourceFailed(e.to_string());
            }
            Err(_) => {
                let _ = timeout(Duration::from_secs(2), conn.close()).await;
                return Outcome::SourceFailed("blob store did not answer".into());
            }
        }
    }
    match conn.close().await {
        Ok(()) => Outcome::Sent(sent),
        Err(e) => Outcome::Cut(e.to_string()),
    }
}

/// Receives a file into the upload pipeline. A normal end of stream (FIN, or TLS close_notify)
/// commits; anything else aborts and leaves nothing stored.
pub async fn receive(
    mut conn: DataConn,
    mut upload: Upload,
    idle: Duration,
    mut cancel: oneshot::Receiver<()>,
) -> Outcome {
    let mut buf = BytesMut::with_capacity(UPLOAD_CHUNK * 2);
    loop {
        if buf.capacity() - buf.len() < UPLOAD_CHUNK / 4 {
            buf.reserve(UPLOAD_CHUNK);
        }
        let read = tokio::select! {
            biased;
            _ = &mut cancel => {
                upload.abort(&CoreError::Aborted).await;
                let _ = timeout(Duration::from_secs(2), conn.close()).await;
                return Outcome::Cancelled;
            }
            r = timeout(idle, conn.read_buf(&mut buf)) => r,
        };
        let eof = match read {
            Ok(Ok(0)) => true,
            Ok(Ok(_)) => false,
            Ok(Err(e)) => {
                upload.abort(&CoreError::Aborted).await;
                // The peer is gone or broke TLS: no close_notify can reach it; just drop.
                return Outcome::Cut(e.to_string());
            }
            Err(_) => {
                upload.abort(&CoreError::Aborted).await;
                let _ = timeout(Duration::from_secs(2), conn.close()).await;
                return Outcome::Idle;
            }
        };
        if ((eof && !buf.is_empty()) || buf.len() >= UPLOAD_CHUNK)
            && let Err(e) = upload.write(buf.split().freeze()).await
        {
            upload.abort(&e).await;
            let _ = timeout(Duration::from_secs(2), conn.close()).await;
            return Outcome::Refused(e);
        }
        if eof {
            break;
        }
    }
    // The client finished: answer its close_notify (it may be waiting for ours), then commit.
    let _ = conn.close().await;
    match upload.finish().await {
        Ok(c) => Outcome::Stored(c),
        Err(e) => Outcome::Refused(e),
    }
}
