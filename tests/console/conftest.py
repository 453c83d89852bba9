"""A sandbox with something on every console page: the Macau world, a
deferred-net settlement window with a cross-operator payment, an open
minimal-play alert, an exclusion, an issuance in the afternoon and a closed
gaming day."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
from macau_world import DAY, advance, cage, macau_world  # noqa: E402

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def world(sandbox):
    sb = sandbox
    w = macau_world(sb)
    sb.ok("PUT", "/v1/settlement/settings", json={"model": "deferred_net"}, status=200)
    payer = sb.wallet("ICBC", 1, fund="5000.00")
    payee = sb.wallet("BOCMO", 1, region="MO")
    sb.ok(
        "POST",
        "/v1/transfers",
        key="ICBC",
        json={"from_wallet": payer, "to_wallet": payee, "amount": "1234.56"},
    )
    player = sb.wallet("BOCMO", 1, fund="200000.00", region="MO", holder_id="h-player")
    # An hour apart, so that the player's chart spreads over the morning.
    cage(sb, "buy-ins", player, amount="100000.00")
    advance(sb, 3600)
    cage(sb, "plays", player, wager="1.00")
    advance(sb, 3600)
    (alert,) = cage(sb, "cash-outs", player, amount="99999.00")["alerts"]
    sb.ok(
        "POST",
        "/v1/exclusions",
        key="supervisor",
        json={"holder_id": "h-excluded", "kind": "self", "ends_on": "2026-12-31"},
    )
    # In the afternoon ICBC obtains more e-CNY: the central bank's charts move.
    advance(sb, 3 * 3600)
    sb.ok("POST", "/v1/operators/ICBC/issuances", json={"amount": "1000000.00"}, key="central_bank")
    advance(sb, 16 * 3600)  # Tuesday 07:00: the Monday gaming day is over
    sb.ok("POST", f"/v1/casinos/COTAI/gaming-days/{DAY}/close", key="merchant")
    sb.world = {**w, "player": player, "alert": alert["id"], "payer": payer, "payee": payee}
    return sb


class Browser:
    """A test client signed in to the console, posting forms with their CSRF token."""

    def __init__(self, sb, role: str | None = None) -> None:
        self.sb = sb
        self.client = sb.app.test_client()
        self.csrf = None
        if role is not None:
            r = self.sign_in(sb.keys[role])
            assert r.status_code == 302, r.get_data(as_text=True)

    def token(self) -> str:
        """The CSRF token of the session's forms (sign-in, or sign-out once signed in)."""
        page = self.client.get("/console/sign-in", follow_redirects=True).get_data(as_text=True)
        return CSRF_RE.search(page).group(1)

    def sign_in(self, key: str):
        self.csrf = self.token()
        r = self.client.post("/console/sign-in", data={"api_key": key, "csrf_token": self.csrf})
        if r.status_code == 302:
            self.csrf = self.token()  # a new one came with the new session
        return r

    def get(self, path: str):
        return self.client.get(path)

    def text(self, path: str, status: int = 200) -> str:
        r = self.client.get(path)
        assert r.status_code == status, (path, r.status_code, r.get_data(as_text=True)[:500])
        return r.get_data(as_text=True)

    def post(self, path: str, data: dict | None = None, csrf: bool = True):
        body = dict(data or {})
        if csrf:
            body["csrf_token"] = self.csrf
        return self.client.post(path, data=body)


@pytest.fixture
def browser():
    return Browser
