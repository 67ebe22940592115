//! Listing formats: `LIST` in `ls -l` style (what cameras and old clients parse), `NLST` (names),
//! and the machine-readable `MLSD`/`MLST` facts of RFC 3659. All times are UTC.

use crate::base::domain::Millis;
use crate::core::gateway::FileInfo;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
/// `ls` shows the year instead of the time for files older than this (or in the future).
const SIX_MONTHS_MS: i64 = 182 * 24 * 3600 * 1000;

fn utc(ms: Millis) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// RFC 3659 time-val, `YYYYMMDDHHMMSS` (MDTM, MLSD `modify`, MFMT replies).
pub fn time_val(ms: Millis) -> String {
    let t = utc(ms);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        t.year().clamp(0, 9999),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// What the caller may do with an entry: decides `ls` mode bits and the MLSx `perm` fact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Read only (a viewer, a closed event, the root).
    ReadOnly,
    /// Full rights inside the photographer's namespace.
    Writable,
    /// An event directory at `/` where the photographer uploads: create inside, but the
    /// directory itself cannot be renamed or deleted.
    EventRoot,
}

fn mode_bits(fi: &FileInfo, a: Access) -> (&'static str, &'static str) {
    // (ls -l string, unix.mode)
    match (fi.is_dir, a) {
        (true, Access::ReadOnly) => ("dr-xr-xr-x", "0555"),
        (true, _) => ("drwxr-xr-x", "0755"),
        (false, Access::ReadOnly) => ("-r--r--r--", "0444"),
        (false, _) => ("-rw-r--r--", "0644"),
    }
}

fn perm_fact(fi: &FileInfo, a: Access) -> &'static str {
    match (fi.is_dir, a) {
        (true, Access::ReadOnly) => "el",
        (true, Access::EventRoot) => "celmp",
        (true, Access::Writable) => "cdeflmp",
        (false, Access::ReadOnly) => "r",
        (false, _) => "dfrw",
    }
}

/// One `ls -l` line (without CRLF): `-rw-r--r--    1 alice    ftpgate       1234 Mar 04 09:15 a.jpg`.
pub fn list_line(fi: &FileInfo, a: Access, owner: &str, now: Millis) -> String {
    let t = utc(fi.mtime);
    let month = MONTHS[usize::from(u8::from(t.month())).saturating_sub(1) % 12];
    let recent = fi.mtime <= now + 3600 * 1000 && now - fi.mtime < SIX_MONTHS_MS;
    let when = if recent {
        format!("{month} {:02} {:02}:{:02}", t.day(), t.hour(), t.minute())
    } else {
        format!("{month} {:02}  {:04}", t.day(), t.year().clamp(0, 9999))
    };
    let (bits, _) = mode_bits(fi, a);
    format!(
        "{bits} {:>4} {:<8} {:<8} {:>12} {when} {}",
        1, owner, "ftpgate", fi.size, fi.name
    )
}

/// Which MLSx facts the client asked for (`OPTS MLST`); all by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Facts {
    pub kind: bool,
    pub size: bool,
    pub modify: bool,
    pub perm: bool,
    pub unix_mode: bool,
}

impl Default for Facts {
    fn default() -> Self {
        Facts {
            kind: true,
            size: true,
            modify: true,
            perm: true,
            unix_mode: true,
        }
    }
}

impl Facts {
    /// From the names in `OPTS MLST a;b;` (unknown names ignored, RFC 3659 §7.9).
    pub fn select(names: &[String]) -> Facts {
        let has = |n: &str| names.iter().any(|x| x.eq_ignore_ascii_case(n));
        Facts {
            kind: has("type"),
            size: has("size"),
            modify: has("modify"),
            perm: has("perm"),
            unix_mode: has("unix.mode"),
        }
    }

    /// The FEAT line: supported facts, `*` on the selected ones.
    pub fn feat(&self) -> String {
        let f = |name: &str, on: bool| format!("{name}{};", if on { "*" } else { "" });
        format!(
            " MLST {}{}{}{}{}",
            f("type", self.kind),
            f("size", self.size),
            f("modify", self.modify),
            f("perm", self.perm),
            f("unix.mode", self.unix_mode)
        )
    }

    /// The `OPTS MLST` reply text: the selected facts.
    pub fn selected(&self) -> String {
        let mut s = String::new();
        for (name, on) in [
            ("type", self.kind),
            ("size", self.size),
            ("modify", self.modify),
            ("perm", self.perm),
            ("unix.mode", self.unix_mode),
        ] {
            if on {
                s.push_str(name);
                s.push(';');
            }
        }
        s
    }
}

/// The facts part of an MLSD/MLST line, ending with `; ` before the name.
pub fn facts(fi: &FileInfo, a: Access, f: &Facts) -> String {
    let mut s = String::new();
    if f.kind {
        s.push_str(if fi.is_dir { "type=dir;" } else { "type=file;" });
    }
    if f.size && !fi.is_dir {
        s.push_str(&format!("size={};", fi.size));
    }
    if f.modify {
        s.push_str(&format!("modify={};", time_val(fi.mtime)));
    }
    if f.perm {
        s.push_str(&format!("perm={};", perm_fact(fi, a)));
    }
    if f.unix_mode {
        s.push_str(&format!("unix.mode={};", mode_bits(fi, a).1));
    }
    s.push(' ');
    s
}

