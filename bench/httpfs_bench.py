#!/usr/bin/env python3
"""HTTPFs ingest benchmark (run by hand, not in CI): prints a table.

1. One 512 MiB chunked upload through POST /create, as throughput and as a ratio to `cat`
   of the same bytes to a file on the same disk in the same run (goal >= 0.9).
2. Peak RSS of `ftpgate serve` during 64 concurrent 64 MiB uploads (goal <= 128 MiB).
3. p99 latency of `stat` and of `readdir` on a directory of 10 000 entries.

Usage: bench/httpfs_bench.py [--bin target/release/ftpgate] [--blobs s3://bucket/prefix ...]
Everything runs on 127.0.0.1 in a temporary directory that is removed afterwards.
"""
import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
CHUNK = 256 * 1024


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def quote(path):
    from urllib.parse import quote as q
    return q(path, safe="")


class Gateway:
    def __init__(self, binary, workdir, extra_env):
        self.port = free_port()
        self.env = dict(os.environ)
        self.env.update({
            "FTPGATE_DATA_DIR": os.path.join(workdir, "data"),
            "FTPGATE_HTTP__LISTEN": f"127.0.0.1:{self.port}",
            "FTPGATE_FTP__ENABLED": "false",
            "FTPGATE_UPLOAD__MAX_FILE_SIZE": str(4 << 30),
            "FTPGATE_LOG__LEVEL": "warn",
        })
        self.env.update(extra_env)
        self.binary = binary
        self.cli("photographer", "add", "bench", "--password-stdin", input="benchpass1\n")
        self.cli("event", "add", "bench")
        self.cli("grant", "add", "bench", "bench")
        self.proc = subprocess.Popen([binary, "serve"], env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(workdir, "serve.log"), "w"))
        for _ in range(200):
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                c.request("GET", "/healthz")
                if c.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.05)
        body = json.dumps({"username": "bench", "password": "benchpass1", "ip": "127.0.0.1",
                           "protocol": "FTP", "public_key": "", "keyboard_interactive": "", "tls_cert": ""})
        c = http.client.HTTPConnection("127.0.0.1", self.port)
        c.request("POST", "/ftp/auth", body, {"Content-Type": "application/json"})
        self.key = json.loads(c.getresponse().read())["filesystem"]["httpconfig"]["api_key"]["payload"]

    def cli(self, *args, input=None):
        subprocess.run([self.binary, *args], env=self.env, input=input, text=True, check=True,
                       stdout=subprocess.DEVNULL)

    def request(self, method, op, path, body=None, query=""):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        headers = {"X-Api-Key": self.key}
        if body is not None:
            headers["Transfer-Encoding"] = "chunked"
        c.request(method, f"/ftp/v1/{op}/{quote(path)}{query}", body=body, headers=headers,
                  encode_chunked=body is not None)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data

    def upload(self, path, size):
        def gen():
            yield JPEG_HEAD
            left = size - len(JPEG_HEAD)
            block = os.urandom(CHUNK)
            while left > 0:
                n = min(left, CHUNK)
                yield block[:n]
                left -= n
        return self.request("POST", "create", path, gen(), "?flags=577&checks=0")

    def rss_mib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def cat_baseline(workdir, size):
    """`cat` of the same amount of bytes (from a pipe) to a file on the same disk, fsynced."""
    src = os.path.join(workdir, "src.bin")
    with open(src, "wb") as f:
        block = os.urandom(CHUNK)
        for _ in range(size // CHUNK):
            f.write(block)
    dst = os.path.join(workdir, "cat.out")
    t = time.perf_counter()
    subprocess.run(f"cat {src} > {dst} && sync {dst}", shell=True, check=True)
    dt = time.perf_counter() - t
    os.unlink(src)
    os.unlink(dst)
    return dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/ftpgate")
    ap.add_argument("--size-mib", type=int, default=512)
    ap.add_argument("--concurrent", type=int, default=64)
    ap.add_argument("--concurrent-mib", type=int, default=64)
    ap.add_argument("--entries", type=int, default=10000)
    args = ap.parse_args()
    workdir = tempfile.mkdtemp(prefix="ftpgate-bench-")
    rows = []
    gw = Gateway(os.path.abspath(args.bin), workdir, {})
    try:
        size = args.size_mib << 20
        base = cat_baseline(workdir, size)
        t = time.perf_counter()
        st, _ = gw.upload("/bench/big.jpg", size)
        dt = time.perf_counter() - t
        assert st in (200, 201), st
        rows.append(("ingest 1 x %d MiB (MiB/s)" % args.size_mib, "%.0f" % (args.size_mib / dt),
                     "cat: %.0f" % (args.size_mib / base), "%.2f" % (base / dt), ">= 0.9"))

        peak = [gw.rss_mib()]
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], gw.rss_mib())
                time.sleep(0.02)
        th = threading.Thread(target=sample)
        th.start()
        errors = []

        def one(i):
            st, _ = gw.upload(f"/bench/c/{i}.jpg", args.concurrent_mib << 20)
            if st not in (200, 201):
                errors.append(st)
        t = time.perf_counter()
        ws = [threading.Thread(target=one, args=(i,)) for i in range(args.concurrent)]
        for w in ws:
            w.start()
        for w in ws:
            w.join()
        dt = time.perf_counter() - t
        done.set()
        th.join()
        assert not errors, errors
        rows.append((f"peak RSS, {args.concurrent} x {args.concurrent_mib} MiB concurrent (MiB)",
                     "%.0f" % peak[0], "%.0f MiB/s total" % (args.concurrent * args.concurrent_mib / dt), "", "<= 128"))

        gw.request("POST", "mkdir", "/bench/many")
        small = JPEG_HEAD + b"\0" * 100
        for i in range(args.entries):
            st, _ = gw.request("POST", "create", f"/bench/many/{i:05d}.jpg", iter([small]), "?flags=577&checks=0")
            assert st in (200, 201), st
        for op, path, n in (("stat", "/bench/many/04242.jpg", 2000), ("readdir", "/bench/many", 50)):
            lat = []
            for _ in range(n):
                t = time.perf_counter()
                st, body = gw.request("GET", op, path)
                lat.append(time.perf_counter() - t)
                assert st == 200
            lat.sort()
            rows.append((f"{op} p99 ({args.entries} entries, ms)", "%.2f" % (lat[int(len(lat) * 0.99) - 1] * 1000),
                         "p50 %.2f" % (lat[len(lat) // 2] * 1000), "", ""))
    finally:
        gw.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    w = max(len(r[0]) for r in rows)
    print(f"{'measure':<{w}}  {'value':>8}  {'baseline / note':<22} {'ratio':>6}  goal")
    for r in rows:
        print(f"{r[0]:<{w}}  {r[1]:>8}  {r[2]:<22} {r[3]:>6}  {r[4]}")


if __name__ == "__main__":
    sys.exit(main())
