"""The demo sandbox that `make run` starts with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from .access import keys
from .casino import registry
from .core.config import Settings
from .core.db import Database, Tx
from .core.principal import SYSTEM
from .core.schema import operators
from .ledger.money import parse_amount
from .retail import payments
from .retail import wallet as wl
from .rules.profile import select_profile
from .tier1 import issuance
from .tier1 import operators as ops

DEMO_OPERATORS = (
    # code, name, reserve deposited, e-CNY issued (CNY)
    ("ICBC", "Industrial and Commercial Bank of China", "50000000.00", "20000000.00"),
    ("BOC", "Bank of China", "30000000.00", "15000000.00"),
    ("BOCMO", "Bank of China Macau Branch", "20000000.00", "10000000.00"),
)

DEMO_WALLETS: tuple[
    tuple[str, int, str, str, date | None, str | None, str | None, str, str], ...
] = (
    # operator, class, kind, region, birth date, phone, holder name, label, funding (CNY)
    ("ICBC", 1, "personal", "CN", date(1980, 3, 14), None, "Li Wei", "class 1", "250000.00"),
    ("ICBC", 2, "personal", "CN", date(1991, 7, 2), None, "Wang Fang", "class 2", "80000.00"),
    ("ICBC", 3, "personal", "CN", date(2000, 1, 20), None, "Zhang Min", "class 3", "8000.00"),
    ("ICBC", 4, "personal", "CN", None, "+8613800000004", None, "anonymous (class 4)", "3000.00"),
    ("ICBC", 1, "merchant", "CN", None, None, None, "Shenzhen tea house (merchant)", "0.00"),
    ("BOC", 1, "personal", "HK", date(1975, 11, 5), None, "Chan Tai Man", "class 1", "300000.00"),
    ("BOC", 2, "personal", "CN", date(1988, 5, 30), None, "Liu Yang", "class 2", "60000.00"),
    ("BOC", 4, "personal", "HK", None, "+85291234567", None, "anonymous (class 4)", "5000.00"),
    ("BOCMO", 1, "personal", "MO", date(1969, 9, 9), None, "Ho Ka Chon", "class 1", "500000.00"),
    ("BOCMO", 2, "personal", "MO", date(1995, 2, 18), None, "Leong Mei", "class 2", "40000.00"),
    ("BOCMO", 3, "personal", "MO", date(2001, 12, 1), None, "Sou Kin", "class 3", "12000.00"),
    ("BOCMO", 4, "personal", "MO", None, "+85366123456", None, "anonymous (class 4)", "2000.00"),
    ("BOCMO", 1, "merchant", "MO", None, None, None, "Cotai casino cage (merchant)", "0.00"),
)


# The demo casino: the Cotai cage's wallet above, a treasury wallet, the macau profile.
DEMO_CASINO = ("COTAI", "Cotai casino (demo)", "1000000.00")


@dataclass
class SeedResult:
    created: bool
    keys: list[keys.NewKey]
    wallet_ids: list[int]


def seed_demo(db: Database, settings: Settings) -> SeedResult:
    return db.write(seed_demo_in, settings)


UNSCOPED_KEYS = (
    ("admin", "demo admin"),
    ("central_bank", "demo central bank"),
    ("auditor", "demo auditor"),
)


def seed_demo_in(
    tx: Tx, settings: Settings, unscoped_roles: tuple[str, ...] | None = None
) -> SeedResult:
    """Seed the demo in the caller's transaction (nothing when it is seeded
    already). ``unscoped_roles``: the admin, central bank and auditor keys to
    make (default: one of each; a reset makes only those no key is left of)."""
    if tx.conn.execute(sa.select(operators.c.id).limit(1)).first() is not None:
        return SeedResult(created=False, keys=[], wallet_ids=[])
    new_keys = [
        keys.create(tx, role, label=label)
        for role, label in UNSCOPED_KEYS
        if unscoped_roles is None or role in unscoped_roles
    ]
    for code, name, reserve, issued in DEMO_OPERATORS:
        ops.create(tx, code, name)
        issuance.deposit_reserve(tx, code, parse_amount(reserve), SYSTEM, "demo reserve")
        issuance.issue(tx, code, parse_amount(issued), SYSTEM, "demo issuance")
        new_keys.append(
            keys.create(tx, "operator", operator_code=code, label=f"demo {code} operator")
        )
    wallet_ids = []
    for code, cls, kind, region, born, phone, holder_name, label, funding in DEMO_WALLETS:
        w = wl.open_wallet(
            tx,
            SYSTEM,
            operator_code=code,
            wallet_class=cls,
            kind=kind,
            region=region,
            birth_date=born,
            phone=phone,
            holder_name=holder_name,
            label=label,
            phone_secret=settings.phone_hash_secret,
        )
        wallet_ids.append(w.id)
        amount = parse_amount(funding, allow_zero=True)
        if amount:
            payments.fund(tx, w.id, amount, SYSTEM, "demo funding")
    new_keys += _seed_casino(tx, settings, wallet_ids)
    return SeedResult(created=True, keys=new_keys, wallet_ids=wallet_ids)


def _seed_casino(tx: Tx, settings: Settings, wallet_ids: list[int]) -> list[keys.NewKey]:
    """A Macau casino (SPEC.md §1) under the macau rule profile, with its keys."""
    ref, name, float_amount = DEMO_CASINO
    (cage,) = (
        w for w, spec in zip(wallet_ids, DEMO_WALLETS, strict=True) if spec[7].startswith("Cotai")
    )
    select_profile(tx, name="macau")
    treasury = wl.open_wallet(
        tx,
        SYSTEM,
        operator_code="BOCMO",
        wallet_class=1,
        kind="merchant",
        region="MO",
        label="Macau SAR treasury (gaming tax)",
        phone_secret=settings.phone_hash_secret,
    )
    wallet_ids.append(treasury.id)
    registry.register(
        tx,
        ref=ref,
        name=name,
        merchant_wallet_id=cage,
        treasury_wallet_id=treasury.id,
        float_amount=parse_amount(float_amount),
        phone_secret=settings.phone_hash_secret,
    )
    return [
        keys.create(tx, "merchant", casino_ref=ref, label=f"demo {ref} casino"),
        keys.create(tx, "supervisor", casino_ref=ref, label=f"demo {ref} supervisor"),
    ]
