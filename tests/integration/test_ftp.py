"""The embedded FTP/FTPS door, end to end with real clients over loopback: Python ftplib (FTP
and FTP_TLS with protected data, unmodified storbinary), curl (plain, explicit and implicit
FTPS), lftp (mirror -R --parallel=4, plain and FTPS), plus raw control connections for the exact
replies. Each test starts its own ``ftpgate serve`` (sqlite and postgres catalogs, see
conftest.py) with the FTP door on a free port and its own passive port range.
"""

from __future__ import annotations

import ftplib
import hashlib
import io
import os
import socket
import sqlite3
import ssl
import struct
import time
from pathlib import Path

import pytest

from ftp_support import (NOT_A_PHOTO, FtpGateway, Raw, cr3, ftp_gateway,  # noqa: F401
                         ftp_gateway_factory, insecure_context, jpeg, lftp, need_tool, nef, retr,
                         run, stor)

sqlite_only = pytest.mark.parametrize("catalog", ["sqlite"], indirect=True)


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def names(f: ftplib.FTP, path: str = "") -> set[str]:
    return {n for n, _ in f.mlsd(path)} if path else {n for n, _ in f.mlsd()}


def expect_error(code: str, fn, *args):
    """Runs fn(*args), expecting an ftplib error reply starting with ``code``; returns it."""
    with pytest.raises(ftplib.Error) as ei:
        fn(*args)
    msg = str(ei.value)
    assert msg.startswith(code), f"expected {code}, got {msg!r}"
    return msg


def camera_burst() -> dict[str, bytes]:
    """50 files as a camera sends them: JPEGs with NEF and CR3 RAWs among them."""
    files = {}
    for i in range(50):
        if i % 5 == 1:
            files[f"DSC_{i:04d}.NEF"] = nef(i)
        elif i % 5 == 3:
            files[f"IMG_{i:04d}.CR3"] = cr3(i)
        else:
            files[f"DSC_{i:04d}.JPG"] = jpeg(i, 1000 + 37 * i)
    return files


# --- the camera flow -------------------------------------------------------------------


@pytest.mark.parametrize("tls", [False, True], ids=["ftp", "ftps"])
def test_camera_flow_ftplib(ftp_gateway: FtpGateway, tls: bool):
    g = ftp_gateway
    g.photographer("alice", ["wedding-a", "gala-b"])
    g.photographer("bob", ["party-c"])
    f = g.ftps("alice") if tls else g.ftp("alice")
    try:
        assert f.pwd() == "/"
        # LIST / shows only the granted events (the ls -l style a camera parses).
        lines: list[str] = []
        f.retrlines("LIST /", lines.append)
        listed = {ln.split()[-1] for ln in lines}
        assert listed == {"wedding-a", "gala-b"}, lines
        assert all(ln.startswith("d") for ln in lines)
        assert names(f, "/") == {"wedding-a", "gala-b"}

        assert f.cwd("wedding-a").startswith("250")
        assert f.pwd() == "/wedding-a"
        assert f.sendcmd("MKD 2026-06-01") == '257 "/wedding-a/2026-06-01" created'
        # Again: a clear 550 "already exists", and the session goes on.
        msg = expect_error("550", f.sendcmd, "MKD 2026-06-01")
        assert "already exists" in msg
        assert f.voidcmd("NOOP").startswith("200")
        f.cwd("2026-06-01")

        files = camera_burst()
        for name, data in files.items():
            assert stor(f, name, data).startswith("226")
        facts = dict(f.mlsd())
        assert set(facts) == set(files)
        for name, data in files.items():
            assert facts[name]["type"] == "file"
            assert int(facts[name]["size"]) == len(data)

        # The same name again: the camera re-sends after a Wi-Fi drop (replace).
        new = jpeg(999, 5000)
        assert stor(f, "DSC_0000.JPG", new).startswith("226")
        assert f.size("DSC_0000.JPG") == len(new)

        # WinSCP style: temporary name, then rename.
        final = jpeg(777, 3000)
        assert stor(f, "IMG_7777.JPG.filepart", final).startswith("226")
        assert f.sendcmd("RNFR IMG_7777.JPG.filepart").startswith("350")
        assert f.sendcmd("RNTO IMG_7777.JPG").startswith("250")
        assert "IMG_7777.JPG.filepart" not in names(f)

        # SIZE / MDTM / HASH / MFMT
        assert f.size("IMG_7777.JPG") == len(final)
        mdtm = f.sendcmd("MDTM IMG_7777.JPG")
        assert mdtm.startswith("213 ") and len(mdtm.split()[1]) == 14
        h = f.sendcmd("HASH IMG_7777.JPG")
        assert h == f"213 SHA-256 0-{len(final) - 1} {sha(final)} IMG_7777.JPG"
        assert f.sendcmd("MFMT 20240304040607 IMG_7777.JPG") == \
            "213 Modify=20240304040607; IMG_7777.JPG"
        assert f.sendcmd("MDTM IMG_7777.JPG") == "213 20240304040607"

        # RETR gives back the exact bytes; REST + RETR resumes a download.
        assert retr(f, "IMG_7777.JPG") == final
        assert retr(f, "/wedding-a/2026-06-01/DSC_0001.NEF") == files["DSC_0001.NEF"]
        buf = io.BytesIO()
        f.retrbinary("RETR IMG_7777.JPG", buf.write, rest=1000)
        assert buf.getvalue() == final[1000:]

        # DELE
        assert f.delete("IMG_7777.JPG").startswith("250")
        expect_error("550", f.size, "IMG_7777.JPG")
        assert f.voidcmd("NOOP").startswith("200")
    finally:
        f.quit()

    # bob sees only his event; alice's files are not reachable by him.
    b = g.ftp("bob")
    try:
        assert names(b, "/") == {"party-c"}
        expect_error("550", b.cwd, "/wedding-a")
        expect_error("550", b.size, "/wedding-a/2026-06-01/DSC_0001.NEF")
    finally:
        b.quit()


