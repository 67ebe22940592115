"""Fixtures and helpers for the embedded FTP/FTPS door's end-to-end tests (test_ftp.py).

Builds on conftest.py's ``gateway_factory``: each ``FtpGateway`` is an ``ftpgate serve`` with
the FTP door on (``FTPGATE_FTP__ENABLED=true``) on a free loopback port and its own passive
port range, plus helpers to add photographers and to open ftplib sessions.

Import the fixtures into a test module (``from ftp_support import ftp_gateway, ...``).
"""

from __future__ import annotations

import ftplib
import io
import os
import random
import re
import shutil
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness.gateway import Gateway, free_port
from harness.samples import JPEG_HEADER

CI = os.environ.get("CI", "").lower() == "true"
TIMEOUT = 30.0

# --- photo-shaped sample files ---------------------------------------------------------


def jpeg(i: int, size: int = 2048) -> bytes:
    """A JPEG-headed file (SOI + APP0 JFIF), distinct per ``i``. The byte after the header is
    no marker, so the structure check cannot mistake the random body for a cut scan."""
    body = random.Random(i).randbytes(max(0, size - len(JPEG_HEADER) - 3))
    return JPEG_HEADER + b"\x00" + body + b"\xff\xd9"


def nef(i: int, size: int = 4096) -> bytes:
    """A little-endian TIFF header ("II*\\0", first IFD at offset 8), as Nikon RAWs start."""
    ifd = bytes.fromhex("0100" "0001" "0300" "01000000" "0100" "0000" "00000000")
    head = b"II*\x00\x08\x00\x00\x00" + ifd
    return head + random.Random(10_000 + i).randbytes(size - len(head))


def cr3(i: int, size: int = 4096) -> bytes:
    """An ISO-BMFF ftyp box with major brand "crx " (Canon CR3)."""
    head = (bytes.fromhex("00000018") + b"ftyp" + b"crx " + bytes.fromhex("00000001")
            + b"crx " + b"isom" + bytes.fromhex("00000008") + b"moov")
    # The rest is one mdat box, so the boxes add up to the length (a whole file).
    rest = size - len(head)
    return head + rest.to_bytes(4, "big") + b"mdat" + random.Random(20_000 + i).randbytes(rest - 8)


NOT_A_PHOTO = b"#!/bin/sh\necho this is a shell script with a photo's name\n" * 4

# --- ports -----------------------------------------------------------------------------

_used_ranges: set[int] = set()


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def passive_range(n: int = 20) -> str:
    """A range of ``n`` free ports, unique within this test run (below the kernel's
    ephemeral range, so client sockets do not take them)."""
    for _ in range(200):
        base = random.randrange(20000, 32000 - n) // n * n
        if base in _used_ranges:
            continue
        if all(_bindable(p) for p in range(base, base + n)):
            _used_ranges.add(base)
            return f"{base}-{base + n - 1}"
    raise RuntimeError("no free passive port range")


# --- the gateway -----------------------------------------------------------------------


@dataclass
class FtpGateway:
    gw: Gateway
    ftp_port: int
    implicit_port: int | None = None
    passwords: dict[str, str] = field(default_factory=dict)
    known_events: set[str] = field(default_factory=set)

    host = "127.0.0.1"

    @property
    def data_dir(self) -> Path:
        return self.gw.data_dir

    def photographer(self, user: str, events: dict[str, str] | list[str] = (),
                     password: str | None = None) -> str:
        """Adds a photographer with grants (a list of uploader events, or {event: role});
        missing events are created. Returns the password."""
        password = password or f"pw-{user}-{random.randrange(10**9)}"
        self.gw.add_photographer(user, password)
        roles = events if isinstance(events, dict) else {e: "uploader" for e in events}
        for ev, role in roles.items():
            if ev not in self.gw.known_events:
                self.gw.add_event(ev)
            self.gw.grant(user, ev, role)
        self.passwords[user] = password
        return password

    def ftp(self, user: str | None = None, password: str | None = None) -> ftplib.FTP:
        """A plain-FTP ftplib session, logged in if ``user`` is given."""
        f = ftplib.FTP()
        f.connect(self.host, self.ftp_port, timeout=TIMEOUT)
        if user:
            f.login(user, password if password is not None else self.passwords[user])
        return f

    def ftps(self, user: str | None = None, password: str | None = None, *,
             prot_p: bool = True) -> ftplib.FTP_TLS:
        """An explicit-FTPS ftplib session (AUTH TLS), data protected unless ``prot_p`` False."""
        f = ftplib.FTP_TLS(context=insecure_context())
        f.connect(self.host, self.ftp_port, timeout=TIMEOUT)
        f.auth()
        if user:
            f.login(user, password if password is not None else self.passwords[user])
            if prot_p:
                f.prot_p()
        return f

    def blob_files(self) -> set[str]:
        """Blob files, without the store's bookkeeping dirs (.incoming, .meta)."""
        return {p for p in self.gw.blob_files()
                if not (p.startswith(".incoming") or p.startswith(".meta"))}

    def log(self) -> str:
        return self.gw.log_tail()

    def fingerprint(self) -> str | None:
        m = re.search(r"tls_sha256_fingerprint=([0-9A-F:]{95})", self.gw.log_tail())
        return m.group(1) if m else None


