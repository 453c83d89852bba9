"""Authentication, roles and scopes (SPEC.md §10)."""

from __future__ import annotations

import sqlalchemy as sa


def test_missing_and_unknown_keys_are_401(demo):
    for headers in (
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer "},
    ):
        r = demo.client.get("/v1/operators", headers=headers)
        assert r.status_code == 401 and r.get_json()["code"] == "unauthorized"
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert demo.client.get("/healthz").status_code == 200
    assert demo.client.get("/openapi.json").status_code == 200


def test_keys_are_stored_hashed(demo):
    with demo.db.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT key_hash, prefix FROM api_keys")).all()
    secrets_ = set(demo.keys.values())
    assert stored and all(h not in secrets_ and len(h) == 64 for h, _ in stored)


def test_role_matrix(demo):
    a, c = demo.demo_wallets["a"], demo.demo_wallets["c"]
    demo.keys["merchant"] = demo.key("merchant", casino_ref="LISBOA")
    demo.keys["supervisor"] = demo.key("supervisor", casino_ref="LISBOA")
    write_cases = [
        ("POST", "/v1/operators", {"code": "CCB", "name": "CCB"}, {"admin", "central_bank"}),
        (
            "POST",
            "/v1/operators/ICBC/reserve-deposits",
            {"amount": "1.00"},
            {"admin", "central_bank"},
        ),
        (
            "POST",
            "/v1/operators/ICBC/issuances",
            {"amount": "1.00"},
            {"admin", "central_bank", "ICBC"},
        ),
        ("POST", f"/v1/wallets/{a}/fund", {"amount": "1.00"}, {"admin", "ICBC"}),
        (
            "POST",
            "/v1/transfers",
            {"from_wallet": a, "to_wallet": c, "amount": "1.00"},
            {"admin", "ICBC"},
        ),
        (
            "POST",
            "/v1/transfers/batch",
            {"transfers": [{"id": "x", "from_wallet": a, "to_wallet": c, "amount": "1.00"}]},
            {"admin", "ICBC"},
        ),
        (
            "POST",
            "/v1/holds",
            {"from_wallet": a, "to_wallet": c, "amount": "1.00"},
            {"admin", "ICBC"},
        ),
        ("PUT", "/v1/operators/ICBC/limits/4", {}, {"admin", "ICBC"}),
        (
            "PUT",
            "/v1/settlement/operators/ICBC/net-debit-cap",
            {"net_debit_cap": None},
            {"admin", "central_bank"},
        ),
        ("PUT", "/v1/settlement/settings", {"ndc_alert_percent": "80"}, {"admin", "central_bank"}),
        ("PUT", "/v1/sandbox/clock", {"now": "2026-01-01T00:00:00+08:00"}, {"admin"}),
        ("POST", "/v1/keys", {"role": "auditor"}, {"admin"}),
    ]
    roles = ["admin", "central_bank", "auditor", "ICBC", "merchant", "supervisor"]
    for method, path, body, allowed in write_cases:
        for role in roles:
            r = demo.call(method, path, role, json=body)
            if role in allowed:
                assert r.status_code in (200, 201), (method, path, role, r.get_json())
                if path == "/v1/operators":
                    body = {"code": f"X{len(body['code'])}{role.upper()[:3]}", "name": "again"}
            else:
                assert r.status_code == 403 and r.get_json()["code"] == "forbidden", (
                    method,
                    path,
                    role,
                )
    read_cases = [
        ("/v1/operators/ICBC", {"admin", "central_bank", "auditor", "ICBC"}),
        (f"/v1/wallets/{a}", {"admin", "auditor", "ICBC"}),
        ("/v1/wallets", {"admin", "auditor", "ICBC"}),
        ("/v1/transfers", {"admin", "auditor", "ICBC"}),
        ("/v1/audit/reconciliation", {"admin", "central_bank", "auditor"}),
        ("/v1/settlement/settings", {"admin", "central_bank", "auditor", "ICBC"}),
        ("/v1/settlement/windows", {"admin", "central_bank", "auditor"}),
        (f"/v1/wallets/{a}/limits", {"admin", "auditor", "ICBC"}),
        (f"/v1/wallets/{a}/statement", {"admin", "auditor", "ICBC"}),
        (f"/v1/holds?wallet={a}", {"admin", "auditor", "ICBC"}),
        ("/v1/operators/ICBC/limits", {"admin", "central_bank", "auditor", "ICBC"}),
        ("/v1/sandbox/clock", set(roles)),
    ]
    for path, allowed in read_cases:
        for role in roles:
            r = demo.get(path, key=role)
            expected = 200 if role in allowed else 403
            assert r.status_code == expected, (path, role, r.get_json())


