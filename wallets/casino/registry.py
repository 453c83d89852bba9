"""The casino registry (SPEC.md §7): registering a casino with its merchant
wallet, chip issuance account, treasury wallet and supervisors; finding and
listing casinos in a caller's scope; the figures a casino's page shows."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import cache
from typing import cast

import sqlalchemy as sa

from ..core import errors, outbox
from ..core.db import Tx, inserted_id
from ..core.preconditions import IfMatch, check, etag_of
from ..core.principal import ADMIN, CASINO_REF_RE, MERCHANT, SUPERVISOR, SYSTEM, Principal, a_role
from ..core.schema import (
    accounts,
    api_keys,
    casinos,
    operators,
)
from ..core.schema import wallets as wallets_table
from ..ledger.accounts import chip_asset
from ..ledger.money import format_amount
from ..retail import payments
from ..retail import wallet as wl
from ..rules import active_profile
from ..rules.profile import CHIP_CURRENCIES
from .model import Casino


def chip_issuance_code(ref: str) -> str:
    return f"CASINO:{ref}:CHIPS"


# ---- casinos ---------------------------------------------------------------------


@cache
def _select():
    return (
        sa.select(
            casinos,
            wallets_table.c.operator_id,
            operators.c.code.label("operator_code"),
        )
        .join(wallets_table, wallets_table.c.id == casinos.c.merchant_wallet_id)
        .join(operators, operators.c.id == wallets_table.c.operator_id)
    )


def _from_row(r: sa.Row) -> Casino:
    return Casino(
        id=r.id,
        ref=r.ref,
        name=r.name,
        operator_id=r.operator_id,
        operator_code=r.operator_code,
        merchant_wallet_id=r.merchant_wallet_id,
        treasury_wallet_id=r.treasury_wallet_id,
        chip_account_id=r.chip_account_id,
        float_amount=r.float_amount,
        created_at=r.created_at,
        beneficiaries={k: int(v) for k, v in json.loads(r.beneficiaries or "{}").items()},
        chips_approved=r.chips_approved,
        chip_currency=r.chip_currency,
    )


def find(tx: Tx, ref: str) -> Casino | None:
    row = tx.conn.execute(_FIND, {"ref": ref}).first()
    return _from_row(row) if row else None


_FIND = _select().where(casinos.c.ref == sa.bindparam("ref"))


def get(tx: Tx, ref: str, actor: Principal) -> Casino:
    """A casino in the caller's scope: its merchant's, its supervisors', admin's, auditor's."""
    c = find(tx, ref) if actor.sees_casino(ref) else None
    if c is None:
        raise errors.DomainError(errors.CASINO_NOT_FOUND, f"no casino {ref}")
    return c


def list_(tx: Tx, actor: Principal, after: str | None, limit: int) -> list[Casino]:
    stmt = _select().order_by(casinos.c.ref).limit(limit)
    if actor.role in (MERCHANT, SUPERVISOR):
        stmt = stmt.where(casinos.c.ref.in_(sorted(actor.casino_refs)))
    if after is not None:
        stmt = stmt.where(casinos.c.ref > after)
    return [_from_row(r) for r in tx.conn.execute(stmt)]


def _invalid(field: str, message: str) -> errors.DomainError:
    return errors.DomainError(
        errors.VALIDATION_FAILED, f"{field}: {message}", errors={field: [message]}
    )


