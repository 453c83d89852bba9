"""Macau in depth (issue 20), through the API: contributions paid as the law
splits them, STR due dates over Macau's public holidays, chips in circulation."""

from __future__ import annotations

from macau_world import DAY, advance, alert_types, cage, macau_world, payment_code


def test_contributions_are_two_payments_to_their_beneficiaries(sandbox):
    sb = sandbox
    world = macau_world(sb, foundation=True)
    foundation = world["foundation"]
    assert world["casino"]["beneficiaries"] == {"macao_foundation": foundation}
    treasury = world["treasury"]
    player = sb.wallet("BOCMO", 1, fund="50000.00", region="MO", holder_id="h-p")
    cage(sb, "buy-ins", player, amount="10000.00")
    cage(sb, "plays", player, wager="3333.33")
    advance(sb, 21 * 3600)  # 07:00 the next day
    report = sb.ok("POST", f"/v1/casinos/COTAI/gaming-days/{DAY}/close", key="supervisor")
    # GGR 3,333.33: tax 35% = 1,166.67; 2% = 66.67 and 3% = 100.00, each rounded alone.
    assert report["ggr"] == "3333.33"
    assert report["special_gaming_tax"]["amount"] == "1166.67"
    payments = report["contributions"]["payments"]
    assert [(p["name"], p["rate"], p["amount"], p["wallet"]) for p in payments] == [
        ("macao_foundation", "0.02", "66.67", foundation),
        ("urban_development_tourism_social_security", "0.03", "100.00", treasury),
    ]
    assert (report["contributions"]["rate"], report["contributions"]["amount"]) == (
        "0.05",
        "166.67",
    )
    assert sb.balance(foundation) == "66.67"
    assert sb.balance(treasury) == "1266.67"  # the tax and the 3%
    transfers = [sb.ok("GET", f"/v1/transfers/{p['transfer_id']}") for p in payments]
    assert [(t["to_wallet"], t["amount"]) for t in transfers] == [
        (foundation, "66.67"),
        (treasury, "100.00"),
    ]
    checks = {c["name"]: c for c in report["checks"]}
    assert report["ok"], report["checks"]
    assert checks["taxes_paid"]["figures"]["paid"] == "1333.34"
    # The close's own payments are not receipts from players.
    assert checks["ecny_receipts_match"]["figures"]["ecny_net_receipts"] == "10000.00"

    # A beneficiary names a contribution of the profile, and a wallet.
    body = {
        "ref": "LISBOA",
        "name": "Cotai Grand",
        "operator": "BOCMO",
        "treasury_wallet": treasury,
        "float": "0.00",
    }
    r = sb.post("/v1/casinos", json={**body, "beneficiaries": {"lottery": treasury}})
    assert r.status_code == 422 and r.get_json()["code"] == "unknown_contribution"
    assert r.get_json()["contributions"] == [
        "macao_foundation",
        "urban_development_tourism_social_security",
    ]
    r = sb.post("/v1/casinos", json={**body, "beneficiaries": {"macao_foundation": 999}})
    assert r.status_code == 404 and r.get_json()["code"] == "wallet_not_found"
    r = sb.post("/v1/casinos", json={**body, "beneficiaries": {"macao_foundation": "15"}})
    assert r.status_code == 422 and "beneficiaries" in str(r.get_json()["errors"])
    assert [c["ref"] for c in sb.ok("GET", "/v1/casinos")["items"]] == [
        "COTAI"
    ]  # nothing half-written


def _mainland_alert_due(sb, player: int, now: str) -> str:
    sb.ok("PUT", "/v1/sandbox/clock", json={"now": now})
    op = cage(sb, "buy-ins", player, amount="100.00")
    (alert,) = [a for a in op["alerts"] if a["type"] == "mainland_wallet"]
    return sb.ok("GET", f"/v1/alerts/{alert['id']}", key="supervisor")["due_at"]


