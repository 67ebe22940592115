"""Issue 11, items 9-20 and the path/error items of "Also": each attack from the security
review is refused. Every test here fails on 34e0810."""

from __future__ import annotations

import json

import pytest

from harness.samples import random_jpeg, tiny_jpeg


def _admin_token(g) -> list[tuple[str, str]]:
    out = g.cli_ok("admin-token", "create", "ops").stdout.strip().splitlines()[-1]
    return [("Authorization", f"Bearer {out}")]


# --- 9: write permission is checked again at commit ----------------------------------------

@pytest.mark.parametrize("change", ["close", "archive", "revoke", "window"])
def test_upload_begun_before_the_event_closed_does_not_commit(gateway, change):
    c = gateway.photographer("ula", ["fair"])
    photo = random_jpeg(300_000, seed=9)

    def body():
        yield photo[:65536]
        # The body is streaming: the event changes under it.
        if change == "close":
            gateway.close_event("fair")
        elif change == "archive":
            gateway.cli_ok("event", "archive", "fair")
        elif change == "revoke":
            gateway.cli_ok("grant", "revoke", "ula", "fair")
        else:
            gateway.cli_ok("event", "set", "fair", "--ends-at", "2001-01-01T00:00:00Z")
        yield photo[65536:]

    r = c.create("/fair/late.jpg", body())
    assert r.status in (403, 404), r
    # Nothing committed: the photographer's tree (where still visible) and the blobs are empty.
    assert gateway.blob_files() == set()
    if change in ("close", "window"):
        assert c.stat("/fair/late.jpg").status == 404


# --- 13: truncate only shrinks --------------------------------------------------------------

def test_truncate_cannot_grow_a_file(alice):
    photo = random_jpeg(50_000, seed=13)
    assert alice.create("/event-a/t.jpg", photo).status in (200, 201)
    r = alice.truncate("/event-a/t.jpg", 2 << 30)
    assert r.status == 400, r
    assert "shrink" in json.loads(r.body)["error"]
    assert json.loads(alice.stat("/event-a/t.jpg").body)["size"] == len(photo)
    # Shrinking still works (a photo cut to its first bytes is still a JPEG).
    assert alice.truncate("/event-a/t.jpg", 40_000).status == 200
    assert json.loads(alice.stat("/event-a/t.jpg").body)["size"] == 40_000


# --- 15: entries per namespace are bounded --------------------------------------------------

@pytest.mark.gateway_env(FTPGATE_UPLOAD__MAX_ENTRIES_PER_NAMESPACE="5")
def test_mkdir_in_a_loop_is_bounded(gateway):
    c = gateway.photographer("mia", ["loop"])
    for i in range(5):
        assert c.mkdir(f"/loop/d{i}").status in (200, 201)
    r = c.mkdir("/loop/d5")
    assert r.status == 507, r
    # Nor through an upload that would create folders.
    assert c.create("/loop/new/a.jpg", tiny_jpeg(1)).status == 507
    # Another photographer's namespace in the same event is not affected.
    other = gateway.photographer("noa", ["loop"])
    assert other.mkdir("/loop/x").status in (200, 201)
    # Removing one makes room again.
    assert c.remove("/loop/d0").status == 200
    assert c.mkdir("/loop/d5").status in (200, 201)


# --- Also: a directory rename cannot push a path past 1,024 bytes --------------------------

def test_directory_rename_cannot_push_a_descendant_past_the_path_limit(alice):
    seg = "s" * 250
    # /event-a/a/<250>/<250>/<250>/<240>.jpg is within 1,024 bytes; a longer name for "a" is not.
    assert alice.mkdir("/event-a/a").status in (200, 201)
    assert alice.mkdir(f"/event-a/a/{seg}").status in (200, 201)
    assert alice.mkdir(f"/event-a/a/{seg}/{seg}").status in (200, 201)
    assert alice.mkdir(f"/event-a/a/{seg}/{seg}/{seg}").status in (200, 201)
    deep = f"/event-a/a/{seg}/{seg}/{seg}/{'p' * 240}.jpg"  # 1,008 bytes
    assert alice.create(deep, tiny_jpeg(7)).status in (200, 201)
    r = alice.rename("/event-a/a", "/event-a/" + "b" * 20)  # would be 1,027 bytes
    assert r.status == 400, r
    assert "1024" in json.loads(r.body)["error"]
    assert alice.stat(deep).status == 200
    # A rename that keeps every path short enough still works.
    assert alice.rename("/event-a/a", "/event-a/c").status == 200
    assert alice.stat(deep.replace("/event-a/a/", "/event-a/c/")).status == 200


# --- 20: webhook changes through the API are audited ----------------------------------------

def test_event_webhook_change_is_audited(gateway):
    gateway.add_event("wh")
    auth = _admin_token(gateway) + [("Content-Type", "application/json")]
    body = json.dumps({"url": "http://127.0.0.1:9/hook", "secret": "s3cret"}).encode()
    r = gateway.http("PUT", "/api/v1/events/wh/webhook", auth, body)
    assert r.status == 200, r
    r = gateway.http("GET", "/api/v1/audit?limit=50", auth)
    items = json.loads(r.body)["items"]
    hits = [i for i in items if i["action"] == "admin.event.webhook"]
    assert len(hits) == 1, items
    assert hits[0]["event"] == "wh"
    assert "s3cret" not in r.body.decode()


def _break_blob_store(gateway) -> None:
    """Local blobs: the blobs folder replaced by a file, so every probe write fails."""
    blobs = gateway.data_dir / "blobs"
    blobs.rename(gateway.data_dir / "blobs.away")
    blobs.write_bytes(b"not a folder")


@pytest.mark.gateway_env(FTPGATE_HTTP__READYZ_CACHE_SECS="600")
def test_readyz_reuses_its_answer(gateway):
    if gateway.s3:
        pytest.skip("breaks the local blob folder")
    assert gateway.http("GET", "/readyz").status == 200
    _break_blob_store(gateway)
    for _ in range(20):
        assert gateway.http("GET", "/readyz").status == 200, "the cached answer, no new probe"


@pytest.mark.gateway_env(FTPGATE_HTTP__READYZ_CACHE_SECS="0")
def test_readyz_failing_answer_carries_no_details(gateway):
    if gateway.s3:
        pytest.skip("breaks the local blob folder")
    _break_blob_store(gateway)
    r = gateway.http("GET", "/readyz")
    assert r.status == 503
    assert json.loads(r.body) == {"ready": False, "catalog": "ok", "blobs": "failing"}
    assert str(gateway.data_dir) not in r.body.decode()
