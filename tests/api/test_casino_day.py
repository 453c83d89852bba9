"""A whole gaming day at a Macau casino, through the API (SPEC.md §6-7, issue 5).

One casino (COTAI, its wallet at BOCMO) and players at two operators (BOCMO
in Macau, ICBC on the mainland): normal play, a structuring attempt, a
minimal-play round trip, an under-age and a self-excluded player refused, a
large buy-in by a class 2 wallet (LTR) and by a class 4 wallet (refused), a
mainland player; then the close, whose figures are computed here by hand.
"""

from __future__ import annotations

from macau_world import DAY, advance, alert_types, cage, high_roller_profile, macau_world

from wallets.ledger.posting import Leg, Posting, TransferDraft


def test_a_whole_gaming_day_at_one_casino(sandbox):
    sb = sandbox
    world = macau_world(sb, profile=high_roller_profile(sb))
    assert sb.ok("GET", "/v1/rules")["derived"]["ltr_threshold_cny"] == "454545.46"
    casino_wallet = world["casino"]["merchant_wallet"]
    assert world["casino"]["merchant_balance"] == "1000000.00"  # funded up to the float

    def player(operator, cls, region, fund=None, **attrs):
        return sb.wallet(operator, cls, fund=fund, region=region, **attrs)

    alice = player("BOCMO", 1, "MO", "100000.00", holder_id="h-alice")
    bob = player("ICBC", 1, "HK", "50000.00", holder_id="h-bob")
    smurf = player("BOCMO", 1, "MO", "600000.00", holder_id="h-smurf")
    minnie = player("ICBC", 1, "HK", "200000.00", holder_id="h-minnie")
    young = player("BOCMO", 2, "MO", "10000.00", birth_date="2006-01-01")
    excluded = player("BOCMO", 2, "MO", "10000.00", holder_id="h-excluded")
    roller = player("BOCMO", 2, "MO", "490000.00", holder_id="h-roller")
    anon = player("BOCMO", 4, "MO", "5000.00", phone="+85366000001")
    mainland = player("ICBC", 1, "CN", "400000.00", holder_id="h-mainland")

    # Normal play, at both operators' players.
    op = cage(sb, "buy-ins", alice, amount="20000.00")
    assert [t["kind"] for t in op["transfers"]] == ["payment", "chip_issue"]
    assert op["transfers"][1]["asset"] == "CHIP:COTAI" and op["alerts"] == []
    cage(sb, "plays", alice, wager="5000.00", payout="0.00")
    cage(sb, "plays", alice, wager="4000.00", payout="8000.00")
    cage(sb, "plays", alice, wager="2000.00")
    cage(sb, "cash-outs", alice, amount="17000.00")
    op = cage(sb, "buy-ins", bob, amount="10000.00")
    assert op["transfers"][0]["to_operator"] == "BOCMO" and len(op["transfers"][0]["entries"]) == 3
    cage(sb, "plays", bob, wager="10000.00")
    assert cage(sb, "cash-outs", bob, 422, amount="0.01")["code"] == "insufficient_chips"

    # A structuring attempt: two buy-ins below the LTR threshold within 24 h.
    advance(sb, 3600)  # 11:00
    first = cage(sb, "buy-ins", smurf, amount="250000.00")
    assert first["alerts"] == []
    advance(sb, 2 * 3600)  # 13:00
    second = cage(sb, "buy-ins", smurf, amount="250000.00")
    assert alert_types(second) == ["structuring"]
    cage(sb, "plays", smurf, wager="100000.00")
    cage(sb, "cash-outs", smurf, amount="400000.00")

    # Minimal play: 98% cashed out after wagering 2% of the buy-in.
    cage(sb, "buy-ins", minnie, amount="100000.00")
    cage(sb, "plays", minnie, wager="2000.00")
    assert alert_types(cage(sb, "cash-outs", minnie, amount="98000.00")) == ["minimal_play"]

    # Refused: under age (20 today), self-excluded, an anonymous wallet at the threshold.
    journal = sb.journal_count()
    r = cage(sb, "buy-ins", young, 422, amount="100.00")
    assert r["code"] == "under_minimum_age" and r["minimum_age"] == 21
    exclusion = sb.ok(
        "POST",
        "/v1/exclusions",
        key="supervisor",
        json={"holder_id": "h-excluded", "kind": "self", "ends_on": "2027-03-01"},
    )
    assert exclusion["status"] == "active" and exclusion["starts_on"] == DAY
    r = cage(sb, "buy-ins", excluded, 422, amount="100.00")
    assert r["code"] == "excluded_person" and r["exclusion_id"] == exclusion["id"]
    r = cage(sb, "buy-ins", anon, 422, amount="454545.46")
    assert r["code"] == "identified_wallet_required"
    assert cage(sb, "buy-ins", anon, 422, amount="2000.01")["code"] == "limit_exceeded"
    assert sb.journal_count() == journal  # refusals leave no trace

    # A large transaction by an identified class 2 wallet: an LTR each way.
    advance(sb, 3600)  # 14:00
    big = cage(sb, "buy-ins", roller, amount="460000.00")
    assert alert_types(big) == ["ltr"]
    cage(sb, "plays", roller, wager="50000.00", payout="100000.00")
    assert alert_types(cage(sb, "cash-outs", roller, amount="470000.00")) == ["ltr"]
    # Its class 2 balance cap still applies: the rest of its chips cannot come out.
    assert cage(sb, "cash-outs", roller, 422, amount="0.01")["code"] == "limit_exceeded"

    # A mainland player, past the yearly cap (USD 50,000 at 7.20 = CNY 360,000).
    op = cage(sb, "buy-ins", mainland, amount="370000.00")
    assert alert_types(op) == ["mainland_wallet", "mainland_yearly_cap"]
    cage(sb, "plays", mainland, wager="40000.00")
    assert cage(sb, "cash-outs", mainland, amount="330000.00")["alerts"] == []

    # The day is not over before 06:00 tomorrow.
    r = sb.post(f"/v1/casinos/COTAI/gaming-days/{DAY}/close", key="merchant")
    assert r.status_code == 409 and r.get_json()["code"] == "gaming_day_not_over"
    advance(sb, 17 * 3600)  # 07:00 on Tuesday
    report = sb.ok("POST", f"/v1/casinos/COTAI/gaming-days/{DAY}/close", key="merchant")

    # By hand (CNY):
    #   buy-ins   20,000 + 10,000 + 500,000 + 100,000 + 460,000 + 370,000 = 1,460,000
    #   cash-outs 17,000 + 400,000 + 98,000 + 470,000 + 330,000           = 1,315,000
    #   turnover  11,000 + 10,000 + 100,000 + 2,000 + 50,000 + 40,000     =   213,000
    #   payouts   8,000 + 100,000                                         =   108,000
    #   GGR = 213,000 - 108,000 = 105,000 (the players' net losses:
    #         3,000 + 10,000 + 100,000 + 2,000 - 50,000 + 40,000)
    #   tax 35% = 36,750; contributions 5% = 5,250
    #   chips left with players: the roller's 40,000
    #   casino wallet: 1,000,000 + 1,460,000 - 1,315,000 - 42,000 = 1,103,000: sweep 103,000
    assert report["players"] == 6
    assert (report["buy_ins"], report["cash_outs"]) == ("1460000.00", "1315000.00")
    assert (report["turnover"], report["payouts"], report["ggr"]) == (
        "213000.00",
        "108000.00",
        "105000.00",
    )
    assert report["special_gaming_tax"]["amount"] == "36750.00"
    assert report["contributions"]["amount"] == "5250.00"
    assert report["sweep"] == {
        "float": "1000000.00",
        "balance_before": "1103000.00",
        "amount": "103000.00",
        "transfer_id": report["sweep"]["transfer_id"],
    }
    assert report["chips_with_players"] == {"at_start": "0.00", "at_end": "40000.00"}
    checks = {c["name"]: c for c in report["checks"]}
    assert all(c["ok"] for c in checks.values()) and report["ok"], report["checks"]
    assert checks["ecny_receipts_match"]["figures"]["ecny_net_receipts"] == "145000.00"
    assert checks["ltr_filed"]["figures"]["large_transactions"] == 2
    assert sb.balance(world["treasury"]) == "42000.00"
    assert sb.balance(casino_wallet) == "1000000.00"
    assert sb.ok("GET", "/v1/casinos/COTAI", key="supervisor")["chips_with_players"] == "40000.00"

    # A day closes once; its report is kept and listed.
    r = sb.post(f"/v1/casinos/COTAI/gaming-days/{DAY}/close", key="supervisor")
    assert r.status_code == 409 and r.get_json()["code"] == "gaming_day_already_closed"
    assert sb.ok("GET", f"/v1/casinos/COTAI/gaming-days/{DAY}", key="supervisor") == report
    assert sb.ok("GET", "/v1/casinos/COTAI/gaming-days", key="auditor")["items"] == [report]

    # The supervisor's view: players' days and every alert, with evidence.
    days = sb.ok("GET", f"/v1/casinos/COTAI/players?gaming_day={DAY}", key="supervisor")["items"]
    roller_day = next(d for d in days if d["player"] == roller)
    # Page by page (the cursor is gaming day:wallet), the same days in the same order.
    paged, after = [], None
    while True:
        query = f"gaming_day={DAY}&limit=1" + (f"&after={after}" if after else "")
        page = sb.ok("GET", f"/v1/casinos/COTAI/players?{query}", key="supervisor")
        paged += page["items"]
        after = page["next_after"]
        if after is None:
            break
    assert len(days) > 1 and paged == days
    assert (roller_day["turnover"], roller_day["net_result"]) == ("50000.00", "50000.00")
    found = sb.ok("GET", "/v1/alerts?casino=COTAI&limit=100", key="supervisor")["items"]
    assert sorted(a["type"] for a in found) == [
        "ltr",
        "ltr",
        "mainland_wallet",
        "mainland_yearly_cap",
        "minimal_play",
        "structuring",
    ]
    structuring = next(a for a in found if a["type"] == "structuring")
    ev = structuring["evidence"]
    assert ev["total"] == "500000.00" and ev["holder_ref"] == f"holder-w{smurf}"
    assert [t["transfer_id"] for t in ev["transactions"]] == [
        first["transfers"][0]["id"],
        second["transfers"][0]["id"],
    ]
    assert [t["at"] for t in ev["transactions"]] == [
        "2026-03-02T03:00:00+00:00",
        "2026-03-02T05:00:00+00:00",
    ]
    # Raised on a Monday: an STR is due by the end of Wednesday (UTC+8).
    assert structuring["due_at"] == "2026-03-04T16:00:00+00:00"
    ltr = next(a for a in found if a["type"] == "ltr")
    assert ltr["due_at"] is None and ltr["evidence"]["amount_mop"] == "506000.00"
    assert ltr["evidence"]["transfer_ids"] == [t["id"] for t in big["transfers"]]
    assert sb.reconcile().checks[0].figures["CHIP:COTAI"]["chips_with_players"] == "40000.00"


