"""Dual offline payments (docs/offline.md): offline purses, the signed
vouchers two purses exchange without a network, their sync, and unloading.

A wallet loads a purse (a hardware wallet registering its device's Ed25519
key) from its balance, up to the profile's ``offline.purse_cap``: the e-CNY
move from the wallet to its operator's OFFLINE account. Offline, the purse
pays other purses with vouchers (wallets/retail/vouchers.py) numbered by its
counter. Either side uploads them (:func:`sync`); every voucher with a valid
signature is kept once, and the purse's vouchers are judged together by one
rule that depends on the set of vouchers only, never on the order they came in
(:func:`judge`):

- per counter, the voucher with the lowest id stands; any other one with that
  counter is refused ``offline_counter_reused``;
- the standing vouchers, in counter order, are honoured while their running
  total fits what the purse was loaded with; from the first that does not fit
  on, they are refused ``offline_purse_overdrawn``.

Every voucher's payee is paid at its first sync into its operator's
OFFLINE_PENDING account: by the purse (``offline_payment``) when honoured,
else by the loss bearer's vault (``offline_loss``; the profile's
``offline.loss_bearer``). A later sync may turn an honoured voucher refused
(the loss bearer's vault then pays the purse back: ``offline_loss``), or a
refused one honoured (the purse repays the bearer: ``offline_recovery``); the
payee's money never moves back. A refusal freezes the purse (no more loads)
and raises an ``offline_double_spend`` alert. The payee's money reaches its
wallet ``offline.validation_hours`` after the first sync
(``offline_validation``), at the first write from then on.

Unloading returns what the purse holds (loaded - honoured) to the wallet
(``offline_unload``): at once when the device's signed last counter shows
every voucher synced, else after ``offline.unload_wait_hours``. A voucher of
a purse already unloaded is refused ``offline_purse_unloaded`` and paid by the
loss bearer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from ..core import errors, outbox
from ..core.db import Tx, inserted_id
from ..core.principal import Principal
from ..core.schema import offline_purses, offline_vouchers, wallets
from ..ledger.accounts import ECNY
from ..ledger.money import format_amount
from ..ledger.posting import Leg, Posting, Refusal, TransferDraft
from ..rules import active_profile
from ..rules.profile import OfflineRules
from ..supervision import alerts
from ..tier1 import operators as ops
from . import vouchers as vf
from . import wallet as wl
from .payments import (
    operator_accounts,
    require_mover,
    to_own_escrow,
    wallet_to_wallet_legs,
)

ACTIVE, UNLOADING, UNLOADED = "active", "unloading", "unloaded"
PURSE_STATUSES = (ACTIVE, UNLOADING, UNLOADED)
HONOURED, REFUSED = "honoured", "refused"
VOUCHER_STATUSES = (HONOURED, REFUSED)
PENDING, VALIDATED = "pending", "validated"
CREDITS = (PENDING, VALIDATED)
# What a sync answers for each voucher uploaded.
SYNCED, DUPLICATE, REJECTED = "synced", "duplicate", "rejected"
SYNC_RESULTS = (SYNCED, DUPLICATE, REJECTED)
MAX_SYNC = 1000
# Refusals that are a double spend of the purse's (they freeze it).
DOUBLE_SPENDS = (errors.OFFLINE_COUNTER_REUSED, errors.OFFLINE_PURSE_OVERDRAWN)


@dataclass(frozen=True)
class Purse:
    id: int
    wallet_id: int
    operator_id: int
    device_key: str
    status: str
    frozen: bool
    loaded: int
    spent: int
    unloaded: int
    counter: int
    created_at: datetime
    frozen_at: datetime | None
    unload_due_at: datetime | None
    unloaded_at: datetime | None
    wallet_closed: bool = False

    @property
    def balance(self) -> int:
        """What the purse still holds: loaded - honoured vouchers - unloaded."""
        return self.loaded - self.spent - self.unloaded


@dataclass(frozen=True)
class Voucher:
    id: int
    voucher_id: str
    payer_purse_id: int
    payee_purse_id: int
    amount: int
    counter: int
    time: datetime
    status: str
    refusal: str | None
    covered_by: str | None  # the loss bearer's operator code
    credit: str
    uploaded_at: datetime
    validate_at: datetime
    validated_at: datetime | None


@dataclass(frozen=True)
class VoucherIn:
    """A voucher as uploaded (``amount`` in fen; ``time`` an aware instant,
    kept to the second as the canonical encoding has it)."""

    payer: int
    payee: int
    amount: int
    counter: int
    time: datetime
    signature: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "time", self.time.astimezone(UTC).replace(microsecond=0))


@dataclass(frozen=True)
class SyncItem:
    result: str
    voucher_id: str | None
    code: str | None = None
    detail: str | None = None
    voucher: Voucher | None = None


@dataclass(frozen=True)
class SyncResult:
    items: list[SyncItem]
    changed: list[Voucher]  # vouchers synced before whose status this sync changed


# ---- the rule -------------------------------------------------------------------


def judge(
    vouchers: Iterable[tuple[str, int, int]], capacity: int
) -> dict[str, tuple[str, str | None]]:
    """The status (and refusal code) of each of a purse's vouchers, given as
    (voucher id, counter, amount), for a purse loaded with ``capacity``: a
    function of the set alone (module docstring)."""
    by_counter: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for vid, counter, amount in vouchers:
        by_counter[counter].append((vid, amount))
    out: dict[str, tuple[str, str | None]] = {}
    running, overdrawn = 0, False
    for counter in sorted(by_counter):
        (kept, amount), *others = sorted(by_counter[counter])
        for vid, _ in others:
            out[vid] = (REFUSED, errors.OFFLINE_COUNTER_REUSED)
        if not overdrawn and running + amount <= capacity:
            running += amount
            out[kept] = (HONOURED, None)
        else:
            overdrawn = True
            out[kept] = (REFUSED, errors.OFFLINE_PURSE_OVERDRAWN)
    return out


# ---- reading -------------------------------------------------------------------


def _purse_select():
    return sa.select(
        offline_purses, wallets.c.operator_id, wallets.c.status.label("wallet_status")
    ).join(wallets, wallets.c.id == offline_purses.c.wallet_id)


def _to_purse(row: sa.Row) -> Purse:
    return Purse(
        id=row.id,
        wallet_id=row.wallet_id,
        operator_id=row.operator_id,
        device_key=row.device_key,
        status=row.status,
        frozen=bool(row.frozen),
        loaded=row.loaded,
        spent=row.spent,
        unloaded=row.unloaded,
        counter=row.counter,
        created_at=row.created_at,
        frozen_at=row.frozen_at,
        unload_due_at=row.unload_due_at,
        unloaded_at=row.unloaded_at,
        wallet_closed=row.wallet_status == wl.CLOSED,
    )


def _purses(tx: Tx, ids: Iterable[int], lock: bool = False) -> dict[int, Purse]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    stmt = _purse_select().where(offline_purses.c.id.in_(wanted)).order_by(offline_purses.c.id)
    if lock:
        # Purse rows in id order, before any account (the posting locks those).
        stmt = stmt.with_for_update(of=offline_purses)
    return {r.id: _to_purse(r) for r in tx.conn.execute(stmt)}


def _visible(tx: Tx, purse_id: int, actor: Principal, lock: bool = False) -> Purse:
    found = _purses(tx, [purse_id], lock).get(purse_id)
    if found is None or not actor.sees_wallets_of(found.operator_id):
        raise errors.DomainError(errors.OFFLINE_PURSE_NOT_FOUND, f"no offline purse {purse_id}")
    return found


def get(tx: Tx, purse_id: int, actor: Principal) -> Purse:
    return _visible(tx, purse_id, actor)


def list_for_wallet(
    tx: Tx, wallet_id: int, actor: Principal, after: int | None, limit: int
) -> list[Purse]:
    wl.get(tx, wallet_id, actor)
    stmt = (
        _purse_select()
        .where(offline_purses.c.wallet_id == wallet_id)
        .order_by(offline_purses.c.id)
        .limit(limit)
    )
    if after is not None:
        stmt = stmt.where(offline_purses.c.id > after)
    return [_to_purse(r) for r in tx.conn.execute(stmt)]


def _to_voucher(row: sa.Row, codes: dict[int, str]) -> Voucher:
    return Voucher(
        id=row.id,
        voucher_id=row.voucher_id,
        payer_purse_id=row.payer_purse_id,
        payee_purse_id=row.payee_purse_id,
        amount=row.amount,
        counter=row.counter,
        time=row.signed_at,
        status=row.status,
        refusal=row.refusal,
        covered_by=codes.get(row.covered_by) if row.covered_by else None,
        credit=row.credit,
        uploaded_at=row.uploaded_at,
        validate_at=row.validate_at,
        validated_at=row.validated_at,
    )


def vouchers_of(
    tx: Tx, purse_id: int, actor: Principal, after: int | None, limit: int
) -> list[Voucher]:
    """A purse's vouchers, as payer or payee, in the order they were first synced."""
    _visible(tx, purse_id, actor)
    v = offline_vouchers
    stmt = (
        sa.select(v)
        .where(sa.or_(v.c.payer_purse_id == purse_id, v.c.payee_purse_id == purse_id))
        .order_by(v.c.id)
        .limit(limit)
    )
    if after is not None:
        stmt = stmt.where(v.c.id > after)
    codes = ops.codes_by_id(tx)
    return [_to_voucher(r, codes) for r in tx.conn.execute(stmt)]


