"""POST /ftp/auth as SFTPGo's external auth hook (CONTRACT §3) and the HTTPFs keys it hands
out: response shape, failures, case-folding, lockout, disable, revoke-keys."""

from __future__ import annotations

import re
import time

import pytest

from harness.checks import (READONLY_PERMS, SFTPGO_PERMISSIONS, UPLOADER_PERMS, assert_ok,
                            is_clean_abs, is_int, stat_info, wait_for)
from harness.gowire import Response
from harness.httpfs import ENDPOINTS
from harness.samples import jpeg

SECRET_KEYS = {"status", "payload", "key", "additional_data", "mode"}


def check_sftpgo_user(resp: Response, gateway, username: str, events: dict[str, set[str]],
                      password: str | None = None) -> dict:
    """Every field SFTPGo decodes and ValidateUser checks (CONTRACT §3.3, §3.4, §3.7)."""
    assert resp.status == 200, f"a successful login is exactly 200: {resp!r}"
    assert resp.body.strip(), "200 with an empty body would mean 'keep the stored user'"
    u = resp.json()
    assert isinstance(u, dict), u
    # username
    name = u.get("username")
    assert name == username, f"username {name!r}, expected {username!r}"
    assert 0 < len(name) <= 255 and re.fullmatch(r"[a-zA-Z0-9\-_.~]+", name)
    assert name not in ("__self__", "__system__")
    # status: 1 or nobody can log in
    assert is_int(u.get("status")) and u["status"] == 1, f"status must be the integer 1: {u!r}"
    # home_dir: local, absolute, clean, per user
    assert u.get("home_dir") == f"{gateway.home_dir_base}/{username}", u.get("home_dir")
    assert is_clean_abs(u["home_dir"])
    # permissions
    perms = u.get("permissions")
    assert isinstance(perms, dict) and perms, f"permissions must be a non-empty map: {perms!r}"
    assert perms.get("/") == ["list"], f'"/" must be ["list"]: {perms!r}'
    for k, v in perms.items():
        assert is_clean_abs(k), f"permission key {k!r} must be absolute and clean"
        assert isinstance(v, list) and all(isinstance(p, str) for p in v), (k, v)
        assert set(v) <= SFTPGO_PERMISSIONS, f"unknown permission in {k}: {v}"
        assert len(set(v)) == len(v), f"duplicate permissions in {k}: {v}"
    assert set(perms) == {"/"} | {f"/{e}" for e in events}, f"permission keys {sorted(perms)}"
    for e, expected in events.items():
        assert set(perms[f"/{e}"]) == expected, f"/{e}: {perms[f'/{e}']} != {sorted(expected)}"
    # filesystem: HTTPFs with a per-user key
    fs = u.get("filesystem")
    assert isinstance(fs, dict), fs
    assert is_int(fs.get("provider")) and fs["provider"] == 6, f"provider must be the integer 6: {fs!r}"
    hc = fs.get("httpconfig")
    assert isinstance(hc, dict), fs
    assert hc.get("endpoint") == gateway.endpoint, f"endpoint {hc.get('endpoint')!r}"
    key = hc.get("api_key")
    assert isinstance(key, dict), f"api_key must be a Secret object, not {key!r}"
    assert key.get("status") == "Plain", key
    assert isinstance(key.get("payload"), str) and key["payload"], "api_key payload must be non-empty"
    assert set(key) <= SECRET_KEYS, key
    if "username" in hc:
        assert isinstance(hc["username"], str), hc
    if "password" in hc:
        pw = hc["password"]
        assert isinstance(pw, dict) and set(pw) <= SECRET_KEYS, f"password must be a Secret: {pw!r}"
        assert pw == {} or (pw.get("status") == "Plain" and pw.get("payload")), pw
    if "skip_tls_verify" in hc:
        assert isinstance(hc["skip_tls_verify"], bool), hc
    if "equality_check_mode" in hc:
        assert hc["equality_check_mode"] in (0, 1) and is_int(hc["equality_check_mode"]), hc
    # filters
    f = u.get("filters")
    assert isinstance(f, dict), f"filters must be an object: {u!r}"
    assert is_int(f.get("external_auth_cache_time")) and f["external_auth_cache_time"] >= 0, f
    assert is_int(f.get("max_upload_file_size")) and f["max_upload_file_size"] >= 0, f
    if "denied_protocols" in f:
        assert isinstance(f["denied_protocols"], list), f
    # optional fields: right JSON types, nothing SFTPGo would have to resolve or reject
    for k in ("id", "uid", "gid", "max_sessions", "quota_size", "quota_files",
              "upload_bandwidth", "download_bandwidth", "expiration_date"):
        if k in u:
            assert is_int(u[k]), f"{k} must be an integer: {u[k]!r}"
    if u.get("expiration_date"):
        assert u["expiration_date"] > time.time() * 1000, "an expired user cannot log in"
    assert not u.get("public_keys"), "photographers log in with passwords only"
    assert not u.get("groups"), "SFTPGo requires referenced groups to exist"
    assert not u.get("virtual_folders"), u.get("virtual_folders")
    assert "$argon2" not in resp.text, "the password hash must not leave the gateway"
    if password:
        assert password not in resp.text, "the login password must not be echoed"
    return u


