"""`ftpgate sftpgo-config` against SFTPGo's real configuration keys, and the compose deployment
that uses its output (deploy/compose/): the committed sftpgo.env and sftpgo-loaddata.json must
be exactly what deploy/compose/generate writes now, and docker-compose.yml must pass
`docker-compose config` (Debian package `docker-compose`; skipped when it is missing, except
with CI=true).

The key lists below are SFTPGo v2.7.5's (tag v2.7.5, commit 9888a3d1; the keys used here are
the same in v2.7.3), read from its source:
- SFTPGO_KEYS: every leaf of `sftpgo.json` in the sections ftpgate touches, with the JSON type
  of its default; `http.headers[]` fields from `internal/httpclient/httpclient.go` (Header),
  `http.certificates[]` from its TLSKeyPair. Every non-list key there also has a
  `viper.SetDefault` in `internal/config/config.go` (except common.startup_hook), so viper's
  AutomaticEnv reads it as SFTPGO_<SECTION>__<KEY> ("." -> "__", config.go line 486).
- ENV_LIST_FIELDS: the fields SFTPGo reads from indexed variables for lists of objects
  (`loadBindingsFromEnv`, indices 0-9: getFTPDBindingFromEnv, getFTPDBindingSecurityFromEnv,
  getSFTPDBindindFromEnv, getHTTPClientHeadersFromEnv).
- PROCESS_ENV: settings SFTPGo reads only from its environment or command line
  (`internal/cmd/root.go`: SFTPGO_LOADDATA_FROM, SFTPGO_LOADDATA_MODE, SFTPGO_GRACE_TIME).
Lists of strings are one comma-separated variable (viper's string-slice decoding; SFTPGo's own
test config_test.go TestSSHCommandsFromEnv sets SFTPGO_SFTPD__ENABLED_SSH_COMMANDS="cd,scp").
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from harness import gateway as gw_mod

CI = os.environ.get("CI", "").lower() == "true"
ROOT = Path(__file__).resolve().parents[2]
COMPOSE_DIR = ROOT / "deploy" / "compose"

SFTPGO_KEYS: dict[str, str] = {
    "acme.ca_endpoint": "str",
    "acme.certs_path": "str",
    "acme.domains": "list",
    "acme.email": "str",
    "acme.http01_challenge.port": "int",
    "acme.http01_challenge.proxy_header": "str",
    "acme.http01_challenge.webroot": "str",
    "acme.key_type": "str",
    "acme.renew_days": "int",
    "acme.tls_alpn01_challenge.port": "int",
    "common.actions.execute_on": "list",
    "common.actions.execute_sync": "list",
    "common.actions.hook": "str",
    "common.allow_self_connections": "int",
    "common.allowlist_status": "int",
    "common.defender.ban_time": "int",
    "common.defender.ban_time_increment": "int",
    "common.defender.driver": "str",
    "common.defender.enabled": "bool",
    "common.defender.entries_hard_limit": "int",
    "common.defender.entries_soft_limit": "int",
    "common.defender.login_delay.password_failed": "int",
    "common.defender.login_delay.success": "int",
    "common.defender.observation_time": "int",
    "common.defender.score_invalid": "int",
    "common.defender.score_limit_exceeded": "int",
    "common.defender.score_no_auth": "int",
    "common.defender.score_valid": "int",
    "common.defender.threshold": "int",
    "common.event_manager.enabled_commands": "list",
    "common.idle_timeout": "int",
    "common.max_per_host_connections": "int",
    "common.max_total_connections": "int",
    "common.metadata.read": "int",
    "common.post_connect_hook": "str",
    "common.post_disconnect_hook": "str",
    "common.proxy_allowed": "list",
    "common.proxy_protocol": "int",
    "common.proxy_skipped": "list",
    "common.rate_limiters[].average": "int",
    "common.rate_limiters[].burst": "int",
    "common.rate_limiters[].entries_hard_limit": "int",
    "common.rate_limiters[].entries_soft_limit": "int",
    "common.rate_limiters[].generate_defender_events": "bool",
    "common.rate_limiters[].period": "int",
    "common.rate_limiters[].protocols": "list",
    "common.rate_limiters[].type": "int",
    "common.rename_mode": "int",
    "common.resume_max_size": "int",
    "common.secret_min_entropy": "int",
    "common.server_version": "str",
    "common.setstat_mode": "int",
    "common.startup_hook": "str",
    "common.symlink_mode": "int",
    "common.temp_path": "str",
    "common.tz": "str",
    "common.umask": "str",
    "common.upload_mode": "int",
    "data_provider.actions.execute_for": "list",
    "data_provider.actions.execute_on": "list",
    "data_provider.actions.hook": "str",
    "data_provider.backups_path": "str",
    "data_provider.check_password_hook": "str",
    "data_provider.check_password_scope": "int",
    "data_provider.client_cert": "str",
    "data_provider.client_key": "str",
    "data_provider.connection_string": "str",
    "data_provider.create_default_admin": "bool",
    "data_provider.delayed_quota_update": "int",
    "data_provider.disable_sni": "bool",
    "data_provider.driver": "str",
    "data_provider.external_auth_hook": "str",
    "data_provider.external_auth_scope": "int",
    "data_provider.host": "str",
    "data_provider.is_shared": "int",
    "data_provider.name": "str",
    "data_provider.naming_rules": "int",
    "data_provider.node.host": "str",
    "data_provider.node.port": "int",
    "data_provider.node.proto": "str",
    "data_provider.password": "str",
    "data_provider.password_caching": "bool",
    "data_provider.password_hashing.algo": "str",
    "data_provider.password_hashing.argon2_options.iterations": "int",
    "data_provider.password_hashing.argon2_options.memory": "int",
    "data_provider.password_hashing.argon2_options.parallelism": "int",
    "data_provider.password_hashing.bcrypt_options.cost": "int",
    "data_provider.password_validation.admins.min_entropy": "int",
    "data_provider.password_validation.users.min_entropy": "int",
    "data_provider.pool_size": "int",
    "data_provider.port": "int",
    "data_provider.post_login_hook": "str",
    "data_provider.post_login_scope": "int",
    "data_provider.pre_login_hook": "str",
    "data_provider.root_cert": "str",
    "data_provider.sql_tables_prefix": "str",
    "data_provider.sslmode": "int",
    "data_provider.target_session_attrs": "str",
    "data_provider.track_quota": "int",
    "data_provider.update_mode": "int",
    "data_provider.username": "str",
    "data_provider.users_base_dir": "str",
    "ftpd.active_transfers_port_non_20": "bool",
    "ftpd.banner_file": "str",
    "ftpd.bindings[].active_connections_security": "int",
    "ftpd.bindings[].address": "str",
    "ftpd.bindings[].apply_proxy_config": "bool",
    "ftpd.bindings[].certificate_file": "str",
    "ftpd.bindings[].certificate_key_file": "str",
    "ftpd.bindings[].client_auth_type": "int",
    "ftpd.bindings[].debug": "bool",
    "ftpd.bindings[].force_passive_ip": "str",
    "ftpd.bindings[].min_tls_version": "int",
    "ftpd.bindings[].passive_connections_security": "int",
    "ftpd.bindings[].passive_host": "str",
    "ftpd.bindings[].passive_ip_overrides": "list",
    "ftpd.bindings[].port": "int",
    "ftpd.bindings[].tls_cipher_suites": "list",
    "ftpd.bindings[].tls_mode": "int",
    "ftpd.ca_certificates": "list",
    "ftpd.ca_revocation_lists": "list",
    "ftpd.certificate_file": "str",
    "ftpd.certificate_key_file": "str",
    "ftpd.combine_support": "int",
    "ftpd.disable_active_mode": "bool",
    "ftpd.enable_site": "bool",
    "ftpd.hash_support": "int",
    "ftpd.passive_port_range.end": "int",
    "ftpd.passive_port_range.start": "int",
    "http.ca_certificates": "list",
    "http.certificates[].cert": "str",
    "http.certificates[].key": "str",
    "http.headers[].key": "str",
    "http.headers[].url": "str",
    "http.headers[].value": "str",
    "http.retry_max": "int",
    "http.retry_wait_max": "int",
    "http.retry_wait_min": "int",
    "http.skip_tls_verify": "bool",
    "http.timeout": "int",
    "sftpd.bindings[].address": "str",
    "sftpd.bindings[].apply_proxy_config": "bool",
    "sftpd.bindings[].port": "int",
    "sftpd.ciphers": "list",
    "sftpd.enabled_ssh_commands": "list",
    "sftpd.host_certificates": "list",
    "sftpd.host_key_algorithms": "list",
    "sftpd.host_keys": "list",
    "sftpd.kex_algorithms": "list",
    "sftpd.keyboard_interactive_auth_hook": "str",
    "sftpd.keyboard_interactive_authentication": "bool",
    "sftpd.login_banner_file": "str",
    "sftpd.macs": "list",
    "sftpd.max_auth_tries": "int",
    "sftpd.opkssh_checksum": "str",
    "sftpd.opkssh_path": "str",
    "sftpd.password_authentication": "bool",
    "sftpd.public_key_algorithms": "list",
    "sftpd.revoked_user_certs_file": "str",
    "sftpd.trusted_user_ca_keys": "list",
}

ENV_LIST_FIELDS: dict[str, set[str]] = {
    "SFTPGO_FTPD__BINDINGS": {
        "PORT", "ADDRESS", "APPLY_PROXY_CONFIG", "FORCE_PASSIVE_IP", "PASSIVE_HOST", "DEBUG",
        "CERTIFICATE_FILE", "CERTIFICATE_KEY_FILE", "TLS_MODE", "MIN_TLS_VERSION",
        "TLS_CIPHER_SUITES", "CLIENT_AUTH_TYPE", "PASSIVE_CONNECTIONS_SECURITY",
        "ACTIVE_CONNECTIONS_SECURITY",
    },
    "SFTPGO_SFTPD__BINDINGS": {"PORT", "ADDRESS", "APPLY_PROXY_CONFIG"},
    "SFTPGO_HTTP__HEADERS": {"KEY", "VALUE", "URL"},
}

PROCESS_ENV = {"SFTPGO_LOADDATA_FROM", "SFTPGO_LOADDATA_MODE", "SFTPGO_GRACE_TIME"}

TOKEN = "hook-token-0123456789abcdef"


def _skip_or_fail(reason: str):
    if CI:
        pytest.fail(reason + " (CI=true: not skipping)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def binary() -> Path:
    b = gw_mod.gateway_bin()
    if not b.exists():
        _skip_or_fail(f"ftpgate binary not found at {b}; run `cargo build` or set FTPGATE_BIN")
    return b


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """No FTPGATE_* from the test run (FTPGATE_BIN would be read as a config key)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/")}
    env.update(extra or {})
    return env


