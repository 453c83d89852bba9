"""docs/offline.md's curl walk-through works as written, against a live server."""

from __future__ import annotations

import shutil

import pytest

from wallets.ledger.money import parse_amount


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_offline_walkthrough(live_demo, run_walkthrough):
    base, keys = live_demo
    bodies = run_walkthrough(
        "docs/offline.md",
        {
            "BASE": base,
            "ADMIN": keys[("admin", None)],
            "CB": keys[("central_bank", None)],
            "ICBC": keys[("operator", "ICBC")],
            "BOC": keys[("operator", "BOC")],
        },
    )
    (_clock, payer, payee, first, pending, second, purse, alerts, _moved, validated) = bodies[:10]
    unloaded, waiting, reconciliation = bodies[10:]
    assert (payer["id"], payer["balance"], payee["id"]) == (1, "500.00", 2)
    (item,) = first["results"]
    assert (item["result"], item["voucher"]["status"], item["voucher"]["credit"]) == (
        "synced",
        "honoured",
        "pending",
    )
    payee_balance = pending["balance"]
    honoured, twin = second["results"]
    assert honoured["voucher"]["status"] == "honoured"
    assert (twin["voucher"]["status"], twin["voucher"]["refusal"]) == (
        "refused",
        "offline_counter_reused",
    )
    assert twin["voucher"]["covered_by"] == "ICBC"
    assert (purse["frozen"], purse["spent"], purse["balance"]) == (True, "65.00", "435.00")
    (alert,) = alerts["items"]
    assert alert["type"] == "offline_double_spend" and alert["wallet"] == 2
    # 25.00 + 40.00 from the purse, 480.00 from ICBC's vault: all validated.
    assert parse_amount(validated["balance"]) - parse_amount(payee_balance) == 54500
    assert (unloaded["status"], unloaded["unloaded"]) == ("unloaded", "20.00")
    assert (waiting["status"], waiting["frozen"]) == ("unloading", True)
    assert reconciliation["ok"] is True
