#!/usr/bin/env python3
"""S3 ingest benchmark (run by hand, not in CI): ftpgate over SeaweedFS, prints a table.

1. Peak RSS of `ftpgate serve` during 200 concurrent 50 MiB HTTPFs uploads to S3 with the
   default upload budget (256 MiB); goal: <= budget + 64 MiB. All uploads must answer 200/201.
2. HTTPFs ingest of 100 x 20 MiB files with 4 connections, as MiB/s and as a ratio to
   `rclone copy --transfers 4` of the same files to the same S3 server in the same run.
3. The embedded FTP door: the same 100 files by 4 ftplib connections, as a ratio to that
   `rclone copy` (goal >= 1.0) and to `rclone serve ftp` fed by the same ftplib client.
Sides of 2 and 3 alternate, --rounds times each; the best round counts, all are printed.

Usage: bench/s3_bench.py [--bin target/release/ftpgate] [--rounds 2] [--skip-rss]
                         [--s3-endpoint URL --s3-bucket B --s3-access-key K --s3-secret-key S]
Run it with the project's venv (.venv/bin/python), which provides `weed` and `rclone`.
Without --s3-endpoint it starts its own SeaweedFS (the way scripts/test does) on free ports of
127.0.0.1 in a temporary directory; everything it starts is stopped by PID and every temporary
file is removed afterwards. It needs about 30 GB free in /tmp (SeaweedFS keeps every upload).
"""
import argparse
import ftplib
import glob
import http.client
import json
import os
import queue
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import quote

MIB = 1 << 20
GIB = 1 << 30
JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
CHUNK = MIB  # send/read unit of every client here
VENV_BIN = os.path.dirname(os.path.abspath(sys.executable))
PHOTOGRAPHER, PASSWORD, EVENT = "bench", "benchpass1", "bench"
DEFAULT_BUDGET_MIB = 256  # blobs.upload_budget_mib when unset (src/store/blobs/object.rs)


# --- processes and ports ----------------------------------------------------------------------

def free_ports(n):
    """n distinct free TCP ports on 127.0.0.1 (all bound at once, so none repeats)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def free_port_range(n, avoid):
    """A range of n consecutive free ports below the ephemeral range (fewer collisions)."""
    for _ in range(200):
        base = random.randrange(20000, 32000 - n)
        ports = range(base, base + n)
        if any(p in avoid for p in ports):
            continue
        socks = []
        try:
            for p in ports:
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return base, base + n - 1
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError(f"no {n} consecutive free ports found")


def start(cmd, log_path, env=None):
    """A child in its own session: a Ctrl-C reaches only us, and we stop it by its PID."""
    log = open(log_path, "ab")
    try:
        return subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        log.close()  # the child holds its own copy


def stop(proc, grace=20):
    """SIGTERM to this PID, SIGKILL after `grace` seconds."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_until(check, proc, what, log_path, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            break
        try:
            if check():
                return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not come up (exit code {proc and proc.poll()}); "
                       f"log {log_path}:\n{tail(log_path)}")


def tail(path, n=30):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


def tcp_open(port):
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


