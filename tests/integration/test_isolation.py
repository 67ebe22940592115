"""Tenancy: a photographer reaches nothing but their own namespaces, whatever they send.

* cross-tenant matrix: alice (event-a only) against bob's event-b on all 13 endpoints;
* two photographers in the same event, same file name;
* a traversal corpus of hostile names on every endpoint.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.checks import (assert_gone, assert_ok, get, listing, put, stat_info, wait_for)
from harness.gowire import path_escape, query_escape
from harness.httpfs import ENDPOINTS, HttpFsClient
from harness.samples import jpeg, random_jpeg, sha256


def tree(client: HttpFsClient, root: str) -> dict[str, tuple]:
    """Everything under ``root`` as the owner sees it: dirs, sizes, mtimes, content hashes."""
    out: dict[str, tuple] = {}

    def walk(p: str):
        for name, fi in listing(client.readdir(p)).items():
            q = f"{p}/{name}"
            if fi["mode"] & (1 << 31):
                out[q] = ("dir", fi["last_modified"])
                walk(q)
            else:
                out[q] = ("file", fi["size"], fi["last_modified"], sha256(get(client, q)))

    walk(root)
    return out


def fs_snapshot(root: Path, skip: set[Path]) -> dict[str, str]:
    """Files under ``root`` (outside ``skip``) with their hashes."""
    out = {}
    for p in root.rglob("*"):
        if any(p == s or s in p.parents for s in skip):
            continue
        if p.is_file():
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
        elif p.is_dir():
            out[str(p.relative_to(root)) + "/"] = "dir"
    return out


@dataclass
class Tenants:
    gateway: object
    a: HttpFsClient
    b: HttpFsClient
    b_tree: dict
    canary: dict

    def outside_snapshot(self) -> dict:
        g = self.gateway
        snap = fs_snapshot(g.root, {g.data_dir, g.log_path, g.cli_log_path})
        snap["/etc/passwd"] = hashlib.sha256(Path("/etc/passwd").read_bytes()).hexdigest()
        return snap

    def assert_untouched(self) -> None:
        assert tree(self.b, "/event-b") == self.b_tree, "bob's files changed"
        assert set(listing(self.a.readdir("/"))) == {"event-a"}
        assert set(listing(self.b.readdir("/"))) == {"event-b"}
        assert self.outside_snapshot() == self.canary, "files outside the data dir changed"


@pytest.fixture
def tenants(gateway) -> Tenants:
    a = gateway.photographer("alice", ["event-a"])
    b = gateway.photographer("bob", ["event-b"])
    put(a, "/event-a/mine.jpg", jpeg(b"alice's"))
    assert_ok(a.mkdir("/event-a/adir"))
    put(b, "/event-b/b.jpg", random_jpeg(5000, seed=21))
    assert_ok(b.mkdir("/event-b/dir"))
    put(b, "/event-b/dir/c.jpg", jpeg(b"bob's c"))
    assert_ok(b.mkdir("/event-b/emptydir"))
    canary = gateway.root / "canary"
    (canary / "etc").mkdir(parents=True)
    (canary / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    t = Tenants(gateway, a, b, tree(b, "/event-b"), {})
    t.canary = t.outside_snapshot()
    return t


# --- the cross-tenant matrix -----------------------------------------------------------

def _attempts(op: str, ev: str):
    """(label, call) pairs of alice reaching into event ``ev``."""
    p = f"/{ev}"
    paths = [p, f"{p}/b.jpg", f"{p}/dir", f"{p}/dir/c.jpg", f"{p}/emptydir", f"{p}/nothing.jpg"]
    if op == "rename":
        return [
            ("b.jpg -> mine", lambda c: c.rename(f"{p}/b.jpg", "/event-a/stolen.jpg")),
            ("dir -> mine", lambda c: c.rename(f"{p}/dir", "/event-a/stolen-dir")),
            ("within b", lambda c: c.rename(f"{p}/dir/c.jpg", f"{p}/dir/d.jpg")),
            ("mine -> over b.jpg", lambda c: c.rename("/event-a/mine.jpg", f"{p}/b.jpg")),
            ("mine -> into b", lambda c: c.rename("/event-a/mine.jpg", f"{p}/new.jpg")),
            ("mine -> b's dir", lambda c: c.rename("/event-a/mine.jpg", f"{p}/dir/new.jpg")),
            ("adir -> into b", lambda c: c.rename("/event-a/adir", f"{p}/adir")),
        ]
    if op == "create":
        return [(q, (lambda q: lambda c: c.create(q, jpeg(b"evil")))(q))
                for q in (f"{p}/b.jpg", f"{p}/new.jpg", f"{p}/dir/c.jpg", f"{p}/emptydir/x.jpg")]
    if op == "open":
        return ([(q, (lambda q: lambda c: c.open(q))(q)) for q in paths]
                + [(f"{p}/b.jpg@100", lambda c: c.open(f"{p}/b.jpg", 100))])
    return [(q, (lambda q: lambda c: c.call(op, q))(q)) for q in paths]


@pytest.mark.parametrize("op", ENDPOINTS)
def test_cross_tenant_matrix(tenants, op):
    a = tenants.a
    problems = []
    for (label, call_b), (_, call_none) in zip(_attempts(op, "event-b"),
                                                 _attempts(op, "no-such-event")):
        r_none = call_none(a)
        r_b = call_b(a)
        if 200 <= r_b.status < 300:
            problems.append(f"{label}: alice got {r_b!r}")
        elif r_b.status != r_none.status:
            problems.append(f"{label}: {r_b.status} for bob's event but {r_none.status} for an "
                            f"event that does not exist (must look the same)")
    assert not problems, "\n".join(problems)
    assert "event-b" not in listing(a.readdir("/"))
    assert a.dirsize("/").json() == {"files": 1, "size": len(jpeg(b"alice's"))}
    assert get(a, "/event-a/mine.jpg") == jpeg(b"alice's")
    tenants.assert_untouched()


def test_same_event_same_name_two_photographers(gateway):
    a = gateway.photographer("alice", ["shared"])
    b = gateway.photographer("bob", ["shared"])
    da = put(a, "/shared/DSC_0001.JPG", random_jpeg(1000, seed=31))
    db = put(b, "/shared/DSC_0001.JPG", random_jpeg(2000, seed=32))
    assert get(a, "/shared/DSC_0001.JPG") == da
    assert get(b, "/shared/DSC_0001.JPG") == db
    assert {n: fi["size"] for n, fi in listing(a.readdir("/shared")).items()} == {"DSC_0001.JPG": 1000}
    assert {n: fi["size"] for n, fi in listing(b.readdir("/shared")).items()} == {"DSC_0001.JPG": 2000}
    # bob's other file is invisible to alice, and alice writing that name makes her own
    only_b = put(b, "/shared/only-b.jpg", jpeg(b"only bob"))
    assert_gone(a, "/shared/only-b.jpg")
    assert a.open("/shared/only-b.jpg").status == 404
    put(a, "/shared/only-b.jpg", jpeg(b"alice's own"))
    assert get(b, "/shared/only-b.jpg") == only_b
    assert_ok(a.mkdir("/shared/adir"))
    assert "adir" not in listing(b.readdir("/shared"))
    assert_ok(a.rename("/shared/DSC_0001.JPG", "/shared/adir/DSC_0001.JPG"))
    assert_ok(a.remove("/shared/only-b.jpg"))
    assert get(b, "/shared/DSC_0001.JPG") == db
    assert get(b, "/shared/only-b.jpg") == only_b
    assert b.dirsize("/shared").json() == {"files": 2, "size": len(db) + len(only_b)}
    assert a.dirsize("/shared").json() == {"files": 1, "size": len(da)}


# --- traversal corpus ------------------------------------------------------------------

# (id, raw path segment as it appears after /ftp/v1/{op}/). BAD: refused with 400 or 404,
# never 2xx. CONTAINED: odd but harmless; any non-5xx answer, effects only inside alice's
# own namespace.
BAD = [
    ("dotdot", ".."),
    ("dotdot-encoded", "%2E%2E"),
    ("dotdot-encoded-lower", "%2e%2e"),
    ("root-dotdot", "%2F.."),
    ("etc-passwd", "%2F..%2F..%2Fetc%2Fpasswd"),
    ("climb-from-event", path_escape("/event-a/../../etc/passwd")),
    ("climb-into-canary", path_escape("/event-a/../../../../canary/etc/passwd")),
    ("into-event-b", path_escape("/event-a/../event-b/b.jpg")),
    ("into-event-b-mixed", "%2Fevent-a%2F%2e%2e%2Fevent-b%2Fb.jpg"),
    ("relative-climb", "..%2F..%2Fevent-b%2Fb.jpg"),
    ("deep-climb", path_escape("/event-a/adir/../../../event-b/dir/c.jpg")),
    ("no-slash-into-b", "event-b%2Fb.jpg"),
    ("raw-slash-into-b", "/event-b/b.jpg"),
    ("raw-dotdot-into-b", "%2Fevent-a/../event-b%2Fb.jpg"),
    ("backslash-climb", path_escape("/event-a/..\\..\\event-b\\b.jpg")),
    ("backslash", path_escape("/event-a/x\\y.jpg")),
    ("backslash-etc", path_escape("/event-a/\\..\\..\\etc\\passwd")),
    ("nul", path_escape(b"/event-a/x\x00.jpg")),
    ("nul-dotdot", "%2Fevent-a%2F..%00%2F..%2Fetc"),
    ("lf", path_escape("/event-a/x\ny.jpg")),
    ("cr", path_escape("/event-a/x\ry.jpg")),
    ("tab", path_escape("/event-a/x\ty.jpg")),
    ("esc", path_escape("/event-a/x\x1by.jpg")),
    ("del", path_escape("/event-a/x\x7fy.jpg")),
    ("c1-control", path_escape("/event-a/x\u0085y.jpg")),
    ("invalid-utf8", "%2Fevent-a%2F%FF%FE.jpg"),
    ("overlong-utf8-dots", "%2Fevent-a%2F%C0%AE%C0%AE%2F%C0%AE%C0%AE%2Fevent-b%2Fb.jpg"),
    ("utf8-surrogate", "%2Fevent-a%2F%ED%A0%80.jpg"),
    ("segment-256-bytes", path_escape("/event-a/" + "a" * 252 + ".jpg")),
    ("segment-256-bytes-multibyte", path_escape("/event-a/" + "é" * 128)),
    ("path-over-1024-bytes", path_escape("/event-a/" + "/".join(["d" * 200] * 6) + "/x.jpg")),
    ("bad-percent", "%2Fevent-a%2F%ZZ.jpg"),
    ("truncated-percent", "%2Fevent-a%2Fx.jpg%2"),
]
CONTAINED = [
    ("double-encoded-slash", path_escape("/event-a/%2F..%2F..%2Fevent-b%2Fb.jpg")),
    ("double-encoded-dots", path_escape("/event-a/%2e%2e%2fevent-b%2fb.jpg")),
    ("double-encoded-nul", path_escape("/event-a/x%00.jpg")),
    ("dot-segment", path_escape("/event-a/./mine.jpg")),
    ("double-slash", path_escape("/event-a//mine.jpg")),
    ("trailing-slash", path_escape("/event-a/adir/")),
    ("dotdot-inside-namespace", path_escape("/event-a/adir/../mine.jpg")),
    ("fullwidth-dots", path_escape("/event-a/\uff0e\uff0e/x.jpg")),
    ("dots-in-name", path_escape("/event-a/...jpg")),
]
# chmod answers 501 to everything; truncate may be unsupported (501) as a whole.
ALSO_ALLOWED = {"chmod": {501}, "truncate": {501}}


def _check_bad(op: str, label: str, r, allowed: set[int], problems: list[str]) -> None:
    if r.status not in allowed:
        problems.append(f"{op} {label}: expected one of {sorted(allowed)}, got {r!r}")


@pytest.mark.parametrize("op", ENDPOINTS)
def test_traversal_corpus(tenants, op):
    a, g = tenants.a, tenants.gateway
    others_before = g.other_files()
    problems: list[str] = []
    bad_ok = {400, 404} | ALSO_ALLOWED.get(op, set())
    for label, raw in BAD:
        r = a.raw_call(op, raw, target="/event-a/renamed.jpg")
        _check_bad(op, label, r, bad_ok, problems)
    for label, raw in CONTAINED:
        r = a.raw_call(op, raw, target="/event-a/renamed-c.jpg")
        if r.status >= 500 and r.status not in ALSO_ALLOWED.get(op, set()) or (
                200 <= r.status < 300 and not r.ok):
            problems.append(f"{op} {label}: {r!r}")
    if op == "rename":
        # the hostile name as the TARGET of a move of alice's own file (put back first: a
        # CONTAINED name such as /event-a/./mine.jpg may legitimately have moved it)
        put(a, "/event-a/mine.jpg", jpeg(b"alice's"))
        for label, raw in BAD:
            if label == "raw-slash-into-b":
                raw = query_escape("/event-b/b.jpg")
            r = a.raw_call("rename", path_escape("/event-a/mine.jpg"), raw_target=raw)
            _check_bad("rename target", label, r, {400, 403, 404}, problems)
        if a.stat("/event-a/mine.jpg").status != 200:
            problems.append("a refused rename moved /event-a/mine.jpg away")
    assert not problems, "\n".join(problems)
    tenants.assert_untouched()
    wait_for(lambda: not (g.other_files() - others_before), 5.0, what="no stray files in DATA_DIR")


def test_traversal_corpus_creates_nothing_when_refused(tenants):
    """The bad names as uploads: afterwards alice's namespace holds what it held."""
    a = tenants.a
    before = tree(a, "/event-a")
    for label, raw in BAD:
        r = a.raw_call("create", raw)
        assert r.status in (400, 404), f"create {label}: {r!r}"
    assert tree(a, "/event-a") == before
    tenants.assert_untouched()


