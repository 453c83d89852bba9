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
        documented_timeouts={
            # next_cutoff must move forward: each of these hands close_due a cut-off
            # at or before the one it closed, and it closes windows for ever.
            "wallets.tier1.settlement.x_next_cutoff__mutmut_6": "`astimezone(None)`: the "
            "machine's zone (UTC here), whose date is a day behind UTC+8 before 08:00 there: "
            "a cut-off already passed, closed again and again",
            "wallets.tier1.settlement.x_next_cutoff__mutmut_16": "`instant if True`: "
            "today's cut-off even when passed, again and again",
            "wallets.tier1.settlement.x_next_cutoff__mutmut_17": "`instant >= now`: "
            "the cut-off just closed is the next one",
            "wallets.tier1.settlement.x_next_cutoff__mutmut_18": "`instant - 1 day`: "
            "the next cut-off lies in the past",
        },
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
            # Each operation's transfers, the lists and how refusals name a wallet.
            "tests/api/test_casino_cage.py",
            # Chips in HKD and MOP: the rate recorded, conversions refused.
            "tests/api/test_casino_fx.py",
            # The buy-in's payment code; no merchant, casino or treasury wallet plays.
            "tests/api/test_payment_codes.py",
        ),
    ),
    Module(
        "casino_rules",
        "wallets/casino/rules.py",
        (
            "tests/api/test_casino_rules.py",
            "tests/api/test_supervision.py",
            "tests/api/test_casino_day.py",
            # Third-party payouts and chips pooled (FATF/APG 2009).
            "tests/api/test_casino_depth.py",
            # LTR, structuring and the mainland quota in HKD and MOP chips.
            "tests/api/test_casino_fx.py",
        ),
    ),
    Module(
        "gaming_days",
        "wallets/casino/gaming_days.py",
        (
            "tests/api/test_casino_day.py",
            # Contributions, promoters' commissions, credit and chip walking at the close.
            "tests/api/test_casino_depth.py",
            # The close of an HKD or MOP casino: its figures in chips and in CNY.
            "tests/api/test_casino_fx.py",
        ),
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
