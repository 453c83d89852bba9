"""Supervisors and merchants: scopes, the exclusion list, the alerts' lifecycle,
rule profiles over the API (SPEC.md §6, §10; issue 5)."""

from __future__ import annotations

import pytest
from macau_world import DAY, advance, cage, macau_world, payment_code


def second_casino(sb, world, supervisors=()) -> int:
    sb.ok(
        "POST",
        "/v1/casinos",
        json={
            "ref": "LISBOA",
            "name": "Lisboa",
            "operator": "BOCMO",
            "treasury_wallet": world["treasury"],
            "float": "0.00",
            "supervisors": list(supervisors),
        },
    )
    sb.keys["lisboa"] = sb.key("merchant", casino_ref="LISBOA")
    return sb.ok("GET", "/v1/casinos/LISBOA")["merchant_wallet"]


def test_supervisors_see_their_casinos_and_nothing_else(sandbox):
    sb = sandbox
    world = macau_world(sb)
    both = sb.ok("POST", "/v1/keys", json={"role": "supervisor", "casino": "COTAI"})
    second_casino(sb, world, supervisors=[both["id"]])
    sb.keys["both"] = both["key"]
    ours = sb.wallet("BOCMO", 1, fund="510000.00", region="MO")
    theirs = sb.wallet("ICBC", 1, fund="10000.00", region="HK")
    cage(sb, "buy-ins", ours, amount="1000.00")
    assert cage(sb, "buy-ins", ours, amount="500000.00")["alerts"][0]["type"] == "ltr"
    r = sb.call(
        "POST",
        "/v1/casinos/LISBOA/buy-ins",
        "lisboa",
        json={"player": theirs, "amount": "460000.00", "payment_code": payment_code(sb, theirs)},
    )
    assert r.status_code == 422  # class 1 has no limits, but the wallet lacks the funds
    sb.ok("POST", f"/v1/wallets/{theirs}/fund", key="ICBC", json={"amount": "460000.00"})
    sb.ok(
        "POST",
        "/v1/casinos/LISBOA/buy-ins",
        key="lisboa",
        json={"player": theirs, "amount": "460000.00", "payment_code": payment_code(sb, theirs)},
    )

    # COTAI's supervisor: its casino, and 404 for the other.
    assert sb.ok("GET", "/v1/casinos/COTAI", key="supervisor")["supervisors"][0]["key_id"]
    assert [c["ref"] for c in sb.ok("GET", "/v1/casinos", key="supervisor")["items"]] == ["COTAI"]
    for method, path in [
        ("GET", "/v1/casinos/LISBOA"),
        ("GET", "/v1/casinos/LISBOA/transactions"),
        ("GET", "/v1/casinos/LISBOA/players"),
        ("GET", "/v1/casinos/LISBOA/gaming-days"),
        ("POST", f"/v1/casinos/LISBOA/gaming-days/{DAY}/close"),
        ("POST", f"/v1/wallets/{theirs}/freeze"),
    ]:
        r = sb.call(method, path, "supervisor")
        assert r.status_code == 404, (method, path, r.get_json())
        assert r.get_json()["code"] in ("casino_not_found", "wallet_not_found")
    mine = sb.ok("GET", "/v1/alerts", key="supervisor")["items"]
    assert {a["casino"] for a in mine} == {"COTAI"} and len(mine) == 1
    assert sb.ok("GET", "/v1/alerts?casino=LISBOA", key="supervisor")["items"] == []
    lisboa_alert = sb.ok("GET", "/v1/alerts?casino=LISBOA", key="both")["items"][0]
    r = sb.get(f"/v1/alerts/{lisboa_alert['id']}", key="supervisor")
    assert r.status_code == 404 and r.get_json()["code"] == "alert_not_found"
    r = sb.post(f"/v1/alerts/{lisboa_alert['id']}/acknowledge", key="supervisor")
    assert r.status_code == 404
    ops = sb.ok("GET", f"/v1/casinos/COTAI/transactions?wallet={ours}", key="supervisor")
    assert [o["kind"] for o in ops["items"]] == ["buy_in", "buy_in"]

    # A key over both casinos sees both.
    assert [c["ref"] for c in sb.ok("GET", "/v1/casinos", key="both")["items"]] == [
        "COTAI",
        "LISBOA",
    ]
    assert len(sb.ok("GET", "/v1/alerts", key="both")["items"]) == 2
    # The central bank sees no casino alert; an operator no casino at all.
    assert sb.ok("GET", "/v1/alerts", key="central_bank")["items"] == []
    assert sb.get("/v1/casinos", key="BOCMO").status_code == 403

    # Freeze a player pending review: only the operator unfreezes.
    frozen = sb.ok("POST", f"/v1/wallets/{ours}/freeze", key="supervisor", status=200)
    assert frozen["status"] == "frozen"
    assert sb.post(f"/v1/wallets/{ours}/unfreeze", key="supervisor").status_code == 403
    assert cage(sb, "plays", ours, 422, wager="1.00")["code"] == "wallet_frozen"
    assert cage(sb, "buy-ins", ours, 422, amount="1.00")["code"] == "wallet_frozen"
    sb.ok("POST", f"/v1/wallets/{ours}/unfreeze", key="BOCMO", status=200)
    cage(sb, "plays", ours, wager="1.00")


