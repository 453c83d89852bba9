"""Property-based: random cross-operator payments and window closes under
deferred net settlement. Net positions always sum to zero; after each close
every operator's tier-1 position equals its vault + wallets + holds exactly;
at every step reconciliation holds (off by exactly the open window's nets)."""

from __future__ import annotations

import shutil
import tempfile
from datetime import date
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from wallets.audit.reconcile import reconcile
from wallets.core import errors
from wallets.core.db import Database
from wallets.core.principal import SYSTEM
from wallets.retail import payments
from wallets.retail import wallet as wl
from wallets.tier1 import issuance, settlement
from wallets.tier1 import operators as ops

CODES = ("OPA", "OPB", "OPC")


class SettlementMachine(RuleBasedStateMachine):
    template: Path

    @initialize(cap=st.integers(min_value=0, max_value=3_000_000))
    def start(self, cap):
        self.dir = tempfile.mkdtemp()
        path = Path(self.dir) / "db.sqlite3"
        shutil.copy(self.template, path)
        self.db = Database(f"sqlite:///{path}")
        self.db.write(lambda tx: settlement.update_settings(tx, model="deferred_net"))
        self.wallets: list[int] = []
        self.sent: dict[str, int] = dict.fromkeys(CODES, 0)
        self.received: dict[str, int] = dict.fromkeys(CODES, 0)
        self.cap = cap
        for code in CODES:
            op = self.db.write(ops.create, code, code)
            self.db.write(issuance.deposit_reserve, code, 10**9, SYSTEM)
            self.db.write(issuance.issue, code, 10**8, SYSTEM)
            self.db.write(lambda tx, op=op: settlement.set_net_debit_cap(tx, op.id, cap))
            for _ in range(2):
                w = self.db.write(
                    lambda tx, code=code: wl.open_wallet(
                        tx,
                        SYSTEM,
                        operator_code=code,
                        wallet_class=1,
                        region="CN",
                        birth_date=date(1990, 1, 1),
                        phone_secret="s",
                    )
                )
                self.db.write(payments.fund, w.id, 2_000_000, SYSTEM)
                self.wallets.append(w.id)

    def teardown(self):
        if hasattr(self, "db"):
            self.db.dispose()
            shutil.rmtree(self.dir, ignore_errors=True)

    def op_of(self, wallet_id: int) -> str:
        return CODES[self.wallets.index(wallet_id) // 2]

    @rule(i=st.integers(0, 5), j=st.integers(0, 5), amount=st.integers(1, 1_500_000))
    def pay(self, i, j, amount):
        src, dst = self.wallets[i], self.wallets[j]
        if src == dst:
            return
        a, b = self.op_of(src), self.op_of(dst)
        try:
            self.db.write(payments.pay, payments.PaymentRequest(src, dst, amount), SYSTEM)
        except errors.DomainError as exc:
            if exc.code == "operator_net_debit_cap_exceeded":
                assert a != b and self.sent[a] + amount - self.received[a] > self.cap
            else:
                assert exc.code == "insufficient_funds"
            return
        if a != b:
            assert self.sent[a] + amount - self.received[a] <= self.cap
            self.sent[a] += amount
            self.received[b] += amount

    @rule(i=st.integers(0, 5), j=st.integers(0, 5), over=st.sampled_from([0, 1]))
    def pay_to_the_cap(self, i, j, over):
        """Exactly to the payer operator's cap, or one fen past it."""
        a = self.op_of(self.wallets[i])
        amount = self.cap - (self.sent[a] - self.received[a]) + over
        if amount > 0:
            self.pay(i, j, amount)

    @rule()
    def close(self):
        self.db.write(settlement.close)
        self.sent = dict.fromkeys(CODES, 0)
        self.received = dict.fromkeys(CODES, 0)
        report = self.db.read(reconcile)
        figures = report.checks[3].figures
        assert all(figures[c]["difference"] == "0.00" for c in CODES), figures

    @invariant()
    def nets_sum_to_zero_and_reconcile(self):
        if not hasattr(self, "db"):
            return
        nets = self.db.read(settlement.open_window_nets)
        assert sum(nets.values()) == 0
        by_code = {c: self.received[c] - self.sent[c] for c in CODES}
        codes = self.db.read(ops.codes_by_id)
        assert {codes[op]: n for op, n in nets.items()} == {
            c: n for c, n in by_code.items() if c in {codes[o] for o in nets}
        }
        report = self.db.read(reconcile)
        assert report.ok, [c.problems for c in report.checks if not c.ok]


def test_settlement_state_machine(sqlite_template):
    from hypothesis.stateful import run_state_machine_as_test

    SettlementMachine.template = sqlite_template
    run_state_machine_as_test(
        SettlementMachine, settings=settings(max_examples=25, stateful_step_count=20, deadline=None)
    )
