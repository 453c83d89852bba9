"""Tier 2 movements: funding, defunding, wallet-to-wallet payments and refunds.

A payment between wallets of one operator is one journal entry. Across
operators, the payer's operator hands the e-CNY to the payee's operator in
both tiers, in the same database transaction (``gross``: payment is settlement):
  payer wallet              -> payer operator settlement   (tier 2, payer side)
  payee operator settlement -> payee wallet                (tier 2, payee side)
  payer operator position   -> payee operator position     (tier 1)

Payments are posted in batches (a single payment is a batch of one): every
wallet, account and limit of the batch is loaded and locked once, each payment
is checked against the running state, and all are written in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from ..core import errors
from ..core.db import Tx, any_of
from ..core.principal import ADMIN, OPERATOR, Principal, a_role
from ..core.schema import accounts, transfers
from ..ledger.accounts import ECNY
from ..ledger.journal import PostedTransfer, load_transfer
from ..ledger.money import format_amount
from ..ledger.posting import POSTED, Leg, Posting, Refusal, TransferDraft
from . import envelopes
from . import wallet as wl
from .limits import class_limits

# One batch at most: TigerBeetle's batch size, which clients of such ledgers know.
MAX_BATCH = 8190
# What each item of a batch answers: posted now, posted before with its id, or refused.
EXISTS, REFUSED = "exists", "refused"
BATCH_RESULTS = (POSTED, EXISTS, REFUSED)


@dataclass(frozen=True)
class PaymentRequest:
    from_wallet_id: int
    to_wallet_id: int
    amount: int
    reference: str | None = None
    client_id: str | None = None  # batch items: the item's own idempotency key
    linked: bool = False


@dataclass(frozen=True)
class Existing:
    """A batch item whose client id was posted before with the same fields."""

    transfer_id: int


def operator_accounts(tx: Tx, operator_ids: set[int]) -> dict[int, dict[str, int]]:
    """Each operator's own accounts by kind (created with the operator, never changed)."""
    return tx.cached("operator_accounts", sorted(operator_ids), _load_operator_accounts)


def _load_operator_accounts(tx: Tx, operator_ids: list[int]) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {}
    for op_id, kind, acc_id in tx.rows(_OPERATOR_ACCOUNTS, ids=operator_ids):
        out.setdefault(op_id, {})[kind] = acc_id
    return out


_OPERATOR_ACCOUNTS = sa.select(accounts.c.operator_id, accounts.c.kind, accounts.c.id).where(
    any_of(accounts.c.operator_id, "ids"), accounts.c.wallet_id.is_(None)
)


def status_refusal(wallet_id: int, status: str, role: str) -> Refusal | None:
    if status == wl.ACTIVE:
        return None
    code = errors.WALLET_FROZEN if status == wl.FROZEN else errors.WALLET_CLOSED
    return Refusal(code, f"the {role} wallet {wallet_id} is {status}", {"wallet_id": wallet_id})


def check_statuses(tx: Tx, *pairs: tuple[int, str]) -> None:
    """Raise if a wallet is not active. Call it after the wallets' accounts are
    locked: a freeze takes the same lock, so none slips past one that committed first."""
    statuses = wl.current_statuses(tx, [w for w, _ in pairs])
    for wallet_id, role in pairs:
        refusal = status_refusal(wallet_id, statuses[wallet_id], role)
        if refusal:
            raise refusal.error()


def to_own_escrow(
    tx: Tx, w: wl.Wallet, escrow: int, amount: int, *, kind: str, doing: str, reference: str
) -> PostedTransfer:
    """Move ``amount`` from the wallet to an escrow account of its own operator
    (a red-envelope campaign's reserve, an offline purse's load): one transfer
    under the wallet's class limits, refused if the wallet is not active for
    ``doing``."""
    posting = Posting(tx, [w.account_id, escrow], limits=class_limits([w]))
    check_statuses(tx, (w.id, doing))
    return posting.post(
        TransferDraft(
            kind=kind,
            asset=ECNY,
            amount=amount,
            legs=[Leg(w.account_id, escrow, amount, ECNY)],
            from_wallet_id=w.id,
            from_operator_id=w.operator_id,
            to_operator_id=w.operator_id,
            reference=reference,
        )
    )