def run(binary: Path, *args: str, env: dict[str, str] | None = None,
        check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run([str(binary), "sftpgo-config", *args], env=clean_env(env),
                       capture_output=True, text=True, timeout=60)
    if check:
        assert r.returncode == 0, f"sftpgo-config {args}: {r.stderr}"
    return r


def sftpgo_json(binary: Path, *args: str, env: dict[str, str] | None = None) -> dict:
    return json.loads(run(binary, "--format", "json", *args, env=env).stdout)


def sftpgo_env(binary: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, str]:
    return parse_env(run(binary, "--format", "env", *args, env=env).stdout)


def parse_env(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        k, sep, v = line.partition("=")
        assert sep and re.fullmatch(r"SFTPGO_[A-Z0-9_]+", k), f"not an env line: {line!r}"
        assert k not in out, f"{k} twice"
        out[k] = v
    return out


def leaves(v, prefix: str = ""):
    """(path, value) of every setting; lists of objects as `key[]`."""
    if isinstance(v, dict):
        for k, x in v.items():
            yield from leaves(x, f"{prefix}.{k}" if prefix else k)
    elif isinstance(v, list) and v and all(isinstance(i, dict) for i in v):
        for i in v:
            yield from leaves(i, prefix + "[]")
    else:
        yield prefix, v


def json_type(v) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "str"
    if isinstance(v, list):
        return "list"
    return type(v).__name__


def expected_env(fragment: dict) -> dict[str, str]:
    """SFTPGo's reading rules, written independently of the Rust code."""
    out: dict[str, str] = {}

    def walk(name: str, v):
        if isinstance(v, dict):
            for k, x in v.items():
                walk(f"{name}__{k.upper()}", x)
        elif isinstance(v, list):
            if v and all(isinstance(i, dict) for i in v):
                for i, x in enumerate(v):
                    walk(f"{name}__{i}", x)
            elif v:
                out[name] = ",".join(str(x) for x in v)
        elif isinstance(v, bool):
            out[name] = "true" if v else "false"
        elif v is not None:
            out[name] = str(v)

    for section, v in fragment.items():
        walk(f"SFTPGO_{section.upper()}", v)
    return out


# Configurations covering every branch of the generator.
FULL_ENV = {
    "FTPGATE_AUTH_HOOK__TOKEN": TOKEN,
    "FTPGATE_HTTP__PUBLIC_URL": "https://gw.internal:8443",
    "FTPGATE_FTP__PASSIVE_HOST": "198.51.100.20",
    "FTPGATE_FTP__PASSIVE_PORTS": "50000-50099",
    "FTPGATE_FTP__REQUIRE_TLS": "true",
    "FTPGATE_LOCKOUT__SAFE_IPS": "[203.0.113.7, 192.0.2.0/28]",
    "FTPGATE_SFTPGO__HOME_DIR_BASE": "/srv/sftpgo/data/ftpgate",
}
FULL_ARGS = ("--acme-domain", "ftp.example.com", "--acme-email", "ops@example.com",
             "--proxy-allowed", "10.0.0.0/8,192.168.1.5", "--defender-driver", "provider",
             "--loaddata-file", "/etc/sftpgo/ftpgate-loaddata.json", "--max-per-host", "300")
CASES = {
    "defaults": ((), {}),
    "full": (FULL_ARGS, FULL_ENV),
    "certificate-files": (("--cert-file", "/etc/ssl/ftp.pem", "--key-file", "/etc/ssl/ftp.key",
                           "--passive-ip", "ftp.example.com", "--tls", "implicit"), {}),
    "tls-off-ssh-allowed": (("--tls", "off", "--no-secrets"),
                            {"FTPGATE_SFTPGO__ALLOWED_PROTOCOLS": "[FTP, SSH]"}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_json_key_is_an_sftpgo_key_of_the_right_type(binary, case):
    args, env = CASES[case]
    frag = sftpgo_json(binary, *args, env=env)
    paths = list(leaves(frag))
    assert paths
    for path, value in paths:
        assert path in SFTPGO_KEYS, f"{path} is not an SFTPGo 2.7 configuration key"
        assert json_type(value) == SFTPGO_KEYS[path], \
            f"{path}: {value!r} is a {json_type(value)}, SFTPGo expects a {SFTPGO_KEYS[path]}"


@pytest.mark.parametrize("case", list(CASES))
def test_env_output_is_the_json_in_sftpgo_env_form(binary, case):
    args, env = CASES[case]
    frag = sftpgo_json(binary, *args, env=env)
    got = sftpgo_env(binary, *args, env=env)
    want = expected_env(frag)
    process = {k: v for k, v in got.items() if k in PROCESS_ENV}
    assert {k: v for k, v in got.items() if k not in PROCESS_ENV} == want
    assert process["SFTPGO_GRACE_TIME"] == "30"
    for name in got:
        m = re.fullmatch(r"(SFTPGO_[A-Z_]+?)__(\d)__([A-Z_]+)", name)
        if m:
            assert m.group(1) in ENV_LIST_FIELDS, f"{name}: SFTPGo reads no such list"
            assert m.group(3) in ENV_LIST_FIELDS[m.group(1)], f"{name}: field not read by SFTPGo"
        elif name not in PROCESS_ENV:
            path = name.removeprefix("SFTPGO_").lower().replace("__", ".")
            assert path in SFTPGO_KEYS, f"{name} does not name an SFTPGo key"
    # the text format carries both, with the same values
    text = run(binary, *args, env=env).stdout
    for k, v in got.items():
        assert f"\n{k}={v}\n" in text


def test_the_settings_ftpgate_needs(binary):
    frag = sftpgo_json(binary, *FULL_ARGS, env=FULL_ENV)
    hook = "https://gw.internal:8443/ftp/auth"
    dp = frag["data_provider"]
    assert dp["external_auth_hook"] == hook
    assert dp["external_auth_scope"] == 1
    assert dp["users_base_dir"] == "/srv/sftpgo/data/ftpgate"
    assert frag["http"]["headers"] == [{"key": "X-Ftpgate-Hook-Token", "value": TOKEN, "url": hook}]
    common = frag["common"]
    assert common["setstat_mode"] == 2
    assert common["max_per_host_connections"] == 300
    assert common["proxy_protocol"] == 2
    assert common["proxy_allowed"] == ["10.0.0.0/8", "192.168.1.5/32"]
    d = common["defender"]
    assert d["enabled"] is True and d["driver"] == "provider"
    for k in ("score_invalid", "score_valid", "score_limit_exceeded", "score_no_auth"):
        assert d[k] < d["threshold"], k  # defender.go validate()
    ftpd = frag["ftpd"]
    (b,) = ftpd["bindings"]
    assert b["port"] == 21 and b["tls_mode"] == 1 and b["force_passive_ip"] == "198.51.100.20"
    assert b["apply_proxy_config"] is True
    assert ftpd["passive_port_range"] == {"start": 50000, "end": 50099}
    assert ftpd["certificate_file"] == "/var/lib/sftpgo/certs/ftp.example.com.crt"
    assert ftpd["certificate_key_file"] == "/var/lib/sftpgo/certs/ftp.example.com.key"
    assert frag["acme"]["domains"] == ["ftp.example.com"]
    assert frag["sftpd"] == {"bindings": [{"port": 0}]}
    env = sftpgo_env(binary, *FULL_ARGS, env=FULL_ENV)
    assert env["SFTPGO_LOADDATA_FROM"] == "/etc/sftpgo/ftpgate-loaddata.json"
    assert env["SFTPGO_COMMON__PROXY_ALLOWED"] == "10.0.0.0/8,192.168.1.5/32"


def test_safe_ips_become_the_defender_safe_list(binary):
    data = json.loads(run(binary, "--format", "loaddata", env=FULL_ENV).stdout)
    assert data["version"] == 17
    assert data["ip_lists"] == [
        {"ipornet": "203.0.113.7/32", "description": "ftpgate lockout.safe_ips",
         "type": 2, "mode": 1, "protocols": 0},
        {"ipornet": "192.0.2.0/28", "description": "ftpgate lockout.safe_ips",
         "type": 2, "mode": 1, "protocols": 0},
    ]


def test_no_secrets_keeps_the_token_out(binary):
    for fmt in ("text", "json", "env"):
        out = run(binary, "--format", fmt, "--no-secrets", env=FULL_ENV).stdout
        assert TOKEN not in out, fmt
    env = sftpgo_env(binary, "--no-secrets", env=FULL_ENV)
    assert env["SFTPGO_HTTP__HEADERS__0__KEY"] == "X-Ftpgate-Hook-Token"
    assert "SFTPGO_HTTP__HEADERS__0__VALUE" not in env


@pytest.mark.parametrize("args,env", [
    (("--passive-ip", "2001:db8::1"), {}),
    (("--passive-ports", "50000-50000"), {}),
    (("--acme-domain", "not a name", "--acme-email", "a@b.c"), {}),
    (("--format", "env"), {"FTPGATE_AUTH_HOOK__TOKEN": "has$dollar"}),
], ids=["ipv6-passive", "one-passive-port", "bad-acme-domain", "env-unsafe-token"])
def test_refused_settings_fail_with_one_line(binary, args, env):
    r = run(binary, *args, env=env, check=False)
    assert r.returncode != 0
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), r.stderr


# --- the compose deployment ------------------------------------------------------------------

def test_committed_compose_files_are_what_generate_writes(binary, tmp_path):
    r = subprocess.run([str(COMPOSE_DIR / "generate"), str(tmp_path)],
                       env=clean_env({"FTPGATE_BIN": str(binary)}),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    for name in ("sftpgo.env", "sftpgo-loaddata.json"):
        fresh = (tmp_path / name).read_text()
        committed = (COMPOSE_DIR / name).read_text()
        assert committed == fresh, (f"deploy/compose/{name} is stale: run deploy/compose/generate "
                                    "and commit the result")


def test_compose_file_agrees_with_ftpgate_toml():
    toml = tomllib.loads((COMPOSE_DIR / "ftpgate.toml").read_text())
    compose = (COMPOSE_DIR / "docker-compose.yml").read_text()
    env = parse_env((COMPOSE_DIR / "sftpgo.env").read_text())
    start, end = toml["ftp"]["passive_ports"].split("-")
    assert f'"{start}-{end}:{start}-{end}"' in compose, "publish the whole passive range 1:1"
    port = env["SFTPGO_FTPD__BINDINGS__0__PORT"]
    assert f'"21:{port}"' in compose
    assert env["SFTPGO_FTPD__BINDINGS__0__FORCE_PASSIVE_IP"] == toml["ftp"]["passive_host"]
    assert env["SFTPGO_DATA_PROVIDER__USERS_BASE_DIR"] == toml["sftpgo"]["home_dir_base"]
    assert toml["sftpgo"]["home_dir_base"].startswith("/srv/sftpgo/data/")
    assert "sftpgo-home:/srv/sftpgo/data" in compose, "home_dir on a writable volume"
    assert env["SFTPGO_DATA_PROVIDER__EXTERNAL_AUTH_HOOK"] == toml["http"]["public_url"] + "/ftp/auth"
    assert "SFTPGO_HTTP__HEADERS__0__VALUE: ${FTPGATE_HOOK_TOKEN" in compose
    assert "FTPGATE_AUTH_HOOK__TOKEN: ${FTPGATE_HOOK_TOKEN" in compose
    assert "./sftpgo-loaddata.json:" + env["SFTPGO_LOADDATA_FROM"] + ":ro" in compose
    assert int(env["SFTPGO_COMMON__MAX_PER_HOST_CONNECTIONS"]) >= 100
    # ftpgate's settings that SFTPGo's copy is made from must come from ftpgate.toml only
    for line in compose.splitlines():
        if line.strip().startswith("#"):
            continue
        assert not re.search(r"FTPGATE_(HTTP|SFTPGO|FTP|LOCKOUT)__", line), line
    image = re.search(r"drakkan/sftpgo:v(\d+)\.(\d+)\.(\d+)", compose)
    assert image and (int(image[1]), int(image[2])) == (2, 7) and int(image[3]) >= 3


def test_dockerfile_and_dockerignore():
    df = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM rust:\S+ AS build$", df, re.M)
    assert re.search(r"^FROM debian:bookworm-slim$", df, re.M)
    assert re.search(r"^USER ftpgate", df, re.M)
    assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", df, re.M)
    assert 'ENTRYPOINT ["/usr/local/bin/ftpgate"]' in df and 'CMD ["serve"]' in df
    ignored = [ln.strip() for ln in (ROOT / ".dockerignore").read_text().splitlines()
               if ln.strip() and not ln.lstrip().startswith("#")]
    for must in ("target/", ".venv/"):
        assert must in ignored
    for needed in ("src", "migrations", "Cargo.toml", "Cargo.lock"):
        assert not any(i.rstrip("/") == needed for i in ignored), needed


@pytest.fixture(scope="module")
def docker_compose() -> str:
    exe = shutil.which("docker-compose")
    if not exe:
        _skip_or_fail("docker-compose is not installed (Debian package docker-compose)")
    return exe


def compose_config(exe: str, env_file: Path | None):
    args = [exe]
    if env_file is not None:
        args += ["--env-file", str(env_file)]
    args += ["-f", str(COMPOSE_DIR / "docker-compose.yml"), "config"]
    # --env-file replaces deploy/compose/.env, so a local .env does not change the result
    return subprocess.run(args, cwd=COMPOSE_DIR, env=clean_env(), capture_output=True,
                          text=True, timeout=120)


def test_docker_compose_config_accepts_the_compose_file(docker_compose, tmp_path):
    env_file = tmp_path / "trial.env"
    env_file.write_text((COMPOSE_DIR / "env.example").read_text())
    r = compose_config(docker_compose, env_file)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    for svc in ("postgres", "s3", "s3-init", "ftpgate", "tls-init", "sftpgo"):
        assert re.search(rf"^  {re.escape(svc)}:$", out, re.M), svc
    # sftpgo.env reached the sftpgo service, and the token came from the env file
    for k in parse_env((COMPOSE_DIR / "sftpgo.env").read_text()):
        assert f"{k}:" in out, k
    assert "SFTPGO_HTTP__HEADERS__0__VALUE: change-me-hook-token" in out


def test_docker_compose_config_needs_the_secrets(docker_compose, tmp_path):
    empty = tmp_path / "empty.env"
    empty.write_text("")
    r = compose_config(docker_compose, empty)
    assert r.returncode != 0
    assert "in .env" in r.stderr
