"""Issue 12 §3: metadata at ingest, checked against exiftool's reading of the same file
(exiftool from Debian's libimage-exiftool-perl writes the tags, then is the oracle)."""

from __future__ import annotations

import json
import random
import shutil
import subprocess

import pytest

from test_photo_complete import real
from test_name_clash import _Receiver, _wait

pytestmark = pytest.mark.skipif(shutil.which("exiftool") is None, reason="needs exiftool")

TAGS = [
    "-DateTimeOriginal=2026:06:14 15:30:12", "-SubSecTimeOriginal=345",
    "-OffsetTimeOriginal=+07:00", "-Make=Canon", "-Model=Canon EOS R5",
    "-SerialNumber=052021001234", "-LensModel=RF24-70mm F2.8 L IS USM", "-FNumber=2.8",
    "-ExposureTime=1/250", "-ISO=800", "-FocalLength=50", "-Rating=4",
    "-GPSLatitude=13.7563", "-GPSLatitudeRef=N", "-GPSLongitude=100.5018",
    "-GPSLongitudeRef=E", "-GPSAltitude=12.5", "-GPSAltitudeRef=0",
    "-IPTC:By-line=Ana Lima", "-IPTC:Caption-Abstract=First dance", "-IPTC:Headline=Vows",
    "-IPTC:Keywords=wedding", "-IPTC:Keywords=smith", "-IPTC:CopyrightNotice=(c) Ana Lima",
]


def tagged(tmp_path, kind: str, tags: list[str]) -> bytes:
    name, data = real(kind, seed=random.randrange(1 << 30))
    f = tmp_path / name
    f.write_bytes(data)
    subprocess.run(["exiftool", "-q", "-overwrite_original", *tags, str(f)], check=True)
    return f.read_bytes()


