"""Money is an integer number of fen from the edge inwards.

This is the one module that turns text into fen and fen into text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

FEN_PER_YUAN = 100
# One trillion yuan: far above any plausible single movement, far below the
# 64-bit range even when summed over every account.
MAX_AMOUNT_FEN = 1_000_000_000_000 * FEN_PER_YUAN

_AMOUNT_RE = re.compile(r"(?:0|[1-9][0-9]*)(?:\.[0-9]{1,2})?")


class AmountError(ValueError):
    """The text is not an amount this sandbox accepts."""


def parse_amount(text: object, *, allow_zero: bool = False) -> int:
    """Parse a decimal string such as ``"1234.50"`` into fen.

    Only strings are accepted (a JSON number may already have lost precision),
    with at most two decimals, no sign, no exponent, no spaces.
    """
    if not isinstance(text, str):
        raise AmountError('must be a decimal string such as "12.34", not a number')
    if not _AMOUNT_RE.fullmatch(text):
        if text == "":
            raise AmountError("must not be empty")
        raise AmountError(
            'must be a positive decimal string with at most 2 decimals, such as "12.34"'
        )
    whole, _, frac = text.partition(".")
    # Refuses a huge digit string before int() converts it; the check on fen below
    # refuses the same amounts, so ">=" here is an equivalent mutant.
    if len(whole) > len(str(MAX_AMOUNT_FEN)):  # pragma: no mutate
        raise AmountError(f"must not exceed {format_amount(MAX_AMOUNT_FEN)}")
    fen = int(whole) * FEN_PER_YUAN + int(frac.ljust(2, "0"))
    if fen > MAX_AMOUNT_FEN:
        raise AmountError(f"must not exceed {format_amount(MAX_AMOUNT_FEN)}")
    if fen == 0 and not allow_zero:
        raise AmountError("must be greater than zero")
    return fen


def parse_signed_amount(text: object) -> int:
    """An amount that may be zero or negative (a net position, a GGR), such as
    ``"-60000.00"``, into fen: an optional ``-`` before what :func:`parse_amount` takes."""
    if isinstance(text, str) and text.startswith("-"):
        return -parse_amount(text[1:], allow_zero=True)
    return parse_amount(text, allow_zero=True)


def format_amount(fen: int) -> str:
    """Format fen as a decimal string with exactly two decimals (``-1.05`` for -105)."""
    sign = "-" if fen < 0 else ""
    whole, frac = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{whole}.{frac:02d}"


def format_cny(fen: int) -> str:
    """Fen for people to read: ``CNY 1,201,233.96`` (``CNY -1,234.56`` below zero)."""
    sign = "-" if fen < 0 else ""
    whole, frac = divmod(abs(fen), FEN_PER_YUAN)
    return f"CNY {sign}{whole:,}.{frac:02d}"


# ---- rates and shares ------------------------------------------------------------
# Exchange rates (MOP per CNY) and shares (a tax of 0.35) are decimal strings
# too, kept as Decimal: multiplying fen by them never goes through a float.

_RATE_RE = re.compile(r"(?:0|[1-9][0-9]{0,5})(?:\.[0-9]{1,6})?")


def parse_rate(text: object) -> Decimal:
    """Parse a rate or share such as ``"1.10"`` or ``"0.35"`` (at most 6 decimals)."""
    if not isinstance(text, str):
        raise AmountError('must be a decimal string such as "1.10", not a number')
    if not _RATE_RE.fullmatch(text):
        raise AmountError('must be a decimal string with at most 6 decimals, such as "1.10"')
    return Decimal(text)


@dataclass(frozen=True)
class DecimalSetting:
    """A sandbox setting written as a plain decimal string (a ratio, a
    percentage): no sign, no exponent, at most ``places`` decimals, within
    ``low``..``high`` (``low`` itself excluded when ``low_open``). The one
    definition that the API's schema and the CLI both check against."""

    name: str
    low: Decimal
    high: Decimal
    places: int
    low_open: bool = False

    @property
    def pattern(self) -> str:
        """The syntax and, as far as a pattern can say, the range: exact for a
        ``high`` that is a power of ten and a closed ``low`` of 0 or 1 (the API's
        settings); :meth:`parse` checks the range in every case."""
        frac = rf"(?:\.[0-9]{{1,{self.places}}})?"
        top = str(self.high)
        digits = len(top) - 1  # whole numbers below ``high`` have at most this many
        if top != "1" + "0" * digits or self.low_open or self.low not in (0, 1):
            return rf"(?:0|[1-9][0-9]{{0,11}}){frac}"
        top_exact = rf"{top}(?:\.0{{1,{self.places}}})?"
        if digits == 0:
            return top_exact if self.low == 1 else rf"(?:{top_exact}|0{frac})"
        below = f"[1-9][0-9]{{0,{digits - 1}}}"
        if self.low == 0:
            below = f"(?:0|{below})"
        return rf"(?:{top_exact}|{below}{frac})"

    @property
    def description(self) -> str:
        low = f"above {self.low} and" if self.low_open else f"at least {self.low} and"
        return (
            f"{low} at most {self.high}: a decimal string with at most {self.places}"
            " decimals, no sign, no exponent"
        )

    def parse(self, text: object) -> Decimal:
        """The value of ``text``, or :class:`AmountError` saying what it must be."""
        if not isinstance(text, str) or not re.fullmatch(self.pattern, text):
            raise AmountError(f"must be {self.description}")
        value = Decimal(text)
        too_low = value <= self.low if self.low_open else value < self.low
        if too_low or value > self.high:
            raise AmountError(f"must be {self.description}")
        return value


def format_rate(rate: Decimal) -> str:
    return str(rate)


def apply_rate(minor: int, rate: Decimal, rounding: str = ROUND_HALF_UP) -> int:
    """``minor`` units times ``rate``, rounded to a whole unit (half up by default)."""
    return int((Decimal(minor) * rate).to_integral_value(rounding))


def divide_by_rate(minor: int, rate: Decimal, rounding: str = ROUND_CEILING) -> int:
    """``minor`` units divided by ``rate``; rounded up by default, so that a
    threshold converted into another currency is never undercut by rounding."""
    return int((Decimal(minor) / rate).to_integral_value(rounding))
