"""Two-phase payments and refunds through the API."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from wallets.core import clock, errors
from wallets.core.principal import Principal
from wallets.core.schema import holds
from wallets.retail import holds as holds_module


def hold(sb, src, dst, amount, key="ICBC", **extra):
    return sb.post(
        "/v1/holds", {"from_wallet": src, "to_wallet": dst, "amount": amount, **extra}, key=key
    )


def _stored_status(sb, hold_id: int) -> str:
    with sb.db.engine.connect() as conn:
        return conn.execute(sa.select(holds.c.status).where(holds.c.id == hold_id)).scalar_one()


def balances(sb, w, key="admin"):
    b = sb.ok("GET", f"/v1/wallets/{w}/balance", key=key)
    return b["balance"], b["available"], b["held"]


def test_hold_reserves_then_full_capture_pays(demo):
    a, b = demo.demo_wallets["a"], demo.demo_wallets["b"]
    h = hold(demo, a, b, "300.00", reference="order 7").get_json()
    assert h["status"] == "pending" and h["amount"] == "300.00" and h["captured"] == "0.00"
    assert [(e["debit_account"], e["credit_account"]) for e in h["transfers"][0]["entries"]] == [
        (f"W:{a}:ECNY", "OP:ICBC:HOLDS")
    ]
    assert balances(demo, a) == ("1000.00", "700.00", "300.00")
    r = demo.post(
        "/v1/transfers", {"from_wallet": a, "to_wallet": b, "amount": "700.01"}, key="ICBC"
    )
    assert r.get_json()["code"] == "insufficient_funds"  # held funds cannot be spent twice
    got = demo.ok("POST", f"/v1/holds/{h['id']}/capture", key="ICBC", status=200)
    assert got["status"] == "captured" and got["captured"] == "300.00"
    assert [t["kind"] for t in got["transfers"]] == ["hold", "capture"]
    assert balances(demo, a) == ("700.00", "700.00", "0.00")
    assert demo.balance(b) == "800.00"
    again = demo.post(f"/v1/holds/{h['id']}/capture", {}, key="ICBC")
    assert again.status_code == 409 and again.get_json()["code"] == "hold_already_resolved"
    assert demo.post(f"/v1/holds/{h['id']}/void", key="ICBC").status_code == 409


def test_partial_capture_releases_the_rest_and_cross_operator_moves_positions(demo):
    a, c = demo.demo_wallets["a"], demo.demo_wallets["c"]
    h = hold(demo, a, c, "500.00").get_json()
    over = demo.post(f"/v1/holds/{h['id']}/capture", {"amount": "500.01"}, key="ICBC")
    assert over.get_json()["code"] == "capture_exceeds_hold"
    got = demo.ok(
        "POST", f"/v1/holds/{h['id']}/capture", json={"amount": "120.50"}, key="BOC", status=200
    )
    assert [t["kind"] for t in got["transfers"]] == ["hold", "capture", "hold_release"]
    _, capture, release = got["transfers"]
    assert [(e["debit_account"], e["credit_account"]) for e in capture["entries"]] == [
        ("OP:ICBC:HOLDS", "OP:ICBC:SETTLEMENT"),
        ("OP:BOC:SETTLEMENT", f"W:{c}:ECNY"),
        ("OP:ICBC:POSITION", "OP:BOC:POSITION"),
    ]
    assert release["amount"] == "379.50"
    assert balances(demo, a) == ("879.50", "879.50", "0.00")
    assert demo.balance(c) == "320.50"
    assert demo.ok("GET", "/v1/operators/BOC")["position"] == "500120.50"


def test_void_and_expiry_release_funds(demo):
    a, b = demo.demo_wallets["a"], demo.demo_wallets["b"]
    demo.ok("PUT", "/v1/sandbox/clock", json={"now": "2026-05-01T12:00:00+08:00"})
    h1 = hold(demo, a, b, "100.00").get_json()
    voided = demo.ok("POST", f"/v1/holds/{h1['id']}/void", key="ICBC", status=200)
    assert voided["status"] == "voided" and [t["kind"] for t in voided["transfers"]] == [
        "hold",
        "void",
    ]
    h2 = hold(demo, a, b, "200.00", timeout_seconds=60).get_json()
    assert h2["expires_at"] == "2026-05-01T04:01:00+00:00"
    demo.ok("POST", "/v1/sandbox/clock/advance", json={"seconds": 59}, status=200)
    assert demo.ok("GET", f"/v1/holds/{h2['id']}", key="ICBC")["status"] == "pending"
    demo.ok("POST", "/v1/sandbox/clock/advance", json={"seconds": 1}, status=200)
    expired = demo.ok("GET", f"/v1/holds/{h2['id']}", key="ICBC")
    assert expired["status"] == "expired" and expired["transfers"][-1]["kind"] == "hold_expiry"
    assert balances(demo, a) == ("1000.00", "1000.00", "0.00")
    late = demo.post(f"/v1/holds/{h2['id']}/capture", {}, key="ICBC")
    assert late.status_code == 422 and late.get_json()["code"] == "hold_expired"
    listed = demo.ok("GET", f"/v1/holds?wallet={a}&status=expired", key="ICBC")
    assert [x["id"] for x in listed["items"]] == [h2["id"]]


def test_hold_refusals(demo):
    a, b, c = demo.demo_wallets["a"], demo.demo_wallets["b"], demo.demo_wallets["c"]
    assert hold(demo, a, b, "1000.01").get_json()["code"] == "insufficient_funds"
    assert hold(demo, a, a, "1.00").get_json()["code"] == "same_wallet"
    assert hold(demo, c, a, "1.00").status_code == 404  # not ICBC's wallet
    assert hold(demo, a, b, "1.00", timeout_seconds=0).status_code == 422
    h = hold(demo, a, b, "10.00").get_json()
    assert demo.get(f"/v1/holds/{h['id']}", key="BOC").status_code == 404
    assert demo.get("/v1/holds/99999", key="ICBC").get_json()["code"] == "hold_not_found"


def test_refunds_partial_never_above_the_payment(demo):
    a, c = demo.demo_wallets["a"], demo.demo_wallets["c"]
    p = demo.ok(
        "POST",
        "/v1/transfers",
        json={"from_wallet": a, "to_wallet": c, "amount": "100.00"},
        key="ICBC",
    )
    assert (
        demo.post(f"/v1/transfers/{p['id']}/refunds", {"amount": "1.00"}, key="ICBC").status_code
        == 404
    )  # payee's side refunds
    r1 = demo.ok(
        "POST",
        f"/v1/transfers/{p['id']}/refunds",
        json={"amount": "60.00", "reference": "returned"},
        key="BOC",
    )
    assert (
        r1["kind"] == "refund"
        and r1["refund_of"] == p["id"]
        and (r1["from_wallet"], r1["to_wallet"]) == (c, a)
    )
    assert [(e["debit_account"], e["credit_account"]) for e in r1["entries"]][-1] == (
        "OP:BOC:POSITION",
        "OP:ICBC:POSITION",
    )
    over = demo.post(f"/v1/transfers/{p['id']}/refunds", {"amount": "40.01"}, key="BOC")
    body = over.get_json()
    assert (
        body["code"] == "refund_exceeds_payment"
        and body["refundable"] == "40.00"
        and body["refunded"] == "60.00"
    )
    assert body["detail"] == f"transfer {p['id']} was 100.00; 60.00 is refunded already"
    assert r1["reference"] == "returned"
    demo.ok("POST", f"/v1/transfers/{p['id']}/refunds", json={"amount": "40.00"}, key="BOC")
    assert (
        demo.post(f"/v1/transfers/{p['id']}/refunds", {"amount": "0.01"}, key="BOC").status_code
        == 422
    )
    assert demo.balance(a) == "1000.00" and demo.balance(c) == "200.00"
    funding = demo.ok("GET", f"/v1/transfers?wallet={a}&limit=1", key="ICBC")["items"][0]
    assert (
        demo.post(
            f"/v1/transfers/{funding['id']}/refunds", {"amount": "1.00"}, key="ICBC"
        ).get_json()["code"]
        == "not_refundable"
    )


def test_refund_of_a_capture_and_to_a_closed_wallet(demo):
    a, b = demo.demo_wallets["a"], demo.demo_wallets["b"]
    w = demo.wallet("ICBC", 1, fund="50.00")
    h = hold(demo, w, b, "50.00").get_json()
    cap = demo.ok("POST", f"/v1/holds/{h['id']}/capture", key="ICBC", status=200)["transfers"][-1]
    demo.ok("POST", f"/v1/wallets/{w}/close", key="ICBC", status=200)
    r = demo.post(f"/v1/transfers/{cap['id']}/refunds", {"amount": "10.00"}, key="ICBC")
    assert r.status_code == 422 and r.get_json()["code"] == "wallet_closed"
    assert demo.balance(b) == "550.00"
    p = demo.ok(
        "POST",
        "/v1/transfers",
        json={"from_wallet": a, "to_wallet": b, "amount": "5.00"},
        key="ICBC",
    )
    demo.ok("POST", f"/v1/transfers/{p['id']}/refunds", json={"amount": "5.00"}, key="ICBC")


def test_a_refused_idempotent_request_still_releases_due_holds(demo):
    """Any write releases the holds whose deadline has passed, in a transaction
    that commits even when the request itself is refused at its key."""
    a, b = demo.demo_wallets["a"], demo.demo_wallets["b"]
    demo.ok("PUT", "/v1/sandbox/clock", json={"now": "2026-05-01T12:00:00+08:00", "fixed": False})
    first = demo.call("POST", f"/v1/wallets/{a}/fund", "ICBC", json={"amount": "1.00"}, idem="k1")
    assert first.status_code == 201
    h = hold(demo, a, b, "100.00", timeout_seconds=1).get_json()
    time.sleep(1.2)  # the running sandbox clock passes the deadline; no write yet
    assert _stored_status(demo, h["id"]) == "pending"  # (a GET would release it)
    reused = demo.call("POST", f"/v1/wallets/{a}/fund", "ICBC", json={"amount": "2.00"}, idem="k1")
    assert reused.status_code == 422 and reused.get_json()["code"] == "idempotency_key_reused"
    assert demo.ok("GET", f"/v1/holds/{h['id']}", key="ICBC")["status"] == "expired"
    assert balances(demo, a) == ("1001.00", "1001.00", "0.00")


def _time_passes(sb, seconds: int) -> None:
    """Move the sandbox clock on without any request: as a running clock does."""

    def move(tx):
        clock.set_clock(tx, tx.now() + timedelta(seconds=seconds))

    sb.db.write(move)


def _reads_of_an_expired_hold(sb, a, b, h, before):
    """Every read of the payer and its operator, once the hold's deadline has passed."""
    assert sb.ok("GET", f"/v1/holds/{h['id']}", key="ICBC")["status"] == "expired"
    assert sb.ok("GET", f"/v1/holds?wallet={a}&status=pending", key="ICBC")["items"] == []
    listed = sb.ok("GET", f"/v1/holds?wallet={a}&status=expired", key="auditor")["items"]
    assert [x["id"] for x in listed] == [h["id"]]
    assert balances(sb, a) == before
    assert sb.ok("GET", f"/v1/wallets/{a}", key="ICBC")["held"] == "0.00"
    assert sb.ok("GET", "/v1/operators/ICBC", key="central_bank")["holds"] == "0.00"
    closing = sb.ok("GET", f"/v1/wallets/{a}/statement", key="ICBC")["closing"]
    assert (closing["held"], closing["available"]) == ("0.00", before[1])
    # What the reads say is what a write sees.
    late = sb.post(f"/v1/holds/{h['id']}/capture", {}, key="ICBC")
    assert late.status_code == 422 and late.get_json()["code"] == "hold_expired"


