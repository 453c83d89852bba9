"""Red envelopes as a payment spends them (docs/programmable.md).

A holder's envelope money waits in its campaign's escrow account (``ENV:<id>``).
A payment by the holder spends it first where the payee qualifies: a merchant
wallet (never a person: envelopes are not transferable), of the campaign's
regions and merchant categories where it names some, for a payment of at least
the campaign's minimum, while the campaign is valid (``valid_from`` <= now <
``valid_until``). The envelopes that expire first are spent first. The payment
stays one transfer: its legs take the envelope money from the escrow and the
rest from the holder's wallet, and the whole amount counts against the holder's
class limits, as any payment's.

The campaigns themselves (creation, grants, claims, expiry, reports) are in
campaigns.py; this module is what the payment path (payments.py) needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from ..core.db import Tx, any_of
from ..core.schema import envelope_campaigns, envelope_grants, envelope_spends, wallets

MERCHANT = "merchant"


@dataclass(frozen=True)
class Conditions:
    """Where a campaign's envelopes may be spent (None: anywhere)."""

    regions: frozenset[str] | None
    categories: frozenset[str] | None
    min_payment: int | None

    def allow(self, kind: str, region: str, category: str | None, amount: int) -> bool:
        return (
            kind == MERCHANT
            and (self.regions is None or region in self.regions)
            and (self.categories is None or category in self.categories)
            and (self.min_payment is None or amount >= self.min_payment)
        )


def split_list(text: str | None) -> frozenset[str] | None:
    return frozenset(text.split(",")) if text else None


@dataclass
class Envelope:
    """One granted envelope with money left, in a valid campaign."""

    grant_id: int
    campaign_id: int
    holder_id: int
    left: int
    account_id: int  # the campaign's escrow
    operator_id: int  # the issuer's operator, whose books hold the escrow
    valid_until: datetime
    conditions: Conditions


@dataclass(frozen=True)
class Draw:
    """What one payment takes from one envelope."""

    envelope: Envelope
    amount: int


@dataclass
class EnvelopeBook:
    """The spendable envelopes of a batch's payers (their grant rows locked),
    what each payment draws from them, and the payees' standing."""

    by_holder: dict[int, list[Envelope]]
    payees: dict[int, tuple[str, str, str | None]]  # wallet -> kind, region, category
    draws: dict[int, list[Draw]] = field(default_factory=dict)  # by request index

    @property
    def escrow_accounts(self) -> set[int]:
        return {e.account_id for es in self.by_holder.values() for e in es}

    @property
    def issuer_operators(self) -> set[int]:
        return {e.operator_id for es in self.by_holder.values() for e in es}

    def draw(self, index: int, payer_id: int, payee_id: int, amount: int) -> list[Draw]:
        """Take envelope money for the payment at ``index``, up to its amount."""
        payee = self.payees.get(payee_id)
        if payee is None:
            return []
        taken: list[Draw] = []
        need = amount
        for e in self.by_holder.get(payer_id, []):
            if need == 0:
                break
            if e.left > 0 and e.conditions.allow(*payee, amount):
                n = min(e.left, need)
                e.left -= n
                need -= n
                taken.append(Draw(e, n))
        if taken:
            self.draws[index] = taken
        return taken

    def give_back(self, index: int) -> None:
        """The payment at ``index`` was refused: its draws are free again."""
        for d in self.draws.pop(index, []):
            d.envelope.left += d.amount


_SPENDABLE = (
    sa.select(
        envelope_grants.c.id,
        envelope_grants.c.campaign_id,
        envelope_grants.c.wallet_id,
        envelope_grants.c.amount - envelope_grants.c.spent,
        envelope_campaigns.c.account_id,
        wallets.c.operator_id,
        envelope_campaigns.c.valid_until,
        envelope_campaigns.c.regions,
        envelope_campaigns.c.categories,
        envelope_campaigns.c.min_payment,
    )
    .join(envelope_campaigns, envelope_campaigns.c.id == envelope_grants.c.campaign_id)
    .join(wallets, wallets.c.id == envelope_campaigns.c.issuer_wallet_id)
    .where(
        any_of(envelope_grants.c.wallet_id, "ids"),
        envelope_grants.c.spent < envelope_grants.c.amount,
        envelope_campaigns.c.status == "active",
        envelope_campaigns.c.valid_from
        <= sa.bindparam("now", type_=envelope_campaigns.c.valid_from.type),
        envelope_campaigns.c.valid_until
        > sa.bindparam("now2", type_=envelope_campaigns.c.valid_until.type),
    )
    .order_by(envelope_campaigns.c.valid_until, envelope_grants.c.id)
    # The grant rows only: payments of other holders of the campaign go on.
    .with_for_update(of=envelope_grants)
)
_PAYEES = sa.select(
    wallets.c.id, wallets.c.kind, wallets.c.region, wallets.c.merchant_category
).where(any_of(wallets.c.id, "ids"))


def book_for(tx: Tx, payer_ids: set[int], payee_ids: set[int]) -> EnvelopeBook | None:
    """The payers' spendable envelopes, locked (two payments of one holder
    queue here, so an envelope is never spent twice); None when none has any."""
    if not payer_ids:
        return None
    now = tx.now()
    rows = tx.rows(_SPENDABLE, ids=sorted(payer_ids), now=now, now2=now)
    if not rows:
        return None
    by_holder: dict[int, list[Envelope]] = {}
    for g, c, w, left, acc, op, until, regions, categories, minimum in rows:
        by_holder.setdefault(w, []).append(
            Envelope(
                g,
                c,
                w,
                int(left),
                acc,
                op,
                until,
                Conditions(split_list(regions), split_list(categories), minimum),
            )
        )
    payees = {
        r.id: (r.kind, r.region, r.merchant_category)
        for r in tx.rows(_PAYEES, ids=sorted(payee_ids))
        if r.kind == MERCHANT
    }
    return EnvelopeBook(by_holder, payees)


def record(tx: Tx, draws: list[tuple[int, int, list[Draw]]]) -> None:
    """Write what posted payments spent: ``(transfer id, merchant, draws)``."""
    now = tx.now()
    rows = [
        {
            "grant_id": d.envelope.grant_id,
            "campaign_id": d.envelope.campaign_id,
            "transfer_id": transfer_id,
            "merchant_wallet_id": merchant,
            "amount": d.amount,
            "spent_at": now,
        }
        for transfer_id, merchant, ds in draws
        for d in ds
    ]
    if not rows:
        return
    tx.conn.execute(envelope_spends.insert(), rows)
    per_grant: dict[int, int] = {}
    for _, _, ds in draws:
        for d in ds:
            per_grant[d.envelope.grant_id] = per_grant.get(d.envelope.grant_id, 0) + d.amount
    tx.conn.execute(
        envelope_grants.update()
        .where(envelope_grants.c.id == sa.bindparam("_g"))
        .values(spent=envelope_grants.c.spent + sa.bindparam("_n")),
        [{"_g": g, "_n": n} for g, n in per_grant.items()],
    )


def spent_in(tx: Tx, transfer_id: int) -> int:
    """The envelope money a payment spent (not refundable: it was the issuer's)."""
    return int(
        tx.conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(envelope_spends.c.amount), 0)).where(
                envelope_spends.c.transfer_id == transfer_id
            )
        ).scalar_one()
    )
