"""Start, drive and stop one ``ftpgate serve`` process for a test."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

from .gowire import GoConnection, ProtocolError, Response, go_json
from .httpfs import HttpFsClient

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_BIN = REPO_ROOT / "target" / "debug" / "ftpgate"
HOOK_TOKEN_HEADER = "X-Ftpgate-Hook-Token"
HEALTH_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0

PG_HOST, PG_USER, PG_ADMIN_DB = "127.0.0.1", "postgres", "test"
PG_PORT = int(os.environ.get("FTPGATE_TEST_PGPORT", "5432"))  # only to test the skip path
# SQLite's own files (database, WAL, shared memory, rollback journal).
SQLITE_FILE = re.compile(r".*\.(db|sqlite|sqlite3)(-wal|-shm|-journal)?$")


def gateway_bin() -> Path:
    return Path(os.environ.get("FTPGATE_BIN") or DEFAULT_BIN)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _psql(sql: str, timeout: float = 30.0) -> subprocess.CompletedProcess:
    env = dict(os.environ, PGCONNECT_TIMEOUT="3")
    return subprocess.run(
        ["psql", "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER, "-d", PG_ADMIN_DB,
         "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-c", sql],
        capture_output=True, text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL)


def postgres_problem() -> str | None:
    """None if PostgreSQL answers at 127.0.0.1:5432, else why not."""
    if shutil.which("psql") is None:
        return "psql is not installed (Debian package postgresql-client)"
    try:
        r = _psql("SELECT 1", timeout=10)
    except subprocess.TimeoutExpired:
        return "psql timed out connecting to 127.0.0.1:5432"
    if r.returncode != 0 or r.stdout.strip() != "1":
        return f"PostgreSQL at {PG_HOST}:{PG_PORT} not usable: {r.stderr.strip() or r.stdout.strip()}"
    return None


def create_database() -> str:
    """A fresh, empty database; returns its name."""
    name = "ftpgate_t_" + secrets.token_hex(6)
    r = _psql(f'CREATE DATABASE "{name}"')
    if r.returncode != 0:
        raise RuntimeError(f"CREATE DATABASE {name} failed: {r.stderr.strip()}")
    return name


def drop_database(name: str) -> None:
    assert re.fullmatch(r"ftpgate_t_[0-9a-f]{12}", name), name
    r = _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if r.returncode != 0:
        raise RuntimeError(f"DROP DATABASE {name} failed: {r.stderr.strip()}")


def database_exists(name: str) -> bool:
    r = _psql(f"SELECT count(*) FROM pg_database WHERE datname = '{name}'")
    return r.returncode == 0 and r.stdout.strip() == "1"


def postgres_url(dbname: str) -> str:
    return f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{dbname}"


def s3_settings() -> dict[str, str] | None:
    """The S3 test server scripts/test started (SeaweedFS), or None."""
    endpoint = os.environ.get("FTPGATE_TEST_S3_ENDPOINT")
    if not endpoint:
        return None
    return {
        "endpoint": endpoint,
        "bucket": os.environ.get("FTPGATE_TEST_S3_BUCKET", "ftpgate-test"),
        "access_key": os.environ.get("FTPGATE_TEST_S3_ACCESS_KEY", ""),
        "secret_key": os.environ.get("FTPGATE_TEST_S3_SECRET_KEY", ""),
        "filer": os.environ.get("FTPGATE_TEST_S3_FILER", ""),
    }


def _filer_files(filer: str, directory: str) -> set[str]:
    """Every file below `directory` of SeaweedFS's filer (its JSON listing API), recursively."""
    import json
    import urllib.error
    import urllib.parse
    import urllib.request
    out: set[str] = set()
    stack = [directory.rstrip("/")]
    while stack:
        d = stack.pop()
        last = ""
        while True:
            url = f"{filer}{urllib.parse.quote(d)}/?limit=1000&lastFileName={urllib.parse.quote(last)}"
            req = urllib.request.Request(url, headers={"Accept": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    listing = json.loads(r.read() or b"{}")
            except urllib.error.HTTPError as e:
                if e.code == 404:
                    break
                raise
            entries = listing.get("Entries") or []
            for e in entries:
                if e.get("Mode", 0) & (1 << 31):
                    stack.append(e["FullPath"])
                else:
                    out.add(e["FullPath"])
            if not listing.get("ShouldDisplayLoadMore") or not entries:
                break
            last = listing.get("LastFileName", "")
    return out


class GatewayError(AssertionError):
    pass


class Gateway:
    """One ftpgate process with its own data dir, port and catalog.

    ``env`` holds the FTPGATE_* settings; the CLI runs with the same ones, so it works on
    the same catalog as the server.
    """

    def __init__(self, root: Path, *, backend: str = "sqlite", catalog_url: str | None = None,
                 env: dict[str, str] | None = None, binary: Path | None = None,
                 s3: dict[str, str] | None = None):
        self.root = Path(root)
        self.s3 = s3
        self.s3_prefix = f"t-{uuid.uuid4().hex[:12]}"
        self.backend = backend
        self.binary = Path(binary or gateway_bin())
        self.data_dir = self.root / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.home_dir_base = str(self.root / "sftpgo-home")
        self.log_path = self.root / "gateway.log"
        self.cli_log_path = self.root / "cli.log"
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self._log_file = None
        self._clients: list[HttpFsClient] = []
        self.known_events: set[str] = set()
        self.env_settings = {
            "FTPGATE_DATA_DIR": str(self.data_dir),
            "FTPGATE_HTTP__LISTEN": self.listen,
            "FTPGATE_FTP__ENABLED": "false",
            "FTPGATE_SFTPGO__HOME_DIR_BASE": self.home_dir_base,
        }
        if catalog_url:
            self.env_settings["FTPGATE_CATALOG__URL"] = catalog_url
        if s3:
            self.env_settings.update({
                "FTPGATE_BLOBS__URL": f"s3://{s3['bucket']}/{self.s3_prefix}",
                "FTPGATE_BLOBS__ENDPOINT": s3["endpoint"],
                "FTPGATE_BLOBS__ACCESS_KEY_ID": s3["access_key"],
                "FTPGATE_BLOBS__SECRET_ACCESS_KEY": s3["secret_key"],
            })
        self.env_settings.update(env or {})
        self.hook_token = self.env_settings.get("FTPGATE_AUTH_HOOK__TOKEN")

    # --- process ----------------------------------------------------------------------
    @property
    def listen(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def endpoint(self) -> str:
        """What /ftp/auth must hand out as filesystem.httpconfig.endpoint."""
        return f"http://{self.listen}/ftp/v1"

    def process_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FTPGATE_")}
        env.update(self.env_settings)
        env["FTPGATE_HTTP__LISTEN"] = self.listen
        env.setdefault("NO_COLOR", "1")
        env.setdefault("RUST_BACKTRACE", "1")
        return env

    def start(self) -> "Gateway":
        if not self.binary.exists():
            raise GatewayError(f"ftpgate binary not found at {self.binary} (build it with "
                               "`cargo build` or set FTPGATE_BIN)")
        for attempt in range(3):
            self._log_file = open(self.log_path, "ab")
            self._log_file.write(f"\n=== start (port {self.port}) ===\n".encode())
            self._log_file.flush()
            self.proc = subprocess.Popen(
                [str(self.binary), "serve"], env=self.process_env(), cwd=self.root,
                stdin=subprocess.DEVNULL, stdout=self._log_file, stderr=subprocess.STDOUT,
                start_new_session=True)
            try:
                self._wait_healthy()
                return self
            except GatewayError:
                exited = self.proc.poll() is not None
                self.stop()
                if exited and attempt < 2 and re.search(r"(?i)address (already )?in use|AddrInUse",
                                                        self.log_tail(4000)):
                    self.port = free_port()  # lost the race for the port: try another one
                    continue
                raise
        raise GatewayError("unreachable")

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + HEALTH_TIMEOUT
        conn = GoConnection("127.0.0.1", self.port, timeout=2.0)
        last = "no answer"
        try:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise GatewayError(f"ftpgate serve exited with code {self.proc.returncode} "
                                       f"during start-up\n--- log ---\n{self.log_tail()}")
                try:
                    r = conn.request("GET", "/healthz")
                    if r.status == 200:
                        return
                    last = repr(r)
                except (OSError, ProtocolError) as e:
                    last = repr(e)
                    conn.close()
                time.sleep(0.1)
        finally:
            conn.close()
        raise GatewayError(f"GET /healthz not 200 within {HEALTH_TIMEOUT} s (last: {last})"
                           f"\n--- log ---\n{self.log_tail()}")

    def stop(self) -> int | None:
        """SIGTERM by PID, SIGKILL after STOP_TIMEOUT. Returns the exit code."""
        for c in self._clients:
            c.close()  # they reconnect by themselves if used again after a restart
        code = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self._note(f"did not stop within {STOP_TIMEOUT} s of SIGTERM: SIGKILL")
                    self.proc.kill()
                    self.proc.wait()
            code = self.proc.returncode
            self.proc = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        return code

    def restart(self) -> "Gateway":
        self.stop()
        return self.start()

    def crashed(self) -> int | None:
        """Exit code if the server died on its own, else None."""
        return None if self.proc is None else self.proc.poll()

    def _note(self, text: str) -> None:
        with open(self.log_path, "ab") as f:
            f.write(f"=== harness: {text} ===\n".encode())

    def log_tail(self, limit: int = 64 * 1024) -> str:
        out = []
        for p in (self.log_path, self.cli_log_path):
            if p.exists():
                data = p.read_bytes()
                if len(data) > limit:
                    data = b"[... cut ...]\n" + data[-limit:]
                out.append(f"--- {p.name} ---\n" + data.decode("utf-8", "replace"))
        return "\n".join(out)

    # --- CLI --------------------------------------------------------------------------
    def cli(self, *args: str, input: str | None = None, timeout: float = 60.0
            ) -> subprocess.CompletedProcess:
        r = subprocess.run([str(self.binary), *args], env=self.process_env(), cwd=self.root,
                           input=input, capture_output=True, text=True, timeout=timeout,
                           stdin=None if input is not None else subprocess.DEVNULL)
        with open(self.cli_log_path, "a") as f:
            f.write(f"$ ftpgate {' '.join(args)}  -> exit {r.returncode}\n")
            if r.stdout:
                f.write("  stdout: " + r.stdout.replace("\n", "\n          ") + "\n")
            if r.stderr:
                f.write("  stderr: " + r.stderr.replace("\n", "\n          ") + "\n")
        return r

    def cli_ok(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
        r = self.cli(*args, input=input)
        if r.returncode != 0:
            raise GatewayError(f"`ftpgate {' '.join(args)}` failed with {r.returncode}: "
                               f"{r.stderr.strip()}")
        return r

    def add_photographer(self, user: str, password: str | None = None) -> str:
        """With a password: ``--password-stdin`` (sent with a newline, as `echo` does).
        Without: the generated one, the last non-empty stdout line."""
        if password is None:
            r = self.cli_ok("photographer", "add", user)
            lines = [ln.strip() for ln in r.stdout.splitlines() if ln.strip()]
            assert lines, f"`photographer add {user}` printed no password"
            return lines[-1]
        self.cli_ok("photographer", "add", user, "--password-stdin", input=password + "\n")
        return password

    def add_event(self, event: str, name: str | None = None) -> None:
        self.cli_ok("event", "add", event, *(["--name", name] if name else []))
        self.known_events.add(event)

    def close_event(self, event: str) -> None:
        self.cli_ok("event", "close", event)

    def grant(self, user: str, event: str, role: str = "uploader") -> None:
        self.cli_ok("grant", "add", user, event, "--role", role)

    # --- HTTP -------------------------------------------------------------------------
    def http(self, method: str, path: str, headers: list[tuple[str, str]] | None = None,
             body: bytes | None = None) -> Response:
        conn = GoConnection("127.0.0.1", self.port)
        try:
            return conn.request(method, path, headers or [], body)
        finally:
            conn.close()

    _DEFAULT = object()

    def auth(self, user: str, password: str, ip: str = "10.0.0.1", protocol: str = "FTP", *,
             token=_DEFAULT, public_key: str = "", keyboard_interactive: str = "",
             tls_cert: str = "", stored_user: dict | None = None,
             body: bytes | None = None) -> Response:
        """POST /ftp/auth exactly as SFTPGo's ``getExternalAuthResponse`` (CONTRACT §3.2):
        JSON with sorted keys, ``user`` only when SFTPGo has the account stored, and the
        hook token as an ``http.headers`` entry when the gateway is configured with one."""
        if body is None:
            req = {"username": user, "ip": ip, "password": password, "public_key": public_key,
                   "protocol": protocol, "keyboard_interactive": keyboard_interactive,
                   "tls_cert": tls_cert}
            if stored_user is not None:
                req["user"] = stored_user
            body = go_json(req)
        headers = [("Content-Type", "application/json")]
        tok = self.hook_token if token is self._DEFAULT else token
        if tok is not None:
            headers.append((HOOK_TOKEN_HEADER, tok))
        return self.http("POST", "/ftp/auth", headers, body)

    def client_from_auth(self, resp: Response) -> HttpFsClient:
        assert resp.status == 200, f"/ftp/auth: expected 200, got {resp!r}"
        hc = resp.json()["filesystem"]["httpconfig"]
        pw = hc.get("password") or {}
        client = HttpFsClient(hc["endpoint"], hc["api_key"]["payload"],
                              username=hc.get("username") or "",
                              password=pw.get("payload", "") if isinstance(pw, dict) else "")
        self._clients.append(client)
        return client

    def login(self, user: str, password: str) -> HttpFsClient:
        return self.client_from_auth(self.auth(user, password))

    def photographer(self, user: str, events: dict[str, str] | list[str] = (),
                     password: str | None = None) -> HttpFsClient:
        """Add a photographer, grant them ``events`` ({event: role} or a list of uploader
        events; missing events are created) and log them in."""
        password = self.add_photographer(user, password or secrets.token_urlsafe(12))
        roles = events if isinstance(events, dict) else {e: "uploader" for e in events}
        for ev, role in roles.items():
            if ev not in self.known_events:
                self.add_event(ev)
            self.grant(user, ev, role)
        return self.login(user, password)

    # --- the data dir -----------------------------------------------------------------
    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    def blob_files(self) -> set[str]:
        """Regular files under DATA_DIR/blobs (relative paths), or with S3 blobs the objects
        under this gateway's prefix plus any incomplete multipart upload in the bucket."""
        if self.s3:
            bucket_dir = f"/buckets/{self.s3['bucket']}"
            objects = _filer_files(self.s3["filer"], f"{bucket_dir}/{self.s3_prefix}")
            pending = _filer_files(self.s3["filer"], f"{bucket_dir}/.uploads")
            return ({p[len(bucket_dir) + len(self.s3_prefix) + 2:] for p in objects}
                    | {"incomplete multipart: " + p for p in pending})
        if not self.blob_dir.exists():
            return set()
        return {str(p.relative_to(self.blob_dir)) for p in self.blob_dir.rglob("*")
                if p.is_file() or p.is_symlink()}

    def other_files(self) -> set[str]:
        """Files under DATA_DIR outside blobs/ that are not SQLite's own files."""
        out = set()
        for p in self.data_dir.rglob("*"):
            rel = p.relative_to(self.data_dir)
            if rel.parts and rel.parts[0] == "blobs":
                continue
            if (p.is_file() or p.is_symlink()) and not SQLITE_FILE.fullmatch(p.name):
                out.add(str(rel))
        return out
