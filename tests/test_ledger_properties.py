"""Property-based: random sequences of ledger operations against a simple model.

After every step, every balance equals the model's and the invariants of
SPEC.md §3 hold (reconciliation recomputes them from the journal).
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import date
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from wallets.audit.reconcile import reconcile
from wallets.core import errors
from wallets.core.db import Database
from wallets.core.principal import SYSTEM
from wallets.retail import payments
from wallets.retail import wallet as wl
from wallets.tier1 import issuance
from wallets.tier1 import operators as ops

amounts = st.integers(min_value=1, max_value=50_000)


class LedgerMachine(RuleBasedStateMachine):
    template: Path

    @initialize()
    def start(self):
        self.dir = tempfile.mkdtemp()
        path = Path(self.dir) / "db.sqlite3"
        shutil.copy(self.template, path)
        self.db = Database(f"sqlite:///{path}")
        self.reserve = {"A": 100_000, "B": 100_000}
        self.vault = {"A": 0, "B": 0}
        self.wallets: dict[int, tuple[str, int]] = {}  # id -> (operator, balance)
        for code in ("A1", "B1"):
            self.db.write(ops.create, code, code)
        self.codes = {"A": "A1", "B": "B1"}
        for op in ("A", "B"):
            self.db.write(issuance.deposit_reserve, self.codes[op], self.reserve[op], SYSTEM)
            for cls in (1, 4):
                w = self.db.write(
                    lambda tx, op=op, cls=cls: wl.open_wallet(
                        tx,
                        SYSTEM,
                        operator_code=self.codes[op],
                        wallet_class=cls,
                        region="CN",
                        birth_date=None if cls == 4 else date(1990, 1, 1),
                        phone="+8613800000000" if cls == 4 else None,
                        phone_secret="s",
                    )
                )
                self.wallets[w.id] = (op, 0)

    def teardown(self):
        if hasattr(self, "db"):
            self.db.dispose()
            shutil.rmtree(self.dir, ignore_errors=True)

    def _attempt(self, fn, *args) -> bool:
        try:
            self.db.write(fn, *args)
            return True
        except errors.DomainError as exc:
            assert exc.code in {
                "insufficient_funds",
                "insufficient_vault_funds",
                "insufficient_reserve",
                "insufficient_position",
            }, exc.code
            return False

    @rule(op=st.sampled_from("AB"), amount=amounts)
    def issue(self, op, amount):
        ok = self._attempt(issuance.issue, self.codes[op], amount, SYSTEM)
        assert ok == (amount <= self.reserve[op])
        if ok:
            self.reserve[op] -= amount
            self.vault[op] += amount

    @rule(op=st.sampled_from("AB"), amount=amounts)
    def redeem(self, op, amount):
        ok = self._attempt(issuance.redeem, self.codes[op], amount, SYSTEM)
        assert ok == (amount <= self.vault[op])
        if ok:
            self.reserve[op] += amount
            self.vault[op] -= amount

    @rule(data=st.data(), amount=amounts)
    def fund(self, data, amount):
        w = data.draw(st.sampled_from(sorted(self.wallets)))
        op, bal = self.wallets[w]
        ok = self._attempt(payments.fund, w, amount, SYSTEM)
        assert ok == (amount <= self.vault[op])
        if ok:
            self.vault[op] -= amount
            self.wallets[w] = (op, bal + amount)

    @rule(data=st.data(), amount=amounts)
    def defund(self, data, amount):
        w = data.draw(st.sampled_from(sorted(self.wallets)))
        op, bal = self.wallets[w]
        ok = self._attempt(payments.defund, w, amount, SYSTEM)
        assert ok == (amount <= bal)
        if ok:
            self.vault[op] += amount
            self.wallets[w] = (op, bal - amount)

    @precondition(lambda self: len(getattr(self, "wallets", {})) >= 2)
    @rule(data=st.data(), amount=amounts)
    def pay(self, data, amount):
        src, dst = data.draw(st.permutations(sorted(self.wallets)))[:2]
        (sop, sbal), (dop, dbal) = self.wallets[src], self.wallets[dst]
        ok = self._attempt(payments.pay, payments.PaymentRequest(src, dst, amount), SYSTEM)
        assert ok == (amount <= sbal)
        if ok:
            self.wallets[src] = (sop, sbal - amount)
            self.wallets[dst] = (dop, dbal + amount)

    @invariant()
    def balances_match_model_and_invariants_hold(self):
        if not hasattr(self, "db"):
            return
        for w, (_, bal) in self.wallets.items():
            assert self.db.read(wl.find, w).balance == bal
        for op, code in self.codes.items():
            fig = self.db.read(lambda tx, code=code: ops.figures(tx, ops.get(tx, code, SYSTEM)))
            assert (fig.reserve, fig.vault) == (self.reserve[op], self.vault[op])
            assert fig.position == fig.vault + fig.wallets_total
        report = self.db.read(reconcile)
        assert report.ok, [c.problems for c in report.checks if not c.ok]


@pytest.fixture
def machine(sqlite_template):
    LedgerMachine.template = sqlite_template
    return LedgerMachine


def test_ledger_state_machine(machine):
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(
        machine, settings=settings(max_examples=25, stateful_step_count=20, deadline=None)
    )
