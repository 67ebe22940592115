//! Metadata read while the bytes stream through: the file's first `max_meta_bytes` are kept
//! (cameras write EXIF, IPTC and XMP at the start), then parsed once the file has ended.
//!
//! - EXIF (capture time, camera, lens, exposure, dimensions, orientation, rating, GPS) with
//!   kamadak-exif, for JPEG, HEIF/HEIC, PNG and the TIFF-based RAW formats (CR2, NEF, ARW, DNG,
//!   plain TIFF; ORF and RW2 read as the TIFF they are under their own magic); for RAF, from
//!   the JPEG its header points to. CR3 is not read yet (its EXIF sits in CMT boxes);
//! - XMP (by-line, caption, headline, keywords, copyright, rating) from the packet, with
//!   quick-xml;
//! - IPTC-IIM (the same fields) from a JPEG's Photoshop APP13 block: a parser of our own, as no
//!   well-kept crate reads IIM; it is bounded and fuzzed.

use std::io::Cursor;

use exif::{In, Reader, Tag, Value};

use super::{Camera, Exposure, Gps, InspectLimits, PhotoMeta, Preview};
use crate::base::sniff::FileKind;

pub struct MetaReader {
    kind: FileKind,
    head: Vec<u8>,
    max: usize,
}

impl MetaReader {
    pub fn new(kind: FileKind, limits: InspectLimits) -> Self {
        MetaReader {
            kind,
            head: Vec::new(),
            max: limits.max_meta_bytes,
        }
    }

    pub fn feed(&mut self, chunk: &[u8]) {
        let take = (self.max - self.head.len()).min(chunk.len());
        self.head.extend_from_slice(&chunk[..take]);
    }

    /// (metadata, why it could not be read, preview)
    pub fn finish(self, _total_len: u64) -> (Option<PhotoMeta>, Option<String>, Option<Preview>) {
        match read(self.kind, &self.head) {
            Ok(m) => (Some(m), None, None),
            Err(why) => (None, Some(why), None),
        }
    }
}

/// Everything the head of a file tells; an error only when none of it could be read.
pub fn read(kind: FileKind, head: &[u8]) -> Result<PhotoMeta, String> {
    if matches!(kind, FileKind::Xmp | FileKind::Mp4 | FileKind::Mov) {
        let mut m = PhotoMeta::default();
        apply_xmp(&mut m, head);
        return Ok(m);
    }
    let exif = exif_of(kind, head);
    let mut m = PhotoMeta::default();
    if let Ok(e) = &exif {
        apply_exif(&mut m, e);
    }
    let iptc_found = kind == FileKind::Jpeg && apply_iptc(&mut m, head);
    let xmp_found = apply_xmp(&mut m, head);
    match exif {
        Ok(_) => Ok(m),
        Err(_) if iptc_found || xmp_found => Ok(m),
        Err(e) => Err(format!("no readable EXIF: {e}")),
    }
}

fn exif_of(kind: FileKind, head: &[u8]) -> Result<exif::Exif, String> {
    let mut reader = Reader::new();
    reader.continue_on_error(true);
    let res = match kind {
        FileKind::Raf => {
            // The header names the embedded JPEG (offset at 84, length at 88, big-endian).
            let be = |at: usize| -> Option<usize> {
                let b = head.get(at..at + 4)?;
                usize::try_from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])).ok()
            };
            let (Some(off), Some(len)) = (be(84), be(88)) else {
                return Err("the RAF header is cut short".into());
            };
            let end = off.saturating_add(len).min(head.len());
            let jpeg = head
                .get(off..end)
                .ok_or("the RAF's JPEG is past the kept head")?;
            reader.read_from_container(&mut Cursor::new(jpeg))
        }
        FileKind::Cr3 => return Err("CR3 metadata is not read yet".into()),
        // Olympus (IIRO, IIRS, MMOR) and Panasonic (IIU) write TIFF with a magic of their
        // own: read it as the TIFF it is.
        FileKind::Orf | FileKind::Rw2 if head.len() >= 8 => {
            let mut tiff = head.to_vec();
            if tiff[0] == b'I' {
                tiff[2..4].copy_from_slice(&[0x2A, 0x00]);
            } else {
                tiff[2..4].copy_from_slice(&[0x00, 0x2A]);
            }
            reader.read_raw(tiff)
        }
        _ => reader.read_from_container(&mut Cursor::new(head)),
    };
    match res {
        Ok(e) => Ok(e),
        Err(exif::Error::PartialResult(p)) => Ok(p.into_inner().0),
        Err(e) => Err(e.to_string()),
    }
}

