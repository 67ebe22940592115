"""What must hold when things go wrong: a gateway killed with SIGKILL mid-upload, replicas
racing one quota, a webhook receiver that fails and goes away, an S3 store that stops."""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from harness.gateway import free_port
from harness.samples import random_jpeg, sha256, tiny_jpeg


def _slow_chunks(data: bytes, pieces: int, pause: float):
    step = max(1, len(data) // pieces)
    for i in range(0, len(data), step):
        yield data[i:i + step]
        time.sleep(pause)


# --- SIGKILL during uploads ----------------------------------------------------------------

def test_kill9_during_concurrent_uploads_loses_nothing_answered(gateway):
    """20 concurrent uploads, SIGKILL while they run: every upload answered 201 is there after
    the restart with the right checksum, nothing partial is visible, and `reconcile --fix`
    leaves catalog and store consistent."""
    password = "correct-horse-9"
    gateway.photographer("kim", ["wedding"], password=password)
    results: dict[int, int | None] = {}
    datas = {i: random_jpeg(600_000 + i * 1000, seed=i) for i in range(20)}

    def upload(i: int):
        c = gateway.login("kim", password)
        try:
            r = c.create(f"/wedding/k/{i:02d}.jpg", _slow_chunks(datas[i], 30, 0.03 + i * 0.004))
            results[i] = r.status
        except Exception:  # the connection died with the server
            results[i] = None

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    time.sleep(1.3)  # some have finished, most are mid-body
    gateway.proc.send_signal(signal.SIGKILL)
    gateway.proc.wait()
    for t in threads:
        t.join(60)
    answered = {i for i, st in results.items() if st in (200, 201)}
    assert len(answered) < 20, "the kill came too late to test anything"

    gateway.start()
    c = gateway.login("kim", password)
    listing = c.readdir("/wedding/k")
    names = {e["name"] for e in listing.json()} if listing.status == 200 else set()
    for i in answered:
        st = c.stat(f"/wedding/k/{i:02d}.jpg")
        assert st.status == 200, f"upload {i} got 201 before the kill but is gone"
        body = c.open(f"/wedding/k/{i:02d}.jpg")
        assert body.status == 200 and sha256(body.body) == sha256(datas[i]), f"upload {i} corrupt"
    for name in names:
        i = int(name.split(".")[0])
        got = c.open(f"/wedding/k/{name}")
        assert got.status == 200 and sha256(got.body) == sha256(datas[i]), f"partial file {name} visible"

    out = gateway.cli_ok("reconcile", "--fix", "--grace-secs", "0").stdout
    assert "0 entries with a missing blob" in out, out
    again = gateway.cli_ok("reconcile", "--grace-secs", "0").stdout
    assert "0 orphan blobs" in again and "0 entries with a missing blob" in again, again


# --- quota across replicas -----------------------------------------------------------------

def test_quota_holds_across_two_replicas(gateway_factory, catalog):
    """Two gateways on one PostgreSQL, 50 concurrent uploads racing an event quota that fits
    20: exactly 20 succeed and the usage never passes the quota."""
    backend, url = catalog
    if backend != "postgres":
        pytest.skip("replicas share a PostgreSQL catalog")
    a = gateway_factory()
    b = gateway_factory(catalog_url=url)
    password = "correct-horse-7"
    a.photographer("lee", ["race"], password=password)
    a.cli_ok("event", "set", "race", "--max-files", "20")
    statuses: list[int] = []
    lock = threading.Lock()

    def upload(i: int):
        g = a if i % 2 else b
        c = g.login("lee", password)
        r = c.create(f"/race/{i:02d}.jpg", random_jpeg(50_000, seed=i))
        with lock:
            statuses.append(r.status)

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    ok = [s for s in statuses if s in (200, 201)]
    assert len(ok) == 20, sorted(statuses)
    assert all(s == 507 for s in statuses if s not in (200, 201)), sorted(statuses)
    c = a.login("lee", password)
    assert len(c.readdir("/race").json()) == 20
    out = a.cli_ok("event", "list").stdout
    line = next(line for line in out.splitlines() if line.startswith("race "))
    assert " 20 " in f" {line} ", line
    # Nothing orphaned: every stored blob belongs to one of the 20 files.
    report = a.cli_ok("reconcile", "--grace-secs", "0").stdout
    assert "0 orphan blobs" in report, report


# --- webhooks ------------------------------------------------------------------------------

class _Receiver:
    """A local HTTP receiver that fails its first `fail_first` requests."""

    def __init__(self, fail_first: int, secret: str):
        self.secret = secret
        self.fail_first = fail_first
        self.calls: list[dict] = []
        self.port = free_port()
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                n = len(outer.calls) + 1
                outer.calls.append({"headers": {k.lower(): v for k, v in self.headers.items()},
                                    "body": body})
                self.send_response(503 if n <= outer.fail_first else 200)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), H)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/hook"

    def delivered(self) -> list[dict]:
        """The `data` of each CloudEvent received."""
        return [json.loads(c["body"])["data"] for c in self.calls]


