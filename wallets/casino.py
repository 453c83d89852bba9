"""Casinos (SPEC.md §7): registration and the cage's buy-ins, plays and cash-outs.

A casino has a merchant wallet at an operator, a government treasury wallet
its gaming taxes go to, a float its wallet keeps after each day's sweep, and
its own chip asset ``CHIP:<ref>``: the casino's chip issuance account
``CASINO:<ref>:CHIPS`` (may go negative: its balance is minus the chips out
with players) and one chip account per player, ``W:<id>:CHIP:<ref>`` (never
negative). A chip is worth one fen of CNY.

Each cage operation is one linked chain of transfers, standing or falling as one:

    buy-in    player wallet -> casino wallet (an e-CNY payment); chip_issue to the player
    play      wager: player chips -> casino; payout (when the player wins something back)
    cash-out  chip_return: player chips -> casino; casino wallet -> player wallet (a payment)

A player is never a merchant's, a casino's or a treasury's wallet
(``not_a_player``). A buy-in, the one operation that debits the player's
e-CNY, needs the holder's consent: a payment code of the player's wallet
(payment_codes.py), consumed in the buy-in's transaction, when the profile
requires it.

The e-CNY legs are built by payments.payment_draft, so they follow the
sandbox's settlement model, and the wallet-class limits apply (LimitBook).
Blocking rules run first (rules/cage.py); then the operation is posted,
recorded per player and gaming day, and the detection rules run — all in the
caller's one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache

import sqlalchemy as sa

from . import errors, payment_codes, payments
from . import wallet as wl
from .alerts import Alert
from .clock import gaming_day_of
from .db import Tx
from .ledger import Leg, PostedTransfer, Posting, Refusal, TransferDraft, chip_asset
from .principal import ADMIN, CASINO_REF_RE, MERCHANT, SUPERVISOR, SYSTEM, Principal
from .rules import active_profile, cage
from .rules.profile import CasinoRules
from .schema import (
    accounts,
    api_keys,
    casino_player_days,
    casino_transactions,
    casinos,
    gaming_days,
    operators,
)
from .schema import wallets as wallets_table

BUY_IN, PLAY, CASH_OUT = "buy_in", "play", "cash_out"


@dataclass(frozen=True)
class Casino:
    id: int
    ref: str
    name: str
    operator_id: int
    operator_code: str
    merchant_wallet_id: int
    treasury_wallet_id: int
    chip_account_id: int
    float_amount: int
    created_at: datetime

    @property
    def chip_asset(self) -> str:
        return chip_asset(self.ref)


def chip_issuance_code(ref: str) -> str:
    return f"CASINO:{ref}:CHIPS"


def rules_of(tx: Tx) -> CasinoRules:
    """The active profile's casino rules; a profile without them cannot run a cage."""
    profile = active_profile(tx)
    if profile.casino is None:
        raise errors.DomainError(
            errors.CASINO_RULES_UNAVAILABLE,
            f"the active rule profile {profile.name!r} has no casino rules "
            "(select the macau profile: PUT /v1/sandbox/profile)",
        )
    return profile.casino


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
    phone_secret: str,
) -> Casino:
    """Register a casino: its merchant wallet (given, or opened at ``operator_code``),
    its chip issuance account, its treasury wallet and supervisors. The merchant
    wallet is funded up to the float from its operator's vault."""
    if not CASINO_REF_RE.fullmatch(ref):
        raise _invalid("ref", "must be 2-16 capitals, digits or _, starting with a capital")
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
    now = tx.now()
    chip_account_id = tx.conn.execute(
        accounts.insert().values(
            code=chip_issuance_code(ref),
            asset=chip_asset(ref),
            kind="chip_issuance",
            may_go_negative=True,
            created_at=now,
        )
    ).inserted_primary_key[0]
    tx.conn.execute(
        casinos.insert().values(
            ref=ref,
            name=name,
            merchant_wallet_id=merchant.id,
            treasury_wallet_id=treasury.id,
            chip_account_id=chip_account_id,
            float_amount=float_amount,
            created_at=now,
        )
    )
    for key_id in supervisor_key_ids:
        _add_supervisor(tx, key_id, ref)
    if merchant.balance < float_amount:
        payments.fund(tx, merchant.id, float_amount - merchant.balance, SYSTEM, f"float of {ref}")
    return find(tx, ref)


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
    if len(scope) > api_keys.c.casino_ref.type.length:
        raise _invalid("supervisors", f"key {key_id} supervises too many casinos to add {ref}")
    tx.conn.execute(api_keys.update().where(api_keys.c.id == key_id).values(casino_ref=scope))


