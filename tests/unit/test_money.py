import pytest
from hypothesis import given
from hypothesis import strategies as st

from wallets.money import (
    MAX_AMOUNT_FEN,
    AmountError,
    format_amount,
    parse_amount,
    parse_signed_amount,
)


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("1", 100),
        ("0.01", 1),
        ("0.5", 50),
        ("12.34", 1234),
        ("100.00", 10000),
        ("1000000000000.00", MAX_AMOUNT_FEN),
    ],
)
def test_parses_decimal_strings_to_fen(text, fen):
    assert parse_amount(text) == fen


@pytest.mark.parametrize(
    "bad",
    [
        "1.001",
        "-5",
        "1e3",
        "",
        " 1",
        "1 ",
        "+1",
        "01",
        "1.",
        ".5",
        "0",
        "0.00",
        "1,00",
        "NaN",
        "Infinity",
        "１",
        "1000000000000.01",
        "9" * 40,
    ],
)
def test_refuses_anything_else(bad):
    with pytest.raises(AmountError):
        parse_amount(bad)


@pytest.mark.parametrize("bad", [1, 1.5, None, True, ["1"], {"a": 1}])
def test_refuses_non_strings(bad):
    with pytest.raises(AmountError, match="decimal string"):
        parse_amount(bad)


def test_zero_only_when_allowed():
    assert parse_amount("0", allow_zero=True) == 0
    assert parse_amount("0.00", allow_zero=True) == 0


@given(st.integers(min_value=1, max_value=MAX_AMOUNT_FEN))
def test_format_then_parse_round_trips(fen):
    text = format_amount(fen)
    assert parse_amount(text) == fen
    assert text.count(".") == 1 and len(text.split(".")[1]) == 2


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_format_is_exact_for_negative_balances(fen):
    text = format_amount(fen)
    whole, frac = text.lstrip("-").split(".")
    assert (int(whole) * 100 + int(frac)) * (-1 if text.startswith("-") else 1) == fen


@given(st.integers(min_value=-MAX_AMOUNT_FEN, max_value=MAX_AMOUNT_FEN))
def test_signed_amounts_round_trip(fen):
    assert parse_signed_amount(format_amount(fen)) == fen


@pytest.mark.parametrize("bad", ["--1", "+1", "-", "- 1", "-01", "1e2", "-1.001", 5])
def test_signed_amounts_refuse_anything_else(bad):
    with pytest.raises(AmountError):
        parse_signed_amount(bad)