def test_replies_are_exact(ftp_gateway: FtpGateway):
    g = ftp_gateway
    g.photographer("alice", ["ev-one"])
    r = Raw(g.host, g.ftp_port)
    try:
        assert r.greeting.startswith("220 ")
        feat = r.cmd("FEAT")
        assert feat.startswith("211-") and feat.endswith("211 End")
        for f in ("AUTH TLS", "PBSZ", "PROT", "UTF8", "EPSV", "MDTM", "MFMT", "SIZE",
                  "REST STREAM", "AVBL", "HASH SHA-256", "MLST type*;size*;modify*;perm*;"):
            assert f in feat, f
        assert r.cmd("SYST").startswith("215 UNIX")
        assert r.cmd("OPTS UTF8 ON").startswith("200")
        assert r.cmd("PWD").startswith("530"), "nothing but login before login"
        assert r.cmd("BOGUS x").startswith("500")
        assert r.cmd("CCC").startswith("533")
        r.login("alice", g.passwords["alice"])
        assert r.cmd("PWD") == '257 "/" is the current directory'
        assert r.cmd("TYPE I").startswith("200")
        assert r.cmd("TYPE A").startswith("200")
        assert r.cmd("MODE S").startswith("200")
        assert r.cmd("MODE B").startswith("504")
        assert r.cmd("STRU F").startswith("200")
        assert r.cmd("ALLO 100").startswith("202")
        assert r.cmd("PORT 127,0,0,1,200,10").startswith("502"), "active mode off by default"
        assert r.cmd("OPTS HASH SHA-256") == "200 SHA-256"
        assert r.cmd("OPTS HASH MD5").startswith("501")
        assert r.cmd("MKD /ev-one/with \"quotes\"") == '257 "/ev-one/with ""quotes""" created'
        assert r.cmd("CWD /ev-one/with \"quotes\"").startswith("250")
        assert r.cmd("CDUP").startswith("250")
        assert r.cmd("PWD") == '257 "/ev-one" is the current directory'
        assert r.cmd("MKD /new-event").startswith("550"), "the root is read-only"
        assert r.cmd("RMD /ev-one").startswith("550"), "event folders are the platform's"
        assert r.cmd("RNTO x").startswith("503")
        assert r.cmd("CWD /../..").startswith("553")
        assert r.cmd("MKD a\\b").startswith("553")
        assert r.cmd("SIZE /ev-one/nope.jpg").startswith("550")
        assert r.cmd("RMD /ev-one/with \"quotes\"").startswith("250")
        avbl = r.cmd("AVBL")
        assert avbl.startswith("213 ") and int(avbl.split()[1]) > 0
        mlst = r.cmd("MLST /ev-one")
        assert mlst.startswith("250-") and "type=dir;" in mlst and mlst.endswith("250 End")
        assert r.cmd("STAT").startswith("211-")
        assert r.cmd("HELP").startswith("214-")
        assert r.cmd("ABOR").startswith("225")
        # LIST of a missing directory: 550 before any 150, the data connection is not used.
        r.pasv()
        assert r.cmd("LIST /ev-one/missing").startswith("550")
        r.pasv()
        assert r.cmd("MLSD /nope").startswith("550")
        assert r.cmd("RETR /ev-one/missing.jpg").startswith("425"), "PASV is used up by MLSD"
        assert r.cmd("QUIT").startswith("221")
        assert r.closed()
    finally:
        r.close()