def require_mover(actor: Principal) -> None:
    if actor.role not in (OPERATOR, ADMIN):
        raise errors.DomainError(
            errors.FORBIDDEN_ROLE, f"{a_role(actor.role)} cannot move e-CNY of wallets"
        )


def _vault_move(
    tx: Tx, wallet_id: int, amount: int, actor: Principal, reference: str | None, funding: bool
):
    require_mover(actor)
    w = wl.get(tx, wallet_id, actor)
    vault = operator_accounts(tx, {w.operator_id})[w.operator_id]["vault"]
    posting = Posting(tx, [vault, w.account_id], limits=class_limits([w]))
    check_statuses(tx, (w.id, "funded" if funding else "defunded"))
    legs = (
        [Leg(vault, w.account_id, amount, ECNY)]
        if funding
        else [Leg(w.account_id, vault, amount, ECNY)]
    )
    return posting.post(
        TransferDraft(
            kind="funding" if funding else "defunding",
            asset=ECNY,
            amount=amount,
            legs=legs,
            to_wallet_id=w.id if funding else None,
            from_wallet_id=None if funding else w.id,
            from_operator_id=w.operator_id,
            to_operator_id=w.operator_id,
            reference=reference,
        )
    )


def fund(
    tx: Tx, wallet_id: int, amount: int, actor: Principal, reference: str | None = None
) -> PostedTransfer:
    """The holder exchanges bank deposits for e-CNY: vault -> wallet (balance cap applies)."""
    return _vault_move(tx, wallet_id, amount, actor, reference, funding=True)


def defund(
    tx: Tx, wallet_id: int, amount: int, actor: Principal, reference: str | None = None
) -> PostedTransfer:
    """Back to bank deposits: wallet -> vault."""
    return _vault_move(tx, wallet_id, amount, actor, reference, funding=False)


def wallet_to_wallet_legs(
    from_account: int,
    from_operator: int,
    to_account: int,
    to_operator: int,
    amount: int,
    op_accounts: dict[int, dict[str, int]],
) -> list[Leg]:
    """The journal entries that move e-CNY between two tier-2 accounts."""
    if from_operator == to_operator:
        return [Leg(from_account, to_account, amount, ECNY)]
    a, b = op_accounts[from_operator], op_accounts[to_operator]
    return [
        Leg(from_account, a["settlement"], amount, ECNY),
        Leg(b["settlement"], to_account, amount, ECNY),
        Leg(a["position"], b["position"], amount, ECNY, deferrable=True),
    ]


def payment_draft(
    payer: wl.Wallet | wl.PostingParty,
    payee: wl.Wallet | wl.PostingParty,
    req: PaymentRequest,
    op_accounts: dict[int, dict[str, int]],
    client_scope: int | None = None,
) -> TransferDraft:
    return TransferDraft(
        kind="payment",
        asset=ECNY,
        amount=req.amount,
        legs=wallet_to_wallet_legs(
            payer.account_id,
            payer.operator_id,
            payee.account_id,
            payee.operator_id,
            req.amount,
            op_accounts,
        ),
        from_wallet_id=payer.id,
        to_wallet_id=payee.id,
        from_operator_id=payer.operator_id,
        to_operator_id=payee.operator_id,
        reference=req.reference,
        linked=req.linked,
        outgoing=req.amount,
        client_scope=client_scope if req.client_id else None,
        client_id=req.client_id,
    )


def _existing_by_client_id(tx: Tx, scope: int, client_ids: list[str]) -> dict[str, sa.Row]:
    if not client_ids:
        return {}
    t = transfers
    rows = tx.conn.execute(
        sa.select(
            t.c.id, t.c.client_id, t.c.from_wallet_id, t.c.to_wallet_id, t.c.amount, t.c.reference
        ).where(t.c.client_scope == scope, t.c.client_id.in_(client_ids))
    ).all()
    return {r.client_id: r for r in rows}


