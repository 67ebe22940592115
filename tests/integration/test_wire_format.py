"""The harness itself, with no ftpgate running: the Go escapers and the client's wire bytes
must be exactly SFTPGo's (sftpgo/CONTRACT.md §1.2, §1.6, §1.9, §3.2)."""

from __future__ import annotations

import gzip
import random
import time
import urllib.parse

import pytest

from harness.checks import check_fileinfo, parse_rfc3339
from harness.gateway import Gateway
from harness.gowire import GoConnection, go_json, go_mime_type_by_extension, path_escape, query_escape
from harness.httpfs import HttpFsClient, go_time
from harness.recorder import RecordingServer

# --- Go's url.PathEscape / url.QueryEscape ---------------------------------------------

# (decoded name, what SFTPGo puts in the URL): CONTRACT §1.9.
PATH_EXAMPLES = [
    ("/", "%2F"),
    ("/dir/file.txt", "%2Fdir%2Ffile.txt"),
    ("/a b/c+d;e,f?g#h%i&j=k@l:m$n'o(p)q*r!s~t",
     "%2Fa%20b%2Fc+d%3Be%2Cf%3Fg%23h%25i&j=k@l:m$n%27o%28p%29q%2Ar%21s~t"),
    ("/ünï/ë.txt", "%2F%C3%BCn%C3%AF%2F%C3%AB.txt"),
    ("/f.bin", "%2Ff.bin"),
    ("/dir/up load.txt", "%2Fdir%2Fup%20load.txt"),
    ("/empty.bin", "%2Fempty.bin"),
    ("/a b/src.txt", "%2Fa%20b%2Fsrc.txt"),
    ("/f", "%2Ff"),
    ("/d", "%2Fd"),
    ("/newdir", "%2Fnewdir"),
    (b"/x\xff\xfe", "%2Fx%FF%FE"),  # Go strings are bytes: invalid UTF-8 escapes per byte
]


@pytest.mark.parametrize("name,wire", PATH_EXAMPLES, ids=[w for _, w in PATH_EXAMPLES])
def test_path_escape_matches_contract(name, wire):
    assert path_escape(name) == wire


def test_query_escape_matches_contract():
    # PATCH /api/v1/rename/%2Fa%20b%2Fsrc.txt?target=%2Fnew+dir%2Ft%2Bg%26x%3Dy.txt
    assert query_escape("/new dir/t+g&x=y.txt") == "%2Fnew+dir%2Ft%2Bg%26x%3Dy.txt"


def _go_should_escape(c: int, query: bool) -> bool:
    """net/url shouldEscape, transcribed branch by branch (a second, independent reading)."""
    if ord("a") <= c <= ord("z") or ord("A") <= c <= ord("Z") or ord("0") <= c <= ord("9"):
        return False
    if chr(c) in "-_.~":
        return False
    if chr(c) in "$&+,/:;=?@":
        if query:
            return True  # encodeQueryComponent: the RFC reserves everything
        return chr(c) in "/;,?"  # encodePathSegment
    return True


@pytest.mark.parametrize("query", [False, True], ids=["PathEscape", "QueryEscape"])
def test_escapers_every_byte(query):
    esc = query_escape if query else path_escape
    for c in range(256):
        got = esc(bytes([c]))
        if query and c == 0x20:
            assert got == "+"
        elif _go_should_escape(c, query):
            assert got == "%%%02X" % c, (c, got)
        else:
            assert got == chr(c), (c, got)


def test_escapers_agree_with_urllib_on_random_names():
    rng = random.Random(1)
    alphabet = [chr(c) for c in range(32, 127)] + list("üéß日本語📷\u00a0\u2028")
    for _ in range(2000):
        s = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        assert path_escape(s) == urllib.parse.quote(s, safe="$&+:=@"), s
        assert query_escape(s) == urllib.parse.quote_plus(s, safe=""), s
        # and the server's one decode gives the name back (+ stays + in a path)
        assert urllib.parse.unquote(path_escape(s)) == s
        assert urllib.parse.unquote_plus(query_escape(s)) == s


# --- the request bytes -----------------------------------------------------------------

@pytest.fixture
def recorder():
    with RecordingServer() as srv:
        yield srv


def _client(srv: RecordingServer, **kw) -> HttpFsClient:
    return HttpFsClient(f"http://127.0.0.1:{srv.port}/api/v1/", "secret-key", **kw)


