"""Concurrency on PostgreSQL: threads making crossing payments between the same wallets."""

from __future__ import annotations

import random
import threading

import pytest

from wallets import errors, payments
from wallets import wallet as wl
from wallets.principal import SYSTEM

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