def test_class_2_limits_keep_large_buy_ins_out_under_the_shipped_profile(sandbox):
    world = macau_world(sandbox)
    assert world["casino"]["float"] == "1000000.00"
    roller = sandbox.wallet("BOCMO", 2, fund="490000.00", region="MO")
    r = cage(sandbox, "buy-ins", roller, 422, amount="460000.00")
    assert (r["code"], r["limit"]) == ("limit_exceeded", "single_payment")


def test_chips_moved_outside_the_cage_fail_the_close(sandbox):
    """Chips credited to a player by a transfer the cage did not make (a chip
    issue without a buy-in): the ledger still balances, but the close's
    settlement checks find it."""
    sb = sandbox
    macau_world(sb, float_="10000.00")
    p = sb.wallet("BOCMO", 1, fund="5000.00", region="MO")
    cage(sb, "buy-ins", p, amount="1000.00")
    cage(sb, "plays", p, wager="300.00")

    def tamper(tx):
        asset = "CHIP:COTAI"
        ids = dict(
            tx.conn.exec_driver_sql(f"SELECT code, id FROM accounts WHERE asset = '{asset}'").all()
        )
        issuance, chips = ids["CASINO:COTAI:CHIPS"], ids[f"W:{p}:CHIP:COTAI"]
        Posting(tx, [issuance, chips]).post(
            TransferDraft("chip_issue", asset, 50000, [Leg(issuance, chips, 50000, asset)])
        )

    sb.db.write(tamper)
    advance(sb, 20 * 3600)
    report = sb.ok("POST", f"/v1/casinos/COTAI/gaming-days/{DAY}/close", key="supervisor")
    checks = {c["name"]: c for c in report["checks"]}
    assert not report["ok"]
    assert not checks["ecny_receipts_match"]["ok"]
    assert checks["ecny_receipts_match"]["figures"]["difference"] == "-500.00"
    assert not checks["chips_match_cage"]["ok"]
    assert checks["chips_match_cage"]["figures"]["difference"] == "500.00"
    assert checks["taxes_paid"]["ok"] and checks["ltr_filed"]["ok"]
    assert report["ggr"] == "300.00" and report["special_gaming_tax"]["amount"] == "105.00"
    assert sb.reconcile().ok  # a valid ledger: only the casino's books disagree


