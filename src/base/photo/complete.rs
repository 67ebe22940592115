//! Is the file whole? Each accepted type's structure is checked against its length while the
//! bytes stream through, in bounded memory and without a second read:
//!
//! - JPEG: an end-of-image marker after the last scan (segments are skipped by their lengths,
//!   so an EXIF thumbnail's own markers do not count; data after the EOI, such as an MPF second
//!   image, is allowed);
//! - PNG: the IEND chunk, whole;
//! - ISO-BMFF (HEIF/HEIC, CR3, MP4, MOV): top-level boxes whose sizes add up to the length;
//! - TIFF-based RAW (TIFF, CR2, NEF, ARW, DNG, ORF, RW2): every IFD reached from the header (the
//!   chain, SubIFDs, EXIF) and every strip, tile and JPEG offset plus length inside the file;
//! - RAF: the header's JPEG and CFA offsets plus lengths inside the file;
//! - XMP: well-formed XML.
//!
//! A structure this checker cannot follow (a malformed segment, an IFD it can no longer reach)
//! does not make a file incomplete: only proof that bytes are missing does.

use std::collections::BTreeMap;

use super::{Incomplete, InspectLimits};
use crate::base::sniff::FileKind;

/// The XMP sidecars checked for well-formedness at most (larger ones pass unchecked).
const MAX_XMP: usize = 4 << 20;
/// IFDs followed at most in a TIFF file (a loop of IFD offsets ends here).
const MAX_IFDS: usize = 64;
/// Entries per IFD read at most.
const MAX_IFD_ENTRIES: usize = 1024;
/// Strip/tile offsets read per array at most.
const MAX_ARRAY: usize = 65_536;

pub struct Checker {
    inner: Inner,
}

enum Inner {
    Jpeg(Jpeg),
    Png(Png),
    Bmff(Bmff),
    Tiff(Box<Tiff>),
    Raf(Raf),
    Xmp(Xmp),
}

impl Checker {
    pub fn new(kind: FileKind, limits: InspectLimits) -> Self {
        let inner = match kind {
            FileKind::Jpeg => Inner::Jpeg(Jpeg::default()),
            FileKind::Png => Inner::Png(Png::default()),
            // A file cut exactly between two boxes still lacks the box it needs.
            FileKind::Heif => Inner::Bmff(Bmff::new(&[*b"meta", *b"mdat"])),
            FileKind::Cr3 | FileKind::Mp4 | FileKind::Mov => {
                Inner::Bmff(Bmff::new(&[*b"moov", *b"mdat"]))
            }
            FileKind::Tiff
            | FileKind::Cr2
            | FileKind::Nef
            | FileKind::Arw
            | FileKind::Dng
            | FileKind::Orf
            | FileKind::Rw2 => Inner::Tiff(Box::new(Tiff::new(limits.max_meta_bytes))),
            FileKind::Raf => Inner::Raf(Raf::default()),
            FileKind::Xmp => Inner::Xmp(Xmp::default()),
        };
        Checker { inner }
    }

    /// The next chunk of the file, in order.
    pub fn feed(&mut self, chunk: &[u8]) {
        match &mut self.inner {
            Inner::Jpeg(j) => j.feed(chunk),
            Inner::Png(p) => p.feed(chunk),
            Inner::Bmff(b) => b.feed(chunk),
            Inner::Tiff(t) => t.feed(chunk),
            Inner::Raf(r) => r.feed(chunk),
            Inner::Xmp(x) => x.feed(chunk),
        }
    }

    /// The file ended after `total_len` bytes.
    pub fn finish(self, total_len: u64) -> Result<(), Incomplete> {
        let missing = match self.inner {
            Inner::Jpeg(j) => j.finish(),
            Inner::Png(p) => p.finish(),
            Inner::Bmff(b) => b.finish(total_len),
            Inner::Tiff(t) => t.finish(total_len),
            Inner::Raf(r) => r.finish(total_len),
            Inner::Xmp(x) => x.finish(),
        };
        match missing {
            None => Ok(()),
            Some(reason) => Err(Incomplete { reason }),
        }
    }
}

// --- JPEG -------------------------------------------------------------------------------------

#[derive(Default)]
struct Jpeg {
    state: JState,
    /// Bytes of a segment still to skip.
    skip: u64,
    /// The two length bytes of a segment being read.
    len_hi: Option<u8>,
    seen_scan: bool,
    done: bool,
    /// The structure is not one this checker follows: say nothing.
    lost: bool,
}