def test_chips_in_circulation_stay_within_dicjs_approval(sandbox):
    sb = sandbox
    world = macau_world(sb, float_="100000.00", chips_approved="30000.00")
    assert world["casino"]["chips_approved"] == "30000.00"
    alice = sb.wallet("BOCMO", 1, fund="100000.00", region="MO", holder_id="h-alice")
    bob = sb.wallet("BOCMO", 1, fund="100000.00", region="MO", holder_id="h-bob")
    cage(sb, "buy-ins", alice, amount="20000.00")
    journal = sb.journal_count()
    r = cage(sb, "buy-ins", bob, 422, amount="10000.01")
    assert r["code"] == "chips_in_circulation_exceeded"
    assert (r["approved"], r["in_circulation"], r["requested"]) == (
        "30000.00",
        "20000.00",
        "10000.01",
    )
    assert r["detail"] == (
        "COTAI has 20000.00 chips in circulation of 30000.00 approved: "
        "a buy-in of 10000.01 would pass the approved figure"
    )
    assert sb.journal_count() == journal and sb.balance(bob) == "100000.00"
    cage(sb, "buy-ins", bob, amount="10000.00")  # exactly up to the approval
    # A winning round puts chips in circulation too: not refused (the win is
    # the player's), but the close reports the day's end above the approval.
    cage(sb, "plays", bob, wager="1000.00", payout="3000.00")
    # Only DICJ (the casino's supervisor) and the admin record the approval.
    for key in ("merchant", "auditor"):
        r = sb.call("PUT", "/v1/casinos/COTAI/chips-approval", key, json={"chips_approved": "1.00"})
        assert r.status_code == 403
    r = sb.call("PUT", "/v1/casinos/COTAI/chips-approval", "supervisor", json={"chips_approved": 5})
    assert r.status_code == 422 and "chips_approved" in r.get_json()["errors"]
    advance(sb, 21 * 3600)
    report = sb.ok("POST", f"/v1/casinos/COTAI/gaming-days/{DAY}/close", key="supervisor")
    checks = {c["name"]: c for c in report["checks"]}
    assert not checks["chips_within_approval"]["ok"] and not report["ok"]
    assert checks["chips_within_approval"]["figures"] == {
        "approved": "30000.00",
        "chips_with_players_at_end": "32000.00",
    }
    # Coverage: the casino wallet keeps its float (100,000) after the sweep.
    assert report["chips_in_circulation"] == {
        "approved": "30000.00",
        "now": "32000.00",
        "now_cny": "32000.00",  # CNY chips: the same figure
        "ecny_cash": "100000.00",
        "coverage": "3.1250",
    }
    # The supervisor lifts the approval; then a buy-in passes again.
    got = sb.ok(
        "PUT",
        "/v1/casinos/COTAI/chips-approval",
        key="supervisor",
        json={"chips_approved": "50000.00"},
        status=200,
    )
    assert (got["chips_approved"], got["chips_with_players"]) == ("50000.00", "32000.00")
    cage(sb, "buy-ins", alice, amount="18000.00")
    assert cage(sb, "buy-ins", alice, 422, amount="0.01")["code"] == (
        "chips_in_circulation_exceeded"
    )
    none = sb.ok(
        "PUT",
        "/v1/casinos/COTAI/chips-approval",
        key="admin",
        json={"chips_approved": None},
        status=200,
    )
    assert none["chips_approved"] is None
    cage(sb, "buy-ins", alice, amount="0.01")


def test_gaming_promoters_are_paid_commission_net_of_withholding_at_the_close(sandbox):
    sb = sandbox
    world = macau_world(sb)
    treasury = world["treasury"]
    sb.ok(
        "POST",
        "/v1/casinos",
        json={
            "ref": "LISBOA",
            "name": "Lisboa",
            "operator": "BOCMO",
            "treasury_wallet": treasury,
            "float": "0.00",
        },
    )
    junket = sb.wallet("BOCMO", 1, kind="merchant", region="MO", label="GP-7 Ltd")
    body = {"licence": "GP-7", "name": "GP-7 Ltd", "wallet": junket}
    # Commission above the cap (1.25% of net rolling): refused.
    r = sb.call(
        "POST",
        "/v1/casinos/COTAI/promoters",
        "supervisor",
        json={**body, "commission_rate": "0.0126"},
    )
    assert r.status_code == 422 and r.get_json()["code"] == "promoter_commission_above_cap"
    assert r.get_json()["cap"] == "0.0125"
    got = sb.ok(
        "POST",
        "/v1/casinos/COTAI/promoters",
        key="supervisor",
        json={**body, "commission_rate": "0.0125"},
    )
    assert (got["casino"], got["commission_rate"], got["players"]) == ("COTAI", "0.0125", [])
    # One concessionaire only: the same licence at another casino is refused.
    r = sb.call(
        "POST", "/v1/casinos/LISBOA/promoters", "admin", json={**body, "commission_rate": "0.01"}
    )
    assert r.status_code == 409 and r.get_json()["code"] == "promoter_other_concessionaire"
    assert r.get_json()["concessionaire"] == "COTAI"
    # LISBOA's supervisor does not see COTAI (a 404 to it): the answer does not name it.
    sb.keys["sup_lisboa"] = sb.key("supervisor", casino_ref="LISBOA")
    assert sb.call("GET", "/v1/casinos/COTAI", "sup_lisboa").status_code == 404
    r = sb.call(
        "POST",
        "/v1/casinos/LISBOA/promoters",
        "sup_lisboa",
        json={**body, "commission_rate": "0.01"},
    )
    assert r.status_code == 409 and r.get_json()["code"] == "promoter_other_concessionaire"
    assert "concessionaire" not in r.get_json() and "COTAI" not in r.get_data(as_text=True)

    alice, bob, carol = (
        sb.wallet("BOCMO", 1, fund="100000.00", region="MO", holder_id=f"h-{n}")
        for n in ("alice", "bob", "carol")
    )
    for p in (alice, bob):
        sb.ok(
            "POST", "/v1/casinos/COTAI/promoters/GP-7/players", key="merchant", json={"player": p}
        )
    for p in (alice, bob, carol):
        cage(sb, "buy-ins", p, amount="50000.00")
    cage(sb, "plays", alice, wager="10000.00")
    cage(sb, "plays", alice, wager="30000.00")
    cage(sb, "plays", bob, wager="20000.00", payout="40000.00")
    cage(sb, "plays", carol, wager="5000.00")  # no promoter's: not rolling of GP-7
    listed = sb.ok("GET", "/v1/casinos/COTAI/promoters", key="auditor")["items"]
    assert [(p["licence"], p["players"]) for p in listed] == [("GP-7", [alice, bob])]
    r = sb.call(
        "POST", "/v1/casinos/COTAI/promoters/GP-8/players", "merchant", json={"player": carol}
    )
    assert r.status_code == 404 and r.get_json()["code"] == "promoter_not_found"

    advance(sb, 21 * 3600)
    report = sb.ok("POST", f"/v1/casinos/COTAI/gaming-days/{DAY}/close", key="supervisor")
    # Net rolling 60,000: commission 1.25% = 750.00, 5% withheld = 37.50, 712.50 paid.
    (commission,) = report["promoters"]
    assert {k: v for k, v in commission.items() if k != "transfer_ids"} == {
        "promoter": "GP-7",
        "wallet": junket,
        "players": 2,
        "net_rolling": "60000.00",
        "rate": "0.0125",
        "commission": "750.00",
        "commission_chip_currency": "750.00",  # CNY chips: the same figure
        "withholding": "37.50",
        "paid": "712.50",
    }
    paid, withheld = (sb.ok("GET", f"/v1/transfers/{i}") for i in commission["transfer_ids"])
    assert (paid["to_wallet"], paid["amount"]) == (junket, "712.50")
    assert (withheld["to_wallet"], withheld["amount"]) == (treasury, "37.50")
    assert sb.balance(junket) == "712.50"
    # GGR 25,000: tax 8,750 + contributions 500 + 750, and the 37.50 withheld.
    assert report["ggr"] == "25000.00"
    assert sb.balance(treasury) == "10037.50"
    assert report["ok"], report["checks"]  # the commissions are not receipts from players