# --- refusals ---------------------------------------------------------------------------


def test_non_image_is_refused_and_nothing_stored(ftp_gateway: FtpGateway):
    g = ftp_gateway
    g.photographer("alice", ["ev-one"])
    f = g.ftp("alice")
    try:
        msg = expect_error("553", stor, f, "/ev-one/IMG_0001.JPG", NOT_A_PHOTO)
        assert "file type not allowed" in msg
        assert names(f, "/ev-one") == set()
        assert g.blob_files() == set()
        # Empty file: refused the same way.
        expect_error("553", stor, f, "/ev-one/empty.jpg", b"")
        # A bigger non-photo, refused on its first bytes while it is still being sent.
        with pytest.raises((ftplib.Error, OSError)):
            stor(f, "/ev-one/big.jpg", NOT_A_PHOTO * 20000)
        f.close()
        f = g.ftp("alice")
        assert names(f, "/ev-one") == set()
        assert g.blob_files() == set()
        # Refused before 150 when the reason is known: bad name, not allowed, no such event.
        expect_error("553", stor, f, "/ev-one/bad\x7fname.jpg", jpeg(1))
        expect_error("550", stor, f, "/ev-one.jpg", jpeg(1))
        msg = expect_error("550", stor, f, "/no-event/DCIM/a.jpg", jpeg(1))
        assert "/no-event: no such event folder" in msg, msg
        # Missing folders inside an event are made, as on the SFTPGo door (cameras send
        # STOR DCIM/100EOS/IMG_0001.JPG without MKD).
        assert stor(f, "/ev-one/DCIM/100EOS/IMG_0001.JPG", jpeg(4)).startswith("226")
        assert names(f, "/ev-one/DCIM") == {"100EOS"}
        assert f.delete("/ev-one/DCIM/100EOS/IMG_0001.JPG").startswith("250")
        # Resume of an upload: refused clearly, nothing half-stored.
        assert stor(f, "/ev-one/a.jpg", jpeg(1)).startswith("226")
        msg = expect_error("550", f.storbinary, "STOR /ev-one/a.jpg", io.BytesIO(jpeg(2)), 8192,
                           None, 100)
        assert "resume not supported" in msg
        msg = expect_error("550", f.storbinary, "APPE /ev-one/a.jpg", io.BytesIO(jpeg(2)))
        assert "resume not supported" in msg
        # APPE of a new file is a plain upload.
        assert f.storbinary("APPE /ev-one/b.jpg", io.BytesIO(jpeg(3))).startswith("226")
        assert retr(f, "/ev-one/a.jpg") == jpeg(1)
        assert retr(f, "/ev-one/b.jpg") == jpeg(3)
    finally:
        f.close()


@sqlite_only
def test_over_quota_is_552(ftp_gateway: FtpGateway):
    g = ftp_gateway
    g.photographer("alice", ["ev-quota"])
    db = sqlite3.connect(g.data_dir / "catalog.db")
    db.execute("UPDATE events SET max_bytes = 10000 WHERE id = 'ev-quota'")
    db.commit()
    db.close()
    f = g.ftp("alice")
    try:
        assert stor(f, "/ev-quota/a.jpg", jpeg(1, 6000)).startswith("226")
        msg = expect_error("552", stor, f, "/ev-quota/b.jpg", jpeg(2, 6000))
        assert "quota" in msg
        assert names(f, "/ev-quota") == {"a.jpg"}
        assert f.voidcmd("NOOP").startswith("200")
    finally:
        f.close()


def _start_stor(g: FtpGateway, f: ftplib.FTP, path: str) -> socket.socket:
    """Starts an upload and sends part of it (enough that the blob store has begun)."""
    conn = f.transfercmd(f"STOR {path}")
    conn.sendall(jpeg(5, 2_000_000)[:700_000])
    time.sleep(0.5)
    return conn


def incoming(g: FtpGateway) -> list[str]:
    d = g.data_dir / "blobs" / ".incoming"
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def test_reset_data_connection_stores_nothing(ftp_gateway: FtpGateway):
    g = ftp_gateway
    g.photographer("alice", ["ev-one"])
    f = g.ftp("alice")
    try:
        conn = _start_stor(g, f, "/ev-one/cut.jpg")
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()  # RST
        resp = f.getline()
        assert resp.startswith("426"), resp
        assert "nothing stored" in resp
        assert names(f, "/ev-one") == set()
        assert g.blob_files() == set()
        assert incoming(g) == []
        # The session is still usable.
        assert stor(f, "/ev-one/ok.jpg", jpeg(1)).startswith("226")
    finally:
        f.close()