#[derive(Default, Clone, Copy, PartialEq)]
enum JState {
    /// Expecting 0xFF of SOI.
    #[default]
    Start,
    /// Expecting D8.
    Soi,
    /// Expecting 0xFF before a marker.
    Marker,
    /// Had 0xFF, expecting the marker code (more 0xFF are fill).
    Code,
    /// Reading a segment's two length bytes; `true` when the segment is SOS.
    Length(bool),
    /// Skipping a segment's body; `true` when entropy-coded data follows (SOS).
    Body(bool),
    /// Entropy-coded data.
    Scan,
    /// Entropy-coded data, just after an 0xFF.
    ScanFf,
}

impl Jpeg {
    fn feed(&mut self, chunk: &[u8]) {
        let mut i = 0;
        while i < chunk.len() && !self.done && !self.lost {
            let b = chunk[i];
            match self.state {
                JState::Start => {
                    self.state = if b == 0xFF { JState::Soi } else { self.lose() };
                }
                JState::Soi => {
                    self.state = if b == 0xD8 {
                        JState::Marker
                    } else {
                        self.lose()
                    };
                }
                JState::Marker => {
                    self.state = if b == 0xFF { JState::Code } else { self.lose() };
                }
                JState::Code => match b {
                    0xFF => {}
                    0xD9 => {
                        if self.seen_scan {
                            self.done = true;
                        } else {
                            self.lose();
                        }
                    }
                    // Markers without a length: TEM, RSTn, a second SOI.
                    0x01 | 0xD0..=0xD8 => self.state = JState::Marker,
                    0x00 => self.state = self.lose(),
                    code => {
                        self.len_hi = None;
                        self.state = JState::Length(code == 0xDA);
                    }
                },
                JState::Length(sos) => match self.len_hi {
                    None => self.len_hi = Some(b),
                    Some(hi) => {
                        let len = u16::from_be_bytes([hi, b]);
                        if len < 2 {
                            self.state = self.lose();
                        } else {
                            self.skip = u64::from(len) - 2;
                            self.state = if self.skip == 0 {
                                if sos { JState::Scan } else { JState::Marker }
                            } else {
                                JState::Body(sos)
                            };
                            if sos {
                                self.seen_scan = true;
                            }
                        }
                    }
                },
                JState::Body(sos) => {
                    let n = (chunk.len() - i).min(usize::try_from(self.skip).unwrap_or(usize::MAX));
                    self.skip -= n as u64;
                    i += n;
                    if self.skip == 0 {
                        self.state = if sos { JState::Scan } else { JState::Marker };
                    }
                    continue;
                }
                JState::Scan => {
                    // Fast path: look for the next 0xFF in the entropy-coded data.
                    match chunk[i..].iter().position(|&x| x == 0xFF) {
                        Some(p) => {
                            i += p;
                            self.state = JState::ScanFf;
                        }
                        None => {
                            i = chunk.len();
                            continue;
                        }
                    }
                }
                JState::ScanFf => match b {
                    // Stuffed 0xFF, restart markers and fill stay inside the scan.
                    0x00 | 0xD0..=0xD7 => self.state = JState::Scan,
                    0xFF => {}
                    0xD9 => self.done = true,
                    code => {
                        // Another segment (progressive JPEGs: DHT, SOS...).
                        self.len_hi = None;
                        self.state = JState::Length(code == 0xDA);
                    }
                },
            }
            i += 1;
        }
    }

    fn lose(&mut self) -> JState {
        self.lost = true;
        self.state
    }

    fn finish(self) -> Option<String> {
        if self.done || self.lost {
            return None;
        }
        Some(if self.seen_scan {
            "the JPEG ends inside its image data, before its end-of-image marker".into()
        } else {
            "the JPEG ends before its image data".into()
        })
    }
}

// --- chains of headers (PNG chunks, ISO-BMFF boxes) -----------------------------------------

/// What to do after a header: read the one at `start` next (its first `need` bytes), read more
/// of this one (`need` bytes in all), or stop following the chain.
enum Step {
    Next { start: u64, need: usize },
    More(usize),
    Stop,
}

/// Collects the fixed-size header at each link of a chain as the bytes stream past; the body
/// between headers is skipped without being kept.
struct Chain {
    pos: u64,
    next: u64,
    need: usize,
    header: Vec<u8>,
    stopped: bool,
}

impl Chain {
    fn new(first: u64, need: usize) -> Chain {
        Chain {
            pos: 0,
            next: first,
            need,
            header: Vec::with_capacity(16),
            stopped: false,
        }
    }

    fn feed(&mut self, chunk: &[u8], mut on_header: impl FnMut(u64, &[u8]) -> Step) {
        let start = self.pos;
        self.pos += chunk.len() as u64;
        while !self.stopped {
            let from = self.next + self.header.len() as u64;
            if from >= self.pos || from < start {
                return;
            }
            let Ok(off) = usize::try_from(from - start) else {
                return;
            };
            let take = (self.need - self.header.len()).min(chunk.len() - off);
            self.header.extend_from_slice(&chunk[off..off + take]);
            if self.header.len() < self.need {
                return;
            }
            match on_header(self.next, &self.header) {
                Step::Next { start, need } => {
                    if start <= self.next {
                        self.stopped = true; // a chain must move forward
                    }
                    self.next = start;
                    self.need = need;
                    self.header.clear();
                }
                Step::More(need) => self.need = need,
                Step::Stop => self.stopped = true,
            }
        }
    }
}

