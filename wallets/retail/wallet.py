"""Wallets: opened by an operator for a holder, each with an e-CNY account."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import cache

import sqlalchemy as sa

from ..core import errors, outbox
from ..core.clock import local_date
from ..core.db import Tx, any_of, inserted_id
from ..core.preconditions import IfMatch
from ..core.principal import OPERATOR, SUPERVISOR, Principal
from ..core.schema import (
    accounts,
    envelope_campaigns,
    holder_identities,
    holds,
    offline_purses,
    offline_vouchers,
    operators,
    wallets,
)
from ..ledger.accounts import ECNY, chip_asset, lock_accounts
from ..ledger.money import format_amount
from ..tier1 import operators as ops

CLASSES = (1, 2, 3, 4)
KINDS = ("personal", "merchant")
# A merchant wallet's category: what red-envelope campaigns may require of the
# merchants they pay (docs/programmable.md).
MERCHANT_CATEGORIES = (
    "catering",
    "supermarket",
    "retail",
    "hospitality",
    "transport",
    "entertainment",
    "health",
    "education",
    "services",
)
ACTIVE, FROZEN, CLOSED = "active", "frozen", "closed"
STATUSES = (ACTIVE, FROZEN, CLOSED)
REGION_RE = re.compile(r"[A-Z]{2}")
PHONE_RE = re.compile(r"\+[1-9][0-9]{6,14}")  # E.164


@dataclass(frozen=True)
class HolderIdentity:
    """What a read may show of the holder: to the wallet's operator only, and
    for a pseudonymous class (the profile's) the holder id alone
    (wallets/retail/anonymity.py: shown_to). The phone number is in no read."""

    holder_id: str
    holder_name: str | None = None
    birth_date: date | None = None


@dataclass(frozen=True)
class Wallet:
    id: int
    operator_id: int
    operator_code: str
    wallet_class: int
    kind: str
    status: str
    holder_id: str
    region: str
    birth_date: date | None
    has_phone: bool
    parent_id: int | None
    label: str | None
    version: int
    created_at: datetime
    account_id: int
    available: int  # in the wallet account now: what it can spend
    held: int  # reserved by its open holds (in the operator's escrow)
    subwallets_balance: int | None = None  # parents only: their sub-wallets' balances
    merchant_category: str | None = None  # merchants only: one of MERCHANT_CATEGORIES
    # What the caller may see of the holder; None (the default): nothing.
    identity: HolderIdentity | None = None

    @property
    def shown_holder_id(self) -> str | None:
        return self.identity.holder_id if self.identity else None

    @property
    def shown_holder_name(self) -> str | None:
        return self.identity.holder_name if self.identity else None

    @property
    def shown_birth_date(self) -> date | None:
        return self.identity.birth_date if self.identity else None

    @property
    def balance(self) -> int:
        """What the holder owns: available plus held."""
        return self.available + self.held

    @property
    def etag(self) -> str:
        return f'"w{self.id}v{self.version}"'


def wallet_account_code(wallet_id: int, asset: str = ECNY) -> str:
    return f"W:{wallet_id}:{asset}"


def phone_hash(secret: str, phone: str) -> str:
    return hmac.new(secret.encode(), phone.encode(), hashlib.sha256).hexdigest()


def _invalid(field: str, message: str) -> errors.DomainError:
    return errors.DomainError(
        errors.VALIDATION_FAILED, f"{field}: {message}", errors={field: [message]}
    )


def _check_birth_date(tx: Tx, birth_date: date | None) -> None:
    """A birth date is a day of the sandbox clock in UTC+8 (SPEC.md §4), as the
    minimum-age rule reads it: today there is allowed, tomorrow is not."""
    if birth_date is not None and birth_date > local_date(tx.now()):
        raise _invalid("birth_date", "must not be in the future")


def _check_category(kind: str, category: str | None) -> None:
    if category is None:
        return
    if kind != "merchant":
        raise _invalid("merchant_category", "only a merchant wallet has one")
    if category not in MERCHANT_CATEGORIES:
        raise _invalid("merchant_category", f"must be one of {', '.join(MERCHANT_CATEGORIES)}")


def open_wallet(
    tx: Tx,
    actor: Principal,
    *,
    operator_code: str | None,
    wallet_class: int,
    kind: str = "personal",
    region: str,
    holder_id: str | None = None,
    holder_name: str | None = None,
    birth_date: date | None = None,
    phone: str | None = None,
    parent_id: int | None = None,
    label: str | None = None,
    phone_secret: str,
    merchant_category: str | None = None,
) -> Wallet:
    if operator_code is None:
        if actor.role != OPERATOR:
            raise _invalid("operator", "is required")
        operator_code = actor.operator_code
        assert operator_code is not None, "an operator's key names its operator (access.keys)"
    op = ops.get(tx, operator_code, actor)
    if wallet_class not in CLASSES:
        raise _invalid("wallet_class", "must be 1, 2, 3 or 4")
    if kind not in KINDS:
        raise _invalid("kind", "must be personal or merchant")
    if not REGION_RE.fullmatch(region or ""):
        raise _invalid("region", "must be a two-letter region code such as CN, MO or HK")
    _check_category(kind, merchant_category)
    if phone is not None and not PHONE_RE.fullmatch(phone):
        raise _invalid("phone", "must be an E.164 number such as +8613800000000")
    if wallet_class == 4:
        # Anonymous: a phone-number hash and nothing else about the holder.
        if phone is None:
            raise _invalid("phone", "is required for a class 4 wallet")
        if birth_date is not None:
            raise _invalid("birth_date", "a class 4 wallet holds only a phone-number hash")
        if holder_name is not None:
            raise _invalid("holder_name", "a class 4 wallet holds only a phone number")
    elif kind == "personal" and birth_date is None:
        raise _invalid("birth_date", f"is required for a class {wallet_class} personal wallet")
    _check_birth_date(tx, birth_date)
    if parent_id is not None:
        parent = get(tx, parent_id, actor)
        if parent.operator_id != op.id:
            raise _invalid("parent_id", "a sub-wallet must be at its parent's operator")
        if parent.parent_id is not None:
            raise _invalid("parent_id", "a sub-wallet cannot have sub-wallets")
        if parent.status == CLOSED:
            raise _invalid("parent_id", "the parent wallet is closed")
    now = tx.now()
    inserted = tx.conn.execute(
        wallets.insert().values(
            operator_id=op.id,
            wallet_class=wallet_class,
            kind=kind,
            status=ACTIVE,
            holder_id=holder_id or f"h_{secrets.token_hex(8)}",
            region=region,
            birth_date=birth_date,
            phone_hash=phone_hash(phone_secret, phone) if phone else None,
            parent_id=parent_id,
            label=label,
            created_at=now,
            merchant_category=merchant_category,
        )
    )
    wallet_id = inserted_id(inserted)
    if phone is not None or holder_name is not None:
        # Kept by the operator that opened it, for an approved identity reveal only.
        tx.conn.execute(
            holder_identities.insert().values(
                wallet_id=wallet_id, operator_id=op.id, phone=phone, holder_name=holder_name
            )
        )
    tx.conn.execute(
        accounts.insert().values(
            code=wallet_account_code(wallet_id),
            asset=ECNY,
            kind="wallet",
            operator_id=op.id,
            wallet_id=wallet_id,
            may_go_negative=False,
            created_at=now,
        )
    )
    return _emitted(tx, "wallet.opened", get(tx, wallet_id, actor))


@cache
def _select():
    available = (accounts.c.credits_posted - accounts.c.debits_posted).label("available")
    held = (
        sa.select(sa.func.coalesce(sa.func.sum(holds.c.amount), 0))
        .where(holds.c.wallet_id == wallets.c.id, holds.c.status == "pending")
        .scalar_subquery()
        .label("held")
    )
    return (
        sa.select(
            wallets,
            operators.c.code.label("operator_code"),
            accounts.c.id.label("account_id"),
            available,
            held,
        )
        .join(operators, operators.c.id == wallets.c.operator_id)
        .join(accounts, sa.and_(accounts.c.wallet_id == wallets.c.id, accounts.c.asset == ECNY))
    )


def _from_row(row: sa.Row) -> Wallet:
    return Wallet(
        id=row.id,
        operator_id=row.operator_id,
        operator_code=row.operator_code,
        wallet_class=row.wallet_class,
        kind=row.kind,
        status=row.status,
        holder_id=row.holder_id,
        region=row.region,
        birth_date=row.birth_date,
        has_phone=row.phone_hash is not None,
        parent_id=row.parent_id,
        label=row.label,
        version=row.version,
        created_at=row.created_at,
        account_id=row.account_id,
        available=row.available,
        held=int(row.held),
        merchant_category=row.merchant_category,
    )


_FIND = _select().where(wallets.c.id == sa.bindparam("wallet_id"))


def find(tx: Tx, wallet_id: int) -> Wallet | None:
    """A wallet by id, whoever asks (for the payee side of a payment)."""
    row = tx.conn.execute(_FIND, {"wallet_id": wallet_id}).first()
    return _from_row(row) if row else None


# find_many compiled once, run at the driver (Tx.rows): every payment, hold and
# cage operation reads its wallets.
_FIND_MANY = _select().where(any_of(wallets.c.id, "ids"))


@dataclass(frozen=True)
class PostingParty:
    """What a posting needs of a wallet: who runs it, its class, its account."""

    id: int
    operator_id: int
    wallet_class: int
    account_id: int


_PARTIES = (
    sa.select(wallets.c.id, wallets.c.operator_id, wallets.c.wallet_class, accounts.c.id)
    .join(accounts, sa.and_(accounts.c.wallet_id == wallets.c.id, accounts.c.asset == ECNY))
    .where(any_of(wallets.c.id, "ids"))
)


def posting_parties(tx: Tx, wallet_ids: set[int]) -> dict[int, PostingParty]:
    """find_many's lean sibling for batches of payments (no balances, no holds)."""
    if not wallet_ids:
        return {}
    rows = tx.rows(_PARTIES, ids=list(wallet_ids))
    return {r[0]: PostingParty(*r) for r in rows}


def find_many(tx: Tx, wallet_ids: set[int]) -> dict[int, Wallet]:
    if not wallet_ids:
        return {}
    rows = tx.rows(_FIND_MANY, ids=list(wallet_ids))
    return {r.id: _from_row(r) for r in rows}


def get(tx: Tx, wallet_id: int, actor: Principal) -> Wallet:
    w = find(tx, wallet_id)
    if w is None or not _sees(tx, actor, w):
        raise errors.DomainError(errors.WALLET_NOT_FOUND, f"no wallet {wallet_id}")
    return w


def _sees(tx: Tx, actor: Principal, w: Wallet) -> bool:
    """Operators see their wallets; a supervisor sees the wallets that play at
    its casinos (those with chips of theirs: an account of asset CHIP:<ref>)."""
    if actor.role == SUPERVISOR:
        assets = [chip_asset(ref) for ref in sorted(actor.casino_refs)]
        return bool(assets) and (
            tx.conn.execute(
                sa.select(accounts.c.id)
                .where(accounts.c.wallet_id == w.id, accounts.c.asset.in_(assets))
                .limit(1)
            ).first()
            is not None
        )
    return actor.sees_wallets_of(w.operator_id)


def with_subwallets(tx: Tx, w: Wallet) -> Wallet:
    """A parent's report rolls its sub-wallets' balances up."""
    subs = children(tx, w.id)
    if not subs:
        return w
    return replace(w, subwallets_balance=sum(c.balance for c in subs))


def children(tx: Tx, parent_id: int) -> list[Wallet]:
    return [
        _from_row(r)
        for r in tx.conn.execute(
            _select().where(wallets.c.parent_id == parent_id).order_by(wallets.c.id)
        )
    ]


# ---- lifecycle ------------------------------------------------------------------

TRANSITIONS = {
    "freeze": ({ACTIVE}, FROZEN),
    "unfreeze": ({FROZEN}, ACTIVE),
    "close": ({ACTIVE}, CLOSED),  # SPEC §4: active -> frozen <-> active -> closed
}


def _lock(tx: Tx, wallet_id: int, actor: Principal) -> Wallet:
    """The wallet, re-read after locking its account: the lock every posting takes."""
    w = get(tx, wallet_id, actor)
    lock_accounts(tx, [w.account_id])
    return existing(tx, wallet_id)


def change_status(
    tx: Tx, wallet_id: int, actor: Principal, action: str, if_match: IfMatch | None = None
) -> Wallet:
    """Freeze, unfreeze or close. A frozen wallet neither pays nor receives; a
    closed one is gone for good and needs zero balance, no open holds, and no
    open sub-wallets. A supervisor may freeze a player of its casinos pending
    review; the wallet's operator unfreezes it."""
    if actor.role == SUPERVISOR and action != "freeze":
        raise errors.DomainError(errors.FORBIDDEN_ROLE, f"a supervisor may not {action} a wallet")
    w = _lock(tx, wallet_id, actor)
    if if_match is not None:
        if_match.require(w.etag, f"wallet {w.id}")
    allowed_from, to = TRANSITIONS[action]
    if w.status not in allowed_from:
        raise errors.DomainError(
            errors.INVALID_WALLET_TRANSITION,
            f"cannot {action} a {w.status} wallet",
            current_status=w.status,
        )
    if action == "close":
        pending_in = tx.conn.execute(
            sa.select(sa.func.count())
            .select_from(holds)
            .where(holds.c.payee_wallet_id == w.id, holds.c.status == "pending")
        ).scalar_one()
        open_subs = [c.id for c in children(tx, w.id) if c.status != CLOSED]
        # Chips at a casino would be stranded: they are cashed out into this wallet.
        chips = tx.conn.execute(
            sa.select(sa.func.count())
            .select_from(accounts)
            .where(
                accounts.c.wallet_id == w.id,
                accounts.c.asset != ECNY,
                accounts.c.credits_posted != accounts.c.debits_posted,
            )
        ).scalar_one()
        # Offline purses (docs/offline.md): one not unloaded holds its money,
        # and vouchers paid to its purses wait to be validated into it.
        purse_ids = sa.select(offline_purses.c.id).where(offline_purses.c.wallet_id == w.id)
        offline = (
            tx.conn.execute(
                sa.select(sa.func.count())
                .select_from(offline_purses)
                .where(offline_purses.c.wallet_id == w.id, offline_purses.c.status != "unloaded")
            ).scalar_one()
            + tx.conn.execute(
                sa.select(sa.func.count())
                .select_from(offline_vouchers)
                .where(
                    offline_vouchers.c.payee_purse_id.in_(purse_ids),
                    offline_vouchers.c.credit == "pending",
                )
            ).scalar_one()
        )
        # A red-envelope campaign it issued returns its unspent money to it at the end.
        campaigns = tx.conn.execute(
            sa.select(sa.func.count())
            .select_from(envelope_campaigns)
            .where(
                envelope_campaigns.c.issuer_wallet_id == w.id,
                envelope_campaigns.c.status == "active",
            )
        ).scalar_one()
        if w.available or w.held or pending_in or open_subs or chips or offline or campaigns:
            raise errors.DomainError(
                errors.WALLET_NOT_EMPTY,
                f"wallet {w.id} has {w.available} fen, {w.held} fen held, {pending_in} incoming holds, "
                f"open sub-wallets {open_subs}, chips at {chips} casinos, {offline} offline "
                f"purses or vouchers pending and {campaigns} red-envelope campaigns running",
            )
    _bump(tx, w, status=to)
    return _emitted(tx, EVENT_OF_ACTION[action], existing(tx, wallet_id))


def update(
    tx: Tx,
    wallet_id: int,
    actor: Principal,
    if_match: IfMatch | None,
    *,
    wallet_class: int | None = None,
    label: str | None = None,
    birth_date: date | None = None,
    phone: str | None = None,
    holder_name: str | None = None,
    phone_secret: str,
    merchant_category: str | None = None,
) -> Wallet:
    """Upgrade or downgrade the class (limits change from now on), relabel, or
    set a merchant's category.
    Needs the ETag of the wallet as read (412 if it changed since, 428 if absent)."""
    w = _lock(tx, wallet_id, actor)  # 404 before 428: say nothing of others' wallets
    if if_match is None:
        raise errors.DomainError(errors.IF_MATCH_REQUIRED)
    if_match.require(w.etag, f"wallet {w.id}")
    if w.status == CLOSED:
        raise errors.DomainError(errors.WALLET_CLOSED, f"wallet {w.id} is closed", wallet_id=w.id)
    values: dict = {}
    if label is not None:
        values["label"] = label
    if merchant_category is not None:
        _check_category(w.kind, merchant_category)
        values["merchant_category"] = merchant_category
    if wallet_class is not None and wallet_class != w.wallet_class:
        if wallet_class == 4:
            # Anonymous: keep nothing about the holder but a phone-number hash.
            if phone is None and not w.has_phone:
                raise _invalid("phone", "a class 4 wallet needs a phone number")
            values["birth_date"] = None
            _keep_identity(tx, w, holder_name=None)
        elif w.kind == "personal" and w.birth_date is None and birth_date is None:
            raise _invalid("birth_date", f"is required for a class {wallet_class} personal wallet")
        values["wallet_class"] = wallet_class
    if birth_date is not None:
        if (values.get("wallet_class") or w.wallet_class) == 4:
            raise _invalid("birth_date", "a class 4 wallet holds only a phone-number hash")
        _check_birth_date(tx, birth_date)
        values["birth_date"] = birth_date
    if phone is not None:
        values["phone_hash"] = phone_hash(phone_secret, phone)
        _keep_identity(tx, w, phone=phone)
    if holder_name is not None:
        if (values.get("wallet_class") or w.wallet_class) == 4:
            raise _invalid("holder_name", "a class 4 wallet holds only a phone number")
        _keep_identity(tx, w, holder_name=holder_name)
    _bump(tx, w, **values)
    return _emitted(tx, "wallet.updated", existing(tx, wallet_id))


def _keep_identity(tx: Tx, w: Wallet, **values) -> None:
    """Change what the operator keeps of the holder (its row made if need be)."""
    changed = tx.conn.execute(
        holder_identities.update().where(holder_identities.c.wallet_id == w.id).values(**values)
    ).rowcount
    if not changed:
        tx.conn.execute(
            holder_identities.insert().values(wallet_id=w.id, operator_id=w.operator_id, **values)
        )


EVENT_OF_ACTION = {
    "freeze": "wallet.frozen",
    "unfreeze": "wallet.unfrozen",
    "close": "wallet.closed",
}


def _emitted(tx: Tx, type_: str, w: Wallet) -> Wallet:
    """Emit the wallet's event (its operator's business)."""
    outbox.emit(tx, outbox.Event(type_, document(w), operator_id=w.operator_id))
    return w


def document(w: Wallet) -> dict:
    """The wallet as the API's ``WalletOut`` renders it (an event's document:
    the feed's readers include the admin and the auditor, so no identity)."""
    return {
        "id": w.id,
        "operator": w.operator_code,
        "wallet_class": w.wallet_class,
        "kind": w.kind,
        "status": w.status,
        "holder_id": w.shown_holder_id,
        "holder_name": w.shown_holder_name,
        "region": w.region,
        "birth_date": w.shown_birth_date,
        "has_phone": w.has_phone,
        "parent_id": w.parent_id,
        "label": w.label,
        "merchant_category": w.merchant_category,
        "balance": format_amount(w.balance),
        "available": format_amount(w.available),
        "held": format_amount(w.held),
        "subwallets_balance": None
        if w.subwallets_balance is None
        else format_amount(w.subwallets_balance),
        "version": w.version,
        "created_at": w.created_at,
    }


def _bump(tx: Tx, w: Wallet, **values) -> None:
    tx.conn.execute(
        wallets.update().where(wallets.c.id == w.id).values(version=wallets.c.version + 1, **values)
    )


def list_(
    tx: Tx, actor: Principal, *, operator_code: str | None, after: int | None, limit: int
) -> list[Wallet]:
    stmt = _select().order_by(wallets.c.id).limit(limit)
    if actor.role == OPERATOR:
        stmt = stmt.where(wallets.c.operator_id == actor.operator_id)
    elif not actor.sees_wallets_of(-1):
        return []
    if operator_code is not None:
        stmt = stmt.where(operators.c.code == operator_code)
    if after is not None:
        stmt = stmt.where(wallets.c.id > after)
    return [_from_row(r) for r in tx.conn.execute(stmt)]


def current_statuses(tx: Tx, wallet_ids: list[int]) -> dict[int, str]:
    return dict(tx.rows(_STATUSES, ids=list(wallet_ids)))


_STATUSES = sa.select(wallets.c.id, wallets.c.status).where(any_of(wallets.c.id, "ids"))


def existing(tx: Tx, wallet_id: int) -> Wallet:
    """A wallet known to exist: its id read from a row that references it (a
    casino's, a hold's) or a wallet just read and locked. Wallets are never
    deleted (closing one keeps its row), so :func:`find` finds it."""
    w = find(tx, wallet_id)
    assert w is not None, f"wallet {wallet_id} is referenced, and wallets are never deleted"
    return w