def test_tls_data_closed_without_close_notify_stores_nothing(ftp_gateway: FtpGateway):
    g = ftp_gateway
    g.photographer("alice", ["ev-one"])
    f = g.ftps("alice")
    try:
        conn = _start_stor(g, f, "/ev-one/cut.jpg")
        # A TCP FIN without TLS close_notify: a truncated file, not the end of one.
        socket.socket.shutdown(conn, socket.SHUT_RDWR)
        conn.close()
        resp = f.getline()
        assert resp.startswith("426"), resp
        assert names(f, "/ev-one") == set()
        assert g.blob_files() == set()
        assert stor(f, "/ev-one/ok.jpg", jpeg(1)).startswith("226")
        assert names(f, "/ev-one") == {"ok.jpg"}
    finally:
        f.close()


def test_abor_during_upload_stores_nothing(ftp_gateway: FtpGateway):
    g = ftp_gateway
    g.photographer("alice", ["ev-one"])
    f = g.ftp("alice")
    try:
        conn = _start_stor(g, f, "/ev-one/aborted.jpg")
        f.sock.sendall(b"ABOR\r\n")
        first = f.getline()
        second = f.getline()
        conn.close()
        assert first.startswith("426"), first
        assert second.startswith("226"), second
        assert names(f, "/ev-one") == set()
        assert g.blob_files() == set()
    finally:
        f.close()


def test_two_photographers_same_name(ftp_gateway: FtpGateway):
    g = ftp_gateway
    g.photographer("nikon-one", ["race-day"])
    g.photographer("nikon-two", ["race-day"])
    a, b = jpeg(1), jpeg(2)
    fa, fb = g.ftp("nikon-one"), g.ftp("nikon-two")
    try:
        assert stor(fa, "/race-day/DSC_0001.JPG", a).startswith("226")
        assert stor(fb, "/race-day/DSC_0001.JPG", b).startswith("226")
        assert retr(fa, "/race-day/DSC_0001.JPG") == a
        assert retr(fb, "/race-day/DSC_0001.JPG") == b
        assert names(fa, "/race-day") == {"DSC_0001.JPG"}
        assert names(fb, "/race-day") == {"DSC_0001.JPG"}
        assert len(g.blob_files()) == 2
    finally:
        fa.close()
        fb.close()


@pytest.mark.gateway_env(FTPGATE_LOCKOUT__SAFE_IPS="[127.0.0.1]")
def test_lockout_and_safe_listed_ip(ftp_gateway: FtpGateway):
    g = ftp_gateway
    g.photographer("alice", ["ev-one"])
    g.photographer("bob", ["ev-one"])
    for _ in range(5):
        f = g.ftp()
        expect_error("530", f.login, "alice", "wrong password")
        f.close()
    f = g.ftp()
    msg = expect_error("530", f.login, "alice", g.passwords["alice"])
    assert "locked" in msg.lower()
    f.close()
    # Same address (safe-listed), other photographer: not affected.
    b = g.ftp("bob")
    assert b.pwd() == "/"
    b.quit()


def test_failed_logins_close_the_connection(ftp_gateway: FtpGateway):
    g = ftp_gateway
    g.photographer("alice", ["ev-one"])
    r = Raw(g.host, g.ftp_port)
    try:
        for _ in range(3):
            assert r.cmd("USER alice").startswith("331")
            assert r.cmd("PASS nope").startswith("530")
        assert r.closed()
    finally:
        r.close()


# --- TLS ---------------------------------------------------------------------------------


@pytest.mark.gateway_env(FTPGATE_FTP__REQUIRE_TLS="true")
def test_require_tls(ftp_gateway: FtpGateway):
    g = ftp_gateway
    g.photographer("alice", ["ev-one"])
    # Plain-text login refused.
    f = g.ftp()
    msg = expect_error("530", f.login, "alice", g.passwords["alice"])
    assert "TLS" in msg
    f.close()
    # TLS login, but data in clear: refused on PASV and EPSV alike, nothing stored.
    f = g.ftps("alice", prot_p=False)
    try:
        assert f.sendcmd("PBSZ 0").startswith("200")
        expect_error("534", f.sendcmd, "PROT C")
        for mode in ("PASV", "EPSV"):
            assert f.sendcmd(mode)[:3] in ("227", "229")
            expect_error("521", f.sendcmd, "STOR /ev-one/clear.jpg")
            assert f.sendcmd(mode)[:3] in ("227", "229")
            expect_error("521", f.sendcmd, "LIST /ev-one")
        assert g.blob_files() == set()
        f.prot_p()
        assert stor(f, "/ev-one/safe.jpg", jpeg(1)).startswith("226")
        f.af = socket.AF_INET6  # ftplib then uses EPSV
        assert retr(f, "/ev-one/safe.jpg") == jpeg(1)
    finally:
        f.close()


