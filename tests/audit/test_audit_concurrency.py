"""The chain under concurrent writers on PostgreSQL: exports taken while 8
threads post payments, and one taken after, all verify from genesis to their
signed head."""

from __future__ import annotations

import random
import threading

import pytest

from wallets.audit import export as ex
from wallets.audit.verify import verify_export
from wallets.core import errors
from wallets.core.principal import SYSTEM
from wallets.retail import payments

pytestmark = pytest.mark.postgres


@pytest.fixture
def backend():
    return "postgres"


def test_exports_verify_under_concurrent_writers(demo, tmp_path, signing_key):
    w = demo.demo_wallets
    wallets = [w["a"], w["b"], w["c"]]
    posted: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(9)

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        start.wait()
        for _ in range(30):
            src, dst = rng.sample(wallets, 2)
            req = payments.PaymentRequest(src, dst, rng.randint(1, 5000), f"thread {seed}")
            try:
                pt = demo.db.write(payments.pay, req, SYSTEM)
            except errors.DomainError as exc:
                assert exc.code == "insufficient_funds"
            else:
                with lock:
                    posted.append(pt.id)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    start.wait()
    during = []
    for i in range(3):  # snapshots taken while the writers run
        result = ex.export(demo.db, tmp_path / f"during-{i}", ex.parse_filters(), signing_key)
        during.append(result.manifest["digest"]["sequence"])
    for t in threads:
        t.join()
    assert len(posted) > 100

    after = ex.export(demo.db, tmp_path / "after", ex.parse_filters(), signing_key)
    assert after.manifest["digest"]["sequence"] == demo.journal_count() >= max(during)
    for name in [f"during-{i}" for i in range(3)] + ["after"]:
        report = verify_export(tmp_path / name, signing_key.public_key())
        assert report.ok, (name, report.lines())
    # The transfers posted by the threads are all in the final export, in seq order.
    import csv

    with open(tmp_path / "after" / "journal.csv", newline="") as f:
        exported = {int(r["transfer_id"]) for r in csv.DictReader(f)}
    assert set(posted) <= exported