def _difference(req: PaymentRequest, other) -> Refusal | None:
    """TigerBeetle's answer to a reused id: the first field that differs."""
    for name, mine, theirs in (
        ("from_wallet", req.from_wallet_id, other.from_wallet_id),
        ("to_wallet", req.to_wallet_id, other.to_wallet_id),
        ("amount", req.amount, other.amount),
        ("reference", req.reference, other.reference),
    ):
        if mine != theirs:
            return Refusal(
                f"exists_with_different_{name}",
                f"transfer {req.client_id!r} exists with a different {name}",
            )
    return None


def post_payments(
    tx: Tx, reqs: list[PaymentRequest], actor: Principal, client_scope: int | None = None
) -> list[PostedTransfer | Refusal | Existing]:
    """Post a batch of payments in this transaction; one result per request, in order."""
    require_mover(actor)
    scope = client_scope if client_scope is not None else (actor.key_id or 0)
    found = wl.posting_parties(
        tx, {r.from_wallet_id for r in reqs} | {r.to_wallet_id for r in reqs}
    )
    existing = _existing_by_client_id(tx, scope, [r.client_id for r in reqs if r.client_id])
    # The payers' red envelopes, spent first where the payee qualifies.
    book = envelopes.book_for(
        tx, {r.from_wallet_id for r in reqs} & found.keys(), {r.to_wallet_id for r in reqs}
    )
    op_accounts = operator_accounts(
        tx,
        {w.operator_id for w in found.values()} | (book.issuer_operators if book else set()),
    )

    results: list[PostedTransfer | Refusal | Existing | None] = [None] * len(reqs)
    plan: list[tuple[int, TransferDraft, Refusal | None]] = []
    first_index: dict[str, int] = {}
    repeats: dict[int, int] = {}  # index -> index of the same client id earlier in the batch
    for i, req in enumerate(reqs):
        payer, payee = found.get(req.from_wallet_id), found.get(req.to_wallet_id)
        placeholder = TransferDraft("payment", ECNY, req.amount, [], linked=req.linked)
        refusal: Refusal | None = None
        if req.client_id and req.client_id in existing:
            row = existing[req.client_id]
            results[i] = _difference(req, _as_request(row)) or Existing(row.id)
            continue
        if req.client_id and req.client_id in first_index:
            j = first_index[req.client_id]
            refusal = _difference(req, reqs[j])
            if refusal is None:
                repeats[i] = j  # answered like the first, once that is posted
                continue
        elif payer is None or not actor.sees_wallets_of(payer.operator_id):
            refusal = Refusal(
                errors.WALLET_NOT_FOUND, f"no wallet {req.from_wallet_id}", {"field": "from_wallet"}
            )
        elif payee is None:
            refusal = Refusal(
                errors.WALLET_NOT_FOUND, f"no wallet {req.to_wallet_id}", {"field": "to_wallet"}
            )
        elif payee.id == payer.id:
            refusal = Refusal(errors.SAME_WALLET, "a wallet cannot pay itself")
        if req.client_id:
            first_index.setdefault(req.client_id, i)
        if refusal is not None:
            plan.append((i, placeholder, refusal))
        else:
            assert payer is not None and payee is not None, "no refusal: both were found"
            plan.append((i, payment_draft(payer, payee, req, op_accounts, scope), None))

    account_ids = [a for _, d, _ in plan for leg in d.legs for a in (leg.debit, leg.credit)]
    if book is not None:
        account_ids += book.escrow_accounts
        # Envelope money may cross operators where the payment alone would not.
        account_ids += [
            op_accounts[op][kind] for op in op_accounts for kind in ("settlement", "position")
        ]
    involved = {w for _, d, _ in plan for w in (d.from_wallet_id, d.to_wallet_id) if w is not None}
    posting = Posting(tx, account_ids, limits=class_limits([found[w] for w in involved]))
    statuses = wl.current_statuses(tx, list(involved))
    drawn: dict[int, int] = {}  # plan position -> batch index, of the items that drew envelopes
    for position, (i, draft, refusal) in enumerate(plan):
        if refusal is None:
            # Not refused yet: a payment's draft, both its wallets known.
            assert draft.from_wallet_id is not None and draft.to_wallet_id is not None
            refusal = status_refusal(
                draft.from_wallet_id, statuses[draft.from_wallet_id], "paying"
            ) or status_refusal(draft.to_wallet_id, statuses[draft.to_wallet_id], "receiving")
        if refusal is None and book is not None:
            draft = _with_envelopes(book, i, draft, found, op_accounts)
        posting.add(draft, refusal)
        if book is not None:
            if posting.results[-1] is not draft:
                book.give_back(i)
            elif i in book.draws:
                drawn[position] = i
            # A linked chain that failed undoes its earlier members: what they
            # drew is offered to the later items again.
            for undone in [p for p in drawn if isinstance(posting.results[p], Refusal)]:
                book.give_back(drawn.pop(undone))
    spent = []
    for (i, _, _), result in zip(plan, posting.commit(), strict=True):
        results[i] = result
        if book is not None and isinstance(result, PostedTransfer) and i in book.draws:
            spent.append((result.id, reqs[i].to_wallet_id, book.draws[i]))
    envelopes.record(tx, spent)
    for i, j in repeats.items():
        first = results[j]
        results[i] = Existing(first.id) if isinstance(first, PostedTransfer) else first
    return results  # type: ignore[return-value]


