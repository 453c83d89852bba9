"""A benchmark ledger: operators with e-CNY, wallets of every class, funded,
and the sandbox clock fixed (the same day for every transfer of a run).

Built through the domain's own functions (the same checks as the API), in a
few large transactions."""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa

from wallets.access import keys
from wallets.core import clock
from wallets.core.db import Database, upgrade
from wallets.core.principal import SYSTEM
from wallets.ledger.accounts import ECNY
from wallets.ledger.posting import Leg, Posting, TransferDraft
from wallets.retail import wallet as wl
from wallets.retail.limits import class_limits
from wallets.retail.payments import PaymentRequest, operator_accounts
from wallets.tier1 import issuance
from wallets.tier1 import operators as ops

OPERATORS = ("ICBC", "BOC", "BOCMO")
CLOCK = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # 10:00 in Beijing and Macau
FUNDING = 2_000_00  # CNY 2,000 per wallet: below every class's balance cap


@dataclass(frozen=True)
class BenchWallet:
    id: int
    operator_id: int
    operator_code: str
    account_id: int


@dataclass
class World:
    url: str
    wallets: list[BenchWallet]
    op_accounts: dict[int, dict[str, int]]
    keys: dict[str, str] = field(default_factory=dict)  # operator code (or "admin") -> API key

    def by_operator(self) -> dict[str, list[BenchWallet]]:
        out: dict[str, list[BenchWallet]] = {}
        for w in self.wallets:
            out.setdefault(w.operator_code, []).append(w)
        return out


def _open(tx, code: str, n: int, first: int, classes: tuple[int, ...]) -> list[wl.Wallet]:
    out = []
    for i in range(first, first + n):
        cls = classes[i % len(classes)]
        out.append(
            wl.open_wallet(
                tx,
                SYSTEM,
                operator_code=code,
                wallet_class=cls,
                region="CN" if i % 3 else "MO",
                birth_date=None if cls == 4 else date(1980 + i % 20, 1 + i % 12, 1 + i % 28),
                phone=f"+86138{i:08d}" if cls == 4 else None,
                phone_secret="bench",
            )
        )
    return out


def build(
    url: str,
    wallets: int,
    *,
    with_keys: bool = False,
    classes: tuple[int, ...] = (1, 2, 3, 4),
    funding: int = FUNDING,
) -> World:
    """Migrate ``url`` (empty) and fill it: ``wallets`` wallets of ``classes`` spread
    over the operators, each funded with ``funding`` fen."""
    upgrade(url)
    db = Database(url)
    try:

        def setup(tx):
            clock.set_clock(tx, CLOCK, fixed=True)
            for code in OPERATORS:
                ops.create(tx, code, f"{code} (benchmark)")
                issuance.deposit_reserve(tx, code, 10**14, SYSTEM)
                issuance.issue(tx, code, 10**13, SYSTEM)

        db.write(setup)
        opened: list[wl.Wallet] = []
        per_op = -(-wallets // len(OPERATORS))
        for k, code in enumerate(OPERATORS):
            n = min(per_op, wallets - len(opened))
            for start in range(0, n, 2000):
                opened += db.write(_open, code, min(2000, n - start), k * per_op + start, classes)

        def fund(tx, chunk: list[wl.Wallet]):
            vaults = {
                op: a["vault"]
                for op, a in operator_accounts(tx, {w.operator_id for w in chunk}).items()
            }
            posting = Posting(
                tx,
                [*vaults.values(), *(w.account_id for w in chunk)],
                limits=class_limits(chunk),
            )
            for w in chunk:
                vault = vaults[w.operator_id]
                posting.add(
                    TransferDraft(
                        kind="funding",
                        asset=ECNY,
                        amount=funding,
                        legs=[Leg(vault, w.account_id, funding, ECNY)],
                        to_wallet_id=w.id,
                        from_operator_id=w.operator_id,
                        to_operator_id=w.operator_id,
                    )
                )
            return posting.commit()

        for start in range(0, len(opened), 5000):
            db.write(fund, opened[start : start + 5000])
        op_accounts = db.read(lambda tx: operator_accounts(tx, {w.operator_id for w in opened}))
        world = World(
            url,
            [BenchWallet(w.id, w.operator_id, w.operator_code, w.account_id) for w in opened],
            op_accounts,
        )
        if with_keys:

            def make_keys(tx):
                out = {"admin": keys.create(tx, "admin").key}
                for code in OPERATORS:
                    out[code] = keys.create(tx, "operator", operator_code=code).key
                return out

            world.keys = db.write(make_keys)
        if db.is_sqlite:
            with db.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return world
    finally:
        db.dispose()


def payments_between(
    world: World, n: int, seed: int = 8, same_operator: bool = False
) -> list[PaymentRequest]:
    """``n`` random payments between distinct wallets, CNY 0.01 to 50.00 each."""
    rnd = random.Random(seed)
    ws = world.wallets
    groups = world.by_operator() if same_operator else None
    out = []
    for _ in range(n):
        if groups is not None:
            pool = groups[OPERATORS[rnd.randrange(len(groups))]]
            a, b = rnd.sample(pool, 2)
        else:
            a, b = rnd.sample(ws, 2)
        out.append(PaymentRequest(a.id, b.id, rnd.randint(1, 5000)))
    return out


def copy_sqlite(src_url: str, dst: Path) -> str:
    """A copy of a (checkpointed) SQLite database: the yardsticks start from the same file."""
    src = Path(sa.engine.make_url(src_url).database)
    shutil.copy(src, dst)
    return f"sqlite:///{dst}"


def sqlite_path(url: str) -> str:
    return sa.engine.make_url(url).database
