"""Issue 15: what a new operator and a photographer trip over in the first hour."""

from __future__ import annotations

import json

from harness.gateway import Gateway
from ftp_support import ftp_gateway, ftp_gateway_factory  # noqa: F401 (fixtures)


def _lock(gateway: Gateway, user: str, ip: str) -> None:
    for _ in range(5):
        assert gateway.auth(user, "wrong", ip=ip).status == 401


def _admin(gateway: Gateway) -> list[tuple[str, str]]:
    token = gateway.cli_ok("admin-token", "create", "ops").stdout.strip().splitlines()[-1]
    return [("Authorization", f"Bearer {token}")]


# --- a locked-out photographer can be helped -----------------------------------------------

def test_photographer_unlock_lifts_every_lock(gateway):
    gateway.add_photographer("ann_b", "pw-ann-12345")
    gateway.add_photographer("annxb", "pw-annx-12345")
    for ip in ("10.0.0.5", "10.0.0.6"):
        _lock(gateway, "ann_b", ip)
    _lock(gateway, "annxb", "10.0.0.5")
    assert gateway.auth("ann_b", "pw-ann-12345", ip="10.0.0.5").status == 401
    out = gateway.cli_ok("photographer", "unlock", "ann_b").stdout
    assert "unlocked ann_b (2 address(es) cleared)" in out, out
    for ip in ("10.0.0.5", "10.0.0.6"):
        assert gateway.auth("ann_b", "pw-ann-12345", ip=ip).status == 200
    # Only that photographer: `_` in the name is not a wildcard for `annxb`.
    assert gateway.auth("annxb", "pw-annx-12345", ip="10.0.0.5").status == 401
    assert "was not locked out" in gateway.cli_ok("photographer", "unlock", "ann_b").stdout
    r = gateway.cli("photographer", "unlock", "nobody")
    assert r.returncode != 0 and "nobody" in r.stderr


def test_unlock_through_the_api_is_audited(gateway):
    gateway.add_photographer("bea", "pw-bea-12345")
    _lock(gateway, "bea", "10.0.0.7")
    auth = _admin(gateway)
    r = gateway.http("POST", "/api/v1/photographers/bea/unlock", auth)
    assert r.status == 200, r
    assert json.loads(r.body) == {"username": "bea", "addresses_cleared": 1}
    assert gateway.auth("bea", "pw-bea-12345", ip="10.0.0.7").status == 200
    assert gateway.http("POST", "/api/v1/photographers/nobody/unlock", auth).status == 404
    items = json.loads(gateway.http("GET", "/api/v1/audit?limit=50", auth).body)["items"]
    hits = [i for i in items if i["action"] == "admin.photographer.unlock"]
    assert len(hits) == 1 and hits[0]["photographer"] == "bea", items


def test_a_new_password_lifts_the_lock(gateway):
    gateway.add_photographer("cid", "pw-cid-12345")
    _lock(gateway, "cid", "10.0.0.8")
    gateway.cli_ok("photographer", "passwd", "cid", "--password-stdin", input="pw-cid-67890\n")
    assert gateway.auth("cid", "pw-cid-67890", ip="10.0.0.8").status == 200


def test_enable_and_disable_say_when_nothing_changed(gateway):
    gateway.add_photographer("dee", "pw-dee-12345")
    assert "dee was already enabled" in gateway.cli_ok("photographer", "enable", "dee").stdout
    assert "disabled dee" in gateway.cli_ok("photographer", "disable", "dee").stdout
    assert "already disabled" in gateway.cli_ok("photographer", "disable", "dee").stdout
    assert "enabled dee" in gateway.cli_ok("photographer", "enable", "dee").stdout


# --- the CLI and the data directory -------------------------------------------------------

def _bare_cli(tmp_path, *args: str, env: dict[str, str] | None = None):
    """The binary with no FTPGATE_ variable at all, run in `tmp_path`."""
    import os
    import subprocess
    from harness.gateway import gateway_bin
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FTPGATE_")}
    clean.update(env or {})
    return subprocess.run([str(gateway_bin()), *args], cwd=tmp_path, env=clean,
                          capture_output=True, text=True, timeout=60)


