"""The admin REST API (/api/v1, issue 5) against a running gateway: bearer tokens made and
revoked with the CLI, every endpoint, its 400/401/404/409/422 answers, pagination of an
event's uploads (made through HTTPFs) and of the audit log, and that the CLI and the API see
and change the same catalog."""

from __future__ import annotations

import json
import time
import urllib.parse

import pytest

from harness.checks import parse_rfc3339, put, wait_for
from harness.gowire import Response
from harness.samples import PNG, sha256, tiny_jpeg

API = "/api/v1"


class Admin:
    """One admin API client: a bearer token and one method for any call."""

    def __init__(self, gateway, token: str | None):
        self.gateway = gateway
        self.token = token

    def call(self, method: str, path: str, body=None, *, query: dict | None = None,
             token: str | None | object = ..., headers: list | None = None,
             raw: bytes | None = None) -> Response:
        target = API + path
        if query:
            target += "?" + urllib.parse.urlencode(query)
        hdrs = list(headers or [])
        tok = self.token if token is ... else token
        if tok is not None:
            hdrs.append(("Authorization", f"Bearer {tok}"))
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None and not any(k.lower() == "content-type" for k, _ in hdrs):
            hdrs.append(("Content-Type", "application/json"))
        return self.gateway.http(method, target, hdrs, data)

    def ok(self, method: str, path: str, body=None, *, status: int = 200, **kw):
        r = self.call(method, path, body, **kw)
        assert r.status == status, f"{method} {path}: expected {status}, got {r!r}"
        return r.json() if r.body else None

    def get(self, path: str, **kw):
        return self.ok("GET", path, **kw)

    def error(self, status: int, method: str, path: str, body=None, **kw) -> dict:
        """The call fails with `status` and the API's JSON error body."""
        r = self.call(method, path, body, **kw)
        assert r.status == status, f"{method} {path}: expected {status}, got {r!r}"
        assert (r.header("content-type") or "").startswith("application/json"), r
        err = r.json()
        assert isinstance(err.get("error"), str) and err["error"], err
        assert isinstance(err.get("message"), str) and err["message"], err
        return err


def make_token(gateway, name: str) -> str:
    out = gateway.cli_ok("admin-token", "create", name).stdout
    lines = [ln.strip() for ln in out.splitlines() if ln.strip()]
    assert lines and lines[-1].startswith("fgat_"), out
    return lines[-1]


@pytest.fixture
def admin(gateway) -> Admin:
    return Admin(gateway, make_token(gateway, "ops"))


# --- authentication ----------------------------------------------------------------------

def test_every_endpoint_needs_a_valid_bearer_token(gateway, admin):
    gateway.add_photographer("alice", "pw-123456")
    gateway.add_event("ev-a")
    gateway.grant("alice", "ev-a")
    calls = [
        ("GET", "/photographers", None), ("POST", "/photographers", {"username": "bob"}),
        ("GET", "/photographers/alice", None), ("PATCH", "/photographers/alice", {}),
        ("POST", "/photographers/alice/revoke-keys", None),
        ("GET", "/photographers/alice/usage", None),
        ("GET", "/events", None), ("POST", "/events", {"id": "ev-b"}),
        ("GET", "/events/ev-a", None), ("PATCH", "/events/ev-a", {"name": "x"}),
        ("GET", "/events/ev-a/usage", None), ("GET", "/events/ev-a/uploads", None),
        ("GET", "/grants", None), ("POST", "/grants", {"username": "alice", "event": "ev-a"}),
        ("GET", "/grants/alice/ev-a", None), ("PATCH", "/grants/alice/ev-a", {"role": "viewer"}),
        ("DELETE", "/grants/alice/ev-a", None),
        ("GET", "/audit", None), ("GET", "/tokens", None), ("DELETE", "/tokens/ops", None),
    ]
    revoked = make_token(gateway, "old")
    gateway.cli_ok("admin-token", "revoke", "old")
    for method, path, body in calls:
        for tok in (None, "fgat_nope", revoked, "", "x" * 5000):
            r = admin.call(method, path, body, token=tok)
            assert r.status == 401, f"{method} {path} with {tok!r:.20}: {r!r}"
            assert r.json()["error"] == "unauthorized"
            assert (r.header("www-authenticate") or "").lower().startswith("bearer")
        r = admin.call(method, path, body, token=None,
                       headers=[("Authorization", "Basic " + "b3BzOnB3")])
        assert r.status == 401, r
    # Nothing changed behind the 401s.
    assert [p["username"] for p in admin.get("/photographers")["items"]] == ["alice"]
    assert admin.get("/grants/alice/ev-a")["role"] == "uploader"
    assert [e["id"] for e in admin.get("/events")["items"]] == ["ev-a"]


