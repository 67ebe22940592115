//! Knowing each photo while its bytes stream through ingest (DESIGN §4b): one pass, bounded
//! memory, never a second read of the blob.
//!
//! The ingest pipeline makes one [`Inspector`] per upload once the type is sniffed, feeds it every
//! chunk in order, and calls [`Inspector::finish`] with the total length before it commits:
//! - [`complete`]: is the file whole? (JPEG EOI after the last scan, PNG IEND, ISO-BMFF box sizes,
//!   TIFF IFD and strip/tile offsets, RAF header offsets, XMP well-formed). A plain-FTP upload
//!   cut by a clean close is refused, not stored truncated.
//! - [`meta`]: capture time, camera, lens, exposure, GPS, IPTC/XMP fields, and for RAW files the
//!   largest embedded JPEG preview, byte-identical.
//!
//! Nothing here panics on any input: both parts are fuzzed (`fuzz/fuzz_targets/photo_inspect.rs`).

pub mod complete;
pub mod meta;

use serde::Serialize;

use crate::base::sniff::FileKind;

/// How much an inspection may hold in memory for one upload.
#[derive(Clone, Copy, Debug)]
pub struct InspectLimits {
    /// Bytes of the file's start (and of structures found later) kept for metadata parsing.
    pub max_meta_bytes: usize,
    /// The largest embedded preview kept; a larger one is skipped (the photo is still accepted).
    pub max_preview_bytes: usize,
}

impl Default for InspectLimits {
    fn default() -> Self {
        InspectLimits {
            max_meta_bytes: 1 << 20,
            max_preview_bytes: 32 << 20,
        }
    }
}

/// Why a file is not whole: the door answers "incomplete, please re-send".
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Incomplete {
    /// In words, e.g. "the JPEG ends before its end-of-image marker".
    pub reason: String,
}

/// An embedded JPEG preview of a RAW file, byte-identical to the embedded one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preview {
    pub bytes: Vec<u8>,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

/// A photo's metadata. Serialises to exactly the notification's `photo` object (without its
/// `preview`, which the ingest adds once the preview blob is stored): every member is present,
/// unknown values are `null`; `gps` is `null` when the file has no position.
#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct PhotoMeta {
    /// The camera's local time as written: `2026-06-14T15:30:12.345+07:00` from
    /// DateTimeOriginal + SubSecTimeOriginal (digits as written) + OffsetTimeOriginal; without
    /// an offset when the file has none (`2026-06-14T15:30:12.345`), without a fraction when it
    /// has no sub-seconds.
    pub captured_at: Option<String>,
    pub camera: Camera,
    pub lens: Option<String>,
    /// Pixel dimensions of the main image.
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// EXIF orientation, 1–8.
    pub orientation: Option<u16>,
    pub exposure: Exposure,
    /// 0–5 from EXIF Rating or XMP xmp:Rating (-1 = rejected, as Lightroom writes it).
    pub rating: Option<i32>,
    pub gps: Option<Gps>,
    pub iptc: Iptc,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Camera {
    pub make: Option<String>,
    pub model: Option<String>,
    /// Body serial number (EXIF BodySerialNumber, or the maker's own tag).
    pub serial: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Exposure {
    pub iso: Option<u32>,
    /// f-number, e.g. 2.8.
    pub aperture: Option<f64>,
    /// Exposure time as exiftool prints it: "1/250" below 0.25 s, else seconds ("0.5", "2").
    pub shutter: Option<String>,
    pub focal_length_mm: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Gps {
    /// Signed decimal degrees (south and west negative).
    pub lat: f64,
    pub lon: f64,
    /// Metres, negative below sea level.
    pub alt_m: Option<f64>,
}

/// IPTC-IIM and XMP (dc/photoshop) fields; IIM wins where both are present.
#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Iptc {
    pub byline: Option<String>,
    pub caption: Option<String>,
    pub headline: Option<String>,
    /// `null` when the file has no keywords.
    pub keywords: Option<Vec<String>>,
    pub copyright: Option<String>,
}

/// What an inspection found.
#[derive(Clone, Debug)]
pub struct Inspection {
    pub complete: Result<(), Incomplete>,
    /// `None` when the metadata could not be read (see `meta_error`) or the type carries none.
    pub meta: Option<PhotoMeta>,
    /// Why the metadata could not be read; the photo is still accepted.
    pub meta_error: Option<String>,
    pub preview: Option<Preview>,
}

/// Watches one upload's bytes as they stream through.
pub struct Inspector {
    complete: complete::Checker,
    meta: meta::MetaReader,
}

impl Inspector {
    pub fn new(kind: FileKind, limits: InspectLimits) -> Self {
        Inspector {
            complete: complete::Checker::new(kind, limits),
            meta: meta::MetaReader::new(kind, limits),
        }
    }

    /// The next chunk of the file, in order.
    pub fn feed(&mut self, chunk: &[u8]) {
        self.complete.feed(chunk);
        self.meta.feed(chunk);
    }

    /// The file ended after `total_len` bytes.
    pub fn finish(self, total_len: u64) -> Inspection {
        let complete = self.complete.finish(total_len);
        let (meta, meta_error, preview) = self.meta.finish(total_len);
        Inspection {
            complete,
            meta,
            meta_error,
            preview,
        }
    }
}

/// A capture time as written (`2026-06-14T15:30:12.345+07:00`) → milliseconds of its wall-clock
/// part read as UTC, the offset ignored: photos of one event sort by the cameras' own clocks.
pub fn local_time_ms(captured_at: &str) -> Option<i64> {
    let b = captured_at.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = captured_at.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    if b.len() < 19 {
        return None;
    }
    let (y, mo, d) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (h, mi, s) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    let month = time::Month::try_from(u8::try_from(mo).ok()?).ok()?;
    let date = time::Date::from_calendar_date(i32::try_from(y).ok()?, month, u8::try_from(d).ok()?)
        .ok()?;
    let t = time::Time::from_hms(
        u8::try_from(h).ok()?,
        u8::try_from(mi).ok()?,
        u8::try_from(s).ok()?,
    )
    .ok()?;
    let mut ms = time::PrimitiveDateTime::new(date, t)
        .assume_utc()
        .unix_timestamp()
        * 1000;
    if b.get(19) == Some(&b'.') {
        let frac: String = captured_at[20..]
            .chars()
            .take_while(char::is_ascii_digit)
            .take(3)
            .collect();
        if !frac.is_empty() {
            let n: i64 = frac.parse().ok()?;
            ms += n * 10i64.pow(3 - frac.len() as u32);
        }
    }
    Some(ms)
}

#[cfg(test)]
mod tests {
    #[test]
    fn local_time_ms_reads_the_wall_clock() {
        let a = super::local_time_ms("2026-06-14T15:30:12.345+07:00").unwrap();
        let b = super::local_time_ms("2026-06-14T15:30:12.3").unwrap();
        assert_eq!(a - b, 45);
        assert_eq!(
            super::local_time_ms("2026-06-14T15:30:13").unwrap() - a,
            655
        );
        for bad in [
            "",
            "2026-13-01T00:00:00",
            "2026-06-14 15:30",
            "20x6-06-14T15:30:12",
        ] {
            assert_eq!(super::local_time_ms(bad), None, "{bad}");
        }
    }
}
