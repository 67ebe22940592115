//! Fuzz upload type detection: no head or name may panic it, only the first SNIFF_LEN bytes may
//! matter, and the name may refine a TIFF but never create or change a family.
//!
//! Run with `cargo +nightly fuzz run sniff` from the repository root.
#![no_main]

use ftpgate::base::sniff::{FileKind, SNIFF_LEN, detect};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (Option<&str>, &[u8])| {
    let (hint, head) = input;
    let kind = detect(head, hint);
    assert_eq!(detect(&head[..head.len().min(SNIFF_LEN)], hint), kind);

    let bare = detect(head, None);
    assert_eq!(bare.is_some(), kind.is_some());
    if kind != bare {
        assert_eq!(bare, Some(FileKind::Tiff));
        assert!(matches!(
            kind,
            Some(FileKind::Nef | FileKind::Arw | FileKind::Dng | FileKind::Tiff)
        ));
    }
    if let Some(kind) = kind {
        assert!(kind.ext().is_ascii());
        let _ = (kind.mime(), kind.group(), kind.name());
    }
});