def test_gaming_credit_is_drawn_as_chips_repaid_in_e_cny_and_in_the_close(sandbox):
    sb = sandbox
    world = macau_world(sb)
    casino_wallet = world["casino"]["merchant_wallet"]
    vip = sb.wallet("BOCMO", 1, fund="100000.00", region="MO", holder_id="h-vip")
    stranger = sb.wallet("BOCMO", 1, fund="100.00", region="MO", holder_id="h-stranger")
    r = sb.call(
        "POST",
        "/v1/casinos/COTAI/credit-draws",
        "merchant",
        json={"player": stranger, "amount": "1.00"},
    )
    assert r.status_code == 404 and r.get_json()["code"] == "credit_line_not_found"
    line = sb.ok(
        "PUT",
        f"/v1/casinos/COTAI/credit-lines/{vip}",
        key="merchant",
        json={"limit": "50000.00"},
        status=200,
    )
    assert (line["limit"], line["outstanding"], line["available"]) == (
        "50000.00",
        "0.00",
        "50000.00",
    )
    drawn = sb.ok(
        "POST",
        "/v1/casinos/COTAI/credit-draws",
        key="merchant",
        json={"player": vip, "amount": "30000.00"},
    )
    assert (drawn["kind"], drawn["outstanding"]) == ("draw", "30000.00")
    assert [(t["kind"], t["asset"]) for t in drawn["transfers"]] == [("chip_issue", "CHIP:COTAI")]
    assert sb.balance(vip) == "100000.00"  # no e-CNY moved
    r = sb.call(
        "POST",
        "/v1/casinos/COTAI/credit-draws",
        "merchant",
        json={"player": vip, "amount": "20000.01"},
    )
    assert r.status_code == 422 and r.get_json()["code"] == "credit_limit_exceeded"
    cage(sb, "plays", vip, wager="10000.00")
    cage(sb, "cash-outs", vip, amount="5000.00")
    # Repaid in e-CNY, with the holder's payment code as for a buy-in.
    over = {"player": vip, "amount": "30000.01", "payment_code": payment_code(sb, vip)}
    r = sb.call("POST", "/v1/casinos/COTAI/credit-repayments", "merchant", json=over)
    assert r.status_code == 422 and r.get_json()["code"] == "credit_repayment_exceeds_outstanding"
    body = {"player": vip, "amount": "12000.00", "payment_code": payment_code(sb, vip)}
    repaid = sb.ok("POST", "/v1/casinos/COTAI/credit-repayments", key="merchant", json=body)
    assert (repaid["kind"], repaid["outstanding"]) == ("repayment", "18000.00")
    assert repaid["transfers"][0]["to_wallet"] == casino_wallet
    # The casino sees its cage operations' transfers, the repayment's too.
    page = sb.ok("GET", "/v1/events", key="merchant", query_string={"limit": 500})
    seen = {e["data"]["id"] for e in page["items"] if e["type"] == "transfer.posted"}
    assert {drawn["transfers"][0]["id"], repaid["transfers"][0]["id"]} <= seen
    assert sb.balance(vip) == "93000.00"  # +5,000 cashed out, -12,000 repaid
    page = sb.ok("GET", "/v1/casinos/COTAI/credit-lines", key="supervisor")
    assert page["next_after"] is None
    (listed,) = page["items"]
    assert (listed["player"], listed["outstanding"]) == (vip, "18000.00")

    advance(sb, 21 * 3600)
    report = sb.ok("POST", f"/v1/casinos/COTAI/gaming-days/{DAY}/close", key="supervisor")
    assert report["gaming_credit"] == {
        "drawn": "30000.00",
        "repaid": "12000.00",
        "outstanding": "18000.00",
    }
    checks = {c["name"]: c for c in report["checks"]}
    assert report["ok"], report["checks"]
    # Receipts 7,000 = GGR 10,000 + chips change 15,000 - credit change 18,000.
    assert checks["ecny_receipts_match"]["figures"]["ecny_net_receipts"] == "7000.00"
    assert checks["ecny_receipts_match"]["figures"]["credit_outstanding_change"] == "18000.00"
    assert checks["chips_match_cage"]["figures"]["chips_with_players_per_cage"] == "15000.00"


