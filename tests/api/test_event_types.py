"""The events of keys, exclusions and the clock (docs/events.md#types): each
change writes exactly its event with it (a refusal none), its data is the
object as its GET renders it, and it is seen by whom may GET the object.

One SQLite world for the module (the tests only add to it, each reading the
events written since it began)."""

from __future__ import annotations

import shutil

import pytest
from macau_world import macau_world

from tests.conftest import make_sandbox

# Every key of the world, and whether it sees a key's, a COTAI exclusion's, an
# every-casino exclusion's event.
ROLES = ("admin", "auditor", "central_bank", "BOCMO", "merchant", "supervisor", "sup_other")


@pytest.fixture(scope="module")
def sb(request, tmp_path_factory):
    root = tmp_path_factory.mktemp("event_types")
    path = root / "ecny.sqlite3"
    shutil.copy(request.getfixturevalue("sqlite_template"), path)
    sandbox = make_sandbox(f"sqlite:///{path}", root / "var")
    macau_world(sandbox)
    sandbox.keys["sup_other"] = sandbox.key("supervisor", casino_ref="LISBOA")
    yield sandbox
    sandbox.db.dispose()


def head(sb) -> int:
    items = sb.ok("GET", "/v1/events", query_string={"limit": 500})["items"]
    while len(items) == 500:
        items = sb.ok("GET", "/v1/events", query_string={"limit": 500, "after": items[-1]["id"]})[
            "items"
        ]
    return items[-1]["id"] if items else 0


def since(sb, after: int, key="admin") -> list[dict]:
    return sb.ok("GET", "/v1/events", key=key, query_string={"after": after, "limit": 500})["items"]


def exclusion(sb, e: dict, key: str) -> dict:
    """The exclusion as its list (``GET /v1/exclusions``) renders it now."""
    page = sb.ok("GET", "/v1/exclusions", key=key, query_string={"holder_id": e["holder_id"]})
    (found,) = [x for x in page["items"] if x["id"] == e["id"]]
    return found


def seen_by(sb, event: dict) -> set[str]:
    return {k for k in ROLES if event in since(sb, event["id"] - 1, key=k)}


def test_api_keys_created_and_revoked_are_the_admins_and_the_auditors_alone(sb):
    start = head(sb)
    r = sb.call("POST", "/v1/keys", json={"role": "operator"})  # no operator: refused
    assert r.status_code == 422 and since(sb, start) == []
    made = sb.ok("POST", "/v1/keys", json={"role": "operator", "operator": "BOCMO", "label": "x"})
    (created,) = since(sb, start)
    listed = {k["id"]: k for k in sb.ok("GET", "/v1/keys", query_string={"limit": 200})["items"]}
    assert created["type"] == "api_key.created" and created["data"] == listed[made["id"]]
    assert made["key"] not in str(created) and "hash" not in str(created)
    assert seen_by(sb, created) == {"admin", "auditor"}

    sb.ok("POST", f"/v1/keys/{made['id']}/revoke", status=200)
    r = sb.call("POST", f"/v1/keys/{made['id']}/revoke")
    assert r.status_code == 409
    created, revoked = since(sb, start)
    listed = {k["id"]: k for k in sb.ok("GET", "/v1/keys", query_string={"limit": 200})["items"]}
    assert revoked["type"] == "api_key.revoked" and revoked["data"] == listed[made["id"]]
    assert revoked["data"]["revoked_at"] is not None
    assert seen_by(sb, revoked) == {"admin", "auditor"}


def test_exclusions_are_their_supervisors_and_never_a_merchants(sb):
    start = head(sb)
    body = {"holder_id": "H-EVT-1", "kind": "self", "casino": "COTAI"}
    r = sb.call(
        "POST",
        "/v1/exclusions",
        key="supervisor",
        json={**body, "starts_on": "2026-06-02", "ends_on": "2026-06-01"},
    )
    assert r.status_code == 422 and since(sb, start) == []
    one = sb.ok("POST", "/v1/exclusions", key="supervisor", json={**body, "ends_on": "2027-01-01"})
    every = sb.ok(
        "POST",
        "/v1/exclusions",
        key="supervisor",
        json={"holder_id": "H-EVT-2", "kind": "family", "ends_on": "2027-01-01"},
    )
    added_one, added_every = since(sb, start)
    assert [added_one["type"], added_every["type"]] == ["exclusion.added"] * 2
    assert added_one["data"] == exclusion(sb, one, "supervisor")
    assert added_every["data"] == exclusion(sb, every, "auditor")
    assert seen_by(sb, added_one) == {"admin", "auditor", "supervisor"}
    assert seen_by(sb, added_every) == {"admin", "auditor", "supervisor", "sup_other"}

    sb.ok("POST", f"/v1/exclusions/{one['id']}/revoke", key="supervisor", status=200)
    r = sb.call("POST", f"/v1/exclusions/{one['id']}/revoke", key="supervisor")
    assert r.status_code == 409
    r = sb.call("POST", f"/v1/exclusions/{one['id']}/revoke", key="sup_other")
    assert r.status_code == 404
    *_, revoked = since(sb, start)
    assert len(since(sb, start)) == 3
    assert revoked["type"] == "exclusion.revocation_requested"
    assert revoked["data"] == exclusion(sb, one, "supervisor")
    assert revoked["data"]["status"] == "revocation_pending"
    assert seen_by(sb, revoked) == {"admin", "auditor", "supervisor"}


