"""The Macau casino world the casino tests start from, built through the API."""

from __future__ import annotations

import copy

DAY = "2026-03-02"  # a Monday
START = "2026-03-02T10:00:00+08:00"


def advance(sb, seconds: int) -> None:
    sb.ok("POST", "/v1/sandbox/clock/advance", json={"seconds": seconds}, status=200)


def macau_world(
    sb, profile: dict | None = None, float_: str = "1000000.00", **casino_attrs
) -> dict:
    """The clock on a Monday morning, the macau profile (or a document), two
    operators, a treasury wallet, the casino COTAI and its merchant and supervisor keys."""
    sb.ok("PUT", "/v1/sandbox/clock", json={"now": START})
    body = {"name": "macau"} if profile is None else {"document": profile}
    sb.ok("PUT", "/v1/sandbox/profile", json=body)
    sb.operator("BOCMO", reserve="10000000.00", issue="6000000.00")
    sb.operator("ICBC", reserve="5000000.00", issue="3000000.00")
    treasury = sb.wallet("BOCMO", 1, kind="merchant", region="MO", label="Macau SAR treasury")
    foundation = None
    if casino_attrs.pop("foundation", False):  # the Macao Foundation's wallet, named
        foundation = sb.wallet("BOCMO", 1, kind="merchant", region="MO", label="Macao Foundation")
        casino_attrs["beneficiaries"] = {"macao_foundation": foundation}
    casino = sb.ok(
        "POST",
        "/v1/casinos",
        json={
            "ref": "COTAI",
            "name": "Cotai Grand",
            "operator": "BOCMO",
            "treasury_wallet": treasury,
            "float": float_,
            **casino_attrs,
        },
    )
    sb.keys["merchant"] = sb.key("merchant", casino_ref="COTAI")
    sb.keys["supervisor"] = sb.key("supervisor", casino_ref="COTAI")
    return {"treasury": treasury, "casino": casino, "foundation": foundation}


def high_roller_profile(sb) -> dict:
    """The macau profile with class 2's single-payment and daily caps lifted.

    Under DOMAIN.md's class 2 limits (CNY 50,000 a payment) no class 2 wallet
    can buy in MOP 500,000 at once; this document lets the day show an LTR for
    an identified class 2 wallet. Everything else is the shipped profile."""
    sb.ok("PUT", "/v1/sandbox/profile", json={"name": "macau"})
    doc = copy.deepcopy(sb.ok("GET", "/v1/rules")["document"])
    doc["name"] = "macau-high-roller"
    doc["wallet_limits"]["class_2"].update(single_payment=None, daily_out=None)
    return doc


def payment_code(sb, player: int, max_amount: str | None = None, key: str = "admin") -> str | None:
    """A payment code of the player's wallet (the holder's consent to a buy-in),
    or None when the wallet cannot have one (absent, closed)."""
    body = {} if max_amount is None else {"max_amount": max_amount}
    r = sb.call("POST", f"/v1/wallets/{player}/payment-codes", key, json=body)
    return r.get_json()["code"] if r.status_code == 201 else None


def cage(sb, what: str, player: int, status: int = 201, **amounts) -> dict:
    """A cage operation of COTAI's merchant key; a buy-in brings a fresh payment
    code of the player's unless the test gives one (``payment_code=None``: none)."""
    if what == "buy-ins" and "payment_code" not in amounts:
        amounts["payment_code"] = payment_code(sb, player)
    amounts = {k: v for k, v in amounts.items() if v is not None}
    r = sb.call("POST", f"/v1/casinos/COTAI/{what}", "merchant", json={"player": player, **amounts})
    assert r.status_code == status, (what, player, amounts, r.get_json())
    return r.get_json()


def alert_types(op: dict) -> list[str]:
    return sorted(a["type"] for a in op["alerts"])
