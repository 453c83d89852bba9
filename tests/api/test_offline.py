"""Dual offline payments through the API (docs/offline.md): purses loaded up
to the profile's cap, vouchers signed by the client's device library, synced
by either side in any order, double spends refused and paid by the loss
bearer, validation after the waiting time, unloading."""

from __future__ import annotations

import csv
import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.client import OfflineDevice
from wallets.core import errors
from wallets.ledger.money import format_amount, parse_amount
from wallets.retail import offline

START = "2026-03-02T10:00:00+08:00"
T0 = "2026-03-02T02:30:00Z"


def _device(name: str) -> OfflineDevice:
    return OfflineDevice.from_seed(hashlib.sha256(name.encode()).digest())


def _purse(sb, wallet: int, key: str, amount: str, device: OfflineDevice) -> dict:
    p = sb.ok(
        "POST",
        "/v1/offline/purses",
        key=key,
        json={"wallet": wallet, "device_key": device.device_key, "amount": amount},
    )
    device.purse_id = p["id"]
    return p


def _sync(sb, vouchers, key="admin") -> dict:
    return sb.ok("POST", "/v1/offline/sync", key=key, json={"vouchers": vouchers}, status=200)


def _accounts(sb) -> dict[str, int]:
    with sb.db.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT code, credits_posted - debits_posted FROM accounts"
        ).all()
    return {code: int(balance) for code, balance in rows}


def _fen(text: str) -> int:
    return parse_amount(text)


@pytest.fixture
def world(sandbox):
    sb = sandbox
    sb.ok("PUT", "/v1/sandbox/clock", json={"now": START})
    sb.operator("ICBC", reserve="90000000.00", issue="50000000.00")
    sb.operator("BOC")
    payer = sb.wallet("ICBC", 2, fund="5000.00")
    payee = sb.wallet("BOC", 2, fund="10.00")
    other = sb.wallet("ICBC", 2, fund="100.00")
    a, b = _device(f"payer {sb.db.url}"), _device(f"payee {sb.db.url}")
    _purse(sb, payer, "ICBC", "1000.00", a)
    _purse(sb, payee, "BOC", "1.00", b)
    return {"sb": sb, "payer": payer, "payee": payee, "other": other, "a": a, "b": b}


def test_a_voucher_synced_pays_the_payee_once_validated(world):
    sb, a, b = world["sb"], world["a"], world["b"]
    purse = sb.ok("GET", f"/v1/offline/purses/{a.purse_id}")
    assert (purse["loaded"], purse["balance"], purse["status"]) == ("1000.00", "1000.00", "active")
    assert sb.balance(world["payer"]) == "4000.00"
    before = _accounts(sb)
    v = a.pay(b.purse_id, "120.50", T0)
    # The payee's operator uploads it.
    out = _sync(sb, [v], key="BOC")
    assert (out["synced"], out["duplicates"], out["rejected"]) == (1, 0, 0)
    item = out["results"][0]
    assert item["result"] == "synced" and item["voucher"]["status"] == "honoured"
    assert item["voucher"]["credit"] == "pending"
    after = _accounts(sb)
    assert after["OP:ICBC:OFFLINE"] - before["OP:ICBC:OFFLINE"] == -12050
    assert after["OP:BOC:OFFLINE_PENDING"] - before["OP:BOC:OFFLINE_PENDING"] == 12050
    # Not spendable online yet.
    assert sb.balance(world["payee"]) == "9.00"
    r = sb.call(
        "POST",
        "/v1/transfers",
        "BOC",
        json={"from_wallet": world["payee"], "to_wallet": world["other"], "amount": "100.00"},
    )
    assert r.get_json()["code"] == errors.INSUFFICIENT_FUNDS
    # The payer's operator uploads it too (its time at another offset, the same
    # instant): a duplicate, nothing moves.
    again = _sync(sb, [{**v, "time": "2026-03-02T10:30:00+08:00"}], key="ICBC")
    assert again["duplicates"] == 1 and _accounts(sb) == after
    assert sb.ok("GET", f"/v1/offline/purses/{a.purse_id}")["spent"] == "120.50"
    # 24 hours of sandbox time later the first write validates it.
    sb.ok("POST", "/v1/sandbox/clock/advance", json={"seconds": 24 * 3600}, status=200)
    assert sb.balance(world["payee"]) == "129.50"
    (listed,) = sb.ok("GET", f"/v1/offline/purses/{b.purse_id}/vouchers", key="BOC")["items"]
    assert listed["credit"] == "validated" and listed["validated_at"] is not None
    kinds = [
        t["kind"]
        for t in sb.ok("GET", "/v1/transfers", query_string={"limit": 500})["items"]
        if t["kind"].startswith("offline")
    ]
    assert kinds == ["offline_load", "offline_load", "offline_payment", "offline_validation"]
    assert sb.reconcile().ok


