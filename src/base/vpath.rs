//! Virtual paths: the one place where client-supplied paths are parsed (DESIGN §3).
//!
//! Both doors (SFTPGo's HTTPFs and the embedded FTP listener) turn whatever the client sent into
//! a [`VPath`] here, so each path rule is written and enforced once. A `VPath` is always absolute,
//! NFC-normalised and made only of validated components: no empty, `.` or `..` segments, no `/`,
//! no backslash, no control character, bounded lengths. Code holding a `VPath` never re-checks it.
//!
//! Suspicious input is rejected, never "fixed": a `..` that would climb above the root is an
//! error rather than being clamped to `/`, so a client that tries it learns nothing and gets
//! nothing.

use std::borrow::Cow;
use std::fmt;

use percent_encoding::percent_decode;
use unicode_normalization::{UnicodeNormalization, is_nfc};

/// Longest accepted path, in bytes, as displayed (`/a/b`) after normalisation.
pub const MAX_PATH_BYTES: usize = 1024;
/// Longest accepted single component, in bytes (the common filesystem limit).
pub const MAX_SEGMENT_BYTES: usize = 255;
/// Longest accepted raw input, checked before any decoding or normalisation so that the work
/// done on hostile input is bounded.
pub const MAX_INPUT_BYTES: usize = 4 * 1024;

/// An absolute, validated, normalised path in a photographer's virtual tree.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VPath {
    /// Each component is non-empty, NFC, at most [`MAX_SEGMENT_BYTES`], and free of `/`, `\`,
    /// control characters, and is never `.` or `..`.
    parts: Vec<String>,
}

/// Why a path was refused. Every variant is the client's fault (a bad name, not a server
/// error); the variant names the rule, for logs and the audit trail.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("path input longer than 4096 bytes")]
    InputTooLong,
    #[error("empty path")]
    EmptyPath,
    #[error("invalid percent-encoding: '%' must be followed by two hex digits")]
    BadEncoding,
    #[error("path is not valid utf-8")]
    NotUtf8,
    #[error("path contains a nul character")]
    Nul,
    #[error("path contains a control character")]
    ControlChar,
    #[error("path contains a backslash")]
    Backslash,
    #[error("path climbs above the root")]
    EscapesRoot,
    #[error("path segment longer than 255 bytes")]
    SegmentTooLong,
    #[error("path longer than 1024 bytes")]
    PathTooLong,
    #[error("empty name")]
    EmptyName,
    #[error("'.' and '..' are not valid names")]
    DotName,
    #[error("name contains '/'")]
    Slash,
}

impl VPath {
    /// The root of the virtual tree, `/`.
    pub fn root() -> VPath {
        VPath { parts: Vec::new() }
    }

    /// HTTPFs: the raw, still percent-encoded single URL path segment SFTPGo sends (e.g.
    /// `%2Fdir%2Fa%20b+c.jpg`). Decoded exactly once with RFC 3986 rules: `+` stays `+`, and
    /// `%252F` becomes the literal text `%2F` inside a name, never a separator. A `%` not followed
    /// by two hex digits is an error rather than being passed through, so two parsers can never
    /// disagree about what a name means. A missing leading `/` (SFTPGo's WebDAV MIME lookup sends
    /// `dir%2Ffile.xyz`) is read as absolute.
    pub fn from_percent_encoded(raw: &str) -> Result<VPath, PathError> {
        let raw = raw.as_bytes();
        if raw.len() > MAX_INPUT_BYTES {
            return Err(PathError::InputTooLong);
        }
        check_percent_escapes(raw)?;
        let decoded: Cow<'_, [u8]> = percent_decode(raw).into();
        Self::parse(&decoded)
    }

    /// An already-decoded path, absolute or relative to the root. Bytes, not `&str`, because FTP
    /// clients can send names in any encoding; non-UTF-8 is refused here, in one place.
    pub fn parse(path: &[u8]) -> Result<VPath, PathError> {
        walk(Vec::new(), path)
    }

    /// FTP: resolve `input` against `self` (the working directory) unless it starts with `/`.
    /// `..` may climb from the working directory up to the root, never above it.
    pub fn resolve(&self, input: &[u8]) -> Result<VPath, PathError> {
        if input.first() == Some(&b'/') {
            walk(Vec::new(), input)
        } else {
            walk(self.parts.clone(), input)
        }
    }

