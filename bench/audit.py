"""Export and verify: 1,000,000 journal rows (scalable), and the same at
100,000 rows to show that memory stays flat. Each runs in a process of its own
(its peak RSS is its own). Yardsticks: the same journal rows selected with
plain sqlite3 and written with csv.writer; read back with csv.reader and one
SHA-256 per row."""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from wallets.core.db import Database
from wallets.core.principal import SYSTEM
from wallets.core.schema import ledger_head
from wallets.retail import payments

from .common import Result, Timer, log, scaled
from .server import ROOT
from .world import build, payments_between, sqlite_path

FORMATS = "csv,jsonl,camt053"
MAX_MIB = 150
# "Flat": the peak at the large size at most this much above the small one's.
FLAT_SLACK = 1.10


def _grow(url: str, world, rows: int, seed: int) -> int:
    """Post payments in large batches until the journal holds ``rows`` entries."""
    db = Database(url)
    try:
        head = lambda: db.read(lambda tx: tx.conn.execute(sa.select(ledger_head)).one().last_seq)  # noqa: E731
        have = head()
        while have < rows:
            # About 2.3 entries a payment (a third within one operator, one entry each).
            n = max(100, min(8000, int((rows - have) / 2.3) + 1))
            reqs = payments_between(world, n, seed=seed + have)
            db.write(payments.post_payments, reqs, SYSTEM)
            before, have = have, head()
            if have == before:
                raise RuntimeError("the benchmark ledger stopped growing: every payment refused")
        return have
    finally:
        db.dispose()


def _child(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bench.audit_child", *args],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


JOURNAL_SQL = """
SELECT je.seq, je.transfer_id, t.kind, d.code, c.code, je.asset, je.amount, je.posted_at,
       je.prev_hash, je.hash, t.from_wallet_id, t.to_wallet_id, fo.code, tox.code, t.reference
FROM journal_entries je
JOIN transfers t ON t.id = je.transfer_id
JOIN accounts d ON d.id = je.debit_account_id
JOIN accounts c ON c.id = je.credit_account_id
LEFT JOIN operators fo ON fo.id = t.from_operator_id
LEFT JOIN operators tox ON tox.id = t.to_operator_id
ORDER BY je.seq
"""


def yardstick_export(url: str, out: Path) -> float:
    conn = sqlite3.connect(sqlite_path(url))
    try:
        with Timer() as t, open(out, "w", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            n = 0
            for row in conn.execute(JOURNAL_SQL):
                writer.writerow(row)
                n += 1
    finally:
        conn.close()
    return n / t.elapsed


def yardstick_verify(journal_csv: Path) -> float:
    with Timer() as t, open(journal_csv, newline="") as f:
        n = 0
        reader = csv.reader(f)
        next(reader)
        for r in reader:
            hashlib.sha256("|".join((r[0], r[1], r[3], r[4], r[5], r[7], r[8], r[9])).encode())
            n += 1
    return n / t.elapsed


def run(workdir: Path) -> list[Result]:
    small, large = scaled(100_000, 10_000), scaled(1_000_000, 100_000)
    wallets = scaled(1000, 100)
    key = workdir / "audit-key.pem"
    # Class 1 wallets (no caps) with CNY 1,000,000 each: the journal grows without refusals.
    world = build(f"sqlite:///{workdir / 'audit.sqlite3'}", wallets, classes=(1,), funding=10**8)
    measured = {}
    for label, rows in (("small", small), ("large", large)):
        log(f"audit: growing the journal to {rows:,} rows")
        have = _grow(world.url, world, rows, seed=len(measured) * 7919)
        out = workdir / f"export-{label}"
        log(f"audit: exporting {have:,} rows ({FORMATS})")
        exp = _child("export", world.url, str(out), str(key), FORMATS)
        log(
            f"audit: {exp['rows'] / exp['seconds']:,.0f} rows/s, peak {exp['peak_mib']:.0f} MiB; verifying"
        )
        ver = _child("verify", str(out), str(key))
        log(
            f"audit: {ver['rows'] / ver['seconds']:,.0f} rows/s, peak {ver['peak_mib']:.0f} MiB, ok={ver['ok']}"
        )
        measured[label] = (exp, ver, out)
    exp_s, ver_s, _ = measured["small"]
    exp_l, ver_l, out_l = measured["large"]
    log("audit: yardsticks (sqlite3 + csv.writer; csv.reader + SHA-256)")
    yard_exp = yardstick_export(world.url, workdir / "yardstick-journal.csv")
    yard_ver = yardstick_verify(out_l / "journal.csv")
    results = []
    for name, big, little, yard, yard_name in (
        ("export", exp_l, exp_s, yard_exp, "sqlite3 SELECT of the journal rows + csv.writer"),
        ("verify", ver_l, ver_s, yard_ver, "csv.reader over journal.csv + one SHA-256 a row"),
    ):
        rate = big["rows"] / big["seconds"]
        flat = big["peak_mib"] <= little["peak_mib"] * FLAT_SLACK
        fits = big["peak_mib"] <= MAX_MIB and little["peak_mib"] <= MAX_MIB
        results.append(
            Result(
                f"{name}_{big['rows'] // 1000}k_rows",
                rate,
                "rows/s",
                yard,
                yard_name,
                target=f">= 200,000 rows/s; peak <= {MAX_MIB} MiB, flat from {little['rows']:,} "
                f"to {big['rows']:,} rows",
                met=rate >= 200_000 and flat and fits and big["ok"],
                notes=f"peak RSS {little['peak_mib']:.0f} MiB at {little['rows']:,} rows, "
                f"{big['peak_mib']:.0f} MiB at {big['rows']:,} (interpreter and libraries alone "
                f"{big['base_mib']:.0f} MiB); formats {FORMATS}; {wallets} wallets"
                + ("" if big["ok"] else "; VERIFICATION FAILED"),
                extra={"small": little, "large": big, "flat": flat},
            )
        )
    return results