def test_a_load_past_the_cap_or_the_balance_is_refused_and_writes_nothing(world):
    sb, a = world["sb"], world["a"]
    journal = sb.journal_count()
    r = sb.call(
        "POST", f"/v1/offline/purses/{a.purse_id}/loads", "ICBC", json={"amount": "1000.01"}
    )
    assert (r.status_code, r.get_json()["code"]) == (422, errors.OFFLINE_PURSE_CAP_EXCEEDED)
    assert r.get_json()["cap"] == "2000.00"
    ok = sb.ok(
        "POST",
        f"/v1/offline/purses/{a.purse_id}/loads",
        key="ICBC",
        json={"amount": "1000.00"},
        status=200,
    )
    assert (ok["loaded"], ok["balance"]) == ("2000.00", "2000.00")
    assert sb.balance(world["payer"]) == "3000.00"
    # A second purse of the wallet, another's key, a bad key.
    dup = sb.call(
        "POST",
        "/v1/offline/purses",
        "ICBC",
        json={"wallet": world["payer"], "device_key": _device("x").device_key, "amount": "1.00"},
    )
    assert dup.get_json()["code"] == errors.OFFLINE_PURSE_EXISTS
    reused = sb.call(
        "POST",
        "/v1/offline/purses",
        "ICBC",
        json={"wallet": world["other"], "device_key": a.device_key, "amount": "1.00"},
    )
    assert reused.get_json()["code"] == errors.OFFLINE_DEVICE_KEY_IN_USE
    poor = sb.call(
        "POST",
        "/v1/offline/purses",
        "ICBC",
        json={"wallet": world["other"], "device_key": _device("y").device_key, "amount": "500.00"},
    )
    assert poor.get_json()["code"] == errors.INSUFFICIENT_FUNDS
    other_scope = sb.call("GET", f"/v1/offline/purses/{a.purse_id}", "BOC")
    assert other_scope.get_json()["code"] == errors.OFFLINE_PURSE_NOT_FOUND
    assert sb.journal_count() == journal + 1  # the one load that went through
    assert sb.reconcile().ok


def test_vouchers_that_are_not_the_devices_are_rejected_and_kept_nowhere(world):
    sb, a, b = world["sb"], world["a"], world["b"]
    v = a.pay(b.purse_id, "10.00", T0)
    forged = {**v, "amount": "100.00"}
    thief = _device("thief")
    thief.purse_id = a.purse_id
    stolen = thief.pay(b.purse_id, "10.00", T0)
    itself = a.pay(a.purse_id, "1.00", T0)
    nowhere = {**a.pay(b.purse_id, "1.00", T0), "payee": 999}
    huge = a.pay(b.purse_id, "2000.01", T0)  # above the cap: no purse holds it
    out = _sync(sb, [forged, stolen, itself, nowhere, huge])
    assert [(i["result"], i["code"]) for i in out["results"]] == [
        ("rejected", errors.OFFLINE_BAD_SIGNATURE),
        ("rejected", errors.OFFLINE_BAD_SIGNATURE),
        ("rejected", errors.OFFLINE_SAME_PURSE),
        ("rejected", errors.OFFLINE_PURSE_NOT_FOUND),
        ("rejected", errors.OFFLINE_PURSE_CAP_EXCEEDED),
    ]
    assert sb.ok("GET", f"/v1/offline/purses/{a.purse_id}/vouchers")["items"] == []
    # Another operator's purses are not its to sync.
    sb.operator("CCB")
    r = _sync(sb, [v], key="CCB")
    assert r["results"][0]["code"] == errors.OFFLINE_PURSE_NOT_FOUND
    bad = sb.call("POST", "/v1/offline/sync", json={"vouchers": [{**v, "time": "2026-03-02"}]})
    assert bad.status_code == 422 and bad.get_json()["code"] == errors.VALIDATION_FAILED


