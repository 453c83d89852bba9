"""Property-based: the wallet core against a simple model.

Random sequences of funding, payments, holds, captures, voids, expiries (clock
moves), refunds and batches, on wallets of classes 1, 2 and 4 at two
operators. After every step each wallet's available and held amounts equal
the model's, every refusal was one the model expected, and the invariants of
SPEC.md §3 hold.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from wallets.audit.reconcile import reconcile
from wallets.core import clock, errors
from wallets.core.db import Database
from wallets.core.principal import SYSTEM
from wallets.ledger.journal import PostedTransfer
from wallets.ledger.posting import Refusal
from wallets.retail import holds, payments
from wallets.retail import wallet as wl
from wallets.retail.limits import Limits
from wallets.rules import load_profile
from wallets.tier1 import issuance
from wallets.tier1 import operators as ops

PROFILE = load_profile("default")
START = datetime(2026, 12, 30, 20, 0, tzinfo=UTC)  # 04:00 on Dec 31 in UTC+8: a year end is near
# Up to CNY 4,000, with the class-4 edges (single 2,000; daily 5,000) and
# their neighbours drawn often, so that off-by-one errors show.
EDGES = [199_999, 200_000, 200_001, 300_000, 100_000, 1]
amounts = st.one_of(st.integers(min_value=1, max_value=400_000), st.sampled_from(EDGES))


@dataclass
class W:
    id: int
    op: str
    cls: int
    available: int = 0
    held: int = 0

    @property
    def limits(self) -> Limits:
        return PROFILE.wallet_limits[self.cls]


@dataclass
class H:
    payer: int
    payee: int
    amount: int
    expires_at: datetime
    day: date
    status: str = "pending"


class WalletMachine(RuleBasedStateMachine):
    make_db = None  # set by the fixture

    @initialize()
    def start(self):
        self.db, self.cleanup = self.make_db()
        self.now = START
        self.db.write(lambda tx: clock.set_clock(tx, START))
        self.wallets: dict[int, W] = {}
        self.usage: dict[tuple[int, str, date], int] = {}
        self.holds: dict[int, H] = {}
        self.payments: dict[int, tuple[int, int, int]] = {}  # transfer id -> (payer, payee, amount)
        self.refunded: dict[int, int] = {}
        self.batch_no = 0
        for code in ("OPA", "OPB"):
            self.db.write(ops.create, code, code)
            self.db.write(issuance.deposit_reserve, code, 10**9, SYSTEM)
            self.db.write(issuance.issue, code, 10**9, SYSTEM)
            for cls in (1, 2, 4):
                w = self.db.write(
                    lambda tx, code=code, cls=cls: wl.open_wallet(
                        tx,
                        SYSTEM,
                        operator_code=code,
                        wallet_class=cls,
                        region="CN",
                        birth_date=None if cls == 4 else date(1990, 1, 1),
                        phone="+8613800000000" if cls == 4 else None,
                        phone_secret="s",
                    )
                )
                self.wallets[w.id] = W(w.id, code, cls)
                start = {1: 5_000_000, 2: 2_000_000, 4: 900_000}[cls]
                self.db.write(payments.fund, w.id, start, SYSTEM)
                self.wallets[w.id].available = start

    def teardown(self):
        if hasattr(self, "db"):
            self.db.dispose()
            self.cleanup()

    # ---- the model's view of limits ---------------------------------------------

    def day(self) -> date:
        return clock.local_date(self.now)

    def used(self, w: int, period: str, d: date) -> int:
        return self.usage.get((w, period, d), 0)

    def count(self, w: int, d: date, amount: int) -> None:
        for period, start in (("day", d), ("year", date(d.year, 1, 1))):
            self.usage[(w, period, start)] = self.used(w, period, start) + amount

    def outgoing_ok(self, w: W, amount: int) -> bool:
        lim, d = w.limits, self.day()
        return (
            (lim.single_payment is None or amount <= lim.single_payment)
            and (lim.daily_out is None or self.used(w.id, "day", d) + amount <= lim.daily_out)
            and (
                lim.annual_out is None
                or self.used(w.id, "year", date(d.year, 1, 1)) + amount <= lim.annual_out
            )
        )

    def cap_ok(self, w: W, growth: int) -> bool:
        return w.limits.balance_cap is None or w.available + w.held + growth <= w.limits.balance_cap

    def run(self, fn, *args):
        try:
            return self.db.write(fn, *args), None
        except errors.DomainError as exc:
            return None, exc.code

    # ---- rules --------------------------------------------------------------------

    wallet_ids = st.integers(min_value=0, max_value=5)

    def pick(self, i: int) -> W:
        return self.wallets[sorted(self.wallets)[i]]

    @rule(i=wallet_ids, amount=amounts)
    def fund(self, i, amount):
        w = self.pick(i)
        _, code = self.run(payments.fund, w.id, amount, SYSTEM)
        expected = self.cap_ok(w, amount)
        assert (code is None) == expected, code
        if expected:
            w.available += amount
        else:
            assert code == "limit_exceeded"

    @rule(i=wallet_ids, j=wallet_ids, amount=amounts)
    def pay(self, i, j, amount):
        src, dst = self.pick(i), self.pick(j)
        posted, code = self.run(
            payments.pay, payments.PaymentRequest(src.id, dst.id, amount), SYSTEM
        )
        if src.id == dst.id:
            assert code == "same_wallet"
            return
        expected = (
            src.available >= amount and self.outgoing_ok(src, amount) and self.cap_ok(dst, amount)
        )
        assert (code is None) == expected, (code, src, dst, amount)
        if expected:
            src.available -= amount
            dst.available += amount
            self.count(src.id, self.day(), amount)
            self.payments[posted.id] = (src.id, dst.id, amount)
        else:
            assert code in ("insufficient_funds", "limit_exceeded")

    @rule(
        i=wallet_ids,
        j=wallet_ids,
        amount=amounts,
        timeout=st.integers(min_value=60, max_value=3 * 86400),
    )
    def hold(self, i, j, amount, timeout):
        src, dst = self.pick(i), self.pick(j)
        h, code = self.run(
            lambda tx: holds.create(
                tx,
                SYSTEM,
                from_wallet_id=src.id,
                to_wallet_id=dst.id,
                amount=amount,
                timeout_seconds=timeout,
            )
        )
        if src.id == dst.id:
            assert code == "same_wallet"
            return
        expected = src.available >= amount and self.outgoing_ok(src, amount)
        assert (code is None) == expected, (code, src, amount)
        if expected:
            src.available -= amount
            src.held += amount
            self.count(src.id, self.day(), amount)
            self.holds[h.id] = H(
                src.id, dst.id, amount, self.now + timedelta(seconds=timeout), self.day()
            )

    def _release(self, h: H) -> None:
        payer = self.wallets[h.payer]
        payer.held -= h.amount
        payer.available += h.amount
        self.count(h.payer, h.day, -h.amount)

    @precondition(lambda self: getattr(self, "holds", None))
    @rule(data=st.data(), part=st.integers(min_value=0, max_value=100))
    def capture(self, data, part):
        hold_id = data.draw(st.sampled_from(sorted(self.holds)))
        h = self.holds[hold_id]
        amount = max(1, h.amount * part // 100)
        result, code = self.run(holds.capture, hold_id, SYSTEM, amount)
        if h.status != "pending":
            assert code == ("hold_expired" if h.status == "expired" else "hold_already_resolved"), (
                code
            )
            return
        payee = self.wallets[h.payee]
        expected = self.cap_ok(payee, amount)
        assert (code is None) == expected, (code, h, amount)
        if expected:
            payer = self.wallets[h.payer]
            payer.held -= h.amount
            payer.available += h.amount - amount
            self.count(h.payer, h.day, -(h.amount - amount))
            payee.available += amount
            h.status = "captured"
            capture = next(t for t in result.transfers if t.kind == "capture")
            self.payments[capture.id] = (h.payer, h.payee, amount)
        else:
            assert code == "limit_exceeded"

    @precondition(lambda self: getattr(self, "holds", None))
    @rule(data=st.data())
    def void(self, data):
        hold_id = data.draw(st.sampled_from(sorted(self.holds)))
        h = self.holds[hold_id]
        _, code = self.run(holds.void, hold_id, SYSTEM)
        if h.status != "pending":
            assert code == ("hold_expired" if h.status == "expired" else "hold_already_resolved"), (
                code
            )
            return
        assert code is None, code
        self._release(h)
        h.status = "voided"

    @rule(seconds=st.sampled_from([0, 59, 3600, 6 * 3600, 86400, 2 * 86400]))
    def advance_clock(self, seconds):
        def move(tx):
            clock.advance(tx, seconds)
            return holds.release_expired(tx)

        released = self.db.write(move)
        self.now += timedelta(seconds=seconds)
        due = [h for h in self.holds.values() if h.status == "pending" and h.expires_at <= self.now]
        assert released == len(due)
        for h in due:
            self._release(h)
            h.status = "expired"

    @precondition(lambda self: getattr(self, "payments", None))
    @rule(data=st.data(), part=st.integers(min_value=1, max_value=100))
    def refund(self, data, part):
        transfer_id = data.draw(st.sampled_from(sorted(self.payments)))
        payer_id, payee_id, original = self.payments[transfer_id]
        amount = max(1, original * part // 100)
        _, code = self.run(payments.refund, transfer_id, amount, SYSTEM)
        payer, payee = self.wallets[payer_id], self.wallets[payee_id]
        if self.refunded.get(transfer_id, 0) + amount > original:
            # The amount check comes after the balance and limit checks of the posting.
            assert code in ("refund_exceeds_payment", "insufficient_funds", "limit_exceeded"), code
            return
        expected = payee.available >= amount and self.cap_ok(payer, amount)
        assert (code is None) == expected, (code, amount)
        if expected:
            payee.available -= amount
            payer.available += amount
            self.refunded[transfer_id] = self.refunded.get(transfer_id, 0) + amount

    @rule(
        items=st.lists(
            st.tuples(wallet_ids, wallet_ids, amounts, st.booleans()), min_size=1, max_size=6
        ),
    )
    def batch(self, items):
        self.batch_no += 1
        reqs = [
            payments.PaymentRequest(
                self.pick(i).id,
                self.pick(j).id,
                amount,
                client_id=f"b{self.batch_no}-{n}",
                linked=linked,
            )
            for n, (i, j, amount, linked) in enumerate(items)
        ]
        results = self.db.write(payments.post_payments, reqs, SYSTEM)
        # Replay the batch on the model: chains of linked items stand or fall together.
        chain: list[tuple[payments.PaymentRequest, object]] = []
        snapshot = None
        for n, req in enumerate(reqs):
            if not chain:
                snapshot = self._snapshot()
            src, dst = self.wallets[req.from_wallet_id], self.wallets[req.to_wallet_id]
            ok = (
                src.id != dst.id
                and src.available >= req.amount
                and self.outgoing_ok(src, req.amount)
                and self.cap_ok(dst, req.amount)
                and not (n == len(reqs) - 1 and req.linked)
            )
            if ok:
                src.available -= req.amount
                dst.available += req.amount
                self.count(src.id, self.day(), req.amount)
            chain.append((req, ok))
            if req.linked and n < len(reqs) - 1:
                continue
            chain_ok = all(ok for _, ok in chain)
            if not chain_ok:
                self._restore(snapshot)
            for k, (creq, _) in enumerate(chain):
                got = results[n - len(chain) + 1 + k]
                assert isinstance(got, PostedTransfer) == chain_ok, (creq, got)
                if chain_ok:
                    self.payments[got.id] = (creq.from_wallet_id, creq.to_wallet_id, creq.amount)
                else:
                    assert isinstance(got, Refusal)
            chain = []

    def _snapshot(self):
        return ({w: (x.available, x.held) for w, x in self.wallets.items()}, dict(self.usage))

    def _restore(self, snap) -> None:
        balances, usage = snap
        for w, (available, held) in balances.items():
            self.wallets[w].available, self.wallets[w].held = available, held
        self.usage = usage

    # ---- what must always hold ------------------------------------------------

    @invariant()
    def matches_model_and_invariants_hold(self):
        if not hasattr(self, "db"):
            return
        found = self.db.read(wl.find_many, set(self.wallets))
        for w_id, w in self.wallets.items():
            assert (found[w_id].available, found[w_id].held) == (w.available, w.held), w
        report = self.db.read(reconcile)
        assert report.ok, [c.problems for c in report.checks if not c.ok]


def _sqlite_factory(template):
    def make():
        folder = tempfile.mkdtemp()
        path = Path(folder) / "db.sqlite3"
        shutil.copy(template, path)
        return Database(f"sqlite:///{path}"), lambda: shutil.rmtree(folder, ignore_errors=True)

    return make


def _pg_factory(server):
    def make():
        name, url = server.fresh()
        return Database(url), lambda: server.drop(name)

    return make


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_wallet_state_machine(request, backend):
    from hypothesis.stateful import run_state_machine_as_test

    if backend == "sqlite":
        WalletMachine.make_db = staticmethod(
            _sqlite_factory(request.getfixturevalue("sqlite_template"))
        )
        examples = 30
    else:
        WalletMachine.make_db = staticmethod(_pg_factory(request.getfixturevalue("pg_server")))
        examples = 10
    run_state_machine_as_test(
        WalletMachine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
