//! Upload type detection from the first bytes of a file (DESIGN §4.2).
//!
//! The extension is not trusted: clients upload under temporary names (`x.JPG.filepart`), and a
//! renamed file must not slip past an event's allowed types. Magic bytes decide the family; the
//! name only refines inside the TIFF family, where NEF, ARW, DNG and plain TIFF share one header
//! and nothing in the first bytes tells them apart.
//!
//! All matchers are written here rather than taken from `infer`: `infer` misses CR3, RAF, ORF and
//! RW2 and reports the TIFF-based RAW formats as TIFF, so most of them would have to be written
//! anyway, and one table of small matchers is easier to audit than two layers.

/// Bytes the caller buffers before calling [`detect`] (fewer only if the file is shorter).
/// Every matcher here needs at most this much; `detect` ignores anything past it so the answer
/// never depends on how much the caller happened to buffer.
pub const SNIFF_LEN: usize = 64;

/// A detected file type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileKind {
    Jpeg,
    Png,
    /// HEIF/HEIC (and AVIF, which is the same container).
    Heif,
    /// Plain TIFF, and TIFF-based RAW formats without a kind of their own (PEF, SRW, NRW...).
    Tiff,
    Cr2,
    Cr3,
    Nef,
    Arw,
    Dng,
    Orf,
    Rw2,
    Raf,
    /// XMP sidecar (metadata written next to a RAW file by Lightroom, Photo Mechanic...).
    Xmp,
    Mp4,
    Mov,
}

/// The coarse groups an event's allowed-types setting is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TypeGroup {
    Jpeg,
    Png,
    Heif,
    Raw,
    Xmp,
    Video,
}

impl FileKind {
    /// Every kind (tests and the fuzz targets walk them all).
    pub const ALL: [FileKind; 15] = [
        FileKind::Jpeg,
        FileKind::Png,
        FileKind::Heif,
        FileKind::Tiff,
        FileKind::Cr2,
        FileKind::Cr3,
        FileKind::Nef,
        FileKind::Arw,
        FileKind::Dng,
        FileKind::Orf,
        FileKind::Rw2,
        FileKind::Raf,
        FileKind::Xmp,
        FileKind::Mp4,
        FileKind::Mov,
    ];

    /// MIME type, for object metadata and HTTP responses.
    pub fn mime(self) -> &'static str {
        match self {
            FileKind::Jpeg => "image/jpeg",
            FileKind::Png => "image/png",
            FileKind::Heif => "image/heic",
            FileKind::Tiff => "image/tiff",
            FileKind::Cr2 => "image/x-canon-cr2",
            FileKind::Cr3 => "image/x-canon-cr3",
            FileKind::Nef => "image/x-nikon-nef",
            FileKind::Arw => "image/x-sony-arw",
            FileKind::Dng => "image/x-adobe-dng",
            FileKind::Orf => "image/x-olympus-orf",
            FileKind::Rw2 => "image/x-panasonic-rw2",
            FileKind::Raf => "image/x-fuji-raf",
            FileKind::Xmp => "application/rdf+xml",
            FileKind::Mp4 => "video/mp4",
            FileKind::Mov => "video/quicktime",
        }
    }

    /// Extension for object keys: lowercase ASCII, from the detected type, never from the name.
    pub fn ext(self) -> &'static str {
        match self {
            FileKind::Jpeg => "jpg",
            FileKind::Png => "png",
            FileKind::Heif => "heic",
            FileKind::Tiff => "tif",
            FileKind::Cr2 => "cr2",
            FileKind::Cr3 => "cr3",
            FileKind::Nef => "nef",
            FileKind::Arw => "arw",
            FileKind::Dng => "dng",
            FileKind::Orf => "orf",
            FileKind::Rw2 => "rw2",
            FileKind::Raf => "raf",
            FileKind::Xmp => "xmp",
            FileKind::Mp4 => "mp4",
            FileKind::Mov => "mov",
        }
    }

    /// Allowed-types group. TIFF counts as RAW: the TIFF-based RAW formats without a kind of
    /// their own are detected as `Tiff`, and they must not be refused at an event that takes RAW.
    pub fn group(self) -> TypeGroup {
        match self {
            FileKind::Jpeg => TypeGroup::Jpeg,
            FileKind::Png => TypeGroup::Png,
            FileKind::Heif => TypeGroup::Heif,
            FileKind::Tiff
            | FileKind::Cr2
            | FileKind::Cr3
            | FileKind::Nef
            | FileKind::Arw
            | FileKind::Dng
            | FileKind::Orf
            | FileKind::Rw2
            | FileKind::Raf => TypeGroup::Raw,
            FileKind::Xmp => TypeGroup::Xmp,
            FileKind::Mp4 | FileKind::Mov => TypeGroup::Video,
        }
    }

    /// Human name for error messages ("Canon CR3 files are not accepted for this event").
    pub fn name(self) -> &'static str {
        match self {
            FileKind::Jpeg => "JPEG",
            FileKind::Png => "PNG",
            FileKind::Heif => "HEIF/HEIC",
            FileKind::Tiff => "TIFF",
            FileKind::Cr2 => "Canon CR2",
            FileKind::Cr3 => "Canon CR3",
            FileKind::Nef => "Nikon NEF",
            FileKind::Arw => "Sony ARW",
            FileKind::Dng => "Adobe DNG",
            FileKind::Orf => "Olympus ORF",
            FileKind::Rw2 => "Panasonic RW2",
            FileKind::Raf => "Fujifilm RAF",
            FileKind::Xmp => "XMP sidecar",
            FileKind::Mp4 => "MP4 video",
            FileKind::Mov => "QuickTime video",
        }
    }
}

