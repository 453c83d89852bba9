"""Rules at their boundaries, as their sources state them (DOMAIN.md, SPEC.md),
through the API: the day a rule reads is the sandbox day in UTC+8."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from macau_world import advance, alert_types, cage, macau_world

from app.cli import main


def test_a_birth_date_is_a_day_in_utc8_on_opening_and_on_patch(sandbox):
    sb = sandbox
    sb.operator("ICBC")
    # 07:00 on 2 March in Macau is still 1 March in UTC: 2 March is today, not the future.
    sb.ok("PUT", "/v1/sandbox/clock", json={"now": "2026-03-02T07:00:00+08:00"})
    body = {"wallet_class": 2, "region": "MO"}
    born_today = sb.ok("POST", "/v1/wallets", key="ICBC", json={**body, "birth_date": "2026-03-02"})
    assert born_today["birth_date"] == "2026-03-02"
    r = sb.post("/v1/wallets", {**body, "birth_date": "2026-03-03"}, key="ICBC")
    assert r.status_code == 422 and "birth_date" in r.get_json()["errors"], r.get_json()

    # A change of birth date obeys the same rule (it was not checked at all).
    w = born_today["id"]
    etag = sb.get(f"/v1/wallets/{w}", key="ICBC").headers["ETag"]
    r = sb.call(
        "PATCH",
        f"/v1/wallets/{w}",
        "ICBC",
        json={"birth_date": "2026-03-03"},
        headers={"If-Match": etag},
    )
    assert r.status_code == 422 and "birth_date" in r.get_json()["errors"], r.get_json()
    assert sb.ok("GET", f"/v1/wallets/{w}", key="ICBC")["birth_date"] == "2026-03-02"
    r = sb.call(
        "PATCH",
        f"/v1/wallets/{w}",
        "ICBC",
        json={"birth_date": "2000-01-01"},
        headers={"If-Match": etag},
    )
    assert r.status_code == 200 and r.get_json()["birth_date"] == "2000-01-01", r.get_json()


@pytest.mark.parametrize("cutoff", ["17", "1700", "17:00:30", "17:00+01:00", "24:00", "7:00"])
def test_the_settlement_cutoff_is_hh_mm_from_the_command_line_too(
    cutoff, database_url, monkeypatch
):
    """docs/settlement.md: a daily cutoff is a local time HH:MM (UTC+8); the
    CLI checks the domain's definition, which took anything time.fromisoformat takes."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    bad = CliRunner().invoke(main, ["sandbox", "settlement", "--cutoff", cutoff])
    assert bad.exit_code == 1 and "cutoff: must be a local time HH:MM" in bad.output, bad.output
    shown = CliRunner().invoke(main, ["sandbox", "settlement"])
    assert json.loads(shown.output)["cutoff"] is None, shown.output
    ok = CliRunner().invoke(main, ["sandbox", "settlement", "--cutoff", "07:00"])
    assert ok.exit_code == 0 and json.loads(ok.output)["cutoff"] == "07:00", ok.output


# ---- the Macau rules (SPEC.md §6, DOMAIN.md §3-4), at their edges ----------------------


def evidence(sb, op: dict) -> dict:
    """The evidence of the one alert a cage operation raised."""
    (alert,) = op["alerts"]
    return sb.ok("GET", f"/v1/alerts/{alert['id']}", key="supervisor")["evidence"]


def test_minimal_play_at_its_edges(sandbox):
    """SPEC.md §6: cash-out of >= 90% of buy-ins while bets total < 10% of them."""
    sb = sandbox
    macau_world(sb)
    edge = sb.wallet("BOCMO", 1, fund="200000.00", region="MO", holder_id="h-edge")
    cage(sb, "buy-ins", edge, amount="100000.00")
    cage(sb, "plays", edge, wager="10000.00", payout="10000.00")  # bets exactly 10%: not minimal
    assert cage(sb, "cash-outs", edge, amount="100000.00")["alerts"] == []

    under = sb.wallet("BOCMO", 1, fund="200000.00", region="MO", holder_id="h-under")
    cage(sb, "buy-ins", under, amount="100000.00")
    cage(sb, "plays", under, wager="9999.99", payout="9999.99")  # just below 10%
    assert cage(sb, "cash-outs", under, amount="89999.99")["alerts"] == []  # below 90%
    op = cage(sb, "cash-outs", under, amount="0.01")  # exactly 90%
    assert alert_types(op) == ["minimal_play"]
    ev = evidence(sb, op)
    assert (ev["buy_ins"], ev["cash_outs"], ev["wagered"]) == ("100000.00", "90000.00", "9999.99")
    assert sb.balance(under) == "190000.00"