def _wait(pred, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_webhook_retries_signs_and_notifies_once(gateway_factory):
    import hmac
    secret = "hook-secret-1"
    recv = _Receiver(fail_first=2, secret=secret).start()
    try:
        g = gateway_factory({"FTPGATE_WEBHOOK__URL": recv.url, "FTPGATE_WEBHOOK__SECRET": secret})
        c = g.photographer("mo", ["gala"])
        photo = random_jpeg(20_000, seed=3)
        assert c.create("/gala/IMG_1.JPG.filepart", photo).status in (200, 201)
        time.sleep(1.5)
        assert recv.calls == [], "a temporary name is not a photo yet"
        assert c.rename("/gala/IMG_1.JPG.filepart", "/gala/IMG_1.JPG").status in (200, 201)
        # Two failures, then success: delivered by the retry with backoff.
        _wait(lambda: len(recv.calls) >= 3, 30, "three delivery attempts")
        ids = {c["headers"]["x-ftpgate-id"] for c in recv.calls}
        assert len(ids) == 1, "retries carry the same id"
        last = recv.calls[-1]
        ts = last["headers"]["x-ftpgate-timestamp"]
        want = "sha256=" + hmac.new(secret.encode(), f"{ts}.".encode() + last["body"],
                                    hashlib.sha256).hexdigest()
        assert last["headers"]["x-ftpgate-signature"] == want
        # Standard Webhooks: webhook-id, webhook-timestamp, v1 signature over id.timestamp.body.
        h = last["headers"]
        assert h["webhook-id"] == h["x-ftpgate-id"] and h["webhook-timestamp"] == ts
        std = "v1," + base64.b64encode(hmac.new(
            secret.encode(), f"{h['webhook-id']}.{ts}.".encode() + last["body"],
            hashlib.sha256).digest()).decode()
        assert h["webhook-signature"] == std
        # The body is a CloudEvents 1.0 structured event.
        assert h["content-type"] == "application/cloudevents+json"
        ev = json.loads(last["body"])
        assert ev["specversion"] == "1.0" and ev["type"] == "photo.created"
        assert ev["id"] == h["webhook-id"] and ev["datacontenttype"] == "application/json"
        assert ev["subject"] == "mo/IMG_1.JPG" and ev["source"] == "/ftpgate/events/gala"
        assert ev["time"]
        body = ev["data"]
        assert body["event"] == "gala" and body["photographer"] == "mo"
        assert body["path"] == "IMG_1.JPG" and body["sha256"] == sha256(photo)
        assert body["size"] == len(photo) and body["content_type"] == "image/jpeg"
        # The same photo sent again: one copy, no second notification.
        before = len(recv.calls)
        assert c.create("/gala/IMG_1.JPG", photo).status in (200, 201)
        time.sleep(2)
        assert len(recv.calls) == before
        # A different photo under a final name: notified directly.
        assert c.create("/gala/IMG_2.JPG", tiny_jpeg(2)).status in (200, 201)
        _wait(lambda: any(d["path"] == "IMG_2.JPG" for d in recv.delivered()), 10, "IMG_2")
    finally:
        recv.stop()


def test_webhook_survives_a_receiver_outage_and_a_restart(gateway_factory):
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    g = gateway_factory({"FTPGATE_WEBHOOK__URL": url, "FTPGATE_WEBHOOK__SECRET": "s"})
    c = g.photographer("ny", ["expo"])
    assert c.create("/expo/a.jpg", tiny_jpeg(1)).status in (200, 201)
    time.sleep(2)  # receiver down: attempts fail
    g.restart()    # the notification is in the database, not in memory
    recv = _Receiver(fail_first=0, secret="s")
    recv.port = port
    recv.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), recv.server.RequestHandlerClass)
    recv.thread = threading.Thread(target=recv.server.serve_forever, daemon=True)
    recv.start()
    try:
        # Backoff after two failures is at most a few seconds.
        _wait(lambda: any(d["path"] == "a.jpg" for d in recv.delivered()), 40, "delivery after the outage")
    finally:
        recv.stop()
    _wait(lambda: 'ftpgate_webhook_deliveries_total{result="delivered"} 1'
          in g.http("GET", "/metrics").body.decode(), 10, "the delivery in /metrics")


