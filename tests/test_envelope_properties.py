"""Property-based: red envelopes (docs/programmable.md) under random sequences
of campaigns with random conditions, grants, claims, payments to merchants and
persons of every kind, and clock moves.

After every step: every envelope spend was inside its campaign's conditions
(a merchant of its regions and categories, a payment of at least its minimum,
while the campaign was valid, by the envelope's holder); each payment took
exactly min(amount, the holder's qualifying envelope money) from envelopes;
an active campaign's escrow equals its granted-unspent plus its ungranted
money, an ended one's is zero and it returned what was left; the invariants
of SPEC.md §3 hold.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from test_wallet_properties import _pg_factory, _sqlite_factory

from wallets.audit.reconcile import reconcile
from wallets.core import clock, errors
from wallets.core.principal import SYSTEM
from wallets.core.schema import (
    accounts,
    envelope_campaigns,
    envelope_grants,
    envelope_spends,
    transfers,
    wallets,
)
from wallets.retail import campaigns, deadlines, payments
from wallets.retail import wallet as wl
from wallets.tier1 import issuance
from wallets.tier1 import operators as ops

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
# (ref, operator, class, kind, region, category)
WALLETS = (
    ("issuer", "ICBC", 1, "merchant", "CN", None),
    ("ann", "ICBC", 1, "personal", "CN", None),
    ("bob", "BOC", 2, "personal", "CN", None),
    ("cat", "ICBC", 4, "personal", "HK", None),
    ("noodles", "ICBC", 2, "merchant", "CN", "catering"),
    ("market", "BOC", 2, "merchant", "CN", "supermarket"),
    ("hk_cafe", "BOC", 2, "merchant", "HK", "catering"),
    ("cinema", "ICBC", 2, "merchant", "CN", "entertainment"),
    ("plain", "BOC", 1, "merchant", "CN", None),
)
HOLDERS = ("ann", "bob", "cat")
amounts = st.one_of(
    st.integers(min_value=1, max_value=30_000), st.sampled_from([100, 500, 499, 5_000, 10_000])
)
MERCHANTS = [r for r, _, _, kind, *_ in WALLETS if kind == "merchant" and r != "issuer"]


class EnvelopeMachine(RuleBasedStateMachine):
    make_db = None  # set by the test

    @initialize(
        regions=st.sampled_from([None, ["CN"], ["HK"]]),
        categories=st.sampled_from([None, ["catering"], ["catering", "supermarket"]]),
        min_payment=st.sampled_from([None, 500]),
    )
    def start(self, regions=None, categories=None, min_payment=None):
        self.db, self.cleanup = self.make_db()
        self.db.write(lambda tx: clock.set_clock(tx, START))

        def world(tx):
            for code in ("ICBC", "BOC"):
                ops.create(tx, code, code)
                issuance.deposit_reserve(tx, code, 10**10, SYSTEM)
                issuance.issue(tx, code, 10**9, SYSTEM)
            made = {}
            for ref, op, cls, kind, region, category in WALLETS:
                w = wl.open_wallet(
                    tx,
                    SYSTEM,
                    operator_code=op,
                    wallet_class=cls,
                    kind=kind,
                    region=region,
                    birth_date=date(1990, 1, 1) if kind == "personal" and cls != 4 else None,
                    phone="+8613800000000" if cls == 4 else None,
                    merchant_category=category,
                    phone_secret="s",
                )
                made[ref] = w.id
            payments.fund(tx, made["issuer"], 10**8, SYSTEM)
            for ref in HOLDERS:
                payments.fund(tx, made[ref], 20_000, SYSTEM)
            return made

        self.w = self.db.write(world)
        self.campaigns: list[int] = []
        # A campaign whose envelopes every holder has: payments spend from the start.
        self.create(5_000, len(HOLDERS) + 1, regions, categories, min_payment, 96, True)
        self._write(
            lambda tx: campaigns.grant(tx, self.campaigns[0], [self.w[h] for h in HOLDERS], SYSTEM)
        )

    def _write(self, fn):
        """As the API's write path: what is due first, then the work."""

        def work(tx):
            deadlines.release_expired_if_due_in(tx)
            return fn(tx)

        try:
            return self.db.write(work)
        except errors.DomainError as exc:
            return exc

    # ---- steps -----------------------------------------------------------------

    @rule(
        amount=st.sampled_from([1_000, 5_000, 20_000]),
        envelopes=st.integers(min_value=1, max_value=4),
        regions=st.sampled_from([None, ["CN"], ["HK"], ["CN", "HK"]]),
        categories=st.sampled_from([None, ["catering"], ["catering", "supermarket"]]),
        min_payment=st.sampled_from([None, 500, 10_000]),
        hours=st.integers(min_value=6, max_value=96),
        claimable=st.booleans(),
    )
    def create(self, amount, envelopes, regions, categories, min_payment, hours, claimable):
        def make(tx):
            return campaigns.create(
                tx,
                SYSTEM,
                issuer_wallet_id=self.w["issuer"],
                name="c",
                amount=amount,
                envelopes=envelopes,
                valid_until=tx.now() + timedelta(hours=hours),
                claimable=claimable,
                regions=regions,
                merchant_categories=categories,
                min_payment=min_payment,
            )

        made = self._write(make)
        assert not isinstance(made, errors.DomainError), made
        self.campaigns.append(made.id)

    @rule(
        data=st.data(),
        holders=st.lists(st.sampled_from(HOLDERS), min_size=1, max_size=3, unique=True),
    )
    def grant(self, data, holders):
        if not self.campaigns:
            return
        c = data.draw(st.sampled_from(self.campaigns))
        ids = [self.w[h] for h in holders]
        out = self._write(lambda tx: campaigns.grant(tx, c, ids, SYSTEM))
        if isinstance(out, errors.DomainError):
            assert out.code in (
                errors.ENVELOPES_EXHAUSTED,
                errors.ENVELOPE_ALREADY_GRANTED,
                errors.CAMPAIGN_ENDED,
            ), out

    @rule(data=st.data(), holder=st.sampled_from(HOLDERS))
    def claim(self, data, holder):
        if not self.campaigns:
            return
        c = data.draw(st.sampled_from(self.campaigns))
        out = self._write(lambda tx: campaigns.claim(tx, c, self.w[holder], SYSTEM))
        if isinstance(out, errors.DomainError):
            assert out.code in (
                errors.CAMPAIGN_NOT_CLAIMABLE,
                errors.ENVELOPES_EXHAUSTED,
                errors.ENVELOPE_ALREADY_GRANTED,
                errors.CAMPAIGN_ENDED,
            ), out

    @rule(
        holder=st.sampled_from(HOLDERS),
        payee=st.sampled_from([r for r, *_ in WALLETS]),
        amount=amounts,
        # The sandbox clock moves on first, now and then (campaigns end).
        wait=st.sampled_from([0, 0, 0, 0, 0, 0, 30, 240, 1440]),
    )
    def pay(self, holder, payee, amount, wait):
        if wait:
            self._write(lambda tx: clock.advance(tx, wait * 60))
        if payee == holder:
            return
        payer_id, payee_id = self.w[holder], self.w[payee]
        req = payments.PaymentRequest(payer_id, payee_id, amount)

        def work(tx):
            # What the model expects, read in the payment's own transaction.
            expected = min(amount, self._qualifying(tx, payer_id, payee_id, amount))
            return expected, payments.pay(tx, req, SYSTEM)

        out = self._write(work)
        if isinstance(out, errors.DomainError):
            assert out.code in (errors.INSUFFICIENT_FUNDS, errors.LIMIT_EXCEEDED), out
            return
        expected, posted = out
        spent = self.db.read(
            lambda tx: tx.conn.execute(
                sa.select(sa.func.coalesce(sa.func.sum(envelope_spends.c.amount), 0)).where(
                    envelope_spends.c.transfer_id == posted.id
                )
            ).scalar_one()
        )
        event("spent from envelopes" if spent else "spent none")
        assert spent == expected, (holder, payee, amount)

    # ---- the model's reading of the conditions ----------------------------------

    @staticmethod
    def _qualifying(tx, payer_id: int, payee_id: int, amount: int) -> int:
        payee = tx.conn.execute(sa.select(wallets).where(wallets.c.id == payee_id)).one()
        now = tx.now()
        total = 0
        rows = tx.conn.execute(
            sa.select(
                envelope_grants,
                envelope_campaigns.c.regions,
                envelope_campaigns.c.categories,
                envelope_campaigns.c.min_payment,
                envelope_campaigns.c.valid_from,
                envelope_campaigns.c.valid_until,
                envelope_campaigns.c.status,
            )
            .join(envelope_campaigns, envelope_campaigns.c.id == envelope_grants.c.campaign_id)
            .where(envelope_grants.c.wallet_id == payer_id)
        ).all()
        for r in rows:
            if (
                payee.kind == "merchant"
                and r.status == "active"
                and r.valid_from <= now < r.valid_until
                and (r.regions is None or payee.region in r.regions.split(","))
                and (r.categories is None or payee.merchant_category in r.categories.split(","))
                and (r.min_payment is None or amount >= r.min_payment)
            ):
                total += r.amount - r.spent
        return total

    # ---- what must always hold ----------------------------------------------------

    @invariant()
    def spends_inside_conditions_and_escrows_balance(self):
        if not hasattr(self, "db"):
            return
        self.db.write(deadlines.release_expired)

        def check(tx):
            s, c, g, t = envelope_spends, envelope_campaigns, envelope_grants, transfers
            for row in tx.conn.execute(
                sa.select(
                    s.c.amount,
                    s.c.spent_at,
                    g.c.wallet_id.label("holder"),
                    t.c.from_wallet_id,
                    t.c.amount.label("payment"),
                    c.c.regions,
                    c.c.categories,
                    c.c.min_payment,
                    c.c.valid_from,
                    c.c.valid_until,
                    wallets.c.kind,
                    wallets.c.region,
                    wallets.c.merchant_category,
                )
                .join(g, g.c.id == s.c.grant_id)
                .join(t, t.c.id == s.c.transfer_id)
                .join(c, c.c.id == s.c.campaign_id)
                .join(wallets, wallets.c.id == s.c.merchant_wallet_id)
            ):
                assert row.kind == "merchant" and row.from_wallet_id == row.holder, row
                assert row.regions is None or row.region in row.regions.split(","), row
                assert row.categories is None or row.merchant_category in row.categories.split(
                    ","
                ), row
                assert row.min_payment is None or row.payment >= row.min_payment, row
                assert row.valid_from <= row.spent_at < row.valid_until, row
            for camp in tx.conn.execute(
                sa.select(
                    c, (accounts.c.credits_posted - accounts.c.debits_posted).label("escrow")
                ).join(accounts, accounts.c.id == c.c.account_id)
            ):
                amount_left, spent = tx.conn.execute(
                    sa.select(
                        sa.func.coalesce(sa.func.sum(g.c.amount - g.c.spent), 0),
                        sa.func.coalesce(sa.func.sum(g.c.spent), 0),
                    ).where(g.c.campaign_id == camp.id)
                ).one()
                if camp.status == "active":
                    ungranted = (camp.envelopes - camp.granted) * camp.amount
                    assert camp.escrow == amount_left + ungranted, camp
                else:
                    assert camp.escrow == 0, camp
                    assert camp.returned == camp.envelopes * camp.amount - spent, camp
            report = reconcile(tx)
            assert report.ok, [x.problems for x in report.checks if not x.ok]

        self.db.read(check)

    def teardown(self):
        if hasattr(self, "db"):
            self.db.dispose()
            self.cleanup()


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_envelope_state_machine(request, backend):
    from hypothesis.stateful import run_state_machine_as_test

    if backend == "sqlite":
        EnvelopeMachine.make_db = staticmethod(
            _sqlite_factory(request.getfixturevalue("sqlite_template"))
        )
        examples = 25
    else:
        EnvelopeMachine.make_db = staticmethod(_pg_factory(request.getfixturevalue("pg_server")))
        examples = 8
    run_state_machine_as_test(
        EnvelopeMachine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
