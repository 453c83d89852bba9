"""A random walk through the API, checked against a model after every step.

Every role's writes — the central bank's issuance, operators' funding,
payments within and across operators, holds, captures, voids, refunds,
batches, freezes, the admin's clock, settlement window closes under
deferred_net — and retries of earlier requests with the same Idempotency-Key.
After each step: every wallet's balance and available amount equal the
model's, and GET /v1/audit/reconciliation is ok.

``ECNY_SOAK=1`` (``make soak``) runs many more and longer walks.
"""

from __future__ import annotations

import os
import uuid

import hypothesis.strategies as st
from hypothesis import HealthCheck, event, settings
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    precondition,
    rule,
)

from wallets.money import format_amount

SOAK = os.environ.get("ECNY_SOAK") == "1"
FEN = st.integers(min_value=1, max_value=60_000)  # up to 600.00
WALLETS = ("a", "b", "c")
OPERATOR_OF = {"a": "ICBC", "b": "ICBC", "c": "BOC"}


def money(fen: int) -> str:
    return format_amount(fen)


class LedgerWalk(RuleBasedStateMachine):
    holds = Bundle("holds")
    payments = Bundle("payments")
    done = Bundle("done")  # earlier requests, for retries

    def __init__(self, make_sandbox) -> None:
        super().__init__()
        self.sb = make_sandbox()
        sb = self.sb
        sb.operator("ICBC", issue="100000.00")
        sb.operator("BOC", issue="100000.00")
        self.ids = {name: sb.wallet(OPERATOR_OF[name], 1) for name in WALLETS}
        self.balance = dict.fromkeys(WALLETS, 0)  # owned, in fen
        self.held = dict.fromkeys(WALLETS, 0)
        self.frozen: set[str] = set()

    # ---- helpers ---------------------------------------------------------

    def send(self, method, path, key, body=None, idem=None):
        idem = idem or uuid.uuid4().hex
        r = self.sb.call(method, path, key, json=body, idem=idem)
        assert r.status_code < 500, r.get_data(as_text=True)
        code = (r.get_json(silent=True) or {}).get("code", "")
        event(f"{method} {path.split('/')[2]}/{path.rsplit('/', 1)[-1]} -> {r.status_code} {code}")
        if r.status_code >= 400:
            assert r.mimetype == "application/problem+json"
        return r, (method, path, key, body, idem, r.status_code, r.get_data())

    def available(self, w: str) -> int:
        return self.balance[w] - self.held[w]

    # ---- rules -----------------------------------------------------------

    @initialize(deferred=st.booleans())
    def settlement_model(self, deferred):
        if deferred:
            self.sb.ok(
                "PUT",
                "/v1/settlement/settings",
                key="central_bank",
                json={"model": "deferred_net"},
                status=200,
            )

    @rule(target=done, w=st.sampled_from(WALLETS), fen=FEN)
    def fund(self, w, fen):
        r, call = self.send(
            "POST", f"/v1/wallets/{self.ids[w]}/fund", OPERATOR_OF[w], {"amount": money(fen)}
        )
        if w in self.frozen:
            assert r.status_code == 422, r.get_json()
        else:
            assert r.status_code == 201, r.get_json()
            self.balance[w] += fen
        return call

    @rule(target=done, src=st.sampled_from(WALLETS), dst=st.sampled_from(WALLETS), fen=FEN)
    def pay(self, src, dst, fen):
        body = {"from_wallet": self.ids[src], "to_wallet": self.ids[dst], "amount": money(fen)}
        r, call = self.send("POST", "/v1/transfers", OPERATOR_OF[src], body)
        if r.status_code == 201:
            assert src != dst and src not in self.frozen and fen <= self.available(src)
            self.balance[src] -= fen
            self.balance[dst] += fen
            self.paid.append((r.get_json()["id"], src, dst, fen))
            self.refundable[r.get_json()["id"]] = fen
        else:
            code = r.get_json()["code"]
            fine = (
                src == dst
                or src in self.frozen
                or dst in self.frozen
                or fen > self.available(src)
                or code == "limit_exceeded"
            )
            assert r.status_code in (409, 422) and fine, (src, dst, fen, r.get_json())
        return call

    @rule(target=done, src=st.sampled_from(WALLETS), n=st.integers(1, 4), fen=FEN)
    def batch(self, src, n, fen):
        dst = "c" if src != "c" else "a"
        items = [
            {
                "id": uuid.uuid4().hex,
                "from_wallet": self.ids[src],
                "to_wallet": self.ids[dst],
                "amount": money(fen),
            }
            for _ in range(n)
        ]
        r, call = self.send("POST", "/v1/transfers/batch", OPERATOR_OF[src], {"transfers": items})
        assert r.status_code in (200, 201, 207, 422), r.get_json()
        if r.status_code < 300:
            for result in r.get_json()["results"]:
                if result.get("status") in (201, "created", "posted") or result.get("transfer"):
                    self.balance[src] -= fen
                    self.balance[dst] += fen
        return call

    @rule(target=holds, src=st.sampled_from(WALLETS), dst=st.sampled_from(WALLETS), fen=FEN)
    def hold(self, src, dst, fen):
        body = {
            "from_wallet": self.ids[src],
            "to_wallet": self.ids[dst],
            "amount": money(fen),
            "timeout_seconds": 30 * 86400,
        }
        r, _ = self.send("POST", "/v1/holds", OPERATOR_OF[src], body)
        if r.status_code == 201:
            assert src != dst and src not in self.frozen and fen <= self.available(src)
            self.held[src] += fen
            return (r.get_json()["id"], src, dst, fen)
        assert r.status_code in (409, 422), r.get_json()
        return None

    @rule(h=consumes(holds), part=st.integers(0, 100))
    def capture(self, h, part):
        if h is None:
            return
        hold_id, src, dst, fen = h
        amount = max(1, fen * part // 100)
        r, _ = self.send(
            "POST", f"/v1/holds/{hold_id}/capture", OPERATOR_OF[src], {"amount": money(amount)}
        )
        if r.status_code in (200, 201):
            self.held[src] -= fen
            self.balance[src] -= amount
            self.balance[dst] += amount
        else:  # a frozen party; the hold stays open: void it to keep the model simple
            assert r.status_code in (409, 422), r.get_json()
            self.void(h)

    @rule(h=consumes(holds))
    def void(self, h):
        if h is None:
            return
        hold_id, src, _, fen = h
        r, _ = self.send("POST", f"/v1/holds/{hold_id}/void", OPERATOR_OF[src])
        assert r.status_code in (200, 201), r.get_json()
        self.held[src] -= fen

    @precondition(lambda self: self.paid)
    @rule(data=st.data(), part=st.integers(1, 100))
    def refund(self, data, part):
        transfer_id, src, dst, fen = data.draw(st.sampled_from(self.paid))
        amount = max(1, fen * part // 100)
        r, _ = self.send(
            "POST",
            f"/v1/transfers/{transfer_id}/refunds",
            OPERATOR_OF[dst],
            {"amount": money(amount)},
        )
        if r.status_code == 201:
            assert amount <= self.available(dst) and amount <= self.refundable[transfer_id]
            self.refundable[transfer_id] -= amount
            self.balance[dst] -= amount
            self.balance[src] += amount
        else:
            assert r.status_code in (409, 422), r.get_json()

    @rule(w=st.sampled_from(WALLETS), freeze=st.booleans())
    def freeze(self, w, freeze):
        action = "freeze" if freeze else "unfreeze"
        r, _ = self.send("POST", f"/v1/wallets/{self.ids[w]}/{action}", OPERATOR_OF[w])
        assert r.status_code in (200, 409), r.get_json()
        (self.frozen.add if freeze else self.frozen.discard)(w)

    @rule(seconds=st.integers(0, 3 * 3600))
    def clock(self, seconds):
        self.sb.ok("POST", "/v1/sandbox/clock/advance", json={"seconds": seconds}, status=200)

    @rule()
    def close_window(self):
        r, _ = self.send("POST", "/v1/settlement/windows/current/close", "central_bank")
        assert r.status_code in (200, 201, 409), r.get_json()

    @rule(call=consumes(done))
    def retry(self, call):
        method, path, key, body, idem, status, first = call
        r = self.sb.call(method, path, key, json=body, idem=idem)
        assert r.status_code == status and r.get_data() == first, (call, r.get_data())
        if r.status_code < 300:
            assert r.headers.get("Idempotent-Replayed") == "true"
        if body:  # the same key with another body is refused, and changes nothing
            r = self.sb.call(method, path, key, json={**body, "reference": "other"}, idem=idem)
            assert r.status_code == 422 and r.get_json()["code"] == "idempotency_key_reused"

    # ---- checks ----------------------------------------------------------

    @invariant()
    def balances_match_the_model(self):
        for w in WALLETS:
            got = self.sb.ok("GET", f"/v1/wallets/{self.ids[w]}/balance")
            assert got["balance"] == money(self.balance[w]), (w, got, self.balance)
            assert got["available"] == money(self.available(w)), (w, got, self.held)

    @invariant()
    def reconciliation_ok(self):
        report = self.sb.ok("GET", "/v1/audit/reconciliation", key="auditor")
        assert report["ok"], [c for c in report["checks"] if not c["ok"]]


def test_api_state_machine(another_sandbox):
    class Walk(LedgerWalk):
        def __init__(self) -> None:
            self.paid: list = []
            self.refundable: dict = {}
            super().__init__(another_sandbox)

    Walk.TestCase.settings = settings(
        max_examples=40 if SOAK else 4,
        stateful_step_count=60 if SOAK else 15,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    Walk.TestCase().runTest()
