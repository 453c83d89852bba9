"""The cage and the close under racing requests, on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from macau_world import DAY, advance, macau_world

from wallets import casino, errors, gaming_days
from wallets.principal import MERCHANT, Principal

pytestmark = pytest.mark.postgres


@pytest.fixture
def backend():
    return "postgres"


def _race(fns) -> list[str]:
    """Run the functions in threads at once; the outcome of each: 'ok' or its error code."""
    barrier = threading.Barrier(len(fns))
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(fn) -> None:
        barrier.wait()
        try:
            fn()
            outcome = "ok"
        except errors.DomainError as exc:
            outcome = exc.code
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=worker, args=(fn,)) for fn in fns]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_racing_cage_operations_and_closes(sandbox):
    sb = sandbox
    macau_world(sb)
    cage = Principal(role=MERCHANT, casino_ref="COTAI")
    p = sb.wallet("BOCMO", 1, fund="10000.00", region="MO")

    def buy_in():
        sb.db.write(casino.buy_in, "COTAI", cage, wallet_id=p, amount=100_00, reference=None)

    def wager():
        sb.db.write(casino.play, "COTAI", cage, wallet_id=p, wager=200_00, payout=0, reference=None)

    # The player's first buy-ins race to open its chip account: one account, every chip counted.
    assert _race([buy_in] * 8) == ["ok"] * 8
    # 800.00 of chips: four wagers of 200.00 pass, the others find no chips.
    outcomes = _race([wager] * 8)
    assert sorted(outcomes) == ["insufficient_chips"] * 4 + ["ok"] * 4, outcomes
    assert sb.ok("GET", "/v1/casinos/COTAI")["chips_with_players"] == "0.00"

    advance(sb, 20 * 3600)
    day = date.fromisoformat(DAY)
    outcomes = _race([lambda: sb.db.write(gaming_days.close, "COTAI", cage, day)] * 4)
    assert sorted(outcomes) == ["gaming_day_already_closed"] * 3 + ["ok"], outcomes
    report = sb.ok("GET", f"/v1/casinos/COTAI/gaming-days/{DAY}", key="merchant")
    assert (report["ggr"], report["ok"]) == ("800.00", True)
    assert report["special_gaming_tax"]["amount"] == "280.00"