# ---- loading -------------------------------------------------------------------


def open_purse(tx: Tx, actor: Principal, *, wallet_id: int, device_key: str, amount: int) -> Purse:
    """Register a device's purse for the wallet and load ``amount`` into it."""
    require_mover(actor)
    w = wl.get(tx, wallet_id, actor)
    try:
        vf.parse_device_key(device_key)
    except ValueError as exc:
        raise errors.DomainError(
            errors.VALIDATION_FAILED,
            f"device_key: {exc}",
            errors={"device_key": [str(exc)]},
        ) from exc
    p = offline_purses
    open_one = tx.conn.execute(
        sa.select(p.c.id).where(p.c.wallet_id == w.id, p.c.status != UNLOADED)
    ).first()
    if open_one is not None:
        raise errors.DomainError(
            errors.OFFLINE_PURSE_EXISTS,
            f"wallet {w.id} has offline purse {open_one.id}",
            purse_id=open_one.id,
        )
    if tx.conn.execute(sa.select(p.c.id).where(p.c.device_key == device_key)).first():
        raise errors.DomainError(
            errors.OFFLINE_DEVICE_KEY_IN_USE, "another offline purse registered this device key"
        )
    purse_id = inserted_id(
        tx.conn.execute(
            p.insert().values(
                wallet_id=w.id, device_key=device_key, status=ACTIVE, created_at=tx.now()
            )
        )
    )
    _emit(tx, "offline_purse.opened", _reread(tx, purse_id))
    return load(tx, purse_id, actor, amount)