def test_a_counter_used_twice_freezes_the_purse_and_the_payer_operator_pays(world):
    sb, a, b = world["sb"], world["a"], world["b"]
    first = a.pay(b.purse_id, "300.00", T0)
    twin = a.voucher(b.purse_id, "700.00", 1, "2026-03-02T02:31:00Z")
    before = _accounts(sb)
    out = _sync(sb, [twin, first], key="BOC")
    by_id = {i["voucher_id"]: i["voucher"] for i in out["results"]}
    kept, other = sorted(by_id)
    assert by_id[kept]["status"] == "honoured" and by_id[kept]["covered_by"] is None
    assert (by_id[other]["status"], by_id[other]["refusal"], by_id[other]["covered_by"]) == (
        "refused",
        errors.OFFLINE_COUNTER_REUSED,
        "ICBC",
    )
    after = _accounts(sb)
    honoured, refused = _fen(by_id[kept]["amount"]), _fen(by_id[other]["amount"])
    assert after["OP:ICBC:OFFLINE"] - before["OP:ICBC:OFFLINE"] == -honoured
    assert after["OP:ICBC:VAULT"] - before["OP:ICBC:VAULT"] == -refused
    assert after["OP:BOC:OFFLINE_PENDING"] - before["OP:BOC:OFFLINE_PENDING"] == 100000
    purse = sb.ok("GET", f"/v1/offline/purses/{a.purse_id}")
    assert purse["frozen"] and purse["spent"] == by_id[kept]["amount"]
    (alert,) = sb.ok("GET", "/v1/alerts", key="central_bank")["items"]
    assert alert["type"] == "offline_double_spend" and alert["wallet"] == world["payer"]
    assert alert["evidence"]["vouchers"][0]["voucher_id"] == other
    r = sb.call("POST", f"/v1/offline/purses/{a.purse_id}/loads", "ICBC", json={"amount": "1.00"})
    assert r.get_json()["code"] == errors.OFFLINE_PURSE_FROZEN
    events = [e["type"] for e in sb.ok("GET", "/v1/events", query_string={"limit": 500})["items"]]
    assert events.count("offline_purse.frozen") == 1 and "alert.raised" in events
    assert sb.reconcile().ok


def test_a_late_voucher_turns_one_honoured_before_and_the_loss_bearer_covers_it(world):
    sb, a, b = world["sb"], world["a"], world["b"]
    v1 = a.pay(b.purse_id, "600.00", T0)
    v2 = a.pay(b.purse_id, "300.00", T0)
    v3 = a.pay(b.purse_id, "300.00", T0)  # beyond the 1000.00 loaded
    out = _sync(sb, [v3, v1])
    assert [i["voucher"]["status"] for i in out["results"]] == ["honoured", "honoured"]
    before = _accounts(sb)
    out = _sync(sb, [v2])  # counter 2 fits; counter 3 no longer does
    assert out["results"][0]["voucher"]["status"] == "honoured"
    (changed,) = out["changed"]
    assert (changed["counter"], changed["status"], changed["refusal"]) == (
        3,
        "refused",
        errors.OFFLINE_PURSE_OVERDRAWN,
    )
    after = _accounts(sb)
    # The payee keeps every voucher's money; the payer's operator paid 300.00 of it.
    assert after["OP:BOC:OFFLINE_PENDING"] - before["OP:BOC:OFFLINE_PENDING"] == 30000
    assert after["OP:ICBC:VAULT"] - before["OP:ICBC:VAULT"] == -30000
    assert after["OP:ICBC:OFFLINE"] - before["OP:ICBC:OFFLINE"] == 0
    assert sb.ok("GET", f"/v1/offline/purses/{a.purse_id}")["spent"] == "900.00"
    assert sb.reconcile().ok


