"""Fixtures for ftpgate's integration tests.

* ``gateway``: a started ``ftpgate serve`` (fresh data dir, random port, no FTP listener),
  parametrised over the catalog backend: ids ``sqlite`` and ``postgres`` (a fresh database
  per test, dropped afterwards). Extra settings per test with
  ``@pytest.mark.gateway_env(FTPGATE_...="...")``.
* ``gateway_factory``: start more gateways (or ones with other settings) in one test.

The classes live in ``harness/``: ``Gateway`` (process, CLI, /ftp/auth), ``HttpFsClient``
(one method per SFTPGo HTTPFs call, Go's wire format) and the Go escapers.

Environment:
  FTPGATE_BIN            the binary (default: target/debug/ftpgate)
  FTPGATE_TEST_BACKENDS  comma list of backends to run (default: sqlite,postgres)
  CI=true                a missing binary or an unreachable PostgreSQL fails instead of skipping
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness import gateway as gw_mod
from harness.gateway import Gateway

CI = os.environ.get("CI", "").lower() == "true"
S3 = gw_mod.s3_settings()
# "sqlite-s3": the SQLite catalog with blobs in the S3 test server (SeaweedFS, started by
# scripts/test), so the whole suite also runs against a real S3 API.
_DEFAULT_BACKENDS = "sqlite,postgres,sqlite-s3" if S3 else "sqlite,postgres"
BACKENDS = [b.strip() for b in os.environ.get("FTPGATE_TEST_BACKENDS", _DEFAULT_BACKENDS).split(",")
            if b.strip()]


def _skip_or_fail(reason: str):
    if CI:
        pytest.fail(reason + " (CI=true: not skipping)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_problem() -> str | None:
    return gw_mod.postgres_problem()


@pytest.fixture(params=BACKENDS, ids=BACKENDS)
def catalog(request, postgres_problem):
    """(backend id, FTPGATE_CATALOG__URL or None). For postgres: a fresh database."""
    backend = request.param
    if backend == "sqlite":
        yield backend, None
        return
    if backend == "sqlite-s3":
        if not S3:
            _skip_or_fail("no S3 test server (FTPGATE_TEST_S3_ENDPOINT unset; scripts/test starts one)")
        yield backend, None
        return
    if backend != "postgres":
        raise ValueError(f"unknown backend {backend!r} in FTPGATE_TEST_BACKENDS")
    if postgres_problem:
        _skip_or_fail(postgres_problem)
    name = gw_mod.create_database()
    try:
        yield backend, gw_mod.postgres_url(name)
    finally:
        gw_mod.drop_database(name)


@pytest.fixture
def gateway_factory(request, tmp_path: Path, catalog):
    """``make(env=None, start=True, catalog_url=<this test's>)`` -> Gateway."""
    binary = gw_mod.gateway_bin()
    if not binary.exists():
        _skip_or_fail(f"ftpgate binary not found at {binary}; run `cargo build` or set FTPGATE_BIN")
    backend, url = catalog
    made: list[Gateway] = []
    request.node._ftpgate_gateways = made

    def make(env: dict[str, str] | None = None, *, start: bool = True,
             catalog_url: str | None = url) -> Gateway:
        s3 = S3 if backend.endswith("-s3") else None
        g = Gateway(tmp_path / f"gw{len(made)}", backend=backend, catalog_url=catalog_url,
                    env=env, binary=binary, s3=s3)
        made.append(g)
        return g.start() if start else g

    yield make

    crashed = []
    for g in made:
        code = g.crashed()
        if code is not None:
            crashed.append((g, code))
        g.stop()
    if crashed:
        g, code = crashed[0]
        pytest.fail(f"ftpgate serve exited on its own during the test (code {code})\n"
                    f"{g.log_tail()}", pytrace=False)


@pytest.fixture
def gateway(request, gateway_factory) -> Gateway:
    marker = request.node.get_closest_marker("gateway_env")
    env = dict(marker.kwargs) if marker else {}
    return gateway_factory(env)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, attach each gateway's log (and the CLI transcript) to the report."""
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for i, g in enumerate(getattr(item, "_ftpgate_gateways", [])):
            rep.sections.append((f"ftpgate log (gateway {i}, {g.backend}, {g.listen})",
                                 g.log_tail()))


@pytest.fixture
def alice(gateway):
    """Photographer `alice`, uploader on `event-a`, logged in (an HttpFsClient)."""
    return gateway.photographer("alice", ["event-a"])