// --- PNG --------------------------------------------------------------------------------------

struct Png {
    chain: Chain,
    /// Where the IEND chunk ends, once its header has been read.
    iend_end: Option<u64>,
}

impl Default for Png {
    fn default() -> Self {
        Png {
            chain: Chain::new(8, 8),
            iend_end: None,
        }
    }
}

impl Png {
    fn feed(&mut self, chunk: &[u8]) {
        let iend_end = &mut self.iend_end;
        self.chain.feed(chunk, |start, h| {
            let len = u64::from(u32::from_be_bytes([h[0], h[1], h[2], h[3]]));
            // length, type, data, CRC
            let end = start + 12 + len;
            if &h[4..8] == b"IEND" {
                *iend_end = Some(end);
                return Step::Stop;
            }
            Step::Next {
                start: end,
                need: 8,
            }
        });
    }

    fn finish(self) -> Option<String> {
        match self.iend_end {
            Some(end) if end <= self.chain.pos => None,
            // Stopped by a chunk that goes backwards: not a structure to judge.
            None if self.chain.stopped => None,
            _ => Some("the PNG ends before its IEND chunk".into()),
        }
    }
}

// --- ISO-BMFF ---------------------------------------------------------------------------------

struct Bmff {
    chain: Chain,
    /// Top-level boxes every file of the kind has, not yet seen.
    missing: Vec<[u8; 4]>,
    /// A box of size 0 runs to the end of the file: whole by definition.
    to_end: bool,
    lost: bool,
}

impl Bmff {
    fn new(required: &[[u8; 4]]) -> Bmff {
        Bmff {
            chain: Chain::new(0, 8),
            missing: required.to_vec(),
            to_end: false,
            lost: false,
        }
    }

    fn feed(&mut self, chunk: &[u8]) {
        let (to_end, lost, missing) = (&mut self.to_end, &mut self.lost, &mut self.missing);
        self.chain.feed(chunk, |start, h| {
            let size = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
            if h.len() == 8 {
                missing.retain(|t| t[..] != h[4..8]);
            }
            match size {
                0 => {
                    *to_end = true;
                    Step::Stop
                }
                1 if h.len() < 16 => Step::More(16),
                1 => {
                    let large =
                        u64::from_be_bytes([h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]]);
                    if large < 16 {
                        *lost = true;
                        return Step::Stop;
                    }
                    match start.checked_add(large) {
                        Some(next) => Step::Next {
                            start: next,
                            need: 8,
                        },
                        None => Step::Stop,
                    }
                }
                2..=7 => {
                    *lost = true;
                    Step::Stop
                }
                n => Step::Next {
                    start: start + u64::from(n),
                    need: 8,
                },
            }
        });
    }

    fn finish(self, total: u64) -> Option<String> {
        if self.lost {
            return None;
        }
        if let Some(t) = self.missing.first() {
            return Some(format!(
                "the file ends before its {} box",
                String::from_utf8_lossy(t)
            ));
        }
        if self.to_end {
            return None;
        }
        let c = &self.chain;
        if total == 0 {
            return Some("the file is empty".into());
        }
        if c.next == total && c.header.is_empty() {
            return None;
        }
        if c.stopped && c.next < total {
            return None;
        }
        Some(if c.next > total {
            format!(
                "the file ends inside a box: {} bytes are missing",
                c.next - total
            )
        } else {
            "the file ends inside a box header".into()
        })
    }
}

// --- RAF --------------------------------------------------------------------------------------

/// Fujifilm RAF: a fixed header whose offsets (big-endian) name the embedded JPEG, the CFA
/// header and the CFA (raw) data.
#[derive(Default)]
struct Raf {
    head: Vec<u8>,
}

const RAF_HEAD: usize = 108;

impl Raf {
    fn feed(&mut self, chunk: &[u8]) {
        let take = (RAF_HEAD - self.head.len()).min(chunk.len());
        self.head.extend_from_slice(&chunk[..take]);
    }

    fn finish(self, total: u64) -> Option<String> {
        if self.head.len() < RAF_HEAD {
            return Some("the RAF file ends inside its header".into());
        }
        let be = |at: usize| {
            u64::from(u32::from_be_bytes([
                self.head[at],
                self.head[at + 1],
                self.head[at + 2],
                self.head[at + 3],
            ]))
        };
        // (offset, length): JPEG at 84, CFA header at 92, CFA at 100.
        let end = [84, 92, 100]
            .iter()
            .map(|&at| be(at) + be(at + 4))
            .max()
            .unwrap_or(0);
        (end > total).then(|| {
            format!(
                "the RAF file ends {} bytes before the end of its image data",
                end - total
            )
        })
    }
}

