//! PROXY protocol v1 (text) and v2 (binary) headers, as a TCP load balancer (HAProxy, AWS NLB,
//! Cloudflare Spectrum) puts them in front of a connection: the client's real address.
//!
//! [`parse`] is pure and total; [`read_header`] reads exactly the header's bytes from the
//! socket (nothing after it), so the FTP or TLS bytes that follow are untouched. Lengths are
//! bounded: a v1 line is at most 107 bytes, a v2 header at most [`MAX_V2`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use tokio::io::{AsyncRead, AsyncReadExt};

/// The v2 signature: `\r\n\r\n\0\r\nQUIT\n`.
pub const V2_SIG: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";
/// v1: "the maximum line length is 107 bytes including the CRLF".
pub const MAX_V1: usize = 107;
/// Our bound on a v2 header (16 fixed bytes + addresses + TLVs).
pub const MAX_V2: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProxyHeader {
    /// The client's address; `None` for `LOCAL` (health checks) and `UNKNOWN`.
    pub source: Option<SocketAddr>,
    /// The address the client connected to on the load balancer.
    pub destination: Option<SocketAddr>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    #[error("connection does not start with a PROXY protocol header")]
    NotProxy,
    #[error("invalid PROXY header: {0}")]
    Invalid(&'static str),
    #[error("PROXY header too long")]
    TooLong,
    #[error("connection closed while reading the PROXY header")]
    Eof,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// A whole header of `len` bytes.
    Done(ProxyHeader, usize),
    /// At least this many bytes (in total) are needed to decide.
    NeedMore(usize),
}

/// Parses a header at the start of `buf`.
pub fn parse(buf: &[u8]) -> Result<Progress, ProxyError> {
    // Decide the version from what we have so far.
    let sig_len = buf.len().min(V2_SIG.len());
    if buf[..sig_len] == V2_SIG[..sig_len] && !buf.is_empty() {
        if buf.len() < 16 {
            return Ok(Progress::NeedMore(16));
        }
        return parse_v2(buf);
    }
    let v1 = b"PROXY ";
    let n = buf.len().min(v1.len());
    if buf[..n] == v1[..n] {
        if buf.len() < v1.len() {
            return Ok(Progress::NeedMore(v1.len()));
        }
        return parse_v1(buf);
    }
    Err(ProxyError::NotProxy)
}

fn parse_v1(buf: &[u8]) -> Result<Progress, ProxyError> {
    let window = &buf[..buf.len().min(MAX_V1)];
    let Some(end) = window.windows(2).position(|w| w == b"\r\n") else {
        if buf.len() >= MAX_V1 {
            return Err(ProxyError::TooLong);
        }
        return Ok(Progress::NeedMore(buf.len() + 1));
    };
    let line = std::str::from_utf8(&buf[..end]).map_err(|_| ProxyError::Invalid("not ASCII"))?;
    let mut words = line.split(' ');
    let _proxy = words.next();
    let proto = words
        .next()
        .ok_or(ProxyError::Invalid("missing protocol"))?;
    let header = match proto {
        "UNKNOWN" => ProxyHeader {
            source: None,
            destination: None,
        },
        "TCP4" | "TCP6" => {
            let mut next = || words.next().ok_or(ProxyError::Invalid("missing field"));
            let (src, dst, sport, dport) = (next()?, next()?, next()?, next()?);
            if words.next().is_some() {
                return Err(ProxyError::Invalid("extra fields"));
            }
            let ip = |s: &str| -> Result<IpAddr, ProxyError> {
                if proto == "TCP4" {
                    s.parse::<Ipv4Addr>().map(IpAddr::V4)
                } else {
                    s.parse::<Ipv6Addr>().map(IpAddr::V6)
                }
                .map_err(|_| ProxyError::Invalid("bad address"))
            };
            let port = |s: &str| -> Result<u16, ProxyError> {
                if s.is_empty() || s.len() > 5 || (s.len() > 1 && s.starts_with('0')) {
                    return Err(ProxyError::Invalid("bad port"));
                }
                s.parse().map_err(|_| ProxyError::Invalid("bad port"))
            };
            ProxyHeader {
                source: Some(SocketAddr::new(ip(src)?, port(sport)?)),
                destination: Some(SocketAddr::new(ip(dst)?, port(dport)?)),
            }
        }
        _ => return Err(ProxyError::Invalid("unknown protocol")),
    };
    Ok(Progress::Done(header, end + 2))
}

fn parse_v2(buf: &[u8]) -> Result<Progress, ProxyError> {
    let ver_cmd = buf[12];
    let fam = buf[13];
    let len = usize::from(u16::from_be_bytes([buf[14], buf[15]]));
    let total = 16 + len;
    if total > MAX_V2 {
        return Err(ProxyError::TooLong);
    }
    if ver_cmd >> 4 != 2 {
        return Err(ProxyError::Invalid("unsupported version"));
    }
    if buf.len() < total {
        return Ok(Progress::NeedMore(total));
    }
    let body = &buf[16..total];
    let none = ProxyHeader {
        source: None,
        destination: None,
    };
    match ver_cmd & 0x0F {
        // LOCAL: the balancer's own connection (health check); keep the socket's address.
        0x0 => return Ok(Progress::Done(none, total)),
        0x1 => {}
        _ => return Err(ProxyError::Invalid("unknown command")),
    }
    let header = match fam {
        // TCP over IPv4 (UDP makes no sense for FTP).
        0x11 => {
            let a = body
                .get(..12)
                .ok_or(ProxyError::Invalid("short address block"))?;
            let src = Ipv4Addr::new(a[0], a[1], a[2], a[3]);
            let dst = Ipv4Addr::new(a[4], a[5], a[6], a[7]);
            ProxyHeader {
                source: Some(SocketAddr::new(
                    src.into(),
                    u16::from_be_bytes([a[8], a[9]]),
                )),
                destination: Some(SocketAddr::new(
                    dst.into(),
                    u16::from_be_bytes([a[10], a[11]]),
                )),
            }
        }
        0x21 => {
            let a = body
                .get(..36)
                .ok_or(ProxyError::Invalid("short address block"))?;
            let mut s = [0u8; 16];
            let mut d = [0u8; 16];
            s.copy_from_slice(&a[..16]);
            d.copy_from_slice(&a[16..32]);
            ProxyHeader {
                source: Some(SocketAddr::new(
                    Ipv6Addr::from(s).into(),
                    u16::from_be_bytes([a[32], a[33]]),
                )),
                destination: Some(SocketAddr::new(
                    Ipv6Addr::from(d).into(),
                    u16::from_be_bytes([a[34], a[35]]),
                )),
            }
        }
        // UNSPEC (and unix sockets): no usable address.
        0x00 | 0x31 | 0x32 => none,
        _ => return Err(ProxyError::Invalid("unsupported address family")),
    };
    Ok(Progress::Done(header, total))
}

/// Reads exactly one header from `s`, never a byte past it.
pub async fn read_header<S: AsyncRead + Unpin>(s: &mut S) -> Result<ProxyHeader, ProxyError> {
    let mut buf = vec![0u8; 12];
    s.read_exact(&mut buf).await.map_err(|_| ProxyError::Eof)?;
    loop {
        match parse(&buf)? {
            Progress::Done(h, _) => return Ok(h),
            Progress::NeedMore(n) => {
                if n > MAX_V2 {
                    return Err(ProxyError::TooLong);
                }
                let have = buf.len();
                if n <= have {
                    return Err(ProxyError::Invalid("parser made no progress"));
                }
                buf.resize(n, 0);
                s.read_exact(&mut buf[have..])
                    .await
                    .map_err(|_| ProxyError::Eof)?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(buf: &[u8]) -> (ProxyHeader, usize) {
        match parse(buf).unwrap() {
            Progress::Done(h, n) => (h, n),
            p => panic!("not done: {p:?}"),
        }
    }

    #[test]
    fn v1_tcp4_and_tcp6() {
        let (h, n) = done(b"PROXY TCP4 192.0.2.7 10.0.0.1 56324 2121\r\nUSER x\r\n");
        assert_eq!(h.source, Some("192.0.2.7:56324".parse().unwrap()));
        assert_eq!(h.destination, Some("10.0.0.1:2121".parse().unwrap()));
        assert_eq!(n, 42);
        let (h, _) = done(b"PROXY TCP6 2001:db8::1 2001:db8::2 1 21\r\n");
        assert_eq!(h.source, Some("[2001:db8::1]:1".parse().unwrap()));
        let (h, n) = done(b"PROXY UNKNOWN ffff::1 x y z\r\n");
        assert_eq!(h.source, None);
        assert_eq!(n, 29);
    }

    #[test]
    fn v1_refusals() {
        assert_eq!(parse(b"USER x\r\n"), Err(ProxyError::NotProxy));
        assert_eq!(parse(b"PROX"), Ok(Progress::NeedMore(6)));
        assert_eq!(parse(b"PROXY TCP4 1.2.3.4"), Ok(Progress::NeedMore(19)));
        assert!(parse(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n").is_err());
        assert!(parse(b"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n").is_err());
        assert!(parse(b"PROXY TCP4 ::1 5.6.7.8 1 2\r\n").is_err());
        assert!(parse(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n").is_err());
        assert!(parse(b"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n").is_err());
        assert!(parse(b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n").is_err());
        let mut long = b"PROXY ".to_vec();
        long.extend(std::iter::repeat_n(b'x', 200));
        assert_eq!(parse(&long), Err(ProxyError::TooLong));
    }

    fn v2(cmd: u8, fam: u8, body: &[u8]) -> Vec<u8> {
        let mut v = V2_SIG.to_vec();
        v.push(0x20 | cmd);
        v.push(fam);
        v.extend_from_slice(&(body.len() as u16).to_be_bytes());
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn v2_headers() {
        let body = [192, 0, 2, 7, 10, 0, 0, 1, 0xdc, 0x04, 0x08, 0x49, 0, 0, 0];
        let buf = v2(1, 0x11, &body);
        let (h, n) = done(&buf);
        assert_eq!(h.source, Some("192.0.2.7:56324".parse().unwrap()));
        assert_eq!(h.destination, Some("10.0.0.1:2121".parse().unwrap()));
        assert_eq!(n, 16 + 15);
        let mut b6 = vec![0u8; 36];
        b6[15] = 1;
        b6[31] = 2;
        b6[33] = 80;
        let (h, _) = done(&v2(1, 0x21, &b6));
        assert_eq!(h.source, Some("[::1]:80".parse().unwrap()));
        let (h, _) = done(&v2(0, 0x00, &[]));
        assert_eq!(h.source, None);
        assert_eq!(parse(&buf[..14]), Ok(Progress::NeedMore(16)));
        assert_eq!(parse(&buf[..20]), Ok(Progress::NeedMore(31)));
        assert!(parse(&v2(1, 0x11, &[1, 2, 3])).is_err());
        assert!(parse(&v2(5, 0x11, &body)).is_err());
        assert!(parse(&v2(1, 0x99, &body)).is_err());
        let mut bad_ver = buf.clone();
        bad_ver[12] = 0x11;
        assert!(parse(&bad_ver).is_err());
        let mut huge = V2_SIG.to_vec();
        huge.extend_from_slice(&[0x21, 0x11, 0xff, 0xff]);
        assert_eq!(parse(&huge), Err(ProxyError::TooLong));
    }

    #[tokio::test]
    async fn reads_exactly_the_header() {
        let mut input: &[u8] = b"PROXY TCP4 1.2.3.4 5.6.7.8 1000 21\r\nUSER x\r\n";
        let h = read_header(&mut input).await.unwrap();
        assert_eq!(h.source, Some("1.2.3.4:1000".parse().unwrap()));
        assert_eq!(input, b"USER x\r\n");
        let body = [1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2];
        let mut buf = v2(1, 0x11, &body);
        buf.extend_from_slice(b"\x16\x03\x01");
        let mut input: &[u8] = &buf;
        let h = read_header(&mut input).await.unwrap();
        assert_eq!(h.source, Some("1.2.3.4:1".parse().unwrap()));
        assert_eq!(input, b"\x16\x03\x01");
        let mut input: &[u8] = b"PROXY TCP4";
        assert_eq!(read_header(&mut input).await, Err(ProxyError::Eof));
        let mut input: &[u8] = b"SSH-2.0-OpenSSH_9\r\n";
        assert_eq!(read_header(&mut input).await, Err(ProxyError::NotProxy));
    }

    #[test]
    fn never_panics_on_prefixes() {
        let samples: Vec<Vec<u8>> = vec![
            b"PROXY TCP4 192.0.2.7 10.0.0.1 56324 2121\r\n".to_vec(),
            v2(1, 0x11, &[1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2]),
            v2(1, 0x21, &[0; 36]),
        ];
        for s in samples {
            for i in 0..=s.len() {
                let _ = parse(&s[..i]);
            }
        }
    }
}