def test_merchant_keys_never_touch_players_wallets(sandbox):
    sb = sandbox
    world = macau_world(sb)
    second_casino(sb, world)
    p = sb.wallet("BOCMO", 1, fund="1000.00", region="MO")
    casino_wallet = world["casino"]["merchant_wallet"]
    before = sb.journal_count()
    for method, path, body in [
        ("GET", f"/v1/wallets/{p}", None),
        ("GET", f"/v1/wallets/{p}/balance", None),
        ("POST", f"/v1/wallets/{p}/freeze", None),
        ("POST", f"/v1/wallets/{p}/defund", {"amount": "1.00"}),
        ("POST", "/v1/transfers", {"from_wallet": p, "to_wallet": casino_wallet, "amount": "1.00"}),
        ("POST", "/v1/holds", {"from_wallet": p, "to_wallet": casino_wallet, "amount": "1.00"}),
        ("POST", "/v1/exclusions", {"holder_id": "x", "kind": "self", "ends_on": "2026-12-31"}),
        ("POST", "/v1/alerts/1/acknowledge", None),
        ("POST", "/v1/casinos", {}),
    ]:
        r = sb.call(method, path, "merchant", json=body)
        assert r.status_code == 403 and r.get_json()["code"] == "forbidden", (method, path)
    # Its own casino only, and never a cage of another.
    r = sb.call(
        "POST", "/v1/casinos/LISBOA/buy-ins", "merchant", json={"player": p, "amount": "1.00"}
    )
    assert r.status_code == 404 and r.get_json()["code"] == "casino_not_found"
    assert sb.get("/v1/casinos/LISBOA", key="merchant").status_code == 404
    assert sb.journal_count() == before
    # Supervisors and auditors do not run a cage.
    for role in ("supervisor", "auditor", "BOCMO"):
        r = sb.call("POST", "/v1/casinos/COTAI/buy-ins", role, json={"player": p, "amount": "1.00"})
        assert r.status_code == 403, role