def _with_envelopes(
    book: envelopes.EnvelopeBook,
    index: int,
    draft: TransferDraft,
    found: dict,
    op_accounts: dict[int, dict[str, int]],
) -> TransferDraft:
    """The payment's draft taking what it may of the payer's envelopes first:
    one transfer, its legs from each envelope's escrow and the rest from the
    wallet; the whole amount counts against the payer's limits."""
    assert draft.from_wallet_id is not None and draft.to_wallet_id is not None
    draws = book.draw(index, draft.from_wallet_id, draft.to_wallet_id, draft.amount)
    if not draws:
        return draft
    payer, payee = found[draft.from_wallet_id], found[draft.to_wallet_id]
    legs: list[Leg] = []
    for d in draws:
        legs += wallet_to_wallet_legs(
            d.envelope.account_id,
            d.envelope.operator_id,
            payee.account_id,
            payee.operator_id,
            d.amount,
            op_accounts,
        )
    own = draft.amount - sum(d.amount for d in draws)
    if own:
        legs += wallet_to_wallet_legs(
            payer.account_id,
            payer.operator_id,
            payee.account_id,
            payee.operator_id,
            own,
            op_accounts,
        )
    draft.legs = legs
    return draft


def _as_request(row) -> PaymentRequest:
    return PaymentRequest(row.from_wallet_id, row.to_wallet_id, row.amount, row.reference)


def pay(tx: Tx, req: PaymentRequest, actor: Principal) -> PostedTransfer:
    """One payment; its refusal is raised."""
    (result,) = post_payments(tx, [req], actor)
    if isinstance(result, Refusal):
        raise result.error()
    if isinstance(result, Existing):  # pragma: no cover - single payments carry no client id
        # Equivalent mutants: the message of an error that cannot be raised.
        raise AssertionError("unexpected existing transfer")  # pragma: no mutate
    return result