def tool_version(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return out.strip().splitlines()[0] if out.strip() else "?"


# --- S3 server --------------------------------------------------------------------------------

class S3:
    """Where the S3 server is and how to sign for it."""

    def __init__(self, endpoint, bucket, access_key, secret_key, region="us-east-1"):
        self.endpoint, self.bucket = endpoint.rstrip("/"), bucket
        self.access_key, self.secret_key, self.region = access_key, secret_key, region


class SeaweedFS:
    """`weed server` (master, volume, filer, S3) on free loopback ports, data in `workdir`."""

    def __init__(self, weed, workdir, volumes):
        self.dir = os.path.join(workdir, "seaweedfs")
        os.makedirs(os.path.join(self.dir, "data"))
        self.log = os.path.join(self.dir, "weed.log")
        self.ports = free_ports(9)
        p = self.ports
        self.filer = f"http://127.0.0.1:{p[5]}"
        self.s3 = S3(f"http://127.0.0.1:{p[0]}", "ftpgate-bench", "bench-access",
                     "bench-secret-" + secrets.token_hex(8))
        with open(os.path.join(self.dir, "s3.json"), "w") as f:
            json.dump({"identities": [{
                "name": "bench",
                "credentials": [{"accessKey": self.s3.access_key, "secretKey": self.s3.secret_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}, f)
        # 1 GiB volumes (not preallocated), as many as the run needs: the 64 MiB x 16 of
        # scripts/test hold 1 GiB, far too little for the 10 GiB of the RSS test.
        self.proc = start([
            weed, "server", f"-dir={self.dir}/data", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-master.port={p[1]}", f"-master.port.grpc={p[2]}",
            f"-volume.port={p[3]}", f"-volume.port.grpc={p[4]}",
            "-filer", f"-filer.port={p[5]}", f"-filer.port.grpc={p[6]}",
            "-s3", f"-s3.port={p[0]}", f"-s3.port.grpc={p[7]}", f"-s3.config={self.dir}/s3.json",
            "-s3.port.iceberg=0", "-s3.port.lance=0", f"-metricsPort={p[8]}",
            "-master.volumeSizeLimitMB=1024", f"-volume.max={volumes}",
            "-volume.preStopSeconds=1",  # the default 10 s only matters in a cluster
        ], self.log)

    def wait_ready(self):
        def s3_answers():  # any HTTP status (403 without a signature) means it is up
            c = http.client.HTTPConnection("127.0.0.1", self.ports[0], timeout=2)
            try:
                c.request("GET", "/")
                return c.getresponse().status > 0
            finally:
                c.close()
        wait_until(s3_answers, self.proc, "SeaweedFS", self.log, timeout=90)
        self.create_bucket(self.s3.bucket)

    def create_bucket(self, name):
        """A directory under the filer's /buckets is a bucket (as in scripts/test)."""
        url = f"{self.filer}/buckets/{name}/"

        def created():
            try:
                urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=5).close()
                urllib.request.urlopen(urllib.request.Request(
                    url, headers={"Accept": "application/json"}), timeout=5).close()
                return True
            except urllib.error.URLError:
                return False
        wait_until(created, self.proc, f"bucket {name}", self.log, timeout=30)

    def stop(self):
        stop(self.proc)
        # weed leaves unix sockets named after its ports in /tmp: remove ours only
        for p in self.ports:
            for sock in glob.glob(f"/tmp/seaweedfs-*-{p}.sock"):
                try:
                    os.unlink(sock)
                except OSError:
                    pass


# --- ftpgate ----------------------------------------------------------------------------------

class Gateway:
    """`ftpgate serve` with S3 blobs, HTTPFs and the FTP door, one photographer and event."""

    def __init__(self, binary, workdir, s3, prefix, http_port, ftp_port, passive, budget_mib):
        self.binary, self.port, self.ftp_port = binary, http_port, ftp_port
        self.log = os.path.join(workdir, "serve.log")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("FTPGATE_")}
        self.env.update({
            "FTPGATE_DATA_DIR": os.path.join(workdir, "data"),
            "FTPGATE_HTTP__LISTEN": f"127.0.0.1:{http_port}",
            "FTPGATE_FTP__ENABLED": "true",
            "FTPGATE_FTP__LISTEN": f"127.0.0.1:{ftp_port}",
            "FTPGATE_FTP__PASSIVE_PORTS": "%d-%d" % passive,
            "FTPGATE_BLOBS__URL": f"s3://{s3.bucket}/{prefix}",
            "FTPGATE_BLOBS__ENDPOINT": s3.endpoint,
            "FTPGATE_BLOBS__REGION": s3.region,
            "FTPGATE_BLOBS__ACCESS_KEY_ID": s3.access_key,
            "FTPGATE_BLOBS__SECRET_ACCESS_KEY": s3.secret_key,
            "FTPGATE_BLOBS__PATH_STYLE": "true",
            "FTPGATE_LOG__LEVEL": "info",
            "NO_COLOR": "1",
        })
        if budget_mib is not None:  # otherwise the built-in default is what gets measured
            self.env["FTPGATE_BLOBS__UPLOAD_BUDGET_MIB"] = str(budget_mib)
        self.proc = None

    def start(self):
        # No quota is set on the event or the grant: none is the default.
        self.cli("photographer", "add", PHOTOGRAPHER, "--password-stdin", input=PASSWORD + "\n")
        self.cli("event", "add", EVENT)
        self.cli("grant", "add", PHOTOGRAPHER, EVENT)
        self.proc = start([self.binary, "serve"], self.log, env=self.env)

        def healthy():
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            try:
                c.request("GET", "/healthz")
                return c.getresponse().status == 200
            finally:
                c.close()
        wait_until(healthy, self.proc, "ftpgate serve", self.log)
        # The HTTPFs key SFTPGo would get from the auth hook.
        body = json.dumps({"username": PHOTOGRAPHER, "password": PASSWORD, "ip": "127.0.0.1",
                           "protocol": "FTP", "public_key": "", "keyboard_interactive": "",
                           "tls_cert": ""})
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        c.request("POST", "/ftp/auth", body, {"Content-Type": "application/json"})
        self.key = json.loads(c.getresponse().read())["filesystem"]["httpconfig"]["api_key"]["payload"]
        c.close()

    def cli(self, *args, input=None):
        subprocess.run([self.binary, *args], env=self.env, input=input, text=True, check=True,
                       stdout=subprocess.DEVNULL)

    def connection(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=1800)

    def upload(self, conn, path, chunks):
        """POST /create with a chunked body from `chunks` (bytes-like); returns the HTTP status.

        The chunk framing is written by hand so that a memoryview goes to the socket uncopied.
        """
        conn.putrequest("POST", f"/ftp/v1/create/{quote(path, safe='')}?flags=577&checks=0",
                        skip_accept_encoding=True)
        conn.putheader("X-Api-Key", self.key)
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        try:
            for c in chunks:
                if len(c):
                    conn.send(b"%X\r\n" % len(c))
                    conn.send(c)
                    conn.send(b"\r\n")
            conn.send(b"0\r\n\r\n")
        except OSError:
            pass  # refused mid-body: the answer below says why
        r = conn.getresponse()
        r.read()
        if r.will_close:
            conn.close()
        return r.status

    def status_kib(self, field):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        stop(self.proc)


# --- test data --------------------------------------------------------------------------------

def generated_body(block, size, tag):
    """`size` bytes: a JPEG header and a per-file tag (so contents differ), then `block` again
    and again; nothing of size `size` is ever held in memory."""
    head = JPEG_HEAD + tag
    yield head
    left = size - len(head)
    view = memoryview(block)
    while left > 0:
        n = min(left, len(block))
        yield view[:n]
        left -= n


def file_body(path):
    """The file's bytes, read into one reused buffer."""
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while True:
            n = f.readinto(buf)
            if not n:
                return
            yield view[:n]


def write_files(directory, count, size, block):
    os.makedirs(directory)
    paths = []
    for i in range(count):
        p = os.path.join(directory, f"IMG_{i:04d}.jpg")
        with open(p, "wb") as f:
            for c in generated_body(block, size, b"file %06d %s" % (i, secrets.token_hex(8).encode())):
                f.write(c)
        paths.append(p)
    return paths


def run_parallel(items, workers, job):
    """Runs job(worker_state, item) over `items` with `workers` threads; returns
    (seconds, [(item, error)]). job's first argument is a dict the thread keeps."""
    q = queue.Queue()
    for it in items:
        q.put(it)
    errors, lock = [], threading.Lock()

    def worker():
        state = {}
        while True:
            try:
                it = q.get_nowait()
            except queue.Empty:
                break
            try:
                job(state, it)
            except Exception as e:  # reported; the run goes on
                with lock:
                    errors.append((it, repr(e)))
        try:
            state.get("close", lambda: None)()
        except (OSError, EOFError, ftplib.Error):
            pass  # a broken connection's goodbye

    t = time.perf_counter()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return time.perf_counter() - t, errors


# --- the measures -----------------------------------------------------------------------------

def measure_rss(gw, count, size_mib, budget_mib):
    """count concurrent uploads, all connected before any sends, VmRSS sampled every 10 ms."""
    block = os.urandom(CHUNK)
    size = size_mib * MIB
    idle = gw.status_kib("VmRSS")
    peak = [idle]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], gw.status_kib("VmRSS"))
            time.sleep(0.01)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    ready = threading.Barrier(count + 1)
    results = [None] * count

    def one(i):
        conn = gw.connection()
        try:
            try:
                conn.connect()
            finally:
                ready.wait(120)  # a failed connect must not hold the others back
            status = gw.upload(conn, f"/{EVENT}/rss/{i:03d}.jpg",
                               generated_body(block, size, b"rss %06d" % i))
            results[i] = status if status in (200, 201) else f"HTTP {status}"
        except Exception as e:  # reported below
            results[i] = repr(e)
        finally:
            conn.close()
    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(count)]
    try:
        for th in threads:
            th.start()
        ready.wait(120)
        t = time.perf_counter()
        for th in threads:
            th.join()
        dt = time.perf_counter() - t
    finally:
        done.set()
        sampler.join()
    failures = [(i, r) for i, r in enumerate(results) if r not in (200, 201)]
    hwm = gw.status_kib("VmHWM")
    top = max(hwm, peak[0]) / 1024  # the kernel updates VmHWM lazily: a sample can exceed it
    goal = budget_mib + 64
    return [
        (f"peak RSS, {count} x {size_mib} MiB concurrent (MiB)", "%.0f" % top,
         "VmHWM %.0f, sampled %.0f, idle %.0f" % (hwm / 1024, peak[0] / 1024, idle / 1024),
         "%.2f" % (top / goal),
         f"<= {goal} (budget {budget_mib} + 64)"),
        (f"  those {count} uploads: ok / time / rate", f"{count - len(failures)}/{count}",
         "%.0f s, %.0f MiB/s" % (dt, count * size_mib / dt), "", f"all {count} ok"),
    ], failures