def test_fatf_red_flags_and_str_due_dates_over_public_holidays(sandbox):
    """Third-party payouts, pooling and chip walking (FATF/APG 2009), then STR
    due dates over Macao's public holidays, in one Macau world."""
    sb = sandbox
    macau_world(sb)
    walker = sb.wallet("BOCMO", 1, fund="10000.00", region="MO", holder_id="h-walker")
    regular = sb.wallet("BOCMO", 1, fund="10000.00", region="MO", holder_id="h-regular")
    cage(sb, "buy-ins", walker, amount="5000.00")  # Monday 2 March, then gone
    cage(sb, "buy-ins", regular, amount="5000.00")
    # A courier holds chips only handed over; a borrower draws credit on Thursday.
    courier = sb.wallet("BOCMO", 1, region="MO", holder_id="h-courier")
    handover = {"from_player": regular, "to_player": courier, "amount": "1000.00"}
    sb.ok("POST", "/v1/casinos/COTAI/chip-handovers", key="merchant", json=handover)
    borrower = sb.wallet("BOCMO", 1, fund="1000.00", region="MO", holder_id="h-borrower")
    cage(sb, "buy-ins", borrower, amount="100.00")
    limit = {"limit": "100.00"}
    sb.ok("PUT", f"/v1/casinos/COTAI/credit-lines/{borrower}", key="merchant", json=limit)
    _chips_pooled_into_one_cash_out_raise_an_alert(sb)
    alice, friend = _third_party_payouts_are_alerted(sb)
    _chip_walking_after_n_gaming_days(sb, walker, regular, courier, borrower)
    _third_party_payouts_are_refused_under_a_stricter_profile(sb, alice, friend)
    _str_due_dates_skip_macaus_public_holidays(sb)


def _chips_pooled_into_one_cash_out_raise_an_alert(sb) -> None:
    a, b, collector = (
        sb.wallet("BOCMO", 1, fund="10000.00", region="MO", holder_id=f"h-{n}")
        for n in ("a", "b", "collector")
    )
    young = sb.wallet("BOCMO", 2, fund="100.00", region="MO", birth_date="2006-01-01")
    for p in (a, b, collector):
        cage(sb, "buy-ins", p, amount="5000.00")

    def hand(giver, to, amount, status=201):
        body = {"from_player": giver, "to_player": to, "amount": amount}
        r = sb.call("POST", "/v1/casinos/COTAI/chip-handovers", "merchant", json=body)
        assert r.status_code == status, r.get_json()
        return r.get_json()

    moved = hand(a, collector, "4000.00")
    assert [(t["kind"], t["from_wallet"], t["to_wallet"]) for t in moved["transfers"]] == [
        ("chip_handover", a, collector)
    ]
    assert hand(a, young, "1.00", 422)["code"] == "under_minimum_age"
    assert hand(a, collector, "1000.01", 422)["code"] == "insufficient_chips"
    # One other holder's chips: not yet "several people".
    assert cage(sb, "cash-outs", collector, amount="1000.00")["alerts"] == []
    hand(b, collector, "5000.00")
    op = cage(sb, "cash-outs", collector, amount="13000.00")
    # 14,000 cashed out of a 5,000 buy-in, nothing wagered: minimal play as well.
    assert sorted(x["type"] for x in op["alerts"]) == ["chip_pooling", "minimal_play"]
    (pooled,) = [x for x in op["alerts"] if x["type"] == "chip_pooling"]
    alert = sb.ok("GET", f"/v1/alerts/{pooled['id']}", key="supervisor")
    assert alert["wallet"] == collector and alert["evidence"]["contributors"] == [
        f"holder-w{a}",
        f"holder-w{b}",
    ]
    assert [h["amount"] for h in alert["evidence"]["handovers"]] == ["4000.00", "5000.00"]
    assert [(h["from_wallet"], h["transfer_id"]) for h in alert["evidence"]["handovers"]] == [
        (a, moved["transfers"][0]["id"]),
        (b, alert["evidence"]["handovers"][1]["transfer_id"]),
    ]
    assert alert["evidence"]["handovers"][0]["chip_handover"] == moved["id"]
    assert alert["evidence"]["holder_ref"] == f"holder-w{collector}"
    assert alert["summary"] == f"wallet {collector} cashed out chips pooled from 2 other holders"
    # Once per player and gaming day.
    hand(a, collector, "1.00")
    assert "chip_pooling" not in alert_types(cage(sb, "cash-outs", collector, amount="1.00"))
    assert sb.balance(collector) == "19001.00"


