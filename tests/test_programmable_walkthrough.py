"""docs/programmable.md's curl walk-through works as written, against a live server."""

from __future__ import annotations

import shutil

import pytest


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_programmable_walkthrough(live_demo, run_walkthrough):
    base, keys = live_demo
    bodies = run_walkthrough(
        "docs/programmable.md",
        {
            "BASE": base,
            "ADMIN": keys[("admin", None)],
            "ICBC": keys[("operator", "ICBC")],
            "BOC": keys[("operator", "BOC")],
        },
    )
    clock, tea_house, district, funded, campaign, granted, claimed, too_late = bodies[:8]
    paid, across, to_person, report, courier, delivery, rent, confirmed = bodies[8:16]
    _advanced, rent_later, ended, balance, reconciliation = bodies[16:]
    assert clock["local_now"] == "2026-03-02T09:00:00+08:00"
    assert tea_house["merchant_category"] == "catering"
    assert district["kind"] == "merchant" and funded["amount"] == "10000.00"
    assert (campaign["escrow"], campaign["escrow_account"]) == ("600.00", f"ENV:{campaign['id']}")
    assert [(g["wallet"], g["source"]) for g in granted["items"]] == [
        (2, "granted"),
        (3, "granted"),
    ]
    assert (claimed["wallet"], claimed["source"]) == (7, "claimed")
    assert too_late["code"] == "envelopes_exhausted"
    escrow = f"ENV:{campaign['id']}"
    assert sorted((e["debit_account"], e["amount"]) for e in paid["entries"]) == [
        (escrow, "200.00"),
        ("W:2:ECNY", "50.00"),
    ]
    # The escrow is ICBC's, as the tea house: no money of BOC's moves.
    assert [(e["debit_account"], e["credit_account"]) for e in across["entries"]] == [
        (escrow, "W:5:ECNY")
    ]
    assert (across["from_wallet"], across["from_operator"]) == (7, "BOC")
    assert [e["debit_account"] for e in to_person["entries"]] == ["W:3:ECNY"]
    assert (report["spent"], report["granted_unspent"], report["ungranted"]) == (
        "280.00",
        "320.00",
        "0.00",
    )
    assert report["merchants"] == [{"wallet": 5, "payments": 2, "amount": "280.00"}]
    assert courier["merchant_category"] == "transport"
    assert (delivery["condition"], delivery["confirmer_wallet"]) == ("confirmation", courier["id"])
    assert rent["condition"] == "time" and rent["status"] == "pending"
    assert (confirmed["status"], confirmed["captured"]) == ("captured", "120.00")
    assert (rent_later["status"], rent_later["captured"]) == ("captured", "1000.00")
    assert (ended["status"], ended["escrow"], ended["returned"]) == ("ended", "0.00", "320.00")
    assert balance["balance"] == "9720.00"
    assert reconciliation["ok"] is True