/// Detect an upload's type. `head` is the first `min(SNIFF_LEN, file length)` bytes (bytes past
/// `SNIFF_LEN` are ignored). `name_hint` is the name the client used, possibly a temporary one
/// such as `IMG_1.CR2.filepart`: one trailing `.filepart`, `.part` or `.tmp` (any case) is
/// stripped before its extension is looked at, and the extension only refines a TIFF header into
/// NEF, ARW or DNG. Returns `None` for anything not recognised, including truncated headers.
pub fn detect(head: &[u8], name_hint: Option<&str>) -> Option<FileKind> {
    let head = head.get(..SNIFF_LEN).unwrap_or(head);
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        // SOI marker followed by the first segment's marker byte.
        return Some(FileKind::Jpeg);
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some(FileKind::Png);
    }
    if head.starts_with(b"FUJIFILMCCD-RAW") {
        return Some(FileKind::Raf);
    }
    if let Some(kind) = tiff_like(head, name_hint) {
        return Some(kind);
    }
    if let Some(kind) = iso_bmff(head) {
        return Some(kind);
    }
    if is_xmp(head) {
        return Some(FileKind::Xmp);
    }
    None
}

/// TIFF and the TIFF-derived RAW headers: a 4-byte byte-order mark and magic number, then a
/// 4-byte offset of the first IFD, which can never point inside the 8-byte header itself.
fn tiff_like(head: &[u8], name_hint: Option<&str>) -> Option<FileKind> {
    let (magic, offset) = (head.get(..4)?, head.get(4..8)?);
    let offset: [u8; 4] = offset.try_into().ok()?;
    let ifd = match &magic[..2] {
        b"II" => u32::from_le_bytes(offset),
        b"MM" => u32::from_be_bytes(offset),
        _ => return None,
    };
    if ifd < 8 {
        return None;
    }
    match magic {
        // Olympus replaces the TIFF magic 42 with "RO" (or "RS"; "OR" when big-endian).
        b"IIRO" | b"IIRS" | b"MMOR" => Some(FileKind::Orf),
        // Panasonic replaces 42 with 0x55 ('U').
        b"IIU\0" => Some(FileKind::Rw2),
        b"II*\0" | b"MM\0*" => {
            // Canon CR2: "CR", major version 2 right after the TIFF header.
            if head.get(8..11) == Some(b"CR\x02") {
                return Some(FileKind::Cr2);
            }
            let ext = name_hint.and_then(extension);
            Some(match ext {
                Some(e) if e.eq_ignore_ascii_case(b"nef") => FileKind::Nef,
                Some(e) if e.eq_ignore_ascii_case(b"arw") => FileKind::Arw,
                Some(e) if e.eq_ignore_ascii_case(b"dng") => FileKind::Dng,
                _ => FileKind::Tiff,
            })
        }
        _ => None,
    }
}

/// The extension of `name` after dropping any directory part and one temporary suffix.
fn extension(name: &str) -> Option<&[u8]> {
    let name = name.as_bytes();
    let base = match name.iter().rposition(|&b| b == b'/' || b == b'\\') {
        Some(i) => name.get(i + 1..)?,
        None => name,
    };
    let base = strip_temp_suffix(base);
    let dot = base.iter().rposition(|&b| b == b'.')?;
    base.get(dot + 1..)
}

/// Remove one trailing `.filepart` (WinSCP), `.part` or `.tmp`, ignoring ASCII case.
fn strip_temp_suffix(base: &[u8]) -> &[u8] {
    for suffix in [&b".filepart"[..], b".part", b".tmp"] {
        if let Some(cut) = base.len().checked_sub(suffix.len())
            && let (Some(stem), Some(tail)) = (base.get(..cut), base.get(cut..))
            && tail.eq_ignore_ascii_case(suffix)
        {
            return stem;
        }
    }
    base
}

/// Largest `ftyp` box taken seriously; real ones list a handful of brands (under 64 bytes).
const MAX_FTYP_SIZE: u32 = 4096;