def _third_party_payouts_are_alerted(sb) -> tuple[int, int]:
    alice = sb.wallet("BOCMO", 1, fund="100000.00", region="MO", holder_id="h-alice")
    friend = sb.wallet("BOCMO", 1, region="MO", holder_id="h-friend")
    partner = sb.wallet("BOCMO", 1, fund="1000.00", region="MO", holder_id="h-partner")
    cage(sb, "buy-ins", alice, amount="10000.00")
    cage(sb, "buy-ins", partner, amount="100.00")
    op = cage(sb, "cash-outs", alice, amount="3000.00", pay_to=friend)
    assert [a["type"] for a in op["alerts"]] == ["third_party_payout"]
    assert op["transfers"][1]["to_wallet"] == friend and sb.balance(friend) == "3000.00"
    alert = sb.ok("GET", f"/v1/alerts/{op['alerts'][0]['id']}", key="supervisor")
    assert (alert["wallet"], alert["evidence"]["paid_to_wallet"]) == (alice, friend)
    assert alert["evidence"]["transfer_ids"] == [t["id"] for t in op["transfers"]]
    assert (alert["evidence"]["holder_ref"], alert["evidence"]["paid_to_holder_ref"]) == (
        f"holder-w{alice}",
        f"holder-w{friend}",
    )
    assert alert["summary"] == (
        f"wallet {alice}'s chips (3000.00) cashed out to wallet {friend}, which did not buy in"
    )
    assert alert["due_at"] is not None  # a suspicion: an STR is due
    # Paid to a wallet that bought in that gaming day: not a third party.
    assert cage(sb, "cash-outs", alice, amount="1000.00", pay_to=partner)["alerts"] == []
    # A casino's own wallet is never paid as a player.
    casino_wallet = sb.ok("GET", "/v1/casinos/COTAI")["merchant_wallet"]
    r = cage(sb, "cash-outs", alice, 422, amount="1.00", pay_to=casino_wallet)
    assert r["code"] == "not_a_player" and r["field"] == "pay_to"
    return alice, friend


def _chip_walking_after_n_gaming_days(sb, walker, regular, courier, borrower) -> None:
    reports = {}
    for n, day in enumerate(("2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05")):
        advance(sb, 24 * 3600 if n else 21 * 3600)  # 07:00 the day after `day`
        if day != "2026-03-05":
            cage(sb, "plays", regular, wager="10.00")  # the regular plays each day
        if day == "2026-03-04":  # in gaming day 2026-03-05
            draw = {"player": borrower, "amount": "100.00"}
            sb.ok("POST", "/v1/casinos/COTAI/credit-draws", key="merchant", json=draw)
        reports[day] = sb.ok("POST", f"/v1/casinos/COTAI/gaming-days/{day}/close", key="supervisor")
    # Monday's pooled and third-party flows leave no failed check.
    assert reports["2026-03-02"]["ok"], reports["2026-03-02"]["checks"]
    # macau: 3 gaming days. Monday's chips are walking at Thursday's close
    # (the walker's, and those Monday's other players kept); not the regular's.
    assert [reports[d]["chip_walking"]["players"] for d in list(reports)[:3]] == [[], [], []]
    found = reports["2026-03-05"]["chip_walking"]["players"]
    assert regular not in [w["player"] for w in found]
    assert borrower not in [w["player"] for w in found]  # drew credit that day
    (handed,) = [w for w in found if w["player"] == courier]  # chips handed over only
    assert (handed["chips"], handed["last_gaming_day"]) == ("1000.00", "2026-03-02")
    (walking,) = [w for w in found if w["player"] == walker]
    assert {k: walking[k] for k in ("player", "chips", "last_gaming_day")} == {
        "player": walker,
        "chips": "5000.00",
        "last_gaming_day": "2026-03-02",
    }
    alert = sb.ok("GET", f"/v1/alerts/{walking['alert_id']}", key="supervisor")
    assert (alert["type"], alert["wallet"]) == ("chip_walking", walker)
    assert alert["evidence"]["gaming_days_without_operation"] == 3


