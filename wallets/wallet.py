"""Wallets: opened by an operator for a holder, each with an e-CNY account."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from . import errors
from . import operators as ops
from .db import Tx
from .ledger import ECNY
from .principal import OPERATOR, Principal
from .schema import accounts, operators, wallets

CLASSES = (1, 2, 3, 4)
KINDS = ("personal", "merchant")
ACTIVE, FROZEN, CLOSED = "active", "frozen", "closed"
REGION_RE = re.compile(r"[A-Z]{2}")
PHONE_RE = re.compile(r"\+[1-9][0-9]{6,14}")  # E.164


@dataclass(frozen=True)
class Wallet:
    id: int
    operator_id: int
    operator_code: str
    wallet_class: int
    kind: str
    status: str
    holder_id: str
    region: str
    birth_date: date | None
    has_phone: bool
    parent_id: int | None
    label: str | None
    version: int
    created_at: datetime
    account_id: int
    balance: int


def wallet_account_code(wallet_id: int, asset: str = ECNY) -> str:
    return f"W:{wallet_id}:{asset}"


def phone_hash(secret: str, phone: str) -> str:
    return hmac.new(secret.encode(), phone.encode(), hashlib.sha256).hexdigest()


def _invalid(field: str, message: str) -> errors.DomainError:
    return errors.DomainError(
        errors.VALIDATION_FAILED, f"{field}: {message}", errors={field: [message]}
    )


def open_wallet(
    tx: Tx,
    actor: Principal,
    *,
    operator_code: str | None,
    wallet_class: int,
    kind: str = "personal",
    region: str,
    holder_id: str | None = None,
    birth_date: date | None = None,
    phone: str | None = None,
    parent_id: int | None = None,
    label: str | None = None,
    phone_secret: str,
) -> Wallet:
    if operator_code is None:
        if actor.role != OPERATOR:
            raise _invalid("operator", "is required")
        operator_code = actor.operator_code
    op = ops.get(tx, operator_code, actor)
    if wallet_class not in CLASSES:
        raise _invalid("wallet_class", "must be 1, 2, 3 or 4")
    if kind not in KINDS:
        raise _invalid("kind", "must be personal or merchant")
    if not REGION_RE.fullmatch(region or ""):
        raise _invalid("region", "must be a two-letter region code such as CN, MO or HK")
    if phone is not None and not PHONE_RE.fullmatch(phone):
        raise _invalid("phone", "must be an E.164 number such as +8613800000000")
    if wallet_class == 4:
        # Anonymous: a phone-number hash and nothing else about the holder.
        if phone is None:
            raise _invalid("phone", "is required for a class 4 wallet")
        if birth_date is not None:
            raise _invalid("birth_date", "a class 4 wallet holds only a phone-number hash")
    elif kind == "personal" and birth_date is None:
        raise _invalid("birth_date", f"is required for a class {wallet_class} personal wallet")
    if birth_date is not None and birth_date > tx.now().date():
        raise _invalid("birth_date", "must not be in the future")
    if parent_id is not None:
        parent = get(tx, parent_id, actor)
        if parent.operator_id != op.id:
            raise _invalid("parent_id", "a sub-wallet must be at its parent's operator")
        if parent.parent_id is not None:
            raise _invalid("parent_id", "a sub-wallet cannot have sub-wallets")
        if parent.status == CLOSED:
            raise _invalid("parent_id", "the parent wallet is closed")
    now = tx.now()
    wallet_id = tx.conn.execute(
        wallets.insert().values(
            operator_id=op.id,
            wallet_class=wallet_class,
            kind=kind,
            status=ACTIVE,
            holder_id=holder_id or f"h_{secrets.token_hex(8)}",
            region=region,
            birth_date=birth_date,
            phone_hash=phone_hash(phone_secret, phone) if phone else None,
            parent_id=parent_id,
            label=label,
            created_at=now,
        )
    ).inserted_primary_key[0]
    tx.conn.execute(
        accounts.insert().values(
            code=wallet_account_code(wallet_id),
            asset=ECNY,
            kind="wallet",
            operator_id=op.id,
            wallet_id=wallet_id,
            may_go_negative=False,
            created_at=now,
        )
    )
    return get(tx, wallet_id, actor)


def _select():
    bal = (accounts.c.credits_posted - accounts.c.debits_posted).label("balance")
    return (
        sa.select(
            wallets,
            operators.c.code.label("operator_code"),
            accounts.c.id.label("account_id"),
            bal,
        )
        .join(operators, operators.c.id == wallets.c.operator_id)
        .join(accounts, sa.and_(accounts.c.wallet_id == wallets.c.id, accounts.c.asset == ECNY))
    )


def _from_row(row: sa.Row) -> Wallet:
    return Wallet(
        id=row.id,
        operator_id=row.operator_id,
        operator_code=row.operator_code,
        wallet_class=row.wallet_class,
        kind=row.kind,
        status=row.status,
        holder_id=row.holder_id,
        region=row.region,
        birth_date=row.birth_date,
        has_phone=row.phone_hash is not None,
        parent_id=row.parent_id,
        label=row.label,
        version=row.version,
        created_at=row.created_at,
        account_id=row.account_id,
        balance=row.balance,
    )


def find(tx: Tx, wallet_id: int) -> Wallet | None:
    """A wallet by id, whoever asks (for the payee side of a payment)."""
    row = tx.conn.execute(_select().where(wallets.c.id == wallet_id)).first()
    return _from_row(row) if row else None


def get(tx: Tx, wallet_id: int, actor: Principal) -> Wallet:
    w = find(tx, wallet_id)
    if w is None or not actor.sees_wallets_of(w.operator_id):
        raise errors.DomainError(errors.WALLET_NOT_FOUND, f"no wallet {wallet_id}")
    return w


def list_(
    tx: Tx, actor: Principal, *, operator_code: str | None, after: int | None, limit: int
) -> list[Wallet]:
    stmt = _select().order_by(wallets.c.id).limit(limit)
    if actor.role == OPERATOR:
        stmt = stmt.where(wallets.c.operator_id == actor.operator_id)
    elif not actor.sees_wallets_of(-1):
        return []
    if operator_code is not None:
        stmt = stmt.where(operators.c.code == operator_code)
    if after is not None:
        stmt = stmt.where(wallets.c.id > after)
    return [_from_row(r) for r in tx.conn.execute(stmt)]


def current_statuses(tx: Tx, wallet_ids: list[int]) -> dict[int, str]:
    return dict(
        tx.conn.execute(
            sa.select(wallets.c.id, wallets.c.status).where(wallets.c.id.in_(wallet_ids))
        ).all()
    )