const CR3_BRANDS: &[&[u8; 4]] = &[b"crx "];
const HEIF_BRANDS: &[&[u8; 4]] = &[
    b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif",
];
const MOV_BRANDS: &[&[u8; 4]] = &[b"qt  "];
const MP4_BRANDS: &[&[u8; 4]] = &[
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ",
];
/// Audio-only major brands. Their compatible brands include `mp42`/`isom`, so without this an
/// iTunes audio file would pass as video.
const AUDIO_BRANDS: &[&[u8; 4]] = &[b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "];

/// ISO base media file (HEIF, CR3, MP4, MOV): an `ftyp` box first, holding its size, the major
/// brand, a minor version and a list of compatible brands.
fn iso_bmff(head: &[u8]) -> Option<FileKind> {
    let size: [u8; 4] = head.get(..4)?.try_into().ok()?;
    let size = u32::from_be_bytes(size);
    if head.get(4..8)? != b"ftyp" || !(16..=MAX_FTYP_SIZE).contains(&size) {
        return None;
    }
    let major = head.get(8..12)?;
    // The minor version (12..16) must be present for the header to be whole.
    head.get(12..16)?;
    if AUDIO_BRANDS.iter().any(|b| b[..] == *major) {
        return None;
    }
    if let Some(kind) = brand_kind(major) {
        return Some(kind);
    }
    let end = usize::try_from(size).ok()?.min(head.len());
    let compatible = head.get(16..end).unwrap_or_default();
    // Within the compatible brands the most specific wins, whatever the listed order: a CR3
    // also claims `isom`, a HEIF sequence may claim `iso8`/`mp41`.
    let has = |set: &[&[u8; 4]]| {
        compatible
            .chunks_exact(4)
            .any(|brand| set.iter().any(|b| b[..] == *brand))
    };
    [
        (CR3_BRANDS, FileKind::Cr3),
        (HEIF_BRANDS, FileKind::Heif),
        (MOV_BRANDS, FileKind::Mov),
        (MP4_BRANDS, FileKind::Mp4),
    ]
    .into_iter()
    .find_map(|(set, kind)| has(set).then_some(kind))
}

/// The kind one brand stands for, if any.
fn brand_kind(brand: &[u8]) -> Option<FileKind> {
    let is = |set: &[&[u8; 4]]| set.iter().any(|b| b[..] == *brand);
    if is(CR3_BRANDS) {
        Some(FileKind::Cr3)
    } else if is(HEIF_BRANDS) {
        Some(FileKind::Heif)
    } else if is(MOV_BRANDS) {
        Some(FileKind::Mov)
    } else if is(MP4_BRANDS) {
        Some(FileKind::Mp4)
    } else {
        None
    }
}

/// XMP sidecar: text starting, after an optional UTF-8 BOM and whitespace, with `<?xpacket` or
/// `<x:xmpmeta`. An XML declaration may come first (darktable and exiv2 write one); it must end
/// within the sniffed bytes.
fn is_xmp(head: &[u8]) -> bool {
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let mut text = text.trim_ascii_start();
    if let Some(decl) = text.strip_prefix(b"<?xml")
        && decl.first().is_some_and(u8::is_ascii_whitespace)
    {
        let Some(end) = decl.windows(2).position(|w| w == b"?>") else {
            return false;
        };
        text = decl.get(end + 2..).unwrap_or_default().trim_ascii_start();
    }
    text.starts_with(b"<?xpacket") || text.starts_with(b"<x:xmpmeta")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [FileKind; 15] = FileKind::ALL;

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    /// A little-endian TIFF header with IFD0 at offset 8 and the start of IFD0.
    fn tiff_le() -> Vec<u8> {
        cat(&[
            b"II",            // byte order: little-endian (Intel)
            &[0x2A, 0x00],    // magic 42
            &[0x08, 0, 0, 0], // IFD0 at offset 8
            &[0x12, 0x00],    // IFD0: 18 entries
            &[0xFE, 0x00],    // entry 1: tag 0x00FE NewSubfileType
            &[0x04, 0x00],    //   type LONG
            &[1, 0, 0, 0],    //   count 1
            &[1, 0, 0, 0],    //   value 1 (reduced-resolution preview)
            &[0x00, 0x01],    // entry 2: tag 0x0100 ImageWidth
            &[0x04, 0x00],    //   type LONG
            &[1, 0, 0, 0],    //   count 1
            &[0xA0, 0, 0, 0], //   value 160
        ])
    }

    /// A big-endian TIFF header (older Nikon NEFs, many DNGs from other tools).
    fn tiff_be() -> Vec<u8> {
        cat(&[
            b"MM",            // byte order: big-endian (Motorola)
            &[0x00, 0x2A],    // magic 42
            &[0, 0, 0, 0x08], // IFD0 at offset 8
            &[0x00, 0x1C],    // IFD0: 28 entries
            &[0x00, 0xFE],    // entry 1: tag 0x00FE NewSubfileType
            &[0x00, 0x04],    //   type LONG
            &[0, 0, 0, 1],    //   count 1
            &[0, 0, 0, 1],    //   value 1 (reduced-resolution preview)
        ])
    }

    #[test]
    fn jpeg_exif() {
        let head = cat(&[
            &[0xFF, 0xD8],    // SOI
            &[0xFF, 0xE1],    // APP1 marker
            &[0x2F, 0xFE],    // APP1 length
            b"Exif\0\0",      // Exif identifier
            b"II*\0",         // embedded TIFF header: little-endian, 42
            &[0x08, 0, 0, 0], // IFD0 offset
        ]);
        assert_eq!(detect(&head, Some("IMG_0001.JPG")), Some(FileKind::Jpeg));
        assert_eq!(detect(&head, None), Some(FileKind::Jpeg));
    }

    #[test]
    fn jpeg_jfif() {
        let head = cat(&[
            &[0xFF, 0xD8], // SOI
            &[0xFF, 0xE0], // APP0 marker
            &[0x00, 0x10], // APP0 length 16
            b"JFIF\0",     // identifier
            &[0x01, 0x01], // version 1.1
            &[0x00],       // density units
            &[0, 1, 0, 1], // density 1x1
            &[0, 0],       // no thumbnail
        ]);
        assert_eq!(detect(&head, None), Some(FileKind::Jpeg));
    }

    #[test]
    fn jpeg_needs_three_bytes() {
        assert_eq!(detect(&[0xFF, 0xD8, 0xFF], None), Some(FileKind::Jpeg));
        assert_eq!(detect(&[0xFF, 0xD8], Some("a.jpg")), None);
        assert_eq!(detect(&[0xFF, 0xD8, 0x00, 0x00], Some("a.jpg")), None);
    }

    #[test]
    fn png() {
        let head = cat(&[
            b"\x89PNG\r\n\x1a\n",   // signature
            &[0, 0, 0, 0x0D],       // IHDR length 13
            b"IHDR",                // chunk type
            &[0, 0, 0x0F, 0xA0],    // width 4000
            &[0, 0, 0x0B, 0xB8],    // height 3000
            &[0x08, 0x02, 0, 0, 0], // depth 8, truecolour, compression, filter, interlace
        ]);
        assert_eq!(detect(&head, Some("x.png")), Some(FileKind::Png));
        assert_eq!(detect(&head[..7], None), None);
    }

    #[test]
    fn heic_iphone() {
        let head = cat(&[
            &[0, 0, 0, 0x18], // ftyp box size 24
            b"ftyp",          // box type
            b"heic",          // major brand
            &[0, 0, 0, 0],    // minor version
            b"mif1",          // compatible brands
            b"heic",
            &[0, 0, 0x0D, 0x29], // next box size
            b"meta",             // next box type
        ]);
        assert_eq!(detect(&head, Some("IMG_1234.HEIC")), Some(FileKind::Heif));
    }

    #[test]
    fn heif_by_compatible_brand() {
        let head = cat(&[
            &[0, 0, 0, 0x1C], // ftyp box size 28
            b"ftyp",
            b"MiHE",       // major brand nobody lists (Apple HEIF sequence variant)
            &[0, 0, 0, 0], // minor version
            b"MiHE",       // compatible brands
            b"miaf",
            b"heic",
        ]);
        assert_eq!(detect(&head, None), Some(FileKind::Heif));
    }

    #[test]
    fn avif_is_heif() {
        let head = cat(&[
            &[0, 0, 0, 0x20], // ftyp box size 32
            b"ftyp",
            b"avif",       // major brand
            &[0, 0, 0, 0], // minor version
            b"avif",       // compatible brands
            b"mif1",
            b"miaf",
            b"MA1B",
        ]);
        assert_eq!(detect(&head, None), Some(FileKind::Heif));
    }

    #[test]
    fn tiff_plain() {
        assert_eq!(detect(&tiff_le(), Some("scan.tif")), Some(FileKind::Tiff));
        assert_eq!(detect(&tiff_le(), None), Some(FileKind::Tiff));
        assert_eq!(detect(&tiff_be(), Some("scan.TIFF")), Some(FileKind::Tiff));
        // Other TIFF-based RAW (Pentax PEF, Samsung SRW) stay Tiff, grouped as RAW.
        assert_eq!(
            detect(&tiff_le(), Some("IMGP0001.PEF")),
            Some(FileKind::Tiff)
        );
    }

    #[test]
    fn cr2() {
        let head = cat(&[
            b"II",                     // byte order: little-endian
            &[0x2A, 0x00],             // magic 42
            &[0x10, 0, 0, 0],          // IFD0 at offset 16
            b"CR",                     // Canon RAW marker
            &[0x02, 0x00],             // CR2 version 2.0
            &[0x00, 0xC3, 0x01, 0x00], // offset of the RAW IFD
            &[0x12, 0x00],             // IFD0: 18 entries
            &[0x00, 0x01],             // entry 1: tag 0x0100 ImageWidth
            &[0x03, 0x00],             //   type SHORT
            &[1, 0, 0, 0],             //   count 1
            &[0x70, 0x17, 0, 0],       //   value 6000
        ]);
        assert_eq!(detect(&head, Some("IMG_0001.CR2")), Some(FileKind::Cr2));
        assert_eq!(detect(&head, None), Some(FileKind::Cr2));
        // Magic decides: a CR2 named .NEF is still a CR2.
        assert_eq!(detect(&head, Some("DSC_0001.NEF")), Some(FileKind::Cr2));
        assert_eq!(
            detect(&head, Some("IMG_1.CR2.filepart")),
            Some(FileKind::Cr2)
        );
    }

    #[test]
    fn cr2_name_without_cr2_magic_is_tiff() {
        assert_eq!(
            detect(&tiff_le(), Some("IMG_0001.CR2")),
            Some(FileKind::Tiff)
        );
    }

    #[test]
    fn cr3() {
        let head = cat(&[
            &[0, 0, 0, 0x18], // ftyp box size 24
            b"ftyp",          // box type
            b"crx ",          // major brand: Canon CR3
            &[0, 0, 0, 0x01], // minor version 1
            b"crx ",          // compatible brands
            b"isom",
            &[0, 0, 0x5D, 0x40], // next box size
            b"moov",             // next box type
        ]);
        assert_eq!(detect(&head, Some("IMG_0001.CR3")), Some(FileKind::Cr3));
        assert_eq!(detect(&head, Some("IMG_0001.MP4")), Some(FileKind::Cr3));
    }

    #[test]
    fn nef() {
        // Older Nikon bodies write big-endian, newer (Z series) little-endian; both by name.
        assert_eq!(
            detect(&tiff_be(), Some("DSC_0001.NEF")),
            Some(FileKind::Nef)
        );
        assert_eq!(
            detect(&tiff_le(), Some("DSC_0001.nef")),
            Some(FileKind::Nef)
        );
        assert_eq!(
            detect(&tiff_le(), Some("DSC_0001.NEF.filepart")),
            Some(FileKind::Nef)
        );
    }

    #[test]
    fn arw() {
        let head = cat(&[
            b"II",            // byte order: little-endian
            &[0x2A, 0x00],    // magic 42
            &[0x08, 0, 0, 0], // IFD0 at offset 8
            &[0x11, 0x00],    // IFD0: 17 entries
            &[0xFE, 0x00],    // entry 1: tag 0x00FE NewSubfileType
            &[0x04, 0x00],    //   type LONG
            &[1, 0, 0, 0],    //   count 1
            &[1, 0, 0, 0],    //   value 1 (reduced-resolution preview)
        ]);
        assert_eq!(detect(&head, Some("DSC00001.ARW")), Some(FileKind::Arw));
        assert_eq!(
            detect(&head, Some("DSC00001.arw.Part")),
            Some(FileKind::Arw)
        );
    }

    #[test]
    fn dng() {
        assert_eq!(
            detect(&tiff_le(), Some("IMG_0001.DNG")),
            Some(FileKind::Dng)
        );
        assert_eq!(
            detect(&tiff_be(), Some("L1000001.dng.TMP")),
            Some(FileKind::Dng)
        );
    }

    #[test]
    fn orf() {
        let le = cat(&[
            b"II",            // byte order: little-endian
            b"RO",            // Olympus magic (instead of 42)
            &[0x08, 0, 0, 0], // IFD0 at offset 8
            &[0x10, 0x00],    // IFD0: 16 entries
        ]);
        assert_eq!(detect(&le, Some("P1010001.ORF")), Some(FileKind::Orf));
        assert_eq!(detect(&le, Some("P1010001.NEF")), Some(FileKind::Orf));
        let rs = cat(&[b"IIRS", &[0x08, 0, 0, 0]]); // E-series variant
        assert_eq!(detect(&rs, None), Some(FileKind::Orf));
        let be = cat(&[b"MMOR", &[0, 0, 0, 0x08]]); // big-endian variant
        assert_eq!(detect(&be, None), Some(FileKind::Orf));
    }

    #[test]
    fn rw2() {
        let head = cat(&[
            b"II",                                             // byte order: little-endian
            &[0x55, 0x00],    // Panasonic magic 0x55 (instead of 42)
            &[0x18, 0, 0, 0], // IFD0 at offset 24
            &[0x88, 0xE7, 0x74, 0xD8, 0xF8, 0x25, 0x1D, 0x4D], // sensor info block
            &[0x94, 0x7A, 0x6E, 0x77, 0x82, 0x2B, 0x5D, 0x6A],
            &[0x39, 0x00], // IFD0: 57 entries
        ]);
        assert_eq!(detect(&head, Some("P1000001.RW2")), Some(FileKind::Rw2));
        assert_eq!(detect(&head, None), Some(FileKind::Rw2));
    }

    #[test]
    fn raf() {
        let head = cat(&[
            b"FUJIFILMCCD-RAW ", // magic, 16 bytes
            b"0201",             // format version
            b"FF383501",         // camera id
            b"X-T3",             // camera model, NUL-padded to 32 bytes
            &[0; 28],
            b"0100", // directory version
        ]);
        assert_eq!(detect(&head, Some("DSCF0001.RAF")), Some(FileKind::Raf));
        assert_eq!(detect(&head[..15], None), Some(FileKind::Raf));
        assert_eq!(detect(b"FUJIFILM", None), None);
    }

    #[test]
    fn xmp_packet() {
        let head =
            b"<?xpacket begin=\"\xEF\xBB\xBF\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n<x:xmpmeta";
        assert_eq!(detect(head, Some("IMG_0001.xmp")), Some(FileKind::Xmp));
    }

    #[test]
    fn xmp_lightroom_sidecar() {
        let head = b"<x:xmpmeta xmlns:x=\"adobe:ns:meta/\" x:xmptk=\"Adobe XMP Core 7.0\">";
        assert_eq!(detect(head, Some("IMG_0001.XMP")), Some(FileKind::Xmp));
    }

    #[test]
    fn xmp_with_bom_whitespace_and_declaration() {
        let bom = b"\xEF\xBB\xBF\r\n  \t<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">";
        assert_eq!(detect(bom, None), Some(FileKind::Xmp));
        // darktable / exiv2 sidecars.
        let decl =
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"";
        assert_eq!(detect(decl, None), Some(FileKind::Xmp));
        // A declaration that does not end within the sniffed bytes proves nothing.
        let long = format!("<?xml version=\"1.0\" {}?><x:xmpmeta", " ".repeat(60));
        assert_eq!(detect(long.as_bytes(), None), None);
    }

    #[test]
    fn mp4() {
        let ffmpeg = cat(&[
            &[0, 0, 0, 0x20], // ftyp box size 32
            b"ftyp",
            b"isom",          // major brand
            &[0, 0, 0x02, 0], // minor version 512
            b"isom",          // compatible brands
            b"iso2",
            b"avc1",
            b"mp41",
        ]);
        assert_eq!(detect(&ffmpeg, Some("clip.mp4")), Some(FileKind::Mp4));
        let sony_xavc = cat(&[
            &[0, 0, 0, 0x1C], // ftyp box size 28
            b"ftyp",
            b"XAVC",                // major brand not in any list
            &[0x01, 0x00, 0x1F, 0], // minor version
            b"XAVC",                // compatible brands
            b"mp42",
            b"iso2",
        ]);
        assert_eq!(detect(&sony_xavc, Some("C0001.MP4")), Some(FileKind::Mp4));
        let m4v = cat(&[&[0, 0, 0, 0x14], b"ftyp", b"M4V ", &[0, 0, 0, 1], b"M4V "]);
        assert_eq!(detect(&m4v, None), Some(FileKind::Mp4));
    }

    #[test]
    fn mov() {
        let head = cat(&[
            &[0, 0, 0, 0x14], // ftyp box size 20
            b"ftyp",
            b"qt  ",                   // major brand: QuickTime
            &[0x20, 0x05, 0x03, 0x00], // minor version
            b"qt  ",                   // compatible brand
            &[0, 0, 0, 0x08],          // next box size
            b"wide",                   // next box type
        ]);
        assert_eq!(detect(&head, Some("IMG_0001.MOV")), Some(FileKind::Mov));
    }

    #[test]
    fn ftyp_major_brand_comes_first() {
        // Major "mp42" but a HEIF brand among compatible ones: the major brand decides.
        let head = cat(&[
            &[0, 0, 0, 0x18],
            b"ftyp",
            b"mp42",
            &[0; 4],
            b"isom",
            b"heic",
        ]);
        assert_eq!(detect(&head, None), Some(FileKind::Mp4));
        // Unknown major: the most specific compatible brand wins, not the first listed.
        let head = cat(&[
            &[0, 0, 0, 0x18],
            b"ftyp",
            b"abcd",
            &[0; 4],
            b"isom",
            b"crx ",
        ]);
        assert_eq!(detect(&head, None), Some(FileKind::Cr3));
    }

    #[test]
    fn ftyp_brands_only_within_box_and_head() {
        // The box is 20 bytes: "heic" after it belongs to the next box.
        let head = cat(&[
            &[0, 0, 0, 0x14],
            b"ftyp",
            b"abcd",
            &[0; 4],
            b"abcd",
            b"heic",
        ]);
        assert_eq!(detect(&head, None), None);
        // Compatible brands past SNIFF_LEN are not looked at.
        let mut head = cat(&[&[0, 0, 0, 0x60], b"ftyp", b"abcd", &[0; 4]]);
        head.extend(b"abcd".repeat(20));
        head.extend(b"heic");
        assert_eq!(detect(&head, None), None);
        head.truncate(40);
        head.extend(b"heic");
        assert_eq!(detect(&head, None), Some(FileKind::Heif));
    }

    #[test]
    fn ftyp_malformed() {
        // Truncated before the minor version.
        assert_eq!(
            detect(&cat(&[&[0, 0, 0, 0x18], b"ftyp", b"heic"]), None),
            None
        );
        // Size too small to hold major brand and minor version.
        assert_eq!(
            detect(&cat(&[&[0, 0, 0, 0x08], b"ftyp", b"heic", &[0; 4]]), None),
            None
        );
        // Absurd size.
        let huge = cat(&[&[0xFF, 0xFF, 0xFF, 0xFF], b"ftyp", b"heic", &[0; 4]]);
        assert_eq!(detect(&huge, None), None);
        // Unknown brands only.
        let unknown = cat(&[
            &[0, 0, 0, 0x18],
            b"ftyp",
            b"abcd",
            &[0; 4],
            b"wxyz",
            b"3gp4",
        ]);
        assert_eq!(detect(&unknown, None), None);
    }

    #[test]
    fn audio_mp4_is_not_video() {
        let m4a = cat(&[
            &[0, 0, 0, 0x1C], // ftyp box size 28
            b"ftyp",
            b"M4A ",          // major brand: iTunes audio
            &[0, 0, 0x02, 0], // minor version
            b"M4A ",          // compatible brands
            b"mp42",
            b"isom",
        ]);
        assert_eq!(detect(&m4a, Some("memo.mp4")), None);
    }

    #[test]
    fn truncated_tiff_headers() {
        assert_eq!(detect(b"II*\0", Some("a.nef")), None);
        assert_eq!(detect(b"II*\0\x08\0\0", Some("a.nef")), None);
        assert_eq!(detect(b"IIRO", None), None);
        assert_eq!(detect(b"IIU\0\x18", None), None);
        // An IFD offset inside the header is not a TIFF.
        assert_eq!(detect(b"II*\0\x04\0\0\0", Some("a.nef")), None);
        assert_eq!(detect(b"MM\0*\0\0\0\0", None), None);
        // Mixed byte order marks are not TIFF.
        assert_eq!(detect(b"MI*\0\x08\0\0\0", None), None);
        assert_eq!(detect(b"II\0*\x08\0\0\0", None), None);
        // BigTIFF is not accepted.
        assert_eq!(detect(b"II+\0\x08\0\0\0\0\0\0\0\x10\0\0\0", None), None);
    }

    #[test]
    fn negatives() {
        assert_eq!(detect(b"", None), None);
        assert_eq!(detect(b"", Some("a.jpg")), None);
        assert_eq!(detect(b"hello, this is plain text\n", Some("a.jpg")), None);
        assert_eq!(
            detect(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj", Some("a.nef")),
            None
        );
        assert_eq!(detect(b"PK\x03\x04\x14\0\0\0\x08\0", Some("a.dng")), None);
        assert_eq!(detect(b"GIF89a\x01\0\x01\0", None), None);
        assert_eq!(detect(b"RIFF\x24\0\0\0WEBPVP8 ", None), None);
        assert_eq!(detect(b"BM\x36\0\x0c\0\0\0\0\0\x36\0\0\0", None), None);
        assert_eq!(
            detect(b"<?xml version=\"1.0\"?>\n<svg xmlns=", Some("a.xmp")),
            None
        );
        assert_eq!(detect(b"<?xml-stylesheet?><x:xmpmeta", None), None);
        assert_eq!(detect(b"<html><x:xmpmeta", None), None);
        assert_eq!(detect(&[0u8; 64], Some("a.nef")), None);
    }

    #[test]
    fn temp_suffixes() {
        let tiff = tiff_le();
        assert_eq!(detect(&tiff, Some("a.NEF.filepart")), Some(FileKind::Nef));
        assert_eq!(detect(&tiff, Some("a.nef.FILEPART")), Some(FileKind::Nef));
        assert_eq!(detect(&tiff, Some("a.nef.part")), Some(FileKind::Nef));
        assert_eq!(detect(&tiff, Some("a.nef.tmp")), Some(FileKind::Nef));
        // Only one suffix is stripped.
        assert_eq!(detect(&tiff, Some("a.nef.part.tmp")), Some(FileKind::Tiff));
        // A suffix without its dot is not a temp suffix.
        assert_eq!(detect(&tiff, Some("anefpart")), Some(FileKind::Tiff));
        // Directory parts and odd names.
        assert_eq!(
            detect(&tiff, Some("/ev/day1/DSC_1.NEF")),
            Some(FileKind::Nef)
        );
        assert_eq!(detect(&tiff, Some("x.nef/")), Some(FileKind::Tiff));
        assert_eq!(detect(&tiff, Some(".tmp")), Some(FileKind::Tiff));
        assert_eq!(detect(&tiff, Some("ünï.ñef")), Some(FileKind::Tiff));
        assert_eq!(detect(&tiff, Some("é.dng.part")), Some(FileKind::Dng));
        assert_eq!(detect(&tiff, Some("")), Some(FileKind::Tiff));
        // The name never creates a type the magic does not show.
        assert_eq!(detect(b"plain text", Some("a.NEF")), None);
        assert_eq!(
            detect(&[0xFF, 0xD8, 0xFF, 0xE0], Some("a.NEF")),
            Some(FileKind::Jpeg)
        );
    }

    #[test]
    fn only_sniff_len_bytes_count() {
        let mut head = vec![b' '; SNIFF_LEN];
        head.extend(b"<x:xmpmeta");
        assert_eq!(detect(&head, None), None);
    }

    #[test]
    fn metadata_tables() {
        use std::collections::HashSet;
        let mut exts = HashSet::new();
        for kind in ALL {
            let ext = kind.ext();
            assert!(
                ext.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
                "{ext}"
            );
            assert!(exts.insert(ext), "duplicate ext {ext}");
            assert!(kind.mime().contains('/'));
            assert!(!kind.name().is_empty());
        }
        assert_eq!(FileKind::Cr3.name(), "Canon CR3");
        assert_eq!(FileKind::Jpeg.mime(), "image/jpeg");
        assert_eq!(FileKind::Xmp.mime(), "application/rdf+xml");
        assert_eq!(FileKind::Heif.ext(), "heic");
        let raw = [
            FileKind::Tiff,
            FileKind::Cr2,
            FileKind::Cr3,
            FileKind::Nef,
            FileKind::Arw,
            FileKind::Dng,
            FileKind::Orf,
            FileKind::Rw2,
            FileKind::Raf,
        ];
        for kind in ALL {
            assert_eq!(
                kind.group() == TypeGroup::Raw,
                raw.contains(&kind),
                "{kind:?}"
            );
        }
        assert_eq!(FileKind::Mov.group(), TypeGroup::Video);
        assert_eq!(FileKind::Mp4.group(), TypeGroup::Video);
        assert_eq!(FileKind::Xmp.group(), TypeGroup::Xmp);
        assert_eq!(FileKind::Heif.group(), TypeGroup::Heif);
    }

    #[test]
    fn type_group_serde_is_lowercase() {
        assert_eq!(serde_json::to_string(&TypeGroup::Raw).unwrap(), "\"raw\"");
        assert_eq!(
            serde_json::to_string(&TypeGroup::Video).unwrap(),
            "\"video\""
        );
        let g: Vec<TypeGroup> =
            serde_json::from_str(r#"["jpeg","png","heif","raw","xmp","video"]"#).unwrap();
        assert_eq!(g.len(), 6);
        assert!(serde_json::from_str::<TypeGroup>("\"RAW\"").is_err());
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    const TIFF_FAMILY: [FileKind; 4] =
        [FileKind::Tiff, FileKind::Nef, FileKind::Arw, FileKind::Dng];

    /// Arbitrary bytes, often behind a real magic prefix so the matchers' deeper branches run.
    fn heads() -> impl Strategy<Value = Vec<u8>> {
        let prefix = prop_oneof![
            Just(Vec::new()),
            Just(b"II*\0".to_vec()),
            Just(b"MM\0*".to_vec()),
            Just(b"II*\0\x10\0\0\0CR".to_vec()),
            Just(b"IIRO".to_vec()),
            Just(b"IIU\0".to_vec()),
            Just(b"\0\0\0\x18ftyp".to_vec()),
            Just(b"\0\0\0\x40ftypabcd\0\0\0\0".to_vec()),
            Just(b"\xEF\xBB\xBF <?xml ".to_vec()),
            Just(b"FUJIFILMCCD-RA".to_vec()),
        ];
        (prefix, prop::collection::vec(any::<u8>(), 0..100)).prop_map(|(mut p, t)| {
            p.extend(t);
            p
        })
    }

    fn hints() -> impl Strategy<Value = Option<String>> {
        prop_oneof![
            Just(None),
            any::<String>().prop_map(Some),
            prop_oneof![
                Just("a.nef"),
                Just("a.ARW.filepart"),
                Just("a.dng.tmp"),
                Just("a.Part"),
                Just(".tmp"),
                Just("x/"),
                Just("é.dng"),
            ]
            .prop_map(|s| Some(s.to_string())),
        ]
    }

    proptest! {
        #[test]
        fn detect_never_panics(head in heads(), hint in hints()) {
            let kind = detect(&head, hint.as_deref());
            // Only the first SNIFF_LEN bytes matter.
            let cut = &head[..head.len().min(SNIFF_LEN)];
            prop_assert_eq!(detect(cut, hint.as_deref()), kind);
            // The name refines within the TIFF family and never creates or changes a family.
            let bare = detect(&head, None);
            prop_assert_eq!(bare.is_some(), kind.is_some());
            if kind != bare {
                prop_assert_eq!(bare, Some(FileKind::Tiff));
                prop_assert!(kind.is_some_and(|k| TIFF_FAMILY.contains(&k)));
            }
            prop_assert!(!matches!(bare, Some(FileKind::Nef | FileKind::Arw | FileKind::Dng)));
        }

        #[test]
        fn detect_prefixes_never_panic(head in prop::collection::vec(any::<u8>(), 0..80)) {
            for n in 0..=head.len() {
                let _ = detect(&head[..n], Some("x.nef.part"));
            }
        }
    }
}