def _third_party_payouts_are_refused_under_a_stricter_profile(sb, alice, friend) -> None:
    doc = sb.ok("GET", "/v1/rules")["document"]
    doc["name"] = "macau-no-third-party"
    doc["casino"]["third_party_payout"]["action"] = "refuse"
    sb.ok("PUT", "/v1/sandbox/profile", json={"document": doc})
    journal = sb.journal_count()
    r = cage(sb, "cash-outs", alice, 422, amount="1000.00", pay_to=friend)
    assert (r["code"], r["wallet_id"]) == ("third_party_payout_refused", friend)
    assert sb.journal_count() == journal and sb.balance(friend) == "3000.00"


def _str_due_dates_skip_macaus_public_holidays(sb) -> None:
    players = [sb.wallet("ICBC", 1, fund="1000.00", region="CN") for _ in range(4)]
    # Thursday 2 April 2026: Friday is Good Friday (a dated holiday of 2026),
    # so the 2 working days are Monday 6 and Tuesday 7 April.
    assert _mainland_alert_due(sb, players[0], "2026-04-02T12:00:00+08:00") == (
        "2026-04-07T16:00:00+00:00"
    )
    # Wednesday 30 September: 1 and 2 October are fixed-date holidays.
    assert _mainland_alert_due(sb, players[1], "2026-09-30T12:00:00+08:00") == (
        "2026-10-06T16:00:00+00:00"
    )
    # A profile of one's own may list more (here: Monday 5 October as well).
    doc = sb.ok("GET", "/v1/rules")["document"]
    doc["name"] = "macau-more-holidays"
    doc["alerts"]["holidays"]["dated"]["2026"].append("2026-10-05")
    sb.ok("PUT", "/v1/sandbox/profile", json={"document": doc})
    assert _mainland_alert_due(sb, players[2], "2026-09-30T13:00:00+08:00") == (
        "2026-10-07T16:00:00+00:00"
    )
    # A date outside its year is refused, naming the key; nothing changes.
    doc["alerts"]["holidays"]["dated"]["2026"].append("2027-01-04")
    doc["name"] = "macau-bad-holidays"
    r = sb.call("PUT", "/v1/sandbox/profile", "admin", json={"document": doc})
    assert r.status_code == 422 and r.get_json()["code"] == "validation_failed"
    assert "alerts.holidays.dated: 2027-01-04 is not in 2026" in r.get_json()["detail"]
    assert sb.ok("GET", "/v1/rules")["name"] == "macau-more-holidays"
    # Without holidays (a profile that lists none) it is weekends only.
    del doc["alerts"]["holidays"]
    doc["name"] = "macau-weekends-only"
    sb.ok("PUT", "/v1/sandbox/profile", json={"document": doc})
    assert _mainland_alert_due(sb, players[3], "2026-04-02T12:00:00+08:00") == (
        "2026-04-06T16:00:00+00:00"
    )


def test_a_mainland_credit_repayment_is_a_payment_to_the_casino(sandbox):
    """A repayment is checked, alerted and counted in the yearly cap as a buy-in."""
    sb = sandbox
    macau_world(sb)
    cn = sb.wallet("ICBC", 1, fund="400000.00", region="CN", holder_id="h-cn")
    sb.ok("PUT", f"/v1/casinos/COTAI/credit-lines/{cn}", key="merchant", json={"limit": "100.00"})
    sb.ok(
        "POST",
        "/v1/casinos/COTAI/credit-draws",
        key="merchant",
        json={"player": cn, "amount": "100.00"},
    )
    cage(sb, "buy-ins", cn, amount="359950.00")
    body = {"player": cn, "amount": "50.00", "payment_code": payment_code(sb, cn)}
    repaid = sb.ok("POST", "/v1/casinos/COTAI/credit-repayments", key="merchant", json=body)
    assert repaid["alerts"] == []  # 360,000.00: at the cap; mainland_wallet already today
    body = {"player": cn, "amount": "0.01", "payment_code": payment_code(sb, cn)}
    repaid = sb.ok("POST", "/v1/casinos/COTAI/credit-repayments", key="merchant", json=body)
    assert [a["type"] for a in repaid["alerts"]] == ["mainland_yearly_cap"]
    alert = sb.ok("GET", f"/v1/alerts/{repaid['alerts'][0]['id']}", key="supervisor")
    assert alert["evidence"]["buy_ins_this_year"] == "360000.01"
    advance(sb, 24 * 3600)  # the next gaming day: the presence alert again
    body = {"player": cn, "amount": "0.01", "payment_code": payment_code(sb, cn)}
    repaid = sb.ok("POST", "/v1/casinos/COTAI/credit-repayments", key="merchant", json=body)
    assert [a["type"] for a in repaid["alerts"]] == ["mainland_wallet"]
    doc = sb.ok("GET", "/v1/rules")["document"]
    doc["name"] = "macau-refuse-mainland"
    doc["casino"]["mainland"]["action"] = "refuse"
    sb.ok("PUT", "/v1/sandbox/profile", json={"document": doc})
    journal = sb.journal_count()
    body = {"player": cn, "amount": "1.00", "payment_code": payment_code(sb, cn)}
    r = sb.call("POST", "/v1/casinos/COTAI/credit-repayments", "merchant", json=body)
    assert r.status_code == 422 and r.get_json()["code"] == "mainland_wallet_refused"
    assert sb.journal_count() == journal
    # Nor may it borrow: a draw is a buy-in on credit (a debt it could not repay).
    line = {"player": cn, "amount": "1.00"}
    r = sb.call("POST", "/v1/casinos/COTAI/credit-draws", "merchant", json=line)
    assert r.status_code == 422 and r.get_json()["code"] == "mainland_wallet_refused"
    assert sb.journal_count() == journal


