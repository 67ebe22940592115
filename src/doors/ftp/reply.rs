//! Replies (RFC 959 §4.2): one line `CODE text`, or several, `CODE-first` … `CODE last`. Also the
//! one mapping from core errors to reply codes, so every command answers a refusal the same way.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};

use crate::base::error::CoreError;
use crate::base::vpath::PathError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    /// At least one line. Middle lines of a multi-line reply are sent as given (callers put
    /// the conventional leading space on FEAT/MLST/STAT lines).
    pub lines: Vec<String>,
}

/// No CR or LF may reach the wire inside a line (it would end the reply early): control
/// characters become spaces.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() && c != '\t' { ' ' } else { c })
        .collect()
}

impl Reply {
    pub fn new(code: u16, text: impl Into<String>) -> Reply {
        Reply {
            code,
            lines: vec![text.into()],
        }
    }

    pub fn multi(code: u16, lines: Vec<String>) -> Reply {
        let lines = if lines.is_empty() {
            vec![String::new()]
        } else {
            lines
        };
        Reply { code, lines }
    }

    pub fn is_error(&self) -> bool {
        self.code >= 400
    }

    /// The bytes to send.
    pub fn to_wire(&self) -> Vec<u8> {
        let mut out = String::new();
        let n = self.lines.len();
        for (i, line) in self.lines.iter().enumerate() {
            let line = clean(line);
            if n == 1 {
                let _ = write!(out, "{} {}\r\n", self.code, line);
            } else if i == 0 {
                let _ = write!(out, "{}-{}\r\n", self.code, line);
            } else if i == n - 1 {
                let _ = write!(out, "{} {}\r\n", self.code, line);
            } else {
                // A middle line must not look like the last line of a reply (RFC 959 §4.2).
                let b = line.as_bytes();
                let looks_final = b.len() >= 3 && b[..3].iter().all(u8::is_ascii_digit);
                if looks_final {
                    out.push(' ');
                }
                out.push_str(&line);
                out.push_str("\r\n");
            }
        }
        out.into_bytes()
    }
}

/// A path inside a 257 reply: in double quotes, embedded quotes doubled (RFC 959 appendix II).
pub fn quote_path(p: &str) -> String {
    format!("\"{}\"", p.replace('"', "\"\""))
}

/// `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2).`
pub fn pasv(ip: Ipv4Addr, port: u16) -> Reply {
    let o = ip.octets();
    Reply::new(
        227,
        format!(
            "Entering Passive Mode ({},{},{},{},{},{}).",
            o[0],
            o[1],
            o[2],
            o[3],
            port >> 8,
            port & 0xff
        ),
    )
}

/// `229 Entering Extended Passive Mode (|||port|)`
pub fn epsv(port: u16) -> Reply {
    Reply::new(229, format!("Entering Extended Passive Mode (|||{port}|)"))
}

/// An address for logs: IPv4-mapped IPv6 shown as IPv4.
pub fn show_addr(a: &SocketAddr) -> String {
    match a {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => format!("{v4}:{}", v6.port()),
            None => a.to_string(),
        },
        SocketAddr::V4(_) => a.to_string(),
    }
}

fn path_error_text(e: &PathError) -> String {
    format!("invalid name: {e}")
}