@dataclass(frozen=True)
class CasinoFigures:
    merchant_balance: int
    chips_with_players: int
    supervisors: list[dict]


def figures(tx: Tx, c: Casino) -> CasinoFigures:
    merchant = wl.find(tx, c.merchant_wallet_id)
    issuance = tx.conn.execute(
        sa.select(accounts.c.debits_posted - accounts.c.credits_posted).where(
            accounts.c.id == c.chip_account_id
        )
    ).scalar_one()
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


# ---- the cage ----------------------------------------------------------------------


@dataclass(frozen=True)
class CageOperation:
    id: int
    casino_ref: str
    kind: str
    wallet_id: int
    gaming_day: date
    at: datetime
    amount: int
    payout: int
    transfers: list[PostedTransfer]
    alerts: list[Alert]


def _for_cage(tx: Tx, ref: str, actor: Principal) -> tuple[Casino, CasinoRules]:
    if actor.role not in (MERCHANT, ADMIN):
        raise errors.DomainError(errors.FORBIDDEN_ROLE, f"a {actor.role} does not run a cage")
    c, rules = get(tx, ref, actor), rules_of(tx)
    # Only a clock set back can reach a closed day; its report must stay true.
    day = gaming_day_of(tx.now(), rules.gaming_day_cutoff)
    closed = tx.rows(_CLOSED_DAY, casino_id=c.id, day=day)
    if closed:
        raise errors.DomainError(
            errors.GAMING_DAY_ALREADY_CLOSED,
            f"gaming day {day.isoformat()} of {ref} is closed: its cage takes no more operations",
        )
    return c, rules


_CLOSED_DAY = sa.select(sa.literal(1)).where(
    gaming_days.c.casino_id == sa.bindparam("casino_id"),
    gaming_days.c.gaming_day == sa.bindparam("day"),
)


def _player(tx: Tx, wallet_id: int) -> wl.Wallet:
    """The player's wallet: never a merchant's, a casino's or a treasury's (nor
    one of their sub-wallets), whatever the profile: their money is not a
    player's to stake, and a cage must not move it."""
    w = wl.find(tx, wallet_id)
    if w is None:
        raise errors.DomainError(errors.WALLET_NOT_FOUND, f"no wallet {wallet_id}", field="player")
    family = [w.id] if w.parent_id is None else [w.id, w.parent_id]
    if tx.conn.execute(_NOT_A_PLAYER, {"ids": family}).first() is not None:
        raise errors.DomainError(
            errors.NOT_A_PLAYER,
            f"wallet {w.id} is a merchant's, a casino's or a treasury's wallet: it does not play",
            field="player",
            wallet_id=w.id,
        )
    return w


# The wallet or its parent is merchant-kind, or some casino's own or treasury wallet.
_NOT_A_PLAYER = (
    sa.select(wallets_table.c.id)
    .where(
        wallets_table.c.id.in_(sa.bindparam("ids", expanding=True)),
        sa.or_(
            wallets_table.c.kind == "merchant",
            sa.exists().where(
                sa.or_(
                    casinos.c.merchant_wallet_id == wallets_table.c.id,
                    casinos.c.treasury_wallet_id == wallets_table.c.id,
                )
            ),
        ),
    )
    .limit(1)
)


def player_chip_account(tx: Tx, c: Casino, player: wl.Wallet) -> int:
    """The player's chip account at this casino, opened at first use."""
    found = tx.rows(_CHIP_ACCOUNT, wallet_id=player.id, asset=c.chip_asset)
    if found:
        return found[0][0]
    tx.run(
        _OPEN_CHIP_ACCOUNT,
        code=wl.wallet_account_code(player.id, c.chip_asset),
        asset=c.chip_asset,
        wallet_id=player.id,
        created_at=tx.now(),
    )
    return tx.rows(_CHIP_ACCOUNT, wallet_id=player.id, asset=c.chip_asset)[0][0]