def test_exclusion_list_add_list_revoke(sandbox):
    sb = sandbox
    world = macau_world(sb)
    second_casino(sb, world)
    p = sb.wallet("BOCMO", 2, fund="1000.00", region="MO", holder_id="h-gambler")
    other = sb.wallet("ICBC", 2, fund="1000.00", region="MO", holder_id="h-gambler")

    def add(body, key="supervisor", status=201):
        return sb.ok("POST", "/v1/exclusions", key=key, json=body, status=status)

    bad = [
        ({"holder_id": "h-gambler", "kind": "self", "ends_on": "2028-03-03"}, "ends_on"),
        ({"holder_id": "h-gambler", "kind": "self", "ends_on": "2026-03-01"}, "ends_on"),
        ({"holder_id": "h-gambler", "kind": "friend", "ends_on": "2026-04-01"}, "kind"),
    ]
    for body, field in bad:
        r = sb.post("/v1/exclusions", body, key="supervisor")
        assert r.status_code == 422 and field in r.get_json()["errors"], body
    r = sb.post(
        "/v1/exclusions",
        {"holder_id": "h-gambler", "kind": "self", "ends_on": "2026-04-01", "casino": "LISBOA"},
        key="supervisor",
    )
    assert r.status_code == 404 and r.get_json()["code"] == "casino_not_found"

    # Family-requested, at this casino only, for exactly two years.
    e = add(
        {"holder_id": "h-gambler", "kind": "family", "ends_on": "2028-03-02", "casino": "COTAI"}
    )
    assert (e["casino"], e["status"]) == ("COTAI", "active")
    for wallet in (p, other):  # every wallet of the holder
        assert cage(sb, "buy-ins", wallet, 422, amount="10.00")["code"] == "excluded_person"
    body = {"player": p, "amount": "10.00", "payment_code": payment_code(sb, p)}
    r = sb.call("POST", "/v1/casinos/LISBOA/buy-ins", "lisboa", json=body)
    assert r.status_code == 201  # not excluded there
    later = add(
        {
            "holder_id": "h-later",
            "kind": "self",
            "starts_on": "2026-04-01",
            "ends_on": "2026-05-01",
        }
    )
    assert later["status"] == "scheduled" and later["casino"] is None

    listed = sb.ok("GET", "/v1/exclusions?holder_id=h-gambler", key="supervisor")["items"]
    assert [x["id"] for x in listed] == [e["id"]]
    assert len(sb.ok("GET", "/v1/exclusions", key="auditor")["items"]) == 2

    # A revocation takes effect 30 days after it is requested.
    revoked = sb.ok("POST", f"/v1/exclusions/{e['id']}/revoke", key="supervisor", status=200)
    assert revoked["status"] == "revocation_pending"
    assert revoked["revoked_from"] == "2026-04-01T02:00:00+00:00"
    r = sb.post(f"/v1/exclusions/{e['id']}/revoke", key="supervisor")
    assert r.status_code == 409 and r.get_json()["code"] == "exclusion_already_revoked"
    advance(sb, 30 * 86400 - 1)
    assert cage(sb, "buy-ins", p, 422, amount="10.00")["code"] == "excluded_person"
    advance(sb, 1)
    cage(sb, "buy-ins", p, amount="10.00")
    got = sb.ok("GET", "/v1/exclusions?holder_id=h-gambler", key="supervisor")["items"][0]
    assert got["status"] == "revoked"
    assert sb.post("/v1/exclusions/999/revoke", key="supervisor").status_code == 404
    # A LISBOA-only exclusion is not COTAI's supervisor's business.
    lisboa_only = add(
        {"holder_id": "h-x", "kind": "self", "ends_on": "2026-12-31", "casino": "LISBOA"},
        key="admin",
    )
    r = sb.post(f"/v1/exclusions/{lisboa_only['id']}/revoke", key="supervisor")
    assert r.status_code == 404 and r.get_json()["code"] == "exclusion_not_found"