def load(tx: Tx, purse_id: int, actor: Principal, amount: int) -> Purse:
    """Top the purse up from its wallet, up to the profile's ``offline.purse_cap``."""
    require_mover(actor)
    purse = _visible(tx, purse_id, actor, lock=True)
    if purse.status != ACTIVE:
        raise errors.DomainError(
            errors.OFFLINE_PURSE_UNLOADED, f"offline purse {purse.id} is {purse.status}"
        )
    if purse.frozen:
        raise errors.DomainError(errors.OFFLINE_PURSE_FROZEN, f"offline purse {purse.id} is frozen")
    cap = _rules(tx).purse_cap
    if purse.balance + amount > cap:
        raise errors.DomainError(
            errors.OFFLINE_PURSE_CAP_EXCEEDED,
            f"offline purse {purse.id} holds {format_amount(purse.balance)}; "
            f"the cap is {format_amount(cap)}",
            balance=format_amount(purse.balance),
            cap=format_amount(cap),
        )
    w = wl.find(tx, purse.wallet_id)
    assert w is not None, "a purse's wallet exists"
    escrow = operator_accounts(tx, {w.operator_id})[w.operator_id]["offline"]
    to_own_escrow(
        tx,
        w,
        escrow,
        amount,
        kind="offline_load",
        doing="loading",
        reference=f"offline purse {purse.id}",
    )
    _update(tx, purse.id, loaded=offline_purses.c.loaded + amount)
    return _emit(tx, "offline_purse.loaded", _reread(tx, purse.id))


