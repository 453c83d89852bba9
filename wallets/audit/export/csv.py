"""The CSV files of an export: journal.csv's columns, balances.csv and
audit_events.csv, and the guard against CSV injection."""

from __future__ import annotations

import csv
from pathlib import Path

import sqlalchemy as sa

from ...core.db import Tx
from ...core.schema import (
    accounts,
    audit_events,
    journal_entries,
    operators,
)
from ...ledger.money import format_amount
from .common import ExportedFile, _Scope, _stream

# CSV injection (OWASP): a text cell that begins with one of these is written
# with a leading single quote, so that a spreadsheet shows it as text instead
# of running it as a formula. The quote itself is among them, so that the
# prefix is always reversible: drop one leading quote (csv_text_value).
CSV_RISKY_START = ("=", "+", "-", "@", "\t", "\r", "'")


def csv_text(value: str | None) -> str | None:
    """A text cell as written to CSV (see CSV_RISKY_START)."""
    if value and value.startswith(CSV_RISKY_START):
        return "'" + value
    return value


def csv_text_value(cell: str) -> str:
    """The value of a text cell read back from an export's CSV."""
    return cell[1:] if cell.startswith("'") else cell


JOURNAL_FIELDS = (
    "seq",
    "transfer_id",
    "kind",
    "debit_account",
    "credit_account",
    "asset",
    "amount",
    "amount_fen",
    "posted_at",
    "prev_hash",
    "hash",
    "from_wallet",
    "to_wallet",
    "from_operator",
    "to_operator",
    "reference",
)
BALANCE_FIELDS = (
    "code",
    "kind",
    "asset",
    "operator",
    "wallet",
    "debits",
    "credits",
    "balance",
    "debits_fen",
    "credits_fen",
    "balance_fen",
)
AUDIT_EVENT_FIELDS = (
    "id",
    "at",
    "wall_at",
    "api_key_id",
    "role",
    "operator",
    "casino",
    "method",
    "path",
    "idempotency_key",
    "replayed",
    "status",
    "outcome",
    "error_code",
    "request_id",
    "resource",
    "summary",
)


# ---- balances --------------------------------------------------------------------


def _sum_for(column, account_id, until: list):
    je = journal_entries
    return (
        sa.select(sa.func.coalesce(sa.func.sum(je.c.amount), 0))
        .where(column == account_id, *until)
        .scalar_subquery()
    )


def _write_balances(tx: Tx, scope: _Scope, out_dir: Path) -> ExportedFile:
    je = journal_entries
    until = scope.until_end()
    stmt = (
        sa.select(
            accounts.c.code,
            accounts.c.kind,
            accounts.c.asset,
            operators.c.code.label("operator"),
            accounts.c.wallet_id,
            _sum_for(je.c.debit_account_id, accounts.c.id, until).label("debits"),
            _sum_for(je.c.credit_account_id, accounts.c.id, until).label("credits"),
        )
        .outerjoin(operators, operators.c.id == accounts.c.operator_id)
        .where(*scope.accounts_where())
        .order_by(accounts.c.code)
    )
    rows = 0
    with open(out_dir / "balances.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=BALANCE_FIELDS, lineterminator="\n")
        writer.writeheader()
        for r in _stream(tx, stmt):
            debits, credits = int(r.debits), int(r.credits)
            writer.writerow(
                {
                    "code": r.code,
                    "kind": r.kind,
                    "asset": r.asset,
                    "operator": r.operator,
                    "wallet": r.wallet_id,
                    "debits": format_amount(debits),
                    "credits": format_amount(credits),
                    "balance": format_amount(credits - debits),
                    "debits_fen": debits,
                    "credits_fen": credits,
                    "balance_fen": credits - debits,
                }
            )
            rows += 1
    return ExportedFile("balances.csv", rows)


# ---- audit events -----------------------------------------------------------------


def _write_audit_events(tx: Tx, scope: _Scope, out_dir: Path) -> ExportedFile:
    ae = audit_events
    where = []
    if scope.filters.from_ is not None:
        where.append(ae.c.at >= scope.filters.from_)
    if scope.filters.to is not None:
        where.append(ae.c.at < scope.filters.to)
    if scope.filters.operator is not None:
        where.append(ae.c.operator_code == scope.filters.operator)
    rows = 0
    with open(out_dir / "audit_events.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=AUDIT_EVENT_FIELDS, lineterminator="\n")
        writer.writeheader()
        for r in _stream(tx, sa.select(ae).where(*where).order_by(ae.c.id)):
            writer.writerow(
                {
                    "id": r.id,
                    "at": r.at.isoformat(),
                    "wall_at": r.wall_at.isoformat(),
                    "api_key_id": r.api_key_id,
                    "role": r.role,
                    "operator": csv_text(r.operator_code),
                    "casino": csv_text(r.casino_ref),
                    "method": r.method,
                    "path": csv_text(r.path),
                    "idempotency_key": csv_text(r.idempotency_key),
                    "replayed": "true" if r.replayed else "false",
                    "status": r.status,
                    "outcome": r.outcome,
                    "error_code": r.error_code,
                    "request_id": csv_text(r.request_id),
                    "resource": csv_text(r.resource),
                    "summary": csv_text(r.summary),
                }
            )
            rows += 1
    return ExportedFile("audit_events.csv", rows)
