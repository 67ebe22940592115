//! Fuzz the photo inspection (completeness checks, metadata, previews): no input may panic it,
//! and its verdict must not depend on how the stream was cut into chunks.
//!
//! Run with `RUSTC_BOOTSTRAP=1 cargo fuzz run photo_inspect -s none` from the repository root.
#![no_main]

use ftpgate::base::photo::{InspectLimits, Inspector};
use ftpgate::base::sniff::FileKind;
use libfuzzer_sys::fuzz_target;

const KINDS: [FileKind; 15] = FileKind::ALL;

fn inspect(kind: FileKind, limits: InspectLimits, data: &[u8], chunk: usize) -> bool {
    let mut i = Inspector::new(kind, limits);
    for part in data.chunks(chunk.max(1)) {
        i.feed(part);
    }
    i.finish(data.len() as u64).complete.is_ok()
}

fuzz_target!(|input: (u8, u16, bool, &[u8])| {
    let (k, chunk, small, data) = input;
    let kind = KINDS[usize::from(k) % KINDS.len()];
    let limits = if small {
        InspectLimits {
            max_meta_bytes: 16,
            max_preview_bytes: 1024,
        }
    } else {
        InspectLimits::default()
    };
    let whole = inspect(kind, limits, data, usize::MAX);
    assert_eq!(inspect(kind, limits, data, usize::from(chunk)), whole, "{kind:?}");
    assert_eq!(inspect(kind, limits, data, 1), whole, "{kind:?}");
});