fn text(e: &exif::Exif, tag: Tag) -> Option<String> {
    let f = e.get_field(tag, In::PRIMARY)?;
    match &f.value {
        Value::Ascii(parts) => {
            let s: String = parts
                .iter()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect::<Vec<_>>()
                .join(" ");
            let s = s.trim().trim_end_matches('\0').trim().to_string();
            (!s.is_empty()).then_some(s)
        }
        Value::Undefined(b, _) => {
            let s = String::from_utf8_lossy(b).trim().to_string();
            (!s.is_empty()).then_some(s)
        }
        _ => None,
    }
}

fn uint(e: &exif::Exif, tag: Tag) -> Option<u32> {
    e.get_field(tag, In::PRIMARY)?.value.get_uint(0)
}

fn rational(e: &exif::Exif, tag: Tag) -> Option<f64> {
    match &e.get_field(tag, In::PRIMARY)?.value {
        Value::Rational(v) => v.first().filter(|r| r.denom != 0).map(|r| r.to_f64()),
        Value::SRational(v) => v.first().filter(|r| r.denom != 0).map(|r| r.to_f64()),
        _ => None,
    }
}

fn round(v: f64, digits: i32) -> f64 {
    let p = 10f64.powi(digits);
    (v * p).round() / p
}

/// Exposure time as exiftool prints it: "1/250" below 0.25 s, else seconds.
fn shutter(e: &exif::Exif) -> Option<String> {
    let Value::Rational(v) = &e.get_field(Tag::ExposureTime, In::PRIMARY)?.value else {
        return None;
    };
    let r = v.first().filter(|r| r.denom != 0 && r.num != 0)?;
    let secs = r.to_f64();
    if secs < 0.25 {
        Some(format!("1/{}", round(1.0 / secs, 0)))
    } else {
        let s = round(secs, 1);
        Some(if s.fract() == 0.0 {
            format!("{}", s as i64)
        } else {
            format!("{s}")
        })
    }
}

/// `2026:06:14 15:30:12` + sub-seconds + offset → `2026-06-14T15:30:12.345+07:00`.
fn captured_at(e: &exif::Exif) -> Option<String> {
    let dt = text(e, Tag::DateTimeOriginal).or_else(|| text(e, Tag::DateTime))?;
    let b = dt.as_bytes();
    if b.len() < 19
        || !b[..19].iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b':' || *c == b'-',
            10 => *c == b' ' || *c == b'T',
            13 | 16 => *c == b':',
            _ => c.is_ascii_digit(),
        })
    {
        return None;
    }
    let mut s = format!("{}-{}-{}T{}", &dt[0..4], &dt[5..7], &dt[8..10], &dt[11..19]);
    if let Some(sub) = text(e, Tag::SubSecTimeOriginal)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
    {
        s.push('.');
        s.push_str(&sub);
    }
    if let Some(off) = text(e, Tag::OffsetTimeOriginal).filter(|o| {
        let o = o.as_bytes();
        o.len() == 6 && (o[0] == b'+' || o[0] == b'-') && o[3] == b':'
    }) {
        s.push_str(&off);
    }
    Some(s)
}