def test_the_clock_moved_is_everyones(sb):
    start = head(sb)
    r = sb.call("POST", "/v1/sandbox/clock/advance", json={"seconds": -5})
    assert r.status_code == 422 and since(sb, start) == []
    sb.ok("POST", "/v1/sandbox/clock/advance", json={"seconds": 60}, status=200)
    (moved,) = since(sb, start)
    assert moved["type"] == "clock.moved"
    assert moved["data"] == sb.ok("GET", "/v1/sandbox/clock")
    assert moved["timestamp"] == moved["data"]["now"]
    assert seen_by(sb, moved) == set(ROLES)


def test_operators_created_and_their_limits_are_the_central_banks_and_theirs(sb):
    start = head(sb)
    r = sb.call("POST", "/v1/operators", key="central_bank", json={"code": "BOCMO", "name": "x"})
    assert r.status_code == 409 and since(sb, start) == []
    sb.ok("POST", "/v1/operators", key="central_bank", json={"code": "TAIFUNG", "name": "Tai Fung"})
    (created,) = since(sb, start)
    assert created["type"] == "operator.created"
    assert created["data"] == sb.ok("GET", "/v1/operators/TAIFUNG")
    sb.keys["TAIFUNG"] = sb.key("operator", operator_code="TAIFUNG")
    assert seen_by(sb, created) == {"admin", "auditor", "central_bank"}  # TAIFUNG: no key yet
    assert created in since(sb, start, key="TAIFUNG")
    assert created not in since(sb, start, key="BOCMO")

    start = head(sb)
    path = "/v1/operators/TAIFUNG/limits"
    r = sb.call("PUT", f"{path}/2", key="TAIFUNG", json={"single_payment": "999999999.00"})
    assert r.status_code == 422 and since(sb, start) == []
    sb.ok("PUT", f"{path}/2", key="TAIFUNG", json={"single_payment": "100.00"}, status=200)
    (limits,) = since(sb, start)
    assert limits["type"] == "operator.limits_set"
    assert limits["data"] == sb.ok("GET", path, key="TAIFUNG")
    assert limits["data"]["classes"][1]["effective"]["single_payment"] == "100.00"
    assert {k for k in ROLES if limits in since(sb, start, key=k)} == {
        "admin",
        "auditor",
        "central_bank",
    }
    assert limits in since(sb, start, key="TAIFUNG")


def test_settlement_settings_are_the_central_banks_and_every_operators(sb):
    start = head(sb)
    r = sb.call("PUT", "/v1/settlement/settings", key="central_bank", json={"cutoff": "25:00"})
    assert r.status_code == 422 and since(sb, start) == []
    sb.ok("PUT", "/v1/settlement/settings", key="central_bank", json={}, status=200)
    assert since(sb, start) == []  # nothing changed, no event
    sb.ok(
        "PUT", "/v1/settlement/settings", key="central_bank", json={"cutoff": "17:00"}, status=200
    )
    (updated,) = since(sb, start)
    assert updated["type"] == "settlement.settings_updated"
    assert updated["data"] == sb.ok("GET", "/v1/settlement/settings", key="BOCMO")
    assert updated["data"]["cutoff"] == "17:00"
    assert seen_by(sb, updated) == {"admin", "auditor", "central_bank", "BOCMO"}
    start = head(sb)
    sb.ok(
        "PUT", "/v1/settlement/settings", key="central_bank", json={"cutoff": "17:00"}, status=200
    )
    assert since(sb, start) == []  # the same cut-off again: nothing changed, no event


def test_the_rule_profile_switched_is_everyones(sb):
    start = head(sb)
    r = sb.call("PUT", "/v1/sandbox/profile", json={"name": "no-such-profile"})
    assert r.status_code == 422 and since(sb, start) == []
    sb.ok("PUT", "/v1/sandbox/profile", json={"name": "macau"}, status=200)
    (switched,) = since(sb, start)
    assert switched["type"] == "rules.profile_switched"
    assert switched["data"] == sb.ok("GET", "/v1/rules", key="merchant")
    assert switched["data"]["name"] == "macau"
    assert seen_by(sb, switched) == set(ROLES)