def test_the_payee_operator_bears_the_loss_when_the_profile_says_so(world):
    sb, a, b = world["sb"], world["a"], world["b"]
    doc = sb.ok("GET", "/v1/rules")["document"]
    doc = {**doc, "name": "offline-payee-bears", "version": 2}
    doc["offline"] = {**doc["offline"], "loss_bearer": "payee_operator"}
    sb.ok("PUT", "/v1/sandbox/profile", json={"document": doc}, status=200)
    before = _accounts(sb)
    out = _sync(sb, [a.pay(b.purse_id, "1000.00", T0), a.pay(b.purse_id, "0.01", T0)])
    assert out["results"][1]["voucher"]["covered_by"] == "BOC"
    after = _accounts(sb)
    assert after["OP:BOC:VAULT"] - before["OP:BOC:VAULT"] == -1
    assert after["OP:ICBC:VAULT"] == before["OP:ICBC:VAULT"]
    assert sb.reconcile().ok


def test_unloading_at_once_with_the_devices_statement_or_after_the_wait(world):
    sb, a, b = world["sb"], world["a"], world["b"]
    _sync(sb, [a.pay(b.purse_id, "100.00", T0)])
    missing = a.pay(b.purse_id, "50.00", T0)  # still offline
    # The device says counter 2: voucher 2 is not synced, so the unload waits.
    waiting = sb.ok(
        "POST",
        f"/v1/offline/purses/{a.purse_id}/unload",
        key="ICBC",
        json=a.unload_statement(),
        status=200,
    )
    assert waiting["status"] == "unloading" and waiting["unload_due_at"] is not None
    r = sb.call("POST", f"/v1/offline/purses/{a.purse_id}/loads", "ICBC", json={"amount": "1.00"})
    assert r.get_json()["code"] == errors.OFFLINE_PURSE_UNLOADED
    _sync(sb, [missing])
    done = sb.ok(
        "POST",
        f"/v1/offline/purses/{a.purse_id}/unload",
        key="ICBC",
        json=a.unload_statement(),
        status=200,
    )
    assert (done["status"], done["unloaded"], done["balance"]) == ("unloaded", "850.00", "0.00")
    assert sb.balance(world["payer"]) == "4850.00"
    # A voucher after the unload: refused, the loss bearer pays.
    late = _sync(sb, [a.voucher(b.purse_id, "5.00", 3, T0)])["results"][0]["voucher"]
    assert (late["status"], late["refusal"]) == ("refused", errors.OFFLINE_PURSE_UNLOADED)
    assert not sb.ok("GET", f"/v1/offline/purses/{a.purse_id}")["frozen"]
    # The payee's purse, without a statement: it waits 72 hours of sandbox time.
    w = sb.ok("POST", f"/v1/offline/purses/{b.purse_id}/unload", key="BOC", json={}, status=200)
    assert w["status"] == "unloading"
    sb.ok("POST", "/v1/sandbox/clock/advance", json={"seconds": 72 * 3600}, status=200)
    assert sb.ok("GET", f"/v1/offline/purses/{b.purse_id}")["status"] == "unloaded"
    assert sb.balance(world["payee"]) == "165.00"  # 9.00 + 1.00 back + 155.00 validated
    bad = sb.call(
        "POST",
        f"/v1/offline/purses/{b.purse_id}/unload",
        "BOC",
        json={"counter": 0, "signature": a.unload_statement()["signature"]},
    )
    assert bad.get_json()["code"] == errors.OFFLINE_PURSE_UNLOADED
    assert sb.reconcile().ok


