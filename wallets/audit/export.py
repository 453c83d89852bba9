"""Audit exports: the journal, balances, statements and audit log as files that
an auditor verifies offline (see verify.py and docs/audit.md).

An export reads one consistent snapshot of the database and streams every
table it writes (``yield_per``): rows go from the cursor to the file one by
one, so memory stays flat however long the journal is. It writes

- ``journal.csv`` / ``journal.jsonl``: one row per journal entry in ``seq``
  order, with its ``prev_hash`` and ``hash`` and its transfer's fields;
- ``balances.csv``: each account's totals from the journal, as of the export's end;
- ``camt053/<wallet id>.xml``: an ISO 20022 camt.053.001.08 statement per wallet;
- ``audit_events.csv``: the audit log of API writes;
- ``manifest.json``: every file's rows, bytes and SHA-256, control totals, the
  exported range of the chain, the filters, the central bank's signed digest of
  the head, and a signature of the manifest itself.

Filters (time range, operator, wallet) select whole *transfers*: every entry of
a selected transfer is exported, so the rows of a transfer stay together.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import hashlib
import json
import re
import secrets
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any, Protocol
from xml.sax.saxutils import escape as xml_escape

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from lxml import etree

from ..core import errors
from ..core.clock import SANDBOX_TZ
from ..core.db import Database, Tx
from ..core.principal import Principal
from ..core.schema import (
    MAX_ID32,
    accounts,
    audit_events,
    export_jobs,
    journal_entries,
    ledger_head,
    operators,
    statement_numbers,
    transfers,
    wallets,
)
from ..ledger.money import format_amount
from ..ledger.posting import HASH_TIME_FORMAT
from ..retail.statement import held_at
from ..retail.wallet import wallet_account_code
from . import checkpoints as cp
from . import digest as dg

MANIFEST_FORMAT = "ecny-audit-export/1"
FORMATS = ("csv", "jsonl", "camt053")
YIELD_PER = 2000
CAMT_NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
XSD_PATH = Path(__file__).with_name("iso20022") / "camt.053.001.08.xsd"
# e-CNY is CNY: statements state amounts in the ISO 4217 currency.
CAMT_CURRENCY = "CNY"
BANK_TX_CODE_ISSUER = "ECNY-SANDBOX"
# Proprietary balance type: e-CNY of the wallet's open holds, in its operator's escrow.
HELD_BALANCE = "HELD"
# ISO 20022 Max35Text: a longer reference is cut to its first 35 characters in
# EndToEndId; RmtInf/Ustrd (Max140Text) always holds it whole.
END_TO_END_MAX = 35
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


# ---- filters -------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """Which part of the ledger to export. ``from_``/``to`` bound ``posted_at``
    (from inclusive, to exclusive); operator and wallet select the transfers
    that concern them."""

    from_: datetime | None = None
    to: datetime | None = None
    operator: str | None = None
    wallet: int | None = None
    formats: tuple[str, ...] = FORMATS

    @property
    def complete(self) -> bool:
        """An unfiltered export holds the whole chain, from genesis to the head."""
        return (
            self.from_ is None and self.to is None and self.operator is None and self.wallet is None
        )

    def as_dict(self) -> dict:
        return {
            "from": self.from_.isoformat() if self.from_ else None,
            "to": self.to.isoformat() if self.to else None,
            "operator": self.operator,
            "wallet": self.wallet,
            "formats": list(self.formats),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Filters:
        return parse_filters(
            data.get("from"),
            data.get("to"),
            data.get("operator"),
            data.get("wallet"),
            data.get("formats"),
        )


def _invalid(name: str, message: str) -> errors.DomainError:
    return errors.DomainError(
        errors.VALIDATION_FAILED, f"{name}: {message}", errors={name: [message]}
    )


def parse_time(name: str, value: str | datetime | None) -> datetime | None:
    """ISO 8601. A date means its midnight, and a time without an offset is
    read in the sandbox's time zone (UTC+8), like the sandbox's days."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        when = value
    else:
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            try:
                when = datetime.combine(date.fromisoformat(value), time())
            except ValueError:
                raise _invalid(name, "must be an ISO 8601 date or time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=SANDBOX_TZ)
    return when.astimezone(UTC)


def parse_formats(value: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    if value is None:
        return FORMATS
    items = value.split(",") if isinstance(value, str) else list(value)
    items = [i.strip() for i in items if i.strip()]
    unknown = [i for i in items if i not in FORMATS]
    if unknown or not items:
        raise _invalid("formats", f"choose from {', '.join(FORMATS)}")
    return tuple(f for f in FORMATS if f in items)


def parse_filters(
    from_: str | datetime | None = None,
    to: str | datetime | None = None,
    operator: str | None = None,
    wallet: int | str | None = None,
    formats: str | list[str] | tuple[str, ...] | None = None,
) -> Filters:
    start, end = parse_time("from", from_), parse_time("to", to)
    if start and end and start >= end:
        raise _invalid("to", "must be after from")
    if wallet is not None and not isinstance(wallet, int):
        if not (str(wallet).isascii() and str(wallet).isdigit()):
            raise _invalid("wallet", "must be a wallet id")
        wallet = int(wallet)
    return Filters(start, end, operator or None, wallet, parse_formats(formats))


# ---- progress ---------------------------------------------------------------------


class Progress(Protocol):
    def update(self, n: int) -> Any: ...

    def close(self) -> Any: ...


ProgressFactory = Callable[[str, int | None], Progress]


class _Silent:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _silent(label: str, total: int | None) -> Progress:
    return _Silent()


# ---- the export ------------------------------------------------------------------


@dataclass
class ExportedFile:
    name: str
    rows: int
    bytes: int = 0
    sha256: str = ""

    def as_dict(self) -> dict:
        return {"name": self.name, "rows": self.rows, "bytes": self.bytes, "sha256": self.sha256}


@dataclass
class ExportResult:
    directory: Path
    manifest: dict
    files: list[ExportedFile] = field(default_factory=list)
    checkpoint: dict | None = None  # the export's checkpoint (checkpoints.py)


def export(
    db: Database,
    out_dir: Path,
    filters: Filters,
    signing_key: Ed25519PrivateKey,
    *,
    export_id: str | None = None,
    progress: ProgressFactory = _silent,
) -> ExportResult:
    """Write an export of one consistent snapshot of the ledger into ``out_dir``
    (which must be empty or absent)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise _invalid("out", f"{out_dir} is not empty")
    export_id = export_id or f"EXP-{secrets.token_hex(6)}"
    # Nothing is signed over a chain that does not recompute, and no statement
    # number is given before it does: the whole chain is recomputed first, in a
    # read transaction; the snapshot recomputes only what was appended since.
    verified = db.read(lambda tx: cp.check_chain(tx, yield_per=YIELD_PER))
    numbered = "camt053" in filters.formats
    out_dir.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, NUMBERING_ATTEMPTS + 1):
        if numbered:
            db.write(reserve_statement_numbers, filters, export_id)
            before_snapshot(export_id)
        try:
            result = db.snapshot(
                _export, out_dir, filters, signing_key, export_id, progress, verified
            )
        except _Unnumbered as missing:
            # A wallet opened in scope (or another export numbered the same
            # statements) between the numbering and the snapshot: number what
            # this export has not, and take the snapshot again.
            if attempt == NUMBERING_ATTEMPTS:
                raise errors.DomainError(
                    errors.BUSY,
                    f"{missing.count} wallet(s) in scope had no statement number for this "
                    f"export after {NUMBERING_ATTEMPTS} attempts (wallets being opened, or "
                    "other exports numbering the same statements); retry",
                ) from None
            continue
        result.checkpoint = cp.record_export(db, result.manifest["digest"], export_id)
        return result
    raise AssertionError("unreachable")


NUMBERING_ATTEMPTS = 3


def before_snapshot(export_id: str) -> None:
    """Called between the statements' numbering and the snapshot (tests hook it)."""


class _Unnumbered(Exception):
    """Wallets in scope whose statement has no number of this export."""

    def __init__(self, count: int) -> None:
        super().__init__(count)
        self.count = count


def _statement_accounts(tx: Tx, scope: _Scope):
    """The ECNY accounts of the wallets in scope: one statement each."""
    return (
        sa.select(accounts.c.id)
        .join(wallets, wallets.c.id == accounts.c.wallet_id)
        .where(accounts.c.asset == "ECNY", *scope.accounts_where())
    )


def reserve_statement_numbers(tx: Tx, filters: Filters, export_id: str) -> int:
    """Give the next electronic sequence number (ElctrncSeqNb) to the statement
    of every wallet in scope that has none of this export yet, before the
    export's snapshot: one more than the last one given to its account (1 for
    its first). Returns how many it numbered (again, it numbers only those
    opened since, or taken over by another export)."""
    scope = resolve(tx, filters)
    sn = statement_numbers
    in_scope = _statement_accounts(tx, scope)
    first = tx.conn.execute(
        sn.insert().from_select(
            ["account_id", "last_number", "export_id"],
            sa.select(accounts.c.id, sa.literal(1), sa.literal(export_id))
            .join(wallets, wallets.c.id == accounts.c.wallet_id)
            .where(
                accounts.c.asset == "ECNY",
                *scope.accounts_where(),
                accounts.c.id.not_in(sa.select(sn.c.account_id)),
            ),
        )
    ).rowcount
    return (
        first
        + tx.conn.execute(
            sn.update()
            .where(sn.c.account_id.in_(in_scope), sn.c.export_id != export_id)
            .values(last_number=sn.c.last_number + 1, export_id=export_id)
        ).rowcount
    )


@dataclass
class _Scope:
    """The filters resolved against the snapshot."""

    filters: Filters
    head_seq: int
    head_hash: str
    operator_id: int | None
    now: datetime

    def journal_where(self, je=journal_entries, t=transfers) -> list:
        f = self.filters
        where = [je.c.seq <= self.head_seq]
        if f.from_ is not None:
            where.append(je.c.posted_at >= f.from_)
        if f.to is not None:
            where.append(je.c.posted_at < f.to)
        if self.operator_id is not None:
            where.append(
                sa.or_(
                    t.c.from_operator_id == self.operator_id, t.c.to_operator_id == self.operator_id
                )
            )
        if f.wallet is not None:
            where.append(sa.or_(t.c.from_wallet_id == f.wallet, t.c.to_wallet_id == f.wallet))
        return where

    def until_end(self, je=journal_entries) -> list:
        """Entries up to the export's end: what closing balances are made of."""
        where = [je.c.seq <= self.head_seq]
        if self.filters.to is not None:
            where.append(je.c.posted_at < self.filters.to)
        return where

    def accounts_where(self) -> list:
        if self.filters.wallet is not None:
            return [accounts.c.wallet_id == self.filters.wallet]
        if self.operator_id is not None:
            return [accounts.c.operator_id == self.operator_id]
        return []


def resolve(tx: Tx, filters: Filters) -> _Scope:
    """Check the filters' operator and wallet exist (404 otherwise)."""
    operator_id = None
    if filters.operator is not None:
        operator_id = tx.conn.execute(
            sa.select(operators.c.id).where(operators.c.code == filters.operator)
        ).scalar()
        if operator_id is None:
            raise errors.DomainError(errors.OPERATOR_NOT_FOUND, f"no operator {filters.operator}")
    if filters.wallet is not None:
        found = tx.conn.execute(
            sa.select(wallets.c.id).where(wallets.c.id == filters.wallet)
        ).scalar()
        if found is None:
            raise errors.DomainError(errors.WALLET_NOT_FOUND, f"no wallet {filters.wallet}")
    head = tx.conn.execute(sa.select(ledger_head).where(ledger_head.c.id == 1)).one()
    return _Scope(filters, head.last_seq, head.last_hash, operator_id, tx.now())


def _export(
    tx: Tx,
    out_dir: Path,
    filters: Filters,
    key: Ed25519PrivateKey,
    export_id: str,
    progress: ProgressFactory,
    verified: tuple[int, str],
) -> ExportResult:
    scope = resolve(tx, filters)
    statements = _statement_rows(tx, scope, export_id) if "camt053" in filters.formats else []
    # The chain up to ``verified`` was recomputed before the numbering (export()):
    # the entries appended since are, here.
    cp.check_chain(tx, scope.head_seq, YIELD_PER, start=verified)
    signed = dg.take(tx, key)
    files: list[ExportedFile] = []
    journal = _write_journal(tx, scope, out_dir, progress)
    files.extend(journal.files)
    files.append(_write_balances(tx, scope, out_dir))
    if "camt053" in filters.formats:
        files.extend(_write_statements(tx, scope, out_dir, export_id, progress, statements))
    files.append(_write_audit_events(tx, scope, out_dir))
    for f in files:
        f.bytes, f.sha256 = file_digest(out_dir / f.name)
    manifest = {
        "format": MANIFEST_FORMAT,
        "export_id": export_id,
        "created_at": scope.now.isoformat(),
        "filters": filters.as_dict(),
        "complete": filters.complete,
        "hash_encoding": (
            "sha256 hex of seq|transfer_id|debit_account|credit_account|asset|amount_fen|"
            "posted_at|prev_hash (posted_at as written, UTC); first prev_hash is 64 zeros"
        ),
        "range": {
            "entries": journal.rows,
            "first_seq": journal.first_seq,
            "first_prev_hash": journal.first_prev_hash,
            "last_seq": journal.last_seq,
            "last_hash": journal.last_hash,
        },
        "head": {"sequence": scope.head_seq, "hash": scope.head_hash},
        "control_totals": {
            asset: {"count": count, "amount": format_amount(total), "amount_fen": total}
            for asset, (count, total) in sorted(journal.totals.items())
        },
        "files": [f.as_dict() for f in files],
        "digest": signed.as_dict(),
    }
    manifest["signature"] = {
        "algorithm": dg.ALGORITHM,
        "value": dg.sign_bytes(key, manifest_message(manifest)),
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return ExportResult(out_dir, manifest, files)


def manifest_message(manifest: dict) -> bytes:
    """What the manifest's own signature covers: all of it but the signature."""
    return dg.canonical_json({k: v for k, v in manifest.items() if k != "signature"})


def file_digest(path: Path) -> tuple[int, str]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 16):
            h.update(chunk)
            size += len(chunk)
    return size, h.hexdigest()


def _stream(tx: Tx, stmt) -> Iterator[sa.Row]:
    """Rows fetched YIELD_PER at a time (a server-side cursor on PostgreSQL).
    The option goes on the statement: on the connection it would stick."""
    result = tx.conn.execute(stmt.execution_options(yield_per=YIELD_PER))
    try:
        yield from result
    finally:
        result.close()


def hash_time(value: datetime) -> str:
    return value.strftime(HASH_TIME_FORMAT)


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


def _json_text(value: str | None) -> str:
    """A JSON string. U+2028 and U+2029 are escaped (``\\u2028``, ``\\u2029``):
    the same value, but no raw line separator that a JavaScript or line-based
    reader could take for the end of a line."""
    if value is None:
        return "null"
    text = encode_basestring(value)
    if "\u2028" in text or "\u2029" in text:
        text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return text


def _json_int(value: int | None) -> str:
    return "null" if value is None else str(value)


def jsonl_line(v: tuple) -> str:
    """A row of journal_values as one JSON object (keys in JOURNAL_FIELDS order).
    Written by hand: json.dumps of a dict per row was most of the export's time.
    Amounts, times and hashes are plain ASCII; the texts are escaped."""
    return (
        f'{{"seq":{v[0]},"transfer_id":{v[1]},"kind":{_json_text(v[2])},'
        f'"debit_account":{_json_text(v[3])},"credit_account":{_json_text(v[4])},'
        f'"asset":{_json_text(v[5])},"amount":"{v[6]}","amount_fen":{v[7]},'
        f'"posted_at":"{v[8]}","prev_hash":"{v[9]}","hash":"{v[10]}",'
        f'"from_wallet":{_json_int(v[11])},"to_wallet":{_json_int(v[12])},'
        f'"from_operator":{_json_text(v[13])},"to_operator":{_json_text(v[14])},'
        f'"reference":{_json_text(v[15])}}}\n'
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


# ---- camt.053 statements -----------------------------------------------------------


def _el(name: str, text: str | None = None, **attrs: str) -> etree._Element:
    """A new element in the camt namespace."""
    el = etree.Element(f"{{{CAMT_NS}}}{name}", nsmap={None: CAMT_NS}, **attrs)
    if text is not None:
        el.text = text
    return el


def _sub(parent: etree._Element, name: str, text: str | None = None, **attrs: str):
    """A child element in the camt namespace."""
    el = etree.SubElement(parent, f"{{{CAMT_NS}}}{name}", **attrs)
    if text is not None:
        el.text = text
    return el


def _amount(parent, name: str, fen: int) -> None:
    _sub(parent, name, format_amount(abs(fen)), Ccy=CAMT_CURRENCY)


def _balance(code: str, fen: int, when: datetime, proprietary: bool = False) -> etree._Element:
    bal = _el("Bal")
    _sub(_sub(_sub(bal, "Tp"), "CdOrPrtry"), "Prtry" if proprietary else "Cd", code)
    _amount(bal, "Amt", fen)
    _sub(bal, "CdtDbtInd", "CRDT" if fen >= 0 else "DBIT")
    _sub(_sub(bal, "Dt"), "DtTm", when.isoformat())
    return bal


def _account_id(parent, name: str, code: str) -> None:
    """An account identified by its ledger code (ISO's Max34Text holds every wallet's)."""
    acct = _sub(parent, name)
    othr = _sub(_sub(acct, "Id"), "Othr")
    _sub(othr, "Id", code[:34])
    _sub(othr, "Issr", BANK_TX_CODE_ISSUER)


def _entry_element(v: dict[str, str], with_reference: bool) -> etree._Element:
    """A booked entry (Ntry) of a statement, from its texts."""
    ntry = _el("Ntry")
    _sub(ntry, "NtryRef", v["seq"])
    _sub(ntry, "Amt", v["amount"], Ccy=CAMT_CURRENCY)
    _sub(ntry, "CdtDbtInd", v["side"])
    _sub(_sub(ntry, "Sts"), "Cd", "BOOK")
    _sub(_sub(ntry, "BookgDt"), "DtTm", v["posted_at"])
    _sub(_sub(ntry, "ValDt"), "DtTm", v["posted_at"])
    _sub(ntry, "AcctSvcrRef", v["ref"])
    prtry = _sub(_sub(ntry, "BkTxCd"), "Prtry")
    _sub(prtry, "Cd", v["kind"])
    _sub(prtry, "Issr", BANK_TX_CODE_ISSUER)
    tx_dtls = _sub(_sub(ntry, "NtryDtls"), "TxDtls")
    refs = _sub(tx_dtls, "Refs")
    _sub(refs, "AcctSvcrRef", v["ref"])
    _sub(refs, "EndToEndId", v["end_to_end"])
    _sub(refs, "TxId", v["transfer_id"])
    _sub(tx_dtls, "Amt", v["amount"], Ccy=CAMT_CURRENCY)
    _sub(tx_dtls, "CdtDbtInd", v["side"])
    parties = _sub(tx_dtls, "RltdPties")
    _account_id(parties, "DbtrAcct", v["debit_account"])
    _account_id(parties, "CdtrAcct", v["credit_account"])
    if with_reference:
        _sub(_sub(tx_dtls, "RmtInf"), "Ustrd", v["reference"])
    _sub(tx_dtls, "AddtlTxInf", v["info"])
    return ntry


class _EntryTemplate:
    """Building ~40 elements per entry dominates an export's time; copying a
    prototype and filling in its texts is three times faster."""

    SLOTS = (
        "seq",
        "amount",
        "side",
        "posted_at",
        "ref",
        "kind",
        "end_to_end",
        "transfer_id",
        "debit_account",
        "credit_account",
        "reference",
        "info",
    )

    def __init__(self, with_reference: bool) -> None:
        self.proto = _entry_element({k: f"@@{k}@@" for k in self.SLOTS}, with_reference)
        self.slots = [
            (i, el.text[2:-2])
            for i, el in enumerate(self.proto.iter())
            if el.text and el.text.startswith("@@")
        ]
        # The prototype as text, cut at its slots: rendering is then a join of
        # escaped texts (five times faster again than copying elements).
        pieces = re.split(r"@@(\w+)@@", etree.tostring(self.proto, encoding="unicode"))
        self.literals, self.keys = pieces[0::2], pieces[1::2]

    def render(self, values: dict[str, str]) -> etree._Element:
        el = copy.deepcopy(self.proto)
        nodes = list(el.iter())
        for i, key in self.slots:
            nodes[i].text = values[key]
        return el

    def render_text(self, values: dict[str, str]) -> str:
        """The entry serialized, as lxml serializes :meth:`render`'s element."""
        if any(_NEEDS_LXML.search(values[k]) for k in self.keys):
            # Characters lxml escapes otherwise (or refuses): let it decide.
            return etree.tostring(self.render(values), encoding="unicode")
        out = [self.literals[0]]
        for key, literal in zip(self.keys, self.literals[1:], strict=True):
            out.append(xml_escape(values[key]))
            out.append(literal)
        return "".join(out)


# Anything but the characters that xml_escape and lxml write alike.
_NEEDS_LXML = re.compile(r"[^\t\n\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_TEMPLATES = {True: _EntryTemplate(True), False: _EntryTemplate(False)}


def _is_intermediary(code: str) -> bool:
    """An operator's account that a payment passes through (its settlement
    account), not a party: neither a wallet nor an escrow of holds."""
    return code.startswith("OP:") and not code.endswith(":HOLDS")


def counterparties(r: sa.Row, account_id: int) -> tuple[str, str]:
    """(debtor, creditor) account as a statement names them: the entry's own
    accounts, except that a leg between a wallet and an operator's settlement
    account (a payment across operators) names the other wallet of the transfer
    instead of the settlement account."""
    debit, credit = r.debit_account, r.credit_account
    own_credit = r.credit_account_id == account_id
    counter = debit if own_credit else credit
    if (
        r.from_wallet_id is not None
        and r.to_wallet_id is not None
        and r.from_wallet_id != r.to_wallet_id
        and _is_intermediary(counter)
    ):
        other = wallet_account_code(r.from_wallet_id if own_credit else r.to_wallet_id)
        if own_credit:
            debit = other
        else:
            credit = other
    return debit, credit


def end_to_end_id(reference: str | None) -> str:
    """EndToEndId: the reference, cut to its first 35 characters when longer."""
    return (reference or "NOTPROVIDED")[:END_TO_END_MAX]


def _statement_values(r: sa.Row, account_id: int) -> dict[str, str]:
    debtor, creditor = counterparties(r, account_id)
    return {
        "seq": str(r.seq),
        "amount": format_amount(r.amount),
        "side": "CRDT" if r.credit_account_id == account_id else "DBIT",
        "posted_at": r.posted_at.isoformat(),
        "ref": f"{r.transfer_id}/{r.seq}",
        "kind": r.kind,
        "end_to_end": end_to_end_id(r.reference),
        "transfer_id": str(r.transfer_id),
        "debit_account": debtor[:34],
        "credit_account": creditor[:34],
        "reference": (r.reference or "")[:140],
        "info": f"{r.kind} {r.debit_account} -> {r.credit_account}"[:500],
    }


def statement_entry_text(r: sa.Row, account_id: int) -> str:
    """The Ntry of one journal entry on the statement of ``account_id``, serialized."""
    return _TEMPLATES[bool(r.reference)].render_text(_statement_values(r, account_id))


def _statement_figures(tx: Tx, scope: _Scope, account_id: int) -> dict[str, tuple[int, int]]:
    """Count and sum of the account's entries up to the export's end, by
    (before the range | in it) x (debit | credit)."""
    je = journal_entries
    before = (
        sa.case((je.c.posted_at < scope.filters.from_, "before"), else_="in")
        if scope.filters.from_ is not None
        else sa.literal("in")
    ).label("part")
    side = sa.case((je.c.credit_account_id == account_id, "C"), else_="D").label("side")
    stmt = (
        sa.select(before, side, sa.func.count(), sa.func.coalesce(sa.func.sum(je.c.amount), 0))
        .where(
            sa.or_(je.c.debit_account_id == account_id, je.c.credit_account_id == account_id),
            *scope.until_end(),
        )
        .group_by(before, side)
    )
    return {f"{p}{s}": (int(n), int(total)) for p, s, n, total in tx.conn.execute(stmt)}


def _statement_rows(tx: Tx, scope: _Scope, export_id: str) -> list[sa.Row]:
    """Every wallet in scope, with the number this export gave its statement;
    :class:`_Unnumbered` (before anything is written) if any has none: no
    wallet in scope is left without its statement."""
    sn = statement_numbers
    rows = tx.conn.execute(
        sa.select(
            wallets.c.id,
            accounts.c.id.label("account_id"),
            accounts.c.code,
            operators.c.code.label("operator"),
            sn.c.last_number.label("number"),
            sn.c.export_id,
        )
        .join(accounts, sa.and_(accounts.c.wallet_id == wallets.c.id, accounts.c.asset == "ECNY"))
        .join(operators, operators.c.id == wallets.c.operator_id)
        .outerjoin(sn, sn.c.account_id == accounts.c.id)
        .where(*scope.accounts_where())
        .order_by(wallets.c.id)
    ).all()
    missing = sum(1 for r in rows if r.export_id != export_id)
    if missing:
        raise _Unnumbered(missing)
    return rows


def _write_statements(
    tx: Tx,
    scope: _Scope,
    out_dir: Path,
    export_id: str,
    progress: ProgressFactory,
    wallet_rows: list[sa.Row],
) -> list[ExportedFile]:
    (out_dir / "camt053").mkdir(exist_ok=True)
    bar = progress("statements", len(wallet_rows))
    out = []
    try:
        for w in wallet_rows:
            out.append(_write_statement(tx, scope, out_dir, export_id, w))
            bar.update(1)
    finally:
        bar.close()
    return out


def _write_statement(
    tx: Tx, scope: _Scope, out_dir: Path, export_id: str, w: sa.Row
) -> ExportedFile:
    f = scope.filters
    figures = _statement_figures(tx, scope, w.account_id)
    opening = figures.get("beforeC", (0, 0))[1] - figures.get("beforeD", (0, 0))[1]
    credits_n, credits = figures.get("inC", (0, 0))
    debits_n, debits = figures.get("inD", (0, 0))
    closing = opening + credits - debits
    start = f.from_ or _first_posting(tx) or scope.now
    end = f.to or scope.now
    # A hold's funds went to the operator's escrow by a booked entry (kind
    # "hold"); what is still held at the end is stated as a proprietary balance.
    held = held_at(tx, w.id, f.to)
    name = f"camt053/{w.id}.xml"
    je, t = journal_entries, transfers
    debit, credit = accounts.alias("debit"), accounts.alias("credit")
    entries = (
        sa.select(
            je.c.seq,
            je.c.transfer_id,
            je.c.debit_account_id,
            je.c.credit_account_id,
            debit.c.code.label("debit_account"),
            credit.c.code.label("credit_account"),
            je.c.amount,
            je.c.posted_at,
            t.c.kind,
            t.c.reference,
            t.c.from_wallet_id,
            t.c.to_wallet_id,
        )
        .select_from(je)
        .join(t, t.c.id == je.c.transfer_id)
        .join(debit, debit.c.id == je.c.debit_account_id)
        .join(credit, credit.c.id == je.c.credit_account_id)
        .where(
            sa.or_(je.c.debit_account_id == w.account_id, je.c.credit_account_id == w.account_id),
            *scope.until_end(),
            *([je.c.posted_at >= f.from_] if f.from_ is not None else []),
        )
        .order_by(je.c.seq)
    )
    rows = 0
    # Written as text: the head's few elements serialized by lxml, the entries
    # from their templates (statement_entry_text), as etree.xmlfile wrote them.
    with open(out_dir / name, "w", encoding="utf-8") as out:
        write = out.write
        write(f"<?xml version='1.0' encoding='utf-8'?>\n<Document xmlns=\"{CAMT_NS}\">")
        write("<BkToCstmrStmt>\n")
        hdr = _el("GrpHdr")
        _sub(hdr, "MsgId", f"{export_id}-{w.id}"[:35])
        _sub(hdr, "CreDtTm", scope.now.isoformat())
        _sub(hdr, "AddtlInf", "e-CNY sandbox audit export; amounts in CNY (e-CNY)")
        write(etree.tostring(hdr, encoding="unicode"))
        write("\n<Stmt>")
        head = [
            _el("Id", f"{export_id}-{w.id}"[:35]),
            _el("ElctrncSeqNb", str(w.number)),
            _el("CreDtTm", scope.now.isoformat()),
        ]
        period = _el("FrToDt")
        _sub(period, "FrDtTm", start.isoformat())
        _sub(period, "ToDtTm", max(start, end).isoformat())
        head.append(period)
        acct = _el("Acct")
        othr = _sub(_sub(acct, "Id"), "Othr")
        _sub(othr, "Id", w.code)
        _sub(othr, "Issr", BANK_TX_CODE_ISSUER)
        _sub(acct, "Ccy", CAMT_CURRENCY)
        _sub(acct, "Nm", f"e-CNY wallet {w.id}")
        _sub(_sub(_sub(_sub(acct, "Svcr"), "FinInstnId"), "Othr"), "Id", w.operator)
        head.append(acct)
        head.append(_balance("OPBD", opening, start))
        head.append(_balance("CLBD", closing, end))
        if held:
            head.append(_balance(HELD_BALANCE, held, end, proprietary=True))
        summary = _el("TxsSummry")
        for tag, n, total in (
            ("TtlCdtNtries", credits_n, credits),
            ("TtlDbtNtries", debits_n, debits),
        ):
            part = _sub(summary, tag)
            _sub(part, "NbOfNtries", str(n))
            _sub(part, "Sum", format_amount(total))
        head.append(summary)
        for el in head:
            write(etree.tostring(el, encoding="unicode"))
            write("\n")
        for r in _stream(tx, entries):
            write(statement_entry_text(r, w.account_id))
            write("\n")
            rows += 1
        write("</Stmt></BkToCstmrStmt></Document>")
    return ExportedFile(name, rows)


def _first_posting(tx: Tx) -> datetime | None:
    return tx.conn.execute(
        sa.select(journal_entries.c.posted_at).order_by(journal_entries.c.seq).limit(1)
    ).scalar()


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


# ---- export jobs (the API's) ---------------------------------------------------------

QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"


@dataclass(frozen=True)
class Job:
    id: int
    status: str
    filters: dict
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    head_seq: int | None
    head_hash: str | None
    files: list[dict]
    error: str | None
    error_code: str | None = None


def _job(row: sa.Row) -> Job:
    return Job(
        id=row.id,
        status=row.status,
        filters=json.loads(row.filters),
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        head_seq=row.head_seq,
        head_hash=row.head_hash,
        files=json.loads(row.files) if row.files else [],
        error=row.error,
        error_code=row.error_code,
    )


def create_job(tx: Tx, filters: Filters, actor: Principal) -> Job:
    """Record a queued export; its operator and wallet must exist."""
    resolve(tx, filters)
    job_id = tx.conn.execute(
        export_jobs.insert().values(
            status=QUEUED,
            api_key_id=actor.key_id,
            filters=json.dumps(filters.as_dict()),
            created_at=tx.now(),
        )
    ).inserted_primary_key[0]
    return get_job(tx, job_id)


def get_job(tx: Tx, job_id: int) -> Job:
    if not 0 < job_id <= MAX_ID32:  # the column's range: beyond it there is no such job
        raise errors.DomainError(errors.EXPORT_NOT_FOUND, f"no export job {job_id}")
    row = tx.conn.execute(sa.select(export_jobs).where(export_jobs.c.id == job_id)).first()
    if row is None:
        raise errors.DomainError(errors.EXPORT_NOT_FOUND, f"no export job {job_id}")
    return _job(row)


def list_jobs(tx: Tx, *, after: int | None, limit: int) -> list[Job]:
    """Export jobs, newest first (``after``: show those older than this id)."""
    stmt = sa.select(export_jobs).order_by(export_jobs.c.id.desc()).limit(limit)
    if after is not None:
        stmt = stmt.where(export_jobs.c.id < after)
    return [_job(r) for r in tx.conn.execute(stmt)]


def job_directory(export_dir: Path, job_id: int) -> Path:
    return Path(export_dir) / f"job-{job_id}"


def job_file(tx: Tx, export_dir: Path, job_id: int, name: str) -> Path:
    """The path of one listed file of a succeeded job."""
    job = get_job(tx, job_id)
    if job.status != SUCCEEDED:
        raise errors.DomainError(
            errors.EXPORT_NOT_READY, f"export job {job_id} is {job.status}", job_status=job.status
        )
    if name != "manifest.json" and name not in {f["name"] for f in job.files}:
        raise errors.DomainError(
            errors.EXPORT_FILE_NOT_FOUND, f"export job {job_id} has no file {name!r}"
        )
    path = job_directory(export_dir, job_id) / name
    if not path.is_file():
        raise errors.DomainError(
            errors.EXPORT_FILE_NOT_FOUND, f"the file {name!r} of export job {job_id} is gone"
        )
    return path


def _set(tx: Tx, job_id: int, **values) -> None:
    tx.conn.execute(export_jobs.update().where(export_jobs.c.id == job_id).values(**values))


def run_job(db: Database, job_id: int, export_dir: Path, signing_key_path: Path) -> Job:
    """Run a queued job to its end; a failure is recorded on the job, not raised."""
    db.write(lambda tx: _set(tx, job_id, status=RUNNING, started_at=datetime.now(UTC)))
    try:
        filters = Filters.from_dict(db.read(get_job, job_id).filters)
        key = dg.load_or_create_key(signing_key_path)
        directory = job_directory(export_dir, job_id)
        # A job id is used once per database: files already there are a previous
        # database's (the sandbox was rebuilt), not this job's.
        shutil.rmtree(directory, ignore_errors=True)
        result = export(db, directory, filters, key, export_id=f"JOB-{job_id}")
    except Exception as exc:  # noqa: BLE001 - the job records why it failed
        known = isinstance(exc, errors.DomainError)
        detail = exc.detail if known else f"{type(exc).__name__}: {exc}"
        code = exc.code if known else "internal_error"
        db.write(
            lambda tx: _set(
                tx,
                job_id,
                status=FAILED,
                finished_at=datetime.now(UTC),
                error=detail[:500],
                error_code=code,
            )
        )
    else:
        size, sha = file_digest(result.directory / "manifest.json")
        listing = [{"name": "manifest.json", "rows": None, "bytes": size, "sha256": sha}]
        listing += [f.as_dict() for f in result.files]
        db.write(
            lambda tx: _set(
                tx,
                job_id,
                status=SUCCEEDED,
                finished_at=datetime.now(UTC),
                head_seq=result.manifest["head"]["sequence"],
                head_hash=result.manifest["head"]["hash"],
                files=json.dumps(listing),
            )
        )
    return db.read(get_job, job_id)


# ---- the whole export as one archive -----------------------------------------------

ARCHIVE_CHUNK = 1 << 16


def job_archive_files(tx: Tx, export_dir: Path, job_id: int) -> tuple[Path, list[str]]:
    """The directory and the file names (manifest first) of a succeeded job."""
    job = get_job(tx, job_id)
    if job.status != SUCCEEDED:
        raise errors.DomainError(
            errors.EXPORT_NOT_READY, f"export job {job_id} is {job.status}", job_status=job.status
        )
    names = ["manifest.json"] + [f["name"] for f in job.files if f["name"] != "manifest.json"]
    directory = job_directory(export_dir, job_id)
    for name in names:
        if not (directory / name).is_file():
            raise errors.DomainError(
                errors.EXPORT_FILE_NOT_FOUND, f"the file {name!r} of export job {job_id} is gone"
            )
    return directory, names


def archive_name(job_id: int) -> str:
    return f"export-job-{job_id}"


def tar_gz_chunks(directory: Path, names: list[str], prefix: str) -> Iterator[bytes]:
    """A gzip-compressed POSIX tar of ``names`` under ``directory``, each as
    ``prefix/name``, produced piece by piece: memory stays flat however large
    the files (a file is read ARCHIVE_CHUNK bytes at a time)."""
    import tarfile
    import zlib

    gz = zlib.compressobj(6, zlib.DEFLATED, 31)  # 31: gzip wrapper
    for name in names:
        path = directory / name
        info = tarfile.TarInfo(f"{prefix}/{name}")
        stat = path.stat()
        info.size, info.mtime, info.mode = stat.st_size, int(stat.st_mtime), 0o644
        out = gz.compress(info.tobuf(format=tarfile.PAX_FORMAT))
        if out:
            yield out
        with open(path, "rb") as f:
            while chunk := f.read(ARCHIVE_CHUNK):
                out = gz.compress(chunk)
                if out:
                    yield out
        pad = -stat.st_size % tarfile.BLOCKSIZE
        if pad:
            out = gz.compress(b"\0" * pad)
            if out:
                yield out
    yield gz.compress(b"\0" * (2 * tarfile.BLOCKSIZE)) + gz.flush()
