"""Gaming promoters (junkets): licensed by DICJ, each working for one
concessionaire, bringing players, paid a commission on their players' rolling.

DOMAIN.md §3: since the 2022 amendment of Law 16/2001 (art. 23) each promoter
works for **one** concessionaire, only on a commission basis (no revenue
sharing); commissions are capped at 1.25% of net rolling (Dispatch 83/2009
under AR 6/2002 as amended by AR 27/2009); the concessionaire withholds a 5%
tax on commissions at source (art. 29). The figures are the profile's
``casino.promoters``.

- ``register``: a promoter at a casino, by its DICJ licence: refused when the
  licence works for another casino already (``promoter_other_concessionaire``)
  or the rate passes the cap (``promoter_commission_above_cap``);
- ``attach``: a player to a promoter (one promoter per player and casino);
- ``commissions``: at a gaming-day close, each promoter's net rolling (the
  wagers its players made that day), commission and withholding.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import sqlalchemy as sa

from ..core import errors, outbox
from ..core.db import Tx, Upsert
from ..core.preconditions import IfMatch, check, etag_of
from ..core.principal import ADMIN, MERCHANT, SUPERVISOR, Principal, a_role
from ..core.schema import casino_player_days, casinos, promoter_players, promoters
from ..ledger.money import apply_rate, format_amount, format_rate
from ..retail import wallet as wl
from ..rules import casino_rules
from ..rules.profile import CasinoRules
from . import registry
from .model import Casino


@dataclass(frozen=True)
class Promoter:
    id: int
    licence: str
    name: str
    casino_ref: str
    wallet_id: int
    commission_rate: Decimal
    created_at: datetime
    players: tuple[int, ...] = ()


def _rules(tx: Tx) -> tuple[CasinoRules, Decimal, Decimal]:
    rules = casino_rules(tx)
    cap, withholding = rules.promoter_commission_cap, rules.promoter_withholding_tax
    if cap is None or withholding is None:
        raise errors.DomainError(
            errors.CASINO_RULES_UNAVAILABLE,
            "the active rule profile has no promoter rules (casino.promoters)",
        )
    return rules, cap, withholding


def _invalid(field: str, message: str) -> errors.DomainError:
    return errors.DomainError(
        errors.VALIDATION_FAILED, f"{field}: {message}", errors={field: [message]}
    )


# ON CONFLICT DO NOTHING: two requests racing on one licence do not fail on
# its unique constraint (a 500); the loser re-reads and answers as above.
_REGISTER = Upsert(
    lambda insert: (
        insert(promoters)
        .values(
            licence=sa.bindparam("licence"),
            name=sa.bindparam("name"),
            casino_id=sa.bindparam("casino_id"),
            wallet_id=sa.bindparam("wallet_id"),
            commission_rate=sa.bindparam("commission_rate"),
            created_at=sa.bindparam("now"),
        )
        .on_conflict_do_nothing(index_elements=["licence"])
    )
)

_ATTACH = Upsert(
    lambda insert: (
        insert(promoter_players)
        .values(
            casino_id=sa.bindparam("casino_id"),
            wallet_id=sa.bindparam("wallet_id"),
            promoter_id=sa.bindparam("promoter_id"),
            attached_at=sa.bindparam("now"),
        )
        .on_conflict_do_nothing(index_elements=["casino_id", "wallet_id"])
    )
)


def _licence_free(tx: Tx, c: Casino, actor: Principal, licence: str) -> None:
    """Raise when the licence is registered already (here, or at another casino)."""
    found = tx.conn.execute(
        sa.select(promoters.c.id, casinos.c.ref)
        .join(casinos, casinos.c.id == promoters.c.casino_id)
        .where(promoters.c.licence == licence)
    ).first()
    if found is None:
        return
    if found.ref != c.ref:
        # The other casino is named only to a caller who may see it (a casino
        # outside the caller's scope is a 404 to it).
        shown = actor.sees_casino(found.ref)
        raise errors.DomainError(
            errors.PROMOTER_OTHER_CONCESSIONAIRE,
            f"promoter {licence} works for {found.ref if shown else 'another casino'}: "
            "a promoter works for one concessionaire only (Law 16/2001 as amended in 2022, "
            "art. 23)",
            field="licence",
            **({"concessionaire": found.ref} if shown else {}),
        )
    raise _invalid("licence", f"promoter {licence} is registered at {c.ref} already")


def register(
    tx: Tx,
    ref: str,
    actor: Principal,
    *,
    licence: str,
    name: str,
    wallet_id: int,
    commission_rate: Decimal,
) -> Promoter:
    """Register a promoter (by its DICJ licence) at the casino ``ref``."""
    if actor.role not in (ADMIN, SUPERVISOR):
        raise errors.DomainError(
            errors.FORBIDDEN_ROLE, f"{a_role(actor.role)} does not license promoters"
        )
    c = registry.get(tx, ref, actor)
    _, cap, _ = _rules(tx)
    if commission_rate > cap:
        raise errors.DomainError(
            errors.PROMOTER_COMMISSION_ABOVE_CAP,
            f"a commission of {format_rate(commission_rate)} of net rolling passes the cap "
            f"of {format_rate(cap)}",
            field="commission_rate",
            cap=format_rate(cap),
        )
    _licence_free(tx, c, actor, licence)
    wallet = _payee(tx, c, wallet_id)
    inserted = tx.run(
        _REGISTER,
        licence=licence,
        name=name,
        casino_id=c.id,
        wallet_id=wallet.id,
        commission_rate=format_rate(commission_rate),
        now=tx.now(),
    )
    if not inserted:  # a racing request registered the licence first: its answer
        _licence_free(tx, c, actor, licence)
        raise _invalid("licence", f"promoter {licence} is registered already")
    new_id = tx.conn.execute(
        sa.select(promoters.c.id).where(promoters.c.licence == licence)
    ).scalar_one()
    return _emitted(tx, "promoter.registered", _get(tx, c, new_id))


def document(p: Promoter) -> dict[str, Any]:
    """The promoter as ``GET /v1/casinos/{ref}/promoters`` lists it (``PromoterOut``)."""
    return {
        "licence": p.licence,
        "name": p.name,
        "casino": p.casino_ref,
        "wallet": p.wallet_id,
        "commission_rate": str(p.commission_rate),
        "players": list(p.players),
        "created_at": p.created_at,
    }


def _emitted(tx: Tx, type_: str, p: Promoter) -> Promoter:
    outbox.emit(tx, outbox.Event(type_, document(p), casino_ref=p.casino_ref))
    return p


def _payee(tx: Tx, c: Casino, wallet_id: int) -> wl.Wallet:
    wallet = registry.payee_wallet(tx, wallet_id, "wallet")
    if wallet.id in (c.merchant_wallet_id, c.treasury_wallet_id):
        raise _invalid("wallet", "must not be the casino's own or its treasury's wallet")
    return wallet


def set_wallet(
    tx: Tx,
    ref: str,
    actor: Principal,
    licence: str,
    wallet_id: int,
    *,
    if_match: IfMatch | None = None,
) -> Promoter:
    """Change the wallet the promoter's commissions are paid to (from the next
    close on). Authorized as its registration: the admin and the casino's
    supervisors (DICJ). With ``if_match``, only while the promoter is at one
    of its ETags (412)."""
    if actor.role not in (ADMIN, SUPERVISOR):
        raise errors.DomainError(
            errors.FORBIDDEN_ROLE, f"{a_role(actor.role)} does not change a promoter's wallet"
        )
    c = registry.get(tx, ref, actor)
    p = _locked(tx, c, get(tx, ref, actor, licence).id)
    check(if_match, etag(p), f"promoter {licence} at {ref}")
    wallet = _payee(tx, c, wallet_id)
    tx.conn.execute(promoters.update().where(promoters.c.id == p.id).values(wallet_id=wallet.id))
    return _emitted(tx, "promoter.updated", _get(tx, c, p.id))


def attach(tx: Tx, ref: str, actor: Principal, licence: str, wallet_id: int) -> Promoter:
    """Attach a player to a promoter of the casino (the player's one promoter there)."""
    if actor.role not in (ADMIN, MERCHANT, SUPERVISOR):
        raise errors.DomainError(
            errors.FORBIDDEN_ROLE, f"{a_role(actor.role)} does not attach players"
        )
    c = registry.get(tx, ref, actor)
    p = _locked(tx, c, get(tx, ref, actor, licence).id)  # a change of its wallet waits
    player = wl.find(tx, wallet_id)
    if player is None:
        raise errors.DomainError(errors.WALLET_NOT_FOUND, f"no wallet {wallet_id}", field="player")
    if player.kind != "personal":
        raise errors.DomainError(
            errors.NOT_A_PLAYER, f"wallet {wallet_id} is not a player's", field="player"
        )
    # ON CONFLICT DO NOTHING: a racing attach of the same player does not fail
    # on the (casino, wallet) key; whichever promoter holds the player answers.
    attached = tx.run(_ATTACH, casino_id=c.id, wallet_id=player.id, promoter_id=p.id, now=tx.now())
    current = tx.conn.execute(
        sa.select(promoter_players.c.promoter_id).where(
            promoter_players.c.casino_id == c.id, promoter_players.c.wallet_id == player.id
        )
    ).scalar()
    if current != p.id:
        raise errors.DomainError(
            errors.PLAYER_HAS_PROMOTER,
            f"wallet {player.id} plays at {c.ref} for another promoter",
            field="player",
        )
    found = _get(tx, c, p.id)
    return _emitted(tx, "promoter.updated", found) if attached else found


def etag(p: Promoter) -> str:
    """The promoter's ETag: of all of it, as its answers render it (its
    wallet, rate, players)."""
    return etag_of("promoter", document(p))


def _locked(tx: Tx, c: Casino, promoter_id: int) -> Promoter:
    """The promoter as it is now, its row locked until the transaction ends (a
    SQLite writer holds the one write lock already): its changes take turns."""
    tx.conn.execute(
        sa.select(promoters.c.id).where(promoters.c.id == promoter_id).with_for_update()
    )
    return _get(tx, c, promoter_id)


def get(tx: Tx, ref: str, actor: Principal, licence: str) -> Promoter:
    c = registry.get(tx, ref, actor)
    pid = tx.conn.execute(
        sa.select(promoters.c.id).where(
            promoters.c.licence == licence, promoters.c.casino_id == c.id
        )
    ).scalar()
    if pid is None:
        raise errors.DomainError(errors.PROMOTER_NOT_FOUND, f"no promoter {licence} at {ref}")
    return _get(tx, c, pid)


def list_(
    tx: Tx, ref: str, actor: Principal, after: int | None = None, limit: int | None = None
) -> list[Promoter]:
    """The casino's promoters by id, those after the id ``after``, at most ``limit``."""
    c = registry.get(tx, ref, actor)
    q = sa.select(promoters.c.id).where(promoters.c.casino_id == c.id).order_by(promoters.c.id)
    if after is not None:
        q = q.where(promoters.c.id > after)
    ids = tx.conn.execute(q.limit(limit)).scalars().all()
    return [_get(tx, c, i) for i in ids]


def _get(tx: Tx, c: Casino, promoter_id: int) -> Promoter:
    r = tx.conn.execute(sa.select(promoters).where(promoters.c.id == promoter_id)).one()
    players = tx.conn.execute(
        sa.select(promoter_players.c.wallet_id)
        .where(promoter_players.c.promoter_id == promoter_id)
        .order_by(promoter_players.c.wallet_id)
    ).scalars()
    return Promoter(
        id=r.id,
        licence=r.licence,
        name=r.name,
        casino_ref=c.ref,
        wallet_id=r.wallet_id,
        commission_rate=Decimal(r.commission_rate),
        created_at=r.created_at,
        players=tuple(players),
    )


@dataclass(frozen=True)
class Commission:
    promoter: Promoter
    net_rolling: int
    commission: int
    withholding: int

    @property
    def paid(self) -> int:
        return self.commission - self.withholding

    def report(self, transfer_ids: list[int]) -> dict[str, Any]:
        return {
            "promoter": self.promoter.licence,
            "wallet": self.promoter.wallet_id,
            "players": len(self.promoter.players),
            "net_rolling": format_amount(self.net_rolling),
            "rate": format_rate(self.promoter.commission_rate),
            "commission": format_amount(self.commission),
            "withholding": format_amount(self.withholding),
            "paid": format_amount(self.paid),
            "transfer_ids": transfer_ids,
        }


def commissions(tx: Tx, c: Casino, day: date) -> list[Commission]:
    """Each promoter of the casino with rolling on ``day``: its players' wagers
    (net rolling), the commission at its rate and the tax withheld from it."""
    withholding_rate = casino_rules(tx).promoter_withholding_tax
    if withholding_rate is None:  # the profile has no promoter rules: no commissions
        return []
    cpd, pp = casino_player_days, promoter_players
    rolling = dict(
        tx.conn.execute(
            sa.select(pp.c.promoter_id, sa.func.sum(cpd.c.wagered))
            .join(
                cpd, sa.and_(cpd.c.casino_id == pp.c.casino_id, cpd.c.wallet_id == pp.c.wallet_id)
            )
            .where(pp.c.casino_id == c.id, cpd.c.gaming_day == day)
            .group_by(pp.c.promoter_id)
        ).all()
    )
    out = []
    for promoter_id in sorted(rolling):
        net_rolling = int(rolling[promoter_id] or 0)
        if net_rolling <= 0:
            continue
        p = _get(tx, c, promoter_id)
        # Rounded down: the commission never passes its rate (and the cap) of the rolling.
        commission = apply_rate(net_rolling, p.commission_rate, rounding=ROUND_FLOOR)
        withholding = apply_rate(commission, withholding_rate)
        out.append(Commission(p, net_rolling, commission, withholding))
    return out