def test_a_net_debit_cap_set_is_the_central_banks_and_the_operators(sb):
    start = head(sb)
    path = "/v1/settlement/operators/BOCMO/net-debit-cap"
    r = sb.call("PUT", path, key="central_bank", json={"net_debit_cap": "-1.00"})
    assert r.status_code == 422 and since(sb, start) == []
    sb.ok("PUT", path, key="central_bank", json={"net_debit_cap": "5000.00"}, status=200)
    (capped,) = since(sb, start)
    assert capped["type"] == "operator.net_debit_cap_set"
    assert capped["data"] == sb.ok("GET", "/v1/operators/BOCMO", key="BOCMO")
    assert capped["data"]["net_debit_cap"] == "5000.00"
    assert seen_by(sb, capped) == {"admin", "auditor", "central_bank", "BOCMO"}


def test_a_casino_registered_is_its_merchants_and_supervisors(sb):
    start = head(sb)
    body = {"ref": "LISBOA", "name": "Lisboa", "operator": "BOCMO", "float": "1000.00"}
    r = sb.call("POST", "/v1/casinos", json={**body, "treasury_wallet": 999999})
    assert r.status_code in (404, 422) and since(sb, start) == []
    treasury = sb.wallet("BOCMO", 1, kind="merchant", region="MO")
    start = head(sb)
    sb.ok("POST", "/v1/casinos", json={**body, "treasury_wallet": treasury})
    *_, registered = since(sb, start)
    assert [e["type"] for e in since(sb, start)] == [
        "wallet.opened",  # its merchant wallet
        "transfer.posted",  # funded up to the float
        "casino.registered",
    ]
    assert registered["type"] == "casino.registered"
    assert registered["data"] == sb.ok("GET", "/v1/casinos/LISBOA", key="sup_other")
    assert seen_by(sb, registered) == {"admin", "auditor", "sup_other"}


def test_payment_codes_issued_and_used(sb):
    player = sb.wallet("BOCMO", 1, fund="500.00", region="MO")
    start = head(sb)
    r = sb.call("POST", f"/v1/wallets/{player}/payment-codes", key="ICBC", json={})
    assert r.status_code == 404 and since(sb, start) == []  # another operator's wallet
    issued = sb.ok(
        "POST", f"/v1/wallets/{player}/payment-codes", key="BOCMO", json={"max_amount": "100.00"}
    )
    (event,) = since(sb, start)
    assert event["type"] == "payment_code.issued"
    assert event["data"] == {
        **{k: v for k, v in issued.items() if k != "code"},
        "used_at": None,
        "used_by_casino": None,
    }
    assert issued["code"] not in str(event)
    assert seen_by(sb, event) == {"admin", "auditor", "BOCMO"}

    start = head(sb)
    body = {"player": player, "payment_code": issued["code"]}
    r = sb.call(
        "POST", "/v1/casinos/COTAI/buy-ins", key="merchant", json={**body, "amount": "200.00"}
    )
    assert r.get_json()["code"] == "payment_code_amount_exceeded" and since(sb, start) == []
    sb.ok("POST", "/v1/casinos/COTAI/buy-ins", key="merchant", json={**body, "amount": "50.00"})
    # The buy-in's own events (its transfers), and the code used, once.
    (used,) = [e for e in since(sb, start) if e["type"] == "payment_code.used"]
    assert used["data"]["id"] == issued["id"] and used["data"]["used_by_casino"] == "COTAI"
    assert used["data"]["used_at"] == used["timestamp"]
    assert seen_by(sb, used) == {"admin", "auditor", "BOCMO", "merchant", "supervisor"}