@sqlite_only
def test_auth_tls_500_handshakes(ftp_gateway: FtpGateway):
    g = ftp_gateway
    ctx = insecure_context()
    failures = []
    start = time.monotonic()
    for i in range(500):
        try:
            f = ftplib.FTP_TLS(context=ctx)
            f.connect(g.host, g.ftp_port, timeout=10)
            f.auth()
            assert f.voidcmd("NOOP").startswith("200")
            f.quit()
        except Exception as e:  # noqa: BLE001 - counted, reported below
            failures.append((i, repr(e)))
    elapsed = time.monotonic() - start
    assert failures == [], failures[:5]
    assert elapsed < 60, f"500 handshakes took {elapsed:.1f} s"


@sqlite_only
def test_certificate_is_generated_and_fingerprint_logged(ftp_gateway: FtpGateway):
    g = ftp_gateway
    cert = g.data_dir / "ftp-tls" / "cert.pem"
    assert cert.exists()
    assert (g.data_dir / "ftp-tls" / "key.pem").stat().st_mode & 0o077 == 0
    fp = g.fingerprint()
    assert fp, g.log()
    der = ssl.PEM_cert_to_DER_cert(cert.read_text())
    assert fp == ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())
    # What a client sees on the wire is that certificate.
    f = g.ftps()
    try:
        assert hashlib.sha256(f.sock.getpeercert(binary_form=True)).hexdigest().upper() == \
            fp.replace(":", "")
    finally:
        f.close()


# --- curl ------------------------------------------------------------------------------


