"""Chips in HKD or MOP (issue 20, item 1), through the API: a casino's chip
currency, buy-ins and cash-outs converted at the rate in force and recorded,
the rate table on the sandbox clock, the LTR in MOP whatever the currency, the
close's figures in the chip currency and in CNY with the FX result."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from macau_world import DAY, START, advance, cage, macau_world, payment_code

HKD_PER_CNY = "1.067961"  # 1.10 / 1.03, to 6 decimals


def rated_profile(sb, name: str, rates: list[dict], mop_per_cny: str = "1.10") -> dict:
    """The macau profile with a rate table of its own."""
    sb.ok("PUT", "/v1/sandbox/profile", json={"name": "macau"})
    doc = copy.deepcopy(sb.ok("GET", "/v1/rules")["document"])
    doc["name"] = name
    doc["fx"]["mop_per_cny"] = mop_per_cny
    doc["fx"]["rates"] = rates
    return doc


def player(sb, fund: str = "100000.00", holder: str | None = None) -> int:
    return sb.wallet(
        "BOCMO", 1, fund=fund, region="MO", **({"holder_id": holder} if holder else {})
    )


def close(sb, day: str = DAY) -> dict:
    return sb.ok("POST", f"/v1/casinos/COTAI/gaming-days/{day}/close", key="supervisor")


def checks(report: dict) -> dict:
    return {c["name"]: c for c in report["checks"]}


def test_an_hkd_casino_converts_buy_ins_and_cash_outs_and_records_the_rate(sandbox):
    sb = sandbox
    world = macau_world(sb, chip_currency="HKD")
    assert world["casino"]["chip_currency"] == "HKD"
    assert sb.ok("GET", "/v1/casinos/COTAI")["chip_currency"] == "HKD"
    p = player(sb, "2000.00", "h-hkd")
    # CNY 1,000.00 at 1.067961 HKD per CNY: HKD 1,067.961, rounded down to 1,067.96.
    op = cage(sb, "buy-ins", p, amount="1000.00")
    assert (op["amount"], op["ecny_amount"], op["rate"], op["chip_currency"]) == (
        "1067.96",
        "1000.00",
        HKD_PER_CNY,
        "HKD",
    )
    pay, issue = (sb.ok("GET", f"/v1/transfers/{t['id']}") for t in op["transfers"])
    assert (pay["amount"], issue["amount"], issue["asset"]) == ("1000.00", "1067.96", "CHIP:COTAI")
    assert sb.balance(p) == "1000.00"
    # Back: HKD 1,067.96 / 1.067961 = CNY 999.999..., rounded down to 999.99.
    out = cage(sb, "cash-outs", p, amount="1067.96")
    assert (out["amount"], out["ecny_amount"], out["rate"]) == ("1067.96", "999.99", HKD_PER_CNY)
    assert sb.balance(p) == "1999.99"
    # The list of operations shows what each converted, at which rate.
    listed = sb.ok("GET", "/v1/casinos/COTAI/transactions", key="supervisor")["items"]
    assert [(o["kind"], o["amount"], o["ecny_amount"], o["rate"]) for o in listed] == [
        ("buy_in", "1067.96", "1000.00", HKD_PER_CNY),
        ("cash_out", "1067.96", "999.99", HKD_PER_CNY),
    ]
    # The smallest amounts: CNY 0.01 buys HKD 0.01 (1.07 cents, rounded down);
    # HKD 0.01 is CNY 0.0094, nothing: refused, nothing moves.
    small = cage(sb, "buy-ins", p, amount="0.01")
    assert (small["amount"], small["ecny_amount"]) == ("0.01", "0.01")
    before = sb.journal_count()
    r = sb.call(
        "POST", "/v1/casinos/COTAI/cash-outs", "merchant", json={"player": p, "amount": "0.01"}
    )
    assert r.status_code == 422, r.get_json()
    body = r.get_json()
    assert (body["code"], body["field"], body["rate"], body["chip_currency"]) == (
        "amount_below_conversion",
        "amount",
        HKD_PER_CNY,
        "HKD",
    )
    assert body["detail"] == (
        f"0.01 chips into CNY at {HKD_PER_CNY} HKD per CNY, rounded in the casino's favour, "
        "is nothing"
    )
    assert sb.journal_count() == before
    # HKD 0.02 is CNY 0.0187: 0.01.
    assert cage(sb, "cash-outs", p, amount="0.01", status=422)["code"] == "amount_below_conversion"
    cage(sb, "buy-ins", p, amount="0.01")
    assert cage(sb, "cash-outs", p, amount="0.02")["ecny_amount"] == "0.01"


def test_a_casino_registered_without_a_currency_keeps_cny_chips(sandbox):
    sb = sandbox
    world = macau_world(sb)
    assert world["casino"]["chip_currency"] == "CNY"
    p = player(sb, "1000.00")
    op = cage(sb, "buy-ins", p, amount="123.45")
    assert (op["amount"], op["ecny_amount"], op["rate"], op["chip_currency"]) == (
        "123.45",
        "123.45",
        "1",
        "CNY",
    )
    play = cage(sb, "plays", p, wager="10.00")
    assert (play["ecny_amount"], play["rate"]) == (None, None)
    body = {"ref": "LISBOA", "name": "L", "operator": "BOCMO", "treasury_wallet": world["treasury"]}
    r = sb.post("/v1/casinos", json={**body, "float": "0.00", "chip_currency": "USD"})
    assert r.status_code == 422 and "chip_currency" in r.get_json()["errors"]


def test_the_rate_table_moves_on_the_sandbox_clock_and_the_close_shows_the_fx_result(sandbox):
    sb = sandbox
    doc = rated_profile(
        sb, "macau-fx", [{"from": "2026-03-02T12:00:00+08:00", "mop_per_cny": "1.20"}]
    )
    macau_world(sb, profile=doc, chip_currency="MOP")
    p = player(sb, "5000.00", "h-mop")
    op = cage(sb, "buy-ins", p, amount="1000.00")  # 10:00: the base rate, 1.10
    assert (op["amount"], op["rate"]) == ("1100.00", "1.10")
    advance(sb, 2 * 3600 - 1)  # 11:59:59: still 1.10
    assert cage(sb, "buy-ins", p, amount="10.00")["rate"] == "1.10"
    advance(sb, 1)  # 12:00:00: 1.20 from this instant
    out = cage(sb, "cash-outs", p, amount="1111.00")
    # MOP 1,111.00 / 1.20 = CNY 925.8333..., rounded down.
    assert (out["rate"], out["ecny_amount"]) == ("1.20", "925.83")
    advance(sb, 19 * 3600)  # 07:00 the next day
    report = close(sb)
    assert report["ok"], report["checks"]
    assert report["chip_currency"] == "MOP"
    # The casino sold MOP 1,111.00 for CNY 1,010.00 and bought them back for
    # CNY 925.83: no play, an FX gain of CNY 84.17.
    assert report["fx"] == {
        "rate": "1.20",
        "mop_per_cny": "1.20",
        "buy_ins_ecny": "1010.00",
        "cash_outs_ecny": "925.83",
        "credit_repaid_ecny": "0.00",
        "result": "84.17",
    }
    assert (report["ggr"], report["ggr_cny"]) == ("0.00", "0.00")
    figures = checks(report)["ecny_receipts_match"]["figures"]
    assert (figures["ecny_net_receipts"], figures["fx_result"], figures["difference"]) == (
        "84.17",
        "84.17",
        "0.00",
    )
    # The profile shows its table; a table out of order is refused at once.
    assert sb.ok("GET", "/v1/rules")["document"]["fx"]["rates"] == doc["fx"]["rates"]
    bad = copy.deepcopy(doc)
    bad["name"] = "macau-fx-bad"
    bad["fx"]["rates"] = [
        {"from": "2026-03-02T12:00:00+08:00", "mop_per_cny": "1.20"},
        {"from": "2026-03-02T11:00:00+08:00", "mop_per_cny": "1.15"},
    ]
    r = sb.call("PUT", "/v1/sandbox/profile", "admin", json={"document": bad})
    assert r.status_code == 422 and "fx.rates" in r.get_json()["detail"]
    bad["fx"]["rates"] = [{"from": "2026-03-02T12:00:00", "mop_per_cny": "1.20"}]
    r = sb.call("PUT", "/v1/sandbox/profile", "admin", json={"document": bad})
    assert r.status_code == 422 and "with its offset" in r.get_json()["detail"]


def _ltr_rounds(sb, p: int, below: str, at: str) -> tuple[dict, dict]:
    """A push (wager = payout) just below the threshold, then one at it."""
    return (
        cage(sb, "plays", p, wager=below, payout=below),
        cage(sb, "plays", p, wager=at, payout=at),
    )


def _ltr(op: dict) -> list[dict]:
    return [a for a in op["alerts"] if a["type"] == "ltr"]


def test_ltr_at_exactly_mop_500000_in_each_chip_currency(sandbox):
    sb = sandbox
    doc = rated_profile(
        sb,
        "macau-fx-ltr",
        [
            {"from": "2026-03-02T12:00:00+08:00", "mop_per_cny": "1.25"},
            {"from": "2026-03-02T20:00:00+08:00", "mop_per_cny": "1.10"},
        ],
    )
    macau_world(sb, profile=doc, chip_currency="MOP")
    whale = player(sb, "2000000.00", "h-whale")
    cage(sb, "buy-ins", whale, amount="500000.00")  # MOP 550,000.00
    below, at = _ltr_rounds(sb, whale, "499999.99", "500000.00")
    assert _ltr(below) == [] and len(_ltr(at)) == 1
    alert = sb.ok("GET", f"/v1/alerts/{_ltr(at)[0]['id']}", key="supervisor")
    assert (alert["evidence"]["amount_mop"], alert["evidence"]["threshold"]) == (
        "500000.00",
        "500000.00",
    )
    assert alert["evidence"]["chip_currency"] == "MOP"
    # A cash-out is compared in chips too: MOP 500,000.00 is at the threshold.
    assert len(_ltr(cage(sb, "cash-outs", whale, amount="500000.00"))) == 1

    # HKD: MOP 500,000 / 1.03 = HKD 485,436.893...: HKD 485,436.90 is at it
    # (MOP 500,000.007), HKD 485,436.89 below (MOP 499,999.997).
    sb.ok(
        "POST",
        "/v1/casinos",
        json={
            "ref": "HKDC",
            "name": "HKD casino",
            "operator": "BOCMO",
            "treasury_wallet": sb.wallet("BOCMO", 1, kind="merchant", region="MO"),
            "float": "0.00",
            "chip_currency": "HKD",
        },
    )
    sb.keys["merchant"] = sb.key("merchant", casino_ref="HKDC")

    def hkd(what, **body):
        if what == "buy-ins":
            body["payment_code"] = payment_code(sb, body["player"])
        return sb.ok("POST", f"/v1/casinos/HKDC/{what}", key="merchant", json=body)

    hkd("buy-ins", player=whale, amount="500000.00")
    below = hkd("plays", player=whale, wager="485436.89", payout="485436.89")
    at = hkd("plays", player=whale, wager="485436.90", payout="485436.90")
    assert _ltr(below) == [] and len(_ltr(at)) == 1
    evidence = sb.ok("GET", f"/v1/alerts/{_ltr(at)[0]['id']}", key="admin")["evidence"]
    assert (evidence["amount_mop"], evidence["threshold"], evidence["chip_currency"]) == (
        "500000.01",
        "485436.90",
        "HKD",
    )

    # CNY chips: via the rate in force. At 1.10 (before noon) the threshold is
    # CNY 454,545.46; from noon at 1.25 it is CNY 400,000.00.
    sb.ok(
        "POST",
        "/v1/casinos",
        json={
            "ref": "CNYC",
            "name": "CNY casino",
            "operator": "BOCMO",
            "treasury_wallet": sb.wallet("BOCMO", 1, kind="merchant", region="MO"),
            "float": "0.00",
        },
    )
    sb.keys["merchant"] = sb.key("merchant", casino_ref="CNYC")

    def cny(what, **body):
        if what == "buy-ins":
            body["payment_code"] = payment_code(sb, body["player"])
        return sb.ok("POST", f"/v1/casinos/CNYC/{what}", key="merchant", json=body)

    cny("buy-ins", player=whale, amount="454545.45")  # below: no LTR
    assert _ltr(cny("plays", player=whale, wager="454545.45", payout="454545.45")) == []
    assert len(_ltr(cny("plays", player=whale, wager="400000.00", payout="400000.00"))) == 0
    advance(sb, 2 * 3600)  # noon: 1.25
    assert _ltr(cny("plays", player=whale, wager="399999.99", payout="399999.99")) == []
    at = cny("plays", player=whale, wager="400000.00", payout="400000.00")
    evidence = sb.ok("GET", f"/v1/alerts/{_ltr(at)[0]['id']}", key="admin")["evidence"]
    assert (evidence["amount_mop"], evidence["threshold"]) == ("500000.00", "400000.00")
    # The close of each day files them all.
    advance(sb, 19 * 3600)
    for ref in ("COTAI", "HKDC", "CNYC"):
        report = sb.ok("POST", f"/v1/casinos/{ref}/gaming-days/{DAY}/close", key="admin")
        assert checks(report)["ltr_filed"]["ok"], (ref, report["checks"])
    # CNYC's one large transaction was large at noon's rate only (back to 1.10
    # at 20:00, the threshold at the day's end is CNY 454,545.46 again).
    figures = checks(report)["ltr_filed"]["figures"]
    assert (figures["large_transactions"], figures["filed"], figures["threshold"]) == (
        1,
        1,
        "454545.46",
    )


def test_the_close_of_an_hkd_casino_in_hkd_and_in_cny(sandbox):
    sb = sandbox
    world = macau_world(sb, chip_currency="HKD", foundation=True)
    p = player(sb, "20000.00", "h-close")
    cage(sb, "buy-ins", p, amount="10000.00")  # HKD 10,679.61
    cage(sb, "plays", p, wager="3000.00")  # lost: GGR HKD 3,000.00
    out = cage(sb, "cash-outs", p, amount="7679.61")
    assert out["ecny_amount"] == "7190.90"  # 7,679.61 / 1.067961 = 7,190.904..., down
    advance(sb, 21 * 3600)
    report = close(sb)
    assert report["ok"], report["checks"]
    assert report["chip_currency"] == "HKD"
    assert (report["buy_ins"], report["cash_outs"], report["turnover"]) == (
        "10679.61",
        "7679.61",
        "3000.00",
    )
    # GGR HKD 3,000.00 = CNY 2,809.09 (3,000 / 1.067961 = 2,809.0935..., half up).
    assert (report["ggr"], report["ggr_cny"]) == ("3000.00", "2809.09")
    tax = report["special_gaming_tax"]
    assert (tax["amount"], tax["amount_chip_currency"]) == ("983.18", "1050.00")
    payments = report["contributions"]["payments"]
    assert [(x["amount"], x["amount_chip_currency"]) for x in payments] == [
        ("56.18", "60.00"),
        ("84.27", "90.00"),
    ]
    assert sb.balance(world["foundation"]) == "56.18"
    assert sb.balance(world["treasury"]) == "1067.45"  # 983.18 + 84.27, in e-CNY
    # Received CNY 10,000.00, paid CNY 7,190.90: CNY 2,809.10, one fen more than
    # the GGR's value: the cash-out's rounding (the casino's favour).
    assert report["fx"]["result"] == "0.01"
    figures = checks(report)["ecny_receipts_match"]["figures"]
    assert figures == {
        "ecny_net_receipts": "2809.10",
        "ggr": "3000.00",
        "chips_with_players_change": "0.00",
        "credit_outstanding_change": "0.00",
        "ggr_cny": "2809.09",
        "chips_with_players_change_cny": "0.00",
        "credit_outstanding_change_cny": "0.00",
        "fx_result": "0.01",
        "difference": "0.00",
    }


def test_gaming_credit_at_an_hkd_casino_is_in_chips_and_repaid_in_ecny(sandbox):
    sb = sandbox
    macau_world(sb, chip_currency="HKD")
    p = player(sb, "5000.00", "h-credit")
    sb.ok("PUT", f"/v1/casinos/COTAI/credit-lines/{p}", key="merchant", json={"limit": "1000.00"})
    draw = sb.ok(
        "POST",
        "/v1/casinos/COTAI/credit-draws",
        key="merchant",
        json={"player": p, "amount": "1000.00"},
    )
    assert (draw["amount"], draw["ecny_amount"], draw["rate"]) == ("1000.00", None, None)
    # HKD 500.00 of debt = CNY 468.19 (468.1815..., rounded up: the casino's favour).
    repaid = sb.ok(
        "POST",
        "/v1/casinos/COTAI/credit-repayments",
        key="merchant",
        json={"player": p, "amount": "500.00", "payment_code": payment_code(sb, p)},
    )
    assert (repaid["amount"], repaid["ecny_amount"], repaid["rate"], repaid["outstanding"]) == (
        "500.00",
        "468.19",
        HKD_PER_CNY,
        "500.00",
    )
    assert sb.balance(p) == "4531.81"
    cage(sb, "cash-outs", p, amount="1000.00")  # CNY 936.36
    advance(sb, 21 * 3600)
    report = close(sb)
    assert report["ok"], report["checks"]
    assert report["fx"]["credit_repaid_ecny"] == "468.19"
    assert report["gaming_credit"] == {
        "drawn": "1000.00",
        "repaid": "500.00",
        "outstanding": "500.00",
    }


def _at(day: int, hour: float) -> str:
    base = datetime.fromisoformat(START).replace(hour=0) + timedelta(days=day)
    return (base + timedelta(hours=hour)).isoformat()


OPERATION = st.one_of(
    st.tuples(st.just("buy"), st.integers(1, 300_000)),
    st.tuples(st.just("play"), st.floats(0, 1), st.floats(0, 1.5)),
    st.tuples(st.just("cash"), st.floats(0, 1)),
)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    currency=st.sampled_from(["HKD", "MOP", "CNY"]),
    rates=st.lists(
        st.tuples(st.integers(1, 23 * 60), st.decimals("0.80", "1.60", places=4).map(str)),
        max_size=4,
        unique_by=lambda r: r[0],
    ),
    steps=st.lists(st.tuples(OPERATION, st.integers(0, 120)), min_size=1, max_size=8),
)
def test_the_close_identity_holds_to_the_fen_at_any_rates(sandbox, currency, rates, steps):
    """Random buy-ins, plays and cash-outs, each at the rate of its time: the
    close's e-CNY receipts equal GGR + the change in chips with players, in CNY
    at the closing rate, + the FX result, to the fen; the FX result is what the
    cage's e-CNY was beyond those figures."""
    sb = sandbox
    n = len(sb.ok("GET", "/v1/casinos")["items"])
    if n == 0:
        sb.ok("PUT", "/v1/sandbox/clock", json={"now": START})
        sb.operator("BOCMO", reserve="100000000.00", issue="60000000.00")
    day = 2 * n  # a gaming day per example, the clock always forwards
    sb.ok("PUT", "/v1/sandbox/clock", json={"now": _at(day, 6.5)})
    table = [{"from": _at(day, 6.5 + m / 60), "mop_per_cny": r} for m, r in sorted(rates)]
    doc = rated_profile(sb, f"macau-fx-{n}", table)
    sb.ok("PUT", "/v1/sandbox/profile", json={"document": doc})
    ref = f"FX{n}"
    treasury = sb.wallet("BOCMO", 1, kind="merchant", region="MO")
    sb.ok(
        "POST",
        "/v1/casinos",
        json={
            "ref": ref,
            "name": ref,
            "operator": "BOCMO",
            "treasury_wallet": treasury,
            "float": "2000000.00",  # enough e-CNY for any winnings
            "chip_currency": currency,
        },
    )
    merchant = sb.key("merchant", casino_ref=ref)
    p = sb.wallet("BOCMO", 1, fund="30000.00", region="MO", holder_id=f"h-fx-{n}")
    chips = 0
    ecny = 0
    for (kind, *args), minutes in steps:
        sb.ok("POST", "/v1/sandbox/clock/advance", json={"seconds": minutes * 60}, status=200)
        if kind == "buy":
            body = {
                "player": p,
                "amount": f"{args[0] / 100:.2f}",
                "payment_code": payment_code(sb, p),
            }
            r = sb.call("POST", f"/v1/casinos/{ref}/buy-ins", merchant, json=body)
        elif kind == "play" and chips > 0:
            wager = max(1, int(chips * args[0]))
            payout = int(wager * args[1])
            body = {"player": p, "wager": f"{wager / 100:.2f}", "payout": f"{payout / 100:.2f}"}
            r = sb.call("POST", f"/v1/casinos/{ref}/plays", merchant, json=body)
        elif kind == "cash" and chips > 0:
            amount = max(1, int(chips * args[0]))
            body = {"player": p, "amount": f"{amount / 100:.2f}"}
            r = sb.call("POST", f"/v1/casinos/{ref}/cash-outs", merchant, json=body)
        else:
            continue
        if r.status_code == 422 and r.get_json()["code"] == "amount_below_conversion":
            continue
        assert r.status_code == 201, r.get_json()
        op = r.get_json()
        fen = int(Decimal(op["amount"]) * 100)
        if op["kind"] == "buy_in":
            chips += fen
            ecny += int(Decimal(op["ecny_amount"]) * 100)
            # chips = e-CNY x the recorded rate, rounded down
            expected = (Decimal(op["ecny_amount"]) * 100 * Decimal(op["rate"])).to_integral_value(
                ROUND_FLOOR
            )
            assert fen == expected
        elif op["kind"] == "cash_out":
            chips -= fen
            ecny -= int(Decimal(op["ecny_amount"]) * 100)
        else:
            chips += int(Decimal(op["payout"]) * 100) - fen
    sb.ok("PUT", "/v1/sandbox/clock", json={"now": _at(day + 1, 7)})
    day_text = _at(day, 10)[:10]
    report = sb.ok("POST", f"/v1/casinos/{ref}/gaming-days/{day_text}/close", key="admin")
    figures = checks(report)["ecny_receipts_match"]["figures"]
    assert checks(report)["ecny_receipts_match"]["ok"], figures
    assert figures["difference"] == "0.00"
    assert int(Decimal(figures["ecny_net_receipts"]) * 100) == ecny
    rate = Decimal(report["fx"]["rate"])
    ggr = int(Decimal(report["ggr"]) * 100)

    def cny(x: int) -> int:
        return int((Decimal(x) / rate).to_integral_value(ROUND_HALF_UP))

    assert int(Decimal(report["ggr_cny"]) * 100) == cny(ggr)
    # The chips the player holds now came out of the cage today.
    assert int(Decimal(figures["chips_with_players_change"]) * 100) == chips
    assert int(Decimal(report["fx"]["result"]) * 100) == ecny - cny(ggr) - cny(chips)
    if currency == "CNY":
        assert report["fx"]["result"] == "0.00" and report["fx"]["rate"] == "1"
    assert checks(report)["chips_match_cage"]["ok"]