def test_request_lines_match_contract(recorder):
    c = _client(recorder)
    c.stat("/")
    c.stat("/dir/file.txt")
    c.stat("/a b/c+d;e,f?g#h%i&j=k@l:m$n'o(p)q*r!s~t")
    c.stat("/ünï/ë.txt")
    c.open("/f.bin", offset=1234)
    c.open("/f.bin", offset=0)
    HttpFsClient(f"http://127.0.0.1:{recorder.port}/api/v1", "secret-key", username="bob",
                 password="pw").create("/dir/up load.txt", b"hello", checks=1)
    c.create("/empty.bin", b"", flags=0)
    c.rename("/a b/src.txt", "/new dir/t+g&x=y.txt")
    c.chtimes("/f", "2024-03-04T04:06:07Z", "2024-03-04T04:06:07Z")
    c.chmod("/d", 2147484141)
    c.truncate("/f", 0)
    c.remove("/f")
    c.mkdir("/newdir")
    c.readdir("/")
    c.dirsize("/")
    c.statvfs("/")
    c.close()
    assert [r.request_line for r in recorder.requests] == [
        "GET /api/v1/stat/%2F HTTP/1.1",
        "GET /api/v1/stat/%2Fdir%2Ffile.txt HTTP/1.1",
        "GET /api/v1/stat/%2Fa%20b%2Fc+d%3Be%2Cf%3Fg%23h%25i&j=k@l:m$n%27o%28p%29q%2Ar%21s~t HTTP/1.1",
        "GET /api/v1/stat/%2F%C3%BCn%C3%AF%2F%C3%AB.txt HTTP/1.1",
        "GET /api/v1/open/%2Ff.bin?offset=1234 HTTP/1.1",
        "GET /api/v1/open/%2Ff.bin HTTP/1.1",
        "POST /api/v1/create/%2Fdir%2Fup%20load.txt?flags=577&checks=1 HTTP/1.1",
        "POST /api/v1/create/%2Fempty.bin?flags=0&checks=0 HTTP/1.1",
        "PATCH /api/v1/rename/%2Fa%20b%2Fsrc.txt?target=%2Fnew+dir%2Ft%2Bg%26x%3Dy.txt HTTP/1.1",
        "PATCH /api/v1/chtimes/%2Ff?access_time=2024-03-04T04:06:07Z&modification_time=2024-03-04T04:06:07Z HTTP/1.1",
        "PATCH /api/v1/chmod/%2Fd?mode=2147484141 HTTP/1.1",
        "PATCH /api/v1/truncate/%2Ff?size=0 HTTP/1.1",
        "DELETE /api/v1/remove/%2Ff HTTP/1.1",
        "POST /api/v1/mkdir/%2Fnewdir HTTP/1.1",
        "GET /api/v1/readdir/%2F HTTP/1.1",
        "GET /api/v1/dirsize/%2F HTTP/1.1",
        "GET /api/v1/statvfs/%2F HTTP/1.1",
    ]


def test_header_order_is_gos(recorder):
    host = f"Host: 127.0.0.1:{recorder.port}"
    c = _client(recorder)
    c.stat("/")
    c.mkdir("/newdir")
    c.remove("/f")
    HttpFsClient(f"http://127.0.0.1:{recorder.port}/api/v1", "secret-key", username="bob",
                 password="pw").create("/dir/up load.txt", b"hello")
    stat, mkdir, remove, create = recorder.requests
    assert stat.head == (f"GET /api/v1/stat/%2F HTTP/1.1\r\n{host}\r\n"
                         "User-Agent: Go-http-client/1.1\r\nX-Api-Key: secret-key\r\n"
                         "Accept-Encoding: gzip\r\n\r\n").encode()
    assert mkdir.head == (f"POST /api/v1/mkdir/%2Fnewdir HTTP/1.1\r\n{host}\r\n"
                          "User-Agent: Go-http-client/1.1\r\nContent-Length: 0\r\n"
                          "X-Api-Key: secret-key\r\nAccept-Encoding: gzip\r\n\r\n").encode()
    assert "Content-Length" not in remove.head.decode()
    assert create.head == (f"POST /api/v1/create/%2Fdir%2Fup%20load.txt?flags=577&checks=0 HTTP/1.1\r\n"
                           f"{host}\r\nUser-Agent: Go-http-client/1.1\r\nTransfer-Encoding: chunked\r\n"
                           "Authorization: Basic Ym9iOnB3\r\n"
                           "Content-Type: text/plain; charset=utf-8\r\n"
                           "X-Api-Key: secret-key\r\nAccept-Encoding: gzip\r\n\r\n").encode()
    assert create.body_raw == b"5\r\nhello\r\n0\r\n\r\n" and create.complete


def test_bodiless_patch_and_post_carry_content_length_zero(recorder):
    c = _client(recorder)
    c.rename("/a", "/b")
    c.chmod("/a", 420)
    c.chtimes("/a", "2024-03-04T04:06:07Z")
    c.truncate("/a", 3)
    c.mkdir("/m")
    c.stat("/a")
    c.readdir("/")
    c.remove("/a")
    for r in recorder.requests:
        has_cl0 = "Content-Length: 0" in r.header_lines
        assert has_cl0 == r.request_line.startswith(("PATCH", "POST")), r.head


def test_create_body_is_chunked_lowercase_hex_without_length(recorder):
    c = _client(recorder)
    c.create("/a.jpg", [b"\xff", b"", b"x" * 255, b"y" * 4096])
    c.create("/empty.jpg", b"")
    big, empty = recorder.requests
    assert "Content-Length" not in big.head.decode()
    assert "Content-Type: image/jpeg" in big.header_lines
    assert big.body_raw == b"1\r\n\xff\r\nff\r\n" + b"x" * 255 + b"\r\n1000\r\n" + b"y" * 4096 + b"\r\n0\r\n\r\n"
    assert empty.body_raw == b"0\r\n\r\n"  # a zero-byte file is only the last chunk