def test_a_payee_that_cannot_be_paid_does_not_block_the_close(sandbox):
    """A frozen beneficiary and a promoter past its balance cap: the close pays
    the tax and the rest, and those two payments to the treasury, flagged."""
    sb = sandbox
    world = macau_world(sb, foundation=True)
    foundation, treasury = world["foundation"], world["treasury"]
    junket = sb.wallet("ICBC", 1, kind="merchant", region="MO", label="GP-7 Ltd")
    sb.ok(
        "POST",
        "/v1/casinos/COTAI/promoters",
        key="supervisor",
        json={"licence": "GP-7", "name": "GP-7 Ltd", "wallet": junket, "commission_rate": "0.01"},
    )
    player = sb.wallet("BOCMO", 1, fund="50000.00", region="MO", holder_id="h-p")
    sb.ok(
        "POST", "/v1/casinos/COTAI/promoters/GP-7/players", key="merchant", json={"player": player}
    )
    cage(sb, "buy-ins", player, amount="20000.00")
    cage(sb, "plays", player, wager="10000.00")
    sb.ok("POST", f"/v1/wallets/{foundation}/freeze", key="BOCMO", json={}, status=200)
    # The promoter's operator caps its class 1 at 50.00: the 95.00 commission passes it.
    sb.ok("PUT", "/v1/operators/ICBC/limits/1", key="ICBC", json={"balance_cap": "50.00"})
    advance(sb, 21 * 3600)
    report = sb.ok("POST", f"/v1/casinos/COTAI/gaming-days/{DAY}/close", key="supervisor")
    # GGR 10,000: tax 3,500, 200 + 300, commission 100 (5.00 withheld, 95.00 paid).
    assert [
        (u["wallet"], u["amount"], u["reason"], u["paid_to"]) for u in report["undelivered"]
    ] == [
        (foundation, "200.00", "wallet_frozen", treasury),
        (junket, "95.00", "balance_cap", treasury),
    ]
    for u in report["undelivered"]:
        t = sb.ok("GET", f"/v1/transfers/{u['transfer_id']}")
        assert (t["to_wallet"], t["amount"]) == (treasury, u["amount"])
    assert sb.balance(foundation) == "0.00" and sb.balance(junket) == "0.00"
    assert sb.balance(treasury) == "4100.00"  # 3,500 + 200 + 300 + 95 + 5
    checks = {c["name"]: c for c in report["checks"]}
    assert not checks["payments_delivered"]["ok"] and not report["ok"]
    assert checks["taxes_paid"]["ok"] and checks["ecny_receipts_match"]["ok"]
    # DICJ unblocks them for the next closes: new wallets for both payees.
    fund = sb.wallet("BOCMO", 1, kind="merchant", region="MO", label="Macao Foundation (new)")
    r = sb.call("PUT", "/v1/casinos/COTAI/beneficiaries", "supervisor", json={"beneficiaries": {}})
    assert r.status_code == 403  # the admin's, as the casino's registration
    got = sb.ok(
        "PUT",
        "/v1/casinos/COTAI/beneficiaries",
        json={"beneficiaries": {"macao_foundation": fund}},
        status=200,
    )
    assert got["beneficiaries"] == {"macao_foundation": fund}
    paid = sb.wallet("BOCMO", 2, kind="merchant", region="MO", label="GP-7 Ltd (new)")
    got = sb.ok(
        "PUT", "/v1/casinos/COTAI/promoters/GP-7/wallet", key="supervisor",
        json={"wallet": paid}, status=200,
    )  # fmt: skip
    assert got["wallet"] == paid
    # A payee wallet is checked: active, class 1 or 2 (not an individual's cap).
    anonymous = sb.wallet("BOCMO", 4, region="MO")
    for path, body in (
        ("/v1/casinos/COTAI/promoters/GP-7/wallet", {"wallet": anonymous}),
        ("/v1/casinos/COTAI/promoters/GP-7/wallet", {"wallet": foundation}),  # frozen
        ("/v1/casinos/COTAI/beneficiaries", {"beneficiaries": {"macao_foundation": foundation}}),
        ("/v1/casinos/COTAI/promoters", {"licence": "GP-9", "name": "GP-9", "wallet": anonymous,
                                          "commission_rate": "0.01"}),
    ):  # fmt: skip
        r = sb.call("POST" if path.endswith("promoters") else "PUT", path, "admin", json=body)
        assert r.status_code == 422 and r.get_json()["code"] == "validation_failed", r.get_json()
    r = sb.call("PUT", "/v1/casinos/COTAI/beneficiaries", "admin", json={"beneficiaries": {"x": 5}})
    assert r.status_code == 422 and r.get_json()["code"] == "unknown_contribution"
    r = sb.call("PUT", "/v1/casinos/COTAI/promoters/GP-8/wallet", "admin", json={"wallet": paid})
    assert r.status_code == 404 and r.get_json()["code"] == "promoter_not_found"
    # The next day's close pays the new wallets: every check passes.
    cage(sb, "plays", player, wager="1000.00")
    advance(sb, 24 * 3600)
    report = sb.ok("POST", "/v1/casinos/COTAI/gaming-days/2026-03-03/close", key="supervisor")
    assert report["undelivered"] == [] and report["ok"], report["checks"]
    assert sb.balance(fund) == "20.00" and sb.balance(paid) == "9.50"


