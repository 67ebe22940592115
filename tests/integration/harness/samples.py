"""Small files with the magic bytes of the photo formats ftpgate accepts, and of some it
must refuse. The type is decided by the leading bytes; the structure must also be whole
(ftpgate refuses a file cut short), so each accepted sample is a complete, tiny container:
JPEG segments up to an end marker, PNG up to IEND, ISO-BMFF boxes that add up, TIFF IFDs and
RAF offsets inside the file."""

from __future__ import annotations

import hashlib
import random

# JPEG SOI + APP0 JFIF segment; the gateway (like infer) looks at FF D8 FF.
JPEG_HEADER = bytes.fromhex("ffd8ffe000104a46494600010100000100010000")
JPEG_EOI = b"\xff\xd9"


def jpeg(payload: bytes = b"") -> bytes:
    """A minimal JPEG: header, ``payload``, end-of-image marker."""
    return JPEG_HEADER + payload + JPEG_EOI


def tiny_jpeg(i: int) -> bytes:
    return jpeg(b"photo-%d" % i)


def random_jpeg(size: int, seed: int = 0) -> bytes:
    """A ``size``-byte file that starts like a JPEG; the rest is seeded random bytes. The byte
    after the header is no marker, so the structure check takes it as unreadable (accepted),
    never as a cut scan."""
    assert size > len(JPEG_HEADER)
    return JPEG_HEADER + b"\x00" + random.Random(seed).randbytes(size - len(JPEG_HEADER) - 1)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    import struct
    import zlib
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_1x1() -> bytes:
    import struct
    import zlib
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)  # 1x1, 8-bit RGBA
    idat = zlib.compress(b"\x00\x00\x00\x00\x00")      # filter byte + one pixel
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat)
            + _png_chunk(b"IEND", b""))


# A complete 1x1 PNG (the earlier hand-written one declared 13 IDAT bytes and held 14).
PNG = _png_1x1()

# ISO-BMFF ftyp box, major brand heic (what iPhones write).
HEIC = (bytes.fromhex("00000018") + b"ftyp" + b"heic" + bytes(4) + b"mif1" + b"heic"
        + bytes.fromhex("00000018") + b"meta" + b"\x00" * 16
        + bytes.fromhex("00000018") + b"mdat" + b"\x00" * 16)

# TIFF-based RAW: CR2 has "CR\x02" at offset 8; NEF (big-endian), ARW and DNG are plain
# TIFF headers followed by an IFD.
_IFD = bytes.fromhex("0100" "0001" "0300" "01000000" "0100" "0000" "00000000")
CR2 = b"II*\x00\x10\x00\x00\x00" + b"CR\x02\x00" + bytes(4) + _IFD + b"\x00" * 32
NEF = b"MM\x00*\x00\x00\x00\x08" + bytes.fromhex("0001" "0100" "0003" "00000001" "0001" "0000"
                                                  "00000000") + b"\x00" * 32
ARW = b"II*\x00\x08\x00\x00\x00" + _IFD + b"\x00" * 32
DNG = b"II*\x00\x08\x00\x00\x00" + _IFD + b"\x00" * 40
# Olympus ORF ("IIRO"), Panasonic RW2 ("IIU\0"), Canon CR3 (ftyp "crx "), Fujifilm RAF.
ORF = b"IIRO\x08\x00\x00\x00" + _IFD + b"\x00" * 32
RW2 = b"IIU\x00\x18\x00\x00\x00" + b"\x00" * 48
CR3 = (bytes.fromhex("00000018") + b"ftyp" + b"crx " + bytes.fromhex("00000001") + b"crx "
       + b"isom" + bytes.fromhex("00000008") + b"moov"
       + bytes.fromhex("00000028") + b"mdat" + b"\x00" * 32)
# The header's JPEG, CFA-header and CFA offsets (at 84..108) are zero: nothing outside it.
RAF = b"FUJIFILMCCD-RAW 0201FF383501" + b"\x00" * 92

# name the camera would give it -> bytes
ACCEPTED = {
    "jpeg": ("IMG_0001.JPG", jpeg(b"accepted")),
    "png": ("screen.png", PNG),
    "heic": ("IMG_0002.HEIC", HEIC),
    "cr2": ("IMG_0003.CR2", CR2),
    "nef": ("DSC_0004.NEF", NEF),
    "arw": ("DSC05.ARW", ARW),
    "dng": ("IMG_0006.DNG", DNG),
    "orf": ("P0000007.ORF", ORF),
    "rw2": ("P1000008.RW2", RW2),
    "cr3": ("IMG_0009.CR3", CR3),
    "raf": ("DSCF0010.RAF", RAF),
}

REFUSED = {
    "text": ("notes.jpg", b"this is not a photo, it only has a photo's name\n"),
    "empty": ("empty.jpg", b""),
    "gif": ("anim.gif", b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04"
            b"\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"),
    "pdf": ("scan.jpg", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"),
    "zip": ("photos.jpg", b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 40),
    "elf": ("IMG_0100.JPG", b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56),
    "html": ("index.jpg", b"<!doctype html><html><body>hi</body></html>\n"),
    "jpeg-magic-not-at-start": ("late.jpg", b" " + jpeg(b"late")),
}