def test_tokens_are_listed_and_revoked_by_cli_and_api(gateway, admin):
    second = make_token(gateway, "ci")
    assert admin.get("/tokens", token=second)["items"][0]["name"] in ("ci", "ops")
    # Only the hash is stored: the token appears in no catalog listing.
    listing = gateway.cli_ok("admin-token", "list").stdout
    assert "ci" in listing and "ops" in listing and second not in listing
    names = {t["name"]: t for t in admin.get("/tokens")["items"]}
    assert names["ops"]["active"] and names["ci"]["active"]
    assert names["ops"]["last_used_at"] is not None
    parse_rfc3339(names["ci"]["created_at"])
    assert second not in json.dumps(admin.get("/tokens"))
    # A token cannot revoke itself through the API (the CLI can).
    assert admin.error(409, "DELETE", "/tokens/ci", token=second)["error"] == "own_token"
    # Revoked through the API: refused at once; the CLI sees it revoked.
    admin.ok("DELETE", "/tokens/ci", status=204)
    admin.error(401, "GET", "/events", token=second)
    record = admin.get("/audit", query={"limit": 1})["items"][0]
    assert (record["action"], record["target"], record["door"]) == ("admin.token.revoke", "ci", "admin")
    assert "ops" in record["detail"] and second not in json.dumps(record)
    assert "revoked" in gateway.cli_ok("admin-token", "list").stdout
    admin.error(404, "DELETE", "/tokens/ci")
    admin.error(400, "DELETE", "/tokens/Not%20A%20Name")
    # A name can be used again once its token is revoked; not while it is active.
    third = make_token(gateway, "ci")
    assert admin.get("/events", token=third) == {"items": []}
    r = gateway.cli("admin-token", "create", "ci")
    assert r.returncode != 0 and "already exists" in r.stderr
    r = gateway.cli("admin-token", "revoke", "nobody")
    assert r.returncode != 0 and "no active admin token" in r.stderr
    # Revoked with the CLI: refused too.
    gateway.cli_ok("admin-token", "revoke", "ops")
    admin.error(401, "GET", "/events")


