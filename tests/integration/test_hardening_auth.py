"""Logins and HTTPFs keys under attack (issue 11, items 1-7), through the real binary: a
burst of parallel guesses, a stranger hammering an account, hook calls without an address,
junk usernames, usernames with every allowed character through the SFTPGo door, keys that a
catalog copy cannot mint, and a new password revoking old keys."""

from __future__ import annotations

import re
import socket
import sqlite3
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

import ftplib
import time

from ftp_support import FtpGateway, Raw, ftp_gateway, ftp_gateway_factory  # noqa: F401
from harness.checks import stat_info, wait_for
from harness.gateway import free_port
from harness.gowire import go_json


def _sqlite_catalog(gateway) -> sqlite3.Connection:
    """The catalog file itself (the Rust tests check the same on PostgreSQL)."""
    if gateway.backend == "postgres":
        pytest.skip("reads the SQLite catalog file; tests/login_rules.rs covers PostgreSQL")
    return sqlite3.connect(gateway.data_dir / "catalog.db")


def _auth_metric(gateway, result: str) -> float:
    text = gateway.http("GET", "/metrics").body.decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith("ftpgate_auth_total{") and f'result="{result}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_parallel_burst_verifies_at_most_max_failures(gateway):
    gateway.add_photographer("alice", "pw-alice-123")
    before = _auth_metric(gateway, "bad_credentials")

    def attempt(i: int) -> int:
        pw = "pw-alice-123" if i == 20 else f"wrong-{i}"
        return gateway.auth("alice", pw, ip="198.51.100.9").status

    with ThreadPoolExecutor(max_workers=41) as pool:
        statuses = list(pool.map(attempt, range(41)))
    verified = _auth_metric(gateway, "bad_credentials") - before
    assert verified <= 5, f"{verified} wrong passwords verified in a burst of 41 (limit 5)"
    assert statuses.count(200) <= 1
    assert gateway.auth("alice", "pw-alice-123", ip="198.51.100.9").status == 401, \
        "the burst locked alice from that address"


def test_a_stranger_cannot_lock_the_photographer_out(gateway):
    gateway.add_photographer("alice", "pw-alice-123")
    for _ in range(20):
        assert gateway.auth("alice", "guess", ip="203.0.113.7").status == 401
    assert gateway.auth("alice", "pw-alice-123", ip="203.0.113.7").status == 401
    assert gateway.auth("alice", "pw-alice-123", ip="192.0.2.44").status == 200, \
        "the photographer's own address still logs in"


@pytest.mark.gateway_env(FTPGATE_LOCKOUT__MAX_FAILURES_PER_IP="3")
def test_a_hook_call_without_ip_counts_against_the_caller(gateway):
    gateway.add_photographer("bob", "pw-bob-1234")

    def call(user: str, pw: str, ip):
        req = {"username": user, "password": pw, "protocol": "FTP", "public_key": "",
               "keyboard_interactive": "", "tls_cert": ""}
        if ip is not None:
            req["ip"] = ip
        return gateway.auth(user, pw, body=go_json(req))

    for i, ip in enumerate([None, "", "not-an-ip"]):
        assert call(f"nobody{i}", "x", ip).status == 401
    assert call("bob", "pw-bob-1234", None).status == 401, \
        "three failures from this peer without an address locked the peer's address"
    assert gateway.auth("bob", "pw-bob-1234", ip="192.0.2.5").status == 200