def test_a_commission_is_rounded_down_so_it_never_passes_the_cap(sandbox):
    """Net rolling 0.79 at 1.25%: 0.9875 fen, paid 0.00 (half up would pay 0.01,
    1.27% of the rolling, above the cap); at 0.80 it is 0.01 exactly."""
    sb = sandbox
    macau_world(sb)
    junket = sb.wallet("BOCMO", 1, kind="merchant", region="MO", label="GP-9 Ltd")
    sb.ok(
        "POST",
        "/v1/casinos/COTAI/promoters",
        key="supervisor",
        json={"licence": "GP-9", "name": "GP-9", "wallet": junket, "commission_rate": "0.0125"},
    )
    player = sb.wallet("BOCMO", 1, fund="1000.00", region="MO", holder_id="h-gp9")
    sb.ok(
        "POST", "/v1/casinos/COTAI/promoters/GP-9/players", key="merchant", json={"player": player}
    )
    cage(sb, "buy-ins", player, amount="100.00")
    cage(sb, "plays", player, wager="0.79")
    advance(sb, 21 * 3600)
    report = sb.ok("POST", f"/v1/casinos/COTAI/gaming-days/{DAY}/close", key="supervisor")
    (owed,) = report["promoters"]
    assert (owed["net_rolling"], owed["commission"], owed["paid"]) == ("0.79", "0.00", "0.00")
    assert sb.balance(junket) == "0.00"
    assert report["ok"], report["checks"]


def test_promoters_and_credit_lines_are_listed_a_page_at_a_time(sandbox):
    """Every list pages by cursor (SPEC §10): `limit`, `after`, `next_after`."""
    sb = sandbox
    macau_world(sb)
    for n in (1, 2, 3):
        junket = sb.wallet("BOCMO", 1, kind="merchant", region="MO", label=f"GP-{n}")
        sb.ok(
            "POST",
            "/v1/casinos/COTAI/promoters",
            key="supervisor",
            json={
                "licence": f"GP-{n}",
                "name": f"GP-{n}",
                "wallet": junket,
                "commission_rate": "0.01",
            },
        )
    players = [sb.wallet("BOCMO", 1, region="MO", holder_id=f"h-line-{n}") for n in (1, 2, 3)]
    for p in players:
        sb.ok(
            "PUT", f"/v1/casinos/COTAI/credit-lines/{p}", key="merchant", json={"limit": "100.00"}
        )
    for path, field, want in (
        ("/v1/casinos/COTAI/promoters", "licence", ["GP-1", "GP-2", "GP-3"]),
        ("/v1/casinos/COTAI/credit-lines", "player", sorted(players)),
    ):
        first = sb.ok("GET", path, key="auditor", query_string={"limit": 2})
        assert [i[field] for i in first["items"]] == want[:2] and first["next_after"]
        rest = sb.ok(
            "GET", path, key="auditor", query_string={"limit": 2, "after": first["next_after"]}
        )
        assert [i[field] for i in rest["items"]] == want[2:] and rest["next_after"] is None
        r = sb.call("GET", path, "auditor", query_string={"after": "x"})
        assert r.status_code == 422 and r.get_json()["code"] == "validation_failed"
        r = sb.call("GET", path, "auditor", query_string={"limit": 0})
        assert r.status_code == 422