def test_the_openapi_document_needs_no_token_and_describes_the_api(gateway):
    r = gateway.http("GET", API + "/openapi.json")
    assert r.status == 200, r
    assert r.header("content-type").startswith("application/json")
    doc = r.json()
    assert doc["openapi"].startswith("3.1")
    assert doc["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    assert doc["security"] == [{"bearer": []}]
    expected = {
        ("/api/v1/photographers", "get"), ("/api/v1/photographers", "post"),
        ("/api/v1/photographers/{username}", "get"), ("/api/v1/photographers/{username}", "patch"),
        ("/api/v1/photographers/{username}/revoke-keys", "post"),
        ("/api/v1/photographers/{username}/unlock", "post"),
        ("/api/v1/uploads/{id}", "get"),
        ("/api/v1/uploads/{id}/content", "get"),
        ("/api/v1/photographers/{username}/usage", "get"),
        ("/api/v1/events", "get"), ("/api/v1/events", "post"),
        ("/api/v1/events/{id}", "get"), ("/api/v1/events/{id}", "patch"),
        ("/api/v1/events/{id}/usage", "get"), ("/api/v1/events/{id}/uploads", "get"),
        ("/api/v1/grants", "get"), ("/api/v1/grants", "post"),
        ("/api/v1/grants/{username}/{event}", "get"),
        ("/api/v1/grants/{username}/{event}", "patch"),
        ("/api/v1/grants/{username}/{event}", "delete"),
        ("/api/v1/audit", "get"), ("/api/v1/tokens", "get"), ("/api/v1/tokens/{name}", "delete"),
        ("/api/v1/notifications", "get"), ("/api/v1/events/{id}/webhook", "put"),
    }
    found = {(p, m) for p, item in doc["paths"].items() for m in item}
    assert found == expected
    for p, m in found:
        responses = doc["paths"][p][m]["responses"]
        assert {"400", "401", "500"} <= set(responses), (p, m)


# --- photographers ------------------------------------------------------------------------

def test_photographers(gateway, admin):
    created = admin.ok("POST", "/photographers", {"username": "Alice"}, status=201)
    assert created["username"] == "alice" and created["status"] == "active"
    password = created["password"]
    assert len(password) >= 16
    assert gateway.auth("alice", password).status == 200
    chosen = admin.ok("POST", "/photographers", {"username": "bob", "password": "bob-secret-1"},
                      status=201)
    assert "password" not in chosen, "a chosen password is never echoed"
    assert gateway.auth("bob", "bob-secret-1").status == 200

    admin.error(409, "POST", "/photographers", {"username": "ALICE"})
    admin.error(400, "POST", "/photographers", {"username": "a"})
    admin.error(400, "POST", "/photographers", {"username": " carol"})
    admin.error(400, "POST", "/photographers", {"username": "carol", "password": "short"})
    admin.error(400, "POST", "/photographers", {"username": "carol", "password": "bad\u0007pass!"})
    admin.error(422, "POST", "/photographers", {"username": "carol", "extra": 1})
    admin.error(422, "POST", "/photographers", {"username": 5})
    admin.error(422, "POST", "/photographers", {})
    admin.error(400, "POST", "/photographers", raw=b"{not json")
    admin.error(400, "POST", "/photographers", raw=b"")
    admin.error(415, "POST", "/photographers", raw=b"username=carol",
                headers=[("Content-Type", "application/x-www-form-urlencoded")])

    items = admin.get("/photographers")["items"]
    assert [p["username"] for p in items] == ["alice", "bob"]
    assert admin.get("/photographers/Alice")["username"] == "alice"
    admin.error(404, "GET", "/photographers/nobody")
    admin.error(400, "GET", "/photographers/no%20body")

    # Disable: logins refused; enable: allowed again; the key generation moves on disabling.
    gen = admin.get("/photographers/alice")["key_generation"]
    p = admin.ok("PATCH", "/photographers/alice", {"status": "disabled"})
    assert p["status"] == "disabled" and p["key_generation"] > gen
    assert gateway.auth("alice", password).status == 401
    assert admin.ok("PATCH", "/photographers/alice", {"status": "active"})["status"] == "active"
    assert gateway.auth("alice", password).status == 200
    # New password: the old one stops working.
    admin.ok("PATCH", "/photographers/alice", {"password": "alice-new-pw"})
    assert gateway.auth("alice", password, ip="10.0.0.7").status == 401
    assert gateway.auth("alice", "alice-new-pw").status == 200
    admin.error(400, "PATCH", "/photographers/alice", {"password": "short"})
    admin.error(422, "PATCH", "/photographers/alice", {"status": "sleeping"})
    admin.error(404, "PATCH", "/photographers/nobody", {"status": "disabled"})
    assert admin.ok("PATCH", "/photographers/alice", {})["status"] == "active"
    # The CLI sees what the API did, and the other way round.
    gateway.cli_ok("photographer", "disable", "bob")
    assert admin.get("/photographers/bob")["status"] == "disabled"
    assert "disabled" in [ln for ln in gateway.cli_ok("photographer", "list").stdout.splitlines()
                          if ln.startswith("bob")][0]


def test_revoke_keys_stops_httpfs_sessions(gateway, admin):
    client = gateway.photographer("alice", ["ev-a"])
    put(client, "/ev-a/a.jpg", tiny_jpeg(1))
    before = admin.get("/photographers/alice")["key_generation"]
    after = admin.ok("POST", "/photographers/alice/revoke-keys")["key_generation"]
    assert after == before + 1
    wait_for(lambda: client.stat("/ev-a/a.jpg").status in (401, 403), timeout=15,
             what="the revoked HTTPFs key refused")
    admin.error(404, "POST", "/photographers/nobody/revoke-keys")


# --- events -------------------------------------------------------------------------------

def test_events(gateway, admin):
    ev = admin.ok("POST", "/events", {
        "id": "gala-2026", "name": "Summer Gala", "starts_at": "2026-06-01T09:00:00+02:00",
        "ends_at": "2026-06-02T00:00:00Z", "max_bytes": 10_000_000, "max_files": 500,
        "max_file_size": 50_000_000, "allowed_types": ["jpeg", "raw", "jpeg"]}, status=201)
    assert ev["id"] == "gala-2026" and ev["name"] == "Summer Gala" and ev["status"] == "open"
    assert parse_rfc3339(ev["starts_at"]) == parse_rfc3339("2026-06-01T07:00:00Z")
    assert ev["allowed_types"] == ["jpeg", "raw"]
    assert (ev["max_bytes"], ev["max_files"], ev["max_file_size"]) == (10_000_000, 500, 50_000_000)
    assert (ev["used_bytes"], ev["used_files"]) == (0, 0)
    plain = admin.ok("POST", "/events", {"id": "plain"}, status=201)
    assert plain["name"] == "plain" and plain["allowed_types"] is None and plain["ends_at"] is None

    admin.error(409, "POST", "/events", {"id": "plain"})
    for bad in [{"id": "Plain"}, {"id": "x"}, {"id": "ok-id", "max_bytes": -1},
                {"id": "ok-id", "max_file_size": 0}, {"id": "ok-id", "allowed_types": []},
                {"id": "ok-id", "starts_at": "2026-06-02T00:00:00Z", "ends_at": "2026-06-01T00:00:00Z"},
                {"id": "ok-id", "starts_at": "June 1st"}, {"id": "ok-id", "name": "a\nb"},
                {"id": "ok-id", "name": "n" * 201}, {"id": "ok-id", "max_files": 2 ** 53}]:
        admin.error(400, "POST", "/events", bad)
    for bad in [{"id": "ok-id", "allowed_types": ["gif"]}, {"id": "ok-id", "max_bytes": "1"},
                {"id": "ok-id", "max_bytes": 2 ** 64}, {"id": "ok-id", "status": "open"}]:
        admin.error(422, "POST", "/events", bad)
    assert admin.call("GET", "/events/ok-id").status == 404, "nothing half-created"

    assert [e["id"] for e in admin.get("/events")["items"]] == ["gala-2026", "plain"]
    assert admin.get("/events/gala-2026") == ev
    admin.error(404, "GET", "/events/nope")
    admin.error(404, "PATCH", "/events/nope", {"name": "x"})

    # PATCH: absent stays, null clears, a value sets.
    p = admin.ok("PATCH", "/events/gala-2026", {"max_bytes": None, "ends_at": None,
                                                "status": "closed", "name": "Gala"})
    assert p["max_bytes"] is None and p["ends_at"] is None and p["status"] == "closed"
    assert p["max_files"] == 500 and p["starts_at"] == ev["starts_at"] and p["name"] == "Gala"
    admin.error(400, "PATCH", "/events/gala-2026", {"ends_at": "2026-05-01T00:00:00Z"})
    assert admin.ok("PATCH", "/events/gala-2026", {"allowed_types": None})["allowed_types"] is None
    assert admin.ok("PATCH", "/events/gala-2026", {"name": "  "})["name"] == "gala-2026"
    assert admin.ok("PATCH", "/events/gala-2026", {})["status"] == "closed"
    admin.error(422, "PATCH", "/events/gala-2026", {"status": "paused"})
    admin.error(422, "PATCH", "/events/gala-2026", {"max_files": 1.5})
    admin.error(422, "PATCH", "/events/gala-2026", ["not", "an", "object"])
    admin.error(422, "PATCH", "/events/gala-2026", {"id": "renamed"})


def test_event_set_cli_and_the_api_share_settings(gateway, admin):
    gateway.add_event("ev-a")
    gateway.cli_ok("event", "set", "ev-a", "--name", "Event A", "--max-bytes", "1000",
                   "--max-files", "3", "--max-file-size", "500", "--allowed-types", "jpeg,raw",
                   "--starts-at", "2020-01-01T00:00:00Z", "--ends-at", "2099-01-01T00:00:00Z")
    ev = admin.get("/events/ev-a")
    assert (ev["name"], ev["max_bytes"], ev["max_files"], ev["max_file_size"]) == \
        ("Event A", 1000, 3, 500)
    assert ev["allowed_types"] == ["jpeg", "raw"]
    assert parse_rfc3339(ev["ends_at"]).year == 2099
    out = gateway.cli_ok("event", "set", "ev-a", "--max-bytes", "none", "--allowed-types",
                         "none", "--starts-at", "none").stdout
    assert "max bytes none" in out and "allowed types default" in out
    ev = admin.get("/events/ev-a")
    assert ev["max_bytes"] is None and ev["allowed_types"] is None and ev["starts_at"] is None
    assert ev["max_files"] == 3, "flags not given stay"
    for bad in (["--max-bytes", "-5"], ["--max-files", "many"], ["--allowed-types", "gif"],
                ["--ends-at", "tomorrow"], ["--ends-at", "2019-01-01T00:00:00Z",
                                            "--starts-at", "2020-01-01T00:00:00Z"]):
        r = gateway.cli("event", "set", "ev-a", *bad)
        assert r.returncode != 0 and r.stderr.strip(), (bad, r)
    assert gateway.cli("event", "set", "nope", "--max-files", "1").returncode != 0
    # API change, CLI view.
    admin.ok("PATCH", "/events/ev-a", {"status": "closed"})
    line = [ln for ln in gateway.cli_ok("event", "list").stdout.splitlines()
            if ln.startswith("ev-a")][0]
    assert "closed" in line


def test_event_settings_from_the_api_are_enforced_by_the_core(gateway, admin):
    alice = gateway.photographer("alice", ["ev-a"])
    put(alice, "/ev-a/1.jpg", tiny_jpeg(1))
    admin.ok("PATCH", "/events/ev-a", {"allowed_types": ["png"]})
    assert not alice.create("/ev-a/2.jpg", tiny_jpeg(2)).ok
    put(alice, "/ev-a/2.png", PNG)
    admin.ok("PATCH", "/events/ev-a", {"allowed_types": None, "max_files": 2})
    assert not alice.create("/ev-a/3.jpg", tiny_jpeg(3)).ok, "max_files reached"
    admin.ok("PATCH", "/events/ev-a", {"max_files": None})
    put(alice, "/ev-a/3.jpg", tiny_jpeg(3))
    admin.ok("PATCH", "/grants/alice/ev-a", {"role": "viewer"})
    assert not alice.create("/ev-a/4.jpg", tiny_jpeg(4)).ok, "viewers do not upload"
    admin.ok("PATCH", "/grants/alice/ev-a", {"role": "uploader"})
    admin.ok("PATCH", "/events/ev-a", {"ends_at": "2001-01-01T00:00:00Z"})
    assert not alice.create("/ev-a/5.jpg", tiny_jpeg(5)).ok, "the window has ended"
    admin.ok("PATCH", "/events/ev-a", {"ends_at": None})
    put(alice, "/ev-a/5.jpg", tiny_jpeg(5))
    assert admin.get("/events/ev-a")["used_files"] == 4


# --- grants -------------------------------------------------------------------------------

def test_grants(gateway, admin):
    for u in ("alice", "bob"):
        admin.ok("POST", "/photographers", {"username": u}, status=201)
    for e in ("ev-a", "ev-b"):
        admin.ok("POST", "/events", {"id": e}, status=201)
    g = admin.ok("POST", "/grants", {"username": "Alice", "event": "ev-a"}, status=201)
    assert (g["username"], g["event"], g["role"], g["max_bytes"]) == ("alice", "ev-a", "uploader", None)
    g = admin.ok("POST", "/grants", {"username": "bob", "event": "ev-a", "role": "viewer",
                                     "max_bytes": 1234}, status=201)
    assert (g["role"], g["max_bytes"]) == ("viewer", 1234)
    admin.ok("POST", "/grants", {"username": "alice", "event": "ev-b"}, status=201)

    err = admin.error(409, "POST", "/grants", {"username": "alice", "event": "ev-a", "role": "viewer"})
    assert err["error"] == "grant_exists"
    assert admin.get("/grants/alice/ev-a")["role"] == "uploader", "a 409 changes nothing"
    assert admin.error(404, "POST", "/grants", {"username": "nobody", "event": "ev-a"})["error"] \
        == "unknown_photographer"
    assert admin.error(404, "POST", "/grants", {"username": "alice", "event": "nope"})["error"] \
        == "unknown_event"
    admin.error(400, "POST", "/grants", {"username": "alice", "event": "ev-a ", "role": "viewer"})
    admin.error(422, "POST", "/grants", {"username": "alice", "event": "ev-b", "role": "owner"})
    admin.error(400, "POST", "/grants", {"username": "bob", "event": "ev-b", "max_bytes": -1})

    pairs = lambda items: [(g["username"], g["event"]) for g in items]  # noqa: E731
    assert pairs(admin.get("/grants")["items"]) == [("alice", "ev-a"), ("bob", "ev-a"), ("alice", "ev-b")]
    assert pairs(admin.get("/grants", query={"event": "ev-a"})["items"]) == [("alice", "ev-a"), ("bob", "ev-a")]
    assert pairs(admin.get("/grants", query={"username": "ALICE"})["items"]) == [("alice", "ev-a"), ("alice", "ev-b")]
    assert pairs(admin.get("/grants", query={"username": "bob", "event": "ev-b"})["items"]) == []
    admin.error(400, "GET", "/grants", query={"evnt": "ev-a"})
    admin.error(400, "GET", "/grants", query={"event": "EV-A"})

    g = admin.ok("PATCH", "/grants/bob/ev-a", {"max_bytes": None})
    assert (g["role"], g["max_bytes"]) == ("viewer", None)
    g = admin.ok("PATCH", "/grants/bob/ev-a", {"role": "uploader", "max_bytes": 99})
    assert (g["role"], g["max_bytes"]) == ("uploader", 99)
    assert admin.ok("PATCH", "/grants/bob/ev-a", {}) == g
    assert admin.error(404, "PATCH", "/grants/bob/ev-b", {"role": "viewer"})["error"] == "no_such_grant"
    admin.error(404, "GET", "/grants/bob/ev-b")

    # The CLI sees the API's grants and the API sees the CLI's.
    out = gateway.cli_ok("grant", "set", "bob", "ev-a", "--role", "viewer", "--max-bytes", "none").stdout
    assert "viewer" in out and "max bytes none" in out
    g = admin.get("/grants/bob/ev-a")
    assert (g["role"], g["max_bytes"]) == ("viewer", None)
    gateway.cli_ok("grant", "set", "bob", "ev-a", "--max-bytes", "777")
    assert admin.get("/grants/bob/ev-a")["max_bytes"] == 777
    assert gateway.cli("grant", "set", "bob", "ev-b", "--role", "viewer").returncode != 0
    assert gateway.cli("grant", "set", "bob", "ev-a", "--max-bytes", "lots").returncode != 0
    assert "bob" in gateway.cli_ok("grant", "list").stdout

    admin.ok("DELETE", "/grants/bob/ev-a", status=204)
    admin.error(404, "DELETE", "/grants/bob/ev-a")
    admin.error(404, "GET", "/grants/bob/ev-a")
    assert "bob" not in gateway.cli_ok("grant", "list").stdout


# --- usage and uploads --------------------------------------------------------------------

def test_usage_per_event_and_per_photographer(gateway, admin):
    alice = gateway.photographer("alice", ["ev-a", "ev-b"])
    bob = gateway.photographer("bob", ["ev-a"])
    sizes = {"alice": 0, "bob": 0}
    for i in range(3):
        sizes["alice"] += len(put(alice, f"/ev-a/a{i}.jpg", tiny_jpeg(i)))
    sizes["bob"] += len(put(bob, "/ev-a/b.jpg", tiny_jpeg(10)))
    b_size = len(put(alice, "/ev-b/x.jpg", tiny_jpeg(20)))
    admin.ok("PATCH", "/events/ev-a", {"max_bytes": 100_000, "max_files": 10})
    admin.ok("PATCH", "/grants/alice/ev-a", {"max_bytes": 50_000})

    u = admin.get("/events/ev-a/usage")
    assert (u["event"], u["files"], u["bytes"]) == ("ev-a", 4, sizes["alice"] + sizes["bob"])
    assert u["limits"]["max_bytes"] == 100_000 and u["limits"]["max_files"] == 10
    assert u["remaining_bytes"] == 100_000 - u["bytes"] and u["remaining_files"] == 6
    per = {p["username"]: p for p in u["photographers"]}
    assert (per["alice"]["files"], per["alice"]["bytes"], per["alice"]["max_bytes"]) == \
        (3, sizes["alice"], 50_000)
    assert (per["bob"]["files"], per["bob"]["bytes"], per["bob"]["role"]) == (1, sizes["bob"], "uploader")

    p = admin.get("/photographers/alice/usage")
    assert (p["username"], p["files"], p["bytes"]) == ("alice", 4, sizes["alice"] + b_size)
    assert [(e["event"], e["files"]) for e in p["events"]] == [("ev-a", 3), ("ev-b", 1)]

    # A photographer whose grant is gone still shows with their stored files.
    admin.ok("DELETE", "/grants/bob/ev-a", status=204)
    per = {p["username"]: p for p in admin.get("/events/ev-a/usage")["photographers"]}
    assert per["bob"]["role"] is None and per["bob"]["files"] == 1
    assert admin.get("/photographers/bob/usage")["events"][0]["role"] is None

    admin.error(404, "GET", "/events/nope/usage")
    admin.error(404, "GET", "/photographers/nobody/usage")


def test_uploads_are_listed_newest_first_in_pages(gateway, admin):
    alice = gateway.photographer("alice", ["ev-a", "ev-b"])
    bob = gateway.photographer("bob", ["ev-a"])
    expected = {}
    for i in range(23):
        who, client = ("bob", bob) if i % 4 == 0 else ("alice", alice)
        data = tiny_jpeg(i)
        path = f"day{i % 2}/IMG_{i:04d}.JPG"
        put(client, f"/ev-a/{path}", data)
        expected[(who, path)] = data
    put(alice, "/ev-b/elsewhere.jpg", tiny_jpeg(99))

    everything = admin.get("/events/ev-a/uploads", query={"limit": 1000})
    assert everything["next_cursor"] is None
    rows = everything["items"]
    assert {(r["photographer"], r["path"]) for r in rows} == set(expected)
    # Newest first (ties, if any, by path: in the database's collation, so not checked here).
    times = [parse_rfc3339(r["uploaded_at"]) for r in rows]
    assert times == sorted(times, reverse=True), "newest first"
    for r in rows:
        data = expected[(r["photographer"], r["path"])]
        assert (r["size"], r["sha256"], r["content_type"]) == (len(data), sha256(data), "image/jpeg")
        assert r["object_key"].startswith(f"events/ev-a/{r['photographer']}/")
        assert r["blob_missing"] is False and "uploader_ip" in r

    # Pages of 10: 10 + 10 + 3, in the same order, nothing twice, nothing lost.
    pages, cursor = [], None
    while True:
        q = {"limit": 10, **({"cursor": cursor} if cursor else {})}
        page = admin.get("/events/ev-a/uploads", query=q)
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [10, 10, 3]
    assert [r for p in pages for r in p] == rows
    # Exactly one page's worth: no empty trailing page.
    assert admin.get("/events/ev-a/uploads", query={"limit": 23})["next_cursor"] is None

    # A file uploaded while paging goes to the front and does not shift later pages.
    first = admin.get("/events/ev-a/uploads", query={"limit": 10})
    time.sleep(0.01)
    put(alice, "/ev-a/late.jpg", tiny_jpeg(1000))
    second = admin.get("/events/ev-a/uploads", query={"limit": 10, "cursor": first["next_cursor"]})
    assert second["items"] == rows[10:20]
    assert admin.get("/events/ev-a/uploads", query={"limit": 1})["items"][0]["path"] == "late.jpg"

    bobs = admin.get("/events/ev-a/uploads", query={"photographer": "bob", "limit": 1000})["items"]
    assert {r["photographer"] for r in bobs} == {"bob"} and len(bobs) == 6

    default = admin.get("/events/ev-a/uploads")
    assert len(default["items"]) == 24 and default["next_cursor"] is None

    for q in ({"limit": 0}, {"limit": 1001}, {"limit": -1}, {"limit": "ten"},
              {"limit": "9" * 30}, {"cursor": "garbage"}, {"cursor": ""},
              {"cursor": first["next_cursor"][:-3]}, {"photographer": "not valid"},
              {"sort": "path"}):
        admin.error(400, "GET", "/events/ev-a/uploads", query=q)
    audit_cursor = admin.get("/audit", query={"limit": 1})["next_cursor"]
    admin.error(400, "GET", "/events/ev-a/uploads", query={"cursor": audit_cursor})
    admin.error(404, "GET", "/events/nope/uploads")
    assert admin.get("/events/ev-b/uploads")["items"][0]["path"] == "elsewhere.jpg"


# --- audit --------------------------------------------------------------------------------

def test_audit_log_filters_and_pages(gateway, admin):
    alice = gateway.photographer("alice", ["ev-a"])  # logs in from 10.0.0.1
    bob_pw = gateway.add_photographer("bob", "bob-pw-123")
    gateway.add_event("ev-b")
    gateway.grant("bob", "ev-b")
    assert gateway.auth("bob", bob_pw, ip="10.0.0.2").status == 200
    assert gateway.auth("bob", "wrong-pw-1", ip="10.9.9.9").status == 401
    put(alice, "/ev-a/1.jpg", tiny_jpeg(1))
    put(alice, "/ev-a/2.jpg", tiny_jpeg(2))
    admin.ok("PATCH", "/events/ev-b", {"max_files": 5})

    everything = admin.get("/audit", query={"limit": 1000})
    rows = everything["items"]
    assert everything["next_cursor"] is None
    ids = [r["id"] for r in rows]
    assert ids == sorted(ids, reverse=True), "newest first"
    for r in rows:
        parse_rfc3339(r["at"])
    actions = {(r["action"], r["result"], r["photographer"]) for r in rows}
    assert ("login", "ok", "alice") in actions
    assert any(a == "upload" and p == "alice" for a, _, p in actions)
    admin_rows = [r for r in rows if r["door"] == "admin"]
    assert admin_rows and admin_rows[0]["action"] == "admin.event.update"
    assert admin_rows[0]["event"] == "ev-b" and "ops" in admin_rows[0]["detail"]

    by_alice = admin.get("/audit", query={"photographer": "Alice", "limit": 1000})["items"]
    assert by_alice and all(r["photographer"] == "alice" for r in by_alice)
    assert len(by_alice) == sum(1 for r in rows if r["photographer"] == "alice")
    by_event = admin.get("/audit", query={"event": "ev-a", "limit": 1000})["items"]
    assert by_event and all(r["event"] == "ev-a" for r in by_event)
    assert {r["path"] for r in by_event if r["action"] == "upload"} >= {"/ev-a/1.jpg", "/ev-a/2.jpg"}
    failed = admin.get("/audit", query={"ip": "10.9.9.9"})["items"]
    assert [(r["action"], r["photographer"]) for r in failed] == [("login", "bob")]
    assert failed[0]["result"] != "ok"
    both = admin.get("/audit", query={"photographer": "bob", "ip": "10.0.0.2"})["items"]
    assert [r["result"] for r in both] == ["ok"]
    assert admin.get("/audit", query={"photographer": "nobody"})["items"] == []

    # Time range: since is inclusive, until exclusive.
    pivot = rows[len(rows) // 2]
    since = admin.get("/audit", query={"since": pivot["at"], "limit": 1000})["items"]
    until = admin.get("/audit", query={"until": pivot["at"], "limit": 1000})["items"]
    t = parse_rfc3339(pivot["at"])
    assert pivot["id"] in {r["id"] for r in since} and pivot["id"] not in {r["id"] for r in until}
    assert all(parse_rfc3339(r["at"]) >= t for r in since)
    assert all(parse_rfc3339(r["at"]) < t for r in until)
    assert len(since) + len(until) == len(rows)
    assert admin.get("/audit", query={"since": "2999-01-01T00:00:00Z"})["items"] == []
    assert len(admin.get("/audit", query={"since": "2000-01-01T00:00:00+05:00", "limit": 1000})["items"]) == len(rows)

    # Pages of 3 give the same rows in the same order; filters hold across pages.
    got, cursor = [], None
    while True:
        page = admin.get("/audit", query={"limit": 3, **({"cursor": cursor} if cursor else {})})
        assert len(page["items"]) <= 3
        got += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [r["id"] for r in got] == ids
    page = admin.get("/audit", query={"photographer": "alice", "limit": 2})
    rest = admin.get("/audit", query={"photographer": "alice", "limit": 1000,
                                      "cursor": page["next_cursor"]})["items"]
    assert [r["id"] for r in page["items"] + rest] == [r["id"] for r in by_alice]

    for q in ({"since": "yesterday"}, {"until": "2026-13-01T00:00:00Z"}, {"limit": 0},
              {"limit": 100000}, {"cursor": "nope"}, {"ip": "10.0.0.1; --"},
              {"event": "Not Valid"}, {"photographer": ""}, {"who": "alice"}):
        admin.error(400, "GET", "/audit", query=q)
