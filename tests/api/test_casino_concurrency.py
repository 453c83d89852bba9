"""The cage and the close under racing requests, on PostgreSQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import partial

import pytest
from macau_world import DAY, advance, macau_world, payment_code

from tests.racing import race
from wallets.casino import cage as casino
from wallets.casino import gaming_days, promoters
from wallets.core.principal import ADMIN, MERCHANT, Principal
from wallets.ledger.money import parse_amount

pytestmark = pytest.mark.postgres


@pytest.fixture
def backend():
    return "postgres"


def test_racing_cage_operations_and_closes(sandbox):
    sb = sandbox
    macau_world(sb)
    cage = Principal(role=MERCHANT, casino_ref="COTAI")
    p = sb.wallet("BOCMO", 1, fund="10000.00", region="MO")

    def buy_in(code):
        sb.db.write(
            casino.buy_in,
            "COTAI",
            cage,
            wallet_id=p,
            amount=100_00,
            reference=None,
            payment_code=code,
        )

    def wager():
        sb.db.write(casino.play, "COTAI", cage, wallet_id=p, wager=200_00, payout=0, reference=None)

    # The player's first buy-ins race to open its chip account: one account, every chip counted.
    assert race([partial(buy_in, payment_code(sb, p)) for _ in range(8)]) == ["ok"] * 8
    # 800.00 of chips: four wagers of 200.00 pass, the others find no chips.
    outcomes = race([wager] * 8)
    assert sorted(outcomes) == ["insufficient_chips"] * 4 + ["ok"] * 4, outcomes
    assert sb.ok("GET", "/v1/casinos/COTAI")["chips_with_players"] == "0.00"

    advance(sb, 20 * 3600)
    day = date.fromisoformat(DAY)
    outcomes = race([lambda: sb.db.write(gaming_days.close, "COTAI", cage, day)] * 4)
    assert sorted(outcomes) == ["gaming_day_already_closed"] * 3 + ["ok"], outcomes
    report = sb.ok("GET", f"/v1/casinos/COTAI/gaming-days/{DAY}", key="merchant")
    assert (report["ggr"], report["ok"]) == ("800.00", True)
    assert report["special_gaming_tax"]["amount"] == "280.00"


def test_two_buy_ins_racing_on_one_payment_code(sandbox):
    """One code, two cages presenting it at once: exactly one buy-in commits,
    the other is refused and moves nothing; a fresh pair of codes both pass."""
    sb = sandbox
    macau_world(sb)
    cage = Principal(role=MERCHANT, casino_ref="COTAI")
    p = sb.wallet("BOCMO", 1, fund="1000.00", region="MO")
    merchant = sb.ok("GET", "/v1/casinos/COTAI")["merchant_wallet"]
    before = sb.balance(merchant)

    def buy_in(code):
        sb.db.write(
            casino.buy_in,
            "COTAI",
            cage,
            wallet_id=p,
            amount=100_00,
            reference=None,
            payment_code=code,
        )

    for _ in range(5):
        code = payment_code(sb, p)
        outcomes = race([partial(buy_in, code)] * 2)
        assert sorted(outcomes) == ["ok", "payment_code_used"], outcomes
    assert sb.balance(p) == "500.00"
    assert sb.ok("GET", "/v1/casinos/COTAI")["chips_with_players"] == "500.00"
    assert parse_amount(sb.balance(merchant)) - parse_amount(before) == 500_00
    assert len(sb.ok("GET", "/v1/casinos/COTAI/transactions", key="merchant")["items"]) == 5


def test_racing_promoter_registrations_and_attachments(sandbox):
    """One licence registered by racing requests, one player attached to two
    promoters at once: one wins, the others get their documented 4xx, not a 500."""
    sb = sandbox
    world = macau_world(sb)
    sb.ok(
        "POST",
        "/v1/casinos",
        json={
            "ref": "LISBOA",
            "name": "Lisboa",
            "operator": "BOCMO",
            "treasury_wallet": world["treasury"],
            "float": "0.00",
        },
    )
    junket = sb.wallet("BOCMO", 1, kind="merchant", region="MO", label="GP-7 Ltd")

    def register(ref, licence):
        sb.db.write(
            promoters.register,
            ref,
            Principal(role=ADMIN),
            licence=licence,
            name=licence,
            wallet_id=junket,
            commission_rate=Decimal("0.01"),
        )

    outcomes = race([partial(register, "COTAI", "GP-7")] * 2)
    assert sorted(outcomes) == ["ok", "validation_failed"], outcomes
    outcomes = race([partial(register, "COTAI", "GP-8"), partial(register, "LISBOA", "GP-8")])
    assert sorted(outcomes) == ["ok", "promoter_other_concessionaire"], outcomes
    player = sb.wallet("BOCMO", 1, region="MO")
    cage = Principal(role=MERCHANT, casino_ref="COTAI")
    if "GP-8" in [p["licence"] for p in sb.ok("GET", "/v1/casinos/COTAI/promoters")["items"]]:
        rivals = ["GP-7", "GP-8"]
    else:  # GP-8 went to LISBOA: a third at COTAI
        register("COTAI", "GP-9")
        rivals = ["GP-7", "GP-9"]
    outcomes = race(
        [partial(sb.db.write, promoters.attach, "COTAI", cage, lic, player) for lic in rivals]
    )
    assert sorted(outcomes) == ["ok", "player_has_promoter"], outcomes


def test_racing_revocations_of_one_key_revoke_it_once(sandbox):
    """Two revocations at once: one revokes (one api_key.revoked event), the
    other answers api_key_already_revoked (the row is locked, not re-read late)."""
    from wallets.access import keys

    sb = sandbox
    victim = sb.db.write(keys.create, "auditor", label="to revoke")
    events_before = len(sb.ok("GET", "/v1/events?type=api_key.revoked&limit=500")["items"])
    for _ in range(3):  # the race may not collide every time: three tries, each a fresh key
        outcomes = race([partial(sb.db.write, keys.revoke, victim.id) for _ in range(2)])
        assert sorted(outcomes) == ["api_key_already_revoked", "ok"]
        victim = sb.db.write(keys.create, "auditor", label="to revoke")
    revoked = sb.ok("GET", "/v1/events?type=api_key.revoked&limit=500")["items"]
    assert len(revoked) == events_before + 3