def register(
    tx: Tx,
    *,
    ref: str,
    name: str,
    treasury_wallet_id: int,
    float_amount: int,
    operator_code: str | None = None,
    merchant_wallet_id: int | None = None,
    supervisor_key_ids: tuple[int, ...] = (),
    beneficiaries: dict[str, int] | None = None,
    chips_approved: int | None = None,
    chip_currency: str = "CNY",
    phone_secret: str,
) -> Casino:
    """Register a casino: its merchant wallet (given, or opened at ``operator_code``),
    its chip issuance account, its treasury wallet and supervisors. The merchant
    wallet is funded up to the float from its operator's vault."""
    if not CASINO_REF_RE.fullmatch(ref):
        raise _invalid("ref", "must be 2-16 capitals, digits or _, starting with a capital")
    if chip_currency not in CHIP_CURRENCIES:
        raise _invalid("chip_currency", f"must be one of {', '.join(CHIP_CURRENCIES)}")
    if find(tx, ref) is not None:
        raise errors.DomainError(errors.CASINO_EXISTS, f"casino {ref} is registered already")
    if merchant_wallet_id is not None:
        merchant = _existing_wallet(tx, merchant_wallet_id, "merchant_wallet")
        if merchant.kind != "merchant":
            raise _invalid("merchant_wallet", "must be a merchant wallet")
        if operator_code is not None and operator_code != merchant.operator_code:
            raise _invalid("operator", f"the merchant wallet is at {merchant.operator_code}")
        taken = tx.conn.execute(
            sa.select(casinos.c.ref).where(casinos.c.merchant_wallet_id == merchant.id)
        ).scalar()
        if taken:
            raise _invalid("merchant_wallet", f"is casino {taken}'s already")
    elif operator_code is None:
        raise _invalid("operator", "is required unless merchant_wallet names an existing wallet")
    else:
        merchant = wl.open_wallet(
            tx,
            SYSTEM,
            operator_code=operator_code,
            wallet_class=1,
            kind="merchant",
            region="MO",
            label=f"{name} (casino)"[:200],
            phone_secret=phone_secret,
        )
    treasury = _existing_wallet(tx, treasury_wallet_id, "treasury_wallet")
    if treasury.id == merchant.id:
        raise _invalid("treasury_wallet", "must not be the casino's own wallet")
    _check_beneficiaries(tx, beneficiaries or {}, merchant.id)
    now = tx.now()
    inserted = tx.conn.execute(
        accounts.insert().values(
            code=chip_issuance_code(ref),
            asset=chip_asset(ref),
            kind="chip_issuance",
            may_go_negative=True,
            created_at=now,
        )
    )
    chip_account_id = inserted_id(inserted)
    tx.conn.execute(
        casinos.insert().values(
            ref=ref,
            name=name,
            merchant_wallet_id=merchant.id,
            treasury_wallet_id=treasury.id,
            chip_account_id=chip_account_id,
            float_amount=float_amount,
            created_at=now,
            beneficiaries=json.dumps(beneficiaries, sort_keys=True) if beneficiaries else None,
            chips_approved=chips_approved,
            chip_currency=chip_currency,
        )
    )
    for key_id in supervisor_key_ids:
        _add_supervisor(tx, key_id, ref)
    if merchant.balance < float_amount:
        payments.fund(tx, merchant.id, float_amount - merchant.balance, SYSTEM, f"float of {ref}")
    registered = find(tx, ref)
    assert registered is not None, f"casino {ref} is registered in this transaction"
    outbox.emit(tx, outbox.Event("casino.registered", document(tx, registered), casino_ref=ref))
    return registered


def document(tx: Tx, c: Casino) -> dict:
    """The casino as ``GET /v1/casinos/{ref}`` renders it (``CasinoOut``)."""
    f = figures(tx, c)
    return {
        "ref": c.ref,
        "name": c.name,
        "operator": c.operator_code,
        "chip_asset": c.chip_asset,
        "chip_currency": c.chip_currency,
        "merchant_wallet": c.merchant_wallet_id,
        "treasury_wallet": c.treasury_wallet_id,
        "float": format_amount(c.float_amount),
        "merchant_balance": format_amount(f.merchant_balance),
        "chips_with_players": format_amount(f.chips_with_players),
        "supervisors": f.supervisors,
        "beneficiaries": dict(c.beneficiaries),
        "chips_approved": None if c.chips_approved is None else format_amount(c.chips_approved),
        "created_at": c.created_at,
    }


# The wallet classes a payee of the close (a contribution's beneficiary, a
# promoter) may hold: classes 3 and 4 are capped for individuals (macau: 20,000
# and 10,000), below what one close may pay an institution.
PAYEE_CLASSES = (1, 2)


def payee_wallet(tx: Tx, wallet_id: int, field: str) -> wl.Wallet:
    """The wallet a close is to pay (a beneficiary's, a promoter's): it exists
    (404 ``wallet_not_found``), is active and of a payee class (422)."""
    w = _existing_wallet(tx, wallet_id, field)
    if w.status != wl.ACTIVE:
        raise _invalid(field, f"wallet {wallet_id} is {w.status}")
    if w.wallet_class not in PAYEE_CLASSES:
        raise _invalid(
            field,
            f"wallet {wallet_id} is of class {w.wallet_class}: a payee of the gaming-day "
            "close holds a class 1 or 2 wallet (the balance caps of classes 3 and 4 are "
            "an individual's)",
        )
    return w


def _check_beneficiaries(tx: Tx, beneficiaries: dict[str, int], merchant_id: int) -> None:
    profile = active_profile(tx)
    known = {k.name for k in profile.casino.contributions} if profile.casino else set()
    for name, wallet_id in beneficiaries.items():
        if name not in known:
            raise errors.DomainError(
                errors.UNKNOWN_CONTRIBUTION,
                f"{name[:64]!r} is not a contribution of the rule profile {profile.name!r} "
                f"(have: {', '.join(sorted(known)) or 'none'})",
                field="beneficiaries",
                contributions=sorted(known),
            )
        if payee_wallet(tx, wallet_id, "beneficiaries").id == merchant_id:
            raise _invalid("beneficiaries", f"{name}: must not be the casino's own wallet")


def set_beneficiaries(
    tx: Tx,
    ref: str,
    actor: Principal,
    beneficiaries: dict[str, int],
    *,
    if_match: IfMatch | None = None,
) -> Casino:
    """Replace the casino's beneficiaries (contribution name -> wallet; one not
    named is paid to the treasury). Only the admin, who registers casinos.
    With ``if_match``, only while the casino is at one of its ETags (412)."""
    if actor.role != ADMIN:
        raise errors.DomainError(
            errors.FORBIDDEN_ROLE, f"{a_role(actor.role)} does not change a casino's beneficiaries"
        )
    c = _locked(tx, get(tx, ref, actor), if_match)
    _check_beneficiaries(tx, beneficiaries, c.merchant_wallet_id)
    tx.conn.execute(
        casinos.update()
        .where(casinos.c.id == c.id)
        .values(beneficiaries=json.dumps(beneficiaries, sort_keys=True) if beneficiaries else None)
    )
    return _updated(tx, c)