def best_and_all(rates):
    return max(rates), " ".join("%.0f" % r for r in rates)


def rclone_env(workdir, s3):
    """rclone configured by environment only: remote `sw:`, no config file in $HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCLONE_")}
    conf = os.path.join(workdir, "rclone.conf")
    open(conf, "a").close()
    env.update({
        "RCLONE_CONFIG": conf,
        "RCLONE_CACHE_DIR": os.path.join(workdir, "rclone-cache"),
        "RCLONE_CONFIG_SW_TYPE": "s3",
        "RCLONE_CONFIG_SW_PROVIDER": "SeaweedFS",
        "RCLONE_CONFIG_SW_ENDPOINT": s3.endpoint,
        "RCLONE_CONFIG_SW_REGION": s3.region,
        "RCLONE_CONFIG_SW_ACCESS_KEY_ID": s3.access_key,
        "RCLONE_CONFIG_SW_SECRET_ACCESS_KEY": s3.secret_key,
    })
    return env


def rclone_copy(rclone, env, src, dst, transfers, log):
    t = time.perf_counter()
    with open(log, "ab") as f:
        subprocess.run([rclone, "copy", "--transfers", str(transfers), src, dst], env=env,
                       stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT, check=True)
    return time.perf_counter() - t


def httpfs_ingest(gw, paths, directory, workers):
    def job(state, path):
        if "conn" not in state:
            state["conn"] = gw.connection()
            state["close"] = state["conn"].close
        status = gw.upload(state["conn"], f"{directory}/{os.path.basename(path)}", file_body(path))
        if status not in (200, 201):
            raise RuntimeError(f"HTTP {status}")
    return run_parallel(paths, workers, job)


def ftp_ingest(port, user, password, paths, remote_name, workers):
    """ftplib, one login per thread, STOR of every file (read in CHUNK blocks)."""
    def job(state, path):
        if "ftp" not in state:
            f = ftplib.FTP()
            f.connect("127.0.0.1", port, timeout=600)
            f.login(user, password)
            state["ftp"], state["close"] = f, f.quit
        with open(path, "rb") as src:
            reply = state["ftp"].storbinary(f"STOR {remote_name(path)}", src, blocksize=CHUNK)
        if not reply.startswith("226"):
            raise RuntimeError(reply)
    return run_parallel(paths, workers, job)


def rate(label, files, file_mib, dt, errors, notes):
    """MiB/s of one round; failed files are noted and left out of the rate, not fatal."""
    if errors:
        notes.append(f"{label}: {len(errors)} of {files} files failed, e.g. {errors[:3]}")
    return (files - len(errors)) * file_mib / dt


def s3_size(rclone, env, remote):
    out = subprocess.run([rclone, "size", "--json", remote], env=env, capture_output=True,
                         text=True, check=True).stdout
    j = json.loads(out)
    return j["count"], j["bytes"]


# --- main -------------------------------------------------------------------------------------

class Bench:
    """One run: the servers it started (stopped by close()), and the table rows."""

    def __init__(self, args):
        self.args = args
        self.binary = os.path.abspath(args.bin)
        self.budget = args.upload_budget_mib if args.upload_budget_mib is not None else DEFAULT_BUDGET_MIB
        self.set_mib = args.files * args.file_mib
        self.workdir = tempfile.mkdtemp(prefix="ftpgate-s3bench-")
        self.run_prefix = "run-" + secrets.token_hex(4)  # every key of this run is under it
        self.weed = self.gw = self.serve_ftp = None
        self.rows, self.notes = [], []
        self.stored = 0  # photos ftpgate should have put in S3

    def planned_mib(self):
        a = self.args
        return (0 if a.skip_rss else a.rss_uploads * a.rss_mib) + 4 * a.rounds * self.set_mib

    def setup(self):
        a = self.args
        if a.s3_endpoint:
            self.s3 = S3(a.s3_endpoint, a.s3_bucket, a.s3_access_key, a.s3_secret_key, a.s3_region)
        else:
            self.weed = SeaweedFS(a.weed, self.workdir, volumes=int(self.planned_mib() / 1024 * 1.2) + 16)
            self.weed.wait_ready()
            self.s3 = self.weed.s3
        self.http_port, self.ftp_port, self.serve_port = free_ports(3)
        singles = {self.http_port, self.ftp_port, self.serve_port}
        self.gw_passive = free_port_range(16, singles)
        self.serve_passive = free_port_range(16, singles | set(range(self.gw_passive[0], self.gw_passive[1] + 1)))
        self.renv = rclone_env(self.workdir, self.s3)
        self.rlog = os.path.join(self.workdir, "rclone.log")
        self.remote = f"sw:{self.s3.bucket}/{self.run_prefix}"
        self.gw = Gateway(self.binary, self.workdir, self.s3, f"{self.run_prefix}/ftpgate",
                          self.http_port, self.ftp_port, self.gw_passive, a.upload_budget_mib)
        self.gw.start()

    def memory(self):
        """1. First, so that VmHWM (the process's lifetime peak) belongs to this test."""
        a = self.args
        print(f"1. {a.rss_uploads} concurrent x {a.rss_mib} MiB over HTTPFs ...", flush=True)
        rows, failures = measure_rss(self.gw, a.rss_uploads, a.rss_mib, self.budget)
        self.rows += rows
        self.stored += a.rss_uploads - len(failures)
        for i, why in failures[:10]:
            self.notes.append(f"RSS upload {i} failed: {why}")
        if len(failures) > 10:
            self.notes.append(f"... and {len(failures) - 10} more RSS uploads failed")

    def ingest(self):
        """2. HTTPFs against rclone copy: same files, server and concurrency; alternating."""
        a = self.args
        self.paths = write_files(os.path.join(self.workdir, "files"), a.files, a.file_mib * MIB,
                                 os.urandom(CHUNK))
        print(f"2. HTTPFs vs rclone copy, {a.files} x {a.file_mib} MiB, {a.concurrency} "
              f"connections, {a.rounds} rounds ...", flush=True)
        ingest, copy = [], []
        for rnd in range(1, a.rounds + 1):
            dt, err = httpfs_ingest(self.gw, self.paths, f"/{EVENT}/ingest-r{rnd}", a.concurrency)
            ingest.append(rate(f"HTTPFs round {rnd}", a.files, a.file_mib, dt, err, self.notes))
            self.stored += a.files - len(err)
            dt = rclone_copy(a.rclone, self.renv, os.path.dirname(self.paths[0]),
                             f"{self.remote}/rclone-copy-r{rnd}", a.concurrency, self.rlog)
            copy.append(self.set_mib / dt)
        (bi, ai), (self.copy_best, ac) = best_and_all(ingest), best_and_all(copy)
        self.rows.append((f"HTTPFs ingest {a.files} x {a.file_mib} MiB, {a.concurrency} conns (MiB/s)",
                          "%.0f" % bi, f"rclone copy: {self.copy_best:.0f}",
                          "%.2f" % (bi / self.copy_best), "(none given)"))
        self.rows.append(("  each round: HTTPFs | rclone copy", ai, ac, "", ""))

    def ftp(self):
        """3. The FTP door against rclone copy and rclone serve ftp (same ftplib client)."""
        a = self.args
        print(f"3. FTP door vs rclone serve ftp, {a.rounds} rounds ...", flush=True)
        serve_log = os.path.join(self.workdir, "rclone-serve-ftp.log")
        self.serve_ftp = start([a.rclone, "serve", "ftp", f"{self.remote}/serve-ftp",
                                "--addr", f"127.0.0.1:{self.serve_port}", "--user", "u",
                                "--pass", "p", "--passive-port", "%d-%d" % self.serve_passive],
                               serve_log, env=self.renv)
        wait_until(lambda: tcp_open(self.serve_port), self.serve_ftp, "rclone serve ftp", serve_log)
        door, served = [], []
        for rnd in range(1, a.rounds + 1):
            dt, err = ftp_ingest(self.ftp_port, PHOTOGRAPHER, PASSWORD, self.paths,
                                 lambda p: f"/{EVENT}/ftp-r{rnd}-{os.path.basename(p)}",
                                 a.concurrency)
            door.append(rate(f"ftpgate FTP round {rnd}", a.files, a.file_mib, dt, err, self.notes))
            self.stored += a.files - len(err)
            dt, err = ftp_ingest(self.serve_port, "u", "p", self.paths,
                                 lambda p: f"/r{rnd}-{os.path.basename(p)}", a.concurrency)
            served.append(rate(f"rclone serve ftp round {rnd}", a.files, a.file_mib, dt, err,
                               self.notes))
        (bd, ad), (bs, as_) = best_and_all(door), best_and_all(served)
        bc = self.copy_best
        self.rows.append((f"ftpgate FTP {a.files} x {a.file_mib} MiB, {a.concurrency} conns (MiB/s)",
                          "%.0f" % bd, f"rclone copy: {bc:.0f}", "%.2f" % (bd / bc), ">= 1.0"))
        self.rows.append(("  ftpgate FTP vs rclone serve ftp (MiB/s)", "%.0f" % bd,
                          f"rclone serve ftp: {bs:.0f}", "%.2f" % (bd / bs), ""))
        self.rows.append(("  each round: ftpgate FTP | serve ftp", ad, as_, "", ""))

    def verify(self):
        """Did the photos really land in S3? (ftpgate's blobs are under <prefix>/events/)"""
        count, nbytes = s3_size(self.args.rclone, self.renv, f"{self.remote}/ftpgate/events")
        self.notes.append(f"S3 holds {count} ftpgate photo objects ({nbytes / GIB:.2f} GiB); "
                          f"expected {self.stored}")

    def close(self):
        stop(self.serve_ftp)
        if self.gw is not None:
            self.gw.stop()
        if self.gw is not None and os.path.exists(self.gw.log):
            with open(self.gw.log, errors="replace") as f:
                problems = [ln.rstrip() for ln in f if " ERROR " in ln or " WARN " in ln or "panicked" in ln]
            if problems:
                self.notes.append(f"serve.log: {len(problems)} WARN/ERROR lines, the first ones:")
                self.notes += ["  " + ln[:300] for ln in problems[:8]]
        if self.args.s3_endpoint and self.gw is not None:  # someone else's server: clean up
            subprocess.run([self.args.rclone, "purge", self.remote], env=self.renv,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if self.weed is not None:
            self.weed.stop()
        if self.args.keep:
            print(f"kept {self.workdir}")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def print_table(self):
        if not self.rows:
            return
        w = max(len(r[0]) for r in self.rows)
        print(f"{'measure':<{w}}  {'value':>8}  {'baseline / note':<34} {'ratio':>6}  goal")
        for r in self.rows:
            print(f"{r[0]:<{w}}  {r[1]:>8}  {r[2]:<34} {r[3]:>6}  {r[4]}")


def environment(args, binary):
    return "cpus %d, load %s; weed %s; %s; %s; python %s" % (
        os.cpu_count(), " ".join(f"{x:.1f}" for x in os.getloadavg()),
        tool_version([args.weed, "version"]).replace("version ", ""),
        tool_version([args.rclone, "version"]), tool_version([binary, "--version"]),
        sys.version.split()[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="target/release/ftpgate", help="the ftpgate binary")
    ap.add_argument("--rounds", type=int, default=2, help="rounds of each side of 2 and 3")
    ap.add_argument("--skip-rss", action="store_true", help="skip measure 1 (10 GiB of uploads)")
    ap.add_argument("--skip-ftp", action="store_true", help="skip measure 3")
    ap.add_argument("--rss-uploads", type=int, default=200)
    ap.add_argument("--rss-mib", type=int, default=50)
    ap.add_argument("--files", type=int, default=100)
    ap.add_argument("--file-mib", type=int, default=20)
    ap.add_argument("--concurrency", type=int, default=4, help="connections of 2 and 3, every side")
    ap.add_argument("--upload-budget-mib", type=int, default=None,
                    help=f"sets blobs.upload_budget_mib (unset: the default, {DEFAULT_BUDGET_MIB})")
    ap.add_argument("--weed", default=os.path.join(VENV_BIN, "weed"))
    ap.add_argument("--rclone", default=os.path.join(VENV_BIN, "rclone"))
    ap.add_argument("--s3-endpoint", help="use this S3 server instead of starting SeaweedFS")
    ap.add_argument("--s3-bucket", default="ftpgate-bench", help="an existing bucket (with --s3-endpoint)")
    ap.add_argument("--s3-access-key", default=os.environ.get("AWS_ACCESS_KEY_ID", ""))
    ap.add_argument("--s3-secret-key", default=os.environ.get("AWS_SECRET_ACCESS_KEY", ""))
    ap.add_argument("--s3-region", default="us-east-1")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (logs)")
    args = ap.parse_args()
    if not os.access(os.path.abspath(args.bin), os.X_OK):
        sys.exit(f"no ftpgate binary at {os.path.abspath(args.bin)} (cargo build --release)")
    # A SIGTERM unwinds like Ctrl-C, so that close() stops what was started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    t = time.perf_counter()
    env_line = environment(args, os.path.abspath(args.bin))
    print(env_line, flush=True)
    bench = Bench(args)
    need = (bench.planned_mib() + bench.set_mib) * MIB * 1.1 + 2 * GIB
    free = shutil.disk_usage(bench.workdir).free
    ok = False
    try:
        if not args.s3_endpoint and free < need:
            raise SystemExit(f"needs {need / GIB:.0f} GiB free in {bench.workdir}, has {free / GIB:.0f}")
        bench.setup()
        if not args.skip_rss:
            bench.memory()
        bench.ingest()
        if not args.skip_ftp:
            bench.ftp()
        bench.verify()
        ok = True
    finally:
        bench.close()
        print()
        print(env_line)
        print(f"load at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        bench.print_table()
        for n in bench.notes:
            print(n)
        print(f"total time {time.perf_counter() - t:.0f} s" + ("" if ok else " (run failed)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