def test_cli_in_the_wrong_directory_creates_no_catalog(tmp_path):
    r = _bare_cli(tmp_path, "photographer", "list")
    assert r.returncode != 0
    assert str(tmp_path / "data" / "catalog.db") in r.stderr, r.stderr
    assert "--data-dir" in r.stderr and "FTPGATE_DATA_DIR" in r.stderr
    assert not (tmp_path / "data").exists(), "a new empty catalog was made"
    # Named explicitly, it may be created (provisioning before the first start).
    r = _bare_cli(tmp_path, "--data-dir", str(tmp_path / "gw"), "event", "add", "expo")
    assert r.returncode == 0, r.stderr
    r = _bare_cli(tmp_path, "event", "list", env={"FTPGATE_DATA_DIR": str(tmp_path / "gw")})
    assert r.returncode == 0 and "expo" in r.stdout, r
    # Where `serve` runs, ./data holds the catalog and needs no naming.
    (tmp_path / "gw").rename(tmp_path / "data")
    r = _bare_cli(tmp_path, "event", "list")
    assert r.returncode == 0 and "expo" in r.stdout, r


def test_config_errors_name_the_key_and_its_source(tmp_path):
    r = _bare_cli(tmp_path, "check", env={"FTPGATE_HTTP__LISTN": "x"})
    assert r.returncode != 0
    assert "unknown key http.listn" in r.stderr and "FTPGATE_HTTP__LISTN" in r.stderr, r.stderr
    assert "listen, public_url" in r.stderr and "`" not in r.stderr, r.stderr
    cfg = tmp_path / "gw.toml"
    cfg.write_text("[upload]\nmax_filesize = 3\n")
    r = _bare_cli(tmp_path, "--config", str(cfg), "check")
    assert "unknown key upload.max_filesize" in r.stderr and str(cfg) in r.stderr, r.stderr


# --- what the log says ----------------------------------------------------------------------

def _lines(gateway: Gateway, *needles: str) -> list[str]:
    return [ln for ln in gateway.log_tail(256 * 1024).splitlines()
            if all(n in ln for n in needles)]


def test_refusals_are_logged_at_info_and_contract_answers_never_at_error(gateway):
    import time
    c = gateway.photographer("eve", ["fair"], password="pw-eve-SECRET1")
    assert gateway.auth("eve", "wrong-SECRET2", ip="10.9.0.1").status == 401
    assert c.create("/fair/notes.jpg", b"just some text, not a photo" * 10).status == 415
    assert c.chmod("/fair", 0o755).status == 501
    assert c.stat("/fair/missing.jpg").status == 404
    _lock(gateway, "eve", "10.9.0.2")
    assert gateway.auth("eve", "pw-eve-SECRET1", ip="10.9.0.2").status == 401
    time.sleep(0.3)
    refused = _lines(gateway, "INFO", "login refused: wrong username or password")
    assert any("10.9.0.1" in ln and "eve" in ln for ln in refused), refused
    assert _lines(gateway, "WARN", "locked out", "10.9.0.2", "eve")
    upload = _lines(gateway, "INFO", "request refused", "status=415")
    assert upload and "user=eve" in upload[0] and "door=sftpgo" in upload[0], upload
    assert not _lines(gateway, "ERROR"), _lines(gateway, "ERROR")
    assert not _lines(gateway, "SECRET"), "a password reached the log"
    assert c.api_key not in gateway.log_tail(256 * 1024)


def test_ftp_refusals_are_logged_with_the_reply(ftp_gateway):
    import ftplib
    import io
    import time
    g = ftp_gateway
    g.photographer("fay", ["fair"])
    f = g.ftp("fay")
    try:
        try:
            f.storbinary("STOR /fair/notes.jpg", io.BytesIO(b"plain text, not a photo" * 20))
        except ftplib.error_perm:
            pass
        try:
            f.delete("/fair/missing.jpg")
        except ftplib.error_perm:
            pass
        try:
            f.size("/fair/missing.jpg")
        except ftplib.error_perm:
            pass
    finally:
        f.close()
    time.sleep(0.3)
    log = g.log()
    lines = [ln for ln in log.splitlines() if " INFO " in ln]
    assert any("FTP upload not stored" in ln and "fay" in ln and "reply=" in ln for ln in lines), log
    dele = [ln for ln in lines if "FTP command refused" in ln and "command=DELE" in ln]
    assert dele and "reply=550" in dele[0] and "fay" in dele[0], lines
    assert not [ln for ln in lines if "command=SIZE" in ln], "a probe is not a refusal"
    assert " ERROR " not in log


# --- the FTP door's certificate ------------------------------------------------------------

