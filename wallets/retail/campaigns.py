"""Red-envelope campaigns (docs/programmable.md; DOMAIN.md section 1, the
Shenzhen Luohu pilot of October 2020: 50,000 envelopes of CNY 200, valid for
about a week, spendable only at registered merchants of one district, the
unspent money back to the issuer).

- created by an issuer (a merchant wallet: a government's or a company's
  corporate wallet): ``amount`` x ``envelopes`` leaves the issuer's wallet for
  the campaign's escrow account ``ENV:<id>`` at once (transfer
  ``envelope_reserve``, hash-chained as every movement);
- envelopes are granted by the issuer's operator to a list of wallets, or
  claimed first-come by any wallet's operator where the campaign is
  ``claimable``; one envelope per wallet and campaign; no money moves (the
  escrow holds granted-unspent and ungranted money alike);
- a payment by a holder spends them first where the payee qualifies
  (envelopes.py);
- when the sandbox clock passes ``valid_until`` the campaign ends and what is
  left in its escrow goes back to the issuer (transfer ``envelope_return``), on
  the next read or write of anyone or the clock's move, as holds expire.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ..core import errors, outbox
from ..core.db import Tx, inserted_id
from ..core.principal import Principal
from ..core.schema import (
    accounts,
    envelope_campaigns,
    envelope_grants,
    envelope_spends,
    wallets,
)
from ..ledger.accounts import ECNY, operator_codes
from ..ledger.money import MAX_AMOUNT_FEN, format_amount
from ..ledger.posting import Leg, Posting, TransferDraft
from . import wallet as wl
from .envelopes import split_list
from .payments import require_mover, to_own_escrow

ACTIVE, ENDED = "active", "ended"
STATUSES = (ACTIVE, ENDED)
GRANTED, CLAIMED = "granted", "claimed"
SOURCES = (GRANTED, CLAIMED)
# One grant request names at most this many wallets (larger lists: several requests).
MAX_GRANTS = 1000
MAX_ENVELOPES = 1_000_000
# A government's or a company's wallet: a corporate wallet, kind merchant.
ISSUER_KIND = "merchant"


@dataclass(frozen=True)
class Campaign:
    id: int
    name: str
    issuer_wallet_id: int
    operator_id: int
    operator_code: str
    escrow_account: str
    amount: int
    envelopes: int
    granted: int
    claimable: bool
    valid_from: datetime
    valid_until: datetime
    regions: list[str] | None
    merchant_categories: list[str] | None
    min_payment: int | None
    status: str
    escrow: int  # what the escrow account holds now
    returned: int
    created_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True)
class Grant:
    id: int
    campaign_id: int
    wallet_id: int
    amount: int
    spent: int
    source: str
    granted_at: datetime
    valid_until: datetime
    campaign_status: str

    @property
    def left(self) -> int:
        """Spendable now: nothing once the campaign has ended."""
        return self.amount - self.spent if self.campaign_status == ACTIVE else 0


@dataclass(frozen=True)
class MerchantSpend:
    wallet_id: int
    payments: int
    amount: int


@dataclass(frozen=True)
class Report:
    campaign: Campaign
    granted_amount: int
    claimed: int  # envelopes claimed (the rest of the granted ones by list)
    spent: int
    granted_unspent: int  # 0 once ended: it went back with the rest
    ungranted: int
    holders_spending: int
    merchants: list[MerchantSpend]


def _invalid(field: str, message: str) -> errors.DomainError:
    return errors.DomainError(
        errors.VALIDATION_FAILED, f"{field}: {message}", errors={field: [message]}
    )


_SELECT = (
    sa.select(
        envelope_campaigns,
        wallets.c.operator_id,
        accounts.c.code.label("escrow_code"),
        (accounts.c.credits_posted - accounts.c.debits_posted).label("escrow"),
    )
    .join(wallets, wallets.c.id == envelope_campaigns.c.issuer_wallet_id)
    .join(accounts, accounts.c.id == envelope_campaigns.c.account_id)
)


def _campaign(tx: Tx, row: sa.Row) -> Campaign:
    return Campaign(
        id=row.id,
        name=row.name,
        issuer_wallet_id=row.issuer_wallet_id,
        operator_id=row.operator_id,
        operator_code=operator_codes(tx, [row.operator_id])[row.operator_id],
        escrow_account=row.escrow_code,
        amount=row.amount,
        envelopes=row.envelopes,
        granted=row.granted,
        claimable=bool(row.claimable),
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        regions=sorted(r) if (r := split_list(row.regions)) else None,
        merchant_categories=sorted(c) if (c := split_list(row.categories)) else None,
        min_payment=row.min_payment,
        status=row.status,
        escrow=int(row.escrow),
        returned=row.returned,
        created_at=row.created_at,
        ended_at=row.ended_at,
    )


def _row(tx: Tx, campaign_id: int, lock: bool = False) -> sa.Row:
    stmt = _SELECT.where(envelope_campaigns.c.id == campaign_id)
    if lock:
        # The campaign's row: grants and claims of one campaign queue here.
        stmt = stmt.with_for_update(of=envelope_campaigns)
    row = tx.conn.execute(stmt).first()
    if row is None:
        raise errors.DomainError(errors.CAMPAIGN_NOT_FOUND, f"no campaign {campaign_id}")
    return row


def get(tx: Tx, campaign_id: int, actor: Principal) -> Campaign:
    """Every operator sees a campaign (its envelopes may be claimed by any
    operator's wallets); the central bank sees none of the retail tier's."""
    if actor.role not in ("admin", "auditor", "operator"):
        raise errors.DomainError(errors.CAMPAIGN_NOT_FOUND, f"no campaign {campaign_id}")
    return _campaign(tx, _row(tx, campaign_id))


def list_(tx: Tx, status: str | None, after: int | None, limit: int) -> list[Campaign]:
    stmt = _SELECT.order_by(envelope_campaigns.c.id).limit(limit)
    if status:
        stmt = stmt.where(envelope_campaigns.c.status == status)
    if after is not None:
        stmt = stmt.where(envelope_campaigns.c.id > after)
    return [_campaign(tx, r) for r in tx.conn.execute(stmt)]


def _regions(values: list[str] | None) -> str | None:
    """The regions a campaign allows, stored comma-separated (None: any)."""
    return _as_list(values, "regions", lambda v: wl.REGION_RE.fullmatch(v) is not None)


def _categories(values: list[str] | None) -> str | None:
    """The merchant categories a campaign allows, stored comma-separated (None: any)."""
    return _as_list(values, "merchant_categories", lambda v: v in wl.MERCHANT_CATEGORIES)


def _as_list(values: list[str] | None, field: str, valid) -> str | None:
    if values is None:
        return None
    if not values:
        raise _invalid(field, "must name at least one, or be left out (any)")
    bad = sorted({v for v in values if not valid(v)})
    if bad:
        raise _invalid(field, f"not allowed: {', '.join(bad)}")
    return ",".join(sorted(set(values)))


def create(
    tx: Tx,
    actor: Principal,
    *,
    issuer_wallet_id: int,
    name: str,
    amount: int,
    envelopes: int,
    valid_until: datetime,
    valid_from: datetime | None = None,
    claimable: bool = False,
    regions: list[str] | None = None,
    merchant_categories: list[str] | None = None,
    min_payment: int | None = None,
) -> Campaign:
    require_mover(actor)
    issuer = wl.get(tx, issuer_wallet_id, actor)
    if issuer.kind != ISSUER_KIND:
        raise _invalid("issuer_wallet", "must be a merchant (corporate) wallet")
    now = tx.now()
    start = valid_from or now
    if not 1 <= envelopes <= MAX_ENVELOPES:
        raise _invalid("envelopes", f"must be between 1 and {MAX_ENVELOPES}")
    if valid_until <= start or valid_until <= now:
        raise _invalid("valid_until", "must be after valid_from and after the sandbox's now")
    region_text = _regions(regions)
    category_text = _categories(merchant_categories)
    total = amount * envelopes
    if total > MAX_AMOUNT_FEN:
        raise _invalid(
            "envelopes", f"amount x envelopes must not exceed {format_amount(MAX_AMOUNT_FEN)}"
        )
    inserted = tx.conn.execute(
        accounts.insert().values(
            code=f"ENV:new:{secrets.token_hex(8)}",
            asset=ECNY,
            kind="envelopes",
            operator_id=issuer.operator_id,
            wallet_id=None,
            may_go_negative=False,
            created_at=now,
        )
    )
    escrow = inserted_id(inserted)
    campaign_id = inserted_id(
        tx.conn.execute(
            envelope_campaigns.insert().values(
                issuer_wallet_id=issuer.id,
                account_id=escrow,
                name=name,
                amount=amount,
                envelopes=envelopes,
                claimable=claimable,
                valid_from=start,
                valid_until=valid_until,
                regions=region_text,
                categories=category_text,
                min_payment=min_payment,
                status=ACTIVE,
                created_at=now,
            )
        )
    )
    # Its readable code once the campaign has its id (before any entry hashes it).
    tx.conn.execute(
        accounts.update().where(accounts.c.id == escrow).values(code=escrow_code(campaign_id))
    )
    to_own_escrow(
        tx,
        issuer,
        escrow,
        total,
        kind="envelope_reserve",
        doing="paying",
        reference=f"campaign {campaign_id}",
    )
    c = _campaign(tx, _row(tx, campaign_id))
    _emit(tx, "envelope_campaign.created", c)
    return c


def escrow_code(campaign_id: int) -> str:
    return f"ENV:{campaign_id}"


def _open_for_grants(tx: Tx, row: sa.Row) -> None:
    if row.status != ACTIVE or row.valid_until <= tx.now():
        raise errors.DomainError(
            errors.CAMPAIGN_ENDED,
            f"campaign {row.id} ended at {row.valid_until.isoformat()}",
            campaign_id=row.id,
        )


def grant(tx: Tx, campaign_id: int, wallet_ids: list[int], actor: Principal) -> list[Grant]:
    """The issuer's operator grants an envelope to each wallet of the list
    (any operator's wallets, not closed, not the issuer); all or none."""
    require_mover(actor)
    row = _row(tx, campaign_id, lock=True)
    if not actor.sees_wallets_of(row.operator_id):
        raise errors.DomainError(errors.CAMPAIGN_NOT_FOUND, f"no campaign {campaign_id}")
    _open_for_grants(tx, row)
    if len(set(wallet_ids)) != len(wallet_ids):
        raise _invalid("wallets", "a wallet is named twice")
    found = wl.find_many(tx, set(wallet_ids))
    for w_id in wallet_ids:
        w = found.get(w_id)
        if w is None:
            raise errors.DomainError(errors.WALLET_NOT_FOUND, f"no wallet {w_id}", field="wallets")
        _check_holder(row, w)
    return _insert_grants(tx, row, wallet_ids, GRANTED)


def claim(tx: Tx, campaign_id: int, wallet_id: int, actor: Principal) -> Grant:
    """A wallet's operator claims an envelope for it, first come first served."""
    require_mover(actor)
    row = _row(tx, campaign_id, lock=True)
    w = wl.get(tx, wallet_id, actor)
    if not row.claimable:
        raise errors.DomainError(
            errors.CAMPAIGN_NOT_CLAIMABLE, f"campaign {row.id} grants by list", campaign_id=row.id
        )
    _open_for_grants(tx, row)
    _check_holder(row, w)
    (g,) = _insert_grants(tx, row, [w.id], CLAIMED)
    return g


def _check_holder(row: sa.Row, w: wl.Wallet) -> None:
    if w.id == row.issuer_wallet_id:
        raise _invalid("wallets", f"wallet {w.id} is the campaign's issuer")
    if w.status == wl.CLOSED:
        raise errors.DomainError(errors.WALLET_CLOSED, f"wallet {w.id} is closed", wallet_id=w.id)


def _insert_grants(tx: Tx, row: sa.Row, wallet_ids: list[int], source: str) -> list[Grant]:
    left = row.envelopes - row.granted
    if len(wallet_ids) > left:
        raise errors.DomainError(
            errors.ENVELOPES_EXHAUSTED,
            f"campaign {row.id} has {left} envelope(s) left, {len(wallet_ids)} asked",
            campaign_id=row.id,
            left=left,
        )
    already = tx.conn.execute(
        sa.select(envelope_grants.c.wallet_id)
        .where(
            envelope_grants.c.campaign_id == row.id,
            envelope_grants.c.wallet_id.in_(wallet_ids),
        )
        .order_by(envelope_grants.c.wallet_id)
        .limit(1)
    ).scalar()
    if already is not None:
        raise errors.DomainError(
            errors.ENVELOPE_ALREADY_GRANTED,
            f"wallet {already} holds an envelope of campaign {row.id} already",
            wallet_id=already,
        )
    now = tx.now()
    tx.conn.execute(
        envelope_grants.insert(),
        [
            {
                "campaign_id": row.id,
                "wallet_id": w,
                "amount": row.amount,
                "spent": 0,
                "source": source,
                "granted_at": now,
            }
            for w in wallet_ids
        ],
    )
    tx.conn.execute(
        envelope_campaigns.update()
        .where(envelope_campaigns.c.id == row.id)
        .values(granted=envelope_campaigns.c.granted + len(wallet_ids))
    )
    made = _grants(
        tx,
        sa.and_(
            envelope_grants.c.campaign_id == row.id, envelope_grants.c.wallet_id.in_(wallet_ids)
        ),
    )
    holders = wl.find_many(tx, set(wallet_ids))
    for g in made:
        outbox.emit(
            tx,
            outbox.Event(
                "envelope.granted",
                grant_document(g),
                operator_id=row.operator_id,
                counter_operator_id=holders[g.wallet_id].operator_id,
            ),
        )
    return made


def _grants(tx: Tx, where) -> list[Grant]:
    g, c = envelope_grants, envelope_campaigns
    rows = tx.conn.execute(
        sa.select(g, c.c.valid_until, c.c.status.label("campaign_status"))
        .join(c, c.c.id == g.c.campaign_id)
        .where(where)
        .order_by(g.c.id)
    ).all()
    return [
        Grant(
            r.id,
            r.campaign_id,
            r.wallet_id,
            r.amount,
            r.spent,
            r.source,
            r.granted_at,
            r.valid_until,
            r.campaign_status,
        )
        for r in rows
    ]


def of_wallet(tx: Tx, wallet_id: int, actor: Principal) -> list[Grant]:
    """A wallet's envelopes, the campaigns' ended ones too."""
    wl.get(tx, wallet_id, actor)
    return _grants(tx, envelope_grants.c.wallet_id == wallet_id)


def report(tx: Tx, campaign_id: int, actor: Principal) -> Report:
    """The issuer's operator's report: granted, spent, at which merchants, returned."""
    row = _row(tx, campaign_id)
    if not actor.sees_wallets_of(row.operator_id):
        raise errors.DomainError(errors.CAMPAIGN_NOT_FOUND, f"no campaign {campaign_id}")
    c = _campaign(tx, row)
    g = envelope_grants
    spent, unspent, claimed, spending = (
        int(v or 0)
        for v in tx.conn.execute(
            sa.select(
                sa.func.sum(g.c.spent),
                sa.func.sum(g.c.amount - g.c.spent),
                sa.func.sum(sa.case((g.c.source == CLAIMED, 1), else_=0)),
                sa.func.sum(sa.case((g.c.spent > 0, 1), else_=0)),
            ).where(g.c.campaign_id == c.id)
        ).one()
    )
    s = envelope_spends
    merchants = [
        MerchantSpend(w, int(n), int(total))
        for w, n, total in tx.conn.execute(
            sa.select(
                s.c.merchant_wallet_id,
                sa.func.count(sa.distinct(s.c.transfer_id)),
                sa.func.sum(s.c.amount),
            )
            .where(s.c.campaign_id == c.id)
            .group_by(s.c.merchant_wallet_id)
            .order_by(sa.func.sum(s.c.amount).desc(), s.c.merchant_wallet_id)
        )
    ]
    active = c.status == ACTIVE
    return Report(
        campaign=c,
        granted_amount=c.granted * c.amount,
        claimed=claimed,
        spent=spent,
        granted_unspent=unspent if active else 0,
        ungranted=(c.envelopes - c.granted) * c.amount if active else 0,
        holders_spending=spending,
        merchants=merchants,
    )


# Expiry on the sandbox clock, as holds expire (wallets/retail/deadlines.py).
_ANY_DUE = (
    sa.select(envelope_campaigns.c.id)
    .where(
        envelope_campaigns.c.status == ACTIVE,
        envelope_campaigns.c.valid_until <= sa.bindparam("now"),
    )
    .limit(1)
)


def any_due(tx: Tx) -> bool:
    """Whether an active campaign's validity has passed (an index probe)."""
    return bool(tx.rows(_ANY_DUE, now=tx.now()))


def end_expired(tx: Tx) -> int:
    """End every campaign whose validity the sandbox clock has passed: what is
    left in its escrow goes back to the issuer, whatever the issuer's status
    (the money is its own) and without its class limits (as a hold's release)."""
    due = tx.conn.execute(
        sa.select(envelope_campaigns)
        .where(envelope_campaigns.c.status == ACTIVE, envelope_campaigns.c.valid_until <= tx.now())
        .order_by(envelope_campaigns.c.id)
        .with_for_update()
    ).all()
    for row in due:
        issuer = wl.existing(tx, row.issuer_wallet_id)
        posting = Posting(tx, [row.account_id, issuer.account_id])
        left = posting.balance(row.account_id)
        if left > 0:
            posting.post(
                TransferDraft(
                    kind="envelope_return",
                    asset=ECNY,
                    amount=left,
                    legs=[Leg(row.account_id, issuer.account_id, left, ECNY)],
                    to_wallet_id=issuer.id,
                    from_operator_id=issuer.operator_id,
                    to_operator_id=issuer.operator_id,
                    reference=f"campaign {row.id}",
                )
            )
        tx.conn.execute(
            envelope_campaigns.update()
            .where(envelope_campaigns.c.id == row.id)
            .values(status=ENDED, returned=left, ended_at=tx.now())
        )
        _emit(tx, "envelope_campaign.ended", _campaign(tx, _row(tx, row.id)))
    return len(due)


def document(c: Campaign) -> dict:
    """The campaign as ``GET /v1/envelope-campaigns/{id}`` renders it."""
    return {
        "id": c.id,
        "name": c.name,
        "issuer_wallet": c.issuer_wallet_id,
        "operator": c.operator_code,
        "escrow_account": c.escrow_account,
        "amount": format_amount(c.amount),
        "envelopes": c.envelopes,
        "granted": c.granted,
        "claimable": c.claimable,
        "valid_from": c.valid_from,
        "valid_until": c.valid_until,
        "regions": c.regions,
        "merchant_categories": c.merchant_categories,
        "min_payment": None if c.min_payment is None else format_amount(c.min_payment),
        "status": c.status,
        "escrow": format_amount(c.escrow),
        "returned": format_amount(c.returned),
        "created_at": c.created_at,
        "ended_at": c.ended_at,
    }


def grant_document(g: Grant) -> dict:
    """An envelope as ``GET /v1/wallets/{id}/envelopes`` renders it."""
    return {
        "id": g.id,
        "campaign": g.campaign_id,
        "wallet": g.wallet_id,
        "amount": format_amount(g.amount),
        "spent": format_amount(g.spent),
        "left": format_amount(g.left),
        "source": g.source,
        "granted_at": g.granted_at,
        "valid_until": g.valid_until,
        "campaign_status": g.campaign_status,
    }


def _emit(tx: Tx, type_: str, c: Campaign) -> None:
    """A campaign's events are its issuer's operator's business."""
    outbox.emit(tx, outbox.Event(type_, document(c), operator_id=c.operator_id))
