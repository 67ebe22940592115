//! The control connection: a bounded line reader (Telnet sequences removed), reply writer, and
//! the hand-over of the raw stream for `AUTH TLS` together with any bytes already buffered, so
//! a ClientHello that arrives in the same read as the command is never lost or parsed as a
//! command.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

use super::reply::Reply;

/// Longest accepted command line, CRLF excluded. Paths are at most 4096 bytes of input too.
pub const MAX_LINE: usize = 4096;

/// Anything a control or data connection can run over (TCP, TLS over TCP, test pipes).
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + Sync {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Sync> Io for T {}

/// The plaintext control connection.
///
/// Clients send ABOR as TCP urgent data (ftplib: `sendall(b"ABOR\r\n", MSG_OOB)`). With
/// SO_OOBINLINE the kernel ends a read just before the urgent byte (the final LF). tokio takes
/// such a short read as "drained" and waits for new data, which never comes while the client
/// waits for the ABOR reply. So after each read, what is already there is picked up with
/// non-blocking reads on the socket itself.
pub struct ControlTcp(pub tokio::net::TcpStream);

impl AsyncRead for ControlTcp {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        std::task::ready!(Pin::new(&mut self.0).poll_read(cx, buf))?;
        if buf.filled().len() > before {
            use std::io::Read;
            let sock = socket2::SockRef::from(&self.0);
            while buf.remaining() > 0 {
                // The socket is non-blocking: WouldBlock means nothing more is there yet, and
                // any real error is reported by the next read.
                match (&*sock).read(buf.initialize_unfilled()) {
                    Ok(n) if n > 0 => buf.advance(n),
                    _ => break,
                }
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for ControlTcp {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LineError {
    #[error("command line longer than {MAX_LINE} bytes")]
    TooLong,
    #[error(transparent)]
    Io(#[from] io::Error),
}

pub struct Control {
    io: Box<dyn Io>,
    buf: BytesMut,
}

/// Removes Telnet commands (RFC 854) from a line: `IAC IAC` is a literal 0xFF, `IAC WILL/WONT/
/// DO/DONT x` and `IAC <cmd>` are dropped. A lone IAC before an ordinary byte (what is left of
/// `IAC IP IAC DM` when the DM went out of band, as ftplib's `abort()` sends it) is dropped alone.
pub fn strip_telnet(line: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        let b = line[i];
        if b != 0xFF {
            out.push(b);
            i += 1;
            continue;
        }
        match line.get(i + 1) {
            Some(0xFF) => {
                out.push(0xFF);
                i += 2;
            }
            Some(251..=254) => i += 3,
            Some(240..=250) => i += 2,
            Some(_) | None => i += 1,
        }
    }
    out
}

impl Control {
    pub fn new(io: Box<dyn Io>) -> Control {
        Control {
            io,
            buf: BytesMut::with_capacity(512),
        }
    }

    /// The next line without its line end, `None` at end of stream. Cancel-safe: bytes read
    /// are kept in the buffer when the future is dropped.
    pub async fn read_line(&mut self) -> Result<Option<Vec<u8>>, LineError> {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line = self.buf.split_to(i + 1);
                line.truncate(i);
                if line.last() == Some(&b'\r') {
                    line.truncate(i - 1);
                }
                if line.len() > MAX_LINE {
                    return Err(LineError::TooLong);
                }
                return Ok(Some(strip_telnet(&line)));
            }
            if self.buf.len() > MAX_LINE + 1 {
                return Err(LineError::TooLong);
            }
            self.buf.reserve(2048);
            let n = self.io.read_buf(&mut self.buf).await?;
            if n == 0 {
                return Ok(None);
            }
        }
    }

    pub async fn send(&mut self, reply: &Reply) -> io::Result<()> {
        self.io.write_all(&reply.to_wire()).await?;
        self.io.flush().await
    }

    /// Takes the stream out for a TLS upgrade, with the bytes already read past the command.
    pub fn take(&mut self) -> (Box<dyn Io>, Bytes) {
        let io = std::mem::replace(
            &mut self.io,
            Box::new(tokio::io::join(tokio::io::empty(), tokio::io::sink())),
        );
        let rest = self.buf.split().freeze();
        (io, rest)
    }

    /// Sends what is buffered and closes the write side (TLS: close_notify first), then reads
    /// and discards what the client still sends for up to `linger`: closing a socket with
    /// unread input makes the kernel send a reset, which can destroy our last reply (a 421 or
    /// 500 saying why) before the client has read it.
    pub async fn close(&mut self, linger: std::time::Duration) {
        let _ = tokio::time::timeout(linger, self.io.shutdown()).await;
        let mut sink = [0u8; 4096];
        let _ = tokio::time::timeout(linger, async {
            loop {
                match self.io.read(&mut sink).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        })
        .await;
    }
}

/// A stream that first yields `prefix` (bytes already read off the socket), then the rest.
pub struct Prefixed<S> {
    prefix: Bytes,
    inner: S,
}

impl<S> Prefixed<S> {
    pub fn new(prefix: Bytes, inner: S) -> Prefixed<S> {
        Prefixed { prefix, inner }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            buf.put_slice(&self.prefix[..n]);
            self.prefix.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ABOR as ftplib sends it (urgent data) on a real loopback socket: the line is complete.
    #[tokio::test]
    async fn abor_sent_as_urgent_data_is_read_whole() -> io::Result<()> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let client = std::net::TcpStream::connect(listener.local_addr()?)?;
        let (server, _) = listener.accept().await?;
        socket2::SockRef::from(&server).set_out_of_band_inline(true)?;
        let mut ctrl = Control::new(Box::new(ControlTcp(server)));
        let client = socket2::Socket::from(client);
        client.send(b"NOOP\r\n")?;
        let first = ctrl.read_line().await.map_err(io::Error::other)?;
        assert_eq!(first.as_deref(), Some(&b"NOOP"[..]));
        client.send_out_of_band(b"ABOR\r\n")?;
        let line = tokio::time::timeout(std::time::Duration::from_secs(5), ctrl.read_line())
            .await
            .map_err(io::Error::other)?
            .map_err(io::Error::other)?;
        assert_eq!(line.as_deref(), Some(&b"ABOR"[..]));
        Ok(())
    }

    async fn lines_of(input: &[u8]) -> Vec<Result<Option<Vec<u8>>, String>> {
        let (mut a, b) = tokio::io::duplex(64 * 1024);
        // Written concurrently: the reader stops early on long input, the pipe is bounded.
        let input = input.to_vec();
        tokio::spawn(async move {
            let _ = a.write_all(&input).await;
        });
        let mut c = Control::new(Box::new(b));
        let mut out = Vec::new();
        loop {
            let r = c.read_line().await.map_err(|e| e.to_string());
            let end = !matches!(r, Ok(Some(_)));
            out.push(r);
            if end {
                break;
            }
        }
        out
    }

    #[tokio::test]
    async fn splits_lines_crlf_and_lf() {
        let got = lines_of(b"USER a\r\nPASS b\nNOOP\r\npartial").await;
        assert_eq!(
            got,
            vec![
                Ok(Some(b"USER a".to_vec())),
                Ok(Some(b"PASS b".to_vec())),
                Ok(Some(b"NOOP".to_vec())),
                Ok(None)
            ]
        );
    }

    #[tokio::test]
    async fn refuses_long_lines() {
        let mut long = vec![b'A'; MAX_LINE + 10];
        long.extend_from_slice(b"\r\n");
        let got = lines_of(&long).await;
        assert!(matches!(&got[0], Err(e) if e.contains("longer")));
        let mut ok = vec![b'A'; MAX_LINE];
        ok.extend_from_slice(b"\r\n");
        let got = lines_of(&ok).await;
        assert!(matches!(&got[0], Ok(Some(l)) if l.len() == MAX_LINE));
        // No newline at all: refused once the bound is passed, not buffered forever.
        let got = lines_of(&vec![b'x'; 100_000]).await;
        assert!(got[0].is_err());
    }

    #[test]
    fn telnet_sequences() {
        assert_eq!(strip_telnet(b"\xff\xf4\xff\xf2ABOR"), b"ABOR");
        assert_eq!(strip_telnet(b"\xff\xf4\xffABOR"), b"ABOR");
        assert_eq!(strip_telnet(b"A\xff\xffB"), b"A\xffB");
        assert_eq!(strip_telnet(b"\xff\xfb\x01X"), b"X");
        assert_eq!(strip_telnet(b"X\xff"), b"X");
        assert_eq!(strip_telnet(b"X\xff\xfd"), b"X");
    }

    #[tokio::test]
    async fn take_keeps_buffered_bytes() {
        let (mut a, b) = tokio::io::duplex(1024);
        a.write_all(b"AUTH TLS\r\n\x16\x03\x01rest").await.unwrap();
        let mut c = Control::new(Box::new(b));
        assert_eq!(c.read_line().await.unwrap(), Some(b"AUTH TLS".to_vec()));
        let (io, rest) = c.take();
        let mut p = Prefixed::new(rest, io);
        let mut got = [0u8; 7];
        p.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"\x16\x03\x01rest");
    }
}