def test_reads_show_a_hold_expired_once_the_clock_passes_its_deadline(demo):
    """No write between the deadline and the reads: they show what a write would see."""
    a, b = demo.demo_wallets["a"], demo.demo_wallets["b"]
    demo.ok("PUT", "/v1/sandbox/clock", json={"now": "2026-05-01T12:00:00+08:00"})
    before = balances(demo, a)
    h = hold(demo, a, b, "200.00", timeout_seconds=60).get_json()
    _time_passes(demo, 59)
    assert demo.ok("GET", f"/v1/holds/{h['id']}", key="ICBC")["status"] == "pending"
    assert balances(demo, a) == ("1000.00", "800.00", "200.00")
    _time_passes(demo, 1)  # the deadline itself: expired (as a capture would say)
    assert _stored_status(demo, h["id"]) == "pending"
    _reads_of_an_expired_hold(demo, a, b, h, before)
    assert [t["kind"] for t in demo.ok("GET", f"/v1/holds/{h['id']}")["transfers"]] == [
        "hold",
        "hold_expiry",
    ]


def test_reads_show_a_hold_expired_under_a_running_clock(demo):
    a, b = demo.demo_wallets["a"], demo.demo_wallets["b"]
    demo.ok("PUT", "/v1/sandbox/clock", json={"now": "2026-05-01T12:00:00+08:00", "fixed": False})
    before = balances(demo, a)
    # Seconds enough that the read just after the hold is not late on a busy machine.
    h = hold(demo, a, b, "100.00", timeout_seconds=3).get_json()
    placed = time.monotonic()  # the deadline is at most 3 s after this
    assert demo.ok("GET", f"/v1/holds?wallet={a}&status=pending", key="ICBC")["items"]
    time.sleep(max(0.0, placed + 3.1 - time.monotonic()))
    _reads_of_an_expired_hold(demo, a, b, h, before)