def test_structuring_and_the_mainland_quota_at_an_hkd_casino(sandbox):
    """Structuring sums chips against the threshold in chips (HKD 485,436.90);
    the mainland quota (USD 50,000 = CNY 360,000.00) counts the e-CNY paid,
    not the chips bought."""
    sb = sandbox
    macau_world(sb, chip_currency="HKD")
    smurf = player(sb, "600000.00", "h-smurf")
    first = cage(sb, "buy-ins", smurf, amount="227000.00")  # HKD 242,427.14
    assert "structuring" not in [a["type"] for a in first["alerts"]]
    second = cage(sb, "buy-ins", smurf, amount="227500.00")  # HKD 242,961.12: 485,388.26
    assert "structuring" not in [a["type"] for a in second["alerts"]]
    third = cage(sb, "buy-ins", smurf, amount="50.00")  # HKD 53.39: 485,441.65, past it
    found = [a for a in third["alerts"] if a["type"] == "structuring"]
    assert len(found) == 1
    evidence = sb.ok("GET", f"/v1/alerts/{found[0]['id']}", key="admin")["evidence"]
    assert (evidence["threshold"], evidence["total"], evidence["chip_currency"]) == (
        "485436.90",
        "485441.65",
        "HKD",
    )
    # CNY 340,000.00 buys HKD 363,106.74: more than 360,000 in chips, less in e-CNY.
    mainland = sb.wallet("BOCMO", 1, fund="400000.00", region="CN", holder_id="h-cn")
    op = cage(sb, "buy-ins", mainland, amount="340000.00")
    assert op["amount"] == "363106.74"
    assert [a["type"] for a in op["alerts"]] == ["mainland_wallet"]
    op = cage(sb, "buy-ins", mainland, amount="20000.01")  # CNY 360,000.01 in the year
    assert "mainland_yearly_cap" in [a["type"] for a in op["alerts"]]


