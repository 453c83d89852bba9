"""Authorized operators and their accounts in both tiers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from ..core import errors, outbox
from ..core.db import Tx, inserted_id
from ..core.preconditions import IfMatch, check, etag_of
from ..core.principal import Principal
from ..core.schema import accounts, journal_entries, operators, wallets
from ..ledger.accounts import ECNY, RESERVE, operator_codes
from ..ledger.money import format_amount
from . import settlement

CODE_RE = re.compile(r"[A-Z][A-Z0-9_]{1,31}")

# An operator's accounts: (kind, asset, may go negative).
#   reserve    tier 1: its reserve at the central bank
#   position   tier 1: e-CNY the central bank records as held at the operator
#   vault      tier 2: e-CNY it holds but has not handed out
#   holds      tier 2: escrow of its wallets' open holds (two-phase payments)
#   offline    tier 2: its wallets' offline purses' loaded e-CNY (docs/offline.md)
#   offline_pending  tier 2: offline vouchers' money its payees wait for (until validated)
#   settlement tier 2: contra of its position; minus (vault + wallets + holds + offline)
OPERATOR_ACCOUNTS = (
    ("reserve", RESERVE, False),
    ("position", ECNY, False),
    ("vault", ECNY, False),
    ("holds", ECNY, False),
    ("offline", ECNY, False),
    ("offline_pending", ECNY, False),
    ("settlement", ECNY, True),
)

# The accounts of its wallets' offline purses (docs/offline.md).
OFFLINE_KINDS = ("offline", "offline_pending")


@dataclass(frozen=True)
class Operator:
    id: int
    code: str
    name: str
    accounts: dict[str, int]  # kind -> account id


@dataclass(frozen=True)
class OperatorFigures:
    operator: Operator
    reserve: int
    position: int
    vault: int
    holds: int  # in escrow: its wallets' open holds and its red-envelope campaigns' money
    offline: int  # its purses' loaded e-CNY and its payees' pending offline vouchers
    wallets_total: int  # its wallets' available balances
    wallet_count: int
    reserve_consumed: int  # reserve its issuance consumed, net of what redemptions released
    open_window_net: int  # deferred net settlement: received - sent in the open window
    net_debit_cap: int

    @property
    def reconciled(self) -> bool:
        """Tier 1 agrees with tier 2, allowing for the open window's pending moves."""
        return (
            self.position + self.open_window_net
            == self.vault + self.wallets_total + self.holds + self.offline
        )

    @property
    def utilisation_percent(self) -> str | None:
        debit = max(-self.open_window_net, 0)
        if not self.net_debit_cap:
            return None
        return f"{Decimal(debit) * 100 / Decimal(self.net_debit_cap):.2f}"


def account_code(op_code: str, kind: str) -> str:
    return f"OP:{op_code}:{kind.upper()}"


def create(tx: Tx, code: str, name: str) -> Operator:
    if not CODE_RE.fullmatch(code):
        raise errors.DomainError(
            errors.VALIDATION_FAILED,
            "code must be 2-32 upper-case letters, digits or '_', starting with a letter",
            errors={"code": ["must match [A-Z][A-Z0-9_]{1,31}"]},
        )
    exists = tx.conn.execute(sa.select(operators.c.id).where(operators.c.code == code)).first()
    if exists:
        raise errors.DomainError(errors.OPERATOR_EXISTS, f"operator {code} exists")
    now = tx.now()
    inserted = tx.conn.execute(operators.insert().values(code=code, name=name, created_at=now))
    op_id = inserted_id(inserted)
    ids = {}
    for kind, asset, may_go_negative in OPERATOR_ACCOUNTS:
        inserted = tx.conn.execute(
            accounts.insert().values(
                code=account_code(code, kind),
                asset=asset,
                kind=kind,
                operator_id=op_id,
                may_go_negative=may_go_negative,
                created_at=now,
            )
        )
        ids[kind] = inserted_id(inserted)
    op = Operator(op_id, code, name, ids)
    outbox.emit(
        tx,
        outbox.Event("operator.created", document(tx, op), operator_id=op_id, central_bank=True),
    )
    return op


def set_net_debit_cap(
    tx: Tx, op: Operator, cap: int | None, *, if_match: IfMatch | None = None
) -> None:
    """Set the operator's net debit cap (None: its free reserve x the NDC ratio);
    with ``if_match``, only while the operator is at one of its ETags (412)."""
    check(if_match, etag(tx, op, lock=True), f"operator {op.code}")
    settlement.set_net_debit_cap(tx, op.id, cap)
    outbox.emit(
        tx,
        outbox.Event(
            "operator.net_debit_cap_set", document(tx, op), operator_id=op.id, central_bank=True
        ),
    )


def document(tx: Tx, op: Operator) -> dict:
    """The operator as ``GET /v1/operators/{code}`` renders it (``OperatorOut``)."""
    f = figures(tx, op)
    return {
        "code": op.code,
        "name": op.name,
        "reserve": format_amount(f.reserve),
        "position": format_amount(f.position),
        "vault": format_amount(f.vault),
        "wallets_total": format_amount(f.wallets_total),
        "holds": format_amount(f.holds),
        "offline": format_amount(f.offline),
        "wallet_count": f.wallet_count,
        "reserve_total": format_amount(f.reserve + f.reserve_consumed),
        "reserve_consumed": format_amount(f.reserve_consumed),
        "open_window_net": format_amount(f.open_window_net),
        "net_debit_cap": format_amount(f.net_debit_cap),
        "utilisation_percent": f.utilisation_percent,
        "reconciled": f.reconciled,
    }