# --- an S3 store that goes away ------------------------------------------------------------

class _PrivateSeaweed:
    """A SeaweedFS of this test's own (so it can be stopped), on free loopback ports."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="ftpgate-weed-"))
        self.ports = [free_port() for _ in range(9)]
        self.access, self.secret = "t-access", "t-secret"
        (self.dir / "s3.json").write_text(json.dumps({"identities": [{
            "name": "t", "credentials": [{"accessKey": self.access, "secretKey": self.secret}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
        (self.dir / "data").mkdir()
        self.proc = None

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.ports[0]}"

    def start(self):
        import shutil
        import sys
        weed = str(Path(sys.executable).parent / "weed")
        if not Path(weed).exists():
            weed = shutil.which("weed") or weed
        p = self.ports
        self.proc = subprocess.Popen(
            [weed, "server", f"-dir={self.dir / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
             f"-master.port={p[1]}", f"-master.port.grpc={p[2]}", f"-volume.port={p[3]}",
             f"-volume.port.grpc={p[4]}", "-filer", f"-filer.port={p[5]}", f"-filer.port.grpc={p[6]}",
             "-s3", f"-s3.port={p[0]}", f"-s3.port.grpc={p[7]}", f"-s3.config={self.dir / 's3.json'}",
             "-s3.port.iceberg=0", "-s3.port.lance=0", f"-metricsPort={p[8]}",
             "-master.volumeSizeLimitMB=64", "-volume.max=8"],
            stdout=open(self.dir / "weed.log", "ab"), stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", p[0]), 0.5).close()
                # the bucket, through the filer
                import urllib.error
                import urllib.request
                try:
                    urllib.request.urlopen(urllib.request.Request(
                        f"http://127.0.0.1:{p[5]}/buckets/down-test/", method="POST"), timeout=2)
                except urllib.error.HTTPError:
                    pass  # the filer answered: the bucket exists from the first start
                return self
            except OSError:
                time.sleep(0.3)
        raise AssertionError("private SeaweedFS did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def test_store_down_gives_clean_errors_then_recovers(gateway_factory, catalog):
    if catalog[0] != "sqlite-s3":
        pytest.skip("needs the S3 test server")
    weed = _PrivateSeaweed().start()
    try:
        g = gateway_factory({
            "FTPGATE_BLOBS__URL": "s3://down-test/p",
            "FTPGATE_BLOBS__ENDPOINT": weed.endpoint,
            "FTPGATE_BLOBS__ACCESS_KEY_ID": weed.access,
            "FTPGATE_BLOBS__SECRET_ACCESS_KEY": weed.secret,
            "FTPGATE_BLOBS__RETRY_TIMEOUT_SECS": "3",
        })
        c = g.photographer("ola", ["fair"])
        assert c.create("/fair/before.jpg", tiny_jpeg(1)).status in (200, 201)
        weed.stop()
        t = time.monotonic()
        r = c.create("/fair/during.jpg", random_jpeg(200_000, seed=9))
        took = time.monotonic() - t
        assert r.status >= 500 and r.status not in (501,), r
        assert took < 30, f"the client waited {took:.0f} s for an error"
        assert c.stat("/fair/during.jpg").status == 404, "a failed upload left an entry"
        assert g.http("GET", "/readyz").status == 503
        weed.start()
        _wait(lambda: g.http("GET", "/readyz").status == 200, 60, "readyz after the store is back")
        assert c.create("/fair/after.jpg", tiny_jpeg(2)).status in (200, 201)
        assert c.open("/fair/before.jpg").body == tiny_jpeg(1)
    finally:
        weed.stop()


def test_check_names_each_store_problem(gateway, catalog):
    """`ftpgate check`: a wrong secret, a missing bucket and a closed port are three distinct,
    clear messages (and a working store is reported as such)."""
    if catalog[0] != "sqlite-s3":
        pytest.skip("needs the S3 test server")
    ok = gateway.cli("check")
    assert ok.returncode == 0 and "blobs: ok" in ok.stdout, ok.stdout + ok.stderr
    cases = {
        "FTPGATE_BLOBS__SECRET_ACCESS_KEY": ("wrong-secret", "credentials were refused"),
        "FTPGATE_BLOBS__URL": ("s3://no-such-bucket-here/x", "bucket does not exist"),
        "FTPGATE_BLOBS__ENDPOINT": (f"http://127.0.0.1:{free_port()}", "cannot reach the S3 endpoint"),
    }
    seen = set()
    for key, (value, expected) in cases.items():
        saved = gateway.env_settings[key]
        gateway.env_settings[key] = value
        gateway.env_settings["FTPGATE_BLOBS__RETRY_TIMEOUT_SECS"] = "2"
        try:
            r = gateway.cli("check")
        finally:
            gateway.env_settings[key] = saved
            del gateway.env_settings["FTPGATE_BLOBS__RETRY_TIMEOUT_SECS"]
        assert r.returncode != 0, r.stdout
        line = next(line for line in r.stdout.splitlines() if line.startswith("blobs:"))
        assert expected in line, line
        seen.add(line.split(":")[2])
    assert len(seen) == 3


def test_event_webhook_and_dead_letters_in_the_api(gateway_factory):
    recv = _Receiver(fail_first=0, secret="ev-secret").start()
    try:
        g = gateway_factory({"FTPGATE_WEBHOOK__URL": f"http://127.0.0.1:{free_port()}/nobody",
                             "FTPGATE_WEBHOOK__MAX_AGE_SECS": "1"})
        c = g.photographer("pia", ["own", "shared"])
        g.cli_ok("event", "webhook", "own", "--url", recv.url, "--secret-stdin", input="ev-secret\n")
        assert c.create("/own/a.jpg", tiny_jpeg(1)).status in (200, 201)
        assert c.create("/shared/b.jpg", tiny_jpeg(2)).status in (200, 201)
        _wait(lambda: any(d["path"] == "a.jpg" for d in recv.delivered()), 10, "the event's own webhook")
        assert all(d["event"] == "own" for d in recv.delivered())
        token = g.cli_ok("admin-token", "create", "ops").stdout.strip().splitlines()[-1]
        auth = [("Authorization", f"Bearer {token}")]

        def dead():
            r = g.http("GET", "/api/v1/notifications?status=dead", headers=auth)
            assert r.status == 200, r
            return [n for n in json.loads(r.body)["items"] if n["event"] == "shared"]
        # The deployment's receiver does not exist: past max_age the row is dead, and visible.
        _wait(lambda: len(dead()) == 1, 30, "a dead notification in the API")
        metrics = g.http("GET", "/metrics").body.decode()
        assert "ftpgate_outbox_dead 1" in metrics
    finally:
        recv.stop()