def test_generated_certificate_is_for_the_configured_names(ftp_gateway_factory):
    import datetime as dt
    import ssl
    import subprocess
    g = ftp_gateway_factory(FTPGATE_FTP__PASSIVE_HOST="photos.example.test",
                            FTPGATE_TLS__NAMES="[ftp.example.test, 192.0.2.7]")
    g.photographer("gil", ["fair"])
    cert = g.data_dir / "ftp-tls" / "cert.pem"
    info = ssl._ssl._test_decode_cert(str(cert))
    subject = dict(x[0] for x in info["subject"])
    assert subject["commonName"] == "photos.example.test", info
    sans = {v for _, v in info["subjectAltName"]}
    assert {"photos.example.test", "ftp.example.test", "192.0.2.7", "127.0.0.1",
            "localhost"} <= sans, sans
    not_after = dt.datetime.strptime(info["notAfter"], "%b %d %H:%M:%S %Y %Z")
    days = (not_after - dt.datetime.utcnow()).days
    assert 700 <= days <= 731, info["notAfter"]
    # curl trusts it for the address it dials, with the name checked (no --insecure).
    r = subprocess.run(["curl", "-sS", "--ssl-reqd", "--cacert", str(cert), "--list-only",
                        "-u", f"gil:{g.passwords['gil']}", f"ftp://127.0.0.1:{g.ftp_port}/"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "fair" in r.stdout, r.stderr
    # The same names at the next start: the same certificate (cameras keep trusting it).
    before = cert.read_bytes()
    g.gw.restart()
    assert cert.read_bytes() == before
    assert "renewing" not in g.log()


def test_certificate_is_renewed_when_the_names_change(ftp_gateway_factory):
    g = ftp_gateway_factory()
    cert = g.data_dir / "ftp-tls" / "cert.pem"
    before = cert.read_bytes()
    g.gw.stop()
    g.gw.env_settings["FTPGATE_TLS__NAMES"] = "[gate.example.test]"
    g.gw.start()
    assert cert.read_bytes() != before
    assert "renewing the generated FTPS certificate" in g.log()


def test_plaintext_logins_on_the_network_are_announced(gateway_factory):
    from ftp_support import ftp_env, wait_ftp
    from harness.gateway import free_port
    port = free_port()
    g = gateway_factory(ftp_env(port, FTPGATE_FTP__LISTEN=f"0.0.0.0:{port}"))
    wait_ftp("127.0.0.1", port)
    assert [ln for ln in g.log_tail().splitlines()
            if " WARN " in ln and "plaintext logins" in ln and "ftp.require_tls" in ln]
    # With TLS required, nothing to warn about.
    port = free_port()
    g = gateway_factory(ftp_env(port, FTPGATE_FTP__LISTEN=f"0.0.0.0:{port}",
                                FTPGATE_FTP__REQUIRE_TLS="true"))
    wait_ftp("127.0.0.1", port)
    assert "plaintext logins" not in g.log_tail()


# --- audit records ----------------------------------------------------------------------------

def test_sftpgo_door_records_carry_the_cameras_address(gateway):
    from harness.samples import tiny_jpeg
    gateway.add_photographer("hal", "pw-hal-12345")
    gateway.add_event("fair")
    gateway.grant("hal", "fair")
    c = gateway.client_from_auth(gateway.auth("hal", "pw-hal-12345", ip="203.0.113.9"))
    assert c.create("/fair/a.jpg", tiny_jpeg(1)).status in (200, 201)
    assert c.create("/root.jpg", tiny_jpeg(2)).status in (403, 404)
    auth = _admin(gateway)
    uploads = json.loads(gateway.http("GET", "/api/v1/events/fair/uploads", auth).body)["items"]
    assert [u["uploader_ip"] for u in uploads] == ["203.0.113.9"], uploads
    items = json.loads(gateway.http("GET", "/api/v1/audit?limit=100", auth).body)["items"]
    mine = [i for i in items if i["door"] == "sftpgo" and i["action"] != "login"]
    assert mine and all(i["ip"] == "203.0.113.9" for i in mine), mine
    refused = [i for i in mine if i.get("path") == "/root.jpg"]
    assert refused and refused[0]["event"] is None, refused


def test_ftpgate_config_variable_names_the_file(tmp_path):
    cfg = tmp_path / "gw.toml"
    cfg.write_text(f'data_dir = "{tmp_path / "somewhere"}"\n')
    r = _bare_cli(tmp_path, "event", "add", "expo", env={"FTPGATE_CONFIG": str(cfg)})
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "somewhere" / "catalog.db").exists()
    r = _bare_cli(tmp_path, "--config", str(cfg), "event", "list")
    assert "expo" in r.stdout, r