/// One `MLSD` line: `type=file;size=3;…; name`.
pub fn mlsd_line(fi: &FileInfo, a: Access, f: &Facts) -> String {
    format!("{}{}", facts(fi, a, f), fi.name)
}

/// The entry line of an `MLST` reply: a leading space, facts, then the path.
pub fn mlst_line(fi: &FileInfo, a: Access, f: &Facts, path: &str) -> String {
    format!(" {}{}", facts(fi, a, f), path)
}

/// The bytes of a data-connection listing, CRLF-terminated lines.
pub fn join_lines(lines: impl IntoIterator<Item = String>) -> Vec<u8> {
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(l.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// True if a name given to `LIST`/`NLST` is a pattern (`*.JPG`, `DSC_00??.NEF`), as
/// `mget`-style clients send. Only `*` and `?`: brackets are common in real file names.
pub fn is_pattern(name: &str) -> bool {
    name.contains(['*', '?'])
}

/// Shell-style match of a whole name: `*` any run of characters, `?` one character.
/// Linear backtracking on the last `*`, so a hostile pattern cannot make it slow.
pub fn matches_pattern(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    // Where the last `*` was, and the name position it currently covers up to.
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(&c) if c == '?' || c == n[ni] => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(is_pattern("*.JPG") && is_pattern("DSC_000?.NEF"));
        assert!(!is_pattern("DSC_[1].JPG") && !is_pattern("2026-06-01"));
        for (pat, name, want) in [
            ("*.JPG", "DSC_0001.JPG", true),
            ("*.JPG", "DSC_0001.NEF", false),
            ("*.JPG", ".JPG", true),
            ("DSC_000?.*", "DSC_0007.NEF", true),
            ("DSC_000?.*", "DSC_00071.NEF", false),
            ("*", "", true),
            ("?", "", false),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXcYYb", false),
            ("*ß?", "straße", true),
            ("**.jpg", "x.jpg", true),
            ("*.JPG", "dsc.jpg", false), // names are case-sensitive, as on the server's disk
        ] {
            assert_eq!(matches_pattern(pat, name), want, "{pat} vs {name}");
        }
        // A pathological pattern stays quick.
        let name = "a".repeat(5000);
        assert!(!matches_pattern(&format!("{}b", "*a".repeat(200)), &name));
    }

    fn file(name: &str, size: u64, mtime: Millis) -> FileInfo {
        FileInfo {
            name: name.into(),
            is_dir: false,
            size,
            mtime,
            mime: None,
            sha256: None,
        }
    }

    fn dir(name: &str, mtime: Millis) -> FileInfo {
        FileInfo {
            is_dir: true,
            ..file(name, 0, mtime)
        }
    }

    const T: Millis = 1_709_525_167_000; // 2024-03-04 04:06:07 UTC

    #[test]
    fn time_vals() {
        assert_eq!(time_val(T), "20240304040607");
        assert_eq!(time_val(T + 999), "20240304040607");
        assert_eq!(time_val(0), "19700101000000");
        assert_eq!(time_val(-1), "19691231235959");
        assert_eq!(time_val(i64::MAX), "19700101000000");
    }

    #[test]
    fn ls_lines() {
        assert_eq!(
            list_line(
                &file("DSC_0001.JPG", 1234, T),
                Access::Writable,
                "alice",
                T + 1000
            ),
            "-rw-r--r--    1 alice    ftpgate          1234 Mar 04 04:06 DSC_0001.JPG"
        );
        let old = list_line(
            &dir("2023", T),
            Access::ReadOnly,
            "bob",
            T + 365 * 86_400_000,
        );
        assert_eq!(
            old,
            "dr-xr-xr-x    1 bob      ftpgate             0 Mar 04  2024 2023"
        );
        let name_with_spaces = list_line(&file("a b.jpg", 1, T), Access::Writable, "x", T);
        assert!(name_with_spaces.ends_with(" a b.jpg"));
    }

    #[test]
    fn mlsx_lines() {
        let f = Facts::default();
        assert_eq!(
            mlsd_line(&file("a.jpg", 3, T), Access::Writable, &f),
            "type=file;size=3;modify=20240304040607;perm=dfrw;unix.mode=0644; a.jpg"
        );
        assert_eq!(
            mlsd_line(&dir("ev", T), Access::EventRoot, &f),
            "type=dir;modify=20240304040607;perm=celmp;unix.mode=0755; ev"
        );
        assert_eq!(
            mlst_line(&file("a.jpg", 3, T), Access::ReadOnly, &f, "/ev/a.jpg"),
            " type=file;size=3;modify=20240304040607;perm=r;unix.mode=0444; /ev/a.jpg"
        );
        let only = Facts::select(&["size".into(), "TYPE".into(), "bogus".into()]);
        assert_eq!(only.selected(), "type;size;");
        assert_eq!(
            mlsd_line(&file("a", 3, T), Access::Writable, &only),
            "type=file;size=3; a"
        );
        assert_eq!(
            Facts::default().feat(),
            " MLST type*;size*;modify*;perm*;unix.mode*;"
        );
        assert_eq!(join_lines(vec!["a".into(), "b".into()]), b"a\r\nb\r\n");
    }
}