def test_0013_completes_a_stored_report_as_a_cny_close_gives_it(sandbox):
    """Migration 0013 gives the reports closed before it (CNY casinos) the
    figures a close reports now: exactly what a CNY casino's close gives."""
    import importlib.util
    import json
    from pathlib import Path

    import wallets.migrations.versions as versions

    path = Path(versions.__path__[0]) / "0013_chip_currency.py"
    spec = importlib.util.spec_from_file_location("m0013", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)

    sb = sandbox
    macau_world(sb)
    p = player(sb, "50000.00", "h-old")
    cage(sb, "buy-ins", p, amount="10000.00")
    cage(sb, "plays", p, wager="2000.00", payout="500.00")
    cage(sb, "cash-outs", p, amount="3000.00")
    advance(sb, 21 * 3600)
    report = close(sb)
    old = json.loads(json.dumps(report))
    del old["chip_currency"], old["ggr_cny"], old["fx"]
    del old["special_gaming_tax"]["amount_chip_currency"]
    del old["contributions"]["amount_chip_currency"]
    for payment in old["contributions"]["payments"]:
        del payment["amount_chip_currency"]
    del old["chips_in_circulation"]["now_cny"]
    figures = next(c for c in old["checks"] if c["name"] == "ecny_receipts_match")["figures"]
    for name in ("ggr_cny", "chips_with_players_change_cny", "credit_outstanding_change_cny"):
        del figures[name]
    del figures["fx_result"]
    migration._as_cny_close(old, "1.10")
    assert old == report


