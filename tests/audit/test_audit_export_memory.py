"""Exports stream: memory does not grow with the journal."""

from __future__ import annotations

import gc
import time
import tracemalloc
from datetime import date

from wallets.audit import export as ex
from wallets.audit.export import bundle, common, journal
from wallets.audit.verify import verify_export
from wallets.core import db as dbmod
from wallets.core.principal import SYSTEM
from wallets.ledger.accounts import ECNY
from wallets.ledger.posting import Leg, Posting, TransferDraft
from wallets.retail import payments
from wallets.retail import wallet as wl
from wallets.tier1 import issuance
from wallets.tier1 import operators as ops


def _ledger(url: str, payments_count: int) -> dbmod.Database:
    """Two funded wallets paying each other ``payments_count`` times, posted as one batch."""
    dbmod.upgrade(url)
    db = dbmod.Database(url)

    def setup(tx):
        ops.create(tx, "ICBC", "ICBC")
        issuance.deposit_reserve(tx, "ICBC", 10**12, SYSTEM)
        issuance.issue(tx, "ICBC", 10**11, SYSTEM)
        ids = []
        for _ in range(2):
            w = wl.open_wallet(
                tx,
                SYSTEM,
                operator_code="ICBC",
                wallet_class=1,
                region="CN",
                birth_date=date(1990, 1, 1),
                phone_secret="s",
            )
            payments.fund(tx, w.id, 10**9, SYSTEM)
            ids.append(w)
        return ids

    a, b = db.write(setup)

    def post(tx):
        posting = Posting(tx, [a.account_id, b.account_id])
        for i in range(payments_count):
            src, dst = (a, b) if i % 2 == 0 else (b, a)
            posting.add(
                TransferDraft(
                    kind="payment",
                    asset=ECNY,
                    amount=100 + i % 97,
                    legs=[Leg(src.account_id, dst.account_id, 100 + i % 97, ECNY)],
                    from_wallet_id=src.id,
                    to_wallet_id=dst.id,
                    from_operator_id=src.operator_id,
                    to_operator_id=dst.operator_id,
                    reference=f"synthetic {i}",
                )
            )
        posting.commit()

    db.write(post)
    return db


def _peak(db, out, key) -> tuple[int, float]:
    gc.collect()
    tracemalloc.start()
    started = time.perf_counter()
    ex.export(db, out, ex.parse_filters(), key)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, elapsed


def test_export_memory_is_flat_in_the_number_of_rows(tmp_path, signing_key, monkeypatch):
    small, large = 1_000, 10_000
    # Rows are fetched in batches of YIELD_PER: both sizes must fill the batch.
    for module in (common, journal, bundle):
        monkeypatch.setattr(module, "YIELD_PER", 250)
    db_small = _ledger(f"sqlite:///{tmp_path / 'small.sqlite3'}", small)
    db_large = _ledger(f"sqlite:///{tmp_path / 'large.sqlite3'}", large)
    try:
        for name, db in (("small", db_small), ("large", db_large)):
            # The first export on an engine warms its caches; measure the second.
            ex.export(db, tmp_path / f"warm-up-{name}", ex.parse_filters(), signing_key)
        peak_small, _ = _peak(db_small, tmp_path / "small", signing_key)
        peak_large, seconds = _peak(db_large, tmp_path / "large", signing_key)
    finally:
        db_small.dispose()
        db_large.dispose()
    rows = len((tmp_path / "large" / "journal.csv").read_text().splitlines()) - 1
    assert rows > large
    print(
        f"\nexport peak (tracemalloc): {peak_small / 1024:.0f} KiB for {small} payments, {peak_large / 1024:.0f} KiB for {large}; {rows / seconds:.0f} rows/s traced"
    )
    assert peak_large <= 1.5 * peak_small, (peak_small, peak_large)
    report = verify_export(tmp_path / "large", signing_key.public_key())
    assert report.ok, report.lines()
