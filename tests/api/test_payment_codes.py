"""Payment codes and who may be a player (issue 14, item 1).

A cage operation debited any wallet it named: a merchant key of one casino took
e-CNY from another casino's wallet. Now a buy-in needs the holder's consent, a
payment code the wallet's side issues (one-time, short-lived on the sandbox
clock, optionally capped), and a merchant, casino or treasury wallet is never a
player, whatever the profile. Every refusal moves nothing.
"""

from __future__ import annotations

import copy

import pytest
import sqlalchemy as sa
from macau_world import advance, cage, macau_world, payment_code

COTAI_BUY_IN = "/v1/casinos/COTAI/buy-ins"


def lisboa(sb, world) -> int:
    """A second casino with e-CNY in its wallet; its merchant wallet's id."""
    sb.ok(
        "POST",
        "/v1/casinos",
        json={
            "ref": "LISBOA",
            "name": "Lisboa",
            "operator": "ICBC",
            "treasury_wallet": world["treasury"],
            "float": "5000.00",
        },
    )
    sb.keys["lisboa"] = sb.key("merchant", casino_ref="LISBOA")
    return sb.ok("GET", "/v1/casinos/LISBOA")["merchant_wallet"]


def ledger_state(sb, *wallets: int) -> tuple:
    """Balances of the wallets, journal rows and cage records: what a refusal must not change."""
    with sb.db.engine.connect() as conn:
        operations = conn.exec_driver_sql("SELECT COUNT(*) FROM casino_transactions").scalar_one()
    return tuple(sb.balance(w) for w in wallets), sb.journal_count(), operations


def buy_in(sb, body: dict, key: str = "merchant"):
    return sb.call("POST", COTAI_BUY_IN, key, json=body)


def refused(r, status: int, code: str) -> None:
    got = r.get_json()
    assert (r.status_code, got["code"]) == (status, code), got
    assert r.mimetype == "application/problem+json"


def not_required(sb) -> None:
    """A profile of the sandbox's own in which the cage takes buy-ins without codes."""
    doc = copy.deepcopy(sb.ok("GET", "/v1/rules")["document"])
    doc["name"] = "macau-no-codes"
    doc["casino"]["payment_codes"]["required"] = False
    sb.ok("PUT", "/v1/sandbox/profile", json={"document": doc})


# ---- the attack -------------------------------------------------------------------


@pytest.mark.parametrize("codes", ["required", "not required"])
def test_a_merchant_key_cannot_take_another_casinos_money(sandbox, codes):
    """The reproduced attack: COTAI's merchant key named LISBOA's merchant wallet
    as the player of a buy-in (201, the money moved). Refused now with and
    without a code of that wallet, under any profile; nothing moves."""
    sb = sandbox
    world = macau_world(sb)
    victim = lisboa(sb, world)
    cotai = world["casino"]["merchant_wallet"]
    if codes == "not required":
        not_required(sb)
    before = ledger_state(sb, victim, cotai)
    r = buy_in(sb, {"player": victim, "amount": "1.00"})
    if codes == "required":
        # Without consent the cage learns nothing of the wallet it named.
        refused(r, 422, "payment_code_required")
    else:
        refused(r, 422, "not_a_player")
        assert r.get_json()["field"] == "player"
    # Even a genuine code of that wallet (its operator issued one) does not make it a player.
    code = payment_code(sb, victim, key="ICBC")
    refused(
        buy_in(sb, {"player": victim, "amount": "1.00", "payment_code": code}), 422, "not_a_player"
    )
    assert ledger_state(sb, victim, cotai) == before
    assert sb.balance(victim) == "5000.00"


def test_no_merchant_casino_or_treasury_wallet_plays(sandbox):
    sb = sandbox
    world = macau_world(sb)
    other_casino = lisboa(sb, world)
    own = world["casino"]["merchant_wallet"]
    shop = sb.wallet("ICBC", 1, fund="100.00", kind="merchant", region="MO")
    till = sb.wallet("BOCMO", 1, kind="personal", region="MO", parent_id=own)  # a cage's sub-wallet
    treasury_sub = sb.wallet("BOCMO", 1, region="MO", parent_id=world["treasury"])
    not_required(sb)
    player = sb.wallet("BOCMO", 1, fund="100.00", region="MO")
    cage(sb, "buy-ins", player, amount="10.00")
    wallets = (own, other_casino, world["treasury"], shop, till, treasury_sub)
    before = ledger_state(sb, player, *wallets)
    for wallet in wallets:
        for what, amounts in (
            ("buy-ins", {"amount": "1.00"}),
            ("plays", {"wager": "1.00"}),
            ("cash-outs", {"amount": "1.00"}),
        ):
            got = cage(sb, what, wallet, 422, **amounts)
            assert (got["code"], got["wallet_id"]) == ("not_a_player", wallet), (what, wallet)
    assert ledger_state(sb, player, *wallets) == before


# ---- issuing codes ----------------------------------------------------------------


