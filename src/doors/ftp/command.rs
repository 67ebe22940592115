//! The FTP command parser: one control line (without CRLF, Telnet sequences already removed)
//! into a [`Command`]. Pure and total: any byte string gives `Ok` or a [`ParseError`], never a
//! panic (fuzzed by `fuzz/fuzz_targets/ftp_command.rs`). Verbs are case-insensitive (RFC 959);
//! path arguments stay bytes, because the one place paths are decoded and checked is
//! [`crate::base::vpath`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::base::domain::Millis;

/// Longest verb we look at; longer first words are unknown commands.
const MAX_VERB: usize = 8;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    User(String),
    Pass(String),
    Quit,
    Noop,
    Syst,
    Feat,
    Opts(Opts),
    Help,
    /// `STAT` without argument: server status; with one: a listing over the control connection.
    Stat(Option<Vec<u8>>),
    Pwd,
    Cwd(Vec<u8>),
    Cdup,
    Mkd(Vec<u8>),
    Rmd(Vec<u8>),
    Dele(Vec<u8>),
    Rnfr(Vec<u8>),
    Rnto(Vec<u8>),
    Type(TypeCode),
    Mode(u8),
    Stru(u8),
    Allo,
    Pasv,
    Epsv(EpsvArg),
    Port(SocketAddr),
    Eprt(SocketAddr),
    List(Option<Vec<u8>>),
    Nlst(Option<Vec<u8>>),
    Mlsd(Option<Vec<u8>>),
    Mlst(Option<Vec<u8>>),
    Size(Vec<u8>),
    Mdtm(Vec<u8>),
    Mfmt {
        mtime: Millis,
        path: Vec<u8>,
    },
    Retr(Vec<u8>),
    Stor(Vec<u8>),
    Appe(Vec<u8>),
    Stou,
    Rest(u64),
    Abor,
    Avbl(Option<Vec<u8>>),
    Hash(Vec<u8>),
    Auth(AuthMech),
    Pbsz(u64),
    Prot(Prot),
    Ccc,
    Clnt,
    Site(String),
    Rein,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypeCode {
    Ascii,
    Image,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EpsvArg {
    /// Plain `EPSV`.
    Any,
    /// `EPSV 1` / `EPSV 2`: the network protocol the client wants.
    Proto(u8),
    /// `EPSV ALL`: from now on only EPSV (RFC 2428 §4).
    All,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMech {
    Tls,
    /// `AUTH SSL` / `AUTH TLS-C`: old spellings, treated as TLS.
    Ssl,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prot {
    Clear,
    Private,
    /// `S` (safe) and `E` (confidential): defined, never supported.
    Other(u8),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Opts {
    Utf8(bool),
    /// `OPTS HASH` (query) or `OPTS HASH <algo>`.
    Hash(Option<String>),
    /// `OPTS MLST fact;fact;`
    Mlst(Vec<String>),
    Other(String),
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("empty command line")]
    Empty,
    #[error("unknown command {0}")]
    Unknown(String),
    #[error("{0}: missing argument")]
    MissingArgument(&'static str),
    #[error("{0}")]
    BadArgument(&'static str),
}

impl ParseError {
    /// The reply code RFC 959 gives for this failure.
    pub fn code(&self) -> u16 {
        match self {
            ParseError::Empty | ParseError::Unknown(_) => 500,
            ParseError::MissingArgument(_) | ParseError::BadArgument(_) => 501,
        }
    }
}

/// Splits off the verb (upper-cased) and the raw argument (everything after the first space).
fn split(line: &[u8]) -> Result<(String, Option<&[u8]>), ParseError> {
    // Leading spaces are tolerated (some clients pad), trailing CR/LF must already be gone.
    let start = line.iter().position(|&b| b != b' ').unwrap_or(line.len());
    let line = &line[start..];
    if line.is_empty() {
        return Err(ParseError::Empty);
    }
    let (verb, arg) = match line.iter().position(|&b| b == b' ') {
        Some(i) => (&line[..i], Some(&line[i + 1..])),
        None => (line, None),
    };
    if verb.len() > MAX_VERB || !verb.iter().all(|b| b.is_ascii_alphanumeric()) {
        let shown: String = String::from_utf8_lossy(&verb[..verb.len().min(MAX_VERB)])
            .chars()
            .filter(|c| !c.is_control())
            .collect();
        return Err(ParseError::Unknown(shown));
    }
    let verb = String::from_utf8_lossy(verb).to_ascii_uppercase();
    // An argument made only of spaces counts as none.
    let arg = arg.filter(|a| a.iter().any(|&b| b != b' '));
    Ok((verb, arg))
}

fn text(arg: &[u8]) -> String {
    String::from_utf8_lossy(arg).into_owned()
}

fn trimmed(arg: &[u8]) -> &[u8] {
    let s = arg.iter().position(|&b| b != b' ').unwrap_or(arg.len());
    let e = arg.iter().rposition(|&b| b != b' ').map_or(s, |e| e + 1);
    &arg[s..e.max(s)]
}

pub fn parse(line: &[u8]) -> Result<Command, ParseError> {
    let (verb, arg) = split(line)?;
    let need = |name: &'static str| {
        arg.map(<[u8]>::to_vec)
            .ok_or(ParseError::MissingArgument(name))
    };
    let opt = || arg.map(<[u8]>::to_vec);
    Ok(match verb.as_str() {
        "USER" => Command::User(text(trimmed(&need("USER")?))),
        // A password is taken verbatim: spaces may be part of it.
        "PASS" => Command::Pass(arg.map(text).unwrap_or_default()),
        "QUIT" => Command::Quit,
        "NOOP" => Command::Noop,
        "SYST" => Command::Syst,
        "FEAT" => Command::Feat,
        "OPTS" => Command::Opts(parse_opts(&need("OPTS")?)),
        "HELP" => Command::Help,
        "STAT" => Command::Stat(opt()),
        "PWD" | "XPWD" => Command::Pwd,
        "CWD" | "XCWD" => Command::Cwd(need("CWD")?),
        "CDUP" | "XCUP" => Command::Cdup,
        "MKD" | "XMKD" => Command::Mkd(need("MKD")?),
        "RMD" | "XRMD" => Command::Rmd(need("RMD")?),
        "DELE" => Command::Dele(need("DELE")?),
        "RNFR" => Command::Rnfr(need("RNFR")?),
        "RNTO" => Command::Rnto(need("RNTO")?),
        "TYPE" => Command::Type(parse_type(&need("TYPE")?)?),
        "MODE" => Command::Mode(one_letter(&need("MODE")?, "MODE takes one letter")?),
        "STRU" => Command::Stru(one_letter(&need("STRU")?, "STRU takes one letter")?),
        "ALLO" => Command::Allo,
        "PASV" => Command::Pasv,
        "EPSV" => Command::Epsv(parse_epsv(arg)?),
        "PORT" => Command::Port(parse_port(&need("PORT")?)?),
        "EPRT" => Command::Eprt(parse_eprt(&need("EPRT")?)?),
        "LIST" => Command::List(list_arg(arg)),
        "NLST" => Command::Nlst(list_arg(arg)),
        "MLSD" => Command::Mlsd(opt()),
        "MLST" => Command::Mlst(opt()),
        "SIZE" => Command::Size(need("SIZE")?),
        "MDTM" => Command::Mdtm(need("MDTM")?),
        "MFMT" => parse_mfmt(&need("MFMT")?)?,
        "RETR" => Command::Retr(need("RETR")?),
        "STOR" => Command::Stor(need("STOR")?),
        "APPE" => Command::Appe(need("APPE")?),
        "STOU" => Command::Stou,
        "REST" => Command::Rest(
            std::str::from_utf8(trimmed(&need("REST")?))
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or(ParseError::BadArgument("REST takes a byte offset"))?,
        ),
        "ABOR" => Command::Abor,
        "AVBL" => Command::Avbl(opt()),
        "HASH" => Command::Hash(need("HASH")?),
        "AUTH" => Command::Auth(
            match trimmed(&need("AUTH")?).to_ascii_uppercase().as_slice() {
                b"TLS" | b"TLS-C" => AuthMech::Tls,
                b"SSL" | b"TLS-P" => AuthMech::Ssl,
                _ => {
                    return Err(ParseError::BadArgument(
                        "unsupported AUTH mechanism: use AUTH TLS",
                    ));
                }
            },
        ),
        "PBSZ" => Command::Pbsz(
            std::str::from_utf8(trimmed(&need("PBSZ")?))
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or(ParseError::BadArgument("PBSZ takes a number"))?,
        ),
        "PROT" => Command::Prot(match one_letter(&need("PROT")?, "PROT takes one letter")? {
            b'C' => Prot::Clear,
            b'P' => Prot::Private,
            other => Prot::Other(other),
        }),
        "CCC" => Command::Ccc,
        "CLNT" => Command::Clnt,
        "SITE" => Command::Site(text(&need("SITE")?)),
        "REIN" => Command::Rein,
        _ => return Err(ParseError::Unknown(verb)),
    })
}

/// `LIST -la dir`: options (words starting with `-`) are skipped; what follows is the path.
pub fn list_arg(arg: Option<&[u8]>) -> Option<Vec<u8>> {
    let mut rest = arg?;
    while rest.first() == Some(&b'-') {
        match rest.iter().position(|&b| b == b' ') {
            Some(i) => {
                rest = &rest[i + 1..];
                let s = rest.iter().position(|&b| b != b' ').unwrap_or(rest.len());
                rest = &rest[s..];
            }
            None => return None,
        }
    }
    if rest.is_empty() {
        None
    } else {
        Some(rest.to_vec())
    }
}

fn one_letter(arg: &[u8], msg: &'static str) -> Result<u8, ParseError> {
    match trimmed(arg) {
        [c] if c.is_ascii_alphabetic() => Ok(c.to_ascii_uppercase()),
        _ => Err(ParseError::BadArgument(msg)),
    }
}

fn parse_type(arg: &[u8]) -> Result<TypeCode, ParseError> {
    let up = trimmed(arg).to_ascii_uppercase();
    let mut words = up.split(|&b| b == b' ').filter(|w| !w.is_empty());
    let first = words.next().unwrap_or_default();
    let second = words.next();
    match (first, second) {
        (b"A", None | Some(b"N")) => Ok(TypeCode::Ascii),
        (b"I", None) => Ok(TypeCode::Image),
        (b"L", Some(b"8")) => Ok(TypeCode::Image),
        _ => Err(ParseError::BadArgument("unsupported TYPE: use TYPE I")),
    }
}

fn parse_opts(arg: &[u8]) -> Opts {
    let s = text(trimmed(arg));
    let (name, value) = match s.split_once(' ') {
        Some((n, v)) => (n.to_ascii_uppercase(), v.trim().to_string()),
        None => (s.to_ascii_uppercase(), String::new()),
    };
    match name.as_str() {
        "UTF8" | "UTF-8" => Opts::Utf8(!value.eq_ignore_ascii_case("OFF")),
        "HASH" if value.is_empty() => Opts::Hash(None),
        "HASH" => Opts::Hash(Some(value.to_ascii_uppercase())),
        "MLST" => Opts::Mlst(
            value
                .split(';')
                .map(|f| f.trim().to_ascii_lowercase())
                .filter(|f| !f.is_empty())
                .take(16)
                .collect(),
        ),
        _ => Opts::Other(name.chars().take(32).collect()),
    }
}

fn parse_epsv(arg: Option<&[u8]>) -> Result<EpsvArg, ParseError> {
    let Some(arg) = arg else {
        return Ok(EpsvArg::Any);
    };
    match trimmed(arg).to_ascii_uppercase().as_slice() {
        b"ALL" => Ok(EpsvArg::All),
        b"1" => Ok(EpsvArg::Proto(1)),
        b"2" => Ok(EpsvArg::Proto(2)),
        _ => Err(ParseError::BadArgument("EPSV takes 1, 2 or ALL")),
    }
}

/// `PORT h1,h2,h3,h4,p1,p2` (RFC 959).
fn parse_port(arg: &[u8]) -> Result<SocketAddr, ParseError> {
    const BAD: ParseError = ParseError::BadArgument("PORT takes h1,h2,h3,h4,p1,p2");
    let s = std::str::from_utf8(trimmed(arg)).map_err(|_| BAD)?;
    let mut n = [0u8; 6];
    let mut count = 0;
    for part in s.split(',') {
        if count == 6 {
            return Err(BAD);
        }
        n[count] = part.trim().parse::<u8>().map_err(|_| BAD)?;
        count += 1;
    }
    if count != 6 {
        return Err(BAD);
    }
    let ip = Ipv4Addr::new(n[0], n[1], n[2], n[3]);
    let port = u16::from(n[4]) << 8 | u16::from(n[5]);
    Ok(SocketAddr::new(IpAddr::V4(ip), port))
}

/// `EPRT |1|132.235.1.2|6275|` (RFC 2428): the first character is the delimiter.
fn parse_eprt(arg: &[u8]) -> Result<SocketAddr, ParseError> {
    const BAD: ParseError = ParseError::BadArgument("EPRT takes |proto|address|port|");
    let s = std::str::from_utf8(trimmed(arg)).map_err(|_| BAD)?;
    let mut chars = s.chars();
    let d = chars.next().ok_or(BAD)?;
    if !(33..=126).contains(&(d as u32)) || d.is_ascii_alphanumeric() {
        return Err(BAD);
    }
    let parts: Vec<&str> = s.split(d).collect();
    // "", proto, addr, port, ""
    let [empty1, proto, addr, port, empty2] = parts.as_slice() else {
        return Err(BAD);
    };
    if !empty1.is_empty() || !empty2.is_empty() {
        return Err(BAD);
    }
    let port: u16 = port.parse().map_err(|_| BAD)?;
    let ip: IpAddr = match *proto {
        "1" => IpAddr::V4(addr.parse().map_err(|_| BAD)?),
        "2" => IpAddr::V6(addr.parse().map_err(|_| BAD)?),
        _ => {
            return Err(ParseError::BadArgument(
                "EPRT: network protocol not supported, use (1,2)",
            ));
        }
    };
    Ok(SocketAddr::new(ip, port))
}

/// `YYYYMMDDHHMMSS[.sss]` in UTC (RFC 3659 time-val) to milliseconds since the epoch.
pub fn parse_time_val(s: &str) -> Option<Millis> {
    let (main, frac) = match s.split_once('.') {
        Some((m, f)) => (m, Some(f)),
        None => (s, None),
    };
    if main.len() != 14 || !main.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| main.get(r).and_then(|v| v.parse::<u32>().ok());
    let year = i32::try_from(num(0..4)?).ok()?;
    let month = time::Month::try_from(u8::try_from(num(4..6)?).ok()?).ok()?;
    let day = u8::try_from(num(6..8)?).ok()?;
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    let t = time::Time::from_hms(
        u8::try_from(num(8..10)?).ok()?,
        u8::try_from(num(10..12)?).ok()?,
        u8::try_from(num(12..14)?).ok()?,
    )
    .ok()?;
    let mut ms = date
        .with_time(t)
        .assume_utc()
        .unix_timestamp()
        .checked_mul(1000)?;
    if let Some(f) = frac {
        if f.is_empty() || f.len() > 9 || !f.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let digits: String = f.chars().chain(std::iter::repeat('0')).take(3).collect();
        ms = ms.checked_add(digits.parse::<i64>().ok()?)?;
    }
    Some(ms)
}

fn parse_mfmt(arg: &[u8]) -> Result<Command, ParseError> {
    const BAD: ParseError = ParseError::BadArgument("MFMT takes YYYYMMDDHHMMSS and a path");
    let i = arg.iter().position(|&b| b == b' ').ok_or(BAD)?;
    let t = std::str::from_utf8(&arg[..i]).map_err(|_| BAD)?;
    let path = &arg[i + 1..];
    if path.is_empty() {
        return Err(BAD);
    }
    let mtime = parse_time_val(t).ok_or(BAD)?;
    Ok(Command::Mfmt {
        mtime,
        path: path.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_are_case_insensitive_and_args_kept() {
        assert_eq!(parse(b"user Alice").unwrap(), Command::User("Alice".into()));
        assert_eq!(
            parse(b"PASS a b c ").unwrap(),
            Command::Pass("a b c ".into())
        );
        assert_eq!(parse(b"PASS").unwrap(), Command::Pass(String::new()));
        assert_eq!(
            parse(b"stor DSC 0001.JPG").unwrap(),
            Command::Stor(b"DSC 0001.JPG".to_vec())
        );
        assert_eq!(parse(b"XPWD").unwrap(), Command::Pwd);
        assert_eq!(parse(b"  NOOP").unwrap(), Command::Noop);
        assert_eq!(parse(b"CWD  /a").unwrap(), Command::Cwd(b" /a".to_vec()));
    }

    #[test]
    fn errors() {
        assert_eq!(parse(b"").unwrap_err(), ParseError::Empty);
        assert_eq!(parse(b"   ").unwrap_err(), ParseError::Empty);
        assert!(matches!(parse(b"FOO bar").unwrap_err(), ParseError::Unknown(v) if v == "FOO"));
        assert!(matches!(
            parse(b"\x16\x03\x01\x02\x00").unwrap_err(),
            ParseError::Unknown(_)
        ));
        assert_eq!(
            parse(b"CWD").unwrap_err(),
            ParseError::MissingArgument("CWD")
        );
        assert_eq!(
            parse(b"STOR   ").unwrap_err(),
            ParseError::MissingArgument("STOR")
        );
        assert_eq!(parse(b"REST x").unwrap_err().code(), 501);
        assert_eq!(parse(b"REST -1").unwrap_err().code(), 501);
        assert_eq!(parse(b"AUTH KERBEROS").unwrap_err().code(), 501);
        assert_eq!(parse(b"TYPE E").unwrap_err().code(), 501);
    }

    #[test]
    fn types_and_modes() {
        assert_eq!(parse(b"TYPE I").unwrap(), Command::Type(TypeCode::Image));
        assert_eq!(parse(b"TYPE a").unwrap(), Command::Type(TypeCode::Ascii));
        assert_eq!(parse(b"TYPE A N").unwrap(), Command::Type(TypeCode::Ascii));
        assert_eq!(parse(b"TYPE L 8").unwrap(), Command::Type(TypeCode::Image));
        assert_eq!(parse(b"MODE s").unwrap(), Command::Mode(b'S'));
        assert_eq!(parse(b"STRU F").unwrap(), Command::Stru(b'F'));
        assert_eq!(parse(b"PROT P").unwrap(), Command::Prot(Prot::Private));
        assert_eq!(parse(b"PROT c").unwrap(), Command::Prot(Prot::Clear));
        assert_eq!(parse(b"PROT S").unwrap(), Command::Prot(Prot::Other(b'S')));
        assert_eq!(parse(b"PBSZ 0").unwrap(), Command::Pbsz(0));
        assert_eq!(parse(b"AUTH tls").unwrap(), Command::Auth(AuthMech::Tls));
        assert_eq!(parse(b"AUTH SSL").unwrap(), Command::Auth(AuthMech::Ssl));
        assert_eq!(parse(b"REST 1024").unwrap(), Command::Rest(1024));
    }

    #[test]
    fn port_and_eprt() {
        assert_eq!(
            parse(b"PORT 127,0,0,1,4,1").unwrap(),
            Command::Port("127.0.0.1:1025".parse().unwrap())
        );
        assert!(parse(b"PORT 127,0,0,1,4").is_err());
        assert!(parse(b"PORT 127,0,0,1,4,1,1").is_err());
        assert!(parse(b"PORT 256,0,0,1,4,1").is_err());
        assert_eq!(
            parse(b"EPRT |1|132.235.1.2|6275|").unwrap(),
            Command::Eprt("132.235.1.2:6275".parse().unwrap())
        );
        assert_eq!(
            parse(b"EPRT |2|::1|5282|").unwrap(),
            Command::Eprt("[::1]:5282".parse().unwrap())
        );
        assert!(parse(b"EPRT |3|x|1|").is_err());
        assert!(parse(b"EPRT |1|::1|1|").is_err());
        assert!(parse(b"EPRT |1|1.2.3.4|99999|").is_err());
        assert!(parse(b"EPRT x").is_err());
    }

    #[test]
    fn epsv() {
        assert_eq!(parse(b"EPSV").unwrap(), Command::Epsv(EpsvArg::Any));
        assert_eq!(parse(b"EPSV all").unwrap(), Command::Epsv(EpsvArg::All));
        assert_eq!(parse(b"EPSV 2").unwrap(), Command::Epsv(EpsvArg::Proto(2)));
        assert!(parse(b"EPSV 3").is_err());
    }

    #[test]
    fn list_options_are_skipped() {
        assert_eq!(parse(b"LIST").unwrap(), Command::List(None));
        assert_eq!(parse(b"LIST -la").unwrap(), Command::List(None));
        assert_eq!(
            parse(b"LIST -a -l /ev").unwrap(),
            Command::List(Some(b"/ev".to_vec()))
        );
        assert_eq!(
            parse(b"NLST sub dir").unwrap(),
            Command::Nlst(Some(b"sub dir".to_vec()))
        );
        assert_eq!(parse(b"MLSD").unwrap(), Command::Mlsd(None));
    }

    #[test]
    fn opts() {
        assert_eq!(
            parse(b"OPTS UTF8 ON").unwrap(),
            Command::Opts(Opts::Utf8(true))
        );
        assert_eq!(
            parse(b"OPTS utf8 off").unwrap(),
            Command::Opts(Opts::Utf8(false))
        );
        assert_eq!(
            parse(b"OPTS HASH sha-256").unwrap(),
            Command::Opts(Opts::Hash(Some("SHA-256".into())))
        );
        assert_eq!(
            parse(b"OPTS HASH").unwrap(),
            Command::Opts(Opts::Hash(None))
        );
        assert_eq!(
            parse(b"OPTS MLST type;Size;modify;").unwrap(),
            Command::Opts(Opts::Mlst(vec![
                "type".into(),
                "size".into(),
                "modify".into()
            ]))
        );
    }

    #[test]
    fn time_vals_and_mfmt() {
        assert_eq!(parse_time_val("20240304040607"), Some(1_709_525_167_000));
        assert_eq!(parse_time_val("20240304040607.5"), Some(1_709_525_167_500));
        assert_eq!(
            parse_time_val("20240304040607.123456"),
            Some(1_709_525_167_123)
        );
        assert_eq!(parse_time_val("2024030404060"), None);
        assert_eq!(parse_time_val("20241304040607"), None);
        assert_eq!(parse_time_val("20240230040607"), None);
        assert_eq!(parse_time_val("20240304040607."), None);
        assert_eq!(parse_time_val("2024030404060x"), None);
        assert_eq!(
            parse(b"MFMT 20240304040607 a b.jpg").unwrap(),
            Command::Mfmt {
                mtime: 1_709_525_167_000,
                path: b"a b.jpg".to_vec()
            }
        );
        assert!(parse(b"MFMT 20240304040607").is_err());
        assert!(parse(b"MFMT x y").is_err());
    }

    #[test]
    fn never_panics_on_odd_bytes() {
        let samples: &[&[u8]] = &[
            b"\xff\xff\xff",
            b"PORT ,,,,,",
            b"EPRT ||||",
            b"EPRT |",
            b"MFMT  ",
            b"MFMT 9 ",
            b"TYPE",
            b"TYPE  ",
            b"OPTS",
            b"OPTS  ",
            b"REST 99999999999999999999999",
            b"LIST -",
            b"LIST - ",
            b"USER \xc3\x28",
            b"EPRT \xe2\x82\xac1\xe2\x82\xac",
            b"MFMT 99999999999999.999 x",
        ];
        for s in samples {
            let _ = parse(s);
        }
    }
}