def test_a_resolved_hold_past_its_deadline_is_resolved_not_expired(demo):
    a, b = demo.demo_wallets["a"], demo.demo_wallets["b"]
    h = hold(demo, a, b, "10.00", timeout_seconds=60).get_json()
    demo.ok("POST", f"/v1/holds/{h['id']}/capture", key="ICBC", status=200)
    demo.ok("POST", "/v1/sandbox/clock/advance", json={"seconds": 120}, status=200)
    for action in ("capture", "void"):
        r = demo.post(f"/v1/holds/{h['id']}/{action}", {}, key="ICBC")
        body = r.get_json()
        assert r.status_code == 409 and body["code"] == "hold_already_resolved", body
        assert (body["hold_id"], body["current_status"]) == (h["id"], "captured")
        assert body["detail"] == f"hold {h['id']} is captured already"
    assert demo.balance(b) == "510.00"


def test_a_hold_to_no_wallet_names_the_field(demo):
    a = demo.demo_wallets["a"]
    r = hold(demo, a, 99999, "1.00")
    body = r.get_json()
    assert r.status_code == 404 and body["code"] == "wallet_not_found"
    assert body["field"] == "to_wallet"
    assert balances(demo, a) == ("1000.00", "1000.00", "0.00")


def test_a_late_capture_names_the_hold_and_its_deadline(demo):
    a, b = demo.demo_wallets["a"], demo.demo_wallets["b"]
    demo.ok("PUT", "/v1/sandbox/clock", json={"now": "2026-05-01T12:00:00+08:00"})
    before_b = demo.balance(b)
    h = hold(demo, a, b, "50.00", timeout_seconds=30).get_json()
    demo.ok("POST", "/v1/sandbox/clock/advance", json={"seconds": 30}, status=200)
    late = demo.post(f"/v1/holds/{h['id']}/capture", {}, key="ICBC")
    body = late.get_json()
    assert late.status_code == 422 and body["code"] == "hold_expired"
    assert body["hold_id"] == h["id"]
    # The refusal says which hold ran out and when: the deadline the hold was given.
    assert f"hold {h['id']} expired at {h['expires_at']}" in body["detail"]
    assert balances(demo, a) == ("1000.00", "1000.00", "0.00")
    assert demo.balance(b) == before_b


