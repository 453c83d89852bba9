import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wallets.ledger.money import (
    MAX_AMOUNT_FEN,
    AmountError,
    DecimalSetting,
    format_amount,
    parse_amount,
    parse_signed_amount,
)
from wallets.tier1.settlement import NDC_ALERT_PERCENT, NDC_RESERVE_RATIO


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


# ---- decimal settings: the documented pattern says exactly what parse accepts ----

_SETTINGS = [
    NDC_RESERVE_RATIO,
    NDC_ALERT_PERCENT,
    DecimalSetting("ten", Decimal(1), Decimal(10), places=1),
    DecimalSetting("one", Decimal(0), Decimal(1), places=3),
    DecimalSetting("thousand", Decimal(0), Decimal(1000), places=2),
]
_decimalish = st.one_of(
    st.from_regex(r"-?[0-9]{1,5}(\.[0-9]{0,6})?", fullmatch=True),
    st.decimals(min_value=-10, max_value=2000, allow_nan=False, places=4).map(str),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1E+2", "0E-7", "100.", ".5", ""]),
    st.text(alphabet="0123456789.e+-Ia ", max_size=8),
)


@pytest.mark.parametrize("setting", _SETTINGS, ids=lambda s: s.name)
@given(text=_decimalish)
def test_a_settings_pattern_matches_exactly_what_it_accepts(setting, text):
    try:
        setting.parse(text)
        accepted = True
    except AmountError:
        accepted = False
    assert (re.fullmatch(setting.pattern, text) is not None) == accepted, (setting.pattern, text)


@pytest.mark.parametrize(
    "setting, good, bad",
    [
        (NDC_RESERVE_RATIO, ["0", "0.5", "99.9999", "100", "100.0000"], ["100.0001", "1e2", "-0"]),
        (NDC_ALERT_PERCENT, ["1", "80", "99.99", "100.00"], ["0.99", "0", "101", "80.001"]),
    ],
)
def test_settings_bounds(setting, good, bad):
    for text in good:
        assert setting.parse(text) == Decimal(text)
    for text in bad:
        with pytest.raises(AmountError, match="must be"):
            setting.parse(text)