# ---- sync ----------------------------------------------------------------------


def sync(tx: Tx, actor: Principal, uploaded: list[VoucherIn]) -> SyncResult:
    """Check and keep the uploaded vouchers, judge their purses' vouchers
    again, and post what changed (module docstring)."""
    require_mover(actor)
    if len(uploaded) > MAX_SYNC:
        raise errors.DomainError(
            errors.VALIDATION_FAILED,
            f"at most {MAX_SYNC} vouchers a sync",
            errors={"vouchers": [f"at most {MAX_SYNC} items"]},
        )
    rules = _rules(tx)
    # The payers' purses, locked in id order: syncs of one purse queue here.
    payers = _purses(tx, {u.payer for u in uploaded}, lock=True)
    payees = _purses(tx, {u.payee for u in uploaded} - payers.keys())
    purses = {**payees, **payers}
    items: list[SyncItem | None] = [None] * len(uploaded)
    fresh: dict[str, tuple[int, VoucherIn]] = {}  # voucher id -> (first index, voucher)
    repeats: dict[int, str] = {}
    for i, u in enumerate(uploaded):
        message = vf.voucher_message(u.payer, u.payee, u.amount, u.counter, u.time)
        vid = vf.voucher_id(message)
        refusal = _check(u, purses, actor, message, rules.purse_cap)
        if refusal is not None:
            items[i] = SyncItem(REJECTED, vid, refusal.code, refusal.detail)
        elif vid in fresh:
            repeats[i] = vid
        else:
            fresh[vid] = (i, u)
    v = offline_vouchers
    known = tx.conn.execute(sa.select(v.c.voucher_id).where(v.c.voucher_id.in_(list(fresh))))
    for vid in known.scalars().all():
        i, _ = fresh.pop(vid)
        repeats[i] = vid
    now = tx.now()
    validate_at = now + timedelta(hours=rules.validation_hours)
    new_ids = set(fresh)
    if fresh:
        tx.conn.execute(
            v.insert(),
            [
                {
                    "voucher_id": vid,
                    "payer_purse_id": u.payer,
                    "payee_purse_id": u.payee,
                    "amount": u.amount,
                    "counter": u.counter,
                    "signed_at": u.time,
                    "signature": u.signature,
                    # Judged below, with the purse's other vouchers.
                    "status": HONOURED,
                    "refusal": None,
                    "covered_by": None,
                    "credit": PENDING,
                    "uploaded_at": now,
                    "validate_at": validate_at,
                    "validated_at": None,
                }
                for vid, (_, u) in fresh.items()
            ],
        )
    drafts, changed = _judge_purses(
        tx, rules, [payers[pid] for pid in sorted({u.payer for _, u in fresh.values()})], new_ids
    )
    _post(tx, drafts)
    wanted = list(new_ids | set(repeats.values()))
    rows = {
        r.voucher_id: r for r in tx.conn.execute(sa.select(v).where(v.c.voucher_id.in_(wanted)))
    }
    codes = ops.codes_by_id(tx)
    for vid, (i, _) in fresh.items():
        items[i] = SyncItem(SYNCED, vid, voucher=_to_voucher(rows[vid], codes))
    for i, vid in repeats.items():
        items[i] = SyncItem(DUPLICATE, vid, voucher=_to_voucher(rows[vid], codes))
    changed_rows = tx.conn.execute(
        sa.select(v).where(v.c.voucher_id.in_(changed)).order_by(v.c.id)
    ).all()
    return SyncResult(
        items=[it for it in items if it is not None],
        changed=[_to_voucher(r, codes) for r in changed_rows],
    )


