"""Rule profiles: the shipped ones load; a malformed one is refused naming its bad key."""

from __future__ import annotations

import copy
from datetime import time
from decimal import Decimal

import pytest

from wallets.ledger.money import apply_rate, divide_by_rate, parse_rate
from wallets.rules import profile as pr


def test_shipped_profiles_load():
    assert pr.available_profiles() == ["default", "macau"]
    default = pr.load_profile("default")
    assert default.casino is None and default.fx is None
    macau = pr.load_profile("macau")
    assert macau.wallet_limits == default.wallet_limits
    c = macau.casino
    assert (c.minimum_age, c.gaming_day_cutoff, c.identified_classes) == (21, time(6), (1, 2))
    assert c.ltr_threshold_mop == 500_000_00 and c.ltr_threshold == 454_545_46
    assert c.special_gaming_tax == Decimal("0.35")
    assert [(k.name, k.share) for k in c.contributions] == [
        ("macao_foundation", Decimal("0.02")),
        ("urban_development_tourism_social_security", Decimal("0.03")),
    ]
    assert (c.mainland_action, c.mainland_yearly_cap) == ("alert", 360_000_00)
    assert macau.alerts.str_due_working_days == 2
    assert c.exclusion_revocation_delay_days == 30 and c.structuring_window_hours == 24


def _macau() -> dict:
    return copy.deepcopy(pr.load_profile("macau").raw)


def _set(doc: dict, path: str, value) -> dict:
    *parents, last = path.split(".")
    target = doc
    for key in parents:
        target = target[key]
    if value is _DROP:
        del target[last]
    else:
        target[last] = value
    return doc


_DROP = object()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            "casino.tax.special_gaming_tax",
            0.35,
            "casino.tax.special_gaming_tax: must be a decimal string",
        ),
        (
            "casino.tax.contributions",
            [{"name": "macao_foundation", "share": "1.5"}],
            "casino.tax.contributions.0.share: must be above 0 and at most 1",
        ),
        (
            "casino.tax.contributions",
            [{"name": "a", "share": "0.70"}],
            "casino.tax.contributions: the tax and the contributions together must not exceed 1",
        ),
        (
            "casino.tax.contributions",
            [{"name": "a", "share": "0.01"}, {"name": "a", "share": "0.02"}],
            "casino.tax.contributions: names must differ",
        ),
        ("fx.mop_per_cny", "0", "fx.mop_per_cny: must be above 0"),
        (
            "casino.large_transaction.threshold_mop",
            "500000.001",
            "casino.large_transaction.threshold_mop",
        ),
        ("casino.gaming_day_cutoff", "25:00", "casino.gaming_day_cutoff: must be a time of day"),
        ("casino.mainland.action", "warn", "casino.mainland.action: Must be one of"),
        ("casino.minimum_age", "21", "casino.minimum_age: Not a valid integer"),
        ("casino.structuring.min_transactions", 1, "casino.structuring.min_transactions"),
        (
            "casino.large_transaction.identified_classes",
            [5],
            "casino.large_transaction.identified_classes.0",
        ),
        ("casino.surprise", 1, "casino.surprise: Unknown field"),
        ("casino.minimal_play", _DROP, "casino.minimal_play: Missing data"),
        ("fx", _DROP, "fx: is required with casino rules"),
        ("version", 3, "version: Must be one of"),
    ],
)
def test_a_malformed_profile_names_its_bad_key(path, value, message):
    with pytest.raises(pr.ProfileError) as exc:
        pr.parse_profile(_set(_macau(), path, value), source="macau.yaml")
    assert str(exc.value).startswith("macau.yaml: ") and message in str(exc.value), str(exc.value)


def test_version_1_holds_wallet_limits_only():
    doc = _set(_macau(), "version", 1)
    with pytest.raises(pr.ProfileError, match="fx: needs version 2 of the profile format"):
        pr.parse_profile(doc)


def test_a_malformed_file_is_refused_at_load(tmp_path, monkeypatch):
    monkeypatch.setattr(pr, "PROFILE_DIR", tmp_path)
    pr.load_profile.cache_clear()
    try:
        (tmp_path / "broken.yaml").write_text("name: broken\nversion: 2\nwallet_limits: {}\n")
        with pytest.raises(pr.ProfileError, match="broken.yaml: wallet_limits.class_1: Missing"):
            pr.load_profile("broken")
        (tmp_path / "yaml.yaml").write_text("name: [unclosed\n")
        with pytest.raises(pr.ProfileError, match="not valid YAML"):
            pr.load_profile("yaml")
        with pytest.raises(pr.ProfileError, match="no rule profile named 'nope'"):
            pr.load_profile("nope")
    finally:
        pr.load_profile.cache_clear()


def test_rates_are_decimal_strings_and_round_as_documented():
    assert parse_rate("1.10") == Decimal("1.10")
    for bad in (1.1, "1.1234567", "-1", "1e3", ""):
        with pytest.raises(ValueError):
            parse_rate(bad)
    # MOP 500,000.00 at 1.10 MOP per CNY: CNY 454,545.4545... rounded up to the fen.
    assert divide_by_rate(500_000_00, Decimal("1.10")) == 454_545_46
    assert apply_rate(105, Decimal("0.35")) == 37  # 36.75 fen, half up
    assert apply_rate(10_500_000, Decimal("0.05")) == 525_000


def test_the_usd_cap_is_converted_rounded_down_to_the_fen():
    """A yearly total above USD 50,000.01 at 7.100001 CNY per USD (CNY
    355,000.121...) is above CNY 355,000.12: 355,000.13 passes the cap."""
    doc = _macau()
    doc["casino"]["mainland"]["yearly_cap_usd"] = "50000.01"
    doc["fx"]["cny_per_usd"] = "7.100001"
    c = pr.parse_profile(doc, source="test").casino
    assert c.mainland_yearly_cap == 355_000_12