_CHIP_ACCOUNT = sa.select(accounts.c.id).where(
    accounts.c.wallet_id == sa.bindparam("wallet_id"), accounts.c.asset == sa.bindparam("asset")
)
# Two cage operations of one new player may race to open it: the second does nothing.
_OPEN_CHIP_ACCOUNT = Tx.upsert(
    lambda insert: (
        insert(accounts)
        .values(
            code=sa.bindparam("code"),
            asset=sa.bindparam("asset"),
            kind="chips",
            wallet_id=sa.bindparam("wallet_id"),
            may_go_negative=False,
            created_at=sa.bindparam("created_at"),
        )
        .on_conflict_do_nothing(index_elements=["wallet_id", "asset"])
    )
)


def _chip_draft(
    c: Casino, kind: str, amount: int, debit: int, credit: int, player: wl.Wallet, ref: str | None
) -> TransferDraft:
    to_player = debit == c.chip_account_id
    return TransferDraft(
        kind=kind,
        asset=c.chip_asset,
        amount=amount,
        legs=[Leg(debit, credit, amount, c.chip_asset)],
        from_wallet_id=None if to_player else player.id,
        to_wallet_id=player.id if to_player else None,
        reference=ref,
    )


def post_linked(
    tx: Tx,
    drafts: list[TransferDraft],
    *,
    lock: list[int],
    parties: list[tuple[wl.Wallet, str]],
    limits: bool,
) -> list[PostedTransfer]:
    """Post ``drafts`` as one linked chain, after locking their accounts (and
    ``lock``) and checking that every party's wallet is active; raise the
    refusal of the member that failed."""
    account_ids = [a for d in drafts for leg in d.legs for a in (leg.debit, leg.credit)]
    wallets = [w for w, _ in parties]
    posting = Posting(tx, [*account_ids, *lock], limits_for=wallets if limits else None)
    statuses = wl.current_statuses(tx, [w.id for w in wallets])
    refusal = next(
        filter(None, (payments.status_refusal(w.id, statuses[w.id], role) for w, role in parties)),
        None,
    )
    for i, draft in enumerate(drafts):
        draft.linked = i < len(drafts) - 1
        posting.add(draft, refusal if i == 0 else None)
    results = posting.commit()
    for r in results:
        if isinstance(r, Refusal) and r.code != errors.LINKED_TRANSFER_FAILED:
            raise r.error()
    return results  # type: ignore[return-value]


def ecny_payment(
    tx: Tx, payer: wl.Wallet, payee: wl.Wallet, amount: int, reference: str | None
) -> TransferDraft:
    op_accounts = payments.operator_accounts(tx, {payer.operator_id, payee.operator_id})
    req = payments.PaymentRequest(payer.id, payee.id, amount, reference)
    return payments.payment_draft(payer, payee, req, op_accounts)


def buy_in(
    tx: Tx,
    ref: str,
    actor: Principal,
    *,
    wallet_id: int,
    amount: int,
    reference: str | None,
    payment_code: str | None = None,
) -> CageOperation:
    """The player pays e-CNY into the casino's wallet and gets as many chips.
    The debit needs the player's consent: a payment code of the player's wallet
    (consumed here) when the profile requires one, and any code presented is
    checked. The code comes first: without consent the cage learns nothing of
    the wallet named (whether it exists, whose it is, age, exclusions)."""
    c, rules = _for_cage(tx, ref, actor)
    if payment_code is not None or rules.payment_code_required:
        payment_codes.consume(tx, payment_code, wallet_id=wallet_id, amount=amount, casino_id=c.id)
    player = _player(tx, wallet_id)
    cage.check_player(tx, rules, c, player, amount=amount, gaming=True, paying=True)
    merchant = wl.find(tx, c.merchant_wallet_id)
    chips = player_chip_account(tx, c, player)
    reference = reference or f"buy-in at {c.ref}"
    pay, issue = post_linked(
        tx,
        [
            ecny_payment(tx, player, merchant, amount, reference),
            _chip_draft(c, "chip_issue", amount, c.chip_account_id, chips, player, reference),
        ],
        lock=[],
        parties=[(player, "paying"), (merchant, "receiving")],
        limits=True,
    )
    return _record(tx, c, rules, player, BUY_IN, amount, 0, [pay, issue], ecny=pay, chips=issue)