# ---- any order, the same end state ---------------------------------------------

_VOUCHER = st.tuples(st.integers(1, 5), st.integers(1, 400))  # counter, amount in CNY


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    vouchers=st.lists(_VOUCHER, min_size=1, max_size=8),
    seed=st.randoms(use_true_random=False),
    batches=st.integers(1, 4),
)
def test_any_upload_order_gives_the_state_of_the_rule(world, vouchers, seed, batches):
    """The same vouchers (double spends and duplicates among them), uploaded in
    any order and batches by either side, end as the rule judges the set: each
    voucher's status, the purse's figures, and every account's balance."""
    sb, b = world["sb"], world["b"]
    payer = sb.wallet("ICBC", 2, fund="1000.00")
    device = _device(f"{payer} {sb.db.url}")
    _purse(sb, payer, "ICBC", "1000.00", device)
    made = [device.voucher(b.purse_id, f"{amount}.00", c, T0) for c, amount in vouchers]
    uploads = made + [seed.choice(made) for _ in range(seed.randint(0, 3))]  # duplicates
    seed.shuffle(uploads)
    before = _accounts(sb)
    for i in range(batches):
        part = uploads[i::batches]
        if part:
            _sync(sb, part, key=seed.choice(["ICBC", "BOC", "admin"]))
    listed = sb.ok(
        "GET", f"/v1/offline/purses/{device.purse_id}/vouchers", query_string={"limit": 500}
    )["items"]
    ids = {v["voucher_id"]: v for v in listed}
    expected = offline.judge(
        {(v["voucher_id"], v["counter"], _fen(v["amount"])) for v in listed}, 100000
    )
    assert {k: (v["status"], v["refusal"]) for k, v in ids.items()} == expected
    honoured = sum(_fen(v["amount"]) for v in listed if v["status"] == "honoured")
    refused = sum(_fen(v["amount"]) for v in listed if v["status"] == "refused")
    purse = sb.ok("GET", f"/v1/offline/purses/{device.purse_id}")
    assert purse["spent"] == format_amount(honoured)
    assert purse["frozen"] == (refused > 0)
    assert purse["counter"] == max(c for c, _ in vouchers)
    after = _accounts(sb)
    delta = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
    assert delta.get("OP:ICBC:OFFLINE", 0) == -honoured
    assert delta.get("OP:ICBC:VAULT", 0) == -refused
    assert delta.get("OP:BOC:OFFLINE_PENDING", 0) == honoured + refused
    assert sb.reconcile().ok


