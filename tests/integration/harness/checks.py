"""Assertions that encode what SFTPGo's Go decoder accepts (CONTRACT §1.7, §3.4)."""

from __future__ import annotations

import datetime as dt
import posixpath
import re
import time
from typing import Callable, TypeVar

from .gowire import Response

MODE_DIR = 1 << 31  # os.ModeDir
MODE_SYMLINK = 1 << 27  # os.ModeSymlink
MODE_TYPE = 2401763328  # os.ModeType
DIR_MODE = MODE_DIR | 0o755  # 2147484141
FILE_MODE = 0o644  # 420

UPLOADER_PERMS = {"list", "download", "upload", "overwrite", "create_dirs", "rename", "delete",
                  "chtimes"}
READONLY_PERMS = {"list", "download"}
SFTPGO_PERMISSIONS = {"*", "list", "download", "upload", "overwrite", "create_dirs", "rename",
                      "rename_files", "rename_dirs", "delete", "delete_files", "delete_dirs",
                      "copy", "create_symlinks", "chmod", "chown", "chtimes"}

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")

T = TypeVar("T")


def is_int(v) -> bool:
    """A JSON integer (Python bool is an int subclass; JSON true is not an integer)."""
    return type(v) is int


def parse_rfc3339(s) -> dt.datetime:
    """What Go's time.Time UnmarshalJSON accepts (RFC 3339, optional fraction up to ns)."""
    assert isinstance(s, str), f"last_modified must be an RFC 3339 string, got {s!r}"
    m = _RFC3339.match(s)
    assert m, f"last_modified {s!r} is not RFC 3339 (Go's json decoder would fail)"
    y, mo, d, h, mi, sec, frac, tz = m.groups()
    micro = int((frac[1:] + "000000")[:6]) if frac else 0
    tzinfo = dt.timezone.utc if tz == "Z" else dt.timezone(
        (1 if tz[0] == "+" else -1) * dt.timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6])))
    return dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(sec), micro, tzinfo)


def assert_ok(resp: Response, what: str = "") -> Response:
    assert resp.ok, f"{what or 'request'}: expected 200/201, got {resp!r}"
    return resp


def assert_status(resp: Response, *codes: int) -> Response:
    assert resp.status in codes, f"expected {' or '.join(map(str, codes))}, got {resp!r}"
    return resp


def assert_not_success(resp: Response) -> Response:
    assert not 200 <= resp.status < 300, f"must not succeed, got {resp!r}"
    return resp


def check_fileinfo(fi, *, name: str | None = None, is_dir: bool | None = None,
                   size: int | None = None, in_listing: bool = False) -> dict:
    """One FileInfo as SFTPGo decodes it; returns it for further checks."""
    assert isinstance(fi, dict), f"FileInfo must be a JSON object, got {fi!r}"
    for key in ("name", "size", "mode", "last_modified"):
        assert key in fi, f"FileInfo lacks {key!r}: {fi!r}"
    n = fi["name"]
    assert isinstance(n, str) and n, f"name must be a non-empty string: {fi!r}"
    if in_listing:
        assert n not in (".", ".."), f"readdir must not list {n!r}"
        assert "/" not in n, f"readdir names are base names: {n!r}"
    else:
        assert n == "/" or "/" not in n, f"stat name must be a base name: {n!r}"
    assert is_int(fi["size"]) and fi["size"] >= 0, f"size must be a non-negative integer: {fi!r}"
    mode = fi["mode"]
    assert is_int(mode) and 0 <= mode < 1 << 32, f"mode must be an integer fitting uint32: {fi!r}"
    assert not mode & MODE_SYMLINK, f"symlink bit must never be set: {fi!r}"
    if mode & MODE_DIR:
        assert mode == DIR_MODE, f"directory mode must be dir|0755 = {DIR_MODE}: {fi!r}"
    else:
        assert mode & MODE_TYPE == 0, f"file mode must have no type bits: {fi!r}"
        assert mode == FILE_MODE, f"file mode must be 0644 = {FILE_MODE}: {fi!r}"
    parse_rfc3339(fi["last_modified"])
    if name is not None:
        assert n == name, f"expected name {name!r}, got {n!r}"
    if is_dir is not None:
        assert bool(mode & MODE_DIR) == is_dir, f"expected is_dir={is_dir}: {fi!r}"
    if size is not None:
        assert fi["size"] == size, f"expected size {size}, got {fi!r}"
    return fi


def stat_info(resp: Response, **kw) -> dict:
    assert_ok(resp, "stat")
    return check_fileinfo(resp.json(), **kw)


def listing(resp: Response) -> dict[str, dict]:
    """readdir answer -> {name: FileInfo}, every entry checked, no duplicates."""
    assert_ok(resp, "readdir")
    entries = resp.json()
    assert isinstance(entries, list), f"readdir must answer a JSON array, got {entries!r}"
    out: dict[str, dict] = {}
    for fi in entries:
        check_fileinfo(fi, in_listing=True)
        assert fi["name"] not in out, f"duplicate entry {fi['name']!r} in readdir"
        out[fi["name"]] = fi
    return out


def is_clean_abs(p: str) -> bool:
    return p.startswith("/") and posixpath.normpath(p) == p and not p.startswith("//")


def wait_for(cond: Callable[[], T], timeout: float, interval: float = 0.1,
             what: str = "condition") -> T:
    """Poll ``cond`` until it returns a truthy value; the last value is returned."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not reached within {timeout} s (last: {v!r})")
        time.sleep(interval)


def put(client, path: str | bytes, data: bytes) -> bytes:
    """Upload ``data`` and insist on success; returns ``data``."""
    assert_ok(client.create(path, data), f"create {path!r}")
    return data


def get(client, path: str | bytes, offset: int = 0) -> bytes:
    r = client.open(path, offset)
    assert r.status == 200, f"open {path!r}: expected 200, got {r!r}"
    return r.body


def assert_gone(client, path: str | bytes) -> None:
    r = client.stat(path)
    assert r.status == 404, f"{path!r} should not exist, got {r!r}"


def assert_no_leftovers(gateway, *, blobs_before: set[str], others_before: set[str],
                        timeout: float = 5.0) -> None:
    """Within ``timeout`` the blob dir holds exactly ``blobs_before`` again and no file but
    SQLite's appeared elsewhere under DATA_DIR; then it stays so for a moment."""
    def clean():
        blobs = gateway.blob_files()
        others = gateway.other_files() - others_before
        return (blobs == blobs_before and not others) or None

    def state():
        return (f"blob files now {sorted(gateway.blob_files())}, before {sorted(blobs_before)}; "
                f"new non-SQLite files {sorted(gateway.other_files() - others_before)}")

    try:
        wait_for(clean, timeout, what="clean data dir")
        time.sleep(0.5)
        assert clean(), "leftovers appeared late: " + state()
    except AssertionError as e:
        raise AssertionError(f"{e}: {state()}") from None
