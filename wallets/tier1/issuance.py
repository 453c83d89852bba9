"""Tier 1: reserves, issuance and redemption of e-CNY.

Issuing ``A`` to an operator posts, as one transfer:
  RESERVE  operator reserve  -> CB:RESERVE:HELD   (A x reserve ratio, see below)
  ECNY     CB:ISSUANCE       -> operator position  (tier 1)
  ECNY     operator settlement -> operator vault   (tier 2)
Redemption is the mirror image.

With a ratio below 1, the reserve consumed is kept at exactly
``ceil(outstanding x ratio)`` after every issuance and redemption, so invariant 5
of SPEC.md §3 holds to the fen with no rounding drift.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

from ..core import errors
from ..core.db import Tx
from ..core.principal import Principal
from ..core.schema import sandbox
from ..ledger.accounts import ECNY, RESERVE, account_id_by_code
from ..ledger.journal import PostedTransfer
from ..ledger.money import AmountError, DecimalSetting
from ..ledger.posting import Leg, Posting, TransferDraft, post_one
from . import operators as ops

CB_ISSUANCE = "CB:ISSUANCE"
CB_RESERVE_FUNDING = "CB:RESERVE:FUNDING"
CB_RESERVE_HELD = "CB:RESERVE:HELD"


RESERVE_RATIO = DecimalSetting("reserve_ratio", Decimal(0), Decimal(1), places=6, low_open=True)


def reserve_ratio(tx: Tx) -> Fraction:
    return Fraction(Decimal(tx.sandbox.reserve_ratio))


def required_reserve(outstanding: int, ratio: Fraction) -> int:
    return math.ceil(outstanding * ratio)


def set_reserve_ratio(tx: Tx, text: str) -> Fraction:
    """Set the reserve ratio (:data:`RESERVE_RATIO`), only while no e-CNY is outstanding."""
    try:
        ratio = Fraction(RESERVE_RATIO.parse(text))
    except AmountError as exc:
        raise errors.DomainError(
            errors.VALIDATION_FAILED,
            f"reserve_ratio: {exc}",
            errors={"reserve_ratio": [str(exc)]},
        ) from exc
    issuance = account_id_by_code(tx, CB_ISSUANCE)
    posting = Posting(tx, [issuance])
    if posting.balance(issuance) != 0 and ratio != reserve_ratio(tx):
        raise errors.DomainError(errors.RESERVE_RATIO_LOCKED)
    tx.conn.execute(sandbox.update().where(sandbox.c.id == 1).values(reserve_ratio=text))
    tx.forget_clock()
    return ratio


def deposit_reserve(
    tx: Tx, op_code: str, amount: int, actor: Principal, reference: str | None = None
) -> PostedTransfer:
    op = ops.get(tx, op_code, actor)
    funding = account_id_by_code(tx, CB_RESERVE_FUNDING)
    draft = TransferDraft(
        kind="reserve_deposit",
        asset=RESERVE,
        amount=amount,
        legs=[Leg(funding, op.accounts["reserve"], amount, RESERVE)],
        to_operator_id=op.id,
        reference=reference,
    )
    return post_one(tx, draft)


def issue(
    tx: Tx, op_code: str, amount: int, actor: Principal, reference: str | None = None
) -> PostedTransfer:
    op = ops.get(tx, op_code, actor)
    issuance, held = account_id_by_code(tx, CB_ISSUANCE), account_id_by_code(tx, CB_RESERVE_HELD)
    ids = [issuance, held, *op.accounts.values()]
    posting = Posting(tx, ids)
    outstanding = -posting.balance(issuance)
    consume = required_reserve(outstanding + amount, reserve_ratio(tx)) - posting.balance(held)
    legs = [
        Leg(issuance, op.accounts["position"], amount, ECNY),
        Leg(op.accounts["settlement"], op.accounts["vault"], amount, ECNY),
    ]
    if consume > 0:
        legs.insert(0, Leg(op.accounts["reserve"], held, consume, RESERVE))
    draft = TransferDraft(
        kind="issuance",
        asset=ECNY,
        amount=amount,
        legs=legs,
        to_operator_id=op.id,
        reference=reference,
    )
    return posting.post(draft)


def redeem(
    tx: Tx, op_code: str, amount: int, actor: Principal, reference: str | None = None
) -> PostedTransfer:
    op = ops.get(tx, op_code, actor)
    issuance, held = account_id_by_code(tx, CB_ISSUANCE), account_id_by_code(tx, CB_RESERVE_HELD)
    posting = Posting(tx, [issuance, held, *op.accounts.values()])
    outstanding = -posting.balance(issuance)
    release = posting.balance(held) - required_reserve(
        max(outstanding - amount, 0), reserve_ratio(tx)
    )
    legs = [
        Leg(op.accounts["vault"], op.accounts["settlement"], amount, ECNY),
        Leg(op.accounts["position"], issuance, amount, ECNY),
    ]
    if release > 0:
        legs.append(Leg(held, op.accounts["reserve"], release, RESERVE))
    draft = TransferDraft(
        kind="redemption",
        asset=ECNY,
        amount=amount,
        legs=legs,
        from_operator_id=op.id,
        reference=reference,
    )
    return posting.post(draft)
