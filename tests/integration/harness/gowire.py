"""What SFTPGo's Go HTTP client puts on the wire, rebuilt in Python.

Everything here imitates sftpgo/CONTRACT.md byte for byte:

* ``path_escape`` / ``query_escape`` are Go's ``url.PathEscape`` / ``url.QueryEscape``
  (net/url ``shouldEscape`` for ``encodePathSegment`` / ``encodeQueryComponent``).
* ``GoConnection`` is a minimal HTTP/1.1 client over a raw socket that writes requests the
  way Go's ``net/http`` Transport does: request line, ``Host``, ``User-Agent:
  Go-http-client/1.1``, then ``Content-Length`` or ``Transfer-Encoding: chunked``, then the
  request's own headers sorted by name, then ``Accept-Encoding: gzip`` last. Bodiless
  POST/PATCH/PUT carry ``Content-Length: 0``; GET/DELETE carry no length at all. Streamed
  bodies are chunked with lower-case hex sizes and no ``Content-Length``. Gzip responses are
  decoded transparently, as Go does when it asked for gzip itself.
* ``go_json`` is ``encoding/json.Marshal`` of a map: compact, keys sorted, ``<``/``>``/``&``
  escaped as ``\\u003c``/``\\u003e``/``\\u0026``.

No third-party HTTP library is used on purpose: they normalise exactly the things the
server has to cope with (``%2F`` in a path, chunk framing, a cut body).
"""

from __future__ import annotations

import base64
import errno
import gzip
import json
import select
import socket
import time
from dataclasses import dataclass, field
from typing import Iterable, Iterator
from urllib.parse import urlsplit

GO_USER_AGENT = "Go-http-client/1.1"

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
# Go net/url: reserved characters that encodePathSegment leaves alone ($ & + : = @).
# '/', ';', ',' and '?' are escaped in a path segment.
_PATH_SEGMENT_SAFE = _UNRESERVED | frozenset(b"$&+:=@")
_HEX = "0123456789ABCDEF"


def _as_bytes(s: str | bytes) -> bytes:
    # Go strings are byte strings; a Python str is taken as its UTF-8 bytes. Pass bytes to
    # escape something that is not valid UTF-8 (e.g. b"\xff\xfe").
    return s if isinstance(s, bytes) else s.encode("utf-8")


def path_escape(s: str | bytes) -> str:
    """Go's ``url.PathEscape``: the whole string becomes ONE path segment (``/`` -> ``%2F``)."""
    out = []
    for b in _as_bytes(s):
        if b in _PATH_SEGMENT_SAFE:
            out.append(chr(b))
        else:
            out.append("%" + _HEX[b >> 4] + _HEX[b & 15])
    return "".join(out)


def query_escape(s: str | bytes) -> str:
    """Go's ``url.QueryEscape``: form encoding, space -> ``+``, everything reserved escaped."""
    out = []
    for b in _as_bytes(s):
        if b in _UNRESERVED:
            out.append(chr(b))
        elif b == 0x20:
            out.append("+")
        else:
            out.append("%" + _HEX[b >> 4] + _HEX[b & 15])
    return "".join(out)


