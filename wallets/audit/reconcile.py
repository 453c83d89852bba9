"""Reconciliation: the invariants of SPEC.md §3, checked on the live database.

Each check recomputes from the journal where it can, so a balance that drifted
from its postings is found, not trusted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa

from ..core.db import Tx
from ..core.schema import accounts, journal_entries, ledger_head, operators, transfers
from ..ledger.accounts import CHIP_PREFIX, ECNY, HOLDING_KINDS
from ..ledger.money import format_amount as fmt
from ..tier1 import issuance, settlement
from ..tier1.operators import OFFLINE_KINDS
from .checkpoints import walk


@dataclass
class Check:
    id: int
    name: str
    ok: bool
    figures: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


@dataclass
class Report:
    ok: bool
    checked_at: str
    checks: list[Check]


def reconcile(tx: Tx) -> Report:
    balances = _balances(tx)
    checks = [
        _double_entry(tx, balances),
        _no_negative(balances),
        _outstanding(tx, balances),
        _positions(tx, balances),
        _reserves(tx, balances),
        _hash_chain(tx),
    ]
    return Report(ok=all(c.ok for c in checks), checked_at=tx.now().isoformat(), checks=checks)


def _balances(tx: Tx) -> Sequence[sa.Row]:
    return tx.conn.execute(
        sa.select(
            accounts.c.id,
            accounts.c.code,
            accounts.c.kind,
            accounts.c.asset,
            accounts.c.operator_id,
            accounts.c.may_go_negative,
            accounts.c.debits_posted,
            accounts.c.credits_posted,
        ).order_by(accounts.c.id)
    ).all()


def _double_entry(tx: Tx, balances: Sequence[sa.Row]) -> Check:
    check = Check(
        1,
        "per asset (e-CNY, reserves, each casino's chips), debits equal credits; "
        "every balance equals its journal",
        True,
    )
    per_asset: dict[str, list[int]] = {}
    for a in balances:
        totals = per_asset.setdefault(a.asset, [0, 0])
        totals[0] += a.debits_posted
        totals[1] += a.credits_posted
    for asset, (debits, credits) in sorted(per_asset.items()):
        check.figures[asset] = {"debits": fmt(debits), "credits": fmt(credits)}
        if debits != credits:
            check.ok = False
            check.problems.append(f"{asset}: debits {fmt(debits)} != credits {fmt(credits)}")
        if asset.startswith(CHIP_PREFIX):
            _chip_figures(check, asset, [a for a in balances if a.asset == asset])
    je = journal_entries
    debit_sums = dict(
        tx.conn.execute(
            sa.select(je.c.debit_account_id, sa.func.sum(je.c.amount)).group_by(
                je.c.debit_account_id
            )
        ).all()
    )
    credit_sums = dict(
        tx.conn.execute(
            sa.select(je.c.credit_account_id, sa.func.sum(je.c.amount)).group_by(
                je.c.credit_account_id
            )
        ).all()
    )
    for a in balances:
        jd, jc = int(debit_sums.get(a.id, 0)), int(credit_sums.get(a.id, 0))
        if (jd, jc) != (a.debits_posted, a.credits_posted):
            check.ok = False
            check.problems.append(
                f"{a.code}: stored debits/credits {a.debits_posted}/{a.credits_posted} "
                f"but journal says {jd}/{jc}"
            )
    return check


def _chip_figures(check: Check, asset: str, chip_accounts: list[sa.Row]) -> None:
    """A casino's chips: what players hold is what the casino has issued and not taken back."""
    with_players = sum(
        a.credits_posted - a.debits_posted for a in chip_accounts if a.kind == "chips"
    )
    issued = sum(
        a.debits_posted - a.credits_posted for a in chip_accounts if a.kind == "chip_issuance"
    )
    check.figures[asset]["chips_with_players"] = fmt(with_players)
    check.figures[asset]["chips_issued_outstanding"] = fmt(issued)
    if with_players != issued:
        check.ok = False
        check.problems.append(
            f"{asset}: players hold {fmt(with_players)} but the casino has {fmt(issued)} out"
        )


def _no_negative(balances: Sequence[sa.Row]) -> Check:
    check = Check(
        2,
        "no wallet, vault, hold escrow, offline account, reserve, position or player's chips below zero",
        True,
    )
    for a in balances:
        balance = a.credits_posted - a.debits_posted
        if not a.may_go_negative and balance < 0:
            check.ok = False
            check.problems.append(f"{a.code} is at {fmt(balance)}")
    check.figures["accounts_checked"] = sum(1 for a in balances if not a.may_go_negative)
    return check


