"""Chips in CNY, HKD or MOP (docs/macau.md §13).

A casino's chips are in its ``chip_currency``: chip amounts are cents (HKD),
avos (MOP) or fen (CNY). The cage converts at the rate in force at the
operation's sandbox time, from the profile's rate table (``fx.rates``, the base
``fx.mop_per_cny`` before its first entry; rules.profile.FxRates): MOP per CNY
for MOP chips, that rate divided by the peg ``fx.mop_per_hkd`` (to 6 decimals,
half even) for HKD chips, 1 for CNY chips. The rate is "chips per CNY".

Every conversion at the cage rounds to a whole cent, avo or fen in the casino's
favour: a buy-in's chips and a cash-out's e-CNY are rounded down, the e-CNY of a
credit repayment (a debt in chips) is rounded up. The close values its figures
at the rate in force at the end of the gaming day, half up (away from zero).
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from ..core import errors
from ..ledger.money import (
    MAX_AMOUNT_FEN,
    apply_rate,
    divide_by_rate,
    format_amount,
    format_rate,
)
from ..rules.profile import CHIP_CURRENCIES, FxRates, active_profile

if TYPE_CHECKING:
    from ..core.db import Tx
    from ..rules.profile import CasinoRules

CURRENCIES = CHIP_CURRENCIES
CNY = "CNY"


def rates(tx: Tx) -> FxRates:
    fx = active_profile(tx).fx
    # Equivalent mutant: the message of an assert that parsing the profile keeps true.
    assert fx is not None, "a profile with casino rules has fx"  # pragma: no mutate
    return fx


def rate_at(tx: Tx, currency: str, at: datetime) -> Decimal:
    """Chips of ``currency`` per CNY at ``at``."""
    fx = rates(tx)
    return fx.chips_per_cny(currency, fx.mop_per_cny_at(at))


def to_chips(ecny: int, rate: Decimal) -> int:
    """A buy-in: fen into chips, rounded down (the casino's favour)."""
    return apply_rate(ecny, rate, ROUND_FLOOR)


def to_ecny(chips: int, rate: Decimal, rounding: str = ROUND_FLOOR) -> int:
    """Chips into fen: rounded down for a cash-out (the casino's favour), up
    for a repayment's debt (``ROUND_CEILING``)."""
    return divide_by_rate(chips, rate, rounding)


def value_in_cny(chips: int, rate: Decimal) -> int:
    """A close's figure in fen at the closing rate, half up (away from zero)."""
    return divide_by_rate(chips, rate, ROUND_HALF_UP)


def repayment_ecny(chips: int, rate: Decimal) -> int:
    return to_ecny(chips, rate, ROUND_CEILING)


def mop_per_chip_unit(fx: FxRates, currency: str, at: datetime) -> Decimal:
    """What one unit of ``currency`` is worth in MOP at ``at``: 1 for MOP, the
    peg for HKD, MOP per CNY for CNY."""
    if currency == "MOP":
        return Decimal(1)
    if currency == "HKD":
        return fx.mop_per_hkd
    return fx.mop_per_cny_at(at)


def mop_value(tx: Tx, currency: str, chips: int, at: datetime) -> int:
    """``chips`` in MOP avos (half up): evidence for the LTR."""
    return apply_rate(chips, mop_per_chip_unit(rates(tx), currency, at))


def ltr_threshold(tx: Tx, rules: CasinoRules, currency: str, at: datetime) -> int:
    """The LTR threshold (MOP) in chips of ``currency`` at ``at``: a chip amount
    is at or above it exactly when its MOP value (unrounded) is at or above the
    MOP threshold — the MOP figure itself for MOP chips, divided by the peg for
    HKD, by the rate in force for CNY (rounded up: integral amounts lose nothing)."""
    per_unit = mop_per_chip_unit(rates(tx), currency, at)
    if per_unit == 1:
        return rules.ltr_threshold_mop
    return divide_by_rate(rules.ltr_threshold_mop, per_unit)


def lowest_ltr_threshold(
    tx: Tx, rules: CasinoRules, currency: str, start: datetime, end: datetime
) -> int:
    """The lowest LTR threshold in chips of ``currency`` in force over [start, end)."""
    fx = rates(tx)
    if currency != CNY:
        return ltr_threshold(tx, rules, currency, start)
    in_force = [fx.mop_per_cny_at(start), *(r for at, r in fx.rates if start < at < end)]
    return min(divide_by_rate(rules.ltr_threshold_mop, r) for r in in_force)


def check_convertible(converted: int, amount: int, rate: Decimal, currency: str, what: str) -> None:
    """Refuse a conversion that gives nothing (``amount_below_conversion``) or
    more than the largest amount the sandbox moves (``validation_failed``)."""
    if converted == 0:
        raise nothing_converted(amount, rate, currency, what)
    if converted > MAX_AMOUNT_FEN:
        message = (
            f"{format_amount(amount)} {what} at {format_rate(rate)} {currency} per CNY is more "
            f"than {format_amount(MAX_AMOUNT_FEN)}"
        )
        raise errors.DomainError(
            errors.VALIDATION_FAILED, f"amount: {message}", errors={"amount": [message]}
        )


def nothing_converted(amount: int, rate: Decimal, currency: str, what: str) -> errors.DomainError:
    return errors.DomainError(
        errors.AMOUNT_BELOW_CONVERSION,
        f"{format_amount(amount)} {what} at {format_rate(rate)} {currency} per CNY, "
        "rounded in the casino's favour, is nothing",
        field="amount",
        rate=format_rate(rate),
        chip_currency=currency,
    )