def _from_row(tx: Tx, row: sa.Row) -> Operator:
    acc = tx.conn.execute(
        sa.select(accounts.c.kind, accounts.c.id).where(
            accounts.c.operator_id == row.id, accounts.c.wallet_id.is_(None)
        )
    ).all()
    return Operator(row.id, row.code, row.name, {k: i for k, i in acc})


def get(tx: Tx, code: str, actor: Principal) -> Operator:
    row = tx.conn.execute(sa.select(operators).where(operators.c.code == code)).first()
    if row is None or not actor.sees_operator(row.id):
        raise errors.DomainError(errors.OPERATOR_NOT_FOUND, f"no operator {code}")
    return _from_row(tx, row)


def etag(tx: Tx, op: Operator, *, lock: bool = False) -> str:
    """The operator's ETag: of what its writes set (its code, name and net
    debit cap as set), not of its figures, which every payment moves. ``lock``:
    its row is locked first, until the transaction ends (a write that checks
    an If-Match against it and then changes the operator or its limits)."""
    if lock:
        lock_row(tx, op.id)
    row = tx.conn.execute(
        sa.select(operators.c.code, operators.c.name, operators.c.net_debit_cap).where(
            operators.c.id == op.id
        )
    ).one()
    return etag_of("op", {"code": row.code, "name": row.name, "net_debit_cap": row.net_debit_cap})


def lock_row(tx: Tx, operator_id: int) -> None:
    """Lock the operator's row until the transaction ends (PostgreSQL; a SQLite
    writer holds the one write lock already): a write that checks an If-Match
    against the operator or its limits, then changes them."""
    tx.conn.execute(
        sa.select(operators.c.id).where(operators.c.id == operator_id).with_for_update()
    )


def get_by_id(tx: Tx, operator_id: int) -> Operator:
    row = tx.conn.execute(sa.select(operators).where(operators.c.id == operator_id)).one()
    return _from_row(tx, row)


def codes_by_id(tx: Tx) -> dict[int, str]:
    return dict(tx.conn.execute(sa.select(operators.c.id, operators.c.code)).all())


# The codes of some operators, cached (the posting engine names them in its events too).
codes_of = operator_codes


def list_(tx: Tx, actor: Principal, after: str | None, limit: int) -> list[Operator]:
    stmt = sa.select(operators).order_by(operators.c.code).limit(limit)
    if after:
        stmt = stmt.where(operators.c.code > after)
    if actor.role == "operator":
        stmt = stmt.where(operators.c.id == actor.operator_id)
    return [_from_row(tx, r) for r in tx.conn.execute(stmt)]


def figures(tx: Tx, op: Operator) -> OperatorFigures:
    bal = accounts.c.credits_posted - accounts.c.debits_posted
    # Summed by kind: an operator has one account of each kind of its own, and
    # a red-envelope campaign's escrow (kind envelopes) for each of its issuers'.
    by_kind = {
        kind: int(total)
        for kind, total in tx.conn.execute(
            sa.select(accounts.c.kind, sa.func.sum(bal))
            .where(accounts.c.operator_id == op.id, accounts.c.wallet_id.is_(None))
            .group_by(accounts.c.kind)
        ).all()
    }
    w_total, w_count = tx.conn.execute(
        sa.select(sa.func.coalesce(sa.func.sum(bal), 0), sa.func.count())
        .select_from(accounts.join(wallets, wallets.c.id == accounts.c.wallet_id))
        .where(wallets.c.operator_id == op.id, accounts.c.asset == ECNY)
    ).one()
    je = journal_entries
    held = tx.conn.execute(
        sa.select(accounts.c.id).where(accounts.c.code == "CB:RESERVE:HELD")
    ).scalar_one()
    reserve_acc = op.accounts["reserve"]
    moved = dict(
        tx.conn.execute(
            sa.select(je.c.credit_account_id, sa.func.coalesce(sa.func.sum(je.c.amount), 0))
            .where(
                sa.or_(
                    sa.and_(je.c.debit_account_id == reserve_acc, je.c.credit_account_id == held),
                    sa.and_(je.c.debit_account_id == held, je.c.credit_account_id == reserve_acc),
                )
            )
            .group_by(je.c.credit_account_id)
        ).all()
    )
    return OperatorFigures(
        operator=op,
        reserve=by_kind.get("reserve", 0),
        position=by_kind.get("position", 0),
        vault=by_kind.get("vault", 0),
        holds=by_kind.get("holds", 0) + by_kind.get("envelopes", 0),
        offline=by_kind.get("offline", 0) + by_kind.get("offline_pending", 0),
        wallets_total=int(w_total),
        wallet_count=int(w_count),
        reserve_consumed=int(moved.get(held, 0)) - int(moved.get(reserve_acc, 0)),
        open_window_net=settlement.open_window_nets(tx).get(op.id, 0),
        net_debit_cap=settlement.net_debit_caps(tx, [op.id])[op.id],
    )
