"""A local webhook receiver for the notification tests: records each CloudEvent it gets as
its `data` plus its `type`, answers 200, or (``stuck``) never answers."""

from __future__ import annotations

import http.server
import json
import threading
import time

from harness.gateway import free_port


class Receiver:
    def __init__(self, stuck: bool = False):
        self.calls: list[dict] = []
        self.port = free_port()
        self.stuck = stuck
        self.release = threading.Event()
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                ev = json.loads(body)  # a CloudEvent: its data, with its type
                outer.calls.append({**ev["data"], "type": ev["type"]})
                if outer.stuck:
                    outer.release.wait(30)
                    return
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), H)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def stop(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def wait_until(pred, timeout: float = 10.0) -> float | None:
    """Seconds until `pred()` held (polled every 50 ms), or None if it never did."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if pred():
            return time.monotonic() - started
        time.sleep(0.05)
    return None
