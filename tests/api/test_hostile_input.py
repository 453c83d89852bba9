"""Hostile input: oversized and deeply nested bodies, huge numbers, control
characters, SQL-looking text, header injection, revoked keys and keys whose
scope is gone. Each is a 4xx problem, and nothing is written."""

from __future__ import annotations

import json
import logging

import pytest

from app import MAX_BODY_BYTES


def _problem(r, status: int) -> dict:
    assert r.status_code == status, r.get_data(as_text=True)[:500]
    assert r.mimetype == "application/problem+json"
    return r.get_json()


def test_hostile_bodies_are_refused_and_write_nothing(demo):
    sb, a, b = demo, demo.demo_wallets["a"], demo.demo_wallets["b"]
    before = sb.journal_count()
    pay = "/v1/transfers"

    # Over the size limit: 413 before anything is parsed.
    big = b'{"amount": "' + b"1" * MAX_BODY_BYTES + b'"}'
    r = sb.call("POST", pay, "ICBC", data=big, headers={"Content-Type": "application/json"})
    assert _problem(r, 413)["code"] == "payload_too_large"

    # Deeply nested JSON: refused as malformed or invalid, never a RecursionError.
    deep = "[" * 100_000 + "]" * 100_000
    r = sb.call("POST", pay, "ICBC", data=deep, headers={"Content-Type": "application/json"})
    assert r.status_code in (400, 422), r.status_code
    nested = {"from_wallet": a, "to_wallet": b, "amount": "1.00", "reference": {"x": {"y": [[]]}}}
    assert _problem(sb.call("POST", pay, "ICBC", json=nested), 422)["errors"]["reference"]

    # Huge integers and numbers where ids and amounts go.
    for body in (
        {"from_wallet": 10**400, "to_wallet": b, "amount": "1.00"},
        {"from_wallet": a, "to_wallet": b, "amount": 1e308},
        {"from_wallet": a, "to_wallet": b, "amount": "9" * 5000},
        {"from_wallet": -1, "to_wallet": b, "amount": "1.00"},
    ):
        assert _problem(sb.call("POST", pay, "ICBC", json=body), 422)["code"] == "validation_failed"
    for path in (f"/v1/wallets/{10**30}", "/v1/wallets/-1", "/v1/transfers/99999999999999999999"):
        assert _problem(sb.get(path, key="ICBC"), 404)

    # Control characters in free text; SQL-looking text is just text.
    for text in ("line\nbreak", "nul\x00", "bell\x07", "\x1b[31mred", "del\x7f"):
        body = {"from_wallet": a, "to_wallet": b, "amount": "1.00", "reference": text}
        r = sb.call("POST", pay, "ICBC", json=body)
        assert _problem(r, 422)["errors"]["reference"] == ["must not contain control characters"]
    assert sb.journal_count() == before

    # Text no database stores, and bodies in other encodings than UTF-8.
    lone = b'{"from_wallet": %d, "to_wallet": %d, "amount": "1.00", "reference": "a\\ud800"}'
    headers = {"Content-Type": "application/json"}
    r = sb.call("POST", pay, "ICBC", data=lone % (a, b), headers=headers)
    assert _problem(r, 400)["code"] == "malformed_json"
    good = json.dumps({"from_wallet": a, "to_wallet": b, "amount": "1.00", "reference": "x"})
    for raw in (
        good.encode("utf-16"),
        b"\xef\xbb\xbf" + good.encode(),
        good.replace('"x"', '"\xed\xa0\x80"').encode("latin-1"),
    ):
        r = sb.call("POST", pay, "ICBC", data=raw, headers=headers)
        assert r.status_code in (400, 422), (raw, r.status_code)
    assert sb.journal_count() == before

    sql = "'; DROP TABLE journal_entries; --"
    body = {"from_wallet": a, "to_wallet": b, "amount": "1.00", "reference": sql}
    assert sb.ok("POST", pay, key="ICBC", json=body)["reference"] == sql
    assert sb.ok("GET", "/v1/wallets?after=1", key="ICBC")["items"]
    r = sb.get("/v1/wallets?after=1%27%20OR%201=1", key="ICBC")
    assert _problem(r, 422)["errors"]["after"]
    unicode = "付款 🎰 Ωμέγα"
    body["reference"] = unicode
    assert sb.ok("POST", pay, key="ICBC", json=body)["reference"] == unicode