def test_response_shape(gateway):
    gateway.photographer("bob", ["event-b"], password="pw-bob-123")
    pw = "correct horse battery staple"
    gateway.add_photographer("alice", pw)
    for ev in ("event-a", "event-c", "event-d"):
        gateway.add_event(ev)
    gateway.grant("alice", "event-a")
    gateway.grant("alice", "event-c", role="viewer")
    gateway.grant("alice", "event-d")
    gateway.close_event("event-d")
    u = check_sftpgo_user(gateway.auth("alice", pw), gateway, "alice",
                          {"event-a": UPLOADER_PERMS, "event-c": READONLY_PERMS,
                           "event-d": READONLY_PERMS}, password=pw)
    # the key it handed out works for exactly this photographer
    c = gateway.client_from_auth(gateway.auth("alice", pw))
    stat_info(c.stat("/event-a"), is_dir=True)
    bob = gateway.auth("bob", "pw-bob-123").json()
    assert u["filesystem"]["httpconfig"]["api_key"]["payload"] != \
        bob["filesystem"]["httpconfig"]["api_key"]["payload"], "each photographer has their own key"


def test_photographer_without_grants_still_logs_in_with_root_only(gateway):
    gateway.add_photographer("newbie", "pw-newbie-123")
    check_sftpgo_user(gateway.auth("newbie", "pw-newbie-123"), gateway, "newbie", {})


@pytest.mark.gateway_env(FTPGATE_UPLOAD__MAX_FILE_SIZE="65536")
def test_max_upload_file_size_is_passed_on(gateway):
    gateway.add_photographer("alice", "pw-alice-123")
    u = gateway.auth("alice", "pw-alice-123").json()
    assert u["filters"]["max_upload_file_size"] == 65536


def test_username_is_case_folded(gateway):
    gateway.add_photographer("Carol", "pw-carol-123")  # stored as carol
    for login in ("carol", "CAROL", "Carol"):
        check_sftpgo_user(gateway.auth(login, "pw-carol-123"), gateway, "carol", {})


@pytest.mark.parametrize("user,password", [
    ("nobody", "whatever"), ("alice", "wrong"), ("alice", ""), ("", "pw-alice-123"),
    ("alice", "PW-ALICE-123"), ("alice", "pw-alice-123 "),
], ids=["unknown-user", "wrong-password", "empty-password", "empty-username",
        "password-case", "password-trailing-space"])
def test_bad_credentials_are_401(gateway, user, password):
    gateway.add_photographer("alice", "pw-alice-123")
    r = gateway.auth(user, password)
    assert r.status == 401, f"failure must be 401 (never 200): {r!r}"