def test_issuing_a_code_scopes_and_shape(sandbox):
    sb = sandbox
    macau_world(sb)
    p = sb.wallet("BOCMO", 1, fund="100.00", region="MO")
    got = sb.ok("POST", f"/v1/wallets/{p}/payment-codes", key="BOCMO", json={"max_amount": "50"})
    assert (got["wallet"], got["max_amount"]) == (p, "50.00")
    assert got["code"].startswith("pc_") and len(got["code"]) >= 32
    now = sb.ok("GET", "/v1/sandbox/clock")["now"]
    assert got["issued_at"] == now
    lifetime = sb.ok("GET", "/v1/rules")["document"]["casino"]["payment_codes"]["lifetime_seconds"]
    assert lifetime == 60
    from datetime import datetime, timedelta

    assert datetime.fromisoformat(got["expires_at"]) - datetime.fromisoformat(now) == timedelta(
        seconds=lifetime
    )
    assert sb.ok("POST", f"/v1/wallets/{p}/payment-codes", json={})["max_amount"] is None
    # Another operator's wallet does not exist for ICBC; other roles never issue codes.
    r = sb.post(f"/v1/wallets/{p}/payment-codes", {}, key="ICBC")
    refused(r, 404, "wallet_not_found")
    for role in ("merchant", "supervisor", "auditor", "central_bank"):
        refused(sb.post(f"/v1/wallets/{p}/payment-codes", {}, key=role), 403, "forbidden")
    for body in ({"max_amount": 5}, {"max_amount": "0.00"}, {"max_amount": "1.001"}, {"x": 1}):
        r = sb.post(f"/v1/wallets/{p}/payment-codes", body, key="BOCMO")
        assert r.status_code == 422 and r.get_json()["code"] == "validation_failed", body
    refused(sb.post("/v1/wallets/99999/payment-codes", {}), 404, "wallet_not_found")


def test_without_casino_rules_there_are_no_codes(sandbox):
    sb = sandbox
    sb.operator("ICBC")
    p = sb.wallet("ICBC", 1, fund="10.00")
    refused(sb.post(f"/v1/wallets/{p}/payment-codes", {}), 409, "casino_rules_unavailable")


def test_the_code_is_stored_hashed_and_never_logged(sandbox):
    sb = sandbox
    macau_world(sb)
    p = sb.wallet("BOCMO", 1, fund="100.00", region="MO")
    code = payment_code(sb, p, key="BOCMO")
    assert buy_in(sb, {"player": p, "amount": "1.00", "payment_code": code}).status_code == 201
    refused(
        buy_in(sb, {"player": p, "amount": "1.00", "payment_code": code}), 409, "payment_code_used"
    )
    with sb.db.engine.connect() as conn:
        for table in ("payment_codes", "audit_events"):
            rows = conn.execute(sa.text(f"SELECT * FROM {table}")).all()  # noqa: S608
            assert rows and code not in repr(rows), table
        events = conn.execute(
            sa.text("SELECT path, summary FROM audit_events WHERE path = :p"),
            {"p": COTAI_BUY_IN},
        ).all()
    assert len(events) == 2 and all("payment_code" not in (e[1] or "") for e in events), events


# ---- presenting codes -------------------------------------------------------------


def test_each_refusal_has_its_code_and_moves_nothing(sandbox):
    sb = sandbox
    world = macau_world(sb)
    p = sb.wallet("BOCMO", 1, fund="1000.00", region="MO")
    q = sb.wallet("ICBC", 1, fund="1000.00", region="MO")
    cotai = world["casino"]["merchant_wallet"]
    before = ledger_state(sb, p, q, cotai)
    capped = payment_code(sb, p, max_amount="100.00")
    cases = [
        ({}, 422, "payment_code_required"),
        ({"payment_code": "pc_" + "A" * 32}, 422, "payment_code_invalid"),
        ({"payment_code": "nul\u0000byte"}, 422, "validation_failed"),  # no control characters
        ({"payment_code": "\ud800"}, 400, "malformed_json"),
        ({"payment_code": payment_code(sb, q)}, 422, "payment_code_wallet_mismatch"),
        ({"payment_code": capped, "amount": "100.01"}, 422, "payment_code_amount_exceeded"),
        ({"payment_code": 12345}, 422, "validation_failed"),
        ({"payment_code": None}, 422, "validation_failed"),
        ({"payment_code": "x" * 65}, 422, "validation_failed"),
        ({"payment_code": ["pc_x"]}, 422, "validation_failed"),
    ]
    for extra, status, code in cases:
        r = buy_in(sb, {"player": p, "amount": "1.00", **extra})
        refused(r, status, code)
        if code.startswith("payment_code"):
            assert r.get_json()["field"] == "payment_code", extra
    assert (
        sb.call(
            "POST",
            COTAI_BUY_IN,
            "merchant",
            data=b'{"player": %d, "amount": "1.00", "payment_code": "\\u0000"}' % p,
            content_type="application/json",
        ).status_code
        == 422
    )
    assert ledger_state(sb, p, q, cotai) == before
    # The refusals consumed nothing: the capped code still buys in up to its cap.
    assert buy_in(sb, {"player": p, "amount": "100.00", "payment_code": capped}).status_code == 201
    assert sb.balance(p) == "900.00"


