//! Fuzz the FTP door's input parsers: the command parser, Telnet stripping, the PROXY
//! protocol header parser, LIST/NLST name patterns, and reply formatting of client-influenced text. No input may panic
//! them, and each keeps its promises (a reply is exactly one line per line; a PROXY parse never
//! claims more bytes than it was given, and asks for more only when it needs them).
//!
//! Run with `cargo +nightly fuzz run ftp_command` from the repository root.
#![no_main]

use ftpgate::doors::ftp::codec::{MAX_LINE, strip_telnet};
use ftpgate::doors::ftp::command::{Command, parse};
use ftpgate::doors::ftp::listing::{is_pattern, matches_pattern};
use ftpgate::doors::ftp::proxy::{self, Progress};
use ftpgate::doors::ftp::reply::Reply;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let line = strip_telnet(data);
    assert!(line.len() <= data.len());
    if let Ok(cmd) = parse(&line) {
        // Path arguments are never empty (a missing one is a parse error).
        match &cmd {
            Command::Cwd(p)
            | Command::Mkd(p)
            | Command::Rmd(p)
            | Command::Dele(p)
            | Command::Rnfr(p)
            | Command::Rnto(p)
            | Command::Size(p)
            | Command::Mdtm(p)
            | Command::Retr(p)
            | Command::Stor(p)
            | Command::Appe(p)
            | Command::Hash(p) => {
                assert!(!p.is_empty());
            }
            _ => {}
        }
    }
    let _ = parse(&data[..data.len().min(MAX_LINE)]);

    // Whatever a client makes us echo stays one reply line.
    let text = String::from_utf8_lossy(data);
    let wire = Reply::new(550, text.as_ref()).to_wire();
    assert!(wire.ends_with(b"\r\n"));
    assert_eq!(wire.iter().filter(|&&b| b == b'\n').count(), 1);
    assert_eq!(wire.iter().filter(|&&b| b == b'\r').count(), 1);

    // LIST/NLST name patterns: `pattern\0name`. A literal matches itself, `*` + a name's
    // suffix matches the name.
    if let Some((pattern, name)) = text.split_once('\0') {
        let _ = matches_pattern(pattern, name);
        if !is_pattern(name) {
            assert!(matches_pattern(name, name));
            let cut = name.char_indices().map(|(i, _)| i).nth(1).unwrap_or(0);
            assert!(matches_pattern(&format!("*{}", &name[cut..]), name));
        }
    }

    match proxy::parse(data) {
        Ok(Progress::Done(_, n)) => assert!(n > 0 && n <= data.len()),
        Ok(Progress::NeedMore(n)) => assert!(n > data.len()),
        Err(_) => {}
    }
});
