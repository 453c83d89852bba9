"""Idempotency-Key: same request replays, different request refused, in flight 409."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from wallets import idempotency, keys
from wallets.schema import idempotency_keys


def _pay(demo, idem, amount="10.00", key="ICBC"):
    a, b = demo.demo_wallets["a"], demo.demo_wallets["b"]
    return demo.post(
        "/v1/transfers", {"from_wallet": a, "to_wallet": b, "amount": amount}, key=key, idem=idem
    )


def test_same_key_same_body_returns_the_first_result_once(demo):
    first = _pay(demo, "pay-1")
    before = demo.journal_count()
    again = _pay(demo, "pay-1")
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert demo.journal_count() == before
    assert demo.balance(demo.demo_wallets["a"]) == "990.00"


def test_same_key_other_body_is_422(demo):
    _pay(demo, "pay-2")
    r = _pay(demo, "pay-2", amount="10.01")
    assert r.status_code == 422 and r.get_json()["code"] == "idempotency_key_reused"
    assert demo.balance(demo.demo_wallets["a"]) == "990.00"


def test_keys_are_per_api_key(demo):
    demo.keys["ICBC2"] = demo.key("operator", operator_code="ICBC")
    assert _pay(demo, "shared").status_code == 201
    assert _pay(demo, "shared", key="ICBC2").status_code == 201
    assert demo.balance(demo.demo_wallets["a"]) == "980.00"


def test_refused_request_releases_the_key(demo):
    r = _pay(demo, "pay-3", amount="5000.00")
    assert r.get_json()["code"] == "insufficient_funds"
    demo.ok(
        "POST", f"/v1/wallets/{demo.demo_wallets['a']}/fund", json={"amount": "5000.00"}, key="ICBC"
    )
    assert _pay(demo, "pay-3", amount="5000.00").status_code == 201


def test_in_flight_is_409_and_stale_claims_are_taken_over(demo):
    a, b = demo.demo_wallets["a"], demo.demo_wallets["b"]
    body = {"from_wallet": a, "to_wallet": b, "amount": "10.00"}
    key_id = demo.db.read(keys.authenticate, demo.keys["ICBC"]).key_id
    print_ = idempotency.fingerprint("POST", "/v1/transfers", body)
    claim = idempotency.claim(demo.db, key_id, "pay-4", print_)
    assert isinstance(claim, idempotency.Claim)
    r = _pay(demo, "pay-4")
    assert r.status_code == 409 and r.get_json()["code"] == "idempotency_request_in_flight"
    # The first request's process died: after STALE_AFTER the claim may be taken over.
    with demo.db.engine.begin() as conn:
        conn.execute(
            idempotency_keys.update()
            .where(idempotency_keys.c.id == claim.id)
            .values(claimed_at=datetime.now(UTC) - idempotency.STALE_AFTER - timedelta(seconds=1))
        )
    assert _pay(demo, "pay-4").status_code == 201
    assert _pay(demo, "pay-4").headers.get("Idempotent-Replayed") == "true"
    assert demo.balance(a) == "990.00"


def test_every_write_endpoint_honours_the_key(demo):
    a = demo.demo_wallets["a"]
    writes = [
        ("POST", "/v1/operators", {"code": "CCB", "name": "CCB"}, "central_bank"),
        ("POST", "/v1/operators/ICBC/reserve-deposits", {"amount": "1.00"}, "central_bank"),
        ("POST", "/v1/operators/ICBC/issuances", {"amount": "1.00"}, "central_bank"),
        ("POST", "/v1/operators/ICBC/redemptions", {"amount": "1.00"}, "central_bank"),
        (
            "POST",
            "/v1/wallets",
            {"wallet_class": 4, "region": "CN", "phone": "+8613900000000"},
            "ICBC",
        ),
        ("POST", f"/v1/wallets/{a}/fund", {"amount": "1.00"}, "ICBC"),
        ("POST", f"/v1/wallets/{a}/defund", {"amount": "1.00"}, "ICBC"),
        ("POST", "/v1/sandbox/clock/advance", {"seconds": 60}, "admin"),
        ("POST", "/v1/keys", {"role": "auditor"}, "admin"),
    ]
    for i, (method, path, body, role) in enumerate(writes):
        before = demo.journal_count()
        first = demo.call(method, path, role, json=body, idem=f"k{i}")
        after_first = demo.journal_count()
        second = demo.call(method, path, role, json=body, idem=f"k{i}")
        assert first.status_code in (200, 201), (path, first.get_json())
        assert second.get_json() == first.get_json(), path
        assert demo.journal_count() == after_first >= before
    with demo.db.engine.connect() as conn:
        assert (
            conn.execute(sa.text("SELECT COUNT(*) FROM operators WHERE code = 'CCB'")).scalar_one()
            == 1
        )