def test_a_wallet_with_a_purse_or_vouchers_pending_does_not_close_and_a_frozen_one_loads_none(
    world,
):
    sb, a, b = world["sb"], world["a"], world["b"]
    _sync(sb, [a.pay(b.purse_id, "10.00", T0)])
    sb.ok("POST", f"/v1/offline/purses/{b.purse_id}/unload", json=b.unload_statement(), status=200)
    sb.ok("POST", f"/v1/wallets/{world['payee']}/defund", json={"amount": "10.00"}, key="BOC")
    assert sb.balance(world["payee"]) == "0.00"
    r = sb.call("POST", f"/v1/wallets/{world['payee']}/close")
    assert r.get_json()["code"] == errors.WALLET_NOT_EMPTY  # the voucher is pending
    sb.ok("POST", "/v1/sandbox/clock/advance", json={"seconds": 24 * 3600}, status=200)
    sb.ok("POST", f"/v1/wallets/{world['payee']}/defund", json={"amount": "10.00"}, key="BOC")
    sb.ok("POST", f"/v1/wallets/{world['payee']}/close", status=200)
    late = _sync(sb, [a.voucher(b.purse_id, "1.00", 99, T0)])["results"][0]
    assert (late["result"], late["code"]) == ("rejected", errors.WALLET_CLOSED)
    # The payer's wallet: its purse keeps it open; frozen, it loads nothing, and
    # its purse still unloads into it.
    payer_left = sb.balance(world["payer"])
    sb.ok("POST", f"/v1/wallets/{world['payer']}/defund", json={"amount": payer_left}, key="ICBC")
    r = sb.call("POST", f"/v1/wallets/{world['payer']}/close")
    assert r.get_json()["code"] == errors.WALLET_NOT_EMPTY  # the purse is not unloaded
    sb.ok("POST", f"/v1/wallets/{world['payer']}/fund", json={"amount": payer_left}, key="ICBC")
    sb.ok("POST", f"/v1/wallets/{world['payer']}/freeze", status=200)
    r = sb.call("POST", f"/v1/offline/purses/{a.purse_id}/loads", json={"amount": "1.00"})
    assert r.get_json()["code"] == errors.WALLET_FROZEN
    r = sb.call("POST", f"/v1/wallets/{world['payer']}/close")
    assert r.get_json()["code"] == errors.INVALID_WALLET_TRANSITION  # unfrozen first
    done = sb.ok(
        "POST", f"/v1/offline/purses/{a.purse_id}/unload", json=a.unload_statement(), status=200
    )
    assert (done["status"], done["unloaded"]) == ("unloaded", "990.00")
    assert sb.balance(world["payer"]) == "4990.00"
    assert sb.reconcile().ok


def test_a_sync_whose_loss_bearer_cannot_pay_is_refused_whole(world):
    sb, a, b = world["sb"], world["a"], world["b"]
    vault = _accounts(sb)["OP:ICBC:VAULT"]
    sb.ok(
        "POST",
        "/v1/operators/ICBC/redemptions",
        key="central_bank",
        json={"amount": format_amount(vault - 100)},
    )
    journal = sb.journal_count()
    twin = [a.pay(b.purse_id, "5.00", T0), a.voucher(b.purse_id, "6.00", 1, T0)]
    r = sb.call("POST", "/v1/offline/sync", json={"vouchers": twin})
    assert (r.status_code, r.get_json()["code"]) == (422, errors.INSUFFICIENT_VAULT)
    assert sb.journal_count() == journal
    assert sb.ok("GET", f"/v1/offline/purses/{a.purse_id}/vouchers")["items"] == []
    assert not sb.ok("GET", f"/v1/offline/purses/{a.purse_id}")["frozen"]
    assert sb.reconcile().ok


def test_a_purses_events_are_its_operators_with_the_purse_as_get_renders_it(world):
    sb, a, b = world["sb"], world["a"], world["b"]

    def feed(key: str) -> list[dict]:
        items = sb.ok("GET", "/v1/events", key=key, query_string={"limit": 500})["items"]
        return [e for e in items if e["type"].startswith("offline_purse.")]

    start = len(feed("admin"))
    sb.ok(
        "POST",
        f"/v1/offline/purses/{a.purse_id}/loads",
        key="ICBC",
        json={"amount": "5.00"},
        status=200,
    )
    _sync(
        sb,
        [
            a.pay(b.purse_id, "600.00", T0),
            a.voucher(b.purse_id, "600.00", 1, "2026-03-02T02:31:00Z"),
        ],
    )
    sb.ok("POST", f"/v1/offline/purses/{a.purse_id}/unload", key="ICBC", json={}, status=200)
    events = feed("admin")[start:]
    assert [e["type"] for e in events] == [
        "offline_purse.loaded",
        "offline_purse.frozen",
        "offline_purse.unload_requested",
    ]
    assert events[-1]["data"] == sb.ok("GET", f"/v1/offline/purses/{a.purse_id}")
    assert [e["data"]["loaded"] for e in events] == ["1005.00"] * 3
    mine = [e["id"] for e in feed("ICBC")]
    assert all(e["id"] in mine for e in events)
    assert not any(e["data"]["id"] == a.purse_id for e in feed("BOC"))
    sb.ok("POST", "/v1/sandbox/clock/advance", json={"seconds": 72 * 3600}, status=200)
    (unloaded,) = [e for e in feed("ICBC") if e["type"] == "offline_purse.unloaded"]
    assert unloaded["data"] == sb.ok("GET", f"/v1/offline/purses/{a.purse_id}", key="ICBC")
    assert unloaded["data"]["unloaded"] == "405.00"


