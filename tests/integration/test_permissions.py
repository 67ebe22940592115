"""What a photographer may do where: the read-only root, viewers, closed events, moves
between events, revoked grants."""

from __future__ import annotations

from harness.checks import (assert_gone, assert_ok, assert_status, get, listing, put,
                            stat_info, wait_for)
from harness.samples import jpeg


def test_nothing_can_be_created_or_changed_at_root(gateway):
    c = gateway.photographer("alice", ["event-a", "event-c"])
    data = put(c, "/event-a/f.jpg", jpeg(b"f"))
    assert_status(c.create("/x.jpg", jpeg()), 403)
    assert_status(c.mkdir("/newdir"), 403)
    assert_status(c.mkdir("/event-z"), 403)
    assert_status(c.rename("/event-a", "/event-z"), 403)
    assert_status(c.rename("/event-a/f.jpg", "/f.jpg"), 403)
    assert_status(c.remove("/event-c"), 403)  # an empty namespace is still not removable
    assert_status(c.remove("/event-a"), 403)
    assert_gone(c, "/x.jpg")
    assert set(listing(c.readdir("/"))) == {"event-a", "event-c"}
    assert get(c, "/event-a/f.jpg") == data


def test_viewer_reads_but_cannot_write(gateway):
    c = gateway.photographer("vera", {"event-v": "viewer"})
    stat_info(c.stat("/event-v"), is_dir=True)
    assert listing(c.readdir("/event-v")) == {}
    assert_status(c.create("/event-v/x.jpg", jpeg()), 403)
    assert_status(c.mkdir("/event-v/d"), 403)
    assert_gone(c, "/event-v/x.jpg")
    assert_gone(c, "/event-v/d")


def test_closed_event_is_read_only(gateway):
    c = gateway.photographer("alice", ["event-a"])
    data = put(c, "/event-a/p.jpg", jpeg(b"p"))
    assert_ok(c.mkdir("/event-a/d"))
    put(c, "/event-a/d/q.jpg", jpeg(b"q"))
    gateway.close_event("event-a")
    # Re-sending the same bytes is harmless while the close is not yet seen.
    wait_for(lambda: c.create("/event-a/p.jpg", data).status == 403, 5.0,
             what="uploads refused with 403 after `event close`")
    assert_status(c.create("/event-a/new.jpg", jpeg()), 403)
    assert_status(c.mkdir("/event-a/d2"), 403)
    assert_status(c.rename("/event-a/p.jpg", "/event-a/r.jpg"), 403)
    assert_status(c.remove("/event-a/p.jpg"), 403)
    assert_status(c.remove("/event-a/d/q.jpg"), 403)
    assert_status(c.chtimes("/event-a/p.jpg", "2024-03-04T04:06:07Z"), 403)
    r = c.truncate("/event-a/p.jpg", 0)
    assert r.status in (403, 501), r
    # reading goes on
    assert get(c, "/event-a/p.jpg") == data
    assert set(listing(c.readdir("/event-a"))) == {"p.jpg", "d"}
    assert get(c, "/event-a/d/q.jpg") == jpeg(b"q")
    assert_gone(c, "/event-a/new.jpg")
    assert_gone(c, "/event-a/r.jpg")


def test_rename_into_another_event_is_403(gateway):
    c = gateway.photographer("alice", ["event-a", "event-c"])
    data = put(c, "/event-a/p.jpg", jpeg(b"p"))
    assert_ok(c.mkdir("/event-a/d"))
    put(c, "/event-c/there.jpg", jpeg(b"there"))
    assert_status(c.rename("/event-a/p.jpg", "/event-c/p.jpg"), 403)
    assert_status(c.rename("/event-a/d", "/event-c/d"), 403)
    assert_status(c.rename("/event-a/p.jpg", "/event-c/there.jpg"), 403)
    assert get(c, "/event-a/p.jpg") == data
    assert set(listing(c.readdir("/event-c"))) == {"there.jpg"}
    assert get(c, "/event-c/there.jpg") == jpeg(b"there")


def test_revoked_grant_disappears_from_the_tree(gateway):
    c = gateway.photographer("alice", ["event-a", "event-c"])
    put(c, "/event-c/p.jpg", jpeg())
    gateway.cli_ok("grant", "revoke", "alice", "event-c")
    wait_for(lambda: set(listing(c.readdir("/"))) == {"event-a"}, 5.0,
             what="/ without the revoked event")
    wait_for(lambda: c.stat("/event-c/p.jpg").status == 404, 5.0,
             what="revoked event's files look absent")
    assert_status(c.create("/event-c/new.jpg", jpeg()), 404)