def test_large_e_cny_paid_to_the_casino_outside_the_cage_is_an_unfiled_ltr(sandbox):
    sb = sandbox
    macau_world(sb, float_="0.00")
    casino_wallet = sb.ok("GET", "/v1/casinos/COTAI")["merchant_wallet"]
    p = sb.wallet("BOCMO", 1, fund="500000.00", region="MO")
    paid = sb.ok(
        "POST",
        "/v1/transfers",
        key="BOCMO",
        json={"from_wallet": p, "to_wallet": casino_wallet, "amount": "460000.00"},
    )
    advance(sb, 20 * 3600)
    report = sb.ok("POST", f"/v1/casinos/COTAI/gaming-days/{DAY}/close", key="merchant")
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["ltr_filed"]["figures"]["unreported_transfers"] == [paid["id"]]
    assert checks["ltr_filed"]["figures"]["unfiled_casino_transactions"] == []
    assert not checks["ltr_filed"]["ok"] and not checks["ecny_receipts_match"]["ok"]
    # No GGR, no tax; the e-CNY above the (zero) float is swept to the bank.
    assert report["sweep"]["amount"] == "460000.00" and report["ggr"] == "0.00"
    assert sb.balance(casino_wallet) == "0.00"
    # That sweep, made in Tuesday's gaming day, is the close's own: no LTR to file.
    advance(sb, 24 * 3600)
    tuesday = sb.ok("POST", "/v1/casinos/COTAI/gaming-days/2026-03-03/close", key="merchant")
    checks = {c["name"]: c for c in tuesday["checks"]}
    assert (
        checks["ltr_filed"]["ok"] and checks["ltr_filed"]["figures"]["unreported_transfers"] == []
    )


