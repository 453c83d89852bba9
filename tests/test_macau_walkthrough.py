"""docs/macau.md's curl walk-through of a gaming day works as written, against a live server."""

from __future__ import annotations

import shutil

import pytest


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_macau_walkthrough(live_demo, run_walkthrough):
    base, keys = live_demo
    bodies = run_walkthrough(
        "docs/macau.md",
        {
            "BASE": base,
            "ADMIN": keys[("admin", None)],
            "CASINO": keys[("merchant", "COTAI")],
            "DICJ": keys[("supervisor", "COTAI")],
            "BOCMO": keys[("operator", "BOCMO")],
            "ICBC": keys[("operator", "ICBC")],
        },
    )
    clock, rules, code, *ho, cn_buy, cn_play, cn_out, anon, ho_buy, ho_out = bodies[:12]
    alerts, acked, escalated, _advanced, report, players = bodies[12:]
    assert clock["local_now"] == "2026-03-02T10:00:00+08:00"
    assert rules["name"] == "macau" and rules["derived"]["ltr_threshold_cny"] == "454545.46"
    assert (code["wallet"], code["max_amount"]) == (9, "20000.00")
    assert code["expires_at"] == "2026-03-02T02:01:00+00:00", code
    assert [op["kind"] for op in ho] == ["buy_in", "play", "play"]
    assert [a["type"] for a in cn_buy["alerts"]] == ["mainland_wallet"]
    assert cn_buy["transfers"][0]["from_operator"] == "ICBC"
    assert (cn_play["kind"], cn_out["kind"]) == ("play", "cash_out")
    assert anon["code"] == "identified_wallet_required"
    assert [a["type"] for a in ho_buy["alerts"]] == ["structuring"]
    assert [a["type"] for a in ho_out["alerts"]] == ["ltr", "minimal_play"]
    assert [a["type"] for a in alerts["items"]] == [
        "mainland_wallet",
        "structuring",
        "ltr",
        "minimal_play",
    ]
    assert acked["status"] == "acknowledged"
    assert (escalated["status"], escalated["str_reference"]) == ("escalated", "STR-000002")
    assert (report["ggr"], report["ok"]) == ("23000.00", True)
    assert report["special_gaming_tax"]["amount"] == "8050.00"
    assert report["contributions"]["amount"] == "1150.00"
    # Two payments, two beneficiaries (both the treasury: the demo names no other).
    assert [(p["name"], p["amount"]) for p in report["contributions"]["payments"]] == [
        ("macao_foundation", "460.00"),
        ("urban_development_tourism_social_security", "690.00"),
    ]
    assert report["sweep"]["amount"] == "13800.00"
    assert {p["player"]: p["net_result"] for p in players["items"]} == {
        1: "-20000.00",
        9: "-3000.00",
    }
