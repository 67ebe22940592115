"""An HTTPFs client that sends exactly what SFTPGo's ``internal/vfs/httpfs.go`` sends.

One method per SFTPGo call (CONTRACT §1.5), plus ``mimetype`` (in the spec, never called by
SFTPGo) and two helpers for hostile traffic: ``raw`` (a hand-written path segment/query) and
``create_cut`` (a chunked upload whose connection is closed without the final chunk).
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable

from .gowire import (GoConnection, Response, basic_auth, go_mime_type_by_extension,
                     path_escape, query_escape, split_endpoint)

# Linux O_* values SFTPGo sends as `flags` (CONTRACT §1.10).
O_WRONLY, O_CREATE, O_TRUNC, O_EXCL, O_APPEND = 1, 64, 512, 128, 1024
FLAGS_STOR = O_WRONLY | O_CREATE | O_TRUNC  # 577: FTP STOR, WebDAV PUT, SCP
CHECK_PARENT_DIR = 1

# Every HTTPFs operation of httpfs.yaml (13).
ENDPOINTS = ("stat", "open", "create", "rename", "remove", "mkdir", "chmod", "chtimes",
             "truncate", "readdir", "dirsize", "statvfs", "mimetype")


def go_time(t: dt.datetime | str) -> str:
    """``t.UTC().Format(time.RFC3339)``: whole seconds, literal Z."""
    if isinstance(t, str):
        return t
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class HttpFsClient:
    """Bound to one photographer: the endpoint and api_key of their /ftp/auth answer.

    ``username``/``password`` reproduce httpconfig.username/password: SFTPGo then also sends
    ``Authorization: Basic base64(username:password)``.
    """

    def __init__(self, endpoint: str, api_key: str | None, *, username: str = "",
                 password: str = "", timeout: float = 30.0, transfer_timeout: float = 300.0):
        self.endpoint = endpoint.rstrip("/")
        host, port, self.prefix = split_endpoint(self.endpoint)
        self.api_key = api_key
        self.username = username
        self.password = password
        self.timeout = timeout  # SFTPGo's 30 s deadline for metadata calls
        self.transfer_timeout = transfer_timeout  # /open and /create have none in SFTPGo
        self.conn = GoConnection(host, port, timeout)

    def close(self) -> None:
        self.conn.close()

    def with_key(self, api_key: str | None) -> "HttpFsClient":
        return HttpFsClient(self.endpoint, api_key, username=self.username,
                            password=self.password, timeout=self.timeout)

    # --- plumbing ----------------------------------------------------------------------
    def headers(self) -> list[tuple[str, str]]:
        h = []
        if self.username or self.password:
            h.append(("Authorization", basic_auth(self.username, self.password)))
        if self.api_key:
            h.append(("X-Api-Key", self.api_key))  # Go canonicalises X-API-KEY so
        return h

    def target(self, op: str, raw_name: str, query: str | None = None) -> str:
        t = f"{self.prefix}/{op}/{raw_name}"
        return t + ("?" + query if query is not None else "")

    def raw(self, method: str, op: str, raw_name: str, query: str | None = None, body=None, *,
            chunked: bool = False, headers: list[tuple[str, str]] | None = None,
            timeout: float | None = None) -> Response:
        """Send ``{prefix}/{op}/{raw_name}[?query]`` with ``raw_name`` used verbatim."""
        hdrs = self.headers() if headers is None else headers
        return self.conn.request(method, self.target(op, raw_name, query), hdrs, body,
                                 chunked=chunked, timeout=timeout)

    def _call(self, method: str, op: str, name: str | bytes, query: str | None = None,
              **kw) -> Response:
        return self.raw(method, op, path_escape(name), query, **kw)

    # --- the SFTPGo calls, in httpfs.go order -----------------------------------------
    def stat(self, name: str | bytes) -> Response:
        return self._call("GET", "stat", name)

    def open(self, name: str | bytes, offset: int = 0) -> Response:
        query = f"offset={offset}" if offset > 0 else None  # only sent when > 0
        return self._call("GET", "open", name, query, timeout=self.transfer_timeout)

    def create(self, name: str | bytes, body: bytes | Iterable[bytes] = b"", *,
               flags: int = FLAGS_STOR, checks: int = 0, chunk_size: int = 32768,
               content_type: str | None = None) -> Response:
        """POST /create, body always chunked, no Content-Length (CONTRACT §1.6).

        ``body`` bytes are cut into ``chunk_size`` chunks; an iterable is sent one chunk per
        item. ``content_type`` defaults to Go's mime.TypeByExtension(path.Ext(name))."""
        headers = self.headers()
        ct = go_mime_type_by_extension(name) if content_type is None else content_type
        if ct:
            headers.append(("Content-Type", ct))
        if isinstance(body, (bytes, bytearray, memoryview)):
            data = bytes(body)
            chunks = [data[i:i + chunk_size] for i in range(0, len(data), chunk_size)]
        else:
            chunks = body
        return self.raw("POST", "create", path_escape(name), f"flags={flags}&checks={checks}",
                        chunks, chunked=True, headers=headers, timeout=self.transfer_timeout)

    def rename(self, src: str | bytes, dst: str | bytes) -> Response:
        return self._call("PATCH", "rename", src, "target=" + query_escape(dst))

    def remove(self, name: str | bytes) -> Response:
        return self._call("DELETE", "remove", name)

    def mkdir(self, name: str | bytes) -> Response:
        return self._call("POST", "mkdir", name)

    def chmod(self, name: str | bytes, mode: int = 0o644) -> Response:
        return self._call("PATCH", "chmod", name, f"mode={mode}")

    def chtimes(self, name: str | bytes, atime: dt.datetime | str,
                mtime: dt.datetime | str | None = None) -> Response:
        mtime = atime if mtime is None else mtime  # FTP MFMT sends atime == mtime
        return self._call("PATCH", "chtimes", name,
                          f"access_time={go_time(atime)}&modification_time={go_time(mtime)}")

    def truncate(self, name: str | bytes, size: int = 0) -> Response:
        return self._call("PATCH", "truncate", name, f"size={size}")

    def readdir(self, name: str | bytes) -> Response:
        return self._call("GET", "readdir", name)

    def dirsize(self, name: str | bytes) -> Response:
        return self._call("GET", "dirsize", name)

    def statvfs(self, name: str | bytes) -> Response:
        return self._call("GET", "statvfs", name)

    def mimetype(self, name: str | bytes) -> Response:
        return self._call("GET", "mimetype", name)

    # --- hostile / failure traffic -----------------------------------------------------
    def create_cut(self, name: str | bytes, chunks: Iterable[bytes], *, rst: bool = False,
                   flags: int = FLAGS_STOR, checks: int = 0, pause: float = 0.2) -> bytes:
        """An upload that SFTPGo cancels: chunks, then the connection closes WITHOUT the
        terminating 0-chunk (FIN; RST with ``rst=True``). Returns any early answer bytes."""
        headers = self.headers()
        ct = go_mime_type_by_extension(name)
        if ct:
            headers.append(("Content-Type", ct))
        return self.conn.send_and_cut(
            "POST", self.target("create", path_escape(name), f"flags={flags}&checks={checks}"),
            headers, chunks, rst=rst, pause=pause)

    def call(self, op: str, name: str | bytes, **kw) -> Response:
        """Any of ENDPOINTS with harmless default arguments (for tests over all 13)."""
        if op == "create":
            from .samples import jpeg
            return self.create(name, kw.get("body", jpeg(b"call")))
        if op == "rename":
            return self.rename(name, kw["target"])
        if op == "chmod":
            return self.chmod(name, kw.get("mode", 0o644))
        if op == "chtimes":
            return self.chtimes(name, kw.get("time", "2024-03-04T04:06:07Z"))
        if op == "truncate":
            return self.truncate(name, kw.get("size", 0))
        return getattr(self, op)(name)

    def raw_call(self, op: str, raw_name: str, **kw) -> Response:
        """Like ``call`` but with a hand-made (already percent-encoded) name segment."""
        queries = {
            "open": None, "stat": None, "remove": None, "mkdir": None, "readdir": None,
            "dirsize": None, "statvfs": None, "mimetype": None,
            "create": f"flags={FLAGS_STOR}&checks=0",
            "rename": "target=" + kw.get("raw_target", query_escape(kw.get("target", "/x"))),
            "chmod": "mode=420",
            "chtimes": "access_time=2024-03-04T04:06:07Z&modification_time=2024-03-04T04:06:07Z",
            "truncate": "size=0",
        }
        method = {"create": "POST", "mkdir": "POST", "remove": "DELETE", "rename": "PATCH",
                  "chmod": "PATCH", "chtimes": "PATCH", "truncate": "PATCH"}.get(op, "GET")
        if op == "create":
            from .samples import jpeg
            headers = self.headers()
            return self.raw(method, op, raw_name, queries[op], [kw.get("body", jpeg(b"raw"))],
                            chunked=True, headers=headers)
        return self.raw(method, op, raw_name, queries[op])