def play(
    tx: Tx,
    ref: str,
    actor: Principal,
    *,
    wallet_id: int,
    wager: int,
    payout: int,
    reference: str | None,
) -> CageOperation:
    """A round: the player's wager goes to the casino, and the payout (stake
    included, 0 when the round is lost) comes back. The wager is turnover."""
    c, rules = _for_cage(tx, ref, actor)
    player = _player(tx, wallet_id)
    cage.check_player(tx, rules, c, player, amount=max(wager, payout), gaming=True, paying=False)
    chips = player_chip_account(tx, c, player)
    reference = reference or f"play at {c.ref}"
    drafts = [_chip_draft(c, "wager", wager, chips, c.chip_account_id, player, reference)]
    if payout:
        drafts.append(_chip_draft(c, "payout", payout, c.chip_account_id, chips, player, reference))
    # The player's e-CNY account is locked too: a freeze takes that lock.
    posted = post_linked(
        tx, drafts, lock=[player.account_id], parties=[(player, "playing")], limits=False
    )
    return _record(
        tx,
        c,
        rules,
        player,
        PLAY,
        wager,
        payout,
        posted,
        chips=posted[0],
        payout_transfer=posted[1] if payout else None,
    )


def cash_out(
    tx: Tx, ref: str, actor: Principal, *, wallet_id: int, amount: int, reference: str | None
) -> CageOperation:
    """The player returns chips and the casino's wallet pays as much e-CNY back."""
    c, rules = _for_cage(tx, ref, actor)
    player = _player(tx, wallet_id)
    cage.check_player(tx, rules, c, player, amount=amount, gaming=False, paying=False)
    merchant = wl.find(tx, c.merchant_wallet_id)
    chips = player_chip_account(tx, c, player)
    reference = reference or f"cash-out at {c.ref}"
    back, pay = post_linked(
        tx,
        [
            _chip_draft(c, "chip_return", amount, chips, c.chip_account_id, player, reference),
            ecny_payment(tx, merchant, player, amount, reference),
        ],
        lock=[],
        parties=[(player, "receiving"), (merchant, "paying")],
        limits=True,
    )
    return _record(tx, c, rules, player, CASH_OUT, amount, 0, [back, pay], ecny=pay, chips=back)


def _record(
    tx: Tx,
    c: Casino,
    rules: CasinoRules,
    player: wl.Wallet,
    kind: str,
    amount: int,
    payout: int,
    posted: list[PostedTransfer],
    *,
    chips: PostedTransfer,
    ecny: PostedTransfer | None = None,
    payout_transfer: PostedTransfer | None = None,
) -> CageOperation:
    """Keep the operation and its day's totals, then run the detection rules."""
    now = tx.now()
    day = gaming_day_of(now, rules.gaming_day_cutoff)
    ((op_id,),) = tx.rows(
        _INSERT_OPERATION,
        casino_id=c.id,
        kind=kind,
        wallet_id=player.id,
        holder_id=player.holder_id,
        gaming_day=day,
        at=now,
        amount=amount,
        payout=payout,
        ecny_transfer_id=ecny.id if ecny else None,
        chip_transfer_id=chips.id,
        payout_transfer_id=payout_transfer.id if payout_transfer else None,
    )
    tx.run(
        _ADD_TO_PLAYER_DAY,
        casino_id=c.id,
        gaming_day=day,
        wallet_id=player.id,
        holder_id=player.holder_id,
        buy_ins=amount if kind == BUY_IN else 0,
        cash_outs=amount if kind == CASH_OUT else 0,
        wagered=amount if kind == PLAY else 0,
        paid_out=payout,
    )
    op = CageOperation(
        id=op_id,
        casino_ref=c.ref,
        kind=kind,
        wallet_id=player.id,
        gaming_day=day,
        at=now,
        amount=amount,
        payout=payout,
        transfers=posted,
        alerts=[],
    )
    raised = cage.detect(tx, rules, c, player, op)
    return CageOperation(**{**op.__dict__, "alerts": raised})