def go_json(value) -> bytes:
    """``encoding/json.Marshal`` of maps/slices/strings/ints as Go writes them."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # json.Marshal escapes HTML-significant characters and the JS line separators. These
    # characters can only occur inside strings, so a global replace is exact.
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text.encode("utf-8")


def basic_auth(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


# Go's builtin mime table (mime/type.go) plus the few entries a Debian /etc/mime.types adds
# that matter here. SFTPGo sets Content-Type on /create only when this lookup is non-empty.
_GO_MIME = {
    ".avif": "image/avif", ".css": "text/css; charset=utf-8", ".gif": "image/gif",
    ".htm": "text/html; charset=utf-8", ".html": "text/html; charset=utf-8",
    ".jpeg": "image/jpeg", ".jpg": "image/jpeg", ".js": "text/javascript; charset=utf-8",
    ".json": "application/json", ".mjs": "text/javascript; charset=utf-8",
    ".pdf": "application/pdf", ".png": "image/png", ".svg": "image/svg+xml",
    ".wasm": "application/wasm", ".webp": "image/webp", ".xml": "text/xml; charset=utf-8",
    ".txt": "text/plain; charset=utf-8", ".tif": "image/tiff", ".tiff": "image/tiff",
    ".heic": "image/heic",
}


def go_mime_type_by_extension(name: str | bytes) -> str:
    """``mime.TypeByExtension(path.Ext(name))``: exact match first, then lower-cased."""
    if isinstance(name, bytes):
        name = name.decode("utf-8", "replace")
    base = name.rsplit("/", 1)[-1]
    dot = base.rfind(".")
    if dot < 0:
        return ""
    ext = base[dot:]
    return _GO_MIME.get(ext) or _GO_MIME.get(ext.lower(), "")


class ProtocolError(Exception):
    """The peer broke HTTP/1.1 (or closed) before a complete response could be read."""


@dataclass
class Response:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    method: str = ""
    target: str = ""
    # True when the server answered before the whole request body was sent (early answer).
    early: bool = False
    raw_head: bytes = field(default=b"", repr=False)

    def header(self, name: str) -> str | None:
        lname = name.lower()
        for k, v in self.headers:
            if k.lower() == lname:
                return v
        return None

    @property
    def ok(self) -> bool:
        """SFTPGo's notion of success: 200 or 201, nothing else (CONTRACT §1.4)."""
        return self.status in (200, 201)

    def json(self):
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def __repr__(self) -> str:
        body = self.body if len(self.body) <= 300 else self.body[:300] + b"..."
        return f"<Response {self.status} {self.reason!r} for {self.method} {self.target} body={body!r}>"


def _iter_body(body) -> Iterator[bytes]:
    if body is None:
        return iter(())
    if isinstance(body, (bytes, bytearray, memoryview)):
        return iter((bytes(body),))
    return iter(body)


