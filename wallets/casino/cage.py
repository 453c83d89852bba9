"""The casino's cage (SPEC.md §7): buy-ins, plays and cash-outs (registration is registry.py).

A casino has a merchant wallet at an operator, a government treasury wallet
its gaming taxes go to, a float its wallet keeps after each day's sweep, and
its own chip asset ``CHIP:<ref>``: the casino's chip issuance account
``CASINO:<ref>:CHIPS`` (may go negative: its balance is minus the chips out
with players) and one chip account per player, ``W:<id>:CHIP:<ref>`` (never
negative). Chips are in the casino's chip currency: a chip unit is a fen
(CNY), a cent (HKD) or an avo (MOP); buy-ins and cash-outs convert at the rate
in force (casino/fx.py) and record it.

Each cage operation is one linked chain of transfers, standing or falling as one:

    buy-in    player wallet -> casino wallet (an e-CNY payment); chip_issue to the player
    play      wager: player chips -> casino; payout (when the player wins something back)
    cash-out  chip_return: player chips -> casino; casino wallet -> player wallet (a payment)

A player is never a merchant's, a casino's or a treasury's wallet
(``not_a_player``). A buy-in, the one operation that debits the player's
e-CNY, needs the holder's consent: a payment code of the player's wallet
(wallets/retail/payment_codes.py), consumed in the buy-in's transaction, when the profile
requires it.

The e-CNY legs are built by payments.payment_draft, so they follow the
sandbox's settlement model, and the wallet-class limits apply (LimitBook).
Blocking rules run first (rules.py); then the operation is posted,
recorded per player and gaming day, and the detection rules run — all in the
caller's one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa

from ..core import errors
from ..core.clock import gaming_day_of
from ..core.db import Tx, Upsert, inserted_id
from ..core.principal import ADMIN, MERCHANT, Principal, a_role
from ..core.schema import (
    accounts,
    casino_player_days,
    casino_transactions,
    casinos,
    chip_handovers,
    gaming_days,
)
from ..core.schema import wallets as wallets_table
from ..ledger.accounts import CHIP_PREFIX
from ..ledger.journal import PostedTransfer
from ..ledger.money import format_amount, format_rate
from ..ledger.posting import Leg, Posting, Refusal, TransferDraft
from ..retail import anonymity, payment_codes, payments
from ..retail import wallet as wl
from ..retail.limits import class_limits
from ..rules import casino_rules
from ..rules.profile import CasinoRules
from . import fx
from . import rules as cage_rules
from .model import BUY_IN, CASH_OUT, PLAY, CageOperation, Casino, operation_transfer_ids
from .registry import chips_in_circulation, get

# ---- the cage ----------------------------------------------------------------------


def for_cage(tx: Tx, ref: str, actor: Principal) -> tuple[Casino, CasinoRules]:
    if actor.role not in (MERCHANT, ADMIN):
        raise errors.DomainError(errors.FORBIDDEN_ROLE, f"{a_role(actor.role)} does not run a cage")
    c, rules = get(tx, ref, actor), casino_rules(tx)
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


def player_wallet(tx: Tx, wallet_id: int, field: str = "player") -> wl.Wallet:
    """The player's wallet: never a merchant's, a casino's or a treasury's (nor
    one of their sub-wallets), whatever the profile: their money is not a
    player's to stake, and a cage must not move it."""
    w = wl.find(tx, wallet_id)
    if w is None:
        raise errors.DomainError(errors.WALLET_NOT_FOUND, f"no wallet {wallet_id}", field=field)
    family = [w.id] if w.parent_id is None else [w.id, w.parent_id]
    if tx.conn.execute(_NOT_A_PLAYER, {"ids": family}).first() is not None:
        raise errors.DomainError(
            errors.NOT_A_PLAYER,
            f"wallet {w.id} is a merchant's, a casino's or a treasury's wallet: it does not play",
            field=field,
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
    # A fast path only: the upsert below finds an account opened already too.
    found = tx.rows(_CHIP_ACCOUNT, wallet_id=player.id, asset=c.chip_asset)  # pragma: no mutate
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


def chip_account_of(tx: Tx, c: Casino, wallet_id: int) -> int | None:
    """The player's chip account at this casino, if it has one (a read: opens none)."""
    found = tx.rows(_CHIP_ACCOUNT, wallet_id=wallet_id, asset=c.chip_asset)
    return found[0][0] if found else None


_CHIP_ACCOUNT = sa.select(accounts.c.id).where(
    accounts.c.wallet_id == sa.bindparam("wallet_id"), accounts.c.asset == sa.bindparam("asset")
)
# Two cage operations of one new player may race to open it: the second does
# nothing. No conflict target: the account's code is made of its wallet and
# asset, so on PostgreSQL the racing insert may meet either unique key first
# (code, or wallet and asset), and both mean "opened already".
_OPEN_CHIP_ACCOUNT = Upsert(
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
        .on_conflict_do_nothing()
    )
)


