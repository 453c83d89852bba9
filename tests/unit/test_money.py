import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wallets.ledger.money import (
    MAX_AMOUNT_FEN,
    AmountError,
    DecimalSetting,
    apply_rate,
    divide_by_rate,
    format_amount,
    format_rate,
    parse_amount,
    parse_rate,
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


# ---- what each refusal says: the text is the API's error detail -------------------

_POSITIVE = 'must be a positive decimal string with at most 2 decimals, such as "12.34"'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (5, 'must be a decimal string such as "12.34", not a number'),
        ("", "must not be empty"),
        ("1.001", _POSITIVE),
        ("-5", _POSITIVE),
        ("0", "must be greater than zero"),
        ("1000000000000.01", "must not exceed 1000000000000.00"),
        ("9" * 40, "must not exceed 1000000000000.00"),
    ],
)
def test_each_refusal_says_what_the_amount_must_be(text, message):
    with pytest.raises(AmountError) as refused:
        parse_amount(text)
    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("fen", "text"), [(0, "0.00"), (1, "0.01"), (-1, "-0.01"), (-100, "-1.00"), (99, "0.99")]
)
def test_format_amount_signs_only_negative_amounts(fen, text):
    assert format_amount(fen) == text


@pytest.mark.parametrize(("text", "fen"), [("-0.00", 0), ("-0", 0), ("0", 0), ("-0.01", -1)])
def test_signed_amounts_take_zero_with_or_without_sign(text, fen):
    assert parse_signed_amount(text) == fen


# ---- rates and shares ------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["1.10", "0.35", "0", "1", "999999.999999", "1.036000", "0.000001"]
)
def test_parse_rate_keeps_the_exact_decimal(text):
    rate = parse_rate(text)
    assert rate == Decimal(text)
    assert format_rate(rate) == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (1.1, 'must be a decimal string such as "1.10", not a number'),
        (None, 'must be a decimal string such as "1.10", not a number'),
        ("1.1234567", 'must be a decimal string with at most 6 decimals, such as "1.10"'),
        ("-1", 'must be a decimal string with at most 6 decimals, such as "1.10"'),
        ("1000000", 'must be a decimal string with at most 6 decimals, such as "1.10"'),
        ("1e3", 'must be a decimal string with at most 6 decimals, such as "1.10"'),
        ("", 'must be a decimal string with at most 6 decimals, such as "1.10"'),
    ],
)
def test_parse_rate_refuses_anything_else(text, message):
    with pytest.raises(AmountError) as refused:
        parse_rate(text)
    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("minor", "rate", "default", "down"),
    [
        (105, "0.5", 53, 52),  # 52.5: half up by default
        (100, "1.10", 110, 110),
        (3, "0.35", 1, 1),  # 1.05
        (1000, "1.0315", 1032, 1031),  # 1031.5
        (0, "1.10", 0, 0),
    ],
)
def test_apply_rate_multiplies_and_rounds(minor, rate, default, down):
    assert apply_rate(minor, Decimal(rate)) == default
    assert apply_rate(minor, Decimal(rate), "ROUND_DOWN") == down


@pytest.mark.parametrize(
    ("minor", "rate", "default", "down"),
    [
        (100, "3", 34, 33),  # 33.33: up by default, a converted threshold is never undercut
        (110, "1.10", 100, 100),
        (105, "2", 53, 52),  # 52.5
        (5_000_000, "1.0315", 4_847_310, 4_847_309),
    ],
)
def test_divide_by_rate_divides_and_rounds_up(minor, rate, default, down):
    assert divide_by_rate(minor, Decimal(rate)) == default
    assert divide_by_rate(minor, Decimal(rate), "ROUND_DOWN") == down


# Settings whose pattern cannot say the range (a low bound left open, a high
# bound that is not a power of ten): parse alone refuses what is out of range.
_OPEN = DecimalSetting("open", Decimal(0), Decimal(5), places=2, low_open=True)
_CLOSED = DecimalSetting("closed", Decimal(2), Decimal(5), places=2)


@pytest.mark.parametrize(
    ("setting", "good", "bad"),
    [
        (_OPEN, ["0.01", "2.5", "5", "5.00"], ["0", "0.00", "5.01", "6"]),
        (_CLOSED, ["2", "2.00", "3.5", "5"], ["1.99", "0", "5.01", "10"]),
    ],
)
def test_settings_parse_checks_the_range_the_pattern_cannot(setting, good, bad):
    for text in good:
        assert setting.parse(text) == Decimal(text)
    for text in bad:
        with pytest.raises(AmountError) as refused:
            setting.parse(text)
        assert str(refused.value) == f"must be {setting.description}"