    /// The validated components, root first.
    pub fn components(&self) -> &[String] {
        &self.parts
    }

    pub fn is_root(&self) -> bool {
        self.parts.is_empty()
    }

    /// The containing directory; `None` for the root.
    pub fn parent(&self) -> Option<VPath> {
        let (_, rest) = self.parts.split_last()?;
        Some(VPath {
            parts: rest.to_vec(),
        })
    }

    /// The last component; `None` for the root.
    pub fn file_name(&self) -> Option<&str> {
        self.parts.last().map(String::as_str)
    }

    /// Append one component. `name` must be a single valid segment (it is NFC-normalised and
    /// checked like any parsed segment); `/`, `.`, `..` and empty names are refused rather than
    /// interpreted, since a caller passing them has a bug or is being fooled.
    pub fn join(&self, name: &str) -> Result<VPath, PathError> {
        if name.is_empty() {
            return Err(PathError::EmptyName);
        }
        // NFC shrinks text by at most 3x, so anything this long cannot become a valid segment:
        // refuse it before normalising (bounded work).
        if name.len() > MAX_INPUT_BYTES {
            return Err(PathError::SegmentTooLong);
        }
        let name = nfc(name);
        check_chars(&name)?;
        if name.contains('/') {
            return Err(PathError::Slash);
        }
        if name == "." || name == ".." {
            return Err(PathError::DotName);
        }
        if name.len() > MAX_SEGMENT_BYTES {
            return Err(PathError::SegmentTooLong);
        }
        let mut parts = self.parts.clone();
        parts.push(name.into_owned());
        finish(parts)
    }

    /// Component-wise prefix test: `/a/b` starts with `/a`, but `/ab` does not start with `/a`.
    /// Every path starts with the root.
    pub fn starts_with(&self, prefix: &VPath) -> bool {
        self.parts.starts_with(&prefix.parts)
    }

    /// Number of components (0 for the root).
    pub fn len(&self) -> usize {
        self.parts.len()
    }

    /// True for the root, which has no components.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Length in bytes of the displayed form.
    fn display_len(&self) -> usize {
        if self.parts.is_empty() {
            1
        } else {
            self.parts.iter().map(|p| p.len() + 1).sum()
        }
    }
}

impl fmt::Display for VPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.parts.is_empty() {
            return f.write_str("/");
        }
        for part in &self.parts {
            f.write_str("/")?;
            f.write_str(part)?;
        }
        Ok(())
    }
}

/// Refuse a `%` that does not start a `%XX` escape: lenient decoders pass such text through,
/// which would let the same wire name mean different things to different components.
fn check_percent_escapes(raw: &[u8]) -> Result<(), PathError> {
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%' {
            match raw.get(i + 1..i + 3) {
                Some([h, l]) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => i += 3,
                _ => return Err(PathError::BadEncoding),
            }
        } else {
            i += 1;
        }
    }
    Ok(())
}

/// NFC-normalise, borrowing when the text already is NFC (the common case).
fn nfc(s: &str) -> Cow<'_, str> {
    if is_nfc(s) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.nfc().collect())
    }
}

/// Characters refused anywhere in a path. Checked after normalisation, so that the text that is
/// checked is exactly the text that is stored.
fn check_chars(s: &str) -> Result<(), PathError> {
    for c in s.chars() {
        if c == '\0' {
            return Err(PathError::Nul);
        }
        // `char::is_control` is exactly the Cc category: U+0000–U+001F, U+007F, U+0080–U+009F.
        if c.is_control() {
            return Err(PathError::ControlChar);
        }
        if c == '\\' {
            return Err(PathError::Backslash);
        }
    }
    Ok(())
}

/// The shared parser: apply the segments of `input` to `parts` (the starting directory).
fn walk(mut parts: Vec<String>, input: &[u8]) -> Result<VPath, PathError> {
    if input.len() > MAX_INPUT_BYTES {
        return Err(PathError::InputTooLong);
    }
    if input.is_empty() {
        return Err(PathError::EmptyPath);
    }
    let text = std::str::from_utf8(input).map_err(|_| PathError::NotUtf8)?;
    let text = nfc(text);
    check_chars(&text)?;
    for seg in text.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(PathError::EscapesRoot);
                }
            }
            _ if seg.len() > MAX_SEGMENT_BYTES => return Err(PathError::SegmentTooLong),
            _ => parts.push(seg.to_owned()),
        }
    }
    finish(parts)
}

