"""Payment codes: a wallet holder's consent to one debit by a casino's cage.

e-CNY pays a merchant with a code the payer's wallet shows: the payer's side
issues it, the merchant presents it. Here the wallet's operator (or the admin)
issues a code for a wallet: random, one-time, valid for the profile's
``casino.payment_codes.lifetime_seconds`` on the sandbox clock, with an
optional cap. The cage presents it with a buy-in, and the buy-in consumes it in
its own transaction: a refused buy-in leaves it unused, and of two buy-ins
racing on one code exactly one commits with it.

Only the code's SHA-256 hash is stored (as for API keys, wallets/access/keys.py): the
code is 24 random bytes, so a fast hash is enough, and neither the database
nor the audit log holds a usable code.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..core import errors, outbox
from ..core.db import Tx, inserted_id
from ..core.principal import Principal
from ..core.schema import casinos, payment_codes, wallets
from ..ledger.money import format_amount
from ..rules import casino_rules
from . import wallet as wl

CODE_PREFIX = "pc_"


@dataclass(frozen=True)
class NewPaymentCode:
    id: int
    code: str  # the secret: in the issuing response only, never stored
    wallet_id: int
    max_amount: int | None
    issued_at: datetime
    expires_at: datetime


def hash_code(code: str) -> str:
    # surrogatepass: any JSON string hashes (a lone surrogate is simply no code).
    return hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest()


def issue(
    tx: Tx, wallet_id: int, actor: Principal, *, max_amount: int | None = None
) -> NewPaymentCode:
    """A new code for the wallet (in the caller's scope: another operator's is
    404). Codes exist for the cage, so the profile needs casino rules
    (``casino_rules_unavailable`` under ``default``)."""
    rules = casino_rules(tx)
    # Any wallet in scope, whatever its status: the buy-in refuses a frozen or
    # closed wallet itself, with that reason.
    w = wl.get(tx, wallet_id, actor)
    code = CODE_PREFIX + secrets.token_urlsafe(24)
    now = tx.now()
    expires_at = now + timedelta(seconds=rules.payment_code_lifetime_seconds)
    code_id = inserted_id(
        tx.conn.execute(
            payment_codes.insert().values(
                code_hash=hash_code(code),
                wallet_id=w.id,
                max_amount=max_amount,
                api_key_id=actor.key_id,
                issued_at=now,
                expires_at=expires_at,
            )
        )
    )
    new = NewPaymentCode(code_id, code, w.id, max_amount, now, expires_at)
    outbox.emit(
        tx,
        outbox.Event("payment_code.issued", _document(tx, code_id), operator_id=w.operator_id),
    )
    return new


def _document(tx: Tx, code_id: int) -> dict:
    """A code as the issuing answer renders it, never the code (nor its hash),
    with when and at which casino it was used."""
    pc = payment_codes.c
    r = tx.conn.execute(
        sa.select(
            pc.id,
            pc.wallet_id,
            pc.max_amount,
            pc.issued_at,
            pc.expires_at,
            pc.used_at,
            casinos.c.ref,
        )
        .outerjoin(casinos, casinos.c.id == pc.used_by_casino_id)
        .where(pc.id == code_id)
    ).one()
    return {
        "id": r.id,
        "wallet": r.wallet_id,
        "max_amount": None if r.max_amount is None else format_amount(r.max_amount),
        "issued_at": r.issued_at,
        "expires_at": r.expires_at,
        "used_at": r.used_at,
        "used_by_casino": r.ref,
    }


def consume(tx: Tx, code: str | None, *, wallet_id: int, amount: int, casino_id: int) -> None:
    """Use ``code`` for a debit of ``amount`` from ``wallet_id``, or refuse with
    the reason. The caller's transaction holds the code from here on: if it
    rolls back, the code is unused again."""
    if code is None:
        raise errors.DomainError(
            errors.PAYMENT_CODE_REQUIRED,
            f"a buy-in needs a payment code of wallet {wallet_id}"
            f" (POST /v1/wallets/{wallet_id}/payment-codes)",
            field="payment_code",
        )
    pc = payment_codes.c
    row = tx.conn.execute(
        sa.select(pc.id, pc.wallet_id, pc.max_amount, pc.expires_at, pc.used_at).where(
            pc.code_hash == hash_code(code)
        )
    ).first()
    if row is None:
        raise errors.DomainError(
            errors.PAYMENT_CODE_INVALID, "no such payment code", field="payment_code"
        )
    if row.wallet_id != wallet_id:
        raise errors.DomainError(
            errors.PAYMENT_CODE_WALLET_MISMATCH,
            f"the payment code is not wallet {wallet_id}'s",
            field="payment_code",
        )
    if row.used_at is not None:
        raise errors.DomainError(
            errors.PAYMENT_CODE_USED, "the payment code was used already", field="payment_code"
        )
    now = tx.now()
    if now >= row.expires_at:
        raise errors.DomainError(
            errors.PAYMENT_CODE_EXPIRED, "the payment code has expired", field="payment_code"
        )
    if row.max_amount is not None and amount > row.max_amount:
        raise errors.DomainError(
            errors.PAYMENT_CODE_AMOUNT_EXCEEDED,
            "the amount is above the payment code's cap",
            field="payment_code",
            max_amount=format_amount(row.max_amount),
        )
    # A concurrent buy-in with the same code waits on this row and then finds
    # it used: exactly one of them updates it.
    used = tx.conn.execute(
        sa.update(payment_codes)
        .where(pc.id == row.id, pc.used_at.is_(None))
        .values(used_at=now, used_by_casino_id=casino_id)
    )
    if used.rowcount != 1:
        raise errors.DomainError(
            errors.PAYMENT_CODE_USED, "the payment code was used already", field="payment_code"
        )
    doc = _document(tx, row.id)
    operator_id = tx.conn.execute(
        sa.select(wallets.c.operator_id).where(wallets.c.id == row.wallet_id)
    ).scalar_one()
    outbox.emit(
        tx,
        outbox.Event(
            "payment_code.used", doc, operator_id=operator_id, casino_ref=doc["used_by_casino"]
        ),
    )
