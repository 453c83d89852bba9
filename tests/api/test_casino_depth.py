"""Macau in depth (issue 20), through the API: contributions paid as the law
splits them, STR due dates over Macau's public holidays, chips in circulation."""

from __future__ import annotations

from macau_world import DAY, advance, cage, macau_world


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


def test_a_beneficiary_must_be_a_contribution_of_the_profile(sandbox):
    sb = sandbox
    sb.ok("PUT", "/v1/sandbox/profile", json={"name": "macau"})
    sb.operator("BOCMO", reserve="10000000.00", issue="6000000.00")
    treasury = sb.wallet("BOCMO", 1, kind="merchant", region="MO")
    body = {
        "ref": "COTAI",
        "name": "Cotai Grand",
        "operator": "BOCMO",
        "treasury_wallet": treasury,
        "float": "0.00",
    }
    r = sb.post("/v1/casinos", json={**body, "beneficiaries": {"lottery": treasury}})
    assert r.status_code == 422 and r.get_json()["code"] == "validation_failed"
    assert "lottery: not a contribution" in r.get_json()["errors"]["beneficiaries"][0]
    r = sb.post("/v1/casinos", json={**body, "beneficiaries": {"macao_foundation": 999}})
    assert r.status_code == 404 and r.get_json()["code"] == "wallet_not_found"
    r = sb.post("/v1/casinos", json={**body, "beneficiaries": {"Bad-Name": treasury}})
    assert r.status_code == 422 and "beneficiaries.Bad-Name.key" in r.get_json()["errors"]
    assert sb.ok("GET", "/v1/casinos")["items"] == []  # nothing half-written