def chip_draft(
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
    posting = Posting(tx, [*account_ids, *lock], limits=class_limits(wallets) if limits else None)
    statuses = wl.current_statuses(tx, [w.id for w in wallets])
    refusal = next(
        filter(None, (payments.status_refusal(w.id, statuses[w.id], role) for w, role in parties)),
        None,
    )
    if refusal is not None:  # nothing is posted: the first party not active is named
        raise refusal.error()
    # The chain is the casino's business (its chips): who sees its events.
    casino_ref = next(
        (d.asset[len(CHIP_PREFIX) :] for d in drafts if d.asset.startswith(CHIP_PREFIX)), None
    )
    for i, draft in enumerate(drafts):
        # Linked for the ledger's sake: a refusal below is raised, which rolls
        # back the caller's transaction, so an unlinked chain leaves nothing either.
        draft.linked = i < len(drafts) - 1  # pragma: no mutate
        draft.casino_ref = draft.casino_ref or casino_ref
        posting.add(draft)
    results = posting.commit()
    for r in results:
        if isinstance(r, Refusal) and r.code != errors.LINKED_TRANSFER_FAILED:
            raise r.error()
    return results  # type: ignore[return-value]


def ecny_payment(
    tx: Tx, payer: wl.Wallet, payee: wl.Wallet, amount: int, reference: str | None
) -> TransferDraft:
    op_accounts = payments.operator_accounts(tx, {payer.operator_id, payee.operator_id})
    req = payments.PaymentRequest(
        payer.id,  # pragma: no mutate (payment_draft takes the wallets, not the request's ids)
        payee.id,  # pragma: no mutate (the same)
        amount,
        reference,
    )
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
    """The player pays ``amount`` e-CNY into the casino's wallet and gets its
    value in chips at the rate in force (as many for CNY chips; rounded down
    for HKD and MOP chips, casino/fx.py). The debit needs the player's consent: a payment code of the player's wallet
    (consumed here) when the profile requires one, and any code presented is
    checked. The code comes first: without consent the cage learns nothing of
    the wallet named (whether it exists, whose it is, age, exclusions)."""
    c, rules = for_cage(tx, ref, actor)
    if payment_code is not None or rules.payment_code_required:
        payment_codes.consume(tx, payment_code, wallet_id=wallet_id, amount=amount, casino_id=c.id)
    player = player_wallet(tx, wallet_id)
    rate = fx.rate_at(tx, c.chip_currency, tx.now())
    bought = fx.to_chips(amount, rate)
    fx.check_convertible(bought, amount, rate, c.chip_currency, "CNY into chips")
    cage_rules.check_player(tx, rules, c, player, amount=bought, gaming=True, paying=True)
    if c.chips_approved is not None:
        check_chips_approved(tx, c, bought)
    merchant = wl.existing(tx, c.merchant_wallet_id)
    chips = player_chip_account(tx, c, player)
    reference = reference or f"buy-in at {c.ref}"
    pay, issue = post_linked(
        tx,
        [
            ecny_payment(tx, player, merchant, amount, reference),
            chip_draft(c, "chip_issue", bought, c.chip_account_id, chips, player, reference),
        ],
        lock=[],
        parties=[(player, "paying"), (merchant, "receiving")],
        limits=True,
    )
    return _record(
        tx,
        c,
        rules,
        player,
        BUY_IN,
        bought,
        0,
        [pay, issue],
        ecny=pay,
        chips=issue,
        conversion=(amount, rate),
    )


def check_chips_approved(tx: Tx, c: Casino, amount: int) -> None:
    """Law 7/2022: the chips a concessionaire puts in circulation are subject to
    DICJ's approval: a buy-in that would take them past the approved figure is
    refused. The casino's row is locked first, so that two buy-ins cannot both
    pass on the same reading (a close locks it too)."""
    # The lock only serialises (SQLite's one writer's lock does already).
    row = sa.select(casinos.c.id).where(casinos.c.id == c.id)  # pragma: no mutate
    tx.conn.execute(row.with_for_update())
    in_circulation = chips_in_circulation(tx, c)
    assert c.chips_approved is not None
    if in_circulation + amount > c.chips_approved:
        raise errors.DomainError(
            errors.CHIPS_IN_CIRCULATION_EXCEEDED,
            f"{c.ref} has {format_amount(in_circulation)} chips in circulation of "
            f"{format_amount(c.chips_approved)} approved: a buy-in of {format_amount(amount)} "
            "would pass the approved figure",
            approved=format_amount(c.chips_approved),
            in_circulation=format_amount(in_circulation),
            requested=format_amount(amount),
        )


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
    c, rules = for_cage(tx, ref, actor)
    player = player_wallet(tx, wallet_id)
    cage_rules.check_player(
        tx,
        rules,
        c,
        player,
        amount=max(wager, payout),
        gaming=True,
        paying=False,  # pragma: no mutate (None is as false)
    )
    chips = player_chip_account(tx, c, player)
    reference = reference or f"play at {c.ref}"
    drafts = [chip_draft(c, "wager", wager, chips, c.chip_account_id, player, reference)]
    if payout:
        drafts.append(chip_draft(c, "payout", payout, c.chip_account_id, chips, player, reference))
    # The player's e-CNY account is locked too: a freeze takes that lock.
    posted = post_linked(
        tx,
        drafts,
        lock=[player.account_id],
        parties=[(player, "playing")],
        limits=False,  # pragma: no mutate (class limits count e-CNY only: None, False, True alike)
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
    tx: Tx,
    ref: str,
    actor: Principal,
    *,
    wallet_id: int,
    amount: int,
    reference: str | None,
    pay_to: int | None = None,
) -> CageOperation:
    """The player returns ``amount`` chips and the casino's wallet pays their
    value in e-CNY at the rate in force (as much for CNY chips; rounded down for
    HKD and MOP chips, casino/fx.py): to the player's wallet, or to ``pay_to``. A wallet that did not buy in at
    the casino that gaming day is a third party (FATF/APG 2009: winnings paid to
    third parties): the profile alerts or refuses it."""
    c, rules = for_cage(tx, ref, actor)
    player = player_wallet(tx, wallet_id)
    rate = fx.rate_at(tx, c.chip_currency, tx.now())
    paid = fx.to_ecny(amount, rate)
    fx.check_convertible(paid, amount, rate, c.chip_currency, "chips into CNY")
    cage_rules.check_player(
        tx,
        rules,
        c,
        player,
        amount=amount,
        gaming=False,  # pragma: no mutate (None is as false)
        paying=False,  # pragma: no mutate (None is as false)
    )
    payee = player if pay_to is None or pay_to == player.id else player_wallet(tx, pay_to, "pay_to")
    third_party = payee.id != player.id and cage_rules.third_party_payout(
        tx, rules, c, player, payee
    )
    merchant = wl.existing(tx, c.merchant_wallet_id)
    chips = player_chip_account(tx, c, player)
    reference = reference or f"cash-out at {c.ref}"
    parties = [(player, "receiving"), (merchant, "paying")]
    lock = []
    if payee.id != player.id:  # the player's e-CNY account is locked too: a freeze takes it
        parties = [(player, "playing"), (payee, "receiving"), (merchant, "paying")]
        lock = [player.account_id]
    back, pay = post_linked(
        tx,
        [
            chip_draft(c, "chip_return", amount, chips, c.chip_account_id, player, reference),
            ecny_payment(tx, merchant, payee, paid, reference),
        ],
        lock=lock,
        parties=parties,
        limits=True,
    )
    op = _record(
        tx,
        c,
        rules,
        player,
        CASH_OUT,
        amount,
        0,
        [back, pay],
        ecny=pay,
        chips=back,
        conversion=(paid, rate),
    )
    more = [
        cage_rules.raise_third_party_payout(tx, c, player, payee, op) if third_party else None,
        cage_rules.pooling(tx, rules, c, player, op),
    ]
    raised = [a for a in more if a is not None]
    return CageOperation(**{**op.__dict__, "alerts": [*op.alerts, *raised]})


@dataclass(frozen=True)
class ChipHandover:
    id: int
    casino_ref: str
    from_wallet_id: int
    to_wallet_id: int
    gaming_day: date
    at: datetime
    amount: int
    transfers: list[PostedTransfer]


def hand_over(
    tx: Tx, ref: str, actor: Principal, *, from_wallet: int, to_wallet: int, amount: int
) -> ChipHandover:
    """Chips one player hands another, as the cage sees it (a chip transfer
    between their chip accounts; no e-CNY moves). The receiver must be allowed
    to gamble (age, exclusions). FATF/APG 2009 reads these: several people
    pooling chips into one cash-out (rules.pooling)."""
    c, rules = for_cage(tx, ref, actor)
    giver = player_wallet(tx, from_wallet, "from_player")
    receiver = player_wallet(tx, to_wallet, "to_player")
    if giver.id == receiver.id:
        raise errors.DomainError(
            errors.VALIDATION_FAILED,
            "to_player: must be another wallet than from_player",
            errors={"to_player": ["must be another wallet than from_player"]},
        )
    cage_rules.check_player(
        tx,
        rules,
        c,
        receiver,
        amount=amount,
        gaming=True,
        paying=False,  # pragma: no mutate (None is as false)
    )
    source = player_chip_account(tx, c, giver)
    target = player_chip_account(tx, c, receiver)
    draft = TransferDraft(
        kind="chip_handover",
        asset=c.chip_asset,
        amount=amount,
        legs=[Leg(source, target, amount, c.chip_asset)],
        from_wallet_id=giver.id,
        to_wallet_id=receiver.id,
        reference=f"chips handed over at {c.ref}",
    )
    (moved,) = post_linked(
        tx,
        [draft],
        lock=[giver.account_id, receiver.account_id],
        parties=[(giver, "playing"), (receiver, "playing")],
        limits=False,  # pragma: no mutate (class limits count e-CNY only: None, False, True alike)
    )
    now = tx.now()
    day = gaming_day_of(now, rules.gaming_day_cutoff)
    handover_id = inserted_id(
        tx.conn.execute(
            chip_handovers.insert().values(
                casino_id=c.id,
                from_wallet_id=giver.id,
                to_wallet_id=receiver.id,
                from_holder_id=giver.holder_id,
                amount=amount,
                at=now,
                gaming_day=day,
                transfer_id=moved.id,
            )
        )
    )
    return ChipHandover(handover_id, c.ref, giver.id, receiver.id, day, now, amount, [moved])


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
    conversion: tuple[int, Decimal] | None = None,
) -> CageOperation:
    """Keep the operation (with its e-CNY and rate: ``conversion``) and its
    day's totals, then run the detection rules."""
    ecny_amount, rate = conversion if conversion else (None, None)
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
        ecny_amount=ecny_amount,
        rate=None if rate is None else format_rate(rate),
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
        alerts=[],  # pragma: no mutate (replaced below by what detect raises; it reads none)
        chip_currency=c.chip_currency,
        ecny_amount=ecny_amount,
        rate=rate,
    )
    raised = cage_rules.detect(tx, rules, c, player, op)
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
    "ecny_amount",
    "rate",
)
_INSERT_OPERATION = (
    sa.insert(casino_transactions)
    .values({c: sa.bindparam(c) for c in _OPERATION_COLUMNS})
    .returning(casino_transactions.c.id)
)
# The player's totals of the gaming day, kept as the operations come.
_DAY_TOTALS = ("buy_ins", "cash_outs", "wagered", "paid_out")
_ADD_TO_PLAYER_DAY = Upsert(
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
    holder_ref: str  # the holder's pseudonym (anonymity.holder_refs), never its id
    gaming_day: date
    at: datetime
    amount: int
    payout: int
    transfer_ids: list[int]
    ecny_amount: int | None
    rate: str | None


def list_operations(
    tx: Tx,
    c: Casino,
    *,
    wallet_id: int | None = None,
    gaming_day: date | None = None,
    after: int | None = None,
    limit: int,
) -> list[RecordedOperation]:
    ct = casino_transactions
    stmt = sa.select(ct).where(ct.c.casino_id == c.id).limit(limit)
    # Without it SQLite returns the rows in id order anyway; PostgreSQL need not.
    stmt = stmt.order_by(ct.c.id)  # pragma: no mutate
    if wallet_id is not None:
        stmt = stmt.where(ct.c.wallet_id == wallet_id)
    if gaming_day is not None:
        stmt = stmt.where(ct.c.gaming_day == gaming_day)
    if after is not None:
        stmt = stmt.where(ct.c.id > after)
    rows = tx.conn.execute(stmt).all()
    refs = anonymity.holder_refs(tx, {r.holder_id for r in rows})
    return [
        RecordedOperation(
            id=r.id,
            casino_ref=c.ref,
            kind=r.kind,
            wallet_id=r.wallet_id,
            holder_ref=refs[r.holder_id],
            gaming_day=r.gaming_day,
            at=r.at,
            amount=r.amount,
            payout=r.payout,
            transfer_ids=operation_transfer_ids(r),
            ecny_amount=r.ecny_amount,
            rate=r.rate,
        )
        for r in rows
    ]


def list_player_days(
    tx: Tx,
    c: Casino,
    *,
    gaming_day: date | None = None,
    wallet_id: int | None = None,
    after: str | None = None,
    limit: int,
) -> Sequence[sa.Row]:
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
    # A date and an int hold no colon: the first or the last split the same.
    day, _, wallet = after.partition(":")  # pragma: no mutate
    try:
        return date.fromisoformat(day), int(wallet)
    except ValueError:
        raise errors.DomainError(
            errors.VALIDATION_FAILED,
            "after: not a cursor of this list",
            errors={"after": ["not a valid cursor"]},
        ) from None
