"""Idempotency-Key: same request replays, different request refused, in flight 409."""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from wallets.access import keys
from wallets.core.schema import idempotency_keys
from wallets.services import idempotency


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
    assert r.get_json()["detail"] == "this Idempotency-Key was first used with a different request"
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


def _left_in_flight(demo, idem: str, age: timedelta) -> None:
    """A claim committed in flight ``age`` ago, as an older version of the
    sandbox left one when its process died (it committed claims before the work)."""
    a, b = demo.demo_wallets["a"], demo.demo_wallets["b"]
    body = {"from_wallet": a, "to_wallet": b, "amount": "10.00"}
    key_id = demo.db.read(keys.authenticate, demo.keys["ICBC"]).key_id
    with demo.db.engine.begin() as conn:
        conn.execute(
            idempotency_keys.insert().values(
                api_key_id=key_id,
                key=idem,
                fingerprint=idempotency.fingerprint("POST", "/v1/transfers", body),
                state="in_flight",
                claimed_at=datetime.now(UTC) - age,
            )
        )


def test_a_claim_left_in_flight_is_409_until_stale_then_taken_over(demo):
    _left_in_flight(demo, "pay-4", timedelta(seconds=0))
    r = _pay(demo, "pay-4")
    assert r.status_code == 409 and r.get_json()["code"] == "idempotency_request_in_flight"
    assert r.get_json()["detail"] == "retry once the first request has finished"
    assert demo.balance(demo.demo_wallets["a"]) == "1000.00"
    _left_in_flight(demo, "pay-5", idempotency.STALE_AFTER + timedelta(seconds=1))
    before = datetime.now(UTC)
    assert _pay(demo, "pay-5").status_code == 201
    with demo.db.engine.connect() as conn:
        (at,) = conn.execute(
            sa.select(idempotency_keys.c.claimed_at).where(idempotency_keys.c.key == "pay-5")
        ).one()
    # Taken over: the claim is the retry's now.
    assert (at if at.tzinfo else at.replace(tzinfo=UTC)) >= before - timedelta(seconds=1)
    assert _pay(demo, "pay-5").headers.get("Idempotent-Replayed") == "true"
    assert demo.balance(demo.demo_wallets["a"]) == "990.00"


def test_a_keyed_write_is_one_transaction(demo):
    """Claim, work, stored answer and audit record commit together: one BEGIN
    and one COMMIT on the database for a keyed payment, and nothing else."""
    begins: list[int] = []
    commits: list[int] = []

    def on_begin(conn) -> None:
        begins.append(1)

    def on_commit(conn) -> None:
        commits.append(1)

    sa.event.listen(demo.db.engine, "begin", on_begin)
    sa.event.listen(demo.db.engine, "commit", on_commit)
    try:
        r = _pay(demo, "one-tx")
    finally:
        sa.event.remove(demo.db.engine, "begin", on_begin)
        sa.event.remove(demo.db.engine, "commit", on_commit)
    assert r.status_code == 201
    # The API key's lookup is one statement outside any transaction (Database.peek).
    assert (len(begins), len(commits)) == (1, 1)
    with demo.db.engine.connect() as conn:
        row = conn.execute(
            sa.select(idempotency_keys).where(idempotency_keys.c.key == "one-tx")
        ).one()
        event = conn.execute(
            sa.text("SELECT status, outcome FROM audit_events WHERE idempotency_key = 'one-tx'")
        ).all()
    assert row.state == "completed" and row.response_status == 201
    assert row.response_body == r.get_data(as_text=True)
    assert [tuple(e) for e in event] == [(201, "succeeded")]