@pytest.mark.parametrize("tls", [False, True], ids=["ftp", "ftps"])
def test_curl(ftp_gateway: FtpGateway, tmp_path: Path, tls: bool):
    curl = need_tool("curl")
    g = ftp_gateway
    pw = g.photographer("alice", ["ev-curl"])
    base = f"ftp://127.0.0.1:{g.ftp_port}"
    tls_args = ["--ssl-reqd", "-k"] if tls else []
    auth = ["--user", f"alice:{pw}"]
    src = tmp_path / "DSC_0100.JPG"
    data = jpeg(100, 300_000)
    src.write_bytes(data)
    r = run([curl, "-sS", "--fail", *tls_args, *auth, "--ftp-create-dirs", "-T", str(src),
             f"{base}/ev-curl/day1/"])
    assert r.returncode == 0, r.stderr
    out = tmp_path / "back.jpg"
    r = run([curl, "-sS", "--fail", *tls_args, *auth, "-o", str(out),
             f"{base}/ev-curl/day1/DSC_0100.JPG"])
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == data
    r = run([curl, "-sS", "--fail", *tls_args, *auth, "--list-only", f"{base}/ev-curl/day1/"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["DSC_0100.JPG"]
    r = run([curl, "-sS", "--fail", *tls_args, *auth, f"{base}/"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[-1] == "ev-curl"
    # A refused upload makes curl fail.
    bad = tmp_path / "notes.jpg"
    bad.write_bytes(NOT_A_PHOTO)
    r = run([curl, "-sS", "--fail", *tls_args, *auth, "-T", str(bad), f"{base}/ev-curl/day1/"])
    assert r.returncode != 0
    assert "553" in r.stderr or r.returncode in (25, 55), r.stderr
    r = run([curl, "-sS", "--fail", *tls_args, "--user", "alice:wrong", f"{base}/"])
    assert r.returncode == 67, r.stderr  # login denied


def test_curl_implicit_ftps(ftp_gateway_factory, tmp_path: Path):
    curl = need_tool("curl")
    g = ftp_gateway_factory(implicit=True)
    pw = g.photographer("alice", ["ev-imp"])
    src = tmp_path / "IMG_1.JPG"
    data = jpeg(1, 100_000)
    src.write_bytes(data)
    base = f"ftps://127.0.0.1:{g.implicit_port}"
    r = run([curl, "-sS", "--fail", "-k", "--user", f"alice:{pw}", "-T", str(src),
             f"{base}/ev-imp/"])
    assert r.returncode == 0, r.stderr + g.log()
    out = tmp_path / "back.jpg"
    r = run([curl, "-sS", "--fail", "-k", "--user", f"alice:{pw}", "-o", str(out),
             f"{base}/ev-imp/IMG_1.JPG"])
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == data
    f = g.ftp("alice")
    assert retr(f, "/ev-imp/IMG_1.JPG") == data
    f.close()


# --- lftp -------------------------------------------------------------------------------


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): sha(p.read_bytes()) for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("tls", [False, True], ids=["ftp", "ftps"])
def test_lftp_mirror(ftp_gateway: FtpGateway, tmp_path: Path, tls: bool):
    g = ftp_gateway
    pw = g.photographer("alice", ["ev-lftp"])
    src = tmp_path / "card"
    for d in range(3):
        (src / f"DCIM/10{d}NIKON").mkdir(parents=True)
        for i in range(8):
            n = d * 100 + i
            if i % 3 == 0:
                (src / f"DCIM/10{d}NIKON/DSC_{n:04d}.NEF").write_bytes(nef(n, 150_000))
            else:
                (src / f"DCIM/10{d}NIKON/DSC_{n:04d}.JPG").write_bytes(jpeg(n, 120_000 + n))
    if tls:
        settings = ("set ftp:ssl-force yes; set ftp:ssl-protect-data yes; "
                    "set ssl:verify-certificate no; ")
    else:
        settings = "set ftp:ssl-allow no; "
    r = lftp(settings + f"open -u alice,{pw} -p {g.ftp_port} 127.0.0.1; "
             f"mirror -R --parallel=4 --no-perms {src} /ev-lftp/card")
    assert r.returncode == 0, r.stdout + r.stderr + g.log()
    back = tmp_path / "back"
    r = lftp(settings + f"open -u alice,{pw} -p {g.ftp_port} 127.0.0.1; "
             f"mirror --parallel=4 /ev-lftp/card {back}")
    assert r.returncode == 0, r.stdout + r.stderr
    assert _tree(back) == _tree(src)
    f = g.ftp("alice")
    try:
        assert names(f, "/ev-lftp/card/DCIM") == {"100NIKON", "101NIKON", "102NIKON"}
        h = f.sendcmd("HASH /ev-lftp/card/DCIM/100NIKON/DSC_0001.JPG")
        assert sha((src / "DCIM/100NIKON/DSC_0001.JPG").read_bytes()) in h
    finally:
        f.close()


def test_list_and_nlst_take_name_patterns(ftp_gateway: FtpGateway):
    """`mget *.JPG` in command-line clients sends `NLST *.JPG`: the server expands it."""
    g = ftp_gateway
    g.photographer("alice", ["ev-glob"])
    f = g.ftp("alice")
    try:
        f.mkd("/ev-glob/d")
        f.cwd("/ev-glob/d")
        for i in range(3):
            stor(f, f"DSC_000{i}.JPG", jpeg(i))
            stor(f, f"DSC_000{i}.NEF", nef(i))
        stor(f, "DSC_0010.JPG", jpeg(10))
        assert sorted(f.nlst("*.JPG")) == ["DSC_0000.JPG", "DSC_0001.JPG", "DSC_0002.JPG",
                                          "DSC_0010.JPG"]
        assert sorted(f.nlst("/ev-glob/d/DSC_000?.NEF")) == ["DSC_0000.NEF", "DSC_0001.NEF",
                                                             "DSC_0002.NEF"]
        lines: list[str] = []
        f.retrlines("LIST DSC_001*", lines.append)
        assert [ln.split()[-1] for ln in lines] == ["DSC_0010.JPG"]
        assert lines[0].startswith("-rw")
        # No match is an empty listing; a pattern in a missing directory is still 550.
        assert f.nlst("*.CR3") == []
        expect_error("550", f.nlst, "/ev-glob/missing/*.JPG")
        # MLSD takes no patterns (RFC 3659).
        expect_error("550", lambda: list(f.mlsd("*.JPG")))
    finally:
        f.quit()


# --- limits and robustness ----------------------------------------------------------------


@pytest.mark.gateway_env(FTPGATE_FTP__MAX_SESSIONS_PER_IP="2")
def test_session_limit_per_ip(ftp_gateway: FtpGateway):
    g = ftp_gateway
    # From an address of this test's own: a stray connection from 127.0.0.1 (another worker
    # probing a port it believes free) must not take one of the two slots under test.
    src = "127.0.0.77"
    a = Raw(g.host, g.ftp_port, source=src)
    b = Raw(g.host, g.ftp_port, source=src)
    c = Raw(g.host, g.ftp_port, source=src)
    try:
        assert a.greeting.startswith("220") and b.greeting.startswith("220")
        assert c.greeting.startswith("421"), c.greeting
        assert c.closed()
    finally:
        for x in (a, b, c):
            x.close()
    time.sleep(0.3)
    d = Raw(g.host, g.ftp_port, source=src)
    assert d.greeting.startswith("220"), "slots are released when sessions end"
    d.close()


@pytest.mark.gateway_env(FTPGATE_FTP__MAX_SESSIONS_PER_USER="1")
def test_session_limit_per_user(ftp_gateway: FtpGateway):
    g = ftp_gateway
    g.photographer("alice", ["ev-one"])
    f = g.ftp("alice")
    g2 = g.ftp()
    msg = expect_error("530", g2.login, "alice", g.passwords["alice"])
    assert "Too many sessions" in msg
    g2.close()
    f.quit()
    time.sleep(0.3)
    g.ftp("alice").quit()


@pytest.mark.gateway_env(FTPGATE_FTP__IDLE_TIMEOUT_SECS="1")
def test_idle_timeout(ftp_gateway: FtpGateway):
    g = ftp_gateway
    r = Raw(g.host, g.ftp_port)
    try:
        time.sleep(1.5)
        assert r.reply().startswith("421")
        assert r.closed()
    finally:
        r.close()


def test_hostile_input_does_not_hurt(ftp_gateway: FtpGateway):
    g = ftp_gateway
    g.photographer("alice", ["ev-one"])
    # An endless line is refused once it passes the bound.
    r = Raw(g.host, g.ftp_port)
    try:
        r.sock.sendall(b"USER " + b"A" * 100_000)
        assert r.reply().startswith("500")
        assert r.closed()
    finally:
        r.close()
    # Garbage and binary: 500 each, then the connection is closed after the pre-login budget.
    r = Raw(g.host, g.ftp_port)
    try:
        for i in range(50):
            try:
                r.send(bytes([i, 0xFF, 0xFE, 0x00, 0x16, 0x03]) + b"\xc3\x28 x")
            except OSError:
                break
        assert r.closed(10)
        assert "421" in r.buf.decode("utf-8", "replace")
    finally:
        r.close()
    # The server is fine for everyone else.
    f = g.ftp("alice")
    assert stor(f, "/ev-one/a.jpg", jpeg(1)).startswith("226")
    f.quit()


def test_data_connection_from_another_address_is_refused(ftp_gateway: FtpGateway):
    g = ftp_gateway
    g.photographer("alice", ["ev-one"])
    r = Raw(g.host, g.ftp_port)
    try:
        r.login("alice", g.passwords["alice"])
        host, port = r.pasv()
        # 127.0.0.2 is another loopback address: the thief connects first.
        thief = socket.create_connection((host, port), timeout=5, source_address=("127.0.0.2", 0))
        owner = socket.create_connection((host, port), timeout=5)
        r.send("LIST /")
        assert r.reply().startswith("150")
        data = b""
        while chunk := owner.recv(65536):
            data += chunk
        assert b"ev-one" in data
        assert r.reply().startswith("226")
        thief.settimeout(5)
        try:
            assert thief.recv(100) == b""
        except OSError:
            pass
        thief.close()
        owner.close()
    finally:
        r.close()


@pytest.mark.gateway_env(FTPGATE_FTP__ACTIVE_MODE="true")
def test_active_mode_with_bounce_check(ftp_gateway: FtpGateway):
    g = ftp_gateway
    g.photographer("alice", ["ev-one"])
    f = g.ftp("alice")
    try:
        f.set_pasv(False)
        assert stor(f, "/ev-one/a.jpg", jpeg(1)).startswith("226")
        assert retr(f, "/ev-one/a.jpg") == jpeg(1)
        expect_error("501", f.sendcmd, "PORT 127,0,0,2,200,10")
        expect_error("501", f.sendcmd, "EPRT |1|10.1.2.3|50000|")
        expect_error("501", f.sendcmd, "PORT 127,0,0,1,0,21")
    finally:
        f.close()


@pytest.mark.gateway_env(FTPGATE_FTP__PROXY_PROTOCOL="true",
                         FTPGATE_FTP__PROXY_ALLOWED="[127.0.0.1]")
def test_proxy_protocol(ftp_gateway: FtpGateway):
    g = ftp_gateway
    g.photographer("alice", ["ev-one"])
    # Without a header: dropped.
    s = socket.create_connection((g.host, g.ftp_port), timeout=15)
    s.sendall(b"USER alice\r\n")
    assert s.recv(100) == b""
    s.close()
    # v1 header from a "load balancer": the session works, and its data connections must come
    # with a header naming the same client.
    s = socket.create_connection((g.host, g.ftp_port), timeout=15)
    s.sendall(b"PROXY TCP4 127.0.0.1 127.0.0.1 40000 2121\r\n")
    r = Raw.__new__(Raw)
    r.sock, r.buf = s, b""
    try:
        assert r.reply().startswith("220")
        r.login("alice", g.passwords["alice"])
        port = r.epsv()
        d = socket.create_connection((g.host, port), timeout=5)
        v2 = (b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x21, 0x11]) + struct.pack("!H", 12)
              + bytes([127, 0, 0, 1, 127, 0, 0, 1]) + struct.pack("!HH", 40001, 50000))
        d.sendall(v2)
        r.send("NLST /")
        assert r.reply().startswith("150")
        data = b""
        while chunk := d.recv(65536):
            data += chunk
        assert data == b"ev-one\r\n"
        assert r.reply().startswith("226")
        d.close()
    finally:
        r.close()


def test_shutdown_lets_a_transfer_finish(ftp_gateway: FtpGateway):
    g = ftp_gateway
    g.photographer("alice", ["ev-one"])
    f = g.ftp("alice")
    data = jpeg(9, 400_000)
    conn = f.transfercmd("STOR /ev-one/late.jpg")
    conn.sendall(data[:200_000])
    g.gw.proc.send_signal(15)  # SIGTERM: stop accepting, let this transfer finish
    time.sleep(0.5)
    with pytest.raises(OSError):
        socket.create_connection((g.host, g.ftp_port), timeout=2)
    conn.sendall(data[200_000:])
    conn.close()
    assert f.getline().startswith("226")
    assert f.getline().startswith("421")
    g.gw.proc.wait(15)
    assert g.gw.proc.returncode == 0
    g.gw.start()
    from ftp_support import wait_ftp
    wait_ftp(g.host, g.ftp_port)
    f2 = g.ftp("alice")
    assert retr(f2, "/ev-one/late.jpg") == data
    f2.quit()


@pytest.mark.parametrize("size", [3_000_000, 24_000_000], ids=["sent", "blocked"])
def test_abor_python_client(ftp_gateway: FtpGateway, size: int):
    """ftplib's abort() sends ABOR as TCP urgent data. With 24 MB the download cannot finish
    into the socket buffers while the client reads nothing, so the ABOR meets a blocked
    transfer: 426 then 226. (The kernel ends a read at the urgent byte; an early version
    never saw the line's LF then, and the client waited forever.)"""
    g = ftp_gateway
    g.photographer("alice", ["ev-one"])
    f = g.ftp("alice")
    try:
        big = jpeg(3, size)
        assert stor(f, "/ev-one/big.jpg", big).startswith("226")
        conn = f.transfercmd("RETR /ev-one/big.jpg")
        conn.recv(1000)
        resp = f.abort()
        conn.close()
        if size > 20_000_000:
            assert resp.startswith("426"), resp
        assert resp[:3] in ("426", "225", "226")
        # Whatever came first (the transfer may have been sent already), the replies line up.
        f.putcmd("NOOP")
        later = []
        while not (later and later[-1].startswith("200")):
            later.append(f.getline())
        assert all(x[:3] in ("225", "226") for x in later[:-1]), later
    finally:
        f.close()


def test_many_parallel_sessions(ftp_gateway: FtpGateway):
    """Sessions are independent: 8 clients upload at once, each gets all its files."""
    import concurrent.futures as cf
    g = ftp_gateway
    for i in range(8):
        g.photographer(f"cam{i}", ["ev-par"])

    def work(i: int) -> int:
        f = g.ftp(f"cam{i}")
        try:
            for j in range(10):
                assert stor(f, f"/ev-par/IMG_{j:04d}.JPG", jpeg(i * 100 + j, 50_000)).startswith(
                    "226")
            return len(names(f, "/ev-par"))
        finally:
            f.quit()

    with cf.ThreadPoolExecutor(8) as ex:
        assert list(ex.map(work, range(8))) == [10] * 8


class ResumingFTP_TLS(ftplib.FTP_TLS):
    """FileZilla-style: every data connection resumes the control connection's TLS session."""

    reused: list[bool]

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host,
                                            session=self.sock.session)
            self.reused.append(conn.session_reused)
        return conn, size


@pytest.mark.parametrize("version", ["TLSv1_2", "TLSv1_3"])
def test_data_channel_resumes_the_control_session(ftp_gateway: FtpGateway, version: str):
    g = ftp_gateway
    g.photographer("alice", ["ev-one"])
    ctx = insecure_context()
    ctx.minimum_version = ctx.maximum_version = getattr(ssl.TLSVersion, version)
    f = ResumingFTP_TLS(context=ctx)
    f.reused = []
    f.connect(g.host, g.ftp_port, timeout=30)
    f.auth()
    f.login("alice", g.passwords["alice"])
    f.prot_p()
    try:
        for i in range(3):
            assert stor(f, f"/ev-one/IMG_{i}.JPG", jpeg(i)).startswith("226")
            assert retr(f, f"/ev-one/IMG_{i}.JPG") == jpeg(i)
        assert names(f, "/ev-one") == {"IMG_0.JPG", "IMG_1.JPG", "IMG_2.JPG"}
        assert f.reused and all(f.reused), f.reused
        assert f.sock.version() == version.replace("_", ".").replace("TLSv1.", "TLSv1.")
    finally:
        f.quit()