def test_a_capture_from_a_frozen_payer_names_the_paying_wallet(demo):
    a, b = demo.demo_wallets["a"], demo.demo_wallets["b"]
    h = hold(demo, a, b, "40.00").get_json()
    before_b = demo.balance(b)
    demo.ok("POST", f"/v1/wallets/{a}/freeze", key="ICBC", status=200)
    r = demo.post(f"/v1/holds/{h['id']}/capture", {}, key="ICBC")
    body = r.get_json()
    assert body["code"] == "wallet_frozen" and body["wallet_id"] == a
    assert body["detail"] == f"the paying wallet {a} is frozen"
    assert _stored_status(demo, h["id"]) == "pending"
    assert demo.balance(b) == before_b


def test_the_holds_list_pages_by_its_cursor(demo):
    a, b = demo.demo_wallets["a"], demo.demo_wallets["b"]
    ids = [hold(demo, a, b, "1.00").get_json()["id"] for _ in range(3)]
    first = demo.ok("GET", f"/v1/holds?wallet={a}&limit=2", key="ICBC")
    assert [x["id"] for x in first["items"]] == ids[:2]
    cursor = first["next_after"]
    assert cursor
    rest = demo.ok("GET", f"/v1/holds?wallet={a}&limit=2&after={cursor}", key="ICBC")
    assert [x["id"] for x in rest["items"]] == ids[2:]
    assert rest["next_after"] is None