@pytest.mark.parametrize("protocol", ["SSH", "DAV", "HTTP", "FTPS", ""])
def test_other_protocols_are_refused(gateway, protocol):
    gateway.add_photographer("alice", "pw-alice-123")
    assert gateway.auth("alice", "pw-alice-123", protocol=protocol).status == 401


def test_key_or_certificate_logins_are_refused(gateway):
    gateway.add_photographer("alice", "pw-alice-123")
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO3TcZAGL6m5E5v3hWQkY5m6ZJ8xQm6X4bC5j4wWm7rP t@x"
    assert gateway.auth("alice", "", public_key=key).status == 401
    assert gateway.auth("alice", "", keyboard_interactive="1").status == 401
    assert gateway.auth("alice", "", tls_cert="-----BEGIN CERTIFICATE-----\nMII=\n").status == 401


def test_stored_user_object_from_sftpgo_is_not_trusted(gateway):
    gateway.add_photographer("alice", "pw-alice-123")
    stored = {"id": 7, "status": 1, "username": "alice",
              "password": "$2a$10$abcdefghijklmnopqrstuu5Nq2aVZ9H8b1y4oLqD3z6hWQmJzE1Gm",
              "home_dir": "/tmp/alice", "permissions": {"/": ["*"]},
              "filesystem": {"provider": 6, "httpconfig": {"endpoint": "http://evil/ftp/v1"}},
              "last_login": int(time.time() * 1000)}
    assert gateway.auth("alice", "wrong", stored_user=stored).status == 401
    ok = gateway.auth("alice", "pw-alice-123", stored_user=stored)
    check_sftpgo_user(ok, gateway, "alice", {})


@pytest.mark.parametrize("body", [b"", b"{", b"null", b"[]", b'{"username":1}',
                                  b'{"username":"alice"}', b"\xff\xfe"],
                         ids=["empty", "truncated", "null", "array", "wrong-type",
                              "no-password", "not-utf8"])
def test_malformed_requests_never_succeed(gateway, body):
    gateway.add_photographer("alice", "pw-alice-123")
    r = gateway.auth("alice", "", body=body)
    assert 400 <= r.status < 500, f"a malformed hook request must be refused (4xx): {r!r}"


@pytest.mark.gateway_env(FTPGATE_AUTH_HOOK__TOKEN="hook-secret-1")
def test_hook_token_is_required_when_configured(gateway):
    gateway.add_photographer("alice", "pw-alice-123")
    assert gateway.auth("alice", "pw-alice-123", token=None).status == 401
    assert gateway.auth("alice", "pw-alice-123", token="wrong").status == 401
    assert gateway.auth("alice", "pw-alice-123", token="hook-secret-1x").status == 401
    assert gateway.auth("alice", "pw-alice-123", token="").status == 401
    check_sftpgo_user(gateway.auth("alice", "pw-alice-123", token="hook-secret-1"), gateway,
                      "alice", {})
    assert gateway.http("GET", "/healthz").status == 200


def test_no_token_needed_when_none_is_configured(gateway):
    gateway.add_photographer("alice", "pw-alice-123")
    assert gateway.auth("alice", "pw-alice-123", token=None).status == 200


@pytest.mark.gateway_env(FTPGATE_LOCKOUT__SAFE_IPS="[10.0.0.1]")
def test_lockout_after_five_failures(gateway):
    gateway.add_photographer("alice", "pw-alice-123")
    gateway.add_photographer("bob", "pw-bob-123")
    for _ in range(5):
        assert gateway.auth("alice", "wrong", ip="10.0.0.1").status == 401
    r = gateway.auth("alice", "pw-alice-123", ip="10.0.0.1")
    assert r.status == 401, f"locked out: even the right password is refused: {r!r}"
    check_sftpgo_user(gateway.auth("alice", "pw-alice-123", ip="10.0.0.2"), gateway, "alice", {})
    # ^ the lock is per username and address: guesses from one address never lock the
    #   photographer's own camera on another network out
    # the venue's shared IP is safe-listed: another photographer there still gets in
    check_sftpgo_user(gateway.auth("bob", "pw-bob-123", ip="10.0.0.1"), gateway, "bob", {})


