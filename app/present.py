"""Domain objects as the dictionaries the response schemas dump."""

from __future__ import annotations

from wallets.core.db import Tx
from wallets.ledger.journal import PostedTransfer
from wallets.ledger.posting import POSTED
from wallets.retail import offline
from wallets.tier1 import operators as ops


def transfer(tx: Tx, pt: PostedTransfer, codes: dict[int, str] | None = None) -> dict:
    if codes is None:
        codes = ops.codes_of(tx, (i for i in (pt.from_operator_id, pt.to_operator_id) if i))
    return {
        "id": pt.id,
        "kind": pt.kind,
        "status": POSTED,
        "asset": pt.asset,
        "amount": pt.amount,
        "from_wallet": pt.from_wallet_id,
        "to_wallet": pt.to_wallet_id,
        "from_operator": codes.get(pt.from_operator_id) if pt.from_operator_id else None,
        "to_operator": codes.get(pt.to_operator_id) if pt.to_operator_id else None,
        "reference": pt.reference,
        "posted_at": pt.posted_at,
        "hold_id": pt.hold_id,
        "refund_of": pt.refund_of,
        "entries": [
            {
                "seq": e.seq,
                "debit_account": e.debit_account,
                "credit_account": e.credit_account,
                "asset": e.asset,
                "amount": e.amount,
                "hash": e.hash,
            }
            for e in pt.entries
        ],
    }


def operator(tx: Tx, op: ops.Operator) -> dict:
    f = ops.figures(tx, op)
    return {
        "code": op.code,
        "name": op.name,
        "reserve": f.reserve,
        "position": f.position,
        "vault": f.vault,
        "wallets_total": f.wallets_total,
        "holds": f.holds,
        "offline": f.offline,
        "reserve_total": f.reserve + f.reserve_consumed,
        "reserve_consumed": f.reserve_consumed,
        "open_window_net": f.open_window_net,
        "net_debit_cap": f.net_debit_cap,
        "utilisation_percent": f.utilisation_percent,
        "wallet_count": f.wallet_count,
        "reconciled": f.reconciled,
    }


def page(items: list, limit: int, cursor_of) -> dict:
    """One page of a list fetched with ``limit + 1`` rows: the extra row only
    says that there is a next page."""
    has_more = len(items) > limit
    items = items[:limit]
    return {"items": items, "next_after": str(cursor_of(items[-1])) if has_more else None}


def hold(tx: Tx, h) -> dict:
    codes = ops.codes_by_id(tx)
    return {**h.__dict__, "transfers": [transfer(tx, t, codes) for t in h.transfers]}


def limits(lim) -> dict:
    return lim.as_dict()


def purse(tx: Tx, p) -> dict:
    return {**p.__dict__, "wallet": p.wallet_id, "balance": p.balance}


def sync(tx: Tx, result) -> dict:
    counts = {r: sum(1 for it in result.items if it.result == r) for r in offline.SYNC_RESULTS}
    return {
        "synced": counts[offline.SYNCED],
        "duplicates": counts[offline.DUPLICATE],
        "rejected": counts[offline.REJECTED],
        "results": [{"index": i, **it.__dict__} for i, it in enumerate(result.items)],
        "changed": result.changed,
    }
