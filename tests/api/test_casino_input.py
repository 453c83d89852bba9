"""The casino endpoints: their role matrix, idempotency, and bad input (never a 500)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from macau_world import DAY, cage, macau_world, payment_code

ROLES = ["admin", "central_bank", "auditor", "BOCMO", "merchant", "supervisor"]


def test_role_matrix_of_the_casino_endpoints(sandbox):
    sb = sandbox
    world = macau_world(sb)
    p = sb.wallet("BOCMO", 1, fund="1000.00", region="MO")
    cage(sb, "buy-ins", p, amount="100.00")
    reads = [
        ("/v1/rules", set(ROLES)),
        ("/v1/casinos", {"admin", "auditor", "merchant", "supervisor"}),
        ("/v1/casinos/COTAI", {"admin", "auditor", "merchant", "supervisor"}),
        ("/v1/casinos/COTAI/transactions", {"admin", "auditor", "merchant", "supervisor"}),
        ("/v1/casinos/COTAI/players", {"admin", "auditor", "merchant", "supervisor"}),
        ("/v1/casinos/COTAI/gaming-days", {"admin", "auditor", "merchant", "supervisor"}),
        ("/v1/alerts", {"admin", "auditor", "central_bank", "merchant", "supervisor"}),
        ("/v1/exclusions", {"admin", "auditor", "supervisor"}),
    ]
    for path, allowed in reads:
        for role in ROLES:
            r = sb.get(path, key=role)
            assert r.status_code == (200 if role in allowed else 403), (path, role, r.get_json())
    writes = [
        ("PUT", "/v1/sandbox/profile", {"name": "macau"}, {"admin"}),
        (
            "POST",
            "/v1/casinos",
            {"ref": "X", "name": "x", "treasury_wallet": world["treasury"], "float": "0.00"},
            {"admin"},
        ),
        (
            "POST",
            "/v1/casinos/COTAI/buy-ins",
            {"player": p, "amount": "1.00"},
            {"admin", "merchant"},
        ),
        ("POST", "/v1/casinos/COTAI/plays", {"player": p, "wager": "1.00"}, {"admin", "merchant"}),
        (
            "POST",
            "/v1/casinos/COTAI/cash-outs",
            {"player": p, "amount": "1.00"},
            {"admin", "merchant"},
        ),
        (
            "POST",
            "/v1/exclusions",
            {"holder_id": "h", "kind": "self", "ends_on": "2026-12-31"},
            {"admin", "supervisor"},
        ),
        ("POST", f"/v1/wallets/{p}/freeze", None, {"admin", "BOCMO", "supervisor"}),
    ]
    for method, path, body, allowed in writes:
        for role in ROLES:
            r = sb.call(method, path, role, json=body)
            if role in allowed:
                # Allowed: past the role check (a second freeze is a 409, the ref X a 422).
                assert r.status_code not in (401, 403), (method, path, role, r.get_json())
            else:
                assert r.status_code == 403, (method, path, role, r.get_json())
    for action, body in (
        ("acknowledge", None),
        ("escalate", {"note": "x"}),
        ("dismiss", {"reason": "x"}),
    ):
        for role in ROLES:
            r = sb.post(f"/v1/alerts/999/{action}", body, key=role)
            expected = 404 if role in ("admin", "central_bank", "supervisor") else 403
            assert r.status_code == expected, (action, role)
    close = f"/v1/casinos/COTAI/gaming-days/{DAY}/close"
    for role in ROLES:
        r = sb.post(close, key=role)
        expected = 409 if role in ("admin", "merchant", "supervisor") else 403
        assert r.status_code == expected, (role, r.get_json())


def test_cage_operations_are_idempotent(sandbox):
    sb = sandbox
    macau_world(sb)
    p = sb.wallet("BOCMO", 1, fund="1000.00", region="MO")
    path = "/v1/casinos/COTAI/buy-ins"
    body = {"player": p, "amount": "100.00", "payment_code": payment_code(sb, p)}
    first = sb.call("POST", path, "merchant", json=body, idem="buy-1")
    again = sb.call("POST", path, "merchant", json=body, idem="buy-1")
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true" and again.get_json() == first.get_json()
    assert sb.balance(p) == "900.00"
    other = sb.call("POST", path, "merchant", json={**body, "amount": "1.00"}, idem="buy-1")
    assert other.status_code == 422 and other.get_json()["code"] == "idempotency_key_reused"


def test_bad_casino_input_names_the_field(sandbox):
    sb = sandbox
    macau_world(sb)
    p = sb.wallet("BOCMO", 1, fund="1000.00", region="MO")
    before = sb.journal_count()
    for path, body, field in [
        ("/v1/casinos/COTAI/buy-ins", {"player": p, "amount": "1.001"}, "amount"),
        ("/v1/casinos/COTAI/buy-ins", {"player": str(p), "amount": "1.00"}, "player"),
        ("/v1/casinos/COTAI/buy-ins", {"amount": "1.00"}, "player"),
        ("/v1/casinos/COTAI/plays", {"player": p, "wager": "0.00"}, "wager"),
        ("/v1/casinos/COTAI/plays", {"player": p, "wager": "1.00", "payout": -1}, "payout"),
        ("/v1/casinos/COTAI/cash-outs", {"player": p, "amount": "1", "x": 1}, "x"),
        (
            "/v1/casinos/COTAI/buy-ins",
            {"player": p, "amount": "1", "payment_code": 7},
            "payment_code",
        ),
        (
            "/v1/casinos/COTAI/buy-ins",
            {"player": p, "amount": "1", "payment_code": ""},
            "payment_code",
        ),
        (
            "/v1/casinos/COTAI/buy-ins",
            {"player": p, "amount": "1", "payment_code": "pc_" + "x" * 62},
            "payment_code",
        ),
        (
            "/v1/casinos/COTAI/cash-outs",
            {"player": p, "amount": "1", "payment_code": "x"},
            "payment_code",
        ),
    ]:
        r = sb.call("POST", path, "merchant", json=body)
        assert r.status_code == 422 and field in r.get_json()["errors"], (body, r.get_json())
    # No wallet 999: a buy-in with no consent learns nothing of it; a cash-out (no
    # consent needed) is told there is none.
    r = sb.call(
        "POST", "/v1/casinos/COTAI/buy-ins", "merchant", json={"player": 999, "amount": "1"}
    )
    assert r.status_code == 422 and r.get_json()["code"] == "payment_code_required"
    r = sb.call(
        "POST", "/v1/casinos/COTAI/cash-outs", "merchant", json={"player": 999, "amount": "1"}
    )
    assert r.status_code == 404 and r.get_json()["field"] == "player"
    for day in ("2026-02-30", "20260302", "0001-01-01", "9999-12-31", "today"):
        r = sb.post(f"/v1/casinos/COTAI/gaming-days/{day}/close", key="merchant")
        assert r.status_code == 422 and "date" in r.get_json()["errors"], day
        r = sb.get(f"/v1/casinos/COTAI/gaming-days/{day}", key="merchant")
        assert r.status_code == 422, day
    r = sb.get(f"/v1/casinos/COTAI/gaming-days/{DAY}", key="merchant")
    assert r.status_code == 404 and r.get_json()["code"] == "gaming_day_not_found"
    for q in (
        "after=x",
        "after=2026-03-02:x",
        "after=2026-13-45:4",
        "after=2026-03-02:99999999999999999999",
        "gaming_day=x",
        "wallet=x",
    ):
        r = sb.get(f"/v1/casinos/COTAI/players?{q}", key="supervisor")
        assert r.status_code == 422, q
    assert sb.get("/v1/casinos/COTAI/gaming-days?after=x", key="auditor").status_code == 422
    assert sb.get("/v1/alerts?status=maybe", key="auditor").status_code == 422
    for body, field in [
        ({"ref": "cotai", "name": "x", "treasury_wallet": 1, "float": "0"}, "ref"),
        (
            {"ref": "COTAI", "name": "x", "treasury_wallet": 1, "float": "0", "operator": "BOCMO"},
            None,
        ),
        ({"ref": "NEW", "name": "x", "treasury_wallet": 1, "float": "0"}, "operator"),
        (
            {"ref": "NEW", "name": "x", "treasury_wallet": 1, "float": "0", "merchant_wallet": p},
            "merchant_wallet",
        ),
        (
            {
                "ref": "NEW",
                "name": "x",
                "treasury_wallet": 1,
                "float": "0",
                "operator": "BOCMO",
                "supervisors": [1],
            },
            "supervisors",
        ),
    ]:
        r = sb.post("/v1/casinos", body)
        if field is None:
            assert r.status_code == 409 and r.get_json()["code"] == "casino_exists"
        else:
            assert r.status_code == 422 and field in r.get_json()["errors"], (body, r.get_json())
    assert sb.journal_count() == before
    # Keys: a merchant is for one casino; a supervisor's list is comma-separated refs.
    for body in (
        {"role": "merchant", "casino": "COTAI,LISBOA"},
        {"role": "supervisor", "casino": "COTAI,,X"},
        {"role": "supervisor", "casino": "COTAI,COTAI"},
    ):
        r = sb.post("/v1/keys", body)
        assert r.status_code == 422 and "casino" in r.get_json()["errors"], body


@pytest.fixture
def casino_sandbox(sandbox):
    macau_world(sandbox)
    sandbox.wallet("BOCMO", 1, fund="1000.00", region="MO")
    return sandbox


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=10,
)
amount_like = json_values | st.from_regex(r"-?[0-9]{0,14}(\.[0-9]{0,3})?", fullmatch=True)
cage_like = st.fixed_dictionaries(
    {},
    optional={
        "player": json_values | st.integers(min_value=0, max_value=20),
        "amount": amount_like,
        "wager": amount_like,
        "payout": amount_like,
        "reference": json_values,
        "payment_code": json_values | st.text(max_size=80),
        "max_amount": amount_like,
    },
)
date_like = st.dates().map(str) | st.text(max_size=12)
other_like = st.fixed_dictionaries(
    {},
    optional={
        "holder_id": json_values,
        "kind": st.sampled_from(["self", "family", "x"]) | json_values,
        "starts_on": date_like,
        "ends_on": date_like,
        "casino": st.sampled_from(["COTAI", "LISBOA", "cotai"]) | json_values,
        "name": st.sampled_from(["macau", "default", "nope"]) | json_values,
        "document": json_values,
        "reason": json_values,
        "note": json_values,
    },
)
ENDPOINTS = [
    ("POST", "/v1/casinos/COTAI/buy-ins"),
    ("POST", "/v1/casinos/COTAI/plays"),
    ("POST", "/v1/casinos/COTAI/cash-outs"),
    ("POST", "/v1/wallets/2/payment-codes"),
    ("POST", "/v1/casinos"),
    ("POST", "/v1/exclusions"),
    ("PUT", "/v1/sandbox/profile"),
    ("POST", "/v1/alerts/1/dismiss"),
    ("POST", "/v1/alerts/1/escalate"),
]


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    endpoint=st.sampled_from(ENDPOINTS),
    body=cage_like | other_like | json_values,
    day=date_like,
)
def test_no_casino_request_yields_a_500(casino_sandbox, endpoint, body, day):
    sb = casino_sandbox
    method, path = endpoint
    for m, p, raw in [
        (method, path, json.dumps(body, allow_nan=True)),
        ("POST", f"/v1/casinos/COTAI/gaming-days/{day}/close", None),
    ]:
        r = sb.client.open(
            p,
            method=m,
            data=raw,
            content_type="application/json" if raw is not None else None,
            headers={"Authorization": f"Bearer {sb.keys['admin']}"},
        )
        assert r.status_code < 500, (p, raw, r.get_data(as_text=True))
        if r.status_code >= 400:
            assert r.mimetype == "application/problem+json" and r.get_json()["code"]


def test_chips_keep_a_wallet_open_and_a_closed_day_takes_no_more_play(sandbox):
    sb = sandbox
    macau_world(sb)
    p = sb.wallet("BOCMO", 1, fund="100.00", region="MO")
    cage(sb, "buy-ins", p, amount="100.00")
    r = sb.post(f"/v1/wallets/{p}/close", key="BOCMO")
    assert r.status_code == 409 and r.get_json()["code"] == "wallet_not_empty"
    assert "chips at 1 casinos" in r.get_json()["detail"]
    cage(sb, "cash-outs", p, amount="100.00")
    sb.ok("POST", f"/v1/wallets/{p}/defund", key="BOCMO", json={"amount": "100.00"})
    assert sb.ok("POST", f"/v1/wallets/{p}/close", key="BOCMO", status=200)["status"] == "closed"

    q = sb.wallet("BOCMO", 1, fund="100.00", region="MO")
    sb.ok("PUT", "/v1/sandbox/clock", json={"now": "2026-03-03T07:00:00+08:00"})
    sb.ok("POST", f"/v1/casinos/COTAI/gaming-days/{DAY}/close", key="merchant")
    sb.ok("PUT", "/v1/sandbox/clock", json={"now": "2026-03-02T23:00:00+08:00"})
    r = cage(sb, "buy-ins", q, 409, amount="1.00")
    assert r["code"] == "gaming_day_already_closed"
    assert (
        r["detail"] == "gaming day 2026-03-02 of COTAI is closed: its cage takes no more operations"
    )
