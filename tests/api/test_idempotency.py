"""Idempotency-Key: same request replays, different request refused, in flight 409."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from wallets import idempotency
from wallets.access import keys
from wallets.core.schema import idempotency_keys


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


# ---- a request that outlives the stale-claim window -----------------------------


def _stale_after_one_second(demo) -> None:
    state = demo.app.extensions["ecny"]
    state["settings"] = replace(state["settings"], idempotency_stale_seconds=1)


def _pay_in_thread(demo, idem: str, answers: dict, name: str) -> threading.Thread:
    def run() -> None:
        answers[name] = _pay(demo, idem)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _paid_exactly_once(demo, answers: dict, idem: str, entries_before: int) -> None:
    a, b = demo.demo_wallets["a"], demo.demo_wallets["b"]
    assert demo.balance(a) == "990.00" and demo.balance(b) == "510.00"
    # One transfer: one journal row (a payment inside one operator posts one entry).
    assert demo.journal_count() == entries_before + 1
    statuses = sorted(r.status_code for r in answers.values())
    paid = [r for r in answers.values() if r.status_code == 201]
    assert statuses in ([201, 201], [201, 409]), {k: r.get_json() for k, r in answers.items()}
    assert len({r.get_json()["id"] for r in paid}) == 1
    for r in answers.values():
        if r.status_code == 409:
            assert r.get_json()["code"] == "idempotency_request_in_flight"
    again = _pay(demo, idem)
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json() == paid[0].get_json()


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
def test_a_retry_past_the_stale_window_never_pays_twice_on_postgres(demo):
    """The first request waits on a row lock (taken from another connection on
    the payer's account) for longer than the stale-claim window; a retry with
    the same key and body then arrives. Exactly one payment, and both answers
    tell of it (the same 201, or 409 in flight for the request that lost)."""
    _stale_after_one_second(demo)
    a = demo.demo_wallets["a"]
    entries_before = demo.journal_count()
    answers: dict = {}
    with demo.db.engine.connect() as locker:
        locker.execute(sa.text("SELECT id FROM accounts WHERE wallet_id = :w FOR UPDATE"), {"w": a})
        first = _pay_in_thread(demo, "slow-1", answers, "first")
        time.sleep(1.6)  # the first's claim is now stale
        retry = _pay_in_thread(demo, "slow-1", answers, "retry")
        time.sleep(1.5)
        locker.rollback()
    first.join(30)
    retry.join(30)
    _paid_exactly_once(demo, answers, "slow-1", entries_before)


def test_a_retry_past_the_stale_window_never_pays_twice(demo, monkeypatch):
    """The same with the first request's work itself slow (it sleeps inside its
    transaction), on either database: on SQLite the retry waits for the
    writer's lock and replays; on PostgreSQL it may take the claim over, and
    then the first cannot commit."""
    from wallets.ledger import posting as ledger

    _stale_after_one_second(demo)
    entries_before = demo.journal_count()
    slow_once = threading.Event()
    lock_accounts = ledger.lock_accounts

    def slow_lock_accounts(tx, ids):
        if not slow_once.is_set():
            slow_once.set()
            time.sleep(2.5)
        return lock_accounts(tx, ids)

    monkeypatch.setattr(ledger, "lock_accounts", slow_lock_accounts)
    answers: dict = {}
    first = _pay_in_thread(demo, "slow-2", answers, "first")
    assert slow_once.wait(10)
    time.sleep(1.2)  # the first's claim is now stale
    retry = _pay_in_thread(demo, "slow-2", answers, "retry")
    first.join(30)
    retry.join(30)
    _paid_exactly_once(demo, answers, "slow-2", entries_before)


def _stale_claim(demo, idem: str) -> tuple[idempotency.Claim, tuple]:
    """A claim of ``idem`` taken long enough ago to be stale, and the claim arguments."""
    a, b = demo.demo_wallets["a"], demo.demo_wallets["b"]
    body = {"from_wallet": a, "to_wallet": b, "amount": "10.00"}
    key_id = demo.db.read(keys.authenticate, demo.keys["ICBC"]).key_id
    args = (key_id, idem, idempotency.fingerprint("POST", "/v1/transfers", body))
    fresh = idempotency.claim(demo.db, *args)
    long_ago = datetime.now(UTC) - idempotency.STALE_AFTER - timedelta(seconds=1)
    with demo.db.engine.begin() as conn:
        conn.execute(
            idempotency_keys.update()
            .where(idempotency_keys.c.id == fresh.id)
            .values(claimed_at=long_ago)
        )
    return idempotency.Claim(fresh.id, long_ago), args


def _in_thread(fn) -> tuple[threading.Thread, list]:
    out: list = []

    def run() -> None:
        try:
            out.append(fn())
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            out.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def test_a_takeover_waiting_on_the_owners_completion_replays_it(demo):
    """The owner has completed its claim but not yet committed; a takeover of
    the (stale) claim waits for it, then sees the completion: a replay."""
    from wallets.core.db import Tx

    owned, args = _stale_claim(demo, "race-1")
    with demo.db.engine.connect() as conn, conn.begin():
        idempotency.complete(Tx(conn, demo.db), owned, 201, '{"id": 1}')
        thread, out = _in_thread(lambda: idempotency.claim(demo.db, *args))
        time.sleep(0.5)
    thread.join(30)
    assert out == [idempotency.Replay(201, '{"id": 1}')]


def test_an_owner_completing_after_a_takeover_cannot_commit(demo):
    """A takeover of the stale claim is under way (not yet committed); the
    owner's completion waits for it, then finds the claim no longer its own."""
    from wallets.core.db import Tx

    owned, args = _stale_claim(demo, "race-2")
    with demo.db.engine.connect() as conn:
        conn = conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            taken = idempotency.claim_in(Tx(conn, demo.db), *args)
            assert isinstance(taken, idempotency.Claim) and taken.claimed_at > owned.claimed_at
            thread, out = _in_thread(
                lambda: demo.db.write(idempotency.complete, owned, 201, '{"id": 1}')
            )
            time.sleep(0.5)
    thread.join(30)
    assert len(out) == 1 and isinstance(out[0], idempotency.ClaimLost)
    demo.db.write(idempotency.complete, taken, 201, '{"id": 2}')
    assert idempotency.claim(demo.db, *args) == idempotency.Replay(201, '{"id": 2}')