/// Apply the whole-path length limit to the final result.
fn finish(parts: Vec<String>) -> Result<VPath, PathError> {
    let path = VPath { parts };
    if path.display_len() > MAX_PATH_BYTES {
        return Err(PathError::PathTooLong);
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pe(raw: &str) -> Result<String, PathError> {
        VPath::from_percent_encoded(raw).map(|p| p.to_string())
    }

    fn p(raw: &str) -> Result<String, PathError> {
        VPath::parse(raw.as_bytes()).map(|p| p.to_string())
    }

    #[test]
    fn wire_root() {
        assert_eq!(pe("%2F"), Ok("/".into()));
        assert!(VPath::from_percent_encoded("%2F").unwrap().is_root());
        assert_eq!(VPath::from_percent_encoded("%2f"), Ok(VPath::root()));
    }

    #[test]
    fn wire_simple_file() {
        let v = VPath::from_percent_encoded("%2Fdir%2Ffile.txt").unwrap();
        assert_eq!(v.components(), ["dir", "file.txt"]);
        assert_eq!(v.to_string(), "/dir/file.txt");
    }

    #[test]
    fn wire_reserved_characters() {
        assert_eq!(
            pe("%2Fa%20b%2Fc+d%3Be%2Cf%3Fg%23h%25i&j=k@l:m$n%27o%28p%29q%2Ar%21s~t"),
            Ok("/a b/c+d;e,f?g#h%i&j=k@l:m$n'o(p)q*r!s~t".into())
        );
    }

    #[test]
    fn wire_plus_stays_plus() {
        assert_eq!(pe("%2Fa+b.jpg"), Ok("/a+b.jpg".into()));
    }

    #[test]
    fn wire_utf8() {
        assert_eq!(pe("%2F%C3%BCn%C3%AF%2F%C3%AB.txt"), Ok("/ünï/ë.txt".into()));
        // Unencoded non-ASCII in the raw segment is taken as is.
        assert_eq!(pe("%2Fünï"), Ok("/ünï".into()));
    }

    #[test]
    fn nfd_becomes_nfc() {
        // "e" + U+0301 COMBINING ACUTE ACCENT (NFD, as macOS clients send) vs U+00E9.
        let nfd = VPath::from_percent_encoded("%2Fcafe%CC%81%2Fe%CC%81.jpg").unwrap();
        let nfc = VPath::from_percent_encoded("%2Fcaf%C3%A9%2F%C3%A9.jpg").unwrap();
        assert_eq!(nfd, nfc);
        assert_eq!(nfd.components(), ["caf\u{e9}", "\u{e9}.jpg"]);
        assert_eq!(
            VPath::parse("/A\u{30a}".as_bytes()).unwrap().components(),
            ["\u{c5}"]
        );
        // Hangul jamo compose into one syllable.
        assert_eq!(
            VPath::parse("/\u{1100}\u{1161}".as_bytes())
                .unwrap()
                .components(),
            ["\u{ac00}"]
        );
    }

    #[test]
    fn missing_leading_slash_is_absolute() {
        assert_eq!(pe("dir%2Ffile.xyz"), Ok("/dir/file.xyz".into()));
        assert_eq!(p("dir/file.xyz"), Ok("/dir/file.xyz".into()));
    }

    #[test]
    fn empty_and_dot_segments_are_skipped() {
        assert_eq!(p("//a/./b/"), Ok("/a/b".into()));
        assert_eq!(VPath::parse(b"//a/./b/"), VPath::parse(b"/a/b"));
        assert_eq!(p("/"), Ok("/".into()));
        assert_eq!(p("."), Ok("/".into()));
        assert_eq!(p("./"), Ok("/".into()));
        assert_eq!(p("////"), Ok("/".into()));
    }

    #[test]
    fn dotdot_pops_one_component() {
        assert_eq!(p("/a/b/../c"), Ok("/a/c".into()));
        assert_eq!(p("/a/.."), Ok("/".into()));
        assert_eq!(pe("%2Fa%2F..%2Fb"), Ok("/b".into()));
        // Names that merely contain dots are ordinary names.
        assert_eq!(p("/.../..a/a../.hidden"), Ok("/.../..a/a../.hidden".into()));
    }

    #[test]
    fn escaping_root_is_rejected_not_clamped() {
        assert_eq!(pe("%2e%2e"), Err(PathError::EscapesRoot));
        assert_eq!(pe("%2E%2E%2F"), Err(PathError::EscapesRoot));
        assert_eq!(pe("..%2F.."), Err(PathError::EscapesRoot));
        assert_eq!(pe("%2F.."), Err(PathError::EscapesRoot));
        assert_eq!(pe("%2Fa%2F..%2F..%2Fb"), Err(PathError::EscapesRoot));
        assert_eq!(p("/a/../../etc/passwd"), Err(PathError::EscapesRoot));
        // Escaping is judged step by step: going back down afterwards does not make it fine.
        assert_eq!(p("/../a"), Err(PathError::EscapesRoot));
    }

    #[test]
    fn double_encoding_is_decoded_once() {
        let v = VPath::from_percent_encoded("%252F").unwrap();
        assert_eq!(v.components(), ["%2F"]);
        assert_eq!(v.to_string(), "/%2F");
        let v = VPath::from_percent_encoded("%2Fa%252Fb").unwrap();
        assert_eq!(v.components(), ["a%2Fb"]);
        // "%252E%252E" is the literal name "%2E%2E", not "..".
        let v = VPath::from_percent_encoded("%252E%252E").unwrap();
        assert_eq!(v.components(), ["%2E%2E"]);
        // parse never decodes: a literal "%2F" in a name stays a name.
        assert_eq!(VPath::parse(b"/%2F").unwrap().components(), ["%2F"]);
    }

    #[test]
    fn bad_percent_escapes() {
        for raw in [
            "%", "%2", "a%", "%zz", "%2G", "%G2", "%%2F", "%2F%", "%-1", "%+1", "% 1",
        ] {
            assert_eq!(pe(raw), Err(PathError::BadEncoding), "{raw:?}");
        }
        assert_eq!(pe("%25"), Ok("/%".into()));
    }

    #[test]
    fn not_utf8() {
        assert_eq!(pe("%FF"), Err(PathError::NotUtf8));
        assert_eq!(pe("%2Fa%C3"), Err(PathError::NotUtf8)); // truncated sequence
        assert_eq!(pe("%C0%AF"), Err(PathError::NotUtf8)); // overlong '/'
        assert_eq!(pe("%ED%A0%80"), Err(PathError::NotUtf8)); // UTF-16 surrogate
        assert_eq!(VPath::parse(b"/caf\xe9.jpg"), Err(PathError::NotUtf8)); // Latin-1 from FTP
        assert_eq!(
            VPath::root().resolve(b"caf\xe9.jpg"),
            Err(PathError::NotUtf8)
        );
    }

    #[test]
    fn nul_is_rejected() {
        assert_eq!(pe("%00"), Err(PathError::Nul));
        assert_eq!(pe("%2Fa%00.jpg"), Err(PathError::Nul));
        assert_eq!(VPath::parse(b"/a\0b"), Err(PathError::Nul));
    }

    #[test]
    fn control_characters_are_rejected() {
        for raw in [
            "%01", "%09", "%0A", "%0D", "%1B", "%1F", "%7F", "%C2%80", "%C2%85", "%C2%9F",
        ] {
            assert_eq!(pe(raw), Err(PathError::ControlChar), "{raw:?}");
            assert_eq!(
                pe(&format!("%2Fdir%2Fa{raw}b.jpg")),
                Err(PathError::ControlChar)
            );
        }
        // FTP command injection attempt.
        assert_eq!(
            VPath::parse(b"/a.jpg\r\nDELE b.jpg"),
            Err(PathError::ControlChar)
        );
        // Neighbours of the control ranges are ordinary characters.
        assert_eq!(pe("%20"), Ok("/ ".into()));
        assert_eq!(pe("~"), Ok("/~".into()));
        assert_eq!(pe("%C2%A0"), Ok("/\u{a0}".into()));
    }

    #[test]
    fn backslash_is_rejected() {
        assert_eq!(p("a\\b"), Err(PathError::Backslash));
        assert_eq!(p("\\"), Err(PathError::Backslash));
        assert_eq!(p("/dir/..\\..\\x"), Err(PathError::Backslash));
        assert_eq!(pe("%5C"), Err(PathError::Backslash));
        assert_eq!(pe("%2Fa%5Cb"), Err(PathError::Backslash));
    }

    #[test]
    fn segment_length_limit() {
        let ok = "a".repeat(MAX_SEGMENT_BYTES);
        assert_eq!(p(&format!("/{ok}")), Ok(format!("/{ok}")));
        let long = "a".repeat(MAX_SEGMENT_BYTES + 1);
        assert_eq!(p(&format!("/{long}")), Err(PathError::SegmentTooLong));
        assert_eq!(p(&format!("/{long}/..")), Err(PathError::SegmentTooLong));
        // Bytes, not characters: 128 x "é" is 256 bytes.
        assert_eq!(p(&"é".repeat(128)), Err(PathError::SegmentTooLong));
        assert!(p(&"é".repeat(127)).is_ok());
    }

    #[test]
    fn segment_length_is_measured_after_nfc() {
        // 100 x "e"+U+0301 is 300 bytes as sent but 200 bytes once composed.
        let nfd = "e\u{301}".repeat(100);
        let v = VPath::parse(nfd.as_bytes()).unwrap();
        assert_eq!(v.components()[0].len(), 200);
    }

    #[test]
    fn path_length_limit() {
        let seg = "a".repeat(MAX_SEGMENT_BYTES);
        // Four 255-byte components: 4 * (1 + 255) = 1024 bytes, exactly the limit.
        let max = format!("/{seg}/{seg}/{seg}/{seg}");
        assert_eq!(max.len(), MAX_PATH_BYTES);
        assert_eq!(p(&max), Ok(max.clone()));
        assert_eq!(p(&format!("{max}/b")), Err(PathError::PathTooLong));
        let over = format!("/{seg}/{seg}/{seg}/{seg}a");
        assert_eq!(p(&over), Err(PathError::SegmentTooLong));
        let over = format!("/b/{seg}/{seg}/{seg}/{seg}");
        assert_eq!(p(&over), Err(PathError::PathTooLong));
        // The final path counts, not the detours taken to reach it.
        let detour = format!("/{seg}/{seg}/{seg}/{seg}/{seg}/../../x");
        assert!(p(&detour).is_ok());
    }

    #[test]
    fn raw_input_length_limit() {
        // Even input that would reduce to "/" is refused past the bound, before any work.
        let slashes = "/".repeat(MAX_INPUT_BYTES);
        assert_eq!(p(&slashes), Ok("/".into()));
        let slashes = "/".repeat(MAX_INPUT_BYTES + 1);
        assert_eq!(p(&slashes), Err(PathError::InputTooLong));
        assert_eq!(
            VPath::root().resolve(slashes.as_bytes()),
            Err(PathError::InputTooLong)
        );
        let encoded = "%2F".repeat(MAX_INPUT_BYTES / 3 + 1);
        assert_eq!(pe(&encoded), Err(PathError::InputTooLong));
        // Invalid bytes past the bound: the length check comes first.
        assert_eq!(
            VPath::parse(&[0xFF; MAX_INPUT_BYTES + 1]),
            Err(PathError::InputTooLong)
        );
    }

    #[test]
    fn empty_input() {
        assert_eq!(p(""), Err(PathError::EmptyPath));
        assert_eq!(pe(""), Err(PathError::EmptyPath));
        assert_eq!(VPath::root().resolve(b""), Err(PathError::EmptyPath));
    }

    #[test]
    fn resolve_against_working_directory() {
        let cwd = VPath::parse(b"/event/day1").unwrap();
        assert_eq!(
            cwd.resolve(b"a.jpg").unwrap().to_string(),
            "/event/day1/a.jpg"
        );
        assert_eq!(
            cwd.resolve(b"./a.jpg").unwrap().to_string(),
            "/event/day1/a.jpg"
        );
        assert_eq!(cwd.resolve(b"../day2").unwrap().to_string(), "/event/day2");
        assert_eq!(cwd.resolve(b"..").unwrap().to_string(), "/event");
        assert_eq!(cwd.resolve(b"../..").unwrap(), VPath::root());
        assert_eq!(cwd.resolve(b"../../.."), Err(PathError::EscapesRoot));
        assert_eq!(cwd.resolve(b"/other").unwrap().to_string(), "/other");
        assert_eq!(cwd.resolve(b"/.."), Err(PathError::EscapesRoot));
        assert_eq!(cwd.resolve(b".").unwrap(), cwd);
        assert_eq!(VPath::root().resolve(b".."), Err(PathError::EscapesRoot));
        assert_eq!(VPath::root().resolve(b"a/b"), VPath::parse(b"/a/b"));
        // Relative NFD input is normalised too.
        assert_eq!(
            cwd.resolve("e\u{301}".as_bytes()).unwrap().file_name(),
            Some("\u{e9}")
        );
    }

    #[test]
    fn resolve_checks_the_whole_result_length() {
        let seg = "a".repeat(MAX_SEGMENT_BYTES);
        let cwd = VPath::parse(format!("/{seg}/{seg}/{seg}").as_bytes()).unwrap();
        assert!(cwd.resolve(seg.as_bytes()).is_ok());
        assert_eq!(
            cwd.resolve(format!("{seg}/x").as_bytes()),
            Err(PathError::PathTooLong)
        );
    }

    #[test]
    fn starts_with_is_component_wise() {
        let a = VPath::parse(b"/a").unwrap();
        let ab = VPath::parse(b"/ab").unwrap();
        let a_b = VPath::parse(b"/a/b").unwrap();
        assert!(!ab.starts_with(&a));
        assert!(a_b.starts_with(&a));
        assert!(a.starts_with(&a));
        assert!(!a.starts_with(&a_b));
        assert!(a.starts_with(&VPath::root()));
        assert!(VPath::root().starts_with(&VPath::root()));
        assert!(!VPath::root().starts_with(&a));
    }

    #[test]
    fn accessors() {
        let v = VPath::parse(b"/e/d/f.jpg").unwrap();
        assert_eq!(v.len(), 3);
        assert!(!v.is_empty());
        assert!(!v.is_root());
        assert_eq!(v.file_name(), Some("f.jpg"));
        assert_eq!(v.parent().unwrap().to_string(), "/e/d");
        assert_eq!(
            v.parent().unwrap().parent().unwrap().parent(),
            Some(VPath::root())
        );
        let root = VPath::root();
        assert_eq!(root.len(), 0);
        assert!(root.is_empty());
        assert!(root.is_root());
        assert_eq!(root.parent(), None);
        assert_eq!(root.file_name(), None);
        assert_eq!(root.to_string(), "/");
        assert!(root.components().is_empty());
    }

    #[test]
    fn join_accepts_one_valid_segment() {
        let d = VPath::parse(b"/e").unwrap();
        assert_eq!(d.join("a b.jpg").unwrap().to_string(), "/e/a b.jpg");
        assert_eq!(d.join("%2F").unwrap().components(), ["e", "%2F"]);
        assert_eq!(d.join("e\u{301}").unwrap().file_name(), Some("\u{e9}"));
        assert_eq!(d.join(""), Err(PathError::EmptyName));
        assert_eq!(d.join("."), Err(PathError::DotName));
        assert_eq!(d.join(".."), Err(PathError::DotName));
        assert_eq!(d.join("a/b"), Err(PathError::Slash));
        assert_eq!(d.join("/"), Err(PathError::Slash));
        assert_eq!(d.join("a\\b"), Err(PathError::Backslash));
        assert_eq!(d.join("a\0"), Err(PathError::Nul));
        assert_eq!(d.join("a\n"), Err(PathError::ControlChar));
        assert_eq!(d.join(&"a".repeat(256)), Err(PathError::SegmentTooLong));
        assert_eq!(d.join(&"a".repeat(100_000)), Err(PathError::SegmentTooLong));
        assert!(d.join(&"a".repeat(255)).is_ok());
        let seg = "a".repeat(MAX_SEGMENT_BYTES);
        let deep = VPath::parse(format!("/{seg}/{seg}/{seg}/{seg}").as_bytes()).unwrap();
        assert_eq!(deep.join("x"), Err(PathError::PathTooLong));
    }

    #[test]
    fn ordering_and_hashing_are_by_component() {
        use std::collections::HashSet;
        let mut v: Vec<VPath> = ["/b", "/a/z", "/a", "/a b"]
            .iter()
            .map(|s| VPath::parse(s.as_bytes()).unwrap())
            .collect();
        v.sort();
        let shown: Vec<String> = v.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["/a", "/a/z", "/a b", "/b"]);
        let set: HashSet<VPath> = ["/a/b", "//a//b/", "/a/./b"]
            .iter()
            .map(|s| VPath::parse(s.as_bytes()).unwrap())
            .collect();
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn error_messages_are_lowercase() {
        let all = [
            PathError::InputTooLong,
            PathError::EmptyPath,
            PathError::BadEncoding,
            PathError::NotUtf8,
            PathError::Nul,
            PathError::ControlChar,
            PathError::Backslash,
            PathError::EscapesRoot,
            PathError::SegmentTooLong,
            PathError::PathTooLong,
            PathError::EmptyName,
            PathError::DotName,
            PathError::Slash,
        ];
        for e in all {
            let msg = e.to_string();
            assert!(!msg.is_empty());
            assert!(!msg.starts_with(|c: char| c.is_uppercase()), "{msg}");
        }
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    use proptest::prelude::*;

    /// Everything a valid `VPath` promises, including that its displayed form (and that form
    /// percent-encoded, as SFTPGo would send it) parses back to the same path.
    fn check_invariants(v: &VPath) -> Result<(), TestCaseError> {
        for c in v.components() {
            prop_assert!(!c.is_empty());
            prop_assert!(c != "." && c != "..");
            prop_assert!(!c.contains(['/', '\\', '\0']));
            prop_assert!(!c.chars().any(char::is_control));
            prop_assert!(c.len() <= MAX_SEGMENT_BYTES);
            prop_assert!(is_nfc(c));
        }
        let shown = v.to_string();
        prop_assert!(shown.len() <= MAX_PATH_BYTES);
        prop_assert_eq!(&VPath::parse(shown.as_bytes()), &Ok(v.clone()));
        let encoded = utf8_percent_encode(&shown, NON_ALPHANUMERIC).to_string();
        if encoded.len() <= MAX_INPUT_BYTES {
            prop_assert_eq!(&VPath::from_percent_encoded(&encoded), &Ok(v.clone()));
        }
        Ok(())
    }

    /// Path-like text: mostly separators, dots, escapes and awkward characters, so that the
    /// interesting branches are hit far more often than with uniform random strings.
    fn pathish() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("/".to_string()),
            Just(".".to_string()),
            Just("..".to_string()),
            Just("a".to_string()),
            Just("é".to_string()),
            Just("e\u{301}".to_string()),
            Just("\u{301}".to_string()),
            Just("\u{1100}".to_string()),
            Just("\u{1161}".to_string()),
            Just("%2F".to_string()),
            Just("%2e".to_string()),
            Just("%25".to_string()),
            Just("%".to_string()),
            Just("%C3%A9".to_string()),
            Just("%CC%81".to_string()),
            Just("%FF".to_string()),
            Just("%00".to_string()),
            Just("\\".to_string()),
            Just("+".to_string()),
            Just(" ".to_string()),
            Just("a".repeat(200)),
            any::<char>().prop_map(String::from),
        ];
        prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn parse_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
            if let Ok(v) = VPath::parse(&bytes) {
                check_invariants(&v)?;
            }
        }

        #[test]
        fn parse_strings(s in any::<String>()) {
            if let Ok(v) = VPath::parse(s.as_bytes()) {
                check_invariants(&v)?;
            }
            if let Ok(v) = VPath::from_percent_encoded(&s) {
                check_invariants(&v)?;
            }
        }

        #[test]
        fn pathish_inputs(s in pathish()) {
            let parsed = VPath::parse(s.as_bytes());
            if let Ok(v) = &parsed {
                check_invariants(v)?;
            }
            // parse is resolve against the root.
            prop_assert_eq!(VPath::root().resolve(s.as_bytes()), parsed);
            if let Ok(v) = VPath::from_percent_encoded(&s) {
                check_invariants(&v)?;
            }
        }

        #[test]
        fn resolve_keeps_invariants(cwd in pathish(), input in pathish()) {
            if let Ok(cwd) = VPath::parse(cwd.as_bytes()) {
                let resolved = cwd.resolve(input.as_bytes());
                if let Ok(v) = &resolved {
                    check_invariants(v)?;
                }
                if input.starts_with('/') {
                    prop_assert_eq!(resolved, VPath::parse(input.as_bytes()));
                }
            }
        }

        #[test]
        fn join_keeps_invariants(base in pathish(), name in pathish()) {
            if let Ok(base) = VPath::parse(base.as_bytes())
                && let Ok(v) = base.join(&name)
            {
                check_invariants(&v)?;
                prop_assert_eq!(v.parent(), Some(base.clone()));
                prop_assert!(v.starts_with(&base));
                prop_assert_eq!(v.len(), base.len() + 1);
            }
        }
    }
}