def _check(
    u: VoucherIn, purses: dict[int, Purse], actor: Principal, message: bytes, cap: int
) -> Refusal | None:
    """Why an uploaded voucher is not kept at all (nothing of it is stored)."""
    payer, payee = purses.get(u.payer), purses.get(u.payee)
    if (
        payer is None
        or payee is None
        or not (
            actor.sees_wallets_of(payer.operator_id) or actor.sees_wallets_of(payee.operator_id)
        )
    ):
        # One answer whichever is missing or out of scope: it tells nothing of the other.
        return Refusal(
            errors.OFFLINE_PURSE_NOT_FOUND, f"no offline purses {u.payer} and {u.payee} to sync"
        )
    if payer.id == payee.id:
        return Refusal(errors.OFFLINE_SAME_PURSE, f"purse {payer.id} pays itself")
    if payee.wallet_closed:
        # Its money would have nowhere to go (the wallet closed after the purse was unloaded).
        return Refusal(
            errors.WALLET_CLOSED,
            f"the payee purse {payee.id}'s wallet {payee.wallet_id} is closed",
            {"wallet_id": payee.wallet_id},
        )
    if u.amount > cap:
        # No purse ever holds more: no device signs it, and no loss bearer pays it.
        return Refusal(
            errors.OFFLINE_PURSE_CAP_EXCEEDED,
            f"a voucher of {format_amount(u.amount)} is above the purse cap {format_amount(cap)}",
        )
    if not vf.verify(payer.device_key, message, u.signature):
        return Refusal(
            errors.OFFLINE_BAD_SIGNATURE,
            f"the signature is not purse {payer.id}'s device key's over the voucher's "
            "canonical encoding (docs/offline.md#vouchers)",
        )
    return None


