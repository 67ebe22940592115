//! Fuzz the one path parser both doors use: no input may panic it, and every path it accepts
//! must keep the `VPath` invariants and survive a Display → parse round trip.
//!
//! Run with `cargo +nightly fuzz run vpath` from the repository root.
#![no_main]

use ftpgate::base::vpath::{MAX_PATH_BYTES, MAX_SEGMENT_BYTES, PathError, VPath};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parsed = VPath::parse(data);
    check(&parsed);
    // parse is resolution against the root.
    assert_eq!(VPath::root().resolve(data), parsed);

    if let Ok(text) = std::str::from_utf8(data) {
        check(&VPath::from_percent_encoded(text));
    }

    // Resolution: the bytes before the first NUL are the working directory, the rest the input.
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len() / 2);
    let (cwd, rest) = data.split_at(split);
    let input = rest.strip_prefix(b"\0").unwrap_or(rest);
    if let Ok(cwd) = VPath::parse(cwd) {
        let resolved = cwd.resolve(input);
        check(&resolved);
        if input.first() == Some(&b'/') {
            assert_eq!(resolved, VPath::parse(input));
        }
        if let Ok(name) = std::str::from_utf8(input) {
            check(&cwd.join(name));
        }
    }
});

/// Every invariant an accepted path promises.
fn check(result: &Result<VPath, PathError>) {
    let Ok(path) = result else { return };
    for c in path.components() {
        assert!(!c.is_empty(), "empty component in {path:?}");
        assert!(c != "." && c != "..", "dot component in {path:?}");
        assert!(
            !c.contains(['/', '\\', '\0']),
            "separator or NUL in {path:?}"
        );
        assert!(!c.chars().any(char::is_control), "control char in {path:?}");
        assert!(c.len() <= MAX_SEGMENT_BYTES, "long component in {path:?}");
    }
    let shown = path.to_string();
    assert!(shown.len() <= MAX_PATH_BYTES, "long path {path:?}");
    assert_eq!(
        VPath::parse(shown.as_bytes()).as_ref(),
        Ok(path),
        "round trip of {shown:?}"
    );
}
