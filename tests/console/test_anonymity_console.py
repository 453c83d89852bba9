"""Managed anonymity in the console (docs/anonymity.md): no page of any role
shows a holder's phone number, name or holder id."""

from __future__ import annotations

import pytest

PHONE = "+85366777888"
NAME = "Chan Siu Ming"
HOLDER = "HOLDER-CONSOLE-9"


@pytest.fixture
def anonymous(world):
    sb = world
    anon = sb.wallet("BOCMO", 4, fund="500.00", region="MO", phone=PHONE)
    named = sb.wallet("BOCMO", 2, fund="500.00", region="MO", holder_id=HOLDER, holder_name=NAME)
    rid = sb.ok(
        "POST",
        f"/v1/wallets/{anon}/identity-reveals",
        key="central_bank",
        json={"legal_basis": "court_order", "case_reference": "C-1"},
    )["id"]
    return sb, anon, named, rid


def test_no_console_page_shows_a_holder(anonymous, browser):
    sb, anon, named, _ = anonymous
    player = sb.world["player"]
    pages = {
        "admin": [
            "/console/",
            "/console/wallets",
            f"/console/wallets/{anon}",
            f"/console/wallets/{named}",
            "/console/alerts",
            f"/console/casinos/COTAI/players/{player}",
            "/console/journal",
            "/console/audit",
        ],
        "auditor": ["/console/wallets", f"/console/wallets/{named}", "/console/audit"],
        "supervisor": ["/console/alerts", f"/console/casinos/COTAI/players/{player}"],
        "central_bank": ["/console/", "/console/operators"],
        "BOCMO": ["/console/wallets", f"/console/wallets/{anon}", f"/console/wallets/{named}"],
    }
    for role, paths in pages.items():
        b = browser(sb, role)
        for path in paths:
            text = b.text(path)
            assert PHONE not in text and NAME not in text and HOLDER not in text, (role, path)
            assert "h-player" not in text, (role, path)  # alerts show its pseudonym