def test_racing_syncs_of_the_same_vouchers_keep_each_once_and_end_as_the_rule_says(world):
    """Four syncs at once (threads), each uploading the same vouchers, a double
    spend among them, in its own order and batches: each voucher is kept once,
    the end state is the rule's, and the ledger reconciles."""
    import random
    import threading

    sb, a, b = world["sb"], world["a"], world["b"]
    made = [a.pay(b.purse_id, f"{100 + 50 * i}.00", T0) for i in range(6)]
    made.append(a.voucher(b.purse_id, "1.00", 3, "2026-03-02T02:31:00Z"))
    before = _accounts(sb)
    synced: list[int] = []
    failures: list[str] = []
    lock = threading.Lock()

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        mine = list(made)
        rng.shuffle(mine)
        for part in (mine[:3], mine[3:]):
            r = sb.call(
                "POST", "/v1/offline/sync", rng.choice(["ICBC", "BOC"]), json={"vouchers": part}
            )
            with lock:
                if r.status_code != 200:
                    failures.append(r.get_data(as_text=True))
                else:
                    synced.append(r.get_json()["synced"])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert sum(synced) == len(made)
    listed = sb.ok("GET", f"/v1/offline/purses/{a.purse_id}/vouchers")["items"]
    assert len(listed) == len(made)
    expected = offline.judge(
        {(v["voucher_id"], v["counter"], _fen(v["amount"])) for v in listed}, 100000
    )
    assert {v["voucher_id"]: (v["status"], v["refusal"]) for v in listed} == expected
    honoured = sum(_fen(v["amount"]) for v in listed if v["status"] == "honoured")
    refused = sum(_fen(v["amount"]) for v in listed if v["status"] == "refused")
    after = _accounts(sb)
    assert after["OP:ICBC:OFFLINE"] - before["OP:ICBC:OFFLINE"] == -honoured
    assert after["OP:ICBC:VAULT"] - before["OP:ICBC:VAULT"] == -refused
    assert (
        after["OP:BOC:OFFLINE_PENDING"] - before["OP:BOC:OFFLINE_PENDING"] == 135100
    )  # every voucher, 1,351.00
    assert sb.reconcile().ok


def test_an_export_of_offline_payments_verifies(world, tmp_path):
    """The journal's new kinds and accounts export and verify like any other."""
    from wallets.audit import digest as dg
    from wallets.audit import export as ex
    from wallets.audit.verify import verify_export

    sb, a, b = world["sb"], world["a"], world["b"]
    _sync(sb, [a.pay(b.purse_id, "600.00", T0), a.pay(b.purse_id, "600.00", T0)])
    sb.ok("POST", "/v1/sandbox/clock/advance", json={"seconds": 24 * 3600}, status=200)
    sb.ok("POST", f"/v1/offline/purses/{b.purse_id}/unload", json=b.unload_statement(), status=200)
    key = dg.load_or_create_key(tmp_path / "cb.pem")
    ex.export(sb.db, tmp_path / "export", ex.parse_filters(), key)
    report = verify_export(tmp_path / "export", key.public_key())
    assert report.ok, report
    with (tmp_path / "export/journal.csv").open(newline="") as f:
        kinds = {row["kind"] for row in csv.DictReader(f)}
    assert {"offline_load", "offline_payment", "offline_loss", "offline_validation"} <= kinds
