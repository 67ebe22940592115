"""A raw TCP listener that records HTTP/1.1 requests byte for byte (for testing the client
itself, with no ftpgate running)."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass
from typing import Callable


@dataclass
class Recorded:
    head: bytes  # request line + headers + blank line, as received
    body_raw: bytes  # the body bytes as framed on the wire (chunk sizes included)
    complete: bool  # False when the connection ended before the body did

    @property
    def request_line(self) -> str:
        return self.head.split(b"\r\n", 1)[0].decode("latin-1")

    @property
    def header_lines(self) -> list[str]:
        return self.head.decode("latin-1").split("\r\n")[1:-2]


OK_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}"


class RecordingServer:
    def __init__(self, responder: Callable[[Recorded], bytes | None] | None = None,
                 early: Callable[[bytes], bytes | None] | None = None):
        """``responder(rec)`` gives the raw response (None: close without answering).
        ``early(head)`` may answer right after the head, before reading any body."""
        self.responder = responder or (lambda rec: OK_RESPONSE)
        self.early = early
        self.requests: list[Recorded] = []
        self.done = threading.Event()  # set whenever a request was recorded
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _record(self, rec: Recorded) -> None:
        self.requests.append(rec)
        self.done.set()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        buf = bytearray()

        def more() -> bool:
            try:
                data = conn.recv(65536)
            except (ConnectionResetError, socket.timeout):
                return False
            buf.extend(data)
            return bool(data)

        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    if not more():
                        if buf:
                            self._record(Recorded(bytes(buf), b"", False))
                        return
                i = buf.index(b"\r\n\r\n") + 4
                head = bytes(buf[:i])
                del buf[:i]
                if self.early is not None:
                    resp = self.early(head)
                    if resp is not None:
                        conn.sendall(resp)
                        self._record(Recorded(head, b"", False))
                        return
                lower = head.lower()
                body = bytearray()
                complete = True
                if b"transfer-encoding: chunked" in lower:
                    complete = False
                    while True:
                        while b"\r\n" not in buf:
                            if not more():
                                break
                        else:
                            j = buf.index(b"\r\n")
                            size = int(bytes(buf[:j]).split(b";")[0], 16)
                            need = j + 2 + size + 2
                            while len(buf) < need:
                                if not more():
                                    break
                            else:
                                body += buf[:need]
                                del buf[:need]
                                if size == 0:
                                    complete = True
                                    break
                                continue
                        body += buf
                        buf.clear()
                        break
                else:
                    n = 0
                    for line in lower.split(b"\r\n"):
                        if line.startswith(b"content-length:"):
                            n = int(line.split(b":")[1])
                    while len(buf) < n:
                        if not more():
                            complete = False
                            break
                    body += buf[:n]
                    del buf[:n]
                rec = Recorded(head, bytes(body), complete)
                self._record(rec)
                if not complete:
                    return
                resp = self.responder(rec)
                if resp is None:
                    return
                conn.sendall(resp)
                if b"connection: close" in resp.lower():
                    return
        finally:
            conn.close()