def _judge_purses(
    tx: Tx, rules: OfflineRules, payers: list[Purse], new_ids: set[str]
) -> tuple[list[TransferDraft], list[str]]:
    """Judge each purse's vouchers again; the drafts that make the ledger say
    it, and the ids of the vouchers synced before whose status changed."""
    v = offline_vouchers
    covers: list[TransferDraft] = []  # credits to the purses' OFFLINE accounts first
    debits: list[TransferDraft] = []
    changed: list[str] = []
    rows = tx.conn.execute(
        sa.select(v)
        .where(v.c.payer_purse_id.in_([p.id for p in payers]))
        .order_by(v.c.payer_purse_id, v.c.counter, v.c.voucher_id)
    ).all()
    by_purse: dict[int, list[sa.Row]] = defaultdict(list)
    for r in rows:
        by_purse[r.payer_purse_id].append(r)
    payees = _purses(tx, {r.payee_purse_id for r in rows})
    op_accounts = operator_accounts(
        tx,
        {p.operator_id for p in payers}
        | {p.operator_id for p in payees.values()}
        | {r.covered_by for r in rows if r.covered_by is not None},
    )

    def move(kind: str, r: sa.Row, purse: Purse, src: tuple[int, str], dst: tuple[int, str]):
        payee = payees[r.payee_purse_id]
        return TransferDraft(
            kind=kind,
            asset=ECNY,
            amount=r.amount,
            legs=wallet_to_wallet_legs(
                op_accounts[src[0]][src[1]],
                src[0],
                op_accounts[dst[0]][dst[1]],
                dst[0],
                r.amount,
                op_accounts,
            ),
            from_wallet_id=purse.wallet_id,
            to_wallet_id=payee.wallet_id,
            from_operator_id=src[0],
            to_operator_id=dst[0],
            reference=f"offline voucher {r.voucher_id}",
        )

    for purse in payers:
        mine = by_purse[purse.id]
        verdict: dict[str, tuple[str, str | None]]
        if purse.status == UNLOADED:
            # What it honoured is final; what comes now is the loss bearer's.
            verdict = {
                r.voucher_id: (REFUSED, errors.OFFLINE_PURSE_UNLOADED)
                for r in mine
                if r.voucher_id in new_ids
            }
        else:
            verdict = judge(((r.voucher_id, r.counter, r.amount) for r in mine), purse.loaded)
        own = (purse.operator_id, "offline")
        for r in mine:
            if r.voucher_id not in verdict:
                continue
            status, refusal = verdict[r.voucher_id]
            new = r.voucher_id in new_ids
            if not new and (status, refusal) == (r.status, r.refusal):
                continue
            pending = (payees[r.payee_purse_id].operator_id, "offline_pending")
            bearer = (
                purse.operator_id
                if rules.loss_bearer == "payer_operator"
                else payees[r.payee_purse_id].operator_id
            )
            values: dict = {"status": status, "refusal": refusal}
            if new and status == HONOURED:
                debits.append(move("offline_payment", r, purse, own, pending))
            elif new:  # refused at once: the bearer pays the payee
                values["covered_by"] = bearer
                debits.append(move("offline_loss", r, purse, (bearer, "vault"), pending))
            elif status == r.status:  # refused still, for another reason: no money moves
                changed.append(r.voucher_id)
            elif status == REFUSED:  # honoured before: the bearer pays the purse back
                values["covered_by"] = bearer
                covers.append(move("offline_loss", r, purse, (bearer, "vault"), own))
                changed.append(r.voucher_id)
            else:  # refused before, honoured now: the purse repays the bearer
                values["covered_by"] = None
                debits.append(move("offline_recovery", r, purse, own, (r.covered_by, "vault")))
                changed.append(r.voucher_id)
            tx.conn.execute(v.update().where(v.c.id == r.id).values(**values))
        _settle_purse(tx, purse, mine, verdict)
    return covers + debits, changed


def _post(tx: Tx, drafts: list[TransferDraft]) -> None:
    """Post the sync's movements in one go, or refuse the sync (a loss bearer's
    vault short of the loss: ``insufficient_vault_funds``)."""
    if not drafts:
        return
    posting = Posting(tx, [a for d in drafts for leg in d.legs for a in (leg.debit, leg.credit)])
    for d in drafts:
        posting.add(d)
    for r in posting.commit():
        if isinstance(r, Refusal):
            raise r.error()


def _settle_purse(
    tx: Tx, purse: Purse, mine: list[sa.Row], verdict: dict[str, tuple[str, str | None]]
) -> None:
    """The purse's figures from its judged vouchers; frozen (and an alert) at
    its first double spend."""
    status = {r.voucher_id: verdict.get(r.voucher_id, (r.status, r.refusal)) for r in mine}
    spent = sum(r.amount for r in mine if status[r.voucher_id][0] == HONOURED)
    counter = max((r.counter for r in mine), default=0)
    double = [r for r in mine if status[r.voucher_id][1] in DOUBLE_SPENDS]
    values: dict = {"counter": counter}
    if purse.status != UNLOADED:
        values["spent"] = spent
    if double and not purse.frozen:
        values.update(frozen=True, frozen_at=tx.now())
    _update(tx, purse.id, **values)
    if double and not purse.frozen:
        frozen = _emit(tx, "offline_purse.frozen", _reread(tx, purse.id))
        alerts.raise_alert(
            tx,
            "offline_double_spend",
            wallet_id=purse.wallet_id,
            operator_id=purse.operator_id,
            evidence={
                "purse": purse.id,
                "vouchers": [
                    {
                        "voucher_id": r.voucher_id,
                        "counter": r.counter,
                        "amount": format_amount(r.amount),
                        "refusal": status[r.voucher_id][1],
                    }
                    for r in double
                ],
                "loaded": format_amount(frozen.loaded),
            },
            summary=f"offline purse {purse.id} of wallet {purse.wallet_id} spent twice: "
            f"{len(double)} voucher(s) refused, the purse frozen",
            dedupe_key=f"offline_double_spend:{purse.id}",
        )