def test_a_code_is_used_once(sandbox):
    sb = sandbox
    macau_world(sb)
    p = sb.wallet("BOCMO", 1, fund="1000.00", region="MO")
    code = payment_code(sb, p)
    assert buy_in(sb, {"player": p, "amount": "10.00", "payment_code": code}).status_code == 201
    before = ledger_state(sb, p)
    refused(
        buy_in(sb, {"player": p, "amount": "10.00", "payment_code": code}), 409, "payment_code_used"
    )
    # Also with another merchant's cage, and under another Idempotency-Key.
    r = sb.call(
        "POST",
        COTAI_BUY_IN,
        "merchant",
        idem="again",
        json={"player": p, "amount": "10.00", "payment_code": code},
    )
    refused(r, 409, "payment_code_used")
    assert ledger_state(sb, p) == before == (("990.00",), before[1], 1)


def test_a_refused_buy_in_leaves_its_code_unused(sandbox):
    sb = sandbox
    macau_world(sb)
    p = sb.wallet("BOCMO", 3, fund="100.00", region="MO")
    code = payment_code(sb, p)
    # Class 3: at most 5,000.00 a payment; and the wallet holds 100.00.
    refused(
        buy_in(sb, {"player": p, "amount": "200.00", "payment_code": code}),
        422,
        "insufficient_funds",
    )
    assert buy_in(sb, {"player": p, "amount": "100.00", "payment_code": code}).status_code == 201


def test_a_code_expires_on_the_sandbox_clock(sandbox):
    sb = sandbox
    macau_world(sb)
    p = sb.wallet("BOCMO", 1, fund="1000.00", region="MO")
    soon, late = payment_code(sb, p), payment_code(sb, p)
    advance(sb, 59)
    assert buy_in(sb, {"player": p, "amount": "1.00", "payment_code": soon}).status_code == 201
    advance(sb, 1)  # 60 s: the lifetime is over
    before = ledger_state(sb, p)
    refused(
        buy_in(sb, {"player": p, "amount": "1.00", "payment_code": late}),
        422,
        "payment_code_expired",
    )
    # A used code says so even once expired.
    refused(
        buy_in(sb, {"player": p, "amount": "1.00", "payment_code": soon}), 409, "payment_code_used"
    )
    assert ledger_state(sb, p) == before


def test_the_profile_says_whether_the_cage_needs_a_code(sandbox):
    sb = sandbox
    macau_world(sb)
    p = sb.wallet("BOCMO", 1, fund="1000.00", region="MO")
    refused(buy_in(sb, {"player": p, "amount": "1.00"}), 422, "payment_code_required")
    not_required(sb)
    assert buy_in(sb, {"player": p, "amount": "1.00"}).status_code == 201
    # A code presented is checked all the same.
    refused(
        buy_in(sb, {"player": p, "amount": "1.00", "payment_code": "pc_nope"}),
        422,
        "payment_code_invalid",
    )
    code = payment_code(sb, p, max_amount="5.00")
    refused(
        buy_in(sb, {"player": p, "amount": "6.00", "payment_code": code}),
        422,
        "payment_code_amount_exceeded",
    )
    assert buy_in(sb, {"player": p, "amount": "5.00", "payment_code": code}).status_code == 201
    # Plays and cash-outs move chips the casino issued and pay e-CNY to the player: no code.
    cage(sb, "plays", p, wager="1.00")
    cage(sb, "cash-outs", p, amount="5.00")
    bad = copy.deepcopy(sb.ok("GET", "/v1/rules")["document"])
    bad["name"] = "macau-bad"
    for value in ("yes", 1, None):
        bad["casino"]["payment_codes"]["required"] = value
        r = sb.call("PUT", "/v1/sandbox/profile", "admin", json={"document": bad})
        assert (
            r.status_code == 422
            and "payment_codes.required" in r.get_json()["errors"]["document"][0]
        )
    bad["casino"]["payment_codes"] = {"required": True, "lifetime_seconds": 0}
    r = sb.call("PUT", "/v1/sandbox/profile", "admin", json={"document": bad})
    assert r.status_code == 422 and "lifetime_seconds" in r.get_json()["errors"]["document"][0]


def test_the_lifetime_is_the_profiles(sandbox):
    sb = sandbox
    macau_world(sb)
    doc = copy.deepcopy(sb.ok("GET", "/v1/rules")["document"])
    doc["name"] = "macau-slow-codes"
    doc["casino"]["payment_codes"]["lifetime_seconds"] = 600
    sb.ok("PUT", "/v1/sandbox/profile", json={"document": doc})
    p = sb.wallet("BOCMO", 1, fund="1000.00", region="MO")
    code = payment_code(sb, p)
    advance(sb, 599)
    assert buy_in(sb, {"player": p, "amount": "1.00", "payment_code": code}).status_code == 201