// --- XMP --------------------------------------------------------------------------------------

#[derive(Default)]
struct Xmp {
    bytes: Vec<u8>,
    too_big: bool,
}

impl Xmp {
    fn feed(&mut self, chunk: &[u8]) {
        if self.bytes.len() + chunk.len() > MAX_XMP {
            self.too_big = true;
            self.bytes = Vec::new();
        }
        if !self.too_big {
            self.bytes.extend_from_slice(chunk);
        }
    }

    fn finish(self) -> Option<String> {
        if self.too_big {
            return None;
        }
        let mut reader = quick_xml::Reader::from_reader(self.bytes.as_slice());
        let mut depth: i64 = 0;
        let mut elements = 0u64;
        let mut buf = Vec::new();
        loop {
            match reader.read_event_into(&mut buf) {
                Ok(quick_xml::events::Event::Start(_)) => {
                    depth += 1;
                    elements += 1;
                }
                Ok(quick_xml::events::Event::Empty(_)) => elements += 1,
                Ok(quick_xml::events::Event::End(_)) => depth -= 1,
                Ok(quick_xml::events::Event::Eof) => break,
                Ok(_) => {}
                Err(e) => return Some(format!("the XMP is not well-formed XML: {e}")),
            }
            buf.clear();
        }
        if depth != 0 || elements == 0 {
            return Some("the XMP ends before its last element is closed".into());
        }
        None
    }
}

// --- TIFF-based RAW ---------------------------------------------------------------------------

/// A region of the file the checker wants to read, and what it holds.
#[derive(Clone, Copy, Debug)]
enum Job {
    /// The 2-byte entry count of an IFD.
    IfdCount,
    /// A whole IFD of `n` entries (count, entries, next offset).
    Ifd(u16),
    /// One of a pair's arrays (strip or tile offsets, or their lengths): `pair`, `which` (0
    /// offsets, 1 lengths), element type.
    Array { pair: usize, which: usize, ty: u16 },
}

struct Want {
    len: usize,
    job: Job,
    /// Where the stream was when this region became known (see `Tiff::parent_end`).
    known_at: u64,
    /// The bytes gathered so far (empty while the region lies in `head`).
    buf: Vec<u8>,
}

/// Offsets and lengths of one IFD's strips, tiles or JPEG: the file must reach each end.
#[derive(Default)]
struct Pair {
    values: [Option<Vec<u64>>; 2],
}

struct Tiff {
    pos: u64,
    head: Vec<u8>,
    head_max: usize,
    little: bool,
    started: bool,
    wants: BTreeMap<u64, Want>,
    pairs: Vec<Pair>,
    ifds: usize,
    /// The end of the furthest structure known so far.
    extent: u64,
    /// Where the structure being read ends: what it points to before this was only still
    /// readable if it is in the head, whatever the chunking (the verdict must not depend on
    /// how the stream was cut).
    parent_end: u64,
}

fn type_size(ty: u16) -> u64 {
    match ty {
        1 | 2 | 6 | 7 => 1,
        3 | 8 => 2,
        4 | 9 | 11 | 13 => 4,
        5 | 10 | 12 => 8,
        _ => 0,
    }
}

impl Tiff {
    fn new(head_max: usize) -> Tiff {
        Tiff {
            pos: 0,
            head: Vec::new(),
            head_max: head_max.max(16),
            little: true,
            started: false,
            wants: BTreeMap::new(),
            pairs: Vec::new(),
            ifds: 0,
            extent: 0,
            parent_end: 8,
        }
    }

    fn u16_at(&self, b: &[u8], at: usize) -> u16 {
        let v = [b[at], b[at + 1]];
        if self.little {
            u16::from_le_bytes(v)
        } else {
            u16::from_be_bytes(v)
        }
    }

    fn u32_at(&self, b: &[u8], at: usize) -> u32 {
        let v = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        if self.little {
            u32::from_le_bytes(v)
        } else {
            u32::from_be_bytes(v)
        }
    }

