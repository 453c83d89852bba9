"""PostgreSQL: single transfers over HTTP with 8 concurrent clients on a fresh
database, against pgbench's default TPC-B-like script at the same concurrency
on the same server (its own scratch database). Both databases are dropped."""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

from . import loadgen
from .common import Result, log, not_measured, ratio_target, scaled, seconds
from .server import gunicorn
from .web import _describe, _ms, app_env, single_transfers
from .world import build

CLIENTS = 8
# Sync workers wait on PostgreSQL's commits: more of them than cores keeps the
# cores busy (ECNY_BENCH_PG_WORKERS to try others).
WORKERS = int(os.environ.get("ECNY_BENCH_PG_WORKERS", "4"))
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def server_url() -> str:
    return (
        os.environ.get("ECNY_BENCH_POSTGRES_URL")
        or os.environ.get("ECNY_TEST_POSTGRES_URL")
        or DEFAULT_URL
    )


def pgbench_path() -> str | None:
    found = shutil.which("pgbench")
    if found:
        return found
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"))
    return candidates[-1] if candidates else None


@contextlib.contextmanager
def scratch_database(prefix: str) -> Iterator[sa.engine.URL]:
    url = sa.engine.make_url(server_url())
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _pgbench(url: sa.engine.URL, duration: float) -> tuple[float, str]:
    exe = pgbench_path()
    args = [
        "-h",
        url.host or "127.0.0.1",
        "-p",
        str(url.port or 5432),
        "-U",
        url.username or "postgres",
    ]
    env = {**os.environ, **({"PGPASSWORD": url.password} if url.password else {})}
    # Scale = clients, as pgbench's documentation advises (fewer rows than
    # clients would make them queue on the branches' rows).
    subprocess.run(
        [exe, "-i", "-q", "-s", str(CLIENTS), *args, url.database],
        check=True,
        env=env,
        capture_output=True,
    )
    out = subprocess.run(
        [exe, "-c", str(CLIENTS), "-j", "2", "-T", str(int(duration)), *args, url.database],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    ).stdout
    tps = float(re.search(r"tps = ([0-9.]+)", out).group(1))
    return tps, out


def _reachable() -> str | None:
    try:
        engine = sa.create_engine(server_url(), poolclass=sa.pool.NullPool)
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return f"PostgreSQL unreachable at {server_url()}: {type(exc).__name__}"
    return None


def run(workdir: Path) -> list[Result]:
    name, unit = "http_single_postgres", "transfers/s"
    why = _reachable()
    if why:
        return [not_measured(name, unit, f"not measured: {why}")]
    if pgbench_path() is None:
        return [not_measured(name, unit, "not measured: pgbench not found")]
    duration = seconds(20)
    wallets = scaled(3000, 300)
    with scratch_database("ecny_bench") as url:
        log(f"postgres: building {wallets} wallets in {url.database}")
        world = build(url.render_as_string(hide_password=False), wallets, with_keys=True)
        log(f"postgres: sandbox, {WORKERS} gunicorn workers, {CLIENTS} clients, {duration:.0f} s")
        with gunicorn("wsgi:app", WORKERS, app_env(world, workdir)) as port:
            ours = loadgen.run(
                port, single_transfers(world, "pg"), clients=CLIENTS, seconds=duration
            )
    log(f"postgres: {ours.rate:,.0f} transfers/s, p99 {_ms(ours.percentile(99))} ms; pgbench")
    with scratch_database("ecny_pgbench") as url:
        tps, _ = _pgbench(url, duration)
    return [
        ratio_target(
            Result(
                name,
                ours.rate,
                unit,
                tps,
                f"pgbench TPC-B-like, {CLIENTS} clients, scale {CLIENTS}, same server",
                notes=f"gunicorn {WORKERS} workers, {CLIENTS} clients, {duration:.0f} s; "
                f"p99 {_ms(ours.percentile(99))} ms",
                extra={"sandbox": _describe(ours), "pgbench_tps": tps},
            ),
            0.50,
        )
    ]