def test_minimal_play_counts_the_holders_wallets_together(sandbox):
    """SPEC.md §6: the *holder's* bets total < 10% of buy-ins. One holder buys
    in with one wallet and plays big, cashes out little; buys in with a second
    wallet, plays nothing and cashes out all: per wallet the second would be
    minimal play, for the holder it is not (bets 20% of buy-ins). Then a
    holder who wagers 5% at one wallet and cashes out 95% at another is."""
    sb = sandbox
    macau_world(sb)
    a = sb.wallet("BOCMO", 1, fund="100000.00", region="MO", holder_id="h-two")
    b = sb.wallet("ICBC", 1, fund="100000.00", region="MO", holder_id="h-two")
    cage(sb, "buy-ins", a, amount="50000.00")
    cage(sb, "plays", a, wager="20000.00")
    cage(sb, "buy-ins", b, amount="50000.00")
    assert cage(sb, "cash-outs", b, amount="50000.00")["alerts"] == []
    assert cage(sb, "cash-outs", a, amount="30000.00")["alerts"] == []  # 80,000 of 100,000
    assert sb.ok("GET", "/v1/alerts?type=minimal_play", key="supervisor")["items"] == []

    c = sb.wallet("BOCMO", 1, fund="100000.00", region="MO", holder_id="h-split")
    d = sb.wallet("ICBC", 1, fund="100000.00", region="HK", holder_id="h-split")
    cage(sb, "buy-ins", c, amount="10000.00")
    cage(sb, "plays", c, wager="5000.00")  # c alone: 50% wagered
    cage(sb, "buy-ins", d, amount="90000.00")
    cage(sb, "plays", d, wager="0.01", payout="0.01")
    op = cage(sb, "cash-outs", d, amount="85000.00")  # 85% of the holder's 100,000
    assert op["alerts"] == []
    op = cage(sb, "cash-outs", c, amount="5000.00")  # 90%, wagers 5,000.01 < 10%
    assert alert_types(op) == ["minimal_play"]
    ev = evidence(sb, op)
    assert (ev["holder_ref"], ev["buy_ins"], ev["cash_outs"], ev["wagered"]) == (
        f"holder-w{c}",  # the holder's first wallet: its pseudonym
        "100000.00",
        "90000.00",
        "5000.01",
    )
    assert {t["wallet_id"] for t in ev["transactions"]} == {c, d}
    assert cage(sb, "cash-outs", d, amount="5000.00")["alerts"] == []  # once per holder and day


def test_structuring_reaches_the_threshold_exactly(sandbox):
    """SPEC.md §6: two or more transactions within 24 h, each below the LTR
    threshold (MOP 500,000 = CNY 454,545.46 at 1.10), summing to >= it."""
    sb = sandbox
    macau_world(sb)
    smurf = sb.wallet("BOCMO", 1, fund="1000000.00", region="MO", holder_id="h-smurf")
    assert cage(sb, "buy-ins", smurf, amount="454545.45")["alerts"] == []  # one fen below
    advance(sb, 24 * 3600 + 1)  # past the rolling 24 h: starts afresh
    assert cage(sb, "buy-ins", smurf, amount="200000.00")["alerts"] == []
    advance(sb, 3600)
    assert cage(sb, "buy-ins", smurf, amount="254545.45")["alerts"] == []  # 454,545.45
    advance(sb, 3600)
    op = cage(sb, "buy-ins", smurf, amount="0.01")  # 454,545.46: the threshold itself
    assert alert_types(op) == ["structuring"]
    ev = evidence(sb, op)
    assert (ev["total"], ev["threshold"], len(ev["transactions"])) == ("454545.46", "454545.46", 3)


