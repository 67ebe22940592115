"""Issue 12 §1: a name clash never loses a photo. Two bodies of one photographer both send
DSC_0001.JPG into the same folder; the event's `on_name_clash` decides: keep_both (default),
replace, refuse. Through HTTPFs (SFTPGo's wire format) and the FTP door (ftplib)."""

from __future__ import annotations

import ftplib
import io
import json
import time

import pytest

from harness.webhooks import Receiver, wait_until
from harness.samples import random_jpeg, sha256
from ftp_support import ftp_gateway, ftp_gateway_factory  # noqa: F401 (fixtures)


def _admin(gateway) -> list[tuple[str, str]]:
    token = gateway.cli_ok("admin-token", "create", "ops").stdout.strip().splitlines()[-1]
    return [("Authorization", f"Bearer {token}")]


def _uploads(gateway, auth, event: str) -> list[dict]:
    r = gateway.http("GET", f"/api/v1/events/{event}/uploads", auth)
    assert r.status == 200, r
    return json.loads(r.body)["items"]


_Receiver = Receiver


def _wait(pred, timeout=10.0) -> bool:
    return wait_until(pred, timeout) is not None


def test_keep_both_keeps_the_earlier_photo(gateway_factory):
    recv = _Receiver()
    try:
        g = gateway_factory({"FTPGATE_WEBHOOK__URL": recv.url})
        c = g.photographer("lea", ["gala"])
        auth = _admin(g)
        first, second = random_jpeg(40_000, seed=31), random_jpeg(41_000, seed=32)
        assert c.create("/gala/DCIM/DSC_0001.JPG", first).status in (200, 201)
        assert c.create("/gala/DCIM/DSC_0001.JPG", second).status in (200, 201)
        # The tree shows the newest under the name; the earlier photo is kept, not deleted.
        assert c.open("/gala/DCIM/DSC_0001.JPG").body == second
        items = _uploads(g, auth, "gala")
        assert len(items) == 2, items
        newer = next(i for i in items if i["superseded_by"] is None)
        older = next(i for i in items if i["superseded_by"] is not None)
        assert older["superseded_by"] == newer["id"]
        assert (newer["sha256"], older["sha256"]) == (sha256(second), sha256(first))
        # Both downloadable; the detail says who supersedes whom.
        r = g.http("GET", f"/api/v1/uploads/{older['id']}/content", auth)
        assert r.status == 200 and r.body == first
        detail = json.loads(g.http("GET", f"/api/v1/uploads/{newer['id']}", auth).body)
        assert detail["supersedes"] == older["id"]
        assert g.http("GET", "/api/v1/uploads/0000000000000000000000000z", auth).status == 404
        assert g.http("GET", "/api/v1/uploads/not-an-id", auth).status == 400
        # The quota counts both photos.
        ev = json.loads(g.http("GET", "/api/v1/events/gala", auth).body)
        assert (ev["used_files"], ev["used_bytes"]) == (2, len(first) + len(second))
        # Notifications: the newer names what it supersedes; the earlier hears it was.
        assert _wait(lambda: len(recv.calls) == 3), recv.calls
        created = [n for n in recv.calls if n["type"] == "photo.created"]
        superseded = [n for n in recv.calls if n["type"] == "photo.superseded"]
        assert len(superseded) == 1 and superseded[0]["photo_id"] == older["id"]
        assert superseded[0]["superseded_by"] == newer["id"]
        assert created[-1]["photo_id"] == newer["id"] and created[-1]["supersedes"] == older["id"]
        # An identical re-send stays one photo, one notification.
        assert c.create("/gala/DCIM/DSC_0001.JPG", second).status in (200, 201)
        time.sleep(1)
        assert len(_uploads(g, auth, "gala")) == 2 and len(recv.calls) == 3
        # Deleting removes the visible photo only; the superseded one does not come back.
        assert c.remove("/gala/DCIM/DSC_0001.JPG").status == 200
        assert c.stat("/gala/DCIM/DSC_0001.JPG").status == 404
        items = _uploads(g, auth, "gala")
        assert [i["id"] for i in items] == [older["id"]]
        assert g.http("GET", f"/api/v1/uploads/{older['id']}/content", auth).body == first
        # reconcile --fix does not take the kept blob for an orphan.
        g.cli_ok("reconcile", "--fix", "--grace-secs", "0")
        assert g.http("GET", f"/api/v1/uploads/{older['id']}/content", auth).body == first
    finally:
        recv.stop()


