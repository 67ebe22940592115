//! Identifiers with one checked constructor each ("parse, don't validate"): a value of these
//! types has passed the rule, so nothing downstream checks it again.

use std::fmt;

/// `[a-z0-9][a-z0-9._-]{1,63}`: safe in object keys, URLs, SFTPGo usernames and log lines.
/// 2 to 64 of a-z 0-9 . _ -, starting with a letter or digit and not ending with a dot, and no
/// Windows device name (CON, NUL.txt…): a subset of what SFTPGo 2.7's `IsNameValid` accepts,
/// so every username works through the SFTPGo door too.
fn valid_ident(s: &str) -> bool {
    let b = s.as_bytes();
    (2..=64).contains(&b.len())
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.last() != Some(&b'.')
        && b.iter().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'_' | b'-')
        })
        && !is_windows_device(s)
}

fn is_windows_device(s: &str) -> bool {
    let stem = s.split('.').next().unwrap_or(s).to_ascii_lowercase();
    matches!(stem.as_str(), "con" | "prn" | "aux" | "nul")
        || (stem.len() == 4
            && (stem.starts_with("com") || stem.starts_with("lpt"))
            && stem.as_bytes()[3].is_ascii_digit())
}

/// The unit that per-address limits count: an IPv4 address (IPv4-mapped IPv6 included), or
/// an IPv6 /64 (one subscriber holds a whole /64, so single IPv6 addresses would be free new
/// identities). Used by the lock-out scopes and the FTP door's session limit alike.
pub fn address_net(ip: std::net::IpAddr) -> std::net::IpAddr {
    match ip.to_canonical() {
        std::net::IpAddr::V6(v6) => std::net::IpAddr::V6(std::net::Ipv6Addr::from(
            u128::from(v6) & !((1u128 << 64) - 1),
        )),
        v4 => v4,
    }
}

macro_rules! ident_type {
    ($name:ident, $what:literal, $fold:expr) => {
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub fn parse(s: &str) -> Result<Self, String> {
                let s: String = if $fold { s.trim().to_lowercase() } else { s.to_string() };
                if valid_ident(&s) {
                    Ok(Self(s))
                } else {
                    Err(format!(
                        concat!("invalid ", $what, " {:?}: use 2 to 64 characters a-z 0-9 . _ - starting with a letter or digit, not ending with a dot, not a Windows device name like con or nul"),
                        s
                    ))
                }
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

ident_type!(Username, "username", true);
ident_type!(EventId, "event id", false);

/// What a photographer may do in an event. Maps onto SFTPGo permission names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Uploader,
    Viewer,
}

impl Role {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "uploader" => Ok(Role::Uploader),
            "viewer" => Ok(Role::Viewer),
            _ => Err(format!("invalid role {s:?}: use uploader or viewer")),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Uploader => "uploader",
            Role::Viewer => "viewer",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventStatus {
    Open,
    Closed,
    Archived,
}

impl EventStatus {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "open" => Ok(Self::Open),
            "closed" => Ok(Self::Closed),
            "archived" => Ok(Self::Archived),
            _ => Err(format!(
                "invalid event status {s:?}: use open, closed or archived"
            )),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
            Self::Archived => "archived",
        }
    }
}

/// A photo's id: the ULID its blob's key was made with (`events/E/P/{id}.{ext}`). Immutable
/// through renames, unique per upload.
pub fn photo_id(object_key: &str) -> &str {
    let file = object_key.rsplit('/').next().unwrap_or(object_key);
    file.split('.').next().unwrap_or(file)
}

/// What an upload does when the photographer already has a different photo under its name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NameClash {
    /// The new photo takes the name; the earlier one stays, superseded, with its blob.
    #[default]
    KeepBoth,
    /// The new photo replaces the earlier one, whose blob is deleted.
    Replace,
    /// The upload is refused.
    Refuse,
}

impl NameClash {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "keep_both" => Ok(Self::KeepBoth),
            "replace" => Ok(Self::Replace),
            "refuse" => Ok(Self::Refuse),
            _ => Err(format!(
                "invalid name-clash rule {s:?}: use keep_both, replace or refuse"
            )),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KeepBoth => "keep_both",
            Self::Replace => "replace",
            Self::Refuse => "refuse",
        }
    }
    /// The stored value; anything unknown reads as the safe default.
    pub fn of(stored: &str) -> Self {
        Self::parse(stored).unwrap_or_default()
    }
}

/// Which front door an operation came through (audit log, metrics).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Door {
    Sftpgo,
    Ftp,
    Admin,
}

impl Door {
    pub fn as_str(self) -> &'static str {
        match self {
            Door::Sftpgo => "sftpgo",
            Door::Ftp => "ftp",
            Door::Admin => "admin",
        }
    }
}

/// Milliseconds since the Unix epoch: the catalog's one time unit (portable across SQLite and PostgreSQL).
pub type Millis = i64;

pub fn now_millis() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// RFC 3339 in UTC, as SFTPGo's FileInfo wants it.
pub fn rfc3339(ms: Millis) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

pub fn parse_rfc3339(s: &str) -> Option<Millis> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_64_is_one_address() {
        let net = |s: &str| address_net(s.parse().unwrap());
        assert_eq!(net("2001:db8:1:2::1"), net("2001:db8:1:2:ffff::9"));
        assert_ne!(net("2001:db8:1:2::1"), net("2001:db8:1:3::1"));
        assert_eq!(net("192.0.2.1").to_string(), "192.0.2.1");
        assert_eq!(net("::ffff:192.0.2.1").to_string(), "192.0.2.1");
        assert_eq!(net("2001:db8:1:2:3:4:5:6").to_string(), "2001:db8:1:2::");
    }

    #[test]
    fn usernames_are_a_subset_of_what_sftpgo_accepts() {
        for ok in [
            "carl.b", "a_b", "a-b", "0ab", "ab9", "a.b.c", "console", "com", "lpt10",
        ] {
            assert!(Username::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ab.",
            "a",
            ".ab",
            "_ab",
            "con",
            "nul.x",
            "com1",
            "LPT9",
            "a/b",
            "a b",
            "ab..",
            "aux.tar.gz",
        ] {
            assert!(Username::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn usernames_are_folded_and_checked() {
        assert_eq!(Username::parse(" Alice ").unwrap().as_str(), "alice");
        assert!(Username::parse("a").is_err());
        assert!(Username::parse("-bob").is_err());
        assert!(Username::parse("bob/x").is_err());
        assert!(Username::parse(&"a".repeat(65)).is_err());
        assert!(Username::parse(&"a".repeat(64)).is_ok());
        assert!(
            EventId::parse("Wedding").is_err(),
            "event ids are not folded"
        );
        assert!(EventId::parse("wedding-2026.06").is_ok());
    }

    #[test]
    fn rfc3339_round_trips() {
        let ms = 1_709_525_167_000;
        assert_eq!(rfc3339(ms), "2024-03-04T04:06:07Z");
        assert_eq!(parse_rfc3339("2024-03-04T04:06:07Z"), Some(ms));
        assert_eq!(parse_rfc3339("2024-03-04 04:06:07"), None);
    }
}