class GoConnection:
    """One keep-alive HTTP/1.1 connection, reopened when the server closed it.

    ``request`` never raises for an HTTP status; it raises ``ProtocolError`` /
    ``OSError`` only when no complete response arrived.
    """

    def __init__(self, host: str, port: int, timeout: float = 30.0):
        self.host = host
        self.port = port
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self._buf = bytearray()

    # --- connection management -------------------------------------------------------
    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None
                self._buf.clear()

    def _connect(self) -> socket.socket:
        s = socket.create_connection((self.host, self.port), timeout=self.timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def _fresh_or_reused(self) -> tuple[socket.socket, bool]:
        if self.sock is not None:
            # An idle keep-alive socket that is readable has been closed by the server (or
            # holds garbage): do not send on it, as Go would not either.
            r, _, _ = select.select([self.sock], [], [], 0)
            if r or self._buf:
                self.close()
        if self.sock is None:
            self.sock = self._connect()
            self._buf.clear()
            return self.sock, False
        return self.sock, True

    @property
    def host_header(self) -> str:
        return f"{self.host}:{self.port}"

    # --- request writing ---------------------------------------------------------------
    def build_head(self, method: str, target: str, headers: Iterable[tuple[str, str]],
                   framing: str | None) -> bytes:
        """Request head in Go's order. ``framing`` is ``"Content-Length: N"``,
        ``"Transfer-Encoding: chunked"`` or None."""
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self.host_header}",
                 f"User-Agent: {GO_USER_AGENT}"]
        if framing:
            lines.append(framing)
        # http.Header.writeSubset writes keys sorted; values of one key keep their order.
        for k, v in sorted(headers, key=lambda kv: kv[0]):
            lines.append(f"{k}: {v}")
        lines.append("Accept-Encoding: gzip")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    @staticmethod
    def framing_for(method: str, body, chunked: bool) -> str | None:
        if chunked:
            return "Transfer-Encoding: chunked"
        if body is None:
            # net/http transferWriter.shouldSendContentLength: 0 is sent for POST/PUT/PATCH.
            return "Content-Length: 0" if method in ("POST", "PUT", "PATCH") else None
        return f"Content-Length: {len(body)}"

    def _send_watching(self, sock: socket.socket, data: bytes) -> bool:
        """Send all of ``data`` unless the server starts answering first.

        Returns False when a response (or EOF) is waiting: the server answered early, so the
        rest of the body is not sent, as Go stops writing once it has the response."""
        view = memoryview(data)
        deadline = time.monotonic() + self.timeout
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("timed out sending the request body")
            r, w, _ = select.select([sock], [sock], [], left)
            if r:
                return False
            if not w:
                continue
            try:
                n = sock.send(view, socket.MSG_DONTWAIT)
            except BlockingIOError:
                continue
            view = view[n:]
        return True

    def send_request(self, sock: socket.socket, method: str, target: str,
                     headers: list[tuple[str, str]], body, chunked: bool) -> bool:
        """Write one request; return True if it was written completely."""
        if chunked:
            sock.sendall(self.build_head(method, target, headers, "Transfer-Encoding: chunked"))
            for chunk in _iter_body(body):
                if not chunk:
                    continue  # Go's chunkedWriter skips empty writes
                frame = b"%x\r\n" % len(chunk) + bytes(chunk) + b"\r\n"
                if not self._send_watching(sock, frame):
                    return False
            return self._send_watching(sock, b"0\r\n\r\n")
        head = self.build_head(method, target, headers, self.framing_for(method, body, False))
        return self._send_watching(sock, head + (bytes(body) if body else b""))

    # --- response reading --------------------------------------------------------------
    def _fill(self, sock: socket.socket) -> bool:
        data = sock.recv(65536)
        if not data:
            return False
        self._buf += data
        return True

    def _read_line(self, sock: socket.socket) -> bytes:
        while True:
            i = self._buf.find(b"\n")
            if i >= 0:
                line = bytes(self._buf[: i + 1])
                del self._buf[: i + 1]
                return line
            if len(self._buf) > 1 << 20:
                raise ProtocolError("response header line too long")
            if not self._fill(sock):
                raise ProtocolError("connection closed while reading the response head"
                                    + (f" (partial: {bytes(self._buf)[:200]!r})" if self._buf else ""))

    def _read_exact(self, sock: socket.socket, n: int) -> bytes:
        while len(self._buf) < n:
            if not self._fill(sock):
                raise ProtocolError(f"connection closed after {len(self._buf)} of {n} body bytes")
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    def _read_to_close(self, sock: socket.socket) -> bytes:
        while self._fill(sock):
            pass
        data = bytes(self._buf)
        self._buf.clear()
        return data

    def read_response(self, sock: socket.socket, method: str) -> tuple[Response, bool]:
        """Read one response; returns it and whether the connection may be reused."""
        while True:
            status_line = self._read_line(sock)
            head = [status_line]
            parts = status_line.decode("latin-1").rstrip("\r\n").split(" ", 2)
            if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
                raise ProtocolError(f"bad status line {status_line!r}")
            version, status = parts[0], int(parts[1])
            reason = parts[2] if len(parts) > 2 else ""
            headers: list[tuple[str, str]] = []
            while True:
                line = self._read_line(sock)
                head.append(line)
                if line in (b"\r\n", b"\n"):
                    break
                k, _, v = line.decode("latin-1").partition(":")
                headers.append((k.strip(), v.strip()))
            if 100 <= status < 200 and status != 101:
                continue  # interim response (e.g. 100 Continue): read the real one
            break
        hmap = {}
        for k, v in headers:
            hmap.setdefault(k.lower(), v)
        keep = version == "HTTP/1.1" and "close" not in hmap.get("connection", "").lower()
        if method == "HEAD" or status in (204, 304):
            body = b""
        elif "chunked" in hmap.get("transfer-encoding", "").lower():
            body = self._read_chunked(sock)
        elif "content-length" in hmap:
            body = self._read_exact(sock, int(hmap["content-length"]))
        else:
            body = self._read_to_close(sock)
            keep = False
        if hmap.get("content-encoding", "").lower() == "gzip":
            body = gzip.decompress(body)  # Go's transport does this when it asked for gzip
            headers = [(k, v) for k, v in headers
                       if k.lower() not in ("content-encoding", "content-length")]
        return Response(status, reason, headers, body, raw_head=b"".join(head)), keep

    def _read_chunked(self, sock: socket.socket) -> bytes:
        out = bytearray()
        while True:
            line = self._read_line(sock).decode("latin-1").strip()
            size = int(line.split(";", 1)[0], 16)
            if size == 0:
                while self._read_line(sock) not in (b"\r\n", b"\n"):
                    pass  # trailers
                return bytes(out)
            out += self._read_exact(sock, size)
            self._read_exact(sock, 2)

    # --- the one public call ---------------------------------------------------------
    def request(self, method: str, target: str, headers: list[tuple[str, str]] | None = None,
                body=None, *, chunked: bool = False, timeout: float | None = None) -> Response:
        headers = list(headers or [])
        replayable = not chunked or isinstance(body, (bytes, bytearray, type(None)))
        for attempt in (1, 2):
            sock, reused = self._fresh_or_reused()
            sock.settimeout(timeout or self.timeout)
            try:
                complete = True
                try:
                    complete = self.send_request(sock, method, target, headers, body, chunked)
                except (BrokenPipeError, ConnectionResetError):
                    # The server closed while we were still sending (e.g. it answered early
                    # and hung up). Go then still reads the answer if there is one.
                    complete = False
                try:
                    resp, keep = self.read_response(sock, method)
                except (ProtocolError, ConnectionResetError) as e:
                    if reused and attempt == 1 and replayable and not self._buf:
                        self.close()
                        continue  # stale keep-alive connection: retry once on a new one
                    raise ProtocolError(f"{method} {target}: no complete response ({e})") from e
            except BaseException:
                self.close()
                raise
            resp.method, resp.target, resp.early = method, target, not complete
            if not keep or not complete:
                self.close()
            return resp
        raise AssertionError("unreachable")

    def send_and_cut(self, method: str, target: str, headers: list[tuple[str, str]],
                     chunks: Iterable[bytes], *, rst: bool = False,
                     pause: float = 0.2) -> bytes:
        """Send a chunked request head and ``chunks`` on a NEW connection, never the
        terminating zero chunk, then close the socket (FIN, or RST with ``rst=True``).

        This is what Go does when SFTPGo cancels an upload's context. Returns whatever the
        server had answered before the cut (usually b"")."""
        sock = self._connect()
        got = bytearray()
        try:
            sock.sendall(self.build_head(method, target, headers, "Transfer-Encoding: chunked"))
            for chunk in chunks:
                if not chunk:
                    continue
                frame = b"%x\r\n" % len(chunk) + bytes(chunk) + b"\r\n"
                try:
                    if not self._send_watching(sock, frame):
                        break
                except OSError as e:
                    if e.errno in (errno.EPIPE, errno.ECONNRESET):
                        break
                    raise
            time.sleep(pause)
            sock.setblocking(False)
            try:
                while True:
                    data = sock.recv(65536)
                    if not data:
                        break
                    got += data
            except (BlockingIOError, ConnectionResetError):
                pass
        finally:
            if rst:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            sock.close()
        return bytes(got)


def split_endpoint(endpoint: str) -> tuple[str, int, str]:
    """``http://host:port/prefix`` -> (host, port, "/prefix") with trailing '/' trimmed,
    as SFTPGo's ``strings.TrimRight(endpoint, "/")``."""
    endpoint = endpoint.rstrip("/")
    parts = urlsplit(endpoint)
    if parts.scheme != "http":
        raise ValueError(f"only http:// endpoints are supported by the test client: {endpoint!r}")
    return parts.hostname or "", parts.port or 80, parts.path
