"""docs/anonymity.md's curl walk-through of an identity reveal works as
written, against a live server of the demo."""

from __future__ import annotations

import shutil

import pytest


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_anonymity_walkthrough(live_demo, run_walkthrough):
    base, keys = live_demo
    bodies = run_walkthrough(
        "docs/anonymity.md",
        {
            "BASE": base,
            "ADMIN": keys[("admin", None)],
            "PBOC": keys[("central_bank", None)],
            "AUDITOR": keys[("auditor", None)],
            "BOCMO": keys[("operator", "BOCMO")],
            "CASINO": keys[("merchant", "COTAI")],
            "DICJ": keys[("supervisor", "COTAI")],
        },
    )
    clock, rules, own, audited, buy, requested, own_approval, early = bodies[:8]
    approved, read, replay, again, listed, log, aggregates = bodies[8:]
    assert clock["local_now"] == "2026-03-02T10:00:00+08:00"
    assert rules["document"]["anonymity"]["pseudonymous_classes"] == [4]
    assert "aml_cft_suspicious_transaction" in rules["document"]["anonymity"]["legal_bases"]
    assert (own["holder_name"], own["birth_date"]) == ("Leong Mei", "1995-02-18")
    assert own["holder_id"] is not None
    assert (audited["holder_id"], audited["holder_name"], audited["birth_date"]) == (
        None,
        None,
        None,
    )
    assert buy["kind"] == "buy_in" and buy["player"] == 12
    assert (requested["id"], requested["status"], requested["wallet"]) == (1, "requested", 12)
    assert requested["expires_at"] == "2026-03-05T02:00:00+00:00"  # 72 hours later
    assert (own_approval["status"], own_approval["code"]) == (422, "four_eyes_required")
    assert (early["status"], early["code"]) == (409, "invalid_identity_reveal_transition")
    assert (approved["status"], approved["decided_by_role"]) == ("approved", "central_bank")
    assert read["status"] == "read"
    assert read["identity"] == {
        "wallet_class": 4,
        "holder_id": read["identity"]["holder_id"],
        "holder_name": None,
        "phone": "+85366123456",
        "birth_date": None,
        "region": "MO",
    }
    assert replay == {**read, "identity": None}
    assert (again["status"], again["code"]) == (409, "invalid_identity_reveal_transition")
    assert [(r["id"], r["status"], r["identity"]) for r in listed["items"]] == [(1, "read", None)]
    steps = [(e["path"].rsplit("/", 1)[-1], e["role"], e["outcome"]) for e in log["items"]]
    assert ("approve", "supervisor", "refused") in steps
    assert ("approve", "central_bank", "succeeded") in steps
    assert ("read", "supervisor", "succeeded") in steps
    by = {(a["operator"], a["wallet_class"]): a for a in aggregates["items"]}
    assert by[("BOCMO", 4)]["wallets"] == 1 and by[("BOCMO", 4)]["balance"] == "1000.00"
    assert all("holder_id" not in a for a in aggregates["items"])