def _existing_wallet(tx: Tx, wallet_id: int, field: str) -> wl.Wallet:
    w = wl.find(tx, wallet_id)
    if w is None:
        raise errors.DomainError(errors.WALLET_NOT_FOUND, f"no wallet {wallet_id}", field=field)
    if w.status == wl.CLOSED:
        raise _invalid(field, f"wallet {wallet_id} is closed")
    return w


def _add_supervisor(tx: Tx, key_id: int, ref: str) -> None:
    """A supervisor key's scope is the comma-separated list in its casino_ref."""
    row = tx.conn.execute(
        sa.select(api_keys.c.role, api_keys.c.casino_ref, api_keys.c.revoked_at).where(
            api_keys.c.id == key_id
        )
    ).first()
    if row is None or row.role != SUPERVISOR or row.revoked_at is not None:
        raise _invalid("supervisors", f"key {key_id} is not a live supervisor key")
    refs = [r for r in (row.casino_ref or "").split(",") if r]
    if ref in refs:
        return
    scope = ",".join([*refs, ref])
    # The column is a sa.String(n) (core.schema); SQLAlchemy types it as any type.
    length = cast(sa.String, api_keys.c.casino_ref.type).length
    assert length is not None, "api_keys.casino_ref has a length"
    if len(scope) > length:
        raise _invalid("supervisors", f"key {key_id} supervises too many casinos to add {ref}")
    tx.conn.execute(api_keys.update().where(api_keys.c.id == key_id).values(casino_ref=scope))


def set_chips_approved(
    tx: Tx, ref: str, actor: Principal, approved: int | None, *, if_match: IfMatch | None = None
) -> Casino:
    """Record the chips in circulation DICJ approved for the casino (Law 7/2022);
    None: no approved figure. Only the admin and the casino's supervisors (DICJ).
    With ``if_match``, only while the casino is at one of its ETags (412)."""
    if actor.role not in (ADMIN, SUPERVISOR):
        raise errors.DomainError(
            errors.FORBIDDEN_ROLE, f"{a_role(actor.role)} does not approve chips in circulation"
        )
    c = _locked(tx, get(tx, ref, actor), if_match)
    tx.conn.execute(casinos.update().where(casinos.c.id == c.id).values(chips_approved=approved))
    return _updated(tx, c)


def etag(c: Casino) -> str:
    """The casino's ETag: of its registration as stored (its wallets, float,
    beneficiaries, chips approved, ...), which its writes set; not of its
    figures (balances, chips with players), which its cage moves."""
    return etag_of("casino", asdict(c))


def _locked(tx: Tx, c: Casino, if_match: IfMatch | None) -> Casino:
    """The casino as it is now, its row locked until the transaction ends (a
    SQLite writer holds the one write lock already), checked against
    ``if_match``: a change of its settings then cannot race another's."""
    tx.conn.execute(sa.select(casinos.c.id).where(casinos.c.id == c.id).with_for_update())
    now = find(tx, c.ref)
    assert now is not None, f"casino {c.ref} exists"
    check(if_match, etag(now), f"casino {c.ref}")
    return now


def _updated(tx: Tx, before: Casino) -> Casino:
    """The casino after a change of its settings, and its ``casino.updated``
    event when a setting did change."""
    changed = find(tx, before.ref)
    assert changed is not None, f"casino {before.ref} exists"
    if (changed.beneficiaries, changed.chips_approved) != (
        before.beneficiaries,
        before.chips_approved,
    ):
        outbox.emit(
            tx, outbox.Event("casino.updated", document(tx, changed), casino_ref=before.ref)
        )
    return changed


def chips_in_circulation(tx: Tx, c: Casino) -> int:
    """The chips the casino has put in circulation: what its players hold now
    (minus the balance of its chip issuance account)."""
    return int(
        tx.conn.execute(
            sa.select(accounts.c.debits_posted - accounts.c.credits_posted).where(
                accounts.c.id == c.chip_account_id
            )
        ).scalar_one()
    )


@dataclass(frozen=True)
class CasinoFigures:
    merchant_balance: int
    chips_with_players: int
    supervisors: list[dict]


def figures(tx: Tx, c: Casino) -> CasinoFigures:
    merchant = wl.existing(tx, c.merchant_wallet_id)
    issuance = chips_in_circulation(tx, c)
    keys = tx.conn.execute(
        sa.select(api_keys.c.id, api_keys.c.label, api_keys.c.casino_ref)
        .where(
            api_keys.c.role == SUPERVISOR,
            api_keys.c.revoked_at.is_(None),
            api_keys.c.casino_ref.contains(c.ref),
        )
        .order_by(api_keys.c.id)
    ).all()
    supervisors = [
        {"key_id": k.id, "label": k.label} for k in keys if c.ref in k.casino_ref.split(",")
    ]
    return CasinoFigures(merchant.balance, issuance, supervisors)