def test_a_refused_keyed_write_leaves_no_claim_and_is_recorded(demo):
    r = _pay(demo, "refused-1", amount="5000.00")
    assert r.get_json()["code"] == "insufficient_funds"
    with demo.db.engine.connect() as conn:
        claims = conn.execute(
            sa.select(idempotency_keys).where(idempotency_keys.c.key == "refused-1")
        ).all()
        event = conn.execute(
            sa.text(
                "SELECT status, outcome, error_code FROM audit_events"
                " WHERE idempotency_key = 'refused-1'"
            )
        ).all()
    assert claims == []
    assert [tuple(e) for e in event] == [(422, "refused", "insufficient_funds")]


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
        if path == "/v1/keys":  # a new key's secret is never stored, nor replayed
            assert first.get_json()["key"] and second.get_json()["key"] is None
            assert second.get_json() == {**first.get_json(), "key": None}
        else:
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
    # The retry waited for the first's transaction, then replayed its answer.
    statuses = sorted(r.status_code for r in answers.values())
    paid = list(answers.values())
    assert statuses == [201, 201], {k: r.get_json() for k, r in answers.items()}
    assert len({r.get_json()["id"] for r in paid}) == 1
    assert answers["first"].headers.get("Idempotent-Replayed") is None
    assert answers["retry"].headers.get("Idempotent-Replayed") == "true"
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
    transaction), on either database: the retry waits for the first's
    transaction (SQLite: the writer's lock; PostgreSQL: the key's unique
    index) and replays its answer."""
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


def test_a_replayed_key_creation_never_stores_nor_answers_the_secret(demo):
    keys_before = len(demo.get("/v1/keys?limit=100").get_json()["items"])
    first = demo.call("POST", "/v1/keys", "admin", json={"role": "auditor"}, idem="new-key")
    secret = first.get_json()["key"]
    assert first.status_code == 201 and secret.startswith("ecny_")
    with demo.db.engine.connect() as conn:
        stored = conn.execute(
            sa.select(idempotency_keys.c.response_body).where(idempotency_keys.c.key == "new-key")
        ).scalar_one()
    assert secret not in stored
    again = demo.call("POST", "/v1/keys", "admin", json={"role": "auditor"}, idem="new-key")
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json() == {**first.get_json(), "key": None}
    # The key works, and only one was made.
    assert demo.get("/v1/audit/events", key=secret).status_code == 200
    assert len(demo.get("/v1/keys?limit=100").get_json()["items"]) == keys_before + 1


def test_the_fingerprint_is_one_canonical_form_of_the_request():
    """Stored with each key, it must not change from one version to the next (a retry
    across an upgrade would be refused): sorted keys, no spaces, SHA-256."""
    body = {"to_wallet": 2, "amount": "10.00", "from_wallet": 1}
    canonical = '["POST","/v1/transfers",{"amount":"10.00","from_wallet":1,"to_wallet":2}]'
    expected = hashlib.sha256(canonical.encode()).hexdigest()
    assert idempotency.fingerprint("POST", "/v1/transfers", body) == expected
    reordered = {"from_wallet": 1, "to_wallet": 2, "amount": "10.00"}
    assert idempotency.fingerprint("POST", "/v1/transfers", reordered) == expected


def test_a_bad_key_is_refused_with_its_field(demo):
    for bad in ("has space", "x" * 256, "é"):
        r = _pay(demo, bad)
        body = r.get_json()
        assert r.status_code == 422 and body["code"] == "validation_failed", bad
        assert body["detail"] == "Idempotency-Key must be 1-255 printable ASCII characters"
        assert body["errors"] == {"Idempotency-Key": ["must be 1-255 printable ASCII characters"]}
    assert demo.balance(demo.demo_wallets["a"]) == "1000.00"


def test_a_replay_is_its_own_only_for_the_claims_own_instant(demo):
    api_key = demo.db.write(keys.create, "admin")
    first = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)

    def claim(tx, now):
        return idempotency.claim_in(tx, api_key.id, "k-own", "print", now=now)

    def claim_and_complete(tx):
        claimed = claim(tx, first)
        idempotency.complete(tx, claimed, 201, '{"id": 1}')
        return claimed

    assert isinstance(demo.db.write(claim_and_complete), idempotency.Claim)
    again = demo.db.write(claim, first)
    assert (again.status, again.body, again.own) == (201, '{"id": 1}', True)
    other = demo.db.write(claim, first + timedelta(seconds=1))
    assert (other.status, other.body, other.own) == (201, '{"id": 1}', False)


def test_a_claim_without_an_instant_is_claimed_now(demo):
    api_key = demo.db.write(keys.create, "admin")
    before = datetime.now(UTC)
    claimed = demo.db.write(lambda tx: idempotency.claim_in(tx, api_key.id, "k-now", "print"))
    with demo.db.engine.connect() as conn:
        (at,) = conn.execute(
            sa.select(idempotency_keys.c.claimed_at).where(idempotency_keys.c.id == claimed.id)
        ).one()
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    assert before - timedelta(seconds=1) <= at <= datetime.now(UTC) + timedelta(seconds=1)


def test_a_claim_exactly_as_old_as_the_stale_window_is_taken_over(demo):
    """The window is "younger than STALE_AFTER": at exactly that age the key is
    taken over, a microsecond before it is still in flight. A keyed write marks
    its transaction exactly-once (a COMMIT cut off is re-run, not reported as
    unknown: the re-run finds the stored answer)."""
    claimed = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    key_id = demo.db.read(keys.authenticate, demo.keys["ICBC"]).key_id
    print_ = idempotency.fingerprint("POST", "/v1/transfers", {"amount": "1.00"})
    with demo.db.engine.begin() as conn:
        conn.execute(
            idempotency_keys.insert().values(
                api_key_id=key_id,
                key="edge",
                fingerprint=print_,
                state="in_flight",
                claimed_at=claimed,
            )
        )

    def claim(tx, now):
        assert not tx.exactly_once
        try:
            return idempotency.claim_in(tx, key_id, "edge", print_, now=now)
        finally:
            assert tx.exactly_once

    with pytest.raises(Exception) as refused:
        demo.db.write(claim, claimed + idempotency.STALE_AFTER - timedelta(microseconds=1))
    assert getattr(refused.value, "code", None) == "idempotency_request_in_flight"
    taken = demo.db.write(claim, claimed + idempotency.STALE_AFTER)
    assert isinstance(taken, idempotency.Claim)
