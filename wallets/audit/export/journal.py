"""journal.csv and journal.jsonl, written in one pass over the journal in
``seq`` order; the control totals and the exported range of the chain."""

from __future__ import annotations

import contextlib
import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from ...core.db import Tx
from ...core.schema import (
    accounts,
    journal_entries,
    operators,
    transfers,
)
from ...ledger.money import format_amount
from .common import YIELD_PER, ExportedFile, ProgressFactory, _Scope, _stream, hash_time
from .csv import CSV_RISKY_START, JOURNAL_FIELDS, csv_text
from .jsonl import jsonl_line

# ---- journal ---------------------------------------------------------------------


@dataclass
class _JournalSummary:
    files: list[ExportedFile]
    rows: int = 0
    first_seq: int | None = None
    first_prev_hash: str | None = None
    last_seq: int | None = None
    last_hash: str | None = None
    totals: dict[str, tuple[int, int]] = field(default_factory=dict)


def journal_select(scope: _Scope):
    je, t = journal_entries, transfers
    debit, credit = accounts.alias("debit"), accounts.alias("credit")
    from_op, to_op = operators.alias("from_op"), operators.alias("to_op")
    return (
        sa.select(
            je.c.seq,
            je.c.transfer_id,
            t.c.kind,
            debit.c.code.label("debit_account"),
            credit.c.code.label("credit_account"),
            je.c.asset,
            je.c.amount,
            je.c.posted_at,
            je.c.prev_hash,
            je.c.hash,
            je.c.debit_account_id,
            je.c.credit_account_id,
            t.c.from_wallet_id,
            t.c.to_wallet_id,
            from_op.c.code.label("from_operator"),
            to_op.c.code.label("to_operator"),
            t.c.reference,
        )
        .select_from(je)
        .join(t, t.c.id == je.c.transfer_id)
        .join(debit, debit.c.id == je.c.debit_account_id)
        .join(credit, credit.c.id == je.c.credit_account_id)
        .outerjoin(from_op, from_op.c.id == t.c.from_operator_id)
        .outerjoin(to_op, to_op.c.id == t.c.to_operator_id)
        .where(*scope.journal_where())
        .order_by(je.c.seq)
    )


def journal_values(r: sa.Row, hash_time_of: Callable[[datetime], str] = hash_time) -> tuple:
    """One journal row as exported, in the order of JOURNAL_FIELDS: the same
    values in CSV (as text) and JSONL."""
    return (
        r.seq,
        r.transfer_id,
        r.kind,
        r.debit_account,
        r.credit_account,
        r.asset,
        format_amount(r.amount),
        r.amount,
        hash_time_of(r.posted_at),
        r.prev_hash,
        r.hash,
        r.from_wallet_id,
        r.to_wallet_id,
        r.from_operator,
        r.to_operator,
        r.reference,
    )


class _TimeTexts:
    """posted_at as hash text: the rows of a batch share one instant, so it is
    formatted once per run of equal values."""

    def __init__(self) -> None:
        self.last: datetime | None = None
        self.text = ""

    def __call__(self, when: datetime) -> str:
        if when != self.last:
            self.last, self.text = when, hash_time(when)
        return self.text


def _write_journal(
    tx: Tx, scope: _Scope, out_dir: Path, progress: ProgressFactory
) -> _JournalSummary:
    formats = scope.filters.formats
    want_csv, want_jsonl = "csv" in formats, "jsonl" in formats
    if not (want_csv or want_jsonl):
        want_csv = True  # the journal is the export's backbone: always in one form
    total = tx.conn.execute(
        sa.select(sa.func.count())
        .select_from(
            journal_entries.join(transfers, transfers.c.id == journal_entries.c.transfer_id)
        )
        .where(*scope.journal_where())
    ).scalar_one()
    summary = _JournalSummary(files=[])
    times = _TimeTexts()
    totals: dict[str, list[int]] = {}
    with contextlib.ExitStack() as stack:
        writerow = write_jsonl = None
        if want_csv:
            csv_file = stack.enter_context(
                open(out_dir / "journal.csv", "w", newline="", encoding="utf-8")
            )
            writer = csv.writer(csv_file, lineterminator="\n")
            writer.writerow(JOURNAL_FIELDS)
            writerow = writer.writerow
        if want_jsonl:
            jsonl_file = stack.enter_context(open(out_dir / "journal.jsonl", "w", encoding="utf-8"))
            write_jsonl = jsonl_file.write
        bar = progress("journal", total)
        stack.callback(bar.close)
        pending = 0
        v: tuple | None = None
        for r in _stream(tx, journal_select(scope)):
            v = journal_values(r, times)
            if writerow is not None:
                ref = v[15]
                if ref and ref.startswith(CSV_RISKY_START):
                    writerow((*v[:15], csv_text(ref)))
                else:
                    writerow(v)
            if write_jsonl is not None:
                write_jsonl(jsonl_line(v))
            if summary.first_seq is None:
                summary.first_seq, summary.first_prev_hash = v[0], v[9]
            t = totals.get(v[5])
            if t is None:
                t = totals[v[5]] = [0, 0]
            t[0] += 1
            t[1] += v[7]
            pending += 1
            if pending == YIELD_PER:
                bar.update(pending)
                summary.rows += pending
                pending = 0
        bar.update(pending)
        summary.rows += pending
        if v is not None:
            summary.last_seq, summary.last_hash = v[0], v[10]
        summary.totals = {asset: (n, fen) for asset, (n, fen) in totals.items()}
    if want_csv:
        summary.files.append(ExportedFile("journal.csv", summary.rows))
    if want_jsonl:
        summary.files.append(ExportedFile("journal.jsonl", summary.rows))
    return summary