def oracle(tmp_path, data: bytes) -> dict:
    f = tmp_path / "oracle.bin"
    f.write_bytes(data)
    out = subprocess.run(["exiftool", "-j", "-n", "-G", str(f)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)[0]


def _photo(gateway, c, path: str, data: bytes) -> dict:
    assert c.create(path, data).status in (200, 201)
    token = gateway.cli_ok("admin-token", "create", f"t{random.random():.6f}").stdout
    auth = [("Authorization", f"Bearer {token.strip().splitlines()[-1]}")]
    items = json.loads(gateway.http("GET", "/api/v1/events/fair/uploads", auth).body)["items"]
    item = next(i for i in items if i["path"] == path.split("/", 2)[2])
    detail = json.loads(gateway.http("GET", f"/api/v1/uploads/{item['id']}", auth).body)
    assert detail["photo"] == item["photo"]
    return detail


@pytest.mark.parametrize("kind", ["jpeg", "tiff"])
def test_metadata_matches_exiftool(gateway_factory, tmp_path, kind):
    recv = _Receiver()
    try:
        g = gateway_factory({"FTPGATE_WEBHOOK__URL": recv.url,
                             "FTPGATE_UPLOAD__ALLOWED_TYPES": "[jpeg, raw]"})
        c = g.photographer("rae", ["fair"])
        tags = TAGS if kind == "jpeg" else [t for t in TAGS if not t.startswith("-IPTC")]
        data = tagged(tmp_path, kind, tags)
        ex = oracle(tmp_path, data)
        detail = _photo(g, c, f"/fair/IMG_0001.{'JPG' if kind == 'jpeg' else 'TIF'}", data)
        p = detail["photo"]
        assert detail["photo_error"] is None
        # The camera's local time with its offset, sub-seconds as written.
        assert p["captured_at"] == "2026-06-14T15:30:12.345+07:00"
        assert p["camera"] == {"make": ex["EXIF:Make"], "model": ex["EXIF:Model"],
                               "serial": str(ex["EXIF:SerialNumber"])}
        assert p["lens"] == ex["EXIF:LensModel"]
        assert p["exposure"]["iso"] == ex["EXIF:ISO"]
        assert p["exposure"]["aperture"] == pytest.approx(ex["EXIF:FNumber"])
        assert p["exposure"]["focal_length_mm"] == pytest.approx(ex["EXIF:FocalLength"])
        assert p["exposure"]["shutter"] == "1/250"
        assert p["rating"] == ex.get("EXIF:Rating", ex.get("XMP:Rating"))
        assert p["gps"]["lat"] == pytest.approx(ex["EXIF:GPSLatitude"], abs=1e-6)
        assert p["gps"]["lon"] == pytest.approx(ex["EXIF:GPSLongitude"], abs=1e-6)
        assert p["gps"]["alt_m"] == pytest.approx(ex["EXIF:GPSAltitude"], abs=0.01)
        if kind == "jpeg":
            assert p["iptc"] == {"byline": ex["IPTC:By-line"], "caption": ex["IPTC:Caption-Abstract"],
                                 "headline": ex["IPTC:Headline"],
                                 "keywords": ex["IPTC:Keywords"],
                                 "copyright": ex["IPTC:CopyrightNotice"]}
        assert "preview" in p
        # The notification carries the same object.
        assert _wait(lambda: len(recv.calls) >= 1)
        assert recv.calls[0]["photo"] == p
    finally:
        recv.stop()


def test_a_photo_without_metadata_is_accepted_and_says_so(gateway, tmp_path):
    c = gateway.photographer("sam", ["fair"])
    _, data = real("png")
    detail = _photo(gateway, c, "/fair/shot.png", data)
    assert detail["photo"] is None and detail["photo_error"], detail


def test_uploads_sort_by_capture_time_and_filter_by_body(gateway, tmp_path):
    c = gateway.photographer("tia", ["fair"])
    bodies = {"A": "111", "B": "222"}
    # Uploaded in one order, captured in another; one without metadata.
    shots = [("c.jpg", "2026:06:14 12:00:03", "A"), ("a.jpg", "2026:06:14 12:00:01", "B"),
             ("b.jpg", "2026:06:14 12:00:02", "A")]
    for name, when, body in shots:
        data = tagged(tmp_path, "jpeg", [f"-DateTimeOriginal={when}",
                                         f"-SerialNumber={bodies[body]}"])
        assert c.create(f"/fair/{name}", data).status in (200, 201)
    _, plain = real("png")
    assert c.create("/fair/z.png", plain).status in (200, 201)
    token = gateway.cli_ok("admin-token", "create", "ops").stdout.strip().splitlines()[-1]
    auth = [("Authorization", f"Bearer {token}")]

    def page(query: str) -> dict:
        r = gateway.http("GET", f"/api/v1/events/fair/uploads?{query}", auth)
        assert r.status == 200, r
        return json.loads(r.body)

    assert [i["path"] for i in page("sort=captured_at")["items"]] == \
        ["a.jpg", "b.jpg", "c.jpg", "z.png"]
    # Paged by two, the same order, nothing twice.
    first = page("sort=captured_at&limit=2")
    second = page(f"sort=captured_at&limit=2&cursor={first['next_cursor']}")
    assert [i["path"] for i in first["items"] + second["items"]] == \
        ["a.jpg", "b.jpg", "c.jpg", "z.png"]
    # A cursor of one order is refused in the other.
    r = gateway.http("GET", f"/api/v1/events/fair/uploads?cursor={first['next_cursor']}", auth)
    assert r.status == 400
    assert sorted(i["path"] for i in page("camera_serial=111")["items"]) == ["b.jpg", "c.jpg"]
    assert [i["path"] for i in page("camera_serial=222&sort=captured_at")["items"]] == ["a.jpg"]


@pytest.mark.parametrize("magic,name", [(b"IIRO", "P0000001.ORF"), (b"IIU\x00", "P1000001.RW2")])
def test_olympus_and_panasonic_tiff_are_read(gateway_factory, tmp_path, magic, name):
    g = gateway_factory({"FTPGATE_UPLOAD__ALLOWED_TYPES": "[jpeg, raw]"})
    c = g.photographer("uma", ["fair"])
    data = tagged(tmp_path, "tiff", ["-DateTimeOriginal=2026:06:14 09:08:07", "-Make=OLYMPUS",
                                     "-Model=E-M1MarkIII", "-ISO=200"])
    assert data[:4] == b"II*\x00"
    raw = magic + data[4:]
    p = _photo(g, c, f"/fair/{name}", raw)["photo"]
    assert p["captured_at"] == "2026-06-14T09:08:07"
    assert p["camera"]["make"] == "OLYMPUS" and p["camera"]["model"] == "E-M1MarkIII"
    assert p["exposure"]["iso"] == 200


def test_cli_lists_uploads_by_capture_time(gateway, tmp_path):
    c = gateway.photographer("val", ["fair"])
    for name, when, serial in [("late.jpg", "2026:06:14 18:00:00", "999"),
                               ("early.jpg", "2026:06:14 08:00:00", "888")]:
        data = tagged(tmp_path, "jpeg", [f"-DateTimeOriginal={when}", f"-SerialNumber={serial}"])
        assert c.create(f"/fair/{name}", data).status in (200, 201)
    out = gateway.cli_ok("event", "uploads", "fair", "--sort", "captured_at").stdout
    lines = [ln for ln in out.splitlines()[1:] if ln.strip()]
    assert [ln.split()[-1] for ln in lines] == ["early.jpg", "late.jpg"], out
    assert "2026-06-14T08:00:00" in lines[0] and "888" in lines[0]
    out = gateway.cli_ok("event", "uploads", "fair", "--camera-serial", "999").stdout
    assert "late.jpg" in out and "early.jpg" not in out