fn gps(e: &exif::Exif) -> Option<Gps> {
    let dms = |tag: Tag| -> Option<f64> {
        let Value::Rational(v) = &e.get_field(tag, In::PRIMARY)?.value else {
            return None;
        };
        if v.len() < 3 || v.iter().any(|r| r.denom == 0) {
            return None;
        }
        Some(v[0].to_f64() + v[1].to_f64() / 60.0 + v[2].to_f64() / 3600.0)
    };
    let mut lat = dms(Tag::GPSLatitude)?;
    let mut lon = dms(Tag::GPSLongitude)?;
    if text(e, Tag::GPSLatitudeRef).as_deref() == Some("S") {
        lat = -lat;
    }
    if text(e, Tag::GPSLongitudeRef).as_deref() == Some("W") {
        lon = -lon;
    }
    let alt_m = rational(e, Tag::GPSAltitude).map(|a| {
        let below = e
            .get_field(Tag::GPSAltitudeRef, In::PRIMARY)
            .and_then(|f| f.value.get_uint(0))
            == Some(1);
        round(if below { -a } else { a }, 2)
    });
    Some(Gps {
        lat: round(lat, 6),
        lon: round(lon, 6),
        alt_m,
    })
}

fn apply_exif(m: &mut PhotoMeta, e: &exif::Exif) {
    m.captured_at = captured_at(e);
    m.camera = Camera {
        make: text(e, Tag::Make),
        model: text(e, Tag::Model),
        serial: text(e, Tag::BodySerialNumber),
    };
    m.lens = text(e, Tag::LensModel);
    m.width = uint(e, Tag::PixelXDimension).or_else(|| uint(e, Tag::ImageWidth));
    m.height = uint(e, Tag::PixelYDimension).or_else(|| uint(e, Tag::ImageLength));
    m.orientation = uint(e, Tag::Orientation)
        .and_then(|o| u16::try_from(o).ok())
        .filter(|o| (1..=8).contains(o));
    m.exposure = Exposure {
        iso: uint(e, Tag::PhotographicSensitivity),
        aperture: rational(e, Tag::FNumber).map(|f| round(f, 1)),
        shutter: shutter(e),
        focal_length_mm: rational(e, Tag::FocalLength).map(|f| round(f, 1)),
    };
    // Rating (0x4746) is Microsoft's tag in IFD0; XMP's xmp:Rating may set it too.
    m.rating = e
        .get_field(Tag(exif::Context::Tiff, 0x4746), In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .and_then(|r| i32::try_from(r).ok());
    m.gps = gps(e);
}

// --- IPTC-IIM -------------------------------------------------------------------------------

/// Reads IPTC-IIM records from a JPEG's APP13 Photoshop block; IIM wins over XMP, so it runs
/// first and XMP fills only what is still empty. Answers whether any record was found.
fn apply_iptc(m: &mut PhotoMeta, head: &[u8]) -> bool {
    let Some(iim) = iim_block(head) else {
        return false;
    };
    let mut found = false;
    let mut keywords: Vec<String> = Vec::new();
    let mut i = 0usize;
    while i + 5 <= iim.len() {
        if iim[i] != 0x1C {
            break;
        }
        let (record, dataset) = (iim[i + 1], iim[i + 2]);
        let len = usize::from(u16::from_be_bytes([iim[i + 3], iim[i + 4]]));
        if len & 0x8000 != 0 {
            break; // extended lengths: not used for these text fields
        }
        let Some(v) = iim.get(i + 5..i + 5 + len) else {
            break;
        };
        i += 5 + len;
        if record != 2 {
            continue;
        }
        let s = String::from_utf8_lossy(v).trim().to_string();
        if s.is_empty() {
            continue;
        }
        found = true;
        match dataset {
            80 => m.iptc.byline.get_or_insert(s),
            120 => m.iptc.caption.get_or_insert(s),
            105 => m.iptc.headline.get_or_insert(s),
            116 => m.iptc.copyright.get_or_insert(s),
            25 => {
                keywords.push(s);
                continue;
            }
            _ => continue,
        };
    }
    if !keywords.is_empty() {
        m.iptc.keywords = Some(keywords);
    }
    found
}

/// The IIM data of resource 0x0404 in the first APP13 "Photoshop 3.0" segment.
fn iim_block(jpeg: &[u8]) -> Option<&[u8]> {
    let mut i = 2usize;
    while i + 4 <= jpeg.len() {
        if jpeg[i] != 0xFF {
            return None;
        }
        let marker = jpeg[i + 1];
        if marker == 0xDA || marker == 0xD9 {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
        let seg = jpeg.get(i + 4..(i + 2 + len).min(jpeg.len()))?;
        if marker == 0xED && seg.starts_with(b"Photoshop 3.0\0") {
            return irb_iptc(&seg[14..]);
        }
        i += 2 + len.max(2);
    }
    None
}

/// Walks Photoshop image resource blocks ("8BIM", id, Pascal name padded to even, size, data
/// padded to even) for the IPTC-NAA one (0x0404).
fn irb_iptc(mut b: &[u8]) -> Option<&[u8]> {
    while b.len() >= 12 && &b[..4] == b"8BIM" {
        let id = u16::from_be_bytes([b[4], b[5]]);
        let name_len = usize::from(b[6]);
        let name_total = (1 + name_len + 1) & !1;
        let at = 6 + name_total;
        let size_bytes = b.get(at..at + 4)?;
        let size = usize::try_from(u32::from_be_bytes([
            size_bytes[0],
            size_bytes[1],
            size_bytes[2],
            size_bytes[3],
        ]))
        .ok()?;
        let data = b.get(at + 4..at + 4 + size)?;
        if id == 0x0404 {
            return Some(data);
        }
        let next = at + 4 + size + (size & 1);
        b = b.get(next..)?;
    }
    None
}

// --- XMP --------------------------------------------------------------------------------------

/// Fills what is still empty from the first XMP packet in `head`; answers whether one was read.
fn apply_xmp(m: &mut PhotoMeta, head: &[u8]) -> bool {
    let Some(start) = find(head, b"<x:xmpmeta") else {
        return false;
    };
    let Some(len) = find(&head[start..], b"</x:xmpmeta>") else {
        return false;
    };
    let packet = &head[start..start + len + b"</x:xmpmeta>".len()];
    let x = read_xmp(packet);
    let i = &mut m.iptc;
    if i.byline.is_none() {
        i.byline = x.creator;
    }
    if i.caption.is_none() {
        i.caption = x.description;
    }
    if i.headline.is_none() {
        i.headline = x.headline;
    }
    if i.keywords.is_none() && !x.subject.is_empty() {
        i.keywords = Some(x.subject);
    }
    if i.copyright.is_none() {
        i.copyright = x.rights;
    }
    if m.rating.is_none() {
        m.rating = x.rating;
    }
    true
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[derive(Default)]
struct Xmp {
    creator: Option<String>,
    description: Option<String>,
    headline: Option<String>,
    subject: Vec<String>,
    rights: Option<String>,
    rating: Option<i32>,
}

/// The few XMP properties we report, written as elements (`<dc:creator><rdf:Seq><rdf:li>`) or
/// as attributes of `rdf:Description` (`xmp:Rating="4"`).
fn read_xmp(packet: &[u8]) -> Xmp {
    use quick_xml::events::Event;
    let mut out = Xmp::default();
    let mut reader = quick_xml::Reader::from_reader(packet);
    let mut buf = Vec::new();
    // The property element we are inside, and whether its first value was taken.
    let mut prop: Option<String> = None;
    let mut depth_in_li = false;
    for _ in 0..100_000 {
        let ev = match reader.read_event_into(&mut buf) {
            Ok(Event::Eof) | Err(_) => break,
            Ok(ev) => ev,
        };
        match ev {
            Event::Start(e) | Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                if name == "rdf:Description" {
                    for a in e.attributes().flatten() {
                        let k = String::from_utf8_lossy(a.key.as_ref()).into_owned();
                        let raw = String::from_utf8_lossy(&a.value).into_owned();
                        let v = quick_xml::escape::unescape(&raw)
                            .map(|v| v.into_owned())
                            .unwrap_or(raw);
                        set_simple(&mut out, &k, v);
                    }
                } else if name == "rdf:li" {
                    depth_in_li = true;
                } else if matches!(
                    name.as_str(),
                    "dc:creator"
                        | "dc:description"
                        | "photoshop:Headline"
                        | "dc:subject"
                        | "dc:rights"
                        | "xmp:Rating"
                ) {
                    prop = Some(name);
                }
            }
            Event::Text(t) => {
                let v = t.decode().map(|v| v.trim().to_string()).unwrap_or_default();
                if v.is_empty() {
                    continue;
                }
                match prop.as_deref() {
                    Some("dc:subject") if depth_in_li => out.subject.push(v),
                    Some(p @ ("dc:creator" | "dc:description" | "dc:rights")) if depth_in_li => {
                        let p = p.to_string();
                        set_simple(&mut out, &p, v);
                    }
                    Some(p @ ("photoshop:Headline" | "xmp:Rating")) => {
                        let p = p.to_string();
                        set_simple(&mut out, &p, v);
                    }
                    _ => {}
                }
            }
            Event::End(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                if name == "rdf:li" {
                    depth_in_li = false;
                } else if prop.as_deref() == Some(name.as_str()) {
                    prop = None;
                }
            }
            _ => {}
        }
        buf.clear();
    }
    out
}

fn set_simple(out: &mut Xmp, key: &str, v: String) {
    let v = v.trim().to_string();
    if v.is_empty() {
        return;
    }
    match key {
        "dc:creator" => {
            out.creator.get_or_insert(v);
        }
        "dc:description" => {
            out.description.get_or_insert(v);
        }
        "photoshop:Headline" => {
            out.headline.get_or_insert(v);
        }
        "dc:rights" => {
            out.rights.get_or_insert(v);
        }
        "xmp:Rating" if out.rating.is_none() => {
            out.rating = v.parse::<f64>().ok().map(|r| r as i32);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iptc_records_are_read_from_app13() {
        let mut iim = Vec::new();
        for (ds, v) in [
            (80u8, "Ana Lima"),
            (25, "wedding"),
            (25, "smith"),
            (120, "First dance"),
        ] {
            iim.extend([0x1C, 2, ds]);
            iim.extend((v.len() as u16).to_be_bytes());
            iim.extend(v.as_bytes());
        }
        let mut irb = b"8BIM\x04\x04\x00\x00".to_vec();
        irb.extend((iim.len() as u32).to_be_bytes());
        irb.extend(&iim);
        let mut seg = b"Photoshop 3.0\0".to_vec();
        seg.extend(&irb);
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xED];
        jpeg.extend(((seg.len() + 2) as u16).to_be_bytes());
        jpeg.extend(&seg);
        jpeg.extend([0xFF, 0xD9]);
        let mut m = PhotoMeta::default();
        assert!(apply_iptc(&mut m, &jpeg));
        assert_eq!(m.iptc.byline.as_deref(), Some("Ana Lima"));
        assert_eq!(m.iptc.caption.as_deref(), Some("First dance"));
        assert_eq!(
            m.iptc.keywords,
            Some(vec!["wedding".to_string(), "smith".to_string()])
        );
    }

    #[test]
    fn xmp_elements_and_attributes() {
        let x = br#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmp:Rating="4" photoshop:Headline="Vows"><dc:creator><rdf:Seq><rdf:li>Ana</rdf:li></rdf:Seq></dc:creator><dc:subject><rdf:Bag><rdf:li>a</rdf:li><rdf:li>b</rdf:li></rdf:Bag></dc:subject><dc:rights><rdf:Alt><rdf:li xml:lang="x-default">(c) Ana</rdf:li></rdf:Alt></dc:rights></rdf:Description></rdf:RDF></x:xmpmeta>"#;
        let mut m = PhotoMeta::default();
        assert!(apply_xmp(&mut m, x));
        assert_eq!(m.rating, Some(4));
        assert_eq!(m.iptc.headline.as_deref(), Some("Vows"));
        assert_eq!(m.iptc.byline.as_deref(), Some("Ana"));
        assert_eq!(m.iptc.copyright.as_deref(), Some("(c) Ana"));
        assert_eq!(m.iptc.keywords, Some(vec!["a".into(), "b".into()]));
    }

    proptest::proptest! {
        #[test]
        fn no_input_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..4096)) {
            for kind in [FileKind::Jpeg, FileKind::Nef, FileKind::Raf, FileKind::Heif, FileKind::Png] {
                let _ = read(kind, &bytes);
                let mut with = vec![0xFF, 0xD8];
                with.extend(&bytes);
                let _ = read(kind, &with);
            }
        }
    }
}