def insecure_context() -> ssl.SSLContext:
    """The gateway's certificate is self-signed: tests do not verify it."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def ftp_env(ftp_port: int, implicit_port: int | None = None, **extra: str) -> dict[str, str]:
    env = {
        "FTPGATE_FTP__ENABLED": "true",
        "FTPGATE_FTP__LISTEN": f"127.0.0.1:{ftp_port}",
        "FTPGATE_FTP__PASSIVE_PORTS": passive_range(),
        "FTPGATE_FTP__SHUTDOWN_GRACE_SECS": "5",
    }
    if implicit_port:
        env["FTPGATE_FTP__IMPLICIT_TLS_LISTEN"] = f"127.0.0.1:{implicit_port}"
    env.update(extra)
    return env


def wait_ftp(host: str, port: int, deadline: float = 20.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            with socket.create_connection((host, port), timeout=2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"FTP door not listening on {host}:{port}")


@pytest.fixture
def ftp_gateway_factory(gateway_factory):
    """``make(implicit=False, **FTPGATE_env)`` -> a started FtpGateway."""

    def make(implicit: bool = False, **extra: str) -> FtpGateway:
        port = free_port()
        iport = free_port() if implicit else None
        g = gateway_factory(ftp_env(port, iport, **extra))
        wait_ftp("127.0.0.1", port)
        return FtpGateway(g, port, iport)

    return make


@pytest.fixture
def ftp_gateway(request, ftp_gateway_factory) -> FtpGateway:
    """An FTP-enabled gateway; extra settings with ``@pytest.mark.gateway_env(...)``."""
    marker = request.node.get_closest_marker("gateway_env")
    env = dict(marker.kwargs) if marker else {}
    return ftp_gateway_factory(**env)


# --- external clients ------------------------------------------------------------------


def need_tool(name: str, debian_package: str | None = None) -> str:
    path = shutil.which(name)
    if path:
        return path
    reason = f"{name} is not installed (Debian package {debian_package or name})"
    if CI:
        pytest.fail(reason + " (CI=true: not skipping)", pytrace=False)
    pytest.skip(reason)


def run(cmd: list[str], *, timeout: float = 120.0, input: str | None = None,
        cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input,
                          cwd=cwd, stdin=None if input is not None else subprocess.DEVNULL)


def lftp(script: str, *, timeout: float = 180.0, cwd: Path | None = None
         ) -> subprocess.CompletedProcess:
    """Runs an lftp script (``-c``), failing fast instead of retrying for minutes."""
    exe = need_tool("lftp")
    prelude = ("set cmd:fail-exit yes; set net:max-retries 1; set net:timeout 20; "
               "set net:reconnect-interval-base 1; set xfer:clobber yes; ")
    return run([exe, "-c", prelude + script], timeout=timeout, cwd=cwd)


def retr(f: ftplib.FTP, path: str) -> bytes:
    buf = io.BytesIO()
    f.retrbinary(f"RETR {path}", buf.write)
    return buf.getvalue()


def stor(f: ftplib.FTP, path: str, data: bytes) -> str:
    return f.storbinary(f"STOR {path}", io.BytesIO(data))


class Raw:
    """A bare control connection: send a line, read one (multi-line) reply, exactly as sent."""

    def __init__(self, host: str, port: int, *, source: str | None = None,
                 timeout: float = TIMEOUT, greet: bool = True):
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.buf = b""
        self.greeting = self.reply() if greet else None

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(f"connection closed (buffered: {self.buf!r})")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self) -> str:
        """One reply; multi-line ones joined with \\n."""
        first = self._line().decode("utf-8", "replace")
        lines = [first]
        if len(first) > 3 and first[3] == "-":
            code = first[:3]
            while True:
                ln = self._line().decode("utf-8", "replace")
                lines.append(ln)
                if ln.startswith(code + " "):
                    break
        return "\n".join(lines)

    def send(self, line: str | bytes) -> None:
        data = line.encode() if isinstance(line, str) else line
        self.sock.sendall(data + b"\r\n")

    def cmd(self, line: str | bytes) -> str:
        self.send(line)
        return self.reply()

    def login(self, user: str, password: str) -> None:
        assert self.cmd(f"USER {user}").startswith("331")
        r = self.cmd(f"PASS {password}")
        assert r.startswith("230"), r

    def pasv(self) -> tuple[str, int]:
        r = self.cmd("PASV")
        assert r.startswith("227"), r
        nums = [int(x) for x in re.search(r"\((\d+,\d+,\d+,\d+,\d+,\d+)\)", r).group(1).split(",")]
        return ".".join(map(str, nums[:4])), nums[4] * 256 + nums[5]

    def epsv(self) -> int:
        r = self.cmd("EPSV")
        assert r.startswith("229"), r
        return int(re.search(r"\(\|\|\|(\d+)\|\)", r).group(1))

    def closed(self, wait: float = 5.0) -> bool:
        """True if the server closed the connection (after any buffered replies)."""
        self.sock.settimeout(wait)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (socket.timeout, TimeoutError):
            return False
        except OSError:
            return True

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