/// The one mapping from core refusals to FTP replies; `what` names the object ("/ev/a.jpg").
pub fn core_error(e: &CoreError, what: &str) -> Reply {
    match e {
        CoreError::NotFound => Reply::new(550, format!("{what}: no such file or directory")),
        CoreError::Denied(why) => Reply::new(550, format!("{what}: permission denied: {why}")),
        CoreError::Unauthorized => Reply::new(530, "Login incorrect"),
        CoreError::LockedOut => Reply::new(
            530,
            "Too many failed logins: this account is locked for a while, try again later",
        ),
        CoreError::BadName(pe) => Reply::new(553, path_error_text(pe)),
        CoreError::BadRequest(m) => Reply::new(501, m.clone()),
        CoreError::NotAllowedType(m) => {
            Reply::new(553, format!("{what}: file type not allowed: {m}"))
        }
        CoreError::TooLarge { limit } => Reply::new(
            552,
            format!("{what}: file too large: the limit is {limit} bytes"),
        ),
        CoreError::QuotaExceeded(m) => Reply::new(552, format!("{what}: quota exceeded: {m}")),
        CoreError::AlreadyExists => Reply::new(550, format!("{what}: already exists")),
        CoreError::NameTaken => Reply::new(
            553,
            format!(
                "{what}: a different photo already has this name (this event refuses name clashes): send it under another name"
            ),
        ),
        CoreError::NotEmpty => Reply::new(550, format!("{what}: directory not empty")),
        CoreError::NotADirectory => Reply::new(550, format!("{what}: not a directory")),
        CoreError::IsADirectory => Reply::new(550, format!("{what}: is a directory")),
        CoreError::Unsupported(m) => Reply::new(502, format!("not supported: {m}")),
        // 451 is transient: cameras send the photo again.
        CoreError::Incomplete(why) => Reply::new(
            451,
            format!("{what}: file incomplete, please re-send ({why}); nothing stored"),
        ),
        CoreError::Aborted => {
            Reply::new(426, "Connection closed; transfer aborted, nothing stored")
        }
        CoreError::Storage(_) => Reply::new(
            451,
            "Storage temporarily unavailable: nothing was stored, try again later",
        ),
        CoreError::Catalog(_) => Reply::new(
            451,
            "Catalog temporarily unavailable: nothing was changed, try again later",
        ),
    }
}

/// A refused client path (before any core call).
pub fn bad_path(e: &PathError) -> Reply {
    Reply::new(553, path_error_text(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(r: &Reply) -> String {
        String::from_utf8(r.to_wire()).unwrap()
    }

    #[test]
    fn single_and_multi_line() {
        assert_eq!(wire(&Reply::new(200, "OK")), "200 OK\r\n");
        let r = Reply::multi(
            211,
            vec![
                "Features:".into(),
                " UTF8".into(),
                "123 looks final".into(),
                "End".into(),
            ],
        );
        assert_eq!(
            wire(&r),
            "211-Features:\r\n UTF8\r\n 123 looks final\r\n211 End\r\n"
        );
        assert_eq!(wire(&Reply::multi(200, vec![])), "200 \r\n");
    }

    #[test]
    fn no_line_breaks_leak() {
        let r = Reply::new(550, "a\r\n230 fake");
        assert_eq!(wire(&r), "550 a  230 fake\r\n");
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_path("/a/b"), "\"/a/b\"");
        assert_eq!(quote_path("/say \"hi\""), "\"/say \"\"hi\"\"\"");
    }

    #[test]
    fn passive_replies() {
        assert_eq!(
            wire(&pasv(Ipv4Addr::new(192, 168, 1, 20), 50001)),
            "227 Entering Passive Mode (192,168,1,20,195,81).\r\n"
        );
        assert_eq!(
            wire(&epsv(50001)),
            "229 Entering Extended Passive Mode (|||50001|)\r\n"
        );
    }

    #[test]
    fn error_mapping() {
        assert_eq!(core_error(&CoreError::NotFound, "/x").code, 550);
        assert_eq!(
            core_error(&CoreError::NotAllowedType("x".into()), "/x").code,
            553
        );
        assert!(
            core_error(&CoreError::NotAllowedType("x".into()), "/x").lines[0]
                .contains("file type not allowed")
        );
        assert_eq!(
            core_error(&CoreError::TooLarge { limit: 1 }, "/x").code,
            552
        );
        assert_eq!(core_error(&CoreError::QuotaExceeded("q"), "/x").code, 552);
        assert_eq!(core_error(&CoreError::LockedOut, "/x").code, 530);
        assert_eq!(
            core_error(&CoreError::Storage("disk".into()), "/x").code,
            451
        );
        assert_eq!(core_error(&CoreError::Aborted, "/x").code, 426);
        assert_eq!(
            core_error(&CoreError::BadName(PathError::Nul), "/x").code,
            553
        );
        assert!(core_error(&CoreError::AlreadyExists, "/x").lines[0].contains("already exists"));
        // Internal detail (paths, SQL) never reaches the client.
        assert!(
            !core_error(&CoreError::Storage("/secret/path".into()), "/x").lines[0]
                .contains("secret")
        );
    }

    #[test]
    fn mapped_addresses() {
        let a: SocketAddr = "[::ffff:10.1.2.3]:21".parse().unwrap();
        assert_eq!(show_addr(&a), "10.1.2.3:21");
    }
}