def test_cut_upload_never_sends_the_final_chunk(recorder):
    c = _client(recorder)
    c.create_cut("/a.jpg", [b"\xff\xd8\xff", b"abc"], pause=0.05)
    assert recorder.done.wait(5)
    rec = recorder.requests[0]
    assert rec.request_line == "POST /api/v1/create/%2Fa.jpg?flags=577&checks=0 HTTP/1.1"
    assert not rec.complete
    assert rec.body_raw == b"3\r\n\xff\xd8\xff\r\n3\r\nabc\r\n"


def test_keep_alive_reuses_one_connection_like_go(recorder):
    c = _client(recorder)
    c.stat("/a")
    sock = c.conn.sock
    c.stat("/b")
    assert c.conn.sock is sock


def test_auth_request_is_what_sftpgo_posts(recorder, tmp_path):
    g = Gateway(tmp_path, env={"FTPGATE_AUTH_HOOK__TOKEN": "tok"})
    g.port = recorder.port
    g.auth("alice", "p<w>&d")
    rec = recorder.requests[0]
    body = (b'{"ip":"10.0.0.1","keyboard_interactive":"","password":"p\\u003cw\\u003e\\u0026d",'
            b'"protocol":"FTP","public_key":"","tls_cert":"","username":"alice"}')
    assert rec.request_line == "POST /ftp/auth HTTP/1.1"
    assert rec.header_lines == [f"Host: 127.0.0.1:{recorder.port}", "User-Agent: Go-http-client/1.1",
                                f"Content-Length: {len(body)}", "Content-Type: application/json",
                                "X-Ftpgate-Hook-Token: tok", "Accept-Encoding: gzip"]
    assert rec.body_raw == body


def test_go_json_sorts_keys_and_escapes_like_encoding_json():
    assert go_json({"username": "ü", "user": {"b": 1, "a": [1, 2]}, "ip": "<&>"}) == \
        '{"ip":"\\u003c\\u0026\\u003e","user":{"a":[1,2],"b":1},"username":"ü"}'.encode()


# --- response parsing ------------------------------------------------------------------

@pytest.mark.parametrize("raw,body", [
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: 1\r\n\r\n", b"abcde"),
    (b"HTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nxyz", b"xyz"),
    (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nk", b"k"),
    (b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s"
     % (len(gzip.compress(b"zipped")), gzip.compress(b"zipped")), b"zipped"),
    (b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil-close", b"until-close"),
], ids=["chunked", "length", "100-continue", "gzip", "close-delimited"])
def test_response_framings(raw, body):
    with RecordingServer(responder=lambda rec: raw) as srv:
        r = GoConnection("127.0.0.1", srv.port).request("GET", "/x")
        assert r.body == body
        assert r.ok


def test_early_answer_stops_the_upload():
    answer = b"HTTP/1.1 415 Unsupported Media Type\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    with RecordingServer(early=lambda head: answer) as srv:
        c = HttpFsClient(f"http://127.0.0.1:{srv.port}/ftp/v1", "k")

        def endless():
            while True:
                yield b"z" * 65536
                time.sleep(0.001)

        r = c.create("/x.jpg", endless())
        assert r.status == 415 and r.early


# --- the small helpers the HTTP tests use ----------------------------------------------

def test_go_time_and_rfc3339():
    import datetime as dt
    t = dt.datetime(2024, 3, 4, 4, 6, 7, tzinfo=dt.timezone.utc)
    assert go_time(t) == "2024-03-04T04:06:07Z"
    assert parse_rfc3339("2024-03-04T04:06:07Z") == t
    assert parse_rfc3339("2024-03-04T06:06:07.123456789+02:00") == t.replace(microsecond=123456)
    with pytest.raises(AssertionError):
        parse_rfc3339("2024-03-04 04:06:07")
    with pytest.raises(AssertionError):
        parse_rfc3339(1709525167)


def test_fileinfo_checker_refuses_what_go_refuses():
    good = {"name": "a.jpg", "size": 3, "mode": 420, "last_modified": "2024-03-04T04:06:07Z"}
    check_fileinfo(good)
    for bad in ({"mode": 420.0}, {"mode": "420"}, {"mode": -1}, {"mode": 134218148},
                {"mode": 2147483648}, {"size": True}, {"last_modified": "yesterday"}):
        with pytest.raises(AssertionError):
            check_fileinfo({**good, **bad})


def test_go_mime_lookup():
    assert go_mime_type_by_extension("/x/IMG_1.JPG") == "image/jpeg"
    assert go_mime_type_by_extension("/up load.txt") == "text/plain; charset=utf-8"
    assert go_mime_type_by_extension("/IMG_1.JPG.filepart") == ""
    assert go_mime_type_by_extension("/noext") == ""