def _outstanding(tx: Tx, balances: Sequence[sa.Row]) -> Check:
    t = transfers
    issued, redeemed = (
        int(
            tx.conn.execute(
                sa.select(sa.func.coalesce(sa.func.sum(t.c.amount), 0)).where(t.c.kind == kind)
            ).scalar_one()
        )
        for kind in ("issuance", "redemption")
    )
    by_code = {a.code: a for a in balances}
    cb = by_code[issuance.CB_ISSUANCE]
    outstanding = cb.debits_posted - cb.credits_posted
    held = sum(
        a.credits_posted - a.debits_posted
        for a in balances
        if a.asset == ECNY and a.kind in HOLDING_KINDS
    )
    holds = sum(a.credits_posted - a.debits_posted for a in balances if a.kind == "holds")
    envelopes = sum(a.credits_posted - a.debits_posted for a in balances if a.kind == "envelopes")
    offline = sum(a.credits_posted - a.debits_posted for a in balances if a.kind in OFFLINE_KINDS)
    positions = sum(a.credits_posted - a.debits_posted for a in balances if a.kind == "position")
    check = Check(
        3,
        "e-CNY outstanding = issued - redeemed = vaults + wallets + holds + red envelopes + offline",
        outstanding == issued - redeemed == held == positions,
        figures={
            "outstanding": fmt(outstanding),
            "issued": fmt(issued),
            "redeemed": fmt(redeemed),
            "vaults_wallets_holds_and_offline": fmt(held),
            "holds": fmt(holds),
            "envelopes": fmt(envelopes),
            "offline": fmt(offline),
            "tier1_positions": fmt(positions),
        },
    )
    if not check.ok:
        check.problems.append(
            f"outstanding {fmt(outstanding)}, issued-redeemed {fmt(issued - redeemed)}, "
            f"vaults+wallets+holds+envelopes+offline {fmt(held)}, positions {fmt(positions)}"
        )
    return check


def _positions(tx: Tx, balances: Sequence[sa.Row]) -> Check:
    check = Check(
        4,
        "per operator: tier-1 position = vault + wallets + holds + red envelopes + offline"
        " - net position in the open settlement window",
        True,
    )
    codes = dict(tx.conn.execute(sa.select(operators.c.id, operators.c.code)).all())
    # Under deferred net settlement the tier-1 moves wait for the window's close.
    open_nets = settlement.open_window_nets(tx)
    per_op: dict[int, dict[str, int]] = {}
    for a in balances:
        if a.operator_id is None or a.asset != ECNY:
            continue
        bucket = per_op.setdefault(
            a.operator_id,
            {"position": 0, "vault": 0, "wallets": 0, "holds": 0, "envelopes": 0, "offline": 0},
        )
        kind = {"wallet": "wallets", "offline_pending": "offline"}.get(a.kind, a.kind)
        if kind in bucket:
            bucket[kind] += a.credits_posted - a.debits_posted
    for op_id, b in sorted(per_op.items(), key=lambda kv: codes[kv[0]]):
        diff = (
            b["position"] - b["vault"] - b["wallets"] - b["holds"] - b["envelopes"] - b["offline"]
        )
        window_net = open_nets.get(op_id, 0)
        check.figures[codes[op_id]] = {name: fmt(value) for name, value in b.items()}
        check.figures[codes[op_id]]["difference"] = fmt(diff)
        check.figures[codes[op_id]]["open_window_net"] = fmt(window_net)
        if diff != -window_net:
            check.ok = False
            check.problems.append(
                f"{codes[op_id]}: position differs from vault + wallets + holds + envelopes "
                f"+ offline by {fmt(diff)}, "
                f"the open window's net position says {fmt(-window_net)}"
            )
    if sum(open_nets.values()) != 0:
        check.ok = False
        check.problems.append(
            f"the open window's net positions sum to {fmt(sum(open_nets.values()))}"
        )
    return check


def _reserves(tx: Tx, balances: Sequence[sa.Row]) -> Check:
    by_code = {a.code: a for a in balances}
    cb = by_code[issuance.CB_ISSUANCE]
    outstanding = cb.debits_posted - cb.credits_posted
    held_acc = by_code[issuance.CB_RESERVE_HELD]
    consumed = held_acc.credits_posted - held_acc.debits_posted
    ratio = issuance.reserve_ratio(tx)
    required = issuance.required_reserve(outstanding, ratio)
    check = Check(
        5,
        "reserves consumed = outstanding x reserve ratio",
        consumed == required,
        figures={
            "reserve_ratio": tx.sandbox.reserve_ratio,
            "outstanding": fmt(outstanding),
            "reserves_consumed": fmt(consumed),
            "required": fmt(required),
        },
    )
    if not check.ok:
        check.problems.append(
            f"consumed {fmt(consumed)} but outstanding x ratio is {fmt(required)}"
        )
    return check


def _hash_chain(tx: Tx) -> Check:
    """The chain recomputed from the genesis to the last entry (the walk the
    checkpoints and exports make), and the recorded head at that entry."""
    check = Check(6, "the journal's hash chain is unbroken", True)
    head = tx.conn.execute(sa.select(ledger_head).where(ledger_head.c.id == 1)).one()
    last = tx.conn.execute(sa.select(sa.func.max(journal_entries.c.seq))).scalar() or 0
    walked = walk(tx, max(last, head.last_seq))
    if walked.broken is not None:
        check.ok = False
        check.problems.append(walked.broken.message)
    elif head.last_seq != last:
        check.ok = False
        check.problems.append("the recorded head does not match the last journal entry")
    check.figures = {"entries": walked.seq, "head_seq": head.last_seq, "head_hash": head.last_hash}
    return check
