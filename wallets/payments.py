"""Tier 2 movements: funding, defunding, and wallet-to-wallet payments.

A payment between wallets of one operator is one journal entry. Across
operators, the payer's operator hands the e-CNY to the payee's operator in
both tiers, in the same database transaction (``gross``: payment is settlement):
  payer wallet            -> payer operator settlement   (tier 2, payer side)
  payee operator settlement -> payee wallet             (tier 2, payee side)
  payer operator position -> payee operator position    (tier 1)
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from . import errors
from . import wallet as wl
from .db import Tx
from .ledger import ECNY, Leg, PostedTransfer, Posting, Refusal, TransferDraft
from .principal import OPERATOR, Principal
from .schema import accounts


@dataclass(frozen=True)
class PaymentRequest:
    from_wallet_id: int
    to_wallet_id: int
    amount: int
    reference: str | None = None


def operator_accounts(tx: Tx, operator_ids: set[int]) -> dict[int, dict[str, int]]:
    rows = tx.conn.execute(
        sa.select(accounts.c.operator_id, accounts.c.kind, accounts.c.id).where(
            accounts.c.operator_id.in_(operator_ids), accounts.c.wallet_id.is_(None)
        )
    ).all()
    out: dict[int, dict[str, int]] = {}
    for op_id, kind, acc_id in rows:
        out.setdefault(op_id, {})[kind] = acc_id
    return out


def _status_refusal(w: wl.Wallet, status: str, role: str) -> Refusal | None:
    if status == wl.ACTIVE:
        return None
    code = errors.WALLET_FROZEN if status == wl.FROZEN else errors.WALLET_CLOSED
    return Refusal(code, f"the {role} wallet {w.id} is {status}", {"wallet_id": w.id})


def _check_statuses(tx: Tx, posting: Posting, *pairs: tuple[wl.Wallet, str]) -> None:
    """Statuses as of now that the wallets' accounts are locked (a freeze takes
    the same lock), so no payment slips past a freeze that committed first."""
    statuses = wl.current_statuses(tx, [w.id for w, _ in pairs])
    for w, role in pairs:
        refusal = _status_refusal(w, statuses[w.id], role)
        if refusal:
            raise refusal.error()


def _own_wallet(tx: Tx, wallet_id: int, actor: Principal) -> wl.Wallet:
    w = wl.get(tx, wallet_id, actor)
    if actor.role not in (OPERATOR, "admin"):
        raise errors.DomainError(
            errors.FORBIDDEN_ROLE, f"a {actor.role} cannot move e-CNY of wallets"
        )
    return w


def fund(
    tx: Tx, wallet_id: int, amount: int, actor: Principal, reference: str | None = None
) -> PostedTransfer:
    """The holder exchanges bank deposits for e-CNY: vault -> wallet."""
    w = _own_wallet(tx, wallet_id, actor)
    vault = operator_accounts(tx, {w.operator_id})[w.operator_id]["vault"]
    posting = Posting(tx, [vault, w.account_id])
    _check_statuses(tx, posting, (w, "funded"))
    draft = TransferDraft(
        kind="funding",
        asset=ECNY,
        amount=amount,
        legs=[Leg(vault, w.account_id, amount, ECNY)],
        to_wallet_id=w.id,
        from_operator_id=w.operator_id,
        to_operator_id=w.operator_id,
        reference=reference,
    )
    return posting.post(draft)


def defund(
    tx: Tx, wallet_id: int, amount: int, actor: Principal, reference: str | None = None
) -> PostedTransfer:
    """Back to bank deposits: wallet -> vault."""
    w = _own_wallet(tx, wallet_id, actor)
    vault = operator_accounts(tx, {w.operator_id})[w.operator_id]["vault"]
    posting = Posting(tx, [vault, w.account_id])
    _check_statuses(tx, posting, (w, "defunded"))
    draft = TransferDraft(
        kind="defunding",
        asset=ECNY,
        amount=amount,
        legs=[Leg(w.account_id, vault, amount, ECNY)],
        from_wallet_id=w.id,
        from_operator_id=w.operator_id,
        to_operator_id=w.operator_id,
        reference=reference,
    )
    return posting.post(draft)


def payment_draft(
    payer: wl.Wallet,
    payee: wl.Wallet,
    amount: int,
    op_accounts: dict[int, dict[str, int]],
    reference: str | None,
) -> TransferDraft:
    if payer.operator_id == payee.operator_id:
        legs = [Leg(payer.account_id, payee.account_id, amount, ECNY)]
    else:
        a, b = op_accounts[payer.operator_id], op_accounts[payee.operator_id]
        legs = [
            Leg(payer.account_id, a["settlement"], amount, ECNY),
            Leg(b["settlement"], payee.account_id, amount, ECNY),
            Leg(a["position"], b["position"], amount, ECNY),
        ]
    return TransferDraft(
        kind="payment",
        asset=ECNY,
        amount=amount,
        legs=legs,
        from_wallet_id=payer.id,
        to_wallet_id=payee.id,
        from_operator_id=payer.operator_id,
        to_operator_id=payee.operator_id,
        reference=reference,
    )


def pay(tx: Tx, req: PaymentRequest, actor: Principal) -> PostedTransfer:
    payer = _own_wallet(tx, req.from_wallet_id, actor)
    payee = wl.find(tx, req.to_wallet_id)
    if payee is None:
        raise errors.DomainError(
            errors.WALLET_NOT_FOUND, f"no wallet {req.to_wallet_id}", field="to_wallet"
        )
    if payee.id == payer.id:
        raise errors.DomainError(errors.SAME_WALLET, "a wallet cannot pay itself")
    op_accounts = operator_accounts(tx, {payer.operator_id, payee.operator_id})
    draft = payment_draft(payer, payee, req.amount, op_accounts, req.reference)
    posting = Posting(tx, [a for leg in draft.legs for a in (leg.debit, leg.credit)])
    _check_statuses(tx, posting, (payer, "paying"), (payee, "receiving"))
    return posting.post(draft)