@pytest.mark.parametrize("op", ENDPOINTS)
def test_names_without_leading_slash_work(tenants, op):
    """The WebDAV mime lookup sends names relative to the root; valid ones must work."""
    a = tenants.a
    raw = {"readdir": "event-a", "dirsize": "event-a", "statvfs": "event-a",
           "mkdir": "event-a%2Fnew-dir", "create": "event-a%2Fnew.jpg"}.get(op, "event-a%2Fmine.jpg")
    r = a.raw_call(op, raw, target="/event-a/renamed.jpg")
    if op == "chmod":
        assert r.status == 501, r
    elif op == "truncate":
        assert r.ok or 400 <= r.status < 500 or r.status == 501, r
    else:
        assert_ok(r, f"{op} {raw}")
    if op == "open":
        assert r.body == jpeg(b"alice's")
    if op == "create":
        stat_info(a.stat("/event-a/new.jpg"), is_dir=False)
    if op == "mkdir":
        stat_info(a.stat("/event-a/new-dir"), is_dir=True)
    if op == "rename":
        assert_gone(a, "/event-a/mine.jpg")
        stat_info(a.stat("/event-a/renamed.jpg"))
    if op == "remove":
        assert_gone(a, "/event-a/mine.jpg")
    if op == "stat":
        stat_info(r, name="mine.jpg")
        stat_info(a.raw_call("stat", "event-a"), name="event-a", is_dir=True)
    tenants.assert_untouched()