def test_a_hold_refused_for_its_timeout_or_its_payee_names_why(demo):
    a, b = demo.demo_wallets["a"], demo.demo_wallets["b"]
    before = demo.journal_count()
    same = hold(demo, a, a, "1.00")
    body = same.get_json()
    assert same.status_code == 422 and body["code"] == "same_wallet"
    assert body["detail"] == "a wallet cannot pay itself"
    # Below the API's schema: the rule itself refuses an out-of-range timeout.
    for seconds in (0, holds_module.MAX_TIMEOUT + 1):
        with pytest.raises(errors.DomainError) as refused:
            demo.db.write(
                holds_module.create,
                Principal(role="admin"),
                from_wallet_id=a,
                to_wallet_id=b,
                amount=100,
                timeout_seconds=seconds,
            )
        assert refused.value.code == errors.VALIDATION_FAILED
        assert refused.value.extra["errors"] == {
            "timeout_seconds": [f"must be between 1 and {holds_module.MAX_TIMEOUT}"]
        }
        assert refused.value.detail == "timeout_seconds out of range"
    assert demo.journal_count() == before
    assert balances(demo, a) == ("1000.00", "1000.00", "0.00")


def test_only_a_payment_is_refundable_and_the_refusal_names_what_it_is(demo):
    a = demo.demo_wallets["a"]
    funded = demo.ok("POST", f"/v1/wallets/{a}/fund", json={"amount": "5.00"}, key="ICBC")
    before = demo.journal_count()
    r = demo.post(f"/v1/transfers/{funded['id']}/refunds", {"amount": "1.00"}, key="ICBC")
    body = r.get_json()
    assert body["code"] == "not_refundable", body
    assert body["detail"] == f"transfer {funded['id']} is a {funded['kind']}"
    assert demo.journal_count() == before
    assert demo.balance(a) == "1005.00"


def test_only_a_known_payment_to_a_wallet_is_refunded(demo):
    a = demo.demo_wallets["a"]
    out = demo.ok("POST", f"/v1/wallets/{a}/defund", json={"amount": "2.00"}, key="ICBC")
    before = demo.journal_count()
    for transfer_id in (999999, out["id"]):  # none, and one to no wallet
        r = demo.post(f"/v1/transfers/{transfer_id}/refunds", {"amount": "1.00"}, key="ICBC")
        body = r.get_json()
        assert r.status_code == 404, body
        assert (body["code"], body["detail"]) == (
            "transfer_not_found",
            f"no transfer {transfer_id}",
        )
    assert demo.journal_count() == before and demo.balance(a) == "998.00"


def test_a_refund_needs_both_wallets_active_and_the_payers_cap(demo):
    sb = demo
    payer = sb.wallet("ICBC", 4, fund="9990.00")
    payee = sb.wallet("ICBC", 1, fund="10.00")
    p = sb.ok(
        "POST",
        "/v1/transfers",
        json={"from_wallet": payer, "to_wallet": payee, "amount": "10.00"},
        key="ICBC",
    )
    sb.ok("POST", f"/v1/wallets/{payer}/fund", json={"amount": "20.00"}, key="ICBC")
    # The payer is at its cap (class 4: 10,000.00): the refund would pass it.
    r = sb.post(f"/v1/transfers/{p['id']}/refunds", {"amount": "0.01"}, key="ICBC")
    body = r.get_json()
    assert r.status_code == 422 and (body["code"], body["limit"]) == (
        "limit_exceeded",
        "balance_cap",
    )
    sb.ok("POST", f"/v1/wallets/{payer}/defund", json={"amount": "10.00"}, key="ICBC")
    for frozen, role in ((payee, "refunding"), (payer, "refunded")):
        sb.ok("POST", f"/v1/wallets/{frozen}/freeze", key="ICBC", status=200)
        r = sb.post(f"/v1/transfers/{p['id']}/refunds", {"amount": "1.00"}, key="ICBC")
        body = r.get_json()
        assert (r.status_code, body["code"]) == (422, "wallet_frozen"), body
        assert body["detail"] == f"the {role} wallet {frozen} is frozen"
        sb.ok("POST", f"/v1/wallets/{frozen}/unfreeze", key="ICBC", status=200)
    assert sb.balance(payer) == "9990.00" and sb.balance(payee) == "20.00"
