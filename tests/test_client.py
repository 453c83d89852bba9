"""The Python client: the same calls, the same answers, in-process and over HTTP."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from app.client import ApiError, Client


def _flow(admin: Client) -> list:
    cb = admin.with_key(admin.create_key("central_bank")["key"])
    cb.create_operator("ICBC", "ICBC")
    cb.create_operator("BOC", "BOC")
    for code in ("ICBC", "BOC"):
        cb.deposit_reserve(code, "1000.00")
        cb.issue(code, "600.00", idempotency_key=f"issue-{code}")
        cb.issue(code, "600.00", idempotency_key=f"issue-{code}")  # replayed, not issued twice
    icbc = admin.with_key(admin.create_key("operator", operator="ICBC")["key"])
    a = icbc.open_wallet(2, "CN", birth_date="1990-01-01")["id"]
    b = admin.open_wallet(1, "HK", operator="BOC", birth_date="1980-01-01")["id"]
    icbc.fund(a, "100.00")
    paid = icbc.pay(a, b, "12.34", reference="tea")
    h = icbc.hold(a, b, "10.00")
    captured = icbc.capture(h["id"], "4.00")
    etag = icbc.wallet_etag(a)
    upgraded = icbc.update_wallet(a, etag, label="main")
    with pytest.raises(ApiError) as refused:
        icbc.pay(a, b, "1000.00")
    return [
        cb.operator("ICBC")["position"],
        paid["entries"][-1]["credit_account"],
        [t["kind"] for t in captured["transfers"]],
        upgraded["label"],
        icbc.balance(a),
        (refused.value.status, refused.value.code),
        admin.reconciliation()["ok"],
    ]


def test_in_process_and_http_agree(another_sandbox):
    local, remote = another_sandbox(), another_sandbox()
    in_process = _flow(Client.in_process(local.app, local.keys["admin"]))
    server = make_server("127.0.0.1", 0, remote.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        over_http = _flow(
            Client.http(f"http://127.0.0.1:{server.server_port}", remote.keys["admin"])
        )
    finally:
        server.shutdown()
    for result in (in_process, over_http):
        balance = result[4]
        result[4] = (balance["balance"], balance["available"], balance["held"])
    assert in_process == over_http
    assert in_process == [
        "583.66",  # 600.00 issued, 12.34 paid and 4.00 captured to BOC
        "OP:BOC:POSITION",
        ["hold", "capture", "hold_release"],
        "main",
        ("83.66", "83.66", "0.00"),
        (422, "insufficient_funds"),
        True,
    ]


def test_red_envelopes_and_conditional_payments_through_the_client(sandbox):
    """docs/programmable.md's calls, made with the client."""
    admin = Client.in_process(sandbox.app, sandbox.keys["admin"])
    sandbox.operator("ICBC")
    icbc = admin.with_key(sandbox.keys["ICBC"])
    issuer = icbc.open_wallet(1, "CN", kind="merchant")["id"]
    shop = icbc.open_wallet(2, "CN", kind="merchant", merchant_category="catering")["id"]
    courier = icbc.open_wallet(1, "CN", kind="merchant", merchant_category="transport")["id"]
    holder = icbc.open_wallet(2, "CN", birth_date="1990-01-01")["id"]
    icbc.fund(issuer, "1000.00")
    icbc.fund(holder, "100.00")
    now = admin.clock()["now"]
    until = now.replace(now[:4], str(int(now[:4]) + 1), 1)
    c = icbc.create_campaign(
        issuer, "vouchers", "50.00", 2, until, claimable=True, merchant_categories=["catering"]
    )
    assert icbc.claim_envelope(c["id"], holder)["source"] == "claimed"
    assert icbc.grant_envelopes(c["id"], [shop])["items"][0]["wallet"] == shop
    icbc.pay(holder, shop, "30.00")
    assert [e["left"] for e in icbc.envelopes(holder)["items"]] == ["20.00"]
    assert icbc.campaign(c["id"])["escrow"] == "70.00"
    assert icbc.campaign_report(c["id"])["spent"] == "30.00"
    h = icbc.conditional_payment(holder, shop, "10.00", 3600, confirmer_wallet=courier)
    assert h["condition"] == "confirmation"
    assert icbc.confirm(h["id"])["status"] == "captured"
    timed = icbc.conditional_payment(holder, shop, "5.00", 60)
    assert timed["condition"] == "time"
    with pytest.raises(ApiError) as refused:
        icbc.capture(timed["id"])
    assert refused.value.code == "hold_conditional"


def test_the_offline_device_signs_vouchers_the_sandbox_takes(sandbox):
    """app.client.OfflineDevice: the device side, without a server; the
    client's offline calls, in-process."""
    from app.client import OfflineDevice

    admin = Client.in_process(sandbox.app, sandbox.keys["admin"])
    cb = admin.with_key(admin.create_key("central_bank")["key"])
    cb.create_operator("ICBC", "ICBC")
    cb.deposit_reserve("ICBC", "1000.00")
    cb.issue("ICBC", "900.00")
    a = admin.open_wallet(1, "CN", operator="ICBC", birth_date="1990-01-01")["id"]
    b = admin.open_wallet(1, "CN", operator="ICBC", birth_date="1990-01-01")["id"]
    admin.fund(a, "300.00")
    admin.fund(b, "20.00")
    alice, bob = OfflineDevice(), OfflineDevice()
    with pytest.raises(ValueError, match="not registered"):
        alice.pay(1, "1.00", "2026-03-02T02:30:00Z")
    alice.purse_id = admin.open_purse(a, alice.device_key, "200.00")["id"]
    bob.purse_id = admin.open_purse(b, bob.device_key, "10.00")["id"]
    paid = alice.pay(bob.purse_id, "12.3", "2026-03-02T02:30:00Z")
    assert (paid["amount"], paid["counter"]) == ("12.30", 1)
    out = admin.sync_vouchers(
        [paid, alice.voucher(bob.purse_id, "7.00", 1, "2026-03-02T02:31:00Z")]
    )
    assert sorted(r["voucher"]["status"] for r in out["results"]) == ["honoured", "refused"]
    assert admin.purse(alice.purse_id)["frozen"] is True
    assert len(admin.purse_vouchers(bob.purse_id)["items"]) == 2
    assert [p["id"] for p in admin.purses(a)["items"]] == [alice.purse_id]
    with pytest.raises(ApiError) as frozen:
        admin.load_purse(alice.purse_id, "1.00")
    assert frozen.value.code == "offline_purse_frozen"
    assert admin.load_purse(bob.purse_id, "1.00")["balance"] == "11.00"
    assert admin.unload_purse(bob.purse_id, bob.unload_statement())["status"] == "unloaded"
    assert admin.unload_purse(alice.purse_id)["status"] == "unloading"
    assert admin.reconciliation()["ok"]
