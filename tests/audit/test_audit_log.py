"""The audit log: one row per state-changing API call, accepted or refused."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from wallets.access import keys
from wallets.core.schema import audit_events


def _events(sandbox) -> list[dict]:
    with sandbox.db.engine.connect() as conn:
        return [
            dict(r._mapping)
            for r in conn.execute(sa.select(audit_events).order_by(audit_events.c.id))
        ]


def _key_id(sandbox, name: str) -> int:
    return sandbox.db.read(keys.authenticate, sandbox.keys[name]).key_id


def test_every_write_is_recorded_once_accepted_refused_or_replayed(demo):
    w = demo.demo_wallets
    before = len(_events(demo))
    icbc_id = _key_id(demo, "ICBC")
    pay = {"from_wallet": w["a"], "to_wallet": w["b"], "amount": "10.00", "reference": "lunch"}
    calls = [
        # (key, method, path, body, idem) -> expected (status, outcome, error_code, replayed)
        (("ICBC", "POST", "/v1/transfers", pay, "k-1"), (201, "succeeded", None, False)),
        (("ICBC", "POST", "/v1/transfers", pay, "k-1"), (201, "succeeded", None, True)),
        (
            ("ICBC", "POST", "/v1/transfers", dict(pay, amount="10.01"), "k-1"),
            (422, "refused", "idempotency_key_reused", False),
        ),
        (
            ("ICBC", "POST", "/v1/transfers", dict(pay, amount="99999.00"), None),
            (422, "refused", "insufficient_funds", False),
        ),
        (
            ("ICBC", "POST", "/v1/transfers", dict(pay, amount="1.001"), None),
            (422, "refused", "validation_failed", False),
        ),
        (("auditor", "POST", "/v1/transfers", pay, None), (403, "refused", "forbidden", False)),
        (
            ("admin", "PUT", "/v1/sandbox/clock", {"now": "2030-01-01T09:00:00+08:00"}, None),
            (200, "succeeded", None, False),
        ),
        (
            (
                "ICBC",
                "POST",
                "/v1/wallets",
                {
                    "wallet_class": 4,
                    "region": "CN",
                    "phone": "+8613912345678",
                    "label": "Ms Secret",
                },
                None,
            ),
            (201, "succeeded", None, False),
        ),
        (("admin", "POST", "/v1/keys", {"role": "auditor"}, None), (201, "succeeded", None, False)),
    ]
    secrets = []
    for (key, method, path, body, idem), expected in calls:
        r = demo.call(
            method, path, key, json=body, idem=idem, headers={"X-Request-Id": f"req-{len(secrets)}"}
        )
        assert r.status_code == expected[0], r.get_data(as_text=True)
        secrets.append(r.get_json().get("key"))
    # Not JSON at all, and no key at all: the first is recorded, the second has nobody to name.
    r = demo.client.post(
        "/v1/transfers",
        data="{",
        headers={
            "Authorization": f"Bearer {demo.keys['ICBC']}",
            "Content-Type": "application/json",
        },
    )
    assert r.status_code == 400
    assert demo.client.post("/v1/transfers", json=pay).status_code == 401

    events = _events(demo)[before:]
    assert len(events) == len(calls) + 1
    for event, ((key, method, path, _body, idem), (status, outcome, code, replayed)) in zip(
        events, calls, strict=False
    ):
        assert (
            event["method"],
            event["path"],
            event["status"],
            event["outcome"],
            event["error_code"],
            event["replayed"],
        ) == (method, path, status, outcome, code, replayed)
        assert event["idempotency_key"] == idem
        assert event["api_key_id"] == _key_id(demo, key) and event["role"] == (
            "operator" if key == "ICBC" else key
        )
    assert events[0]["operator_code"] == "ICBC" and events[0]["request_id"] == "req-0"
    assert (
        events[0]["resource"]
        == events[1]["resource"]
        == str(demo.ok("GET", "/v1/transfers?limit=500", key="ICBC")["items"][-1]["id"])
    )
    assert events[0]["at"].year == 2026 and events[6]["at"].year == 2030  # sandbox time, as set
    assert (
        '"amount":"10.00"' in events[0]["summary"] and '"reference":"lunch"' in events[0]["summary"]
    )
    assert (events[-1]["status"], events[-1]["error_code"], events[-1]["api_key_id"]) == (
        400,
        "malformed_json",
        icbc_id,
    )
    # No secrets, no personal data: neither the new key, the phone number nor the label.
    dump = repr(_events(demo))
    assert "+8613912345678" not in dump and "Ms Secret" not in dump
    assert secrets[-1].startswith("ecny_") and secrets[-1] not in dump
    assert all(demo.keys[k] not in dump for k in ("admin", "ICBC", "auditor"))


def test_every_post_and_put_route_is_recorded_exactly_once(sandbox):
    """Whatever the route and however wrong the body, one row per call."""
    rules = [
        (rule.rule, method)
        for rule in sandbox.app.url_map.iter_rules()
        if rule.rule.startswith("/v1/")
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH", "DELETE"})
    ]
    assert len(rules) >= 10
    before = len(_events(sandbox))
    for rule, method in rules:
        path = rule.replace("<int:wallet_id>", "1").replace("<code>", "ICBC")
        r = sandbox.call(method, path, "admin", json={"unexpected": True})
        assert 400 <= r.status_code < 500, (path, r.status_code)
    events = _events(sandbox)[before:]
    assert [(e["method"], e["outcome"]) for e in events] == [(m, "refused") for _, m in rules]


def test_listing_events_with_filters_and_pages(demo):
    w = demo.demo_wallets
    demo.post(
        "/v1/transfers",
        {"from_wallet": w["a"], "to_wallet": w["b"], "amount": "999999.00"},
        key="ICBC",
    )
    page = demo.ok("GET", "/v1/audit/events?limit=3", key="auditor")
    assert len(page["items"]) == 3 and page["next_after"] == str(page["items"][-1]["id"])
    rest = demo.ok("GET", f"/v1/audit/events?limit=500&after={page['next_after']}", key="auditor")
    everything = page["items"] + rest["items"]
    assert rest["next_after"] is None and len(everything) == len(_events(demo))
    assert [e["id"] for e in everything] == sorted(e["id"] for e in everything)

    refused = demo.ok("GET", "/v1/audit/events?outcome=refused", key="admin")["items"]
    assert [(e["path"], e["error_code"]) for e in refused] == [
        ("/v1/transfers", "insufficient_funds")
    ]
    funds = demo.ok("GET", "/v1/audit/events?path_prefix=/v1/wallets/&method=POST", key="auditor")[
        "items"
    ]
    assert len(funds) == 3 and all(e["path"].endswith("/fund") for e in funds)
    mine = demo.ok(
        "GET", f"/v1/audit/events?key_id={_key_id(demo, 'central_bank')}", key="auditor"
    )["items"]
    assert mine and {e["role"] for e in mine} == {"central_bank"}
    assert (
        demo.ok("GET", "/v1/audit/events?path_prefix=/v1/wallets_%", key="auditor")["items"] == []
    )
    assert demo.ok("GET", "/v1/audit/events?status=422", key="auditor")["items"] == refused

    assert (
        demo.get("/v1/audit/events?after=x", key="auditor").get_json()["code"]
        == "validation_failed"
    )
    assert demo.get("/v1/audit/events?outcome=maybe", key="auditor").status_code == 422
    for role in ("ICBC", "central_bank"):
        assert demo.get("/v1/audit/events", key=role).status_code == 403


def test_the_audit_log_is_append_only(sandbox):
    sandbox.operator("ICBC")
    with sandbox.db.engine.connect() as conn:
        for stmt in ("UPDATE audit_events SET status = 200", "DELETE FROM audit_events"):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), conn.begin():
                conn.exec_driver_sql(stmt)
