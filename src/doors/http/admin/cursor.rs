//! Opaque page cursors: base64url (no padding) of a small JSON object naming which list it
//! belongs to and where the next page starts. Clients pass them back unchanged; anything else
//! (a cursor of another list, a hand-made one, garbage) is a 400, never a query with odd values.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::AdminApiError;
use crate::ops::admin::UploadPosition;

/// Longer cursors are refused before decoding (a real one is well under this).
const MAX_CURSOR_LEN: usize = 8192;
/// Longest path a cursor may carry (the path policy allows 1024 bytes).
const MAX_PATH_BYTES: usize = 4096;

#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "k")]
enum Cursor {
    /// An event's uploads: the last row's (updated_at, path, photographer), and in
    /// capture-time order its capture key.
    #[serde(rename = "u")]
    Uploads {
        t: i64,
        p: String,
        u: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        c: Option<i64>,
    },
    /// Audit records: the last row's id.
    #[serde(rename = "a")]
    Audit { id: i64 },
}

fn encode(c: &Cursor) -> String {
    // Serialising these plain fields cannot fail; an empty cursor would only restart the list.
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(c).unwrap_or_default())
}

fn bad() -> AdminApiError {
    AdminApiError::invalid(
        "invalid cursor: pass back the next_cursor of the previous page unchanged",
    )
}

fn decode(s: &str) -> Result<Cursor, AdminApiError> {
    if s.is_empty() || s.len() > MAX_CURSOR_LEN {
        return Err(bad());
    }
    let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| bad())?;
    serde_json::from_slice(&bytes).map_err(|_| bad())
}

pub fn encode_uploads(pos: &UploadPosition) -> String {
    encode(&Cursor::Uploads {
        t: pos.updated_at,
        p: pos.path.clone(),
        u: pos.photographer.clone(),
        c: pos.captured,
    })
}

pub fn decode_uploads(s: &str) -> Result<UploadPosition, AdminApiError> {
    match decode(s)? {
        Cursor::Uploads { t, p, u, c } => {
            // What reaches SQL is what a real row could hold.
            let user_ok = crate::base::domain::Username::parse(&u).is_ok_and(|n| n.as_str() == u);
            let path_ok =
                !p.is_empty() && p.len() <= MAX_PATH_BYTES && !p.chars().any(char::is_control);
            if user_ok && path_ok {
                Ok(UploadPosition {
                    updated_at: t,
                    path: p,
                    photographer: u,
                    captured: c,
                })
            } else {
                Err(bad())
            }
        }
        Cursor::Audit { .. } => Err(bad()),
    }
}

pub fn encode_audit(id: i64) -> String {
    encode(&Cursor::Audit { id })
}

pub fn decode_audit(s: &str) -> Result<i64, AdminApiError> {
    match decode(s)? {
        Cursor::Audit { id } if id > 0 => Ok(id),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos() -> UploadPosition {
        UploadPosition {
            updated_at: 1_709_525_167_123,
            path: "2026-06-01/DSC_0001.JPG".into(),
            photographer: "alice".into(),
            captured: None,
        }
    }

    #[test]
    fn cursors_round_trip() {
        let c = encode_uploads(&pos());
        assert!(
            c.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(decode_uploads(&c).unwrap(), pos());
        assert_eq!(decode_audit(&encode_audit(42)).unwrap(), 42);
        let odd = UploadPosition {
            path: "été/ü ber+%2F/x.jpg".into(),
            ..pos()
        };
        assert_eq!(decode_uploads(&encode_uploads(&odd)).unwrap(), odd);
    }

    #[test]
    fn a_cursor_belongs_to_its_list() {
        assert!(decode_audit(&encode_uploads(&pos())).is_err());
        assert!(decode_uploads(&encode_audit(42)).is_err());
    }

    #[test]
    fn garbage_and_forged_cursors_are_refused() {
        for s in [
            "",
            "!!!",
            "abc",
            "eyJrIjoidSJ9",
            &"A".repeat(MAX_CURSOR_LEN + 1),
        ] {
            assert!(decode_uploads(s).is_err(), "{s:?}");
            assert!(decode_audit(s).is_err(), "{s:?}");
        }
        let forged = |json: &str| URL_SAFE_NO_PAD.encode(json);
        assert!(decode_audit(&forged(r#"{"k":"a","id":0}"#)).is_err());
        assert!(decode_audit(&forged(r#"{"k":"a","id":-5}"#)).is_err());
        assert!(decode_audit(&forged(r#"{"k":"a","id":"5"}"#)).is_err());
        assert!(decode_audit(&forged(r#"{"k":"a","id":5}"#)).is_ok());
        assert!(decode_uploads(&forged(r#"{"k":"u","t":1,"p":"a\u0000b","u":"alice"}"#)).is_err());
        assert!(decode_uploads(&forged(r#"{"k":"u","t":1,"p":"x.jpg","u":"Alice"}"#)).is_err());
        assert!(decode_uploads(&forged(r#"{"k":"u","t":1,"p":"","u":"alice"}"#)).is_err());
        assert!(decode_uploads(&forged(r#"{"k":"u","t":1,"p":"x.jpg","u":"alice"}"#)).is_ok());
    }
}