def test_audit_exports_and_checkpoints(sb):
    import time

    start = head(sb)
    r = sb.call("POST", "/v1/audit/exports", key="auditor", json={"operator": "NOPE"})
    assert r.status_code in (404, 422) and since(sb, start) == []
    job = sb.ok("POST", "/v1/audit/exports", key="auditor", json={"formats": ["csv"]}, status=202)
    for _ in range(300):
        done = sb.ok("GET", f"/v1/audit/exports/{job['id']}", key="auditor")
        if done["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.05)
    new = since(sb, start)
    assert [e["type"] for e in new] == [
        "audit.export_queued",
        "audit.checkpoint_taken",  # the export's
        "audit.export_succeeded",
    ]
    queued, checkpoint, succeeded = new
    assert queued["data"] == job
    assert succeeded["data"] == done and done["status"] == "succeeded"
    listed = sb.ok("GET", "/v1/audit/checkpoints", key="central_bank", query_string={"limit": 500})
    assert checkpoint["data"] == listed["items"][-1]
    assert seen_by(sb, queued) == seen_by(sb, succeeded) == {"admin", "auditor"}
    assert seen_by(sb, checkpoint) == {"admin", "auditor", "central_bank"}


def _items(page):
    return page["items"]


def test_a_casinos_settings_promoters_and_credit_lines_are_its_merchants_and_supervisors(sb):
    casino_keys = {"admin", "auditor", "merchant", "supervisor"}
    start = head(sb)
    r = sb.call("PUT", "/v1/casinos/COTAI/chips-approval", "merchant", json={"chips_approved": "1"})
    assert r.status_code == 403 and since(sb, start) == []
    sb.ok(
        "PUT",
        "/v1/casinos/COTAI/chips-approval",
        key="supervisor",
        json={"chips_approved": "90000000.00"},
        status=200,
    )
    (approved,) = since(sb, start)
    assert approved["type"] == "casino.updated"
    assert approved["data"] == sb.ok("GET", "/v1/casinos/COTAI", key="supervisor")
    assert approved["data"]["chips_approved"] == "90000000.00"
    assert seen_by(sb, approved) == casino_keys
    start = head(sb)
    sb.ok(
        "PUT",
        "/v1/casinos/COTAI/chips-approval",
        key="supervisor",
        json={"chips_approved": "90000000.00"},
        status=200,
    )
    assert since(sb, start) == []  # the same figure again: nothing changed, no event

    junket = sb.wallet("BOCMO", 1, kind="merchant", region="MO", label="GP-9 Ltd")
    player = sb.wallet("BOCMO", 1, region="MO")
    start = head(sb)
    body = {"licence": "GP-9", "name": "GP-9 Ltd", "wallet": junket, "commission_rate": "0.01"}
    sb.ok("POST", "/v1/casinos/COTAI/promoters", key="supervisor", json=body)
    path = "/v1/casinos/COTAI/promoters/GP-9/players"
    sb.ok("POST", path, key="merchant", json={"player": player})
    sb.ok("POST", path, key="merchant", json={"player": player})  # again: no change, no event
    registered, attached = since(sb, start)
    listed = _items(sb.ok("GET", "/v1/casinos/COTAI/promoters", key="supervisor"))
    (now,) = [p for p in listed if p["licence"] == "GP-9"]
    assert registered["type"] == "promoter.registered" and registered["data"]["players"] == []
    assert {**registered["data"], "players": now["players"]} == now
    assert (attached["type"], attached["data"]) == ("promoter.updated", now)
    assert now["players"] == [player]
    assert seen_by(sb, registered) == seen_by(sb, attached) == casino_keys

    start = head(sb)
    sb.ok(
        "PUT",
        f"/v1/casinos/COTAI/credit-lines/{player}",
        key="merchant",
        json={"limit": "500.00"},
        status=200,
    )
    (line,) = since(sb, start)
    lines = _items(sb.ok("GET", "/v1/casinos/COTAI/credit-lines", key="merchant"))
    assert (line["type"], line["data"]) == (
        "credit_line.set",
        next(x for x in lines if x["player"] == player),
    )
    assert line["data"]["limit"] == "500.00"
    assert seen_by(sb, line) == casino_keys


def test_red_envelope_campaigns_are_their_issuers_operators_and_grants_the_holders_too(sb):
    issuer = sb.wallet("BOCMO", 1, fund="1000.00", kind="merchant", region="MO")
    holder = sb.wallet("ICBC", 2, region="CN")
    start = head(sb)
    body = {
        "issuer_wallet": issuer,
        "name": "vouchers",
        "amount": "100.00",
        "envelopes": 2,
        "valid_until": "2099-01-01T00:00:00+00:00",
        "claimable": True,
    }
    r = sb.call("POST", "/v1/envelope-campaigns", key="BOCMO", json={**body, "envelopes": 1000})
    assert r.status_code == 422 and since(sb, start) == []
    made = sb.ok("POST", "/v1/envelope-campaigns", key="BOCMO", json=body)
    posted, created = since(sb, start)
    assert (posted["type"], posted["data"]["kind"]) == ("transfer.posted", "envelope_reserve")
    assert created["type"] == "envelope_campaign.created"
    assert created["data"] == sb.ok("GET", f"/v1/envelope-campaigns/{made['id']}")
    assert seen_by(sb, created) == {"admin", "auditor", "BOCMO"}
    assert created not in since(sb, start, key="ICBC")

    start = head(sb)
    sb.ok(
        "POST", f"/v1/envelope-campaigns/{made['id']}/claims", key="ICBC", json={"wallet": holder}
    )
    (granted,) = since(sb, start)
    assert granted["type"] == "envelope.granted"
    (envelope,) = sb.ok("GET", f"/v1/wallets/{holder}/envelopes", key="ICBC")["items"]
    assert granted["data"] == envelope
    assert seen_by(sb, granted) == {"admin", "auditor", "BOCMO"}
    assert granted in since(sb, start, key="ICBC")
