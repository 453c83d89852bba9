"""What every file of an export shares: the filters and their scope in the
snapshot, the formats, progress reporting, streaming rows, a file's digest."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa

from ...core import errors
from ...core.clock import SANDBOX_TZ
from ...core.db import Tx
from ...core.schema import (
    accounts,
    journal_entries,
    ledger_head,
    operators,
    transfers,
    wallets,
)
from ...ledger.journal import HASH_TIME_FORMAT

FORMATS = ("csv", "jsonl", "camt053")
YIELD_PER = 2000


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


@dataclass
class ExportedFile:
    name: str
    rows: int
    bytes: int = 0
    sha256: str = ""

    def as_dict(self) -> dict:
        return {"name": self.name, "rows": self.rows, "bytes": self.bytes, "sha256": self.sha256}


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
