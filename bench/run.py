"""`make bench`: run every benchmark, print a table, write bench/results.json.

    python -m bench.run [--only core,http,postgres,scenario,audit]

ECNY_BENCH_SCALE scales every size and duration (0.1 for a quick run).
docs/performance.md describes the method and the figures."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import tempfile
import time
import traceback
from pathlib import Path

import sqlalchemy as sa

from . import audit, core, pg, scenario, web
from .common import SCALE, Result, not_measured

RESULTS = Path(__file__).with_name("results.json")


SUITES = {
    "core": core.run,
    "http": web.run,
    "postgres": pg.run,
    "scenario": scenario.run,
    "audit": audit.run,
}


def machine() -> dict:
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    info = {
        "nproc": os.cpu_count(),
        "memory_gib": round(mem_kib / 2**20, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": sa.__version__,
        "platform": platform.platform(),
        "load_average_at_start": os.getloadavg(),
    }
    try:
        info["postgresql"] = _pg_version()
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        info["postgresql"] = f"unreachable ({type(exc).__name__})"
    return info


def _pg_version() -> str:
    engine = sa.create_engine(pg.server_url(), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql("SHOW server_version").scalar_one()
    finally:
        engine.dispose()


def _fmt(x: float | None, unit: str = "") -> str:
    if x is None:
        return "-"
    text = f"{x:,.0f}" if x >= 100 else f"{x:,.2f}"
    return f"{text} {unit}".strip()


def table(results: list[Result]) -> str:
    rows = [("benchmark", "figure", "yardstick", "ratio", "target", "met")]
    for r in results:
        rows.append(
            (
                r.name,
                _fmt(r.figure, r.unit) if r.measured else r.notes,
                _fmt(r.yardstick, r.unit if r.yardstick else ""),
                f"{r.ratio:.1%}" if r.ratio is not None else "-",
                r.target or "-",
                {True: "yes", False: "NO", None: "-"}[r.met],
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help=f"comma-separated: {', '.join(SUITES)}")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    chosen = args.only.split(",") if args.only else list(SUITES)
    unknown = [c for c in chosen if c not in SUITES]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {', '.join(SUITES)}")
    started = time.time()
    print(f"e-CNY sandbox benchmarks (scale {SCALE:g}): {', '.join(chosen)}", flush=True)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="ecny-bench-") as tmp:
        for name in chosen:
            workdir = Path(tmp) / name
            workdir.mkdir()
            try:
                results += SUITES[name](workdir)
            except Exception as exc:  # noqa: BLE001 - one failing suite must not hide the others
                traceback.print_exc()
                results.append(not_measured(name, "-", f"failed: {type(exc).__name__}: {exc}"))
    report = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "scale": SCALE,
        "seconds": round(time.time() - started, 1),
        "git_commit": _git_commit(),
        "machine": machine(),
        "results": [r.as_dict() for r in results],
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print()
    print(table(results))
    print(f"\n{len(results)} results in {report['seconds']:.0f} s; written to {args.out}")


def _git_commit() -> str | None:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


if __name__ == "__main__":
    main()