def test_refuses_to_start_on_a_public_address_without_hook_token(gateway, tmp_path):
    env = gateway.process_env()
    env.pop("FTPGATE_AUTH_HOOK__TOKEN", None)
    env["FTPGATE_DATA_DIR"] = str(tmp_path / "data")
    env["FTPGATE_HTTP__LISTEN"] = f"0.0.0.0:{free_port()}"
    r = subprocess.run([str(gateway.binary), "serve"], env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode != 0
    out = r.stdout + r.stderr
    assert "auth_hook.token" in out and "FTPGATE_AUTH_HOOK__TOKEN" in out, out


def test_junk_usernames_are_not_stored(gateway):
    for i in range(20):
        gateway.auth(f"{i}" + "j" * 4096, "x", ip="198.51.100.20")
    con = _sqlite_catalog(gateway)
    try:
        rows = con.execute("SELECT scope FROM lockouts").fetchall()
    finally:
        con.close()
    assert len(rows) <= 2, rows
    assert all(len(s) < 200 for (s,) in rows), "no 4 KB scopes"


# Every character the username rule allows, first, inside and last.
USERNAMES = ["carl.b", "a_b", "a-b", "0ab", "ab9", "a.b-c_d", "x" * 64, "9.9"]


@pytest.mark.parametrize("name", USERNAMES)
def test_every_allowed_username_works_through_the_sftpgo_door(gateway, name):
    c = gateway.photographer(name, ["event-a"])
    stat_info(c.stat("/event-a"), is_dir=True)
    assert c.readdir("/event-a").status == 200


@pytest.mark.parametrize("name", ["carl.", "con", "nul.txt", "com1", "a..", "_ab"])
def test_usernames_sftpgo_refuses_are_refused(gateway, name):
    r = gateway.cli("photographer", "add", name, "--password-stdin", input="long-password-1\n")
    assert r.returncode != 0, r.stdout
    assert "invalid username" in (r.stdout + r.stderr)


def test_keys_cannot_be_minted_from_a_catalog_copy(gateway):
    c = gateway.photographer("alice", ["event-a"], password="pw-alice-123")
    key = c.api_key
    assert re.fullmatch(r"fgk2\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}", key), key
    secret = key.rsplit(".", 1)[1]
    con = _sqlite_catalog(gateway)
    try:
        dump = "\n".join(con.iterdump())
    finally:
        con.close()
    assert secret not in dump, "the key's secret is not in the catalog"
    assert "httpfs_key_secret" not in dump, "no shared MAC secret in the catalog"
    again = gateway.login("alice", "pw-alice-123")
    assert again.api_key != key, "a fresh random key at each login"
    stat_info(c.stat("/event-a"), is_dir=True)
    stat_info(again.stat("/event-a"), is_dir=True)


def test_a_new_password_revokes_old_keys(gateway):
    c = gateway.photographer("alice", ["event-a"], password="pw-alice-123")
    stat_info(c.stat("/event-a"), is_dir=True)
    gateway.cli_ok("photographer", "passwd", "alice", "--password-stdin",
                   input="new-password-2\n")
    wait_for(lambda: c.stat("/event-a").status == 401, 5.0, interval=0.2,
             what="the key issued before the new password is refused")
    fresh = gateway.login("alice", "new-password-2")
    stat_info(fresh.stat("/event-a"), is_dir=True)


@pytest.mark.parametrize("how", ["disable", "revoke-keys"])
def test_an_open_ftp_session_ends_when_access_is_disabled(ftp_gateway: FtpGateway, how):
    g = ftp_gateway
    g.photographer("alice", ["ev-one"])
    f = g.ftp("alice")
    try:
        assert f.sendcmd("NOOP").startswith("200")
        assert f.nlst("/ev-one") == []
        g.gw.cli_ok("photographer", how, "alice")
        time.sleep(2.5)  # the identity's state cache lives 2 s
        with pytest.raises(ftplib.error_temp) as e:
            f.sendcmd("NOOP")
        assert str(e.value).startswith("421"), e.value
    finally:
        f.close()
    if how == "revoke-keys":
        g.ftp("alice").quit()  # a new login still works after revoking keys


@pytest.mark.gateway_env(FTPGATE_FTP__LOGIN_TIMEOUT_SECS="1")
def test_a_connection_that_never_logs_in_is_closed(ftp_gateway: FtpGateway):
    g = ftp_gateway
    raw = Raw(g.host, g.ftp_port, source="127.0.0.78")
    try:
        assert raw.greeting.startswith("220")
        started = time.monotonic()
        reply = raw.reply()
        assert reply.startswith("421") and "log" in reply.lower(), reply
        assert time.monotonic() - started < 5
        assert raw.closed()
    finally:
        raw.close()
    # A logged-in session is held to the (longer) idle timeout instead.
    g.photographer("alice", ["ev-one"])
    f = g.ftp("alice")
    time.sleep(1.5)
    assert f.sendcmd("NOOP").startswith("200")
    f.quit()


@pytest.mark.gateway_env(FTPGATE_FTP__PROXY_PROTOCOL="true",
                         FTPGATE_FTP__PROXY_ALLOWED="[127.0.0.2]")
def test_only_proxy_allowed_peers_may_send_the_proxy_header(ftp_gateway: FtpGateway):
    g = ftp_gateway
    header = b"PROXY TCP4 192.0.2.99 127.0.0.1 40000 2121\r\n"
    # From 127.0.0.1, not in the list: a header naming any client is not believed.
    s = socket.create_connection((g.host, g.ftp_port), timeout=10)
    s.sendall(header)
    try:
        got = s.recv(100)
    except ConnectionResetError:
        got = b""
    assert got == b"", "dropped"
    s.close()
    # From the balancer's address: the session starts.
    s = socket.create_connection((g.host, g.ftp_port), timeout=10,
                                 source_address=("127.0.0.2", 0))
    s.sendall(header)
    assert s.recv(100).startswith(b"220")
    s.close()


def test_proxy_protocol_without_proxy_allowed_refuses_to_start(gateway, tmp_path):
    env = gateway.process_env()
    env.update({"FTPGATE_DATA_DIR": str(tmp_path / "data"), "FTPGATE_FTP__ENABLED": "true",
                "FTPGATE_FTP__LISTEN": f"127.0.0.1:{free_port()}",
                "FTPGATE_HTTP__LISTEN": f"127.0.0.1:{free_port()}",
                "FTPGATE_FTP__PROXY_PROTOCOL": "true"})
    r = subprocess.run([str(gateway.binary), "serve"], env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode != 0
    assert "ftp.proxy_allowed" in r.stdout + r.stderr
