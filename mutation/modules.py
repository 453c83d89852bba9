"""The modules `make mutation` mutates, each with the tests that exercise it.

A mutant runs only the tests that reached its function when mutmut measured the
selection once (its "stats" run), so a selection may be broad; it is kept to the
files that test the module, on SQLite, so that a run stays short.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Module:
    name: str
    path: str
    tests: tuple[str, ...]
    # Mutants that hang the tests instead of failing them, each with why a hang
    # is how the bug shows (only these count as caught when they time out).
    documented_timeouts: dict[str, str] = field(default_factory=dict)


MODULES: tuple[Module, ...] = (
    Module("money", "wallets/ledger/money.py", ("tests/unit/test_money.py",)),
    Module(
        "limits",
        "wallets/retail/limits.py",
        ("tests/api/test_limits.py",),
    ),
    Module(
        "posting",
        "wallets/ledger/posting.py",
        (
            "tests/api/test_ledger_api.py",
            "tests/api/test_batches.py",
            "tests/api/test_limits.py",
            "tests/api/test_holds_refunds.py",
            # Deferred net settlement: the legs a posting defers to the window.
            "tests/api/test_settlement.py",
        ),
    ),
    # The limits tests count holds against the caps and their voids back.
    Module(
        "holds",
        "wallets/retail/holds.py",
        ("tests/api/test_holds_refunds.py", "tests/api/test_limits.py"),
    ),
    # Payments, funding and refunds.
    Module(
        "payments",
        "wallets/retail/payments.py",
        (
            "tests/api/test_holds_refunds.py",
            "tests/api/test_ledger_api.py",
            # Sub-wallets swept to their parent.
            "tests/api/test_lifecycle.py",
            # Batches: items with client ids, linked chains.
            "tests/api/test_batches.py",
            # Red envelopes spent first by payments and batches.
            "tests/api/test_programmable.py",
        ),
    ),
    Module(
        "idempotency",
        "wallets/services/idempotency.py",
        ("tests/api/test_idempotency.py",),
    ),
    Module(
        "settlement",
        "wallets/tier1/settlement.py",
        ("tests/api/test_settlement.py", "tests/test_settlement_properties.py"),
    ),
    Module(
        "cage",
        "wallets/casino/cage.py",
        (
            "tests/api/test_casino_rules.py",
            "tests/api/test_casino_day.py",
            "tests/api/test_casino_input.py",
            "tests/api/test_supervision.py",
            # Chips handed over, promoters' players, credit drawn as chips.
            "tests/api/test_casino_depth.py",
        ),
    ),
    Module(
        "casino_rules",
        "wallets/casino/rules.py",
        (
            "tests/api/test_casino_rules.py",
            "tests/api/test_supervision.py",
            "tests/api/test_casino_day.py",
        ),
    ),
    Module(
        "gaming_days",
        "wallets/casino/gaming_days.py",
        ("tests/api/test_casino_day.py",),
    ),
    Module(
        "journal",
        "wallets/ledger/journal.py",
        ("tests/api/test_ledger_api.py", "tests/audit/test_audit_verify.py"),
    ),
    Module(
        "verify",
        "wallets/audit/verify/journal.py",
        ("tests/audit/test_audit_verify.py",),
    ),
)

BY_NAME = {m.name: m for m in MODULES}