def test_operator_never_sees_or_moves_another_operators_wallets(demo):
    a, c = demo.demo_wallets["a"], demo.demo_wallets["c"]
    before = demo.journal_count()
    for method, path, body in [
        ("GET", f"/v1/wallets/{c}", None),
        ("GET", f"/v1/wallets/{c}/balance", None),
        ("GET", f"/v1/transfers?wallet={c}", None),
        ("POST", f"/v1/wallets/{c}/fund", {"amount": "1.00"}),
        ("POST", f"/v1/wallets/{c}/defund", {"amount": "1.00"}),
        ("POST", "/v1/transfers", {"from_wallet": c, "to_wallet": a, "amount": "1.00"}),
        ("GET", "/v1/operators/BOC", None),
        ("POST", "/v1/operators/BOC/issuances", {"amount": "1.00"}),
        ("POST", "/v1/operators/BOC/redemptions", {"amount": "1.00"}),
        ("POST", f"/v1/wallets/{c}/freeze", None),
        ("PATCH", f"/v1/wallets/{c}", {"label": "x"}),
        ("POST", f"/v1/wallets/{c}/sweep", None),
        ("GET", f"/v1/wallets/{c}/statement", None),
        ("GET", f"/v1/holds?wallet={c}", None),
        ("POST", "/v1/holds", {"from_wallet": c, "to_wallet": a, "amount": "1.00"}),
        ("PUT", "/v1/operators/BOC/limits/4", {}),
    ]:
        r = demo.call(method, path, "ICBC", json=body)
        assert r.status_code == 404, (method, path, r.get_json())
    assert demo.journal_count() == before
    listed = demo.ok("GET", "/v1/wallets", key="ICBC")["items"]
    assert {w["operator"] for w in listed} == {"ICBC"}
    ops = demo.ok("GET", "/v1/operators", key="ICBC")["items"]
    assert [o["code"] for o in ops] == ["ICBC"]
    # But it may pay into them: a cross-operator payment names the payee.
    demo.ok(
        "POST",
        "/v1/transfers",
        json={"from_wallet": a, "to_wallet": c, "amount": "1.00"},
        key="ICBC",
    )
    # Transfers listed for ICBC are those touching ICBC.
    seen = demo.ok("GET", "/v1/transfers?limit=500", key="BOC")["items"]
    assert all("BOC" in (t["from_operator"], t["to_operator"]) for t in seen)


def test_admin_creates_scoped_keys(demo):
    made = demo.ok(
        "POST", "/v1/keys", json={"role": "operator", "operator": "BOC", "label": "desk"}
    )
    assert made["operator"] == "BOC" and made["key"].startswith("ecny_")
    assert demo.get("/v1/operators/BOC", key=made["key"]).status_code == 200
    assert demo.get("/v1/operators/ICBC", key=made["key"]).status_code == 404
    for body, field in [
        ({"role": "operator"}, "operator"),
        ({"role": "auditor", "operator": "BOC"}, "operator"),
        ({"role": "supervisor"}, "casino"),
        ({"role": "root"}, "role"),
    ]:
        r = demo.post("/v1/keys", body)
        assert r.status_code == 422 and field in r.get_json()["errors"], body
    r = demo.post("/v1/keys", {"role": "operator", "operator": "NOPE"})
    assert r.status_code == 404