def test_alert_lifecycle_due_times_and_overdue(sandbox):
    sb = sandbox
    macau_world(sb)
    p = sb.wallet("BOCMO", 1, fund="200000.00", region="MO")
    cage(sb, "buy-ins", p, amount="100000.00")
    cage(sb, "plays", p, wager="1.00")
    (raised,) = cage(sb, "cash-outs", p, amount="99999.00")["alerts"]
    alert_id = raised["id"]
    a = sb.ok("GET", f"/v1/alerts/{alert_id}", key="supervisor")
    assert (a["type"], a["status"], a["overdue"]) == ("minimal_play", "open", False)
    assert a["due_at"] == "2026-03-04T16:00:00+00:00"
    assert a["evidence"]["buy_ins"] == "100000.00" and len(a["evidence"]["transactions"]) == 3

    def act(action, body=None, key="supervisor"):
        return sb.call("POST", f"/v1/alerts/{alert_id}/{action}", key, json=body)

    r = act("escalate")
    assert r.status_code == 409 and r.get_json()["code"] == "invalid_alert_transition"
    assert r.get_json()["current_status"] == "open"
    assert act("acknowledge", key="merchant").status_code == 403
    assert act("acknowledge", key="auditor").status_code == 403
    assert act("acknowledge").get_json()["status"] == "acknowledged"
    r = act("dismiss", {})
    assert r.status_code == 422 and "reason" in r.get_json()["errors"]

    # Past the due time (Wednesday 24:00 UTC+8), an undecided alert is overdue.
    advance(sb, 2 * 86400 + 14 * 3600 - 1)  # Wednesday 23:59:59
    assert sb.ok("GET", "/v1/alerts?overdue=true", key="supervisor")["items"] == []
    advance(sb, 2)
    overdue = sb.ok("GET", "/v1/alerts?overdue=true&casino=COTAI", key="supervisor")["items"]
    assert [x["id"] for x in overdue] == [alert_id] and overdue[0]["overdue"]
    assert sb.ok("GET", "/v1/alerts?overdue=false", key="supervisor")["items"] == []

    r = act("escalate", {"note": "cash-out without play"})
    done = r.get_json()
    assert (done["status"], done["str_reference"], done["filed_late"]) == (
        "escalated",
        f"STR-{alert_id:06d}",
        True,
    )
    assert done["note"] == "cash-out without play" and not done["overdue"]
    assert act("dismiss", {"reason": "x"}).status_code == 409
    assert sb.ok("GET", "/v1/alerts?status=escalated&type=minimal_play", key="admin")["items"]
    assert sb.ok("GET", "/v1/alerts?status=open", key="admin")["items"] == []


def test_working_day_due_times():
    from datetime import datetime

    from wallets.core.clock import SANDBOX_TZ, working_days_deadline

    def due(local: str) -> str:
        when = datetime.fromisoformat(local).replace(tzinfo=SANDBOX_TZ)
        return working_days_deadline(when, 2).astimezone(SANDBOX_TZ).isoformat()

    assert due("2026-03-02T10:00") == "2026-03-05T00:00:00+08:00"  # Mon -> end of Wed
    assert due("2026-03-06T23:00") == "2026-03-11T00:00:00+08:00"  # Fri -> end of Tue
    assert due("2026-03-07T09:00") == "2026-03-11T00:00:00+08:00"  # Sat -> end of Tue
    assert due("2026-03-05T00:30") == "2026-03-10T00:00:00+08:00"  # Thu -> end of Mon


def test_rules_and_profiles_over_the_api(sandbox):
    sb = sandbox
    rules = sb.ok("GET", "/v1/rules", key="auditor")
    assert rules["name"] == "default" and rules["derived"] == {}
    sb.operator("BOCMO")
    treasury = sb.wallet("BOCMO", 1, kind="merchant", region="MO")
    sb.ok(
        "POST",
        "/v1/casinos",
        json={
            "ref": "COTAI",
            "name": "C",
            "operator": "BOCMO",
            "treasury_wallet": treasury,
            "float": "0.00",
        },
    )
    p = sb.wallet("BOCMO", 1, fund="100.00", region="MO")
    sb.keys["merchant"] = sb.key("merchant", casino_ref="COTAI")
    assert cage(sb, "buy-ins", p, 409, amount="1.00")["code"] == "casino_rules_unavailable"

    r = sb.call("PUT", "/v1/sandbox/profile", "admin", json={"name": "nope"})
    assert r.status_code == 422 and "name" in r.get_json()["errors"]
    r = sb.call("PUT", "/v1/sandbox/profile", "auditor", json={"name": "macau"})
    assert r.status_code == 403
    macau = sb.ok("PUT", "/v1/sandbox/profile", json={"name": "macau"})
    assert (macau["source"], macau["version"]) == ("shipped", 2)
    assert macau["derived"] == {
        "ltr_threshold_cny": "454545.46",
        "ltr_threshold_hkd": "485436.90",
        "mainland_yearly_cap_cny": "360000.00",
    }
    assert macau["document"]["casino"]["tax"] == {
        "special_gaming_tax": "0.35",
        "contributions": [
            {"name": "macao_foundation", "share": "0.02"},
            {"name": "urban_development_tourism_social_security", "share": "0.03"},
        ],
    }

    doc = macau["document"]
    bad = {**doc, "name": "strict", "casino": {**doc["casino"], "minimum_age": "21"}}
    r = sb.call("PUT", "/v1/sandbox/profile", "admin", json={"document": bad})
    assert r.status_code == 422
    assert "casino.minimum_age" in r.get_json()["errors"]["document"][0]
    r = sb.call("PUT", "/v1/sandbox/profile", "admin", json={"document": doc})
    assert r.status_code == 422 and "shipped" in r.get_json()["errors"]["document"][0]

    # A document of one's own: here, mainland wallets are refused at the cage.
    strict = {
        **doc,
        "name": "macau-strict",
        "casino": {**doc["casino"], "mainland": {**doc["casino"]["mainland"], "action": "refuse"}},
    }
    got = sb.ok("PUT", "/v1/sandbox/profile", json={"document": strict})
    assert (got["name"], got["source"]) == ("macau-strict", "document")
    assert sb.ok("GET", "/v1/rules", key="auditor")["name"] == "macau-strict"
    cn = sb.wallet("BOCMO", 1, fund="100.00", region="CN")
    assert cage(sb, "buy-ins", cn, 422, amount="1.00")["code"] == "mainland_wallet_refused"
    cage(sb, "buy-ins", p, amount="1.00")
    back = sb.ok("PUT", "/v1/sandbox/profile", json={"name": "macau"})
    assert back["source"] == "shipped"
    assert cage(sb, "buy-ins", cn, amount="1.00")["alerts"][0]["type"] == "mainland_wallet"


