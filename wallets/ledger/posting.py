"""Posting: the double-entry ledger's one way in (accounts.py has the
accounts, journal.py the journal it writes).

A *transfer* is one business movement (an issuance, a funding, a payment). It
is posted as one or more *journal entries*, each a movement of a positive
integer amount of one asset from a debit account to a credit account. Postings
are immutable; corrections are new transfers.

Balances are ``credits - debits`` for every account: what a holder owns is
positive; contra and source accounts (the central bank's issuance account, an
operator's settlement account) may go below zero.

Posting is a batch operation. A :class:`Posting` locks every account it will
touch (in id order, so concurrent postings never deadlock on accounts), checks
each transfer against the running balances in memory, and writes everything in
one go: transfers, journal entries with their hash chain, and the new account
totals. A transfer that fails its checks is refused with a precise code and
leaves no trace; with ``linked=True`` a run of transfers succeeds or fails as one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from hashlib import sha256
from typing import Protocol

import sqlalchemy as sa

from ..core import errors, outbox
from ..core.db import Tx
from ..core.schema import accounts, journal_entries, ledger_head, transfers
from .accounts import CHIP_PREFIX, Account, lock_accounts, operator_codes
from .journal import HASH_TIME_FORMAT, Entry, PostedTransfer
from .money import format_amount


class LimitCheck(Protocol):
    """What a posting asks of the wallet-class limits (a LimitBook of
    wallets/retail/limits.py): the first limit a transfer would break, as
    (code, detail, extra), else None; then its usage applied and written."""

    def check(
        self, draft: TransferDraft, net: dict[int, int], balance_of: Callable[[int], int]
    ): ...

    def apply(self, draft: TransferDraft, undo: list[Callable[[], None]] | None) -> None: ...

    def flush(self) -> None: ...


class DeferredBook(Protocol):
    """What a posting asks of the open settlement window under deferred net
    settlement (tier 1's SettlementBook): the operators' position moves
    ``(payer, payee, amount)`` are checked against the net debit caps, applied
    and written there instead of posted."""

    window_id: int

    def check(self, moves: list[tuple[int, int, int]]): ...

    def apply(
        self, moves: list[tuple[int, int, int]], undo: list[Callable[[], None]] | None
    ) -> None: ...

    def flush(self) -> None: ...


# Tier 1 registers its settlement window's book (wallets/tier1/settlement.py):
# the ledger below it holds deferred legs without knowing how windows work.
_deferred_book: Callable[[Tx], DeferredBook] | None = None


def register_deferred_book(factory: Callable[[Tx], DeferredBook]) -> None:
    global _deferred_book
    _deferred_book = factory


# Which refusal a failed debit gives, by the kind of account that would go negative.
_SHORTFALL_CODE = {
    "wallet": errors.INSUFFICIENT_FUNDS,
    "vault": errors.INSUFFICIENT_VAULT,
    "reserve": errors.INSUFFICIENT_RESERVE,
    "position": errors.INSUFFICIENT_POSITION,
    "chips": errors.INSUFFICIENT_CHIPS,
}


@dataclass(frozen=True)
class Leg:
    """One journal entry to be: ``amount`` of ``asset`` from ``debit`` to ``credit``."""

    debit: int
    credit: int
    amount: int
    asset: str
    # A tier-1 position move between operators: posted at once under gross
    # settlement, netted in the open settlement window under deferred net.
    deferrable: bool = False


# Every kind of transfer the ledger posts (docs/ledger.md): a draft of another
# kind is a bug, so this is the vocabulary (the API's document lists it).
TRANSFER_KINDS = (
    "reserve_deposit",
    "issuance",
    "redemption",
    "funding",
    "defunding",
    "payment",
    "hold",
    "capture",
    "hold_release",
    "void",
    "hold_expiry",
    "envelope_reserve",
    "envelope_return",
    "refund",
    "sweep",
    "settlement",
    "chip_issue",
    "wager",
    "payout",
    "chip_return",
    "chip_handover",
    "offline_load",
    "offline_payment",
    "offline_loss",
    "offline_recovery",
    "offline_validation",
    "offline_unload",
)
_TRANSFER_KINDS = frozenset(TRANSFER_KINDS)
# The transfers of tier 1, the central bank's own: the only ones its event feed
# shows (it reads no retail transfer: GET /v1/transfers is not its).
CENTRAL_BANK_KINDS = frozenset({"reserve_deposit", "issuance", "redemption", "settlement"})
# A transfer in the journal is posted: postings are immutable.
POSTED = "posted"


@dataclass
class TransferDraft:
    kind: str
    asset: str
    amount: int
    legs: list[Leg]
    from_wallet_id: int | None = None
    to_wallet_id: int | None = None
    from_operator_id: int | None = None
    to_operator_id: int | None = None
    reference: str | None = None
    # True: this transfer and the next one stand or fall together (TigerBeetle's "linked").
    linked: bool = False
    # For the wallet-class limits (wallets/retail/limits.py): what counts against the paying
    # wallet's outgoing caps (negative: given back), on which day (None: today),
    # and how its open holds change.
    outgoing: int = 0
    usage_day: date | None = None
    held_delta: int = 0
    hold_id: int | None = None
    refund_of: int | None = None
    client_scope: int | None = None
    client_id: str | None = None
    # The casino whose business the transfer is (a cage operation's): who sees
    # its event (docs/events.md).
    casino_ref: str | None = None
    # Deferred net settlement: the position moves taken out of the legs
    # (payer operator id, payee operator id, amount), and their window.
    interbank: list[tuple[int, int, int]] = field(default_factory=list)
    window_id: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in _TRANSFER_KINDS:
            raise ValueError(f"transfer kind {self.kind!r} is not one of TRANSFER_KINDS")


@dataclass(frozen=True)
class Refusal:
    code: str
    detail: str
    extra: dict = field(default_factory=dict)

    def error(self) -> errors.DomainError:
        return errors.DomainError(self.code, self.detail, **self.extra)


def _unpost(debit: Account, credit: Account, amount: int) -> None:
    debit.debits_posted -= amount
    credit.credits_posted -= amount


_LOCK_HEAD = (
    sa.select(ledger_head.c.last_seq, ledger_head.c.last_hash, ledger_head.c.last_transfer_id)
    .where(ledger_head.c.id == 1)
    .with_for_update()
)
_UPDATE_HEAD = (
    sa.update(ledger_head)
    .where(ledger_head.c.id == 1)
    .values(
        last_seq=sa.bindparam("last_seq"),
        last_hash=sa.bindparam("last_hash"),
        last_transfer_id=sa.bindparam("last_transfer_id"),
    )
)
TRANSFER_COLUMNS = (
    "id",
    "kind",
    "asset",
    "amount",
    "from_wallet_id",
    "to_wallet_id",
    "from_operator_id",
    "to_operator_id",
    "reference",
    "posted_at",
    "client_scope",
    "client_id",
    "refund_of",
    "hold_id",
    "window_id",
)
ENTRY_COLUMNS = (
    "seq",
    "transfer_id",
    "debit_account_id",
    "credit_account_id",
    "asset",
    "amount",
    "posted_at",
    "prev_hash",
    "hash",
)


_INSERT_TRANSFERS = sa.insert(transfers).values({c: sa.bindparam(c) for c in TRANSFER_COLUMNS})
_INSERT_ENTRIES = sa.insert(journal_entries).values({c: sa.bindparam(c) for c in ENTRY_COLUMNS})
_BALANCE_COLUMNS = ("debits_posted", "credits_posted", "account_id")
_UPDATE_BALANCES = (
    sa.update(accounts)
    .where(accounts.c.id == sa.bindparam("account_id"))
    .values(
        debits_posted=sa.bindparam("debits_posted"),
        credits_posted=sa.bindparam("credits_posted"),
    )
)


class Posting:
    """A batch of transfers checked in memory and written at :meth:`commit`.

    ``limits``: builds the class limits of the wallets the posting touches
    (wallets/retail/limits.py, ``class_limits``). It is called, and their usage
    and open holds are read, once their accounts are locked: every posting that changes
    a wallet's usage locks its account, so what is read then is current (read
    before the lock, a concurrent posting's usage would be missed on PostgreSQL
    and a cap passed). A capture lowers the payer's holds without its lock: a
    figure read too high, never too low."""

    def __init__(
        self,
        tx: Tx,
        account_ids: Iterable[int],
        limits: Callable[[Tx], LimitCheck] | None = None,
    ) -> None:
        self.tx = tx
        self.accounts = lock_accounts(tx, account_ids)
        self.limits = limits(tx) if limits is not None else None
        self.deferred = tx.sandbox.settlement_model == "deferred_net"
        self.settlement: DeferredBook | None = None
        self._accepted: list[TransferDraft] = []
        # Chain bookkeeping: what to undo if a linked chain fails.
        self._chain: list[TransferDraft] = []
        self._chain_undo: list[Callable[[], None]] = []
        self._chain_results: list[int] = []
        self.results: list[TransferDraft | Refusal] = []

    def account(self, account_id: int) -> Account:
        return self.accounts[account_id]

    def balance(self, account_id: int) -> int:
        acc = self.accounts[account_id]
        return acc.credits_posted - acc.debits_posted

    def _check(self, draft: TransferDraft) -> Refusal | None:
        # Net effect per account, so a transfer whose legs pass through an
        # account is judged on where it ends up.
        net: dict[int, int] = {}
        for leg in draft.legs:
            for acc_id in (leg.debit, leg.credit):
                if acc_id not in self.accounts:
                    raise KeyError(f"account {acc_id} was not locked for this posting")
            if leg.amount <= 0:
                return Refusal(errors.VALIDATION_FAILED, "amount must be positive")
            net[leg.debit] = net.get(leg.debit, 0) - leg.amount
            net[leg.credit] = net.get(leg.credit, 0) + leg.amount
        for acc_id, delta in net.items():
            acc = self.accounts[acc_id]
            # Only a debit can take it below zero: an account that may not go
            # negative never is to begin with.
            if not acc.may_go_negative and acc.available + delta < 0:
                code = _SHORTFALL_CODE.get(acc.kind, errors.INSUFFICIENT_FUNDS)
                return Refusal(
                    code,
                    f"{acc.code} has {format_amount(acc.available)} available, {format_amount(-delta)} needed",
                    {
                        "account": acc.code,
                        "available": format_amount(acc.available),
                        "required": format_amount(-delta),
                    },
                )
        if self.limits is not None:
            exceeded = self.limits.check(draft, net, self.balance)
            if exceeded:
                return Refusal(*exceeded)
        if draft.interbank:
            assert self.settlement is not None, "_defer set it when it filled interbank"
            capped = self.settlement.check(draft.interbank)
            if capped:
                return Refusal(*capped)
        return None

    def _apply(self, draft: TransferDraft, undo: list[Callable[[], None]] | None) -> None:
        accs = self.accounts
        for leg in draft.legs:
            d = accs[leg.debit]
            c = accs[leg.credit]
            d.debits_posted += leg.amount
            c.credits_posted += leg.amount
            d.dirty = c.dirty = True
            if undo is not None:
                undo.append(partial(_unpost, d, c, leg.amount))
        if self.limits is not None:
            self.limits.apply(draft, undo)
        if draft.interbank:
            assert self.settlement is not None, "_defer set it when it filled interbank"
            self.settlement.apply(draft.interbank, undo)

    def add(self, draft: TransferDraft, refusal: Refusal | None = None) -> None:
        """Check and apply one transfer in memory; ``refusal`` records a failure
        found earlier by the caller (a frozen wallet, say) in the same place."""
        if self.deferred and any(leg.deferrable for leg in draft.legs):
            self._defer(draft)
        in_chain = bool(self._chain) or draft.linked
        refusal = refusal or self._check(draft)
        if not in_chain:
            if refusal is None:
                self._apply(draft, None)
                self._accepted.append(draft)
                self.results.append(draft)
            else:
                self.results.append(refusal)
            return
        # Part of a linked chain.
        self._chain.append(draft)
        self._chain_results.append(len(self.results))
        if refusal is None:
            self._apply(draft, self._chain_undo)
            self.results.append(draft)
        else:
            self.results.append(refusal)
        if not draft.linked:
            self._close_chain()

    def _defer(self, draft: TransferDraft) -> None:
        """Under deferred net settlement, the tier-1 position moves wait for the
        window's close: they leave the legs and count in the window instead."""
        if self.settlement is None:
            # Equivalent mutants: the message of an assert that the import keeps true.
            assert _deferred_book is not None, (
                "tier1.settlement registers it on import"  # pragma: no mutate
            )
            self.settlement = _deferred_book(self.tx)
        for leg in draft.legs:
            if leg.deferrable:
                payer, payee = self.accounts[leg.debit], self.accounts[leg.credit]
                # Deferrable legs move between operators' position accounts.
                assert payer.operator_id is not None and payee.operator_id is not None
                draft.interbank.append((payer.operator_id, payee.operator_id, leg.amount))
        draft.legs = [leg for leg in draft.legs if not leg.deferrable]
        draft.window_id = self.settlement.window_id

    def end_open_chain(self) -> None:
        """A chain whose last member still says ``linked`` is an error of the caller's."""
        if self._chain:
            last = self._chain_results[-1]
            if not isinstance(self.results[last], Refusal):
                self.results[last] = Refusal(
                    errors.VALIDATION_FAILED, "the last transfer of a batch cannot be linked"
                )
            self._close_chain()

    def _close_chain(self) -> None:
        failed = [i for i in self._chain_results if isinstance(self.results[i], Refusal)]
        if failed:
            for undo in reversed(self._chain_undo):
                undo()
            first = failed[0]
            for i in self._chain_results:
                if i not in failed:
                    self.results[i] = Refusal(
                        errors.LINKED_TRANSFER_FAILED,
                        f"linked transfer at index {first} failed",
                        {"failed_index": first},
                    )
        else:
            self._accepted.extend(self._chain)
        self._chain, self._chain_undo, self._chain_results = [], [], []

    def post(self, draft: TransferDraft) -> PostedTransfer:
        """Add one transfer and commit: the posted transfer, or its refusal raised."""
        self.add(draft)
        (result,) = self.commit()
        if isinstance(result, Refusal):
            raise result.error()
        return result

    def commit(self) -> list[PostedTransfer | Refusal]:
        """Write every accepted transfer; return one result per :meth:`add`."""
        self.end_open_chain()
        posted: dict[int, PostedTransfer] = {}
        if self._accepted:
            posted = self._write()
        return [posted[id(r)] if not isinstance(r, Refusal) else r for r in self.results]

    def _write(self) -> dict[int, PostedTransfer]:
        tx = self.tx
        now = tx.now()
        # The journal head is locked last: all account locks are already held.
        ((seq, prev_hash, transfer_id),) = tx.rows(_LOCK_HEAD)
        hash_time = now.strftime(HASH_TIME_FORMAT)
        codes = {acc_id: acc.code for acc_id, acc in self.accounts.items()}
        transfer_rows: list[tuple] = []
        entry_rows: list[tuple] = []
        out: dict[int, PostedTransfer] = {}
        for draft in self._accepted:
            transfer_id += 1
            entries: list[Entry] = []
            transfer_rows.append(
                (
                    transfer_id,
                    draft.kind,
                    draft.asset,
                    draft.amount,
                    draft.from_wallet_id,
                    draft.to_wallet_id,
                    draft.from_operator_id,
                    draft.to_operator_id,
                    draft.reference,
                    now,
                    draft.client_scope,
                    draft.client_id,
                    draft.refund_of,
                    draft.hold_id,
                    draft.window_id,
                )
            )
            for leg in draft.legs:
                seq += 1
                debit_code = codes[leg.debit]
                credit_code = codes[leg.credit]
                h = sha256(
                    f"{seq}|{transfer_id}|{debit_code}|{credit_code}|{leg.asset}|"
                    f"{leg.amount}|{hash_time}|{prev_hash}".encode()
                ).hexdigest()
                entry_rows.append(
                    (
                        seq,
                        transfer_id,
                        leg.debit,
                        leg.credit,
                        leg.asset,
                        leg.amount,
                        now,
                        prev_hash,
                        h,
                    )
                )
                entries.append(
                    Entry(
                        seq,
                        leg.debit,
                        leg.credit,
                        debit_code,
                        credit_code,
                        leg.asset,
                        leg.amount,
                        h,
                    )
                )
                prev_hash = h
            out[id(draft)] = PostedTransfer(
                id=transfer_id,
                kind=draft.kind,
                asset=draft.asset,
                amount=draft.amount,
                from_wallet_id=draft.from_wallet_id,
                to_wallet_id=draft.to_wallet_id,
                from_operator_id=draft.from_operator_id,
                to_operator_id=draft.to_operator_id,
                reference=draft.reference,
                posted_at=now,
                entries=entries,
                hold_id=draft.hold_id,
                refund_of=draft.refund_of,
                client_id=draft.client_id,
            )
        tx.run_many(_INSERT_TRANSFERS, TRANSFER_COLUMNS, transfer_rows)
        tx.run_many(_INSERT_ENTRIES, ENTRY_COLUMNS, entry_rows)
        tx.run_many(
            _UPDATE_BALANCES,
            _BALANCE_COLUMNS,
            [(a.debits_posted, a.credits_posted, a.id) for a in self.accounts.values() if a.dirty],
        )
        tx.run(_UPDATE_HEAD, last_seq=seq, last_hash=prev_hash, last_transfer_id=transfer_id)
        _emit_posted(tx, self._accepted, out)
        if self.limits is not None:
            self.limits.flush()
        if self.settlement is not None:
            self.settlement.flush()
        return out