def test_a_temporary_upload_renamed_onto_a_taken_name_keeps_both(gateway):
    c = gateway.photographer("max", ["gala"])
    auth = _admin(gateway)
    first, second = random_jpeg(30_000, seed=41), random_jpeg(30_500, seed=42)
    assert c.create("/gala/IMG_1.JPG", first).status in (200, 201)
    assert c.create("/gala/IMG_1.JPG.filepart", second).status in (200, 201)
    assert c.rename("/gala/IMG_1.JPG.filepart", "/gala/IMG_1.JPG").status == 200
    assert c.open("/gala/IMG_1.JPG").body == second
    items = _uploads(gateway, auth, "gala")
    assert sorted(i["sha256"] for i in items) == sorted([sha256(first), sha256(second)])


def _set_rule(gateway, auth, event: str, rule: str) -> None:
    r = gateway.http("PATCH", f"/api/v1/events/{event}", auth + [("Content-Type", "application/json")],
                     json.dumps({"on_name_clash": rule}).encode())
    assert r.status == 200 and json.loads(r.body)["on_name_clash"] == rule, r


def test_replace_and_refuse_through_httpfs(gateway):
    c = gateway.photographer("ned", ["gala"])
    auth = _admin(gateway)
    ev = json.loads(gateway.http("GET", "/api/v1/events/gala", auth).body)
    assert ev["on_name_clash"] == "keep_both"
    first, second, third = (random_jpeg(20_000, seed=s) for s in (51, 52, 53))
    _set_rule(gateway, auth, "gala", "replace")
    assert c.create("/gala/A.JPG", first).status in (200, 201)
    assert c.create("/gala/A.JPG", second).status in (200, 201)
    assert [i["sha256"] for i in _uploads(gateway, auth, "gala")] == [sha256(second)]
    out = gateway.cli_ok("event", "set", "gala", "--on-name-clash", "refuse").stdout
    assert "on a name clash: refuse" in out
    r = c.create("/gala/A.JPG", third)
    assert r.status == 409, r
    assert "name" in json.loads(r.body)["error"]
    assert c.open("/gala/A.JPG").body == second
    # The same bytes again are no clash; a new name is fine.
    assert c.create("/gala/A.JPG", second).status in (200, 201)
    assert c.create("/gala/B.JPG", third).status in (200, 201)
    assert gateway.cli("event", "set", "gala", "--on-name-clash", "maybe").returncode != 0


def test_ftp_door_follows_the_rule(ftp_gateway):
    g = ftp_gateway
    g.photographer("ola", ["gala"])
    auth = _admin(g.gw)
    f = g.ftp("ola")
    try:
        first, second = random_jpeg(25_000, seed=61), random_jpeg(25_000, seed=62)
        assert f.storbinary("STOR /gala/DSC_0001.JPG", io.BytesIO(first)).startswith("226")
        assert f.storbinary("STOR /gala/DSC_0001.JPG", io.BytesIO(second)).startswith("226")
        assert len(_uploads(g.gw, auth, "gala")) == 2, "the earlier photo is kept"
        _set_rule(g.gw, auth, "gala", "refuse")
        with pytest.raises(ftplib.error_perm) as e:
            f.storbinary("STOR /gala/DSC_0001.JPG", io.BytesIO(random_jpeg(25_000, seed=63)))
        assert str(e.value).startswith("553"), e.value
        assert f.size("/gala/DSC_0001.JPG") == len(second)
    finally:
        f.close()
