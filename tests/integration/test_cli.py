"""The admin CLI (`ftpgate photographer|event|grant ...`) against a running gateway: the
same catalog, one-line errors, the identifier rules."""

from __future__ import annotations

import pytest

from harness.checks import listing

BAD_IDS = ["a", "-ab", ".ab", "_ab", "a b", "a/b", "a\\b", "ab:c", "ab@c", "x" * 65, "ünï", ""]
GOOD_IDS = ["ab", "a1", "0ab", "a.b-c_d", "x" * 64]


def assert_one_line_error(r, what: str) -> None:
    assert r.returncode != 0, f"{what}: expected failure, got exit 0 (stdout {r.stdout!r})"
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, f"{what}: errors are one line on stderr, got {r.stderr!r}"


def assert_usage_error(r, what: str) -> None:
    """Command-line misuse (the argument parser's own errors): non-zero exit, and the first
    stderr line says what is wrong; a usage hint may follow."""
    assert r.returncode != 0, f"{what}: expected failure, got exit 0 (stdout {r.stdout!r})"
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert lines and lines[0].lower().startswith("error"), f"{what}: stderr {r.stderr!r}"


@pytest.mark.parametrize("bad", BAD_IDS, ids=[repr(b) for b in BAD_IDS])
def test_bad_identifiers_are_refused(gateway, bad):
    # "--" so that "-ab" reaches the identifier check instead of the option parser
    r = gateway.cli("photographer", "add", "--password-stdin", "--", bad, input="pw-123456\n")
    assert_one_line_error(r, f"photographer add {bad!r}")
    r = gateway.cli("event", "add", "--", bad)
    assert_one_line_error(r, f"event add {bad!r}")


@pytest.mark.parametrize("good", GOOD_IDS)
def test_good_identifiers_are_accepted(gateway, good):
    gateway.add_photographer(good, "pw-123456")
    gateway.add_event(good)
    gateway.grant(good, good)
    assert gateway.auth(good, "pw-123456").status == 200


def test_usernames_are_case_folded_in_the_catalog(gateway):
    gateway.add_photographer("Carol.Smith", "pw-123456")
    out = gateway.cli_ok("photographer", "list").stdout
    assert "carol.smith" in out and "Carol.Smith" not in out, out
    assert_one_line_error(gateway.cli("photographer", "add", "CAROL.SMITH", "--password-stdin",
                                      input="other-pw\n"), "duplicate (case-folded) photographer")


def test_lists_show_what_was_added(gateway):
    gateway.add_photographer("alice", "pw-123456")
    gateway.add_event("gala-2026", name="Summer Gala")
    gateway.grant("alice", "gala-2026", role="viewer")
    assert "alice" in gateway.cli_ok("photographer", "list").stdout
    assert "gala-2026" in gateway.cli_ok("event", "list").stdout
    grants = gateway.cli_ok("grant", "list").stdout
    assert "alice" in grants and "gala-2026" in grants and "viewer" in grants, grants


@pytest.mark.parametrize("args", [
    ("grant", "add", "nobody", "event-x"),
    ("grant", "add", "alice", "no-such-event"),
    ("photographer", "disable", "nobody"),
    ("photographer", "revoke-keys", "nobody"),
    ("event", "close", "no-such-event"),
    ("event", "add", "event-x"),  # already exists
    ("photographer", "add", "alice", "--password-stdin"),  # already exists
], ids=lambda a: " ".join(a))
def test_errors_are_one_line_and_nonzero(gateway, args):
    gateway.add_photographer("alice", "pw-123456")
    gateway.add_event("event-x")
    assert_one_line_error(gateway.cli(*args, input="pw-other\n"), " ".join(args))


@pytest.mark.parametrize("args", [
    ("grant", "add", "alice", "event-x", "--role", "admin"),
    ("photographer", "frobnicate", "alice"),
    ("photographer", "add"),
], ids=lambda a: " ".join(a))
def test_usage_errors_are_nonzero(gateway, args):
    assert_usage_error(gateway.cli(*args), " ".join(args))


def test_cli_changes_reach_the_running_server(gateway):
    gateway.photographer("alice", ["event-a"], password="pw-alice-123")
    gateway.add_event("event-late")
    gateway.grant("alice", "event-late")
    # a new login sees the new grant in its permissions and in its tree
    perms = gateway.auth("alice", "pw-alice-123").json()["permissions"]
    assert "/event-late" in perms, perms
    c = gateway.login("alice", "pw-alice-123")
    assert set(listing(c.readdir("/"))) == {"event-a", "event-late"}
