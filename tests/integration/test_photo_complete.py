"""Issue 12 §2: only complete files are accepted. Real files (Pillow, pillow-heif), whole and cut
short, through both doors: HTTPFs with a normally ended body, FTP plain with a clean close and
FTPS with a TLS close, as a camera's stack ends an upload mid-file."""

from __future__ import annotations

import ftplib
import io
import json
import random

import pytest

from ftp_support import ftp_gateway, ftp_gateway_factory, insecure_context  # noqa: F401


def _pixels(w: int, h: int, seed: int):
    from PIL import Image
    rnd = random.Random(seed)
    img = Image.new("RGB", (w, h))
    img.putdata([(rnd.randrange(256), rnd.randrange(256), rnd.randrange(256))
                 for _ in range(w * h)])
    return img


def real(kind: str, seed: int = 1) -> tuple[str, bytes]:
    img = _pixels(96, 64, seed)
    buf = io.BytesIO()
    if kind == "jpeg":
        img.save(buf, "JPEG", quality=90)
        return "IMG_0001.JPG", buf.getvalue()
    if kind == "progressive":
        img.save(buf, "JPEG", quality=90, progressive=True)
        return "IMG_0002.JPG", buf.getvalue()
    if kind == "png":
        img.save(buf, "PNG")
        return "shot.png", buf.getvalue()
    if kind == "heic":
        import pillow_heif
        pillow_heif.register_heif_opener()
        img.save(buf, "HEIF", quality=80)
        return "IMG_0003.HEIC", buf.getvalue()
    if kind == "tiff":
        img.save(buf, "TIFF", compression="raw")
        return "scan.tif", buf.getvalue()
    raise AssertionError(kind)


KINDS = ["jpeg", "progressive", "png", "heic", "tiff"]
RAW_ON = {"FTPGATE_UPLOAD__ALLOWED_TYPES": "[jpeg, png, heif, raw]"}


def _uploads(gateway, event: str) -> list[dict]:
    token = gateway.cli_ok("admin-token", "create", f"t{random.random():.9f}").stdout
    auth = [("Authorization", f"Bearer {token.strip().splitlines()[-1]}")]
    return json.loads(gateway.http("GET", f"/api/v1/events/{event}/uploads", auth).body)["items"]


@pytest.mark.parametrize("kind", KINDS)
def test_httpfs_accepts_whole_files_and_refuses_cut_ones(gateway_factory, kind):
    g = gateway_factory(RAW_ON)
    c = g.photographer("ida", ["fair"])
    name, data = real(kind)
    for cut in (len(data) // 3, len(data) - 1):
        r = c.create(f"/fair/{name}", data[:cut])
        assert r.status == 422, (cut, r)
        assert "incomplete" in json.loads(r.body)["error"]
        assert c.stat(f"/fair/{name}").status == 404
    assert g.blob_files() == set(), "nothing of a cut file is kept"
    assert c.create(f"/fair/{name}", data).status in (200, 201)
    assert [u["size"] for u in _uploads(g, "fair")] == [len(data)]


def test_a_jpeg_with_a_second_image_after_its_end_is_whole(gateway):
    c = gateway.photographer("jo", ["fair"])
    _, first = real("jpeg", 2)
    _, second = real("jpeg", 3)
    assert c.create("/fair/MPO_0001.JPG", first + second).status in (200, 201)
    # A cut inside the second image leaves the first whole: accepted too.
    assert c.create("/fair/MPO_0002.JPG", first + second[:100]).status in (200, 201)


def _stor_cut(f: ftplib.FTP, path: str, data: bytes) -> str:
    """Sends `data` and closes the data connection normally (FIN, or TLS close_notify), the
    way a camera's stack ends an upload cut by Wi-Fi trouble; returns the final reply."""
    conn = f.transfercmd(f"STOR {path}")
    conn.sendall(data)
    if hasattr(conn, "unwrap"):
        conn = conn.unwrap()
    conn.close()
    try:
        return f.voidresp()
    except ftplib.Error as e:
        return str(e)


@pytest.mark.parametrize("tls", [False, True], ids=["ftp", "ftps"])
@pytest.mark.parametrize("kind", ["jpeg", "heic", "tiff"])
def test_ftp_upload_cut_by_a_clean_close_is_refused(ftp_gateway_factory, tls, kind):
    g = ftp_gateway_factory(**RAW_ON)
    g.photographer("kai", ["fair"])
    f = g.ftps("kai") if tls else g.ftp("kai")
    name, data = real(kind)
    try:
        reply = _stor_cut(f, f"/fair/{name}", data[: len(data) * 2 // 3])
        assert reply.startswith("451") and "incomplete" in reply and "re-send" in reply, reply
        assert g.blob_files() == set()
        # The camera sends it again, whole: stored.
        assert _stor_cut(f, f"/fair/{name}", data).startswith("226")
        assert f.size(f"/fair/{name}") == len(data)
    finally:
        f.close()