# ---- validation and unloading ------------------------------------------------------


def unload(
    tx: Tx, purse_id: int, actor: Principal, counter: int | None, signature: str | None
) -> Purse:
    """Return what the purse holds to its wallet: at once when the device's
    signed statement of its last counter shows every voucher up to it synced
    (a frozen purse's device is not believed), else once
    ``offline.unload_wait_hours`` have passed."""
    require_mover(actor)
    purse = _visible(tx, purse_id, actor, lock=True)
    if purse.status == UNLOADED:
        raise errors.DomainError(
            errors.OFFLINE_PURSE_UNLOADED, f"offline purse {purse.id} is unloaded"
        )
    if (counter is None) != (signature is None):
        raise errors.DomainError(
            errors.VALIDATION_FAILED,
            "give both counter and signature, or neither",
            errors={"signature" if signature is None else "counter": ["give both or neither"]},
        )
    proven = False
    if counter is not None and signature is not None:
        if not vf.verify(purse.device_key, vf.unload_message(purse.id, counter), signature):
            raise errors.DomainError(
                errors.OFFLINE_BAD_SIGNATURE,
                f"the signature is not purse {purse.id}'s device key's over its unload "
                "statement (docs/offline.md#vouchers)",
            )
        proven = not purse.frozen and _all_synced(tx, purse, counter)
    if proven or (purse.status == UNLOADING and _due(purse, tx.now())):
        return _complete_unload(tx, purse)
    if purse.status == ACTIVE:
        due = tx.now() + timedelta(hours=_rules(tx).unload_wait_hours)
        _update(tx, purse.id, status=UNLOADING, unload_due_at=due)
        return _emit(tx, "offline_purse.unload_requested", _reread(tx, purse.id))
    return purse


def _due(purse: Purse, now: datetime) -> bool:
    return purse.unload_due_at is not None and purse.unload_due_at <= now


def _all_synced(tx: Tx, purse: Purse, counter: int) -> bool:
    """Every counter from 1 to the device's last one has a voucher, and none above it."""
    v = offline_vouchers
    seen = {
        c
        for (c,) in tx.conn.execute(
            sa.select(v.c.counter).where(v.c.payer_purse_id == purse.id).distinct()
        )
    }
    return seen == set(range(1, counter + 1))


def _complete_unload(tx: Tx, purse: Purse) -> Purse:
    remaining = purse.balance
    if remaining > 0:
        w = wl.find(tx, purse.wallet_id)
        assert w is not None, "a purse's wallet exists"
        escrow = operator_accounts(tx, {w.operator_id})[w.operator_id]["offline"]
        # No class limits: the money was the holder's already (docs/offline.md).
        Posting(tx, [escrow, w.account_id]).post(
            TransferDraft(
                kind="offline_unload",
                asset=ECNY,
                amount=remaining,
                legs=[Leg(escrow, w.account_id, remaining, ECNY)],
                to_wallet_id=w.id,
                from_operator_id=w.operator_id,
                to_operator_id=w.operator_id,
                reference=f"offline purse {purse.id}",
            )
        )
    _update(tx, purse.id, status=UNLOADED, unloaded=remaining, unloaded_at=tx.now())
    return _emit(tx, "offline_purse.unloaded", _reread(tx, purse.id))


_ANY_VALIDATION_DUE = (
    sa.select(offline_vouchers.c.id)
    .where(
        offline_vouchers.c.credit == PENDING, offline_vouchers.c.validate_at <= sa.bindparam("now")
    )
    .limit(1)
)
_ANY_UNLOAD_DUE = (
    sa.select(offline_purses.c.id)
    .where(
        offline_purses.c.status == UNLOADING,
        offline_purses.c.unload_due_at <= sa.bindparam("now"),
    )
    .limit(1)
)