_OPERATION_COLUMNS = (
    "casino_id",
    "kind",
    "wallet_id",
    "holder_id",
    "gaming_day",
    "at",
    "amount",
    "payout",
    "ecny_transfer_id",
    "chip_transfer_id",
    "payout_transfer_id",
)
_INSERT_OPERATION = (
    sa.insert(casino_transactions)
    .values({c: sa.bindparam(c) for c in _OPERATION_COLUMNS})
    .returning(casino_transactions.c.id)
)
# The player's totals of the gaming day, kept as the operations come.
_DAY_TOTALS = ("buy_ins", "cash_outs", "wagered", "paid_out")
_ADD_TO_PLAYER_DAY = Tx.upsert(
    lambda insert: (
        insert(casino_player_days)
        .values(
            {
                **{
                    c: sa.bindparam(c)
                    for c in ("casino_id", "gaming_day", "wallet_id", "holder_id", *_DAY_TOTALS)
                },
                "transactions": 1,
            }
        )
        .on_conflict_do_update(
            index_elements=["casino_id", "gaming_day", "wallet_id"],
            set_={
                **{
                    c: casino_player_days.c[c] + sa.literal_column(f"excluded.{c}")
                    for c in _DAY_TOTALS
                },
                "transactions": casino_player_days.c.transactions + 1,
            },
        )
    )
)


# ---- what supervisors read ---------------------------------------------------------


@dataclass(frozen=True)
class RecordedOperation:
    id: int
    casino_ref: str
    kind: str
    wallet_id: int
    holder_id: str
    gaming_day: date
    at: datetime
    amount: int
    payout: int
    transfer_ids: list[int]


def list_operations(
    tx: Tx,
    c: Casino,
    *,
    wallet_id: int | None = None,
    gaming_day: date | None = None,
    after: int | None = None,
    limit: int = 50,
) -> list[RecordedOperation]:
    ct = casino_transactions
    stmt = sa.select(ct).where(ct.c.casino_id == c.id).order_by(ct.c.id).limit(limit)
    if wallet_id is not None:
        stmt = stmt.where(ct.c.wallet_id == wallet_id)
    if gaming_day is not None:
        stmt = stmt.where(ct.c.gaming_day == gaming_day)
    if after is not None:
        stmt = stmt.where(ct.c.id > after)
    return [
        RecordedOperation(
            id=r.id,
            casino_ref=c.ref,
            kind=r.kind,
            wallet_id=r.wallet_id,
            holder_id=r.holder_id,
            gaming_day=r.gaming_day,
            at=r.at,
            amount=r.amount,
            payout=r.payout,
            transfer_ids=operation_transfer_ids(r),
        )
        for r in tx.conn.execute(stmt)
    ]


def operation_transfer_ids(row) -> list[int]:
    """The transfers of a recorded operation, in posting order."""
    ids = (
        [row.ecny_transfer_id, row.chip_transfer_id]
        if row.kind == BUY_IN
        else [row.chip_transfer_id, row.ecny_transfer_id, row.payout_transfer_id]
    )
    return [i for i in ids if i is not None]


def list_player_days(
    tx: Tx,
    c: Casino,
    *,
    gaming_day: date | None = None,
    wallet_id: int | None = None,
    after: str | None = None,
    limit: int = 50,
) -> list[sa.Row]:
    """Per player per gaming day: buy-ins, cash-outs, turnover, payouts, net result."""
    cpd = casino_player_days
    stmt = (
        sa.select(cpd)
        .where(cpd.c.casino_id == c.id)
        .order_by(cpd.c.gaming_day, cpd.c.wallet_id)
        .limit(limit)
    )
    if gaming_day is not None:
        stmt = stmt.where(cpd.c.gaming_day == gaming_day)
    if wallet_id is not None:
        stmt = stmt.where(cpd.c.wallet_id == wallet_id)
    if after is not None:
        day, wallet = _player_day_cursor(after)
        stmt = stmt.where(
            sa.or_(
                cpd.c.gaming_day > day,
                sa.and_(cpd.c.gaming_day == day, cpd.c.wallet_id > wallet),
            )
        )
    return tx.conn.execute(stmt).all()


def player_day_cursor(row) -> str:
    return f"{row.gaming_day.isoformat()}:{row.wallet_id}"


def _player_day_cursor(after: str) -> tuple[date, int]:
    day, _, wallet = after.partition(":")
    try:
        return date.fromisoformat(day), int(wallet)
    except ValueError:
        raise errors.DomainError(
            errors.VALIDATION_FAILED,
            "after: not a cursor of this list",
            errors={"after": ["not a valid cursor"]},
        ) from None