def _replay(sb) -> list[dict]:
    world = macau_world(sb)
    assert world["casino"]["ref"] == "COTAI"
    p = sb.wallet("BOCMO", 1, fund="600000.00", region="CN", holder_id="h-r")
    for amount in ("300000.00", "200000.00"):
        cage(sb, "buy-ins", p, amount=amount)
        advance(sb, 600)
    cage(sb, "plays", p, wager="1000.00")
    cage(sb, "cash-outs", p, amount="499000.00")
    return sb.ok("GET", "/v1/alerts", key="admin")["items"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_same_replay_raises_the_same_alerts(sandbox, another_sandbox):
    first = _replay(sandbox)
    second = _replay(another_sandbox())
    assert [a["type"] for a in first] == [
        "mainland_wallet",
        "structuring",
        "mainland_yearly_cap",
        "ltr",
        "minimal_play",
    ]
    assert first == second


def test_other_code_raises_alerts_tied_to_no_casino(sandbox):
    """The hook for other rules (a settlement engineer's net-debit-cap alert, say):
    such alerts are the central bank's, not any supervisor's."""
    from wallets.supervision.alerts import raise_alert

    sb = sandbox
    macau_world(sb)
    op_id = sb.db.read(
        lambda tx: tx.conn.exec_driver_sql(
            "SELECT id FROM operators WHERE code = 'ICBC'"
        ).scalar_one()
    )

    def raise_it(tx):
        return raise_alert(
            tx,
            "ndc_threshold",
            operator_id=op_id,
            evidence={"net_position": "-800000.00", "cap": "1000000.00"},
            summary="ICBC reached 80% of its net debit cap",
            dedupe_key="ndc:1:ICBC",
            due=False,
        )

    first = sb.db.write(raise_it)
    assert (first.type, first.operator_code, first.casino_ref, first.due_at) == (
        "ndc_threshold",
        "ICBC",
        None,
        None,
    )
    assert sb.db.write(raise_it) is None  # the same fact alerts once
    seen = sb.ok("GET", "/v1/alerts?type=ndc_threshold", key="central_bank")["items"]
    assert [a["id"] for a in seen] == [first.id] and seen[0]["operator"] == "ICBC"
    assert sb.ok("GET", "/v1/alerts", key="supervisor")["items"] == []
    assert sb.get(f"/v1/alerts/{first.id}", key="merchant").status_code == 404
    acked = sb.ok("POST", f"/v1/alerts/{first.id}/acknowledge", key="central_bank", status=200)
    assert acked["status"] == "acknowledged"
    r = sb.post(f"/v1/alerts/{first.id}/dismiss", {"reason": "x"}, key="supervisor")
    assert r.status_code == 404
    assert sb.ok("GET", f"/v1/alerts/{first.id}", key="auditor")["status"] == "acknowledged"
