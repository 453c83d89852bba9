"""Concurrency on PostgreSQL: threads making crossing payments between the same wallets."""

from __future__ import annotations

import random
import threading

import pytest

from tests.racing import race
from wallets.core import errors
from wallets.core.principal import SYSTEM
from wallets.retail import payments
from wallets.retail import wallet as wl

pytestmark = pytest.mark.postgres


@pytest.fixture
def backend():
    return "postgres"


def _balance(demo, wallet_id: int) -> int:
    return demo.db.read(wl.find, wallet_id).balance


def test_crossing_payments_lose_nothing(demo):
    """8 threads pay back and forth between the same three wallets at two
    operators (the cross-operator ones lock both operators' positions).
    Afterwards each balance equals its start plus the successful payments."""
    w = demo.demo_wallets
    wallets = [w["a"], w["b"], w["c"]]
    start = {x: _balance(demo, x) for x in wallets}
    ok: list[tuple[int, int, int]] = []
    refused: list[str] = []
    lock = threading.Lock()

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(40):
            src, dst = rng.sample(wallets, 2)
            amount = rng.randint(1, 9000)
            req = payments.PaymentRequest(src, dst, amount)
            try:
                demo.db.write(payments.pay, req, SYSTEM)
            except errors.DomainError as exc:
                with lock:
                    refused.append(exc.code)
            else:
                with lock:
                    ok.append((src, dst, amount))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    expected = dict(start)
    for src, dst, amount in ok:
        expected[src] -= amount
        expected[dst] += amount
    for x in wallets:
        assert _balance(demo, x) == expected[x] >= 0
    assert len(ok) + len(refused) == 8 * 40
    assert set(refused) <= {"insufficient_funds"}
    assert len(ok) > 100
    report = demo.reconcile()
    assert report.ok, [c.problems for c in report.checks if not c.ok]


def _race(n: int, fn) -> list[str]:
    """Run fn in n threads at once; the outcome of each: 'ok' or its error code."""
    return race([fn] * n)


def test_a_hold_resolves_exactly_once_under_racing_captures_and_voids(demo):
    from wallets.retail import holds

    a, c = demo.demo_wallets["a"], demo.demo_wallets["c"]
    h = demo.db.write(
        lambda tx: holds.create(tx, SYSTEM, from_wallet_id=a, to_wallet_id=c, amount=30000)
    )
    calls = [lambda: demo.db.write(holds.capture, h.id, SYSTEM, None)] * 4 + [
        lambda: demo.db.write(holds.void, h.id, SYSTEM)
    ] * 4
    it = iter(calls)
    lock = threading.Lock()

    def next_call():
        with lock:
            fn = next(it)
        fn()

    outcomes = _race(8, next_call)
    assert outcomes.count("ok") == 1 and outcomes.count("hold_already_resolved") == 7, outcomes
    final = demo.db.read(holds.get, h.id, SYSTEM)
    paid = _balance(demo, c) - 20000
    assert (final.status, paid) in (("captured", 30000), ("voided", 0))
    assert _balance(demo, a) == 100000 - paid


def test_racing_refunds_never_exceed_the_payment(demo):
    a, c = demo.demo_wallets["a"], demo.demo_wallets["c"]
    p = demo.db.write(payments.pay, payments.PaymentRequest(a, c, 10000), SYSTEM)
    outcomes = _race(8, lambda: demo.db.write(payments.refund, p.id, 2000, SYSTEM))
    assert outcomes.count("ok") == 5 and outcomes.count("refund_exceeds_payment") == 3, outcomes
    assert _balance(demo, a) == 100000 and _balance(demo, c) == 20000


def test_racing_payments_never_pass_the_daily_cap(demo):
    """The usage a limit is checked against is read once the payer's account is
    locked: eight payments of 30.00 racing against a daily cap of 100.00 pass three times."""
    from wallets.retail import limits

    b, c = demo.demo_wallets["b"], demo.demo_wallets["c"]  # b: class 2 at ICBC
    icbc = demo.db.read(wl.find, b).operator_id
    demo.db.write(limits.set_operator_limits, icbc, 2, limits.Limits(daily_out=100_00))
    req = payments.PaymentRequest(b, c, 30_00)
    outcomes = _race(8, lambda: demo.db.write(payments.pay, req, SYSTEM))
    assert sorted(outcomes) == ["limit_exceeded"] * 5 + ["ok"] * 3, outcomes
    assert _balance(demo, b) == 500_00 - 90_00