def test_a_day_whose_contributions_round_to_nothing_pays_the_tax_alone(sandbox):
    sb = sandbox
    world = macau_world(sb)
    p = sb.wallet("BOCMO", 1, fund="1.00", region="MO")
    cage(sb, "buy-ins", p, amount="1.00")
    cage(sb, "plays", p, wager="0.05", payout="0.00")  # GGR 0.05: tax 0.0175 -> 0.02, 5% -> 0.00
    cage(sb, "cash-outs", p, amount="0.95")
    advance(sb, 21 * 3600)  # 07:00 on Tuesday
    report = sb.ok("POST", f"/v1/casinos/COTAI/gaming-days/{DAY}/close", key="merchant")
    assert report["ggr"] == "0.05"
    tax, contributions = report["special_gaming_tax"], report["contributions"]
    assert (tax["rate"], tax["amount"]) == ("0.35", "0.02") and tax["transfer_id"] is not None
    assert contributions["amount"] == "0.00"  # 2% and 3% of 0.05, each rounded: nothing paid
    assert [(c["amount"], c["transfer_id"]) for c in contributions["payments"]] == [
        ("0.00", None),
        ("0.00", None),
    ]
    assert report["closed_at"].startswith("2026-03-02T23:00:00")  # 07:00 in Macau
    assert report["ok"] is True
    assert sb.balance(world["treasury"]) == "0.02"
    again = sb.ok("GET", f"/v1/casinos/COTAI/gaming-days/{DAY}", key="merchant")
    assert again["closed_at"] == report["closed_at"]


def test_an_unfiled_ltr_is_found_after_a_close_that_paid_nothing(sandbox):
    """The transfers of earlier closes are left out of the LTR check; a close with
    no tax, no contributions and no sweep has none, and leaves nothing out."""
    sb = sandbox
    macau_world(sb, float_="0.00")
    casino_wallet = sb.ok("GET", "/v1/casinos/COTAI")["merchant_wallet"]
    advance(sb, 21 * 3600)  # 07:00 on Tuesday: Monday is over, with nothing in it
    quiet = sb.ok("POST", f"/v1/casinos/COTAI/gaming-days/{DAY}/close", key="merchant")
    assert quiet["special_gaming_tax"]["transfer_id"] is None
    assert quiet["sweep"]["transfer_id"] is None
    p = sb.wallet("BOCMO", 1, fund="500000.00", region="MO")
    paid = sb.ok(
        "POST",
        "/v1/transfers",
        key="BOCMO",
        json={"from_wallet": p, "to_wallet": casino_wallet, "amount": "460000.00"},
    )
    advance(sb, 24 * 3600)
    report = sb.ok("POST", "/v1/casinos/COTAI/gaming-days/2026-03-03/close", key="merchant")
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["ltr_filed"]["figures"]["unreported_transfers"] == [paid["id"]]
    assert not checks["ltr_filed"]["ok"]