def test_header_injection_is_refused_or_neutralised(demo):
    sb = demo
    before = sb.journal_count()
    # A request id that is not short printable text is replaced, never echoed.
    for request_id in ("abc\x01Set-Cookie: x=1", "x" * 65, "\x7f"):
        r = sb.get("/v1/sandbox/clock", headers={"X-Request-Id": request_id})
        assert r.status_code == 200 and r.headers["X-Request-Id"] != request_id
        assert r.headers["X-Request-Id"].isalnum() and "Set-Cookie" not in r.headers
    # An idempotency key with control characters or too long is refused.
    a, b = sb.demo_wallets["a"], sb.demo_wallets["b"]
    body = {"from_wallet": a, "to_wallet": b, "amount": "1.00"}
    for key in ("bad\x01key", "x" * 256, "tab\tkey", "clé"):
        r = sb.call("POST", "/v1/transfers", "ICBC", json=body, idem=key)
        assert _problem(r, 422)["errors"]["Idempotency-Key"]
    # An Authorization header that is not one bearer key.
    for header in ("Bearer", "Basic YWRtaW46YWRtaW4=", "Bearer a b", "Bearer \x00"):
        r = sb.client.get("/v1/sandbox/clock", headers={"Authorization": header})
        assert _problem(r, 401)["code"] == "unauthorized"
    assert sb.journal_count() == before


def test_revoked_keys_authenticate_nothing(demo):
    sb = demo
    new = sb.ok("POST", "/v1/keys", json={"role": "operator", "operator": "ICBC", "label": "till"})
    sb.keys["till"] = new["key"]
    assert sb.ok("GET", "/v1/wallets", key="till")["items"]
    # Only the admin revokes.
    assert _problem(sb.post(f"/v1/keys/{new['id']}/revoke", key="central_bank"), 403)
    revoked = sb.ok("POST", f"/v1/keys/{new['id']}/revoke", status=200)
    assert revoked["id"] == new["id"] and revoked["revoked_at"] and "key" not in revoked
    before = sb.journal_count()
    a, b = sb.demo_wallets["a"], sb.demo_wallets["b"]
    r = sb.call(
        "POST", "/v1/transfers", "till", json={"from_wallet": a, "to_wallet": b, "amount": "1.00"}
    )
    assert _problem(r, 401)["code"] == "unauthorized"
    assert sb.journal_count() == before
    assert (
        _problem(sb.post(f"/v1/keys/{new['id']}/revoke"), 409)["code"] == "api_key_already_revoked"
    )
    assert _problem(sb.post("/v1/keys/999999/revoke"), 404)["code"] == "api_key_not_found"
    # The revocation is in the audit log, without the secret.
    events = sb.ok("GET", "/v1/audit/events?path_prefix=/v1/keys", key="auditor")["items"]
    assert any(e["path"].endswith("/revoke") for e in events)
    assert new["key"] not in str(events)


def test_keys_whose_scope_no_longer_exists(demo):
    """A merchant or supervisor key for a casino that does not exist sees
    nothing and moves nothing: 404, not a 500."""
    sb = demo
    sb.keys["ghost"] = sb.key("merchant", casino_ref="GHOST")
    sb.keys["ghost_sup"] = sb.key("supervisor", casino_ref="GHOST")
    before = sb.journal_count()
    a = sb.demo_wallets["a"]
    r = sb.call("POST", "/v1/casinos/GHOST/buy-ins", "ghost", json={"player": a, "amount": "1.00"})
    assert _problem(r, 404)["code"] == "casino_not_found"
    assert _problem(sb.get("/v1/casinos/GHOST", key="ghost"), 404)
    assert sb.ok("GET", "/v1/casinos", key="ghost_sup")["items"] == []
    assert _problem(sb.post(f"/v1/wallets/{a}/freeze", key="ghost_sup"), 404)
    assert sb.journal_count() == before


def test_logs_hold_no_secrets_or_phone_numbers(sandbox, caplog):
    sb = sandbox
    caplog.set_level(logging.DEBUG)
    sb.operator("ICBC")
    phone = "+8613912345678"
    w = sb.wallet("ICBC", 4, phone=phone)
    sb.ok("POST", f"/v1/wallets/{w}/fund", key="ICBC", json={"amount": "10.00"})
    new = sb.ok("POST", "/v1/keys", json={"role": "auditor"})
    sb.get("/v1/sandbox/clock", key=new["key"])
    sb.client.get("/v1/sandbox/clock", headers={"Authorization": "Bearer ecny_wrong_secret"})
    sb.call(
        "POST", "/v1/wallets", "ICBC", json={"wallet_class": 4, "region": "CN", "phone": "+86139x"}
    )
    logged = caplog.text + " ".join(str(r.args) for r in caplog.records)
    for secret in (*sb.keys.values(), new["key"], "ecny_wrong_secret", phone, phone[1:]):
        assert secret not in logged
    # And the audit log neither.
    events = str(sb.ok("GET", "/v1/audit/events?limit=500", key="auditor"))
    for secret in (*sb.keys.values(), new["key"], phone, phone[1:]):
        assert secret not in events


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_wrong_media_types_are_415(demo, content_type):
    r = demo.call(
        "POST", "/v1/transfers", "ICBC", data="{}", headers={"Content-Type": content_type}
    )
    assert _problem(r, 415)["code"] == "unsupported_media_type"