def _emit_posted(tx: Tx, drafts: list[TransferDraft], posted: dict[int, PostedTransfer]) -> None:
    """A ``transfer.posted`` event per posted transfer, its data as the API
    renders a transfer (docs/events.md)."""
    codes = operator_codes(
        tx, {i for d in drafts for i in (d.from_operator_id, d.to_operator_id) if i}
    )
    # One instant for the batch, formatted once (json then has no datetime to convert).
    posted_at = tx.now().isoformat()
    for draft in drafts:
        pt = posted[id(draft)]
        casino_ref = draft.casino_ref
        if casino_ref is None and pt.asset.startswith(CHIP_PREFIX):
            casino_ref = pt.asset[len(CHIP_PREFIX) :]
        outbox.emit(
            tx,
            outbox.Event(
                "transfer.posted",
                transfer_document(pt, codes, posted_at),
                operator_id=pt.from_operator_id,
                counter_operator_id=pt.to_operator_id,
                casino_ref=casino_ref,
                central_bank=pt.kind in CENTRAL_BANK_KINDS,
            ),
        )


def transfer_document(
    pt: PostedTransfer, codes: dict[int, str], posted_at: str | None = None
) -> dict:
    """A posted transfer as the API's ``TransferOut`` renders it (``posted_at``:
    its instant, formatted already)."""
    return {
        "id": pt.id,
        "kind": pt.kind,
        "status": "posted",
        "asset": pt.asset,
        "amount": format_amount(pt.amount),
        "from_wallet": pt.from_wallet_id,
        "to_wallet": pt.to_wallet_id,
        "from_operator": codes.get(pt.from_operator_id) if pt.from_operator_id else None,
        "to_operator": codes.get(pt.to_operator_id) if pt.to_operator_id else None,
        "reference": pt.reference,
        "posted_at": posted_at or pt.posted_at.isoformat(),
        "hold_id": pt.hold_id,
        "refund_of": pt.refund_of,
        "entries": [
            {
                "seq": e.seq,
                "debit_account": e.debit_account,
                "credit_account": e.credit_account,
                "asset": e.asset,
                "amount": format_amount(e.amount),
                "hash": e.hash,
            }
            for e in pt.entries
        ],
    }


def post_one(tx: Tx, draft: TransferDraft) -> PostedTransfer:
    """Post a single transfer, locking just the accounts it touches."""
    return Posting(tx, [a for leg in draft.legs for a in (leg.debit, leg.credit)]).post(draft)