def any_due(tx: Tx) -> bool:
    """Whether a voucher's validation or a purse's unload is due (two index probes)."""
    now = tx.now()
    return bool(tx.rows(_ANY_VALIDATION_DUE, now=now) or tx.rows(_ANY_UNLOAD_DUE, now=now))


def settle_due_if_any_in(tx: Tx) -> None:
    """Validate the vouchers and complete the unloads that are due, after a cheap check."""
    if any_due(tx):
        settle_due(tx)


def settle_due(tx: Tx) -> None:
    """Every validation and unload the sandbox clock has reached."""
    now = tx.now()
    v = offline_vouchers
    due_purses = (
        tx.conn.execute(
            sa.select(offline_purses.c.id)
            .where(offline_purses.c.status == UNLOADING, offline_purses.c.unload_due_at <= now)
            .order_by(offline_purses.c.id)
        )
        .scalars()
        .all()
    )
    for purse in _purses(tx, due_purses, lock=True).values():
        # Read again under its lock: a concurrent write may have completed it.
        if purse.status == UNLOADING:
            _complete_unload(tx, purse)
    due = tx.conn.execute(
        sa.select(v.c.id, v.c.amount, v.c.voucher_id, v.c.payee_purse_id)
        .where(v.c.credit == PENDING, v.c.validate_at <= now)
        .order_by(v.c.id)
        .with_for_update()
    ).all()
    if not due:
        return
    payees = _purses(tx, {r.payee_purse_id for r in due})
    found = wl.find_many(tx, {p.wallet_id for p in payees.values()})
    op_accounts = operator_accounts(tx, {w.operator_id for w in found.values()})
    drafts = []
    for r in due:
        w = found[payees[r.payee_purse_id].wallet_id]
        pending = op_accounts[w.operator_id]["offline_pending"]
        drafts.append(
            TransferDraft(
                kind="offline_validation",
                asset=ECNY,
                amount=r.amount,
                legs=[Leg(pending, w.account_id, r.amount, ECNY)],
                to_wallet_id=w.id,
                from_operator_id=w.operator_id,
                to_operator_id=w.operator_id,
                reference=f"offline voucher {r.voucher_id}",
            )
        )
    # No class limits: the payee received the money offline already (docs/offline.md).
    posting = Posting(tx, [a for d in drafts for leg in d.legs for a in (leg.debit, leg.credit)])
    for d in drafts:
        posting.add(d)
    for result in posting.commit():
        if isinstance(result, Refusal):  # pragma: no cover - pending holds every voucher's money
            raise result.error()
    tx.conn.execute(
        v.update().where(v.c.id.in_([r.id for r in due])).values(credit=VALIDATED, validated_at=now)
    )


# ---- helpers -----------------------------------------------------------------------


def _rules(tx: Tx) -> OfflineRules:
    return active_profile(tx).offline


def _update(tx: Tx, purse_id: int, **values) -> None:
    tx.conn.execute(
        offline_purses.update()
        .where(offline_purses.c.id == purse_id)
        .values(**values, version=offline_purses.c.version + 1)
    )


def _reread(tx: Tx, purse_id: int) -> Purse:
    return _purses(tx, [purse_id])[purse_id]


def document(p: Purse) -> dict:
    """The purse as ``GET /v1/offline/purses/{id}`` renders it (``PurseOut``)."""
    return {
        "id": p.id,
        "wallet": p.wallet_id,
        "device_key": p.device_key,
        "status": p.status,
        "frozen": p.frozen,
        "loaded": format_amount(p.loaded),
        "spent": format_amount(p.spent),
        "unloaded": format_amount(p.unloaded),
        "balance": format_amount(p.balance),
        "counter": p.counter,
        "created_at": p.created_at,
        "frozen_at": p.frozen_at,
        "unload_due_at": p.unload_due_at,
        "unloaded_at": p.unloaded_at,
    }


def _emit(tx: Tx, type_: str, p: Purse) -> Purse:
    outbox.emit(tx, outbox.Event(type_, document(p), operator_id=p.operator_id))
    return p