def test_four_failures_do_not_lock(gateway):
    gateway.add_photographer("alice", "pw-alice-123")
    for _ in range(4):
        assert gateway.auth("alice", "wrong").status == 401
    assert gateway.auth("alice", "pw-alice-123").status == 200


@pytest.mark.gateway_env(FTPGATE_LOCKOUT__MAX_FAILURES_PER_USER="2",
                         FTPGATE_LOCKOUT__COOLDOWN_SECS="2")
def test_lockout_threshold_and_cooldown_are_configurable(gateway):
    gateway.add_photographer("alice", "pw-alice-123")
    for _ in range(2):
        assert gateway.auth("alice", "wrong").status == 401
    assert gateway.auth("alice", "pw-alice-123").status == 401
    time.sleep(3.5)
    assert gateway.auth("alice", "pw-alice-123").status == 200


def _key_refused_within(client, seconds: float) -> None:
    wait_for(lambda: client.stat("/").status == 401, seconds, interval=0.2,
             what="old HTTPFs key refused with 401")


def test_disabled_photographer(gateway):
    c = gateway.photographer("alice", ["event-a"], password="pw-alice-123")
    stat_info(c.stat("/event-a"), is_dir=True)
    gateway.cli_ok("photographer", "disable", "alice")
    assert gateway.auth("alice", "pw-alice-123").status == 401
    _key_refused_within(c, 5.0)
    assert c.readdir("/event-a").status == 401


def test_revoke_keys(gateway):
    c = gateway.photographer("alice", ["event-a"], password="pw-alice-123")
    old_key = c.api_key
    stat_info(c.stat("/event-a"), is_dir=True)
    gateway.cli_ok("photographer", "revoke-keys", "alice")
    _key_refused_within(c, 5.0)
    fresh = gateway.login("alice", "pw-alice-123")
    assert fresh.api_key != old_key
    stat_info(fresh.stat("/event-a"), is_dir=True)
    assert c.stat("/event-a").status == 401


def test_passwd_changes_the_password(gateway):
    gateway.add_photographer("alice", "old-password-1")
    gateway.cli_ok("photographer", "passwd", "alice", "--password-stdin", input="new-password-2\n")
    assert gateway.auth("alice", "old-password-1").status == 401
    assert gateway.auth("alice", "new-password-2").status == 200


def test_generated_password_logs_in(gateway):
    pw = gateway.add_photographer("gen")
    assert len(pw) >= 12 and not re.search(r"\s", pw), f"generated password {pw!r}"
    assert gateway.auth("gen", pw).status == 200


def test_password_stdin_without_trailing_newline(gateway):
    gateway.cli_ok("photographer", "add", "printf", "--password-stdin", input="no-newline-pw")
    assert gateway.auth("printf", "no-newline-pw").status == 200


@pytest.mark.parametrize("op", ENDPOINTS)
def test_httpfs_needs_a_valid_key(gateway, op):
    c = gateway.photographer("alice", ["event-a"])
    assert_ok(c.create("/event-a/p.jpg", jpeg(b"p")))
    kw = {"target": "/event-a/q.jpg"}
    for label, client in (("no key", c.with_key(None)),
                          ("wrong key", c.with_key("not-a-key")),
                          ("mangled key", c.with_key(c.api_key[:-1] + ("A" if c.api_key[-1] != "A" else "B"))),
                          ("basic auth only", _basic_only(c))):
        r = client.call(op, "/event-a/p.jpg", **kw)
        assert r.status == 401, f"{op} with {label}: {r!r}"
        client.close()
    stat_info(c.stat("/event-a/p.jpg"))


def _basic_only(c):
    b = c.with_key(None)
    b.username = "alice"
    return b
