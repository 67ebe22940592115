//! Metadata and RAW previews read while the bytes stream through.
//! (Being written: see the photo-meta work in progress; until it lands nothing is read.)

use super::{InspectLimits, PhotoMeta, Preview};
use crate::base::sniff::FileKind;

pub struct MetaReader {
    #[allow(dead_code)]
    kind: FileKind,
}

impl MetaReader {
    pub fn new(kind: FileKind, _limits: InspectLimits) -> Self {
        MetaReader { kind }
    }

    pub fn feed(&mut self, _chunk: &[u8]) {}

    /// (metadata, why it could not be read, preview)
    pub fn finish(self, _total_len: u64) -> (Option<PhotoMeta>, Option<String>, Option<Preview>) {
        (None, None, None)
    }
}