def test_the_mainland_yearly_cap_is_passed_above_usd_50000(sandbox):
    """DOMAIN.md §4: USD 50,000 a year (CNY 360,000.00 at 7.20): reaching it is
    no alert, passing it by a fen is, once a year."""
    sb = sandbox
    macau_world(sb)
    mainland = sb.wallet("ICBC", 1, fund="500000.00", region="CN", holder_id="h-cn")
    assert alert_types(cage(sb, "buy-ins", mainland, amount="359999.99")) == ["mainland_wallet"]
    assert cage(sb, "buy-ins", mainland, amount="0.01")["alerts"] == []  # 360,000.00: at the cap
    op = cage(sb, "buy-ins", mainland, amount="0.01")
    assert alert_types(op) == ["mainland_yearly_cap"]
    ev = evidence(sb, op)
    assert (ev["buy_ins_this_year"], ev["cap"], ev["cap_usd"]) == (
        "360000.01",
        "360000.00",
        "50000.00",
    )
    assert cage(sb, "buy-ins", mainland, amount="0.01")["alerts"] == []  # once a year


def test_the_21st_birthday_starts_at_midnight_in_macau(sandbox):
    """Law 10/2012: minimum age 21, at the time of the transaction, in UTC+8."""
    sb = sandbox
    macau_world(sb)
    born = sb.wallet("BOCMO", 2, fund="1000.00", region="MO", birth_date="2005-03-03")
    sb.ok("PUT", "/v1/sandbox/clock", json={"now": "2026-03-02T23:59:59+08:00"})
    r = cage(sb, "buy-ins", born, 422, amount="100.00")
    assert (r["code"], r["minimum_age"]) == ("under_minimum_age", 21)
    sb.ok("PUT", "/v1/sandbox/clock", json={"now": "2026-03-03T00:00:00+08:00"})  # 16:00 UTC
    assert cage(sb, "buy-ins", born, amount="100.00")["transfers"][0]["amount"] == "100.00"
    assert sb.balance(born) == "900.00"


def test_a_revocation_takes_effect_30_days_after_it_is_requested(sandbox):
    """Law 10/2012: a revocation takes effect 30 days after it is requested."""
    sb = sandbox
    macau_world(sb)
    w = sb.wallet("BOCMO", 1, fund="1000.00", region="MO", holder_id="h-self")
    e = sb.ok(
        "POST",
        "/v1/exclusions",
        key="supervisor",
        json={"holder_id": "h-self", "kind": "self", "ends_on": "2027-03-01"},
    )
    sb.ok("POST", f"/v1/exclusions/{e['id']}/revoke", key="supervisor", status=200)
    advance(sb, 30 * 86400 - 1)
    assert cage(sb, "buy-ins", w, 422, amount="100.00")["code"] == "excluded_person"
    advance(sb, 1)
    assert cage(sb, "buy-ins", w, amount="100.00")["alerts"] == []
    (listed,) = sb.ok("GET", "/v1/exclusions?holder_id=h-self", key="supervisor")["items"]
    assert (listed["id"], listed["status"]) == (e["id"], "revoked")


def test_a_rolling_24_h_includes_a_transaction_exactly_24_h_before(sandbox):
    sb = sandbox
    macau_world(sb)
    smurf = sb.wallet("BOCMO", 1, fund="1000000.00", region="MO", holder_id="h-24")
    assert cage(sb, "buy-ins", smurf, amount="300000.00")["alerts"] == []
    advance(sb, 24 * 3600)
    assert alert_types(cage(sb, "buy-ins", smurf, amount="200000.00")) == ["structuring"]


def test_an_exclusion_lasts_at_most_2_years_its_last_day_included(sandbox):
    """Law 10/2012: up to 2 years; docs/macau.md: ends_on, inclusive, at most
    2 years after starts_on (the profile's casino.exclusion.max_duration_years)."""
    sb = sandbox
    macau_world(sb)
    body = {"holder_id": "h-long", "kind": "family", "starts_on": "2026-03-02"}
    r = sb.post("/v1/exclusions", {**body, "ends_on": "2028-03-03"}, key="supervisor")
    assert r.status_code == 422 and "ends_on" in r.get_json()["errors"], r.get_json()
    e = sb.ok("POST", "/v1/exclusions", key="supervisor", json={**body, "ends_on": "2028-03-02"})
    assert (e["ends_on"], e["status"]) == ("2028-03-02", "active")