def test_a_conversion_past_the_largest_amount_or_to_no_rate_is_refused(sandbox):
    sb = sandbox
    doc = rated_profile(sb, "macau-fx-big", [], mop_per_cny="999999")
    macau_world(sb, profile=doc, chip_currency="MOP")
    p = player(sb, "100.00", "h-big")
    before = sb.journal_count()
    # CNY 1,000,000,000.00 would be MOP 999,999,000,000,000.00: past the largest amount.
    refused = cage(sb, "buy-ins", p, status=422, amount="1000000000.00")
    assert refused["code"] == "validation_failed"
    assert refused["errors"] == {
        "amount": [
            "1000000000.00 CNY into chips at 999999 MOP per CNY is more than 1000000000000.00"
        ]
    }
    assert sb.journal_count() == before and sb.balance(p) == "100.00"
    assert cage(sb, "buy-ins", p, amount="0.01")["amount"] == "9999.99"
    # A rate table whose HKD rate rounds to nothing is no profile.
    bad = copy.deepcopy(doc)
    bad.update(name="macau-fx-nil")
    bad["fx"].update(mop_per_cny="0.000001", mop_per_hkd="3")
    r = sb.call("PUT", "/v1/sandbox/profile", "admin", json={"document": bad})
    assert r.status_code == 422 and "fx.mop_per_hkd" in r.get_json()["detail"]


def test_the_identified_wallet_rule_compares_the_chips_with_the_hkd_threshold(sandbox):
    """A class 2 wallet, not identified enough under this profile (class 1
    only): CNY 454,545.53 buys HKD 485,436.89 (MOP 499,999.997), below the
    threshold though above its CNY figure (454,545.46); CNY 454,545.54 buys
    HKD 485,436.90, at it: refused, nothing moved."""
    from macau_world import high_roller_profile

    sb = sandbox
    doc = high_roller_profile(sb)
    doc["casino"]["large_transaction"]["identified_classes"] = [1]
    macau_world(sb, profile=doc, chip_currency="HKD")
    p = sb.wallet("BOCMO", 2, fund="500000.00", region="MO", holder_id="h-class2")
    refused = cage(sb, "buy-ins", p, status=422, amount="454545.54")
    assert (refused["code"], refused["threshold"]) == ("identified_wallet_required", "485436.90")
    assert sb.balance(p) == "500000.00"
    op = cage(sb, "buy-ins", p, amount="454545.53")
    assert op["amount"] == "485436.89" and _ltr(op) == []