def refund(
    tx: Tx, transfer_id: int, amount: int, actor: Principal, reference: str | None = None
) -> PostedTransfer:
    """The payee gives back (part of) a payment or capture. Several partial
    refunds may follow one another; together they never exceed the original."""
    require_mover(actor)
    original = load_transfer(tx, transfer_id)
    found = (
        wl.find_many(
            tx, {w for w in (original.from_wallet_id, original.to_wallet_id) if w is not None}
        )
        if original and original.to_wallet_id
        else {}
    )
    payee = found.get(original.to_wallet_id) if original and original.to_wallet_id else None
    if original is None or payee is None or not actor.sees_wallets_of(payee.operator_id):
        raise errors.DomainError(errors.TRANSFER_NOT_FOUND, f"no transfer {transfer_id}")
    if original.kind not in ("payment", "capture"):
        raise errors.DomainError(
            errors.NOT_REFUNDABLE, f"transfer {transfer_id} is a {original.kind}"
        )
    assert original.from_wallet_id is not None, "a payment or a capture has a payer"
    payer = found[original.from_wallet_id]
    op_accounts = operator_accounts(tx, {payer.operator_id, payee.operator_id})
    draft = TransferDraft(
        kind="refund",
        asset=ECNY,
        amount=amount,
        legs=wallet_to_wallet_legs(
            payee.account_id,
            payee.operator_id,
            payer.account_id,
            payer.operator_id,
            amount,
            op_accounts,
        ),
        from_wallet_id=payee.id,
        to_wallet_id=payer.id,
        from_operator_id=payee.operator_id,
        to_operator_id=payer.operator_id,
        reference=reference,
        refund_of=original.id,
    )
    posting = Posting(
        tx,
        [a for leg in draft.legs for a in (leg.debit, leg.credit)],
        limits=class_limits([payee, payer]),
    )
    check_statuses(tx, (payee.id, "refunding"), (payer.id, "refunded"))
    # Read after the accounts are locked: concurrent refunds of one payment queue here.
    refunded = int(
        tx.conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(transfers.c.amount), 0)).where(
                transfers.c.refund_of == original.id
            )
        ).scalar_one()
    )
    # Red-envelope money a payment spent was the issuer's: it is not refunded.
    envelope_part = envelopes.spent_in(tx, original.id)
    if refunded + amount > original.amount - envelope_part:
        raise errors.DomainError(
            errors.REFUND_EXCEEDS_PAYMENT,
            f"transfer {original.id} was {format_amount(original.amount)}"
            + (f", {format_amount(envelope_part)} of it red envelopes" if envelope_part else "")
            + f"; {format_amount(refunded)} is refunded already",
            refunded=format_amount(refunded),
            refundable=format_amount(original.amount - envelope_part - refunded),
        )
    return posting.post(draft)


def sweep(
    tx: Tx, parent_id: int, actor: Principal, reference: str | None = None
) -> list[PostedTransfer]:
    """Move every active sub-wallet's balance to its parent, in one transaction."""
    require_mover(actor)
    parent = wl.get(tx, parent_id, actor)
    subs = [c for c in wl.children(tx, parent.id) if c.status == wl.ACTIVE and c.available > 0]
    if not subs:
        return []
    posting = Posting(
        tx,
        [parent.account_id, *(c.account_id for c in subs)],
        limits=class_limits([parent, *subs]),
    )
    statuses = wl.current_statuses(tx, [parent.id, *(c.id for c in subs)])
    refusal = status_refusal(parent.id, statuses[parent.id], "receiving")
    if refusal:
        raise refusal.error()
    for c in subs:
        amount = posting.balance(c.account_id)
        if amount <= 0 or statuses[c.id] != wl.ACTIVE:
            continue
        posting.add(
            TransferDraft(
                kind="sweep",
                asset=ECNY,
                amount=amount,
                legs=[Leg(c.account_id, parent.account_id, amount, ECNY)],
                from_wallet_id=c.id,
                to_wallet_id=parent.id,
                from_operator_id=parent.operator_id,
                to_operator_id=parent.operator_id,
                reference=reference,
            )
        )
    results = posting.commit()
    for r in results:
        if isinstance(r, Refusal):
            raise r.error()
    return [r for r in results if isinstance(r, PostedTransfer)]  # all are: refusals raised
