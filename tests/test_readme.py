"""The README's curl walk-through works as written, against a live server."""

from __future__ import annotations

import shutil

import pytest


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_readme_walkthrough(live_demo, run_walkthrough):
    base, keys = live_demo
    bodies = run_walkthrough(
        "README.md",
        {
            "BASE": base,
            "CB": keys[("central_bank", None)],
            "ICBC": keys[("operator", "ICBC")],
            "AUDITOR": keys[("auditor", None)],
        },
    )
    issued, funded, paid, replayed, balance, icbc, report = bodies
    assert issued["kind"] == "issuance" and issued["amount"] == "1000000.00"
    assert funded["to_wallet"] == 2 and funded["amount"] == "2500.50"
    assert paid["to_operator"] == "BOCMO" and len(paid["entries"]) == 3
    assert replayed == paid
    assert balance["balance"] == "81265.94"  # 80,000.00 seeded + 2,500.50 - 1,234.56
    assert icbc["reconciled"] is True
    assert report["ok"] is True
