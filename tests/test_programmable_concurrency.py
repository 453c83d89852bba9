"""Red envelopes under concurrency (PostgreSQL, where transactions really
overlap; SQLite serialises writers and runs the same checks): claims racing for
the last envelopes never grant more than the campaign has; payments racing to
spend one envelope never take more than it holds."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.racing import race
from wallets.core.principal import SYSTEM
from wallets.core.schema import envelope_grants, envelope_spends
from wallets.retail import campaigns, payments
from wallets.retail import wallet as wl


def _campaign(sb, issuer: int, envelopes: int, amount: int, **more) -> int:
    return sb.db.write(
        lambda tx: campaigns.create(
            tx,
            SYSTEM,
            issuer_wallet_id=issuer,
            name="race",
            amount=amount,
            envelopes=envelopes,
            valid_until=tx.now() + timedelta(days=7),
            **more,
        )
    ).id


@pytest.fixture
def town(sandbox):
    sandbox.operator("ICBC")
    sandbox.operator("BOC")
    sandbox.issuer = sandbox.wallet("ICBC", 1, fund="10000.00", kind="merchant")
    sandbox.shop = sandbox.wallet("BOC", 2, kind="merchant", merchant_category="catering")
    return sandbox


def test_claims_racing_for_the_last_envelopes_never_over_grant(town):
    sb = town
    holders = [sb.wallet("ICBC" if i % 2 else "BOC", 2) for i in range(10)]
    c = _campaign(sb, sb.issuer, envelopes=3, amount=10_000, claimable=True)
    outcomes = race([lambda w=w: sb.db.write(campaigns.claim, c, w, SYSTEM) for w in holders])
    assert sorted(outcomes) == ["envelopes_exhausted"] * 7 + ["ok"] * 3
    granted = sb.db.read(
        lambda tx: tx.conn.execute(
            sa.select(sa.func.count()).where(envelope_grants.c.campaign_id == c)
        ).scalar_one()
    )
    got = sb.db.read(lambda tx: campaigns.get(tx, c, SYSTEM))
    assert granted == got.granted == 3 and got.escrow == 30_000


def test_payments_racing_to_spend_one_envelope_never_overspend(town):
    """A holder with one envelope of 100.00 and nothing of its own: eight
    payments of 30.00 at once; three are paid by the envelope, the rest refused
    (the fourth would need 20.00 of the holder's own)."""
    sb = town
    holder = sb.wallet("ICBC", 2)
    c = _campaign(sb, sb.issuer, envelopes=1, amount=10_000)
    sb.db.write(campaigns.grant, c, [holder], SYSTEM)
    req = payments.PaymentRequest(holder, sb.shop, 3_000)
    outcomes = race([lambda: sb.db.write(payments.pay, req, SYSTEM)] * 8)
    assert sorted(outcomes) == ["insufficient_funds"] * 5 + ["ok"] * 3
    spent = sb.db.read(
        lambda tx: tx.conn.execute(
            sa.select(sa.func.sum(envelope_spends.c.amount)).where(
                envelope_spends.c.campaign_id == c
            )
        ).scalar_one()
    )
    assert spent == 9_000
    assert sb.db.read(lambda tx: campaigns.get(tx, c, SYSTEM)).escrow == 1_000
    assert sb.db.read(wl.find, sb.shop).balance == 9_000
    assert sb.db.read(wl.find, holder).balance == 0


def test_two_large_payments_spend_one_envelope_once(town):
    """Two payments of 60.00 against an envelope of 100.00 and 10.00 of the
    holder's own: one is paid (60.00 from the envelope), the other would need
    20.00 of the holder's (only 40.00 is left in the envelope) and is refused;
    never 120.00 from the envelope."""
    sb = town
    holder = sb.wallet("ICBC", 2, fund="10.00")
    c = _campaign(sb, sb.issuer, envelopes=1, amount=10_000)
    sb.db.write(campaigns.grant, c, [holder], SYSTEM)
    req = payments.PaymentRequest(holder, sb.shop, 6_000)
    outcomes = race([lambda: sb.db.write(payments.pay, req, SYSTEM)] * 2)
    assert sorted(outcomes) == ["insufficient_funds", "ok"]
    assert sb.db.read(lambda tx: campaigns.get(tx, c, SYSTEM)).escrow == 4_000
    assert sb.db.read(wl.find, holder).balance == 1_000
