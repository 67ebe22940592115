"""Issue 12 §5: the notification types a platform receives (photo.created, photo.deleted,
upload.rejected) and the per-event filter of which are sent."""

from __future__ import annotations

import json
import time

from harness.samples import random_jpeg, tiny_jpeg
from test_name_clash import _Receiver, _wait


def test_deleted_and_rejected_uploads_are_announced(gateway_factory):
    recv = _Receiver()
    try:
        g = gateway_factory({"FTPGATE_WEBHOOK__URL": recv.url,
                             "FTPGATE_UPLOAD__MAX_FILE_SIZE": "100000"})
        c = g.photographer("pia", ["gala"])
        photo = random_jpeg(20_000, seed=71)
        assert c.create("/gala/A.JPG", photo).status in (200, 201)
        assert c.remove("/gala/A.JPG").status == 200
        assert c.create("/gala/notes.jpg", b"not a photo at all" * 20).status == 415
        assert c.create("/gala/big.jpg", random_jpeg(150_000, seed=72)).status == 413
        assert _wait(lambda: len(recv.calls) == 4), recv.calls
        kinds = [n["type"] for n in recv.calls]
        assert sorted(kinds) == ["photo.created", "photo.deleted", "upload.rejected",
                                 "upload.rejected"], kinds
        deleted = next(n for n in recv.calls if n["type"] == "photo.deleted")
        created = next(n for n in recv.calls if n["type"] == "photo.created")
        assert deleted["photo_id"] == created["photo_id"] and deleted["path"] == "A.JPG"
        rejected = {n["path"]: n for n in recv.calls if n["type"] == "upload.rejected"}
        assert set(rejected) == {"notes.jpg", "big.jpg"}
        assert "photo format" in rejected["notes.jpg"]["reason"]
        assert "too large" in rejected["big.jpg"]["reason"]
        assert all(n["event"] == "gala" and n["photographer"] == "pia" for n in rejected.values())
        # A photo sent again and deleted again is announced again.
        assert c.create("/gala/A.JPG", photo).status in (200, 201)
        assert c.remove("/gala/A.JPG").status == 200
        assert _wait(lambda: len([n for n in recv.calls if n["type"] == "photo.deleted"]) == 2)
    finally:
        recv.stop()


def test_an_event_sends_only_the_types_it_names(gateway):
    recv = _Receiver()
    try:
        gateway.add_event("expo")
        out = gateway.cli_ok("event", "webhook", "expo", "--url", recv.url,
                             "--types", "upload.rejected").stdout
        assert "types sent: upload.rejected" in out
        c = gateway.photographer("quin", ["expo"])
        assert c.create("/expo/A.JPG", tiny_jpeg(5)).status in (200, 201)
        assert c.create("/expo/notes.jpg", b"plain text, no photo" * 10).status == 415
        assert _wait(lambda: len(recv.calls) >= 1)
        time.sleep(1)
        assert [n["type"] for n in recv.calls] == ["upload.rejected"]
        r = gateway.cli("event", "webhook", "expo", "--url", recv.url, "--types", "photo.nope")
        assert r.returncode != 0 and "photo.nope" in r.stderr
        # Through the API, with the types shown back.
        token = gateway.cli_ok("admin-token", "create", "ops").stdout.strip().splitlines()[-1]
        auth = [("Authorization", f"Bearer {token}"), ("Content-Type", "application/json")]
        body = json.dumps({"url": recv.url, "types": ["photo.created", "photo.deleted"]}).encode()
        r = gateway.http("PUT", "/api/v1/events/expo/webhook", auth, body)
        assert r.status == 200 and json.loads(r.body)["types"] == ["photo.created", "photo.deleted"]
        bad = json.dumps({"url": recv.url, "types": ["photo.nope"]}).encode()
        assert gateway.http("PUT", "/api/v1/events/expo/webhook", auth, bad).status in (400, 422)
    finally:
        recv.stop()