    fn feed(&mut self, chunk: &[u8]) {
        let start = self.pos;
        self.pos += chunk.len() as u64;
        if self.head.len() < self.head_max {
            let take = (self.head_max - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        if !self.started && self.head.len() >= 8 {
            self.started = true;
            self.little = self.head[0] == b'I';
            let first = u64::from(self.u32_at(&self.head.clone(), 4));
            self.ifd_at(first, start, chunk);
        }
        // Gather the bytes of wanted regions that end beyond the head's reach as they pass.
        let head_max = self.head_max as u64;
        for (&off, w) in self.wants.range_mut(..self.pos) {
            if off + w.len as u64 <= head_max {
                continue;
            }
            let from = off + w.buf.len() as u64;
            if from < start || from >= self.pos {
                continue;
            }
            let a = (from - start) as usize;
            let b = ((off + w.len as u64).min(self.pos) - start) as usize;
            w.buf.extend_from_slice(&chunk[a..b]);
        }
        self.resolve(start, chunk);
    }

    /// Asks for `len` bytes at `off`, of which `known` (its first bytes) are already read.
    /// Bytes that already went by are only still here when they lie in the head (or in this
    /// very chunk); otherwise the region cannot be checked.
    #[allow(clippy::too_many_arguments)]
    fn want(&mut self, off: u64, len: usize, job: Job, start: u64, chunk: &[u8], known: &[u8]) {
        if self.wants.len() > 4 * MAX_IFDS || self.wants.contains_key(&off) {
            return;
        }
        let end = off.saturating_add(len as u64);
        let mut buf = Vec::new();
        if end > self.head_max as u64 {
            // Not all of it will be in the head: gather it as it passes.
            buf.extend_from_slice(&known[..known.len().min(len)]);
            let head_len = self.head.len() as u64;
            if buf.is_empty() && off < head_len {
                buf.extend_from_slice(&self.head[off as usize..]);
            }
            let from = off + buf.len() as u64;
            if from < self.parent_end {
                return; // gone by before it was known, not in the head: cannot be checked
            }
            if from < self.pos {
                if from < start {
                    return;
                }
                let a = (from - start) as usize;
                let b = (end.min(self.pos) - start) as usize;
                buf.extend_from_slice(&chunk[a..b]);
            }
        }
        let known_at = self.parent_end;
        self.wants.insert(
            off,
            Want {
                len,
                job,
                known_at,
                buf,
            },
        );
    }

    fn resolve(&mut self, start: u64, chunk: &[u8]) {
        loop {
            let head_len = self.head.len() as u64;
            let head_max = self.head_max as u64;
            let ready = self.wants.iter().find_map(|(&off, w)| {
                let end = off + w.len as u64;
                let in_head = end <= head_max && end <= head_len;
                (in_head || (end > head_max && w.buf.len() == w.len)).then_some(off)
            });
            let Some(off) = ready else { return };
            let Some(w) = self.wants.remove(&off) else {
                return;
            };
            let bytes = if off + w.len as u64 > self.head_max as u64 {
                w.buf
            } else {
                self.head[off as usize..off as usize + w.len].to_vec()
            };
            // What this region points to is known once both it and its pointer were read.
            self.parent_end = w.known_at.max(off + w.len as u64);
            self.process(off, w.job, &bytes, start, chunk);
        }
    }

    fn process(&mut self, off: u64, job: Job, b: &[u8], start: u64, chunk: &[u8]) {
        match job {
            Job::IfdCount => {
                let n = self.u16_at(b, 0);
                if n == 0 || usize::from(n) > MAX_IFD_ENTRIES || self.ifds >= MAX_IFDS {
                    return;
                }
                self.ifds += 1;
                let len = 2 + 12 * usize::from(n) + 4;
                self.extent = self.extent.max(off + len as u64);
                self.want(off, len, Job::Ifd(n), start, chunk, b);
            }
            Job::Ifd(n) => {
                let end = off + b.len() as u64;
                self.extent = self.extent.max(end);
                // (offsets tag, lengths tag, index in `pairs` once seen)
                let mut pair_of: [(u16, u16, usize); 3] = [
                    (273, 279, usize::MAX),
                    (324, 325, usize::MAX),
                    (513, 514, usize::MAX),
                ];
                for i in 0..usize::from(n) {
                    let e = 2 + 12 * i;
                    let tag = self.u16_at(b, e);
                    let ty = self.u16_at(b, e + 2);
                    let count = u64::from(self.u32_at(b, e + 4));
                    let size = type_size(ty).saturating_mul(count);
                    let value_off = u64::from(self.u32_at(b, e + 8));
                    if size > 4 {
                        self.extent = self.extent.max(value_off.saturating_add(size));
                    }
                    let inline: Option<Vec<u64>> = (size <= 4 && type_size(ty) > 0).then(|| {
                        (0..count as usize)
                            .map(|k| match ty {
                                3 | 8 => u64::from(self.u16_at(b, e + 8 + 2 * k)),
                                1 | 6 | 7 => u64::from(b[e + 8 + k]),
                                _ => u64::from(self.u32_at(b, e + 8)),
                            })
                            .collect()
                    });
                    // Strips, tiles, JPEG: offsets and lengths in pairs.
                    for p in pair_of.iter_mut() {
                        let which = if tag == p.0 {
                            0
                        } else if tag == p.1 {
                            1
                        } else {
                            continue;
                        };
                        if p.2 == usize::MAX {
                            p.2 = self.pairs.len();
                            self.pairs.push(Pair::default());
                        }
                        let pair = p.2;
                        match &inline {
                            Some(v) => self.pairs[pair].values[which] = Some(v.clone()),
                            None if count as usize <= MAX_ARRAY && type_size(ty) > 0 => {
                                self.want(
                                    value_off,
                                    size as usize,
                                    Job::Array { pair, which, ty },
                                    start,
                                    chunk,
                                    &[],
                                );
                            }
                            None => {}
                        }
                        self.settle(pair);
                    }
                    // SubIFDs: more images (the raw data of NEF, DNG...).
                    if tag == 330 && matches!(ty, 4 | 13) {
                        match &inline {
                            Some(v) => {
                                for &o in v {
                                    self.ifd_at(o, start, chunk);
                                }
                            }
                            None if count <= 64 => self.want(
                                value_off,
                                size as usize,
                                Job::Array {
                                    pair: usize::MAX,
                                    which: 0,
                                    ty,
                                },
                                start,
                                chunk,
                                &[],
                            ),
                            None => {}
                        }
                    }
                }
                let next = u64::from(self.u32_at(b, 2 + 12 * usize::from(n)));
                if next != 0 {
                    self.ifd_at(next, start, chunk);
                }
            }
            Job::Array { pair, which, ty } => {
                let k = type_size(ty) as usize;
                let v: Vec<u64> = (0..b.len() / k.max(1))
                    .map(|i| match k {
                        2 => u64::from(self.u16_at(b, i * 2)),
                        1 => u64::from(b[i]),
                        _ => u64::from(self.u32_at(b, i * 4)),
                    })
                    .collect();
                if pair == usize::MAX {
                    for o in v {
                        self.ifd_at(o, start, chunk);
                    }
                } else if let Some(p) = self.pairs.get_mut(pair) {
                    p.values[which] = Some(v);
                    self.settle(pair);
                }
            }
        }
    }

    fn ifd_at(&mut self, off: u64, start: u64, chunk: &[u8]) {
        if off < 8 {
            return;
        }
        self.extent = self.extent.max(off.saturating_add(2));
        self.want(off, 2, Job::IfdCount, start, chunk, &[]);
    }

    /// Once both arrays of a pair are known, the file must reach each offset plus length.
    fn settle(&mut self, pair: usize) {
        if let Some(Pair {
            values: [Some(offs), Some(lens)],
        }) = self.pairs.get(pair)
        {
            let end = offs
                .iter()
                .zip(lens)
                .map(|(o, l)| o.saturating_add(*l))
                .max()
                .unwrap_or(0);
            self.extent = self.extent.max(end);
        }
    }

    fn finish(self, total: u64) -> Option<String> {
        if !self.started {
            return Some("the file ends inside its TIFF header".into());
        }
        if self.extent > total {
            return Some(format!(
                "the file ends {} bytes before the end of its image data",
                self.extent - total
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(kind: FileKind, bytes: &[u8], chunk: usize) -> Result<(), Incomplete> {
        let mut c = Checker::new(kind, InspectLimits::default());
        for part in bytes.chunks(chunk.max(1)) {
            c.feed(part);
        }
        c.finish(bytes.len() as u64)
    }

    /// Every cut before `whole_from` is incomplete, every length from it on is whole, for
    /// several chunkings of the stream.
    fn cuts(kind: FileKind, file: &[u8], whole_from: usize) {
        for chunk in [1, 3, 7, 64, 4096, usize::MAX] {
            for len in 0..=file.len() {
                let r = check(kind, &file[..len], chunk);
                if len >= whole_from {
                    assert!(r.is_ok(), "{kind:?} len {len} chunk {chunk}: {r:?}");
                } else {
                    assert!(r.is_err(), "{kind:?} cut at {len} (chunk {chunk}) passed");
                }
            }
        }
    }

    fn segment(marker: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![0xFF, marker];
        v.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
        v.extend_from_slice(body);
        v
    }

    pub(crate) fn jpeg() -> (Vec<u8>, usize) {
        let mut f = vec![0xFF, 0xD8];
        f.extend(segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
        // An EXIF block holding a thumbnail with its own SOI ... EOI.
        f.extend(segment(0xE1, b"Exif\0\0\xFF\xD8\xFF\xDB\0\x03\x00\xFF\xD9"));
        f.extend(segment(0xDB, &[0u8; 65]));
        f.extend(segment(0xC0, &[8, 0, 16, 0, 16, 1, 1, 0x11, 0]));
        f.extend(segment(0xC4, &[0u8; 20]));
        f.extend(segment(0xDA, &[1, 1, 0, 0, 63, 0]));
        f.extend([
            0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, 0xFF, 0xFF, 0x00, 0x78,
        ]);
        // A second scan (progressive).
        f.extend(segment(0xDA, &[1, 1, 0, 0, 63, 0]));
        f.extend([0x9A, 0xBC]);
        f.extend([0xFF, 0xD9]);
        let whole = f.len();
        // MPF: a second image after the first one's end.
        f.extend([0xFF, 0xD8, 0xFF, 0xE0, 0x00]);
        (f, whole)
    }

    #[test]
    fn jpeg_needs_its_end_marker_after_the_last_scan() {
        let (f, whole) = jpeg();
        cuts(FileKind::Jpeg, &f, whole);
    }

    #[test]
    fn png_needs_iend() {
        let mut f = b"\x89PNG\r\n\x1a\n".to_vec();
        for (ty, data) in [
            (&b"IHDR"[..], &[0u8; 13][..]),
            (b"IDAT", &[1u8; 40]),
            (b"IEND", &[]),
        ] {
            f.extend((data.len() as u32).to_be_bytes());
            f.extend(ty);
            f.extend(data);
            f.extend([0u8; 4]);
        }
        let whole = f.len();
        f.extend(b"trailing");
        cuts(FileKind::Png, &f, whole);
    }

    fn bmff_box(ty: &[u8], body: &[u8]) -> Vec<u8> {
        let mut v = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend(ty);
        v.extend(body);
        v
    }

    #[test]
    fn bmff_boxes_must_add_up_to_the_length() {
        let mut f = bmff_box(b"ftyp", b"heic\0\0\0\0mif1heic");
        f.extend(bmff_box(b"meta", &[0u8; 30]));
        // A 64-bit size box.
        let mut large = 1u32.to_be_bytes().to_vec();
        large.extend(b"mdat");
        large.extend((16u64 + 50).to_be_bytes());
        large.extend([7u8; 50]);
        f.extend(large);
        let whole = f.len();
        cuts(FileKind::Heif, &f, whole);
        // Bytes after the last box are a box header cut short: incomplete.
        let mut longer = f.clone();
        longer.extend([0, 0, 0]);
        assert!(check(FileKind::Heif, &longer, 5).is_err());
        // A last box of size 0 runs to the end.
        let mut open = bmff_box(b"ftyp", b"crx \0\0\0\0");
        open.extend(bmff_box(b"moov", &[0u8; 20]));
        open.extend([0, 0, 0, 0]);
        open.extend(b"mdat");
        open.extend([1u8; 100]);
        assert!(check(FileKind::Cr3, &open, 9).is_ok());
    }

    /// A little TIFF: IFD0 with one strip (inline offset and length), a SubIFD with two strips
    /// (arrays out of line), and IFD1 with a JPEG thumbnail.
    fn tiff(little: bool) -> (Vec<u8>, usize) {
        let w16 = |v: u16| {
            if little {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            }
        };
        let w32 = |v: u32| {
            if little {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            }
        };
        let entry = |tag: u16, ty: u16, count: u32, value: u32| {
            let mut e = Vec::new();
            e.extend(w16(tag));
            e.extend(w16(ty));
            e.extend(w32(count));
            if ty == 3 && count == 1 {
                e.extend(w16(value as u16));
                e.extend([0, 0]);
            } else {
                e.extend(w32(value));
            }
            e
        };
        let mut f = if little {
            b"II*\0".to_vec()
        } else {
            b"MM\0*".to_vec()
        };
        f.extend(w32(8));
        // IFD0 at 8: 4 entries, next = IFD1.
        let ifd0 = 8u32;
        let ifd0_len = 2 + 12 * 4 + 4;
        let sub = ifd0 + ifd0_len;
        let sub_len = 2 + 12 * 2 + 4;
        let arrays = sub + sub_len;
        let ifd1 = arrays + 16;
        let ifd1_len = 2 + 12 * 2 + 4;
        let data = ifd1 + ifd1_len;
        f.extend(w16(4));
        f.extend(entry(256, 3, 1, 16));
        f.extend(entry(273, 4, 1, data));
        f.extend(entry(279, 4, 1, 100));
        f.extend(entry(330, 4, 1, sub));
        f.extend(w32(ifd1));
        // SubIFD: two strips, arrays at `arrays`.
        f.extend(w16(2));
        f.extend(entry(273, 4, 2, arrays));
        f.extend(entry(279, 4, 2, arrays + 8));
        f.extend(w32(0));
        f.extend(w32(data + 100));
        f.extend(w32(data + 300));
        f.extend(w32(200));
        f.extend(w32(500)); // the raw data's last strip ends at data + 800
        // IFD1: the JPEG thumbnail at data + 800.
        f.extend(w16(2));
        f.extend(entry(513, 4, 1, data + 800));
        f.extend(entry(514, 4, 1, 50));
        f.extend(w32(0));
        assert_eq!(f.len(), data as usize);
        f.extend(vec![0x55u8; 850]);
        let whole = f.len();
        (f, whole)
    }

    #[test]
    fn tiff_strips_tiles_and_jpeg_must_lie_inside_the_file() {
        for little in [true, false] {
            let (f, whole) = tiff(little);
            for kind in [FileKind::Nef, FileKind::Dng, FileKind::Cr2] {
                cuts(kind, &f, whole);
            }
        }
    }

    #[test]
    fn tiff_structures_past_the_kept_head_are_followed_as_they_stream_by() {
        let small = InspectLimits {
            max_meta_bytes: 16,
            ..InspectLimits::default()
        };
        for little in [true, false] {
            let (f, whole) = tiff(little);
            for chunk in [1, 5, 64, usize::MAX] {
                for len in [whole - 1, whole - 60, whole - 400, 70, 100] {
                    let mut c = Checker::new(FileKind::Arw, small);
                    for part in f[..len].chunks(chunk) {
                        c.feed(part);
                    }
                    assert!(
                        c.finish(len as u64).is_err(),
                        "cut at {len} passed (chunk {chunk}, little {little})"
                    );
                }
                let mut c = Checker::new(FileKind::Arw, small);
                for part in f.chunks(chunk) {
                    c.feed(part);
                }
                assert!(c.finish(whole as u64).is_ok());
            }
        }
    }

    #[test]
    fn raf_offsets_must_lie_inside_the_file() {
        let mut f = b"FUJIFILMCCD-RAW 0201FF383501".to_vec();
        f.resize(84, 0);
        for (off, len) in [(200u32, 100u32), (300, 50), (350, 400)] {
            f.extend(off.to_be_bytes());
            f.extend(len.to_be_bytes());
        }
        f.resize(750, 9);
        cuts(FileKind::Raf, &f, 750);
    }

    #[test]
    fn xmp_must_be_well_formed() {
        let x = br#"<?xpacket begin=""?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="r"><rdf:Description a="1"/></rdf:RDF></x:xmpmeta><?xpacket end="w"?>"#;
        assert!(check(FileKind::Xmp, x, 10).is_ok());
        let cut = x.len() - 40;
        assert!(check(FileKind::Xmp, &x[..cut], 10).is_err());
    }

    proptest::proptest! {
        #[test]
        fn no_input_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2048), chunk in 1usize..300) {
            for kind in [FileKind::Jpeg, FileKind::Png, FileKind::Heif, FileKind::Nef, FileKind::Raf, FileKind::Xmp] {
                let _ = check(kind, &bytes, chunk);
                // Behind a valid header too, so the parsers get past their first checks.
                let mut with = match kind {
                    FileKind::Jpeg => vec![0xFF, 0xD8],
                    FileKind::Png => b"\x89PNG\r\n\x1a\n".to_vec(),
                    FileKind::Nef => b"II*\0\x08\0\0\0".to_vec(),
                    _ => Vec::new(),
                };
                with.extend(&bytes);
                let _ = check(kind, &with, chunk);
            }
        }
    }
}

#[cfg(test)]
mod fuzz_regressions {
    use super::*;

    fn verdict(data: &[u8], chunk: usize) -> bool {
        let small = InspectLimits {
            max_meta_bytes: 16,
            max_preview_bytes: 1024,
        };
        let mut c = Checker::new(FileKind::Orf, small);
        for part in data.chunks(chunk) {
            c.feed(part);
        }
        c.finish(data.len() as u64).is_ok()
    }

    /// Inputs where chunk-by-byte and whole-file feeds once disagreed.
    #[test]
    fn chunking_never_changes_the_verdict() {
        let data: &[u8] = &[
            0, 132, 0, 69, 0, 0, 0, 41, 3, 0, 1, 0, 0, 0, 1, 0, 185, 127, 0, 0, 0, 0, 0, 16, 0, 0,
            0, 122, 0, 0, 0, 181, 255, 123, 255, 66, 0, 0, 0, 9, 3, 0, 5, 0, 5, 2, 0, 16, 185, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 103, 41, 39, 103, 103, 103, 103, 103, 103, 103, 2, 2, 254, 255,
            255, 15, 2, 2, 2, 2, 6, 2, 2, 2, 2, 0, 0, 0, 127, 59, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 127, 0, 0, 0, 0, 9, 3, 0, 1,
        ];
        let whole = verdict(data, usize::MAX);
        for chunk in 1..data.len() {
            assert_eq!(verdict(data, chunk), whole, "chunk {chunk}");
        }
    }
}
