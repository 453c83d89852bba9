"""A random walk through the API, checked against an exact model after every step.

The world (set up through the API): two operators, ICBC and BOC, under the
``macau`` profile; the casino COTAI, its merchant wallet and the treasury
wallet at BOC; and five players of every kind — a mainland class 1 wallet,
one holder with a class 2 wallet at ICBC and a class 1 wallet at BOC, an
anonymous class 4 wallet, and a class 3 wallet whose holder turns 21 the
next day — funded, with chips bought and a first round played. The
settlement model (gross or deferred net, with or without a daily cut-off),
the reserve ratio and the casino's float are drawn too.

Then every role's writes, in random order: the central bank's reserve
deposits, issuance, redemption, net debit caps and window closes; an
operator's issuance and redemption of its own, funding, defunding, payments
within and across operators, batches (and batches sent again under a new
key), holds (with timeouts the clock passes; some conditional payments due
by time, captured then), captures, voids, refunds,
freezes and unfreezes, its own class limits, offline purses loaded and
unloaded again; the merchant's buy-ins, plays,
cash-outs and gaming-day closes; the supervisor's exclusions, revocations,
freezes and closes; identity reveals of the players (requested by the
central bank or the supervisor, decided by the other, read once by the
requester: the model's holder); the admin's clock; and retries of earlier requests with
the same Idempotency-Key (a refused one runs afresh: its key was left free).

The model predicts every answer exactly: the status and code of each
refusal (frozen, insufficient funds, chips, vault or reserve, each class
limit, net debit caps, age, exclusions, anonymous wallets at the LTR
threshold), the alerts each cage operation raises, each gaming day's report
(figures, tax, sweep, checks). After every step, the model's figures are the
API's: every wallet's balance, available, held and status; each operator's
liquidity view (GET /v1/operators: reserve, position, vault, wallets, holds,
open window, net debit cap); the casino's merchant balance and chips with
players, and its players' days; each player's chips (in the ledger's chip
accounts: the API shows them per casino only); one wallet's limits and usage
in turn; and GET /v1/audit/reconciliation is ok (the auditor).

``ECNY_SOAK=1`` (``make soak``) runs many more and longer walks.
"""

from __future__ import annotations

import math
import os
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import hypothesis.strategies as st
import sqlalchemy as sa
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

from app.client import OfflineDevice
from app.errors import status_for
from wallets.core.clock import SANDBOX_TZ
from wallets.ledger.money import format_amount, parse_amount
from wallets.tier1 import issuance

SOAK = os.environ.get("ECNY_SOAK") == "1"
START = datetime(2026, 3, 2, 10, 0, tzinfo=SANDBOX_TZ)  # a Monday morning, UTC+8
CASINO = "COTAI"
CHIPS = f"CHIP:{CASINO}"
OPERATORS = ("ICBC", "BOC")
LIMIT_NAMES = ("balance_cap", "single_payment", "daily_out", "annual_out")

# Players: operator, class, region, holder, birth date, funds at the start. "h-bc"
# is one holder with wallets at both operators; "y" turns 21 (the profile's
# minimum age) tomorrow.
PLAYERS = {
    "a": ("ICBC", 1, "CN", "h-a", date(1990, 1, 1), 100_000_000),
    "b": ("ICBC", 2, "HK", "h-bc", date(1985, 6, 1), 10_000_000),
    "c": ("BOC", 1, "MO", "h-bc", date(1985, 6, 1), 100_000_000),
    "d": ("BOC", 4, "MO", "h-d", None, 200_000),
    "y": ("BOC", 3, "MO", "h-y", date(2005, 3, 3), 500_000),
}
NAMES = tuple(PLAYERS)
HOLDERS = sorted({p[3] for p in PLAYERS.values()})

FEN = st.integers(min_value=1, max_value=60_000)  # up to 600.00
PART = st.integers(min_value=1, max_value=120)  # percent of what there is: past 100 is too much
LTR = 45_454_546  # the LTR threshold (MOP 500,000 at 1.10, rounded up), checked at set-up
AMOUNT = st.one_of(FEN, FEN, FEN, st.sampled_from([LTR - 1, LTR, LTR + 100]))
CAP = st.sampled_from([None, 20_000, 100_000, 1_000_000, 60_000_000])
OFFLINE_CAP = 200_000  # the macau profile's offline.purse_cap (2000.00), checked at set-up


def money(fen: int) -> str:
    return format_amount(fen)


def cap_text(fen: int | None) -> str | None:
    return None if fen is None else money(fen)


def min_cap(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def vary(body: dict | None) -> dict | None:
    """The same request with another (valid) body: one fen, second or word more."""
    if body is None:
        return None
    for name in ("amount", "wager", "net_debit_cap", "balance_cap"):
        if name in body:
            return {**body, name: money(parse_amount(body[name] or "0", allow_zero=True) + 1)}
    if "transfers" in body:
        first = body["transfers"][0]
        return {"transfers": [{**first, "amount": money(parse_amount(first["amount"]) + 1)}]}
    if "seconds" in body:
        return {"seconds": body["seconds"] + 1}
    if "counter" in body:  # an offline purse's unload statement
        return {**body, "counter": body["counter"] + 1}
    if "case_reference" in body:
        return {**body, "case_reference": body["case_reference"] + "-2"}
    if not body or "reason" in body:
        return {"reason": "varied"}
    return {**body, "kind": "family" if body["kind"] == "self" else "self"}


# ---- the model -------------------------------------------------------------------


@dataclass
class Wallet:
    name: str
    id: int
    op: str
    cls: int
    region: str
    holder: str
    birth: date | None
    avail: int = 0
    held: int = 0
    frozen: bool = False
    chips: int = 0
    player: bool = False  # holds a chip account at the casino


@dataclass
class Operator:
    code: str
    deposits: int = 0
    reserve: int = 0  # free reserve
    consumed: int = 0
    position: int = 0
    vault: int = 0
    sent: int = 0  # in the open settlement window
    received: int = 0
    ndc: int | None = None  # set by the central bank; None: derived from the free reserve


@dataclass
class Hold:
    id: int
    src: Wallet
    dst: Wallet
    amount: int
    expires_at: datetime
    day: date
    status: str = "pending"
    timed: bool = False  # a conditional payment due by time: captured at expires_at


@dataclass
class Exclusion:
    id: int
    holder: str
    everywhere: bool
    starts: date
    ends: date
    revoked_from: datetime | None = None

    def status(self, now: datetime) -> str:
        if self.revoked_from is not None and now >= self.revoked_from:
            return "revoked"
        today = now.astimezone(SANDBOX_TZ).date()
        if today > self.ends:
            return "ended"
        if today < self.starts:
            return "scheduled"
        return "revocation_pending" if self.revoked_from is not None else "active"


@dataclass
class Call:
    """An earlier request, for retries: the rule that made it (to run it afresh
    when it was refused: a refused request leaves its key free) and its answer."""

    rule: str
    args: tuple
    method: str
    path: str
    key: str
    body: dict | None
    idem: str
    status: int
    data: bytes
    other: dict | None = None  # the same request with another body


@dataclass
class Model:
    now: datetime = START
    wallets: dict[str, Wallet] = field(default_factory=dict)
    ops: dict[str, Operator] = field(default_factory=dict)
    profile: dict[int, dict[str, int | None]] = field(default_factory=dict)
    overrides: dict[tuple[str, int], dict[str, int | None]] = field(default_factory=dict)
    usage: Counter = field(default_factory=Counter)  # (wallet id, day or year) -> paid out
    ratio: Fraction = Fraction(1)
    ndc_ratio: Fraction = Fraction(1)
    deferred: bool = False
    cutoff: time | None = None
    outstanding: int = 0
    holds: dict[int, Hold] = field(default_factory=dict)
    refundable: dict[int, list] = field(default_factory=dict)  # transfer -> [payer, payee, left]
    batch_items: dict[str, int] = field(default_factory=dict)  # posted item id -> transfer id
    # The casino.
    rules: dict = field(default_factory=dict)
    float: int = 0
    days: dict[tuple[date, int], list[int]] = field(default_factory=dict)
    cage: list[tuple] = field(default_factory=list)  # (at, kind, holder, amount)
    chip_moves: list[tuple[datetime, int]] = field(default_factory=list)
    alerted: set = field(default_factory=set)
    closed: set[date] = field(default_factory=set)
    exclusions: dict[int, Exclusion] = field(default_factory=dict)
    # Payment codes issued: code -> [wallet id, expires at, cap, used].
    codes: dict[str, list] = field(default_factory=dict)

    # ---- time ----

    def today(self) -> date:
        return self.now.astimezone(SANDBOX_TZ).date()

    def gaming_day(self) -> date:
        local = self.now.astimezone(SANDBOX_TZ)
        return (
            local.date() - timedelta(days=1)
            if local.time() < self.rules["cutoff"]
            else local.date()
        )

    def day_bounds(self, day: date) -> tuple[datetime, datetime]:
        start = datetime.combine(day, self.rules["cutoff"], SANDBOX_TZ)
        return start, start + timedelta(days=1)

    # ---- limits and caps ----

    def limits(self, w: Wallet) -> dict[str, int | None]:
        base, mine = self.profile[w.cls], self.overrides.get((w.op, w.cls), {})
        return {n: min_cap(base[n], mine.get(n)) for n in LIMIT_NAMES}

    def out_exceeded(self, w: Wallet, amount: int) -> bool:
        lim, today = self.limits(w), self.today()
        used = {
            "single_payment": 0,
            "daily_out": self.usage[w.id, today],
            "annual_out": self.usage[w.id, today.year],
        }
        return any(lim[n] is not None and used[n] + amount > lim[n] for n in used)

    def cap_exceeded(self, w: Wallet, growth: int) -> bool:
        cap = self.limits(w)["balance_cap"]
        return cap is not None and growth > 0 and w.avail + w.held + growth > cap

    def count_out(self, w: Wallet, amount: int, day: date | None = None) -> None:
        day = day or self.today()
        self.usage[w.id, day] += amount
        self.usage[w.id, day.year] += amount

    def ndc_cap(self, op: Operator) -> int:
        return op.ndc if op.ndc is not None else math.floor(op.reserve * self.ndc_ratio)

    def ndc_exceeded(self, payer: str, payee: str, amount: int) -> bool:
        if not self.deferred or payer == payee:
            return False
        op = self.ops[payer]
        debit = op.sent - op.received + amount
        return debit > 0 and debit > self.ndc_cap(op)

    # ---- e-CNY moves ----

    def interbank(self, payer: str, payee: str, amount: int) -> None:
        if payer == payee:
            return
        if self.deferred:
            self.ops[payer].sent += amount
            self.ops[payee].received += amount
        else:
            self.ops[payer].position -= amount
            self.ops[payee].position += amount

    def payment(self, src: Wallet, dst: Wallet, amount: int) -> str | None:
        """A wallet-to-wallet payment after the status checks: its refusal, or
        None and it is applied."""
        if src.avail < amount:
            return "insufficient_funds"
        if self.out_exceeded(src, amount) or self.cap_exceeded(dst, amount):
            return "limit_exceeded"
        if self.ndc_exceeded(src.op, dst.op, amount):
            return "operator_net_debit_cap_exceeded"
        src.avail -= amount
        dst.avail += amount
        self.count_out(src, amount)
        self.interbank(src.op, dst.op, amount)
        return None

    def release(self, h: Hold, amount: int) -> None:
        """Escrow back to the payer; the amount no longer counts against the hold's day."""
        h.src.held -= amount
        h.src.avail += amount
        self.count_out(h.src, -amount, h.day)

    def captured_when_due(self, h: Hold) -> bool:
        """A conditional payment due by time is captured in full at its deadline,
        unless a party is frozen or the capture would break the payee's balance
        cap or the payer's operator's net debit cap (then it expires)."""
        if (
            h.src.frozen
            or h.dst.frozen
            or self.cap_exceeded(h.dst, h.amount)
            or self.ndc_exceeded(h.src.op, h.dst.op, h.amount)
        ):
            return False
        h.src.held -= h.amount
        h.dst.avail += h.amount
        self.interbank(h.src.op, h.dst.op, h.amount)
        h.status = "captured"
        return True

    def advance(self, seconds: int) -> None:
        before, self.now = self.now, self.now + timedelta(seconds=seconds)
        for h in sorted(self.holds.values(), key=lambda h: h.id):
            if h.status == "pending" and h.expires_at <= self.now:
                if h.timed and self.captured_when_due(h):
                    continue
                self.release(h, h.amount)
                h.status = "expired"
        if self.deferred and self.cutoff is not None:
            day = before.astimezone(SANDBOX_TZ).date()
            while (cut := datetime.combine(day, self.cutoff, SANDBOX_TZ)) <= self.now:
                if cut > before:
                    self.settle()
                day += timedelta(days=1)

    def settle(self) -> None:
        for op in self.ops.values():
            op.position += op.received - op.sent
            op.sent = op.received = 0

    # ---- the casino ----

    def barred(self, w: Wallet) -> Exclusion | None:
        return next(
            (
                e
                for e in sorted(self.exclusions.values(), key=lambda e: e.id)
                if e.holder == w.holder and e.status(self.now) in ("active", "revocation_pending")
            ),
            None,
        )

    def code_refusal(self, code: str | None, w: Wallet, amount: int) -> str | None:
        """Why a buy-in's payment code is refused, in the cage's order of checks."""
        if code is None:
            return "payment_code_required"
        if code not in self.codes:
            return "payment_code_invalid"
        wallet_id, expires_at, cap, used = self.codes[code]
        if wallet_id != w.id:
            return "payment_code_wallet_mismatch"
        if used:
            return "payment_code_used"
        if self.now >= expires_at:
            return "payment_code_expired"
        if cap is not None and amount > cap:
            return "payment_code_amount_exceeded"
        return None

    def player_refusal(self, w: Wallet, amount: int, gaming: bool) -> str | None:
        if gaming:
            if w.birth is not None:
                today = self.today()
                age = (
                    today.year
                    - w.birth.year
                    - ((today.month, today.day) < (w.birth.month, w.birth.day))
                )
                if age < self.rules["minimum_age"]:
                    return "under_minimum_age"
            if self.barred(w) is not None:
                return "excluded_person"
        if amount >= self.rules["ltr"] and w.cls not in self.rules["identified"]:
            return "identified_wallet_required"
        return None

    def record(self, w: Wallet, kind: str, amount: int, payout: int = 0) -> list[str]:
        """Keep a cage operation; the types of the alerts it raises, in order."""
        day = self.gaming_day()
        rec = self.days.setdefault((day, w.id), [0, 0, 0, 0, 0])
        rec[{"buy_in": 0, "cash_out": 1, "play": 2}[kind]] += amount
        rec[3] += payout
        rec[4] += 1
        change = {"buy_in": amount, "cash_out": -amount, "play": payout - amount}[kind]
        w.chips += change
        w.player = True
        self.chip_moves.append((self.now, change))
        ltr = self.rules["ltr"]
        raised = []
        if max(amount, payout) >= ltr:
            raised.append("ltr")
        if kind != "play":
            self.cage.append((self.now, kind, w.holder, amount))
            if amount < ltr:
                since = self.now - timedelta(hours=self.rules["structuring_hours"])
                rows = [
                    a
                    for at, k, holder, a in self.cage
                    if k == kind and holder == w.holder and since <= at <= self.now and a < ltr
                ]

                def qualifies(amounts):
                    return len(amounts) >= self.rules["structuring_min"] and sum(amounts) >= ltr

                if qualifies(rows) and not qualifies(rows[:-1]):
                    raised.append("structuring")
        if kind == "cash_out":
            # The holder's day at the casino, all its wallets together.
            buy_ins, cash_outs, wagered = (
                sum(
                    r[i]
                    for (d, wid), r in self.days.items()
                    if d == day and self.holder_of(wid) == w.holder
                )
                for i in range(3)
            )
            if (
                buy_ins > 0
                and cash_outs >= buy_ins * self.rules["cash_out_ratio"]
                and wagered < buy_ins * self.rules["bet_ratio"]
                and self.alert_once(("minimal_play", w.holder, day))
            ):
                raised.append("minimal_play")
        if kind == "buy_in" and w.region in self.rules["mainland"]:
            if self.alert_once(("mainland_wallet", w.id, day)):
                raised.append("mainland_wallet")
            year = sum(
                r[0]
                for (d, wid), r in self.days.items()
                if d.year == day.year and self.holder_of(wid) == w.holder
            )
            cap = self.rules["mainland_cap"]
            if year - amount <= cap < year and self.alert_once(("yearly", w.holder, day.year)):
                raised.append("mainland_yearly_cap")
        return raised

    def alert_once(self, key) -> bool:
        if key in self.alerted:
            return False
        self.alerted.add(key)
        return True

    def holder_of(self, wallet_id: int) -> str:
        return next(w.holder for w in self.wallets.values() if w.id == wallet_id)

    def chips_before(self, instant: datetime) -> int:
        return sum(change for at, change in self.chip_moves if at < instant)


# ---- the walk -------------------------------------------------------------------------


class LedgerWalk(RuleBasedStateMachine):
    done = Bundle("done")  # earlier requests, for retries

    def __init__(self, make_sandbox) -> None:
        super().__init__()
        self.sb = make_sandbox()
        self.m = Model()
        self.batches: list[tuple[str, list, list]] = []  # (payer, items, ids) sent before
        self.steps = 0

    # ---- helpers ---------------------------------------------------------

    def call(self, rule_name, args, method, path, key, body=None, idem=None, expect=None, ok=201):
        """Send a write; assert its answer is ``ok``, or the refusal ``expect``
        (its status and code); return the response, its JSON and the Call."""
        idem = idem or uuid.uuid4().hex
        r = self.sb.call(method, path, key, json=body, idem=idem)
        got = r.get_json(silent=True) or {}
        event(
            f"{rule_name} -> {r.status_code} {got.get('code', '') if r.status_code >= 400 else ''}"
        )
        if expect is None:
            assert r.status_code == ok, (method, path, body, r.status_code, got)
        else:
            assert (r.status_code, got.get("code")) == (status_for(expect), expect), (
                method,
                path,
                body,
                expect,
                got,
            )
            assert r.mimetype == "application/problem+json"
        call = Call(
            rule_name, args, method, path, key, body, idem, r.status_code, r.get_data(), vary(body)
        )
        return r, got, call

    def w(self, name: str) -> Wallet:
        return self.m.wallets[name]

    # ---- set-up ----------------------------------------------------------

    @initialize(
        deferred=st.booleans(),
        cutoff=st.sampled_from([None, "17:00", "02:00"]),
        ratio=st.sampled_from(["1.00", "0.5", "0.3333"]),
        float_=st.sampled_from([0, 100_000, 100_000_000]),
        rounds=st.lists(
            st.tuples(PART, st.sampled_from([0, 50, 100, 200])), min_size=2, max_size=2
        ),
    )
    def world(self, deferred, cutoff, ratio, float_, rounds):
        sb, m = self.sb, self.m
        sb.ok("PUT", "/v1/sandbox/clock", json={"now": START.isoformat()}, status=200)
        sb.ok("PUT", "/v1/sandbox/profile", json={"name": "macau"}, status=200)
        rules = sb.ok("GET", "/v1/rules")
        doc, casino_rules = rules["document"], rules["document"]["casino"]
        m.profile = {
            int(cls.removeprefix("class_")): {
                n: None if v is None else parse_amount(v) for n, v in limits.items()
            }
            for cls, limits in doc["wallet_limits"].items()
        }
        m.rules = {
            "cutoff": time.fromisoformat(casino_rules["gaming_day_cutoff"]),
            "minimum_age": casino_rules["minimum_age"],
            "ltr": parse_amount(rules["derived"]["ltr_threshold_cny"]),
            "identified": casino_rules["large_transaction"]["identified_classes"],
            "structuring_hours": casino_rules["structuring"]["window_hours"],
            "structuring_min": casino_rules["structuring"]["min_transactions"],
            "cash_out_ratio": Fraction(casino_rules["minimal_play"]["cash_out_ratio"]),
            "bet_ratio": Fraction(casino_rules["minimal_play"]["bet_ratio"]),
            "mainland": casino_rules["mainland"]["regions"],
            "mainland_cap": parse_amount(rules["derived"]["mainland_yearly_cap_cny"]),
            "tax": Decimal(casino_rules["tax"]["special_gaming_tax"]),
            "contributions": [Decimal(k["share"]) for k in casino_rules["tax"]["contributions"]],
            "revocation_days": casino_rules["exclusion"]["revocation_delay_days"],
            "code_lifetime": timedelta(seconds=casino_rules["payment_codes"]["lifetime_seconds"]),
        }
        assert casino_rules["payment_codes"]["required"] is True
        assert casino_rules["mainland"]["action"] == "alert"
        assert m.rules["ltr"] == LTR  # the amounts drawn reach the threshold exactly
        assert parse_amount(doc["offline"]["purse_cap"]) == OFFLINE_CAP
        # The reserve ratio is set before any issuance, as `ecny sandbox reserve-ratio` does.
        sb.db.write(issuance.set_reserve_ratio, ratio)
        m.ratio = Fraction(Decimal(ratio))
        if deferred:
            body = {"model": "deferred_net", "cutoff": cutoff}
            sb.ok("PUT", "/v1/settlement/settings", key="central_bank", json=body, status=200)
            m.deferred, m.cutoff = True, cutoff and time.fromisoformat(cutoff)
        for code in OPERATORS:
            sb.ok("POST", "/v1/operators", key="central_bank", json={"code": code, "name": code})
            sb.keys[code] = sb.key("operator", operator_code=code)
            m.ops[code] = Operator(code)
            self.reserve_deposit(code, 1_000_000_000)
            self.issue(code, 500_000_000, "central_bank")
        treasury = sb.wallet("BOC", 1, kind="merchant", region="MO", label="treasury")
        casino = sb.ok(
            "POST",
            "/v1/casinos",
            json={
                "ref": CASINO,
                "name": "Cotai",
                "operator": "BOC",
                "treasury_wallet": treasury,
                "float": money(float_),
            },
        )
        sb.keys["merchant"] = sb.key("merchant", casino_ref=CASINO)
        sb.keys["supervisor"] = sb.key("supervisor", casino_ref=CASINO)
        m.float = float_
        m.wallets["treasury"] = Wallet("treasury", treasury, "BOC", 1, "MO", "treasury", None)
        merchant = Wallet("merchant", casino["merchant_wallet"], "BOC", 1, "MO", "merchant", None)
        merchant.avail = float_
        m.ops["BOC"].vault -= float_
        m.wallets["merchant"] = merchant
        for name, (op, cls, region, holder, birth, purse) in PLAYERS.items():
            attrs = {"region": region, "holder_id": holder}
            if birth is not None:
                attrs["birth_date"] = birth.isoformat()
            m.wallets[name] = Wallet(
                name, sb.wallet(op, cls, **attrs), op, cls, region, holder, birth
            )
            self.fund(name, purse)
        # Chips to play with from the first step (a refusal for "y"), and a round each for two.
        for name in NAMES:
            self.buy_in(name, min(PLAYERS[name][5] // 10, 2_000_000))
        for name, (part, win) in zip(("a", "c"), rounds, strict=True):
            self.play(None, part, win, False, name=name)

    # ---- the central bank and operators: tier 1 --------------------------

    def reserve_deposit(self, op, fen, idem=None):
        _, _, call = self.call(
            "reserve_deposit",
            (op, fen),
            "POST",
            f"/v1/operators/{op}/reserve-deposits",
            "central_bank",
            {"amount": money(fen)},
            idem,
        )
        o = self.m.ops[op]
        o.deposits += fen
        o.reserve += fen
        return call

    def issue(self, op, fen, by, idem=None):
        m, o = self.m, self.m.ops[op]
        held = sum(x.consumed for x in m.ops.values())
        consume = math.ceil((m.outstanding + fen) * m.ratio) - held
        expect = "insufficient_reserve" if consume > o.reserve else None
        _, got, call = self.call(
            "issue",
            (op, fen, by),
            "POST",
            f"/v1/operators/{op}/issuances",
            by,
            {"amount": money(fen)},
            idem,
            expect,
        )
        if expect is None:
            assert (got["kind"], got["amount"]) == ("issuance", money(fen))
            o.reserve -= max(consume, 0)
            o.consumed += max(consume, 0)
            m.outstanding += fen
            o.position += fen
            o.vault += fen
        return call

    def redeem(self, op, fen, by, idem=None):
        m, o = self.m, self.m.ops[op]
        expect = (
            "insufficient_vault_funds"
            if o.vault < fen
            else "insufficient_position"
            if o.position < fen
            else None
        )
        _, _, call = self.call(
            "redeem",
            (op, fen, by),
            "POST",
            f"/v1/operators/{op}/redemptions",
            by,
            {"amount": money(fen)},
            idem,
            expect,
        )
        if expect is None:
            held = sum(x.consumed for x in m.ops.values())
            release = held - math.ceil(max(m.outstanding - fen, 0) * m.ratio)
            o.reserve += max(release, 0)
            o.consumed -= max(release, 0)
            m.outstanding -= fen
            o.position -= fen
            o.vault -= fen
        return call

    @rule(
        target=done,
        op=st.sampled_from(OPERATORS),
        fen=st.one_of(FEN, st.just(900_000_000)),
        by_operator=st.booleans(),
        deposit=st.sampled_from([None, None, 10_000, 100_000_000]),
    )
    def issuance(self, op, fen, by_operator, deposit):
        """The central bank takes a reserve deposit (or not), then issues e-CNY
        to the operator (at its request or the operator's own)."""
        if deposit:
            self.reserve_deposit(op, deposit)
        return self.issue(op, fen, op if by_operator else "central_bank")

    @rule(
        target=done,
        op=st.sampled_from(OPERATORS),
        fen=st.one_of(FEN, st.just(LTR), st.just(150_000_000)),
        by_operator=st.booleans(),
    )
    def redemption(self, op, fen, by_operator):
        return self.redeem(op, fen, op if by_operator else "central_bank")

    @rule(
        target=done, op=st.sampled_from(OPERATORS), cap=st.sampled_from([None, 0, 50_000, 500_000])
    )
    def net_debit_cap(self, op, cap, idem=None):
        r, got, call = self.call(
            "net_debit_cap",
            (op, cap),
            "PUT",
            f"/v1/settlement/operators/{op}/net-debit-cap",
            "central_bank",
            {"net_debit_cap": cap_text(cap)},
            idem,
            ok=200,
        )
        self.m.ops[op].ndc = cap
        self.check_operator(got)
        return call

    @rule(target=done)
    def close_window(self, idem=None):
        expect = None if self.m.deferred else "no_open_window"
        _, got, call = self.call(
            "close_window",
            (),
            "POST",
            "/v1/settlement/windows/current/close",
            "central_bank",
            None,
            idem,
            expect,
            ok=200,
        )
        if expect is None:
            assert got["status"] == "SETTLED", got
            self.m.settle()
        return call

    # ---- operators: wallets ----------------------------------------------

    @rule(target=done, name=st.sampled_from(NAMES), fen=st.one_of(FEN, st.just(LTR)))
    def fund(self, name, fen, idem=None):
        w, o = self.w(name), self.m.ops[self.w(name).op]
        expect = (
            "wallet_frozen"
            if w.frozen
            else "insufficient_vault_funds"
            if o.vault < fen
            else "limit_exceeded"
            if self.m.cap_exceeded(w, fen)
            else None
        )
        _, _, call = self.call(
            "fund",
            (name, fen),
            "POST",
            f"/v1/wallets/{w.id}/fund",
            w.op,
            {"amount": money(fen)},
            idem,
            expect,
        )
        if expect is None:
            o.vault -= fen
            w.avail += fen
        return call

    @rule(target=done, name=st.sampled_from(NAMES), part=PART)
    def defund(self, name, part, idem=None):
        w = self.w(name)
        fen = max(1, w.avail * part // 100)
        expect = "wallet_frozen" if w.frozen else "insufficient_funds" if w.avail < fen else None
        _, _, call = self.call(
            "defund",
            (name, part),
            "POST",
            f"/v1/wallets/{w.id}/defund",
            w.op,
            {"amount": money(fen)},
            idem,
            expect,
        )
        if expect is None:
            w.avail -= fen
            self.m.ops[w.op].vault += fen
        return call

    def status_refusal(self, *parties: Wallet) -> str | None:
        return "wallet_frozen" if any(p.frozen for p in parties) else None

    @rule(target=done, src=st.sampled_from(NAMES), dst=st.sampled_from(NAMES), fen=AMOUNT)
    def pay(self, src, dst, fen, idem=None):
        a, b = self.w(src), self.w(dst)
        body = {"from_wallet": a.id, "to_wallet": b.id, "amount": money(fen)}
        snapshot = (a.avail, b.avail)
        expect = "same_wallet" if a is b else self.status_refusal(a, b) or self.m.payment(a, b, fen)
        r, got, call = self.call(
            "pay", (src, dst, fen), "POST", "/v1/transfers", a.op, body, idem, expect
        )
        if expect is None:
            assert (got["from_wallet"], got["to_wallet"], got["amount"]) == (a.id, b.id, money(fen))
            self.m.refundable[got["id"]] = [a, b, fen]
        else:
            assert (a.avail, b.avail) == snapshot
        return call

    @rule(
        target=done,
        data=st.data(),
        src=st.sampled_from(NAMES),
        items=st.lists(st.tuples(st.sampled_from(NAMES), FEN), min_size=1, max_size=4),
        again=st.booleans(),
    )
    def batches_of_payments(self, data, src, items, again):
        """A batch; or (``again``) an earlier one sent again under a new key:
        what was posted answers `exists`, what was refused is tried afresh."""
        if again and self.batches:
            src, items, ids = data.draw(st.sampled_from(self.batches))
            return self.batch(src, items, ids=ids)
        return self.batch(src, items)

    def batch(self, src, items, idem=None, ids=None):
        a = self.w(src)
        ids = ids or [uuid.uuid4().hex for _ in items]
        self.batches.append((src, items, ids))
        body = {
            "transfers": [
                {"id": i, "from_wallet": a.id, "to_wallet": self.w(dst).id, "amount": money(fen)}
                for i, (dst, fen) in zip(ids, items, strict=True)
            ]
        }
        expected = []
        for item_id, (dst, fen) in zip(ids, items, strict=True):
            b = self.w(dst)
            if item_id in self.m.batch_items:
                expected.append(("exists", self.m.batch_items[item_id], None))
                continue
            code = (
                "same_wallet" if a is b else self.status_refusal(a, b) or self.m.payment(a, b, fen)
            )
            expected.append(("refused" if code else "posted", None, code))
        _, got, call = self.call(
            "batch", (src, items), "POST", "/v1/transfers/batch", a.op, body, idem, ok=200
        )
        results = got["results"]
        assert [(x["status"], x["code"]) for x in results] == [(s, c) for s, _, c in expected], (
            expected,
            results,
        )
        for x, (status, transfer_id, _), (dst, fen) in zip(results, expected, items, strict=True):
            if status == "exists":
                assert x["transfer_id"] == transfer_id
            elif status == "posted":
                self.m.batch_items[x["id"]] = x["transfer_id"]
                self.m.refundable[x["transfer_id"]] = [a, self.w(dst), fen]
        counts = Counter(s for s, _, _ in expected)
        assert [got[k] for k in ("posted", "exists", "refused")] == [
            counts[k] for k in ("posted", "exists", "refused")
        ]
        return call

    @rule(
        target=done,
        src=st.sampled_from(NAMES),
        dst=st.sampled_from(NAMES),
        fen=FEN,
        timeout=st.sampled_from([60, 3600, 30 * 86400]),
        timed=st.sampled_from([False, False, True]),
    )
    def hold(self, src, dst, fen, timeout, timed=False, idem=None):
        """A hold, or a conditional payment due by time (captured when the clock
        passes its deadline)."""
        m, a, b = self.m, self.w(src), self.w(dst)
        body = {
            "from_wallet": a.id,
            "to_wallet": b.id,
            "amount": money(fen),
            "timeout_seconds": timeout,
        }
        if timed:
            body["condition"] = "time"
        expect = (
            "same_wallet"
            if a is b
            else self.status_refusal(a, b)
            or ("insufficient_funds" if a.avail < fen else None)
            or ("limit_exceeded" if m.out_exceeded(a, fen) else None)
        )
        _, got, call = self.call(
            "hold", (src, dst, fen, timeout, timed), "POST", "/v1/holds", a.op, body, idem, expect
        )
        if expect is None:
            assert (got["status"], got["amount"]) == ("pending", money(fen))
            a.avail -= fen
            a.held += fen
            m.count_out(a, fen)
            m.holds[got["id"]] = Hold(
                got["id"], a, b, fen, m.now + timedelta(seconds=timeout), m.today(), timed=timed
            )
        return call

    def resolved(self, h: Hold) -> str | None:
        if h.status == "expired":
            return "hold_expired"
        return "hold_already_resolved" if h.status != "pending" else None

    @precondition(lambda self: self.m.holds)
    @rule(
        target=done,
        data=st.data(),
        part=st.integers(1, 110),
        payee_side=st.booleans(),
        void=st.sampled_from([False, False, True]),
    )
    def resolve_hold(self, data, part, payee_side, void):
        """Capture (a part of, or more than) a hold, or void it, as the payer's
        or the payee's operator."""
        if void:
            return self.void(data, payee_side)
        return self.capture(data, part, payee_side)

    def capture(self, data, part, payee_side, hold_id=None, idem=None):
        m = self.m
        h = m.holds[hold_id or data.draw(st.sampled_from(sorted(m.holds)))]
        amount = max(1, h.amount * part // 100)
        expect = (
            self.resolved(h)
            or ("hold_conditional" if h.timed else None)
            or ("capture_exceeds_hold" if amount > h.amount else None)
        )
        expect = expect or self.status_refusal(h.src, h.dst)
        if expect is None:
            if m.cap_exceeded(h.dst, amount):
                expect = "limit_exceeded"
            elif m.ndc_exceeded(h.src.op, h.dst.op, amount):
                expect = "operator_net_debit_cap_exceeded"
        key = h.dst.op if payee_side else h.src.op
        _, got, call = self.call(
            "capture",
            (None, part, payee_side, h.id),
            "POST",
            f"/v1/holds/{h.id}/capture",
            key,
            {"amount": money(amount)},
            idem,
            expect,
            ok=200,
        )
        if expect is None:
            assert (got["status"], got["captured"]) == ("captured", money(amount))
            h.status = "captured"
            h.src.held -= amount
            h.dst.avail += amount
            m.interbank(h.src.op, h.dst.op, amount)
            if amount < h.amount:
                m.release(h, h.amount - amount)
            capture_id = next(t["id"] for t in got["transfers"] if t["kind"] == "capture")
            m.refundable[capture_id] = [h.src, h.dst, amount]
        return call

    def void(self, data, payee_side, hold_id=None, idem=None):
        h = self.m.holds[hold_id or data.draw(st.sampled_from(sorted(self.m.holds)))]
        expect = self.resolved(h)
        key = h.dst.op if payee_side else h.src.op
        _, got, call = self.call(
            "void",
            (None, payee_side, h.id),
            "POST",
            f"/v1/holds/{h.id}/void",
            key,
            None,
            idem,
            expect,
            ok=200,
        )
        if expect is None:  # even a frozen payer gets its own funds back
            assert got["status"] == "voided"
            self.m.release(h, h.amount)
            h.status = "voided"
        return call

    @precondition(lambda self: self.m.refundable)
    @rule(target=done, data=st.data(), part=st.integers(1, 120))
    def refund(self, data, part, transfer_id=None, idem=None):
        m = self.m
        transfer_id = transfer_id or data.draw(st.sampled_from(sorted(m.refundable)))
        payer, payee, left = m.refundable[transfer_id]
        amount = max(1, left * part // 100) if left else 1
        expect = self.status_refusal(payee, payer) or (
            "refund_exceeds_payment" if amount > left else None
        )
        if expect is None:
            # The payee pays back: no outgoing limit counts a refund, the payer's balance cap does.
            if payee.avail < amount:
                expect = "insufficient_funds"
            elif m.cap_exceeded(payer, amount):
                expect = "limit_exceeded"
            elif m.ndc_exceeded(payee.op, payer.op, amount):
                expect = "operator_net_debit_cap_exceeded"
        _, _, call = self.call(
            "refund",
            (None, part, transfer_id),
            "POST",
            f"/v1/transfers/{transfer_id}/refunds",
            payee.op,
            {"amount": money(amount)},
            idem,
            expect,
        )
        if expect is None:
            m.refundable[transfer_id][2] -= amount
            payee.avail -= amount
            payer.avail += amount
            m.interbank(payee.op, payer.op, amount)
        return call

    @rule(
        name=st.sampled_from(NAMES),
        fen=st.one_of(FEN, st.sampled_from([OFFLINE_CAP, OFFLINE_CAP + 1])),
    )
    def offline_round_trip(self, name, fen):
        """A new device's offline purse loaded from the wallet (docs/offline.md),
        then unloaded at once with the device's statement (it never paid): the
        load moves the e-CNY out of the wallet without counting against its
        outgoing caps (the usage checks say so), the unload brings them back,
        even into a frozen wallet."""
        w = self.w(name)
        device = OfflineDevice()
        expect = (
            "offline_purse_cap_exceeded"
            if fen > OFFLINE_CAP
            else "wallet_frozen"
            if w.frozen
            else "insufficient_funds"
            if w.avail < fen
            else None
        )
        body = {"wallet": w.id, "device_key": device.device_key, "amount": money(fen)}
        _, got, _ = self.call(
            "offline_round_trip",
            (name, fen),
            "POST",
            "/v1/offline/purses",
            w.op,
            body,
            None,
            expect,
        )
        if expect is not None:
            return
        assert (got["balance"], got["status"]) == (money(fen), "active"), got
        balance = self.sb.ok("GET", f"/v1/wallets/{w.id}/balance", key=w.op)["available"]
        assert balance == money(w.avail - fen)
        device.purse_id = got["id"]
        _, done_, _ = self.call(
            "offline_round_trip",
            (name, fen),
            "POST",
            f"/v1/offline/purses/{device.purse_id}/unload",
            w.op,
            device.unload_statement(),
            ok=200,
        )
        assert (done_["status"], done_["unloaded"]) == ("unloaded", money(fen)), done_

    @rule(
        target=done,
        name=st.sampled_from(NAMES),
        freeze=st.sampled_from([True, False, False]),
        supervisor=st.sampled_from([False, False, True]),
    )
    def freeze(self, name, freeze, supervisor, idem=None):
        """The wallet's operator freezes and unfreezes; a supervisor freezes its
        casino's players (other wallets are not its to see), never unfreezes."""
        w = self.w(name)
        action = "freeze" if freeze else "unfreeze"
        key = "supervisor" if supervisor else w.op
        if supervisor and not freeze:
            expect = "forbidden"
        elif supervisor and not w.player:
            expect = "wallet_not_found"
        else:
            expect = None if w.frozen != freeze else "invalid_wallet_transition"
        _, got, call = self.call(
            "freeze",
            (name, freeze, supervisor),
            "POST",
            f"/v1/wallets/{w.id}/{action}",
            key,
            None,
            idem,
            expect,
            ok=200,
        )
        if expect is None:
            w.frozen = freeze
            assert got["status"] == ("frozen" if freeze else "active")
        return call

    @rule(
        target=done,
        op=st.sampled_from(OPERATORS),
        cls=st.integers(1, 4),
        caps=st.tuples(CAP, CAP, CAP, CAP),
    )
    def class_limits(self, op, cls, caps, idem=None):
        """An operator lowers (or resets) a class's limits for its wallets; above the profile's: refused."""
        m = self.m
        mine = dict(zip(LIMIT_NAMES, caps, strict=True))
        base = m.profile[cls]
        too_high = any(
            v is not None and base[n] is not None and v > base[n] for n, v in mine.items()
        )
        _, got, call = self.call(
            "class_limits",
            (op, cls, caps),
            "PUT",
            f"/v1/operators/{op}/limits/{cls}",
            op,
            {n: cap_text(v) for n, v in mine.items()},
            idem,
            "validation_failed" if too_high else None,
            ok=200,
        )
        if not too_high:
            m.overrides[op, cls] = mine
            effective = {n: min_cap(base[n], v) for n, v in mine.items()}
            assert got["effective"] == {n: cap_text(v) for n, v in effective.items()}, got
        return call

    # ---- the casino: merchant and supervisor -----------------------------

    def cage(self, rule_name, args, what, name, body, idem, expect):
        w = self.w(name)
        _, got, call = self.call(
            rule_name,
            args,
            "POST",
            f"/v1/casinos/{CASINO}/{what}",
            "merchant",
            {"player": w.id, **body},
            idem,
            expect,
        )
        return got, call

    def check_operation(self, got, kind, name, kinds, alerts):
        assert (got["kind"], got["player"]) == (kind, self.w(name).id), got
        assert got["gaming_day"] == self.m.gaming_day().isoformat()
        assert [t["kind"] for t in got["transfers"]] == kinds, got["transfers"]
        assert [a["type"] for a in got["alerts"]] == alerts, (got["alerts"], alerts)
        for a in alerts:
            event(f"alert {a}")

    def issue_code(self, name: str, cap: int | None = None, by: str | None = None) -> str:
        """A payment code of the wallet, issued by its operator (or ``by``: the admin)."""
        m, w = self.m, self.w(name)
        body = {} if cap is None else {"max_amount": money(cap)}
        got = self.sb.ok("POST", f"/v1/wallets/{w.id}/payment-codes", key=by or w.op, json=body)
        expires_at = m.now + m.rules["code_lifetime"]
        assert (got["wallet"], got["max_amount"]) == (w.id, cap and money(cap)), got
        assert datetime.fromisoformat(got["expires_at"]) == expires_at, got
        assert got["code"] not in m.codes
        m.codes[got["code"]] = [w.id, expires_at, cap, False]
        return got["code"]

    @rule(name=st.sampled_from(NAMES), cap=CAP, admin=st.booleans())
    def payment_code(self, name, cap, admin):
        """The player's side gives its consent ahead: a code kept for a later buy-in."""
        self.issue_code(name, cap, "admin" if admin else None)

    @rule(
        target=done,
        name=st.sampled_from(NAMES),
        fen=AMOUNT,
        consent=st.sampled_from(["fresh"] * 6 + ["kept"] * 3 + ["none", "bogus"]),
        pick=st.integers(min_value=0, max_value=10**6),
    )
    def buy_in(self, name, fen, consent="fresh", pick=0, idem=None):
        """A buy-in with the player's consent: a fresh code, one issued earlier
        (perhaps another wallet's, used, expired or capped), none, or a made-up one."""
        m, w = self.m, self.w(name)
        merchant = self.w("merchant")
        kept = sorted(m.codes)
        if consent == "fresh" or (consent == "kept" and not kept):
            code = self.issue_code(name)
        elif consent == "kept":
            code = kept[pick % len(kept)]
        elif consent == "bogus":
            code = "pc_" + uuid.uuid4().hex
        else:
            code = None
        expect = (
            m.code_refusal(code, w, fen)
            or m.player_refusal(w, fen, gaming=True)
            or self.status_refusal(w)
            or m.payment(w, merchant, fen)
        )
        alerts = m.record(w, "buy_in", fen) if expect is None else None
        body = (
            {"amount": money(fen)} if code is None else {"amount": money(fen), "payment_code": code}
        )
        got, call = self.cage(
            "buy_in", (name, fen, consent, pick), "buy-ins", name, body, idem, expect
        )
        event(f"buy_in consent {consent} -> {expect or 'ok'}")
        if expect is None:
            m.codes[code][3] = True
            self.check_operation(got, "buy_in", name, ["payment", "chip_issue"], alerts)
        return call

    @rule(
        target=done,
        who=st.sampled_from(["merchant", "treasury"]),
        what=st.sampled_from(["buy-ins", "plays", "cash-outs"]),
    )
    def not_a_player(self, who, what, idem=None):
        """The casino's own wallet and the treasury's never play, even with a code
        of theirs: nothing moves."""
        body = {"wager": "1.00"} if what == "plays" else {"amount": "1.00"}
        if what == "buy-ins":
            body["payment_code"] = self.issue_code(who, by="admin")
        _, call = self.cage("not_a_player", (who, what), what, who, body, idem, "not_a_player")
        return call

    def someone(self, data) -> str:
        """A player, more likely one with chips."""
        return data.draw(st.sampled_from([w for w in NAMES if self.w(w).chips] * 2 + list(NAMES)))

    @rule(
        target=done,
        data=st.data(),
        part=PART,
        win=st.sampled_from([0, 0, 50, 100, 200]),
        big=st.sampled_from([False] * 7 + [True]),
    )
    def play(self, data, part, win, big, name=None, idem=None):
        """A round: a wager (a share of the player's chips) and a payout of
        ``win`` percent of it; ``big``: a round at the LTR threshold."""
        name = name or self.someone(data)
        m, w = self.m, self.w(name)
        wager = LTR if big else max(1, w.chips * part // 100)
        payout = wager * win // 100
        expect = (
            m.player_refusal(w, max(wager, payout), gaming=True)
            or self.status_refusal(w)
            or ("insufficient_chips" if w.chips < wager else None)
        )
        alerts = m.record(w, "play", wager, payout) if expect is None else None
        got, call = self.cage(
            "play",
            (None, part, win, big, name),
            "plays",
            name,
            {"wager": money(wager), "payout": money(payout)},
            idem,
            expect,
        )
        if expect is None:
            self.check_operation(got, "play", name, ["wager"] + ["payout"] * bool(payout), alerts)
        return call

    @rule(target=done, data=st.data(), part=PART)
    def cash_out(self, data, part, name=None, idem=None):
        name = name or self.someone(data)
        m, w = self.m, self.w(name)
        fen = max(1, w.chips * part // 100)
        expect = (
            m.player_refusal(w, fen, gaming=False)
            or self.status_refusal(w)
            or ("insufficient_chips" if w.chips < fen else None)
            or m.payment(self.w("merchant"), w, fen)
        )
        alerts = m.record(w, "cash_out", fen) if expect is None else None
        got, call = self.cage(
            "cash_out", (None, part, name), "cash-outs", name, {"amount": money(fen)}, idem, expect
        )
        if expect is None:
            self.check_operation(got, "cash_out", name, ["chip_return", "payment"], alerts)
        return call

    @rule(target=done, data=st.data(), back=st.integers(-1, 3), supervisor=st.booleans())
    def close_gaming_day(self, data, back, supervisor, day=None, idem=None):
        """Close a gaming day that is over and saw play, or the one ``back``
        days before the current one (-1: tomorrow's)."""
        m = self.m
        merchant, treasury = self.w("merchant"), self.w("treasury")
        played = sorted({d for d, _ in m.days if m.day_bounds(d)[1] <= m.now} - m.closed)
        day = day or data.draw(
            st.sampled_from(
                played + [m.gaming_day() - timedelta(days=back)] * len(played)
                or [m.gaming_day() - timedelta(days=back)]
            )
        )
        start, end = m.day_bounds(day)
        recs = {wid: r for (d, wid), r in m.days.items() if d == day}
        buy_ins, cash_outs, wagered, paid_out = (sum(r[i] for r in recs.values()) for i in range(4))
        ggr = wagered - paid_out

        def share(rate):
            return int((Decimal(ggr) * rate).to_integral_value(ROUND_HALF_UP)) if ggr > 0 else 0

        tax = share(m.rules["tax"])
        contributions = [share(k) for k in m.rules["contributions"]]  # each rounded alone
        expect = (
            "gaming_day_already_closed"
            if day in m.closed
            else "gaming_day_not_over"
            if m.now < end
            else None
        )
        before = (merchant.avail, treasury.avail, Counter(m.usage))
        if expect is None:
            for due in (tax, *contributions):
                if due and (expect := m.payment(merchant, treasury, due)):
                    merchant.avail, treasury.avail, m.usage = before
                    break
        _, got, call = self.call(
            "close_gaming_day",
            (None, back, supervisor, day),
            "POST",
            f"/v1/casinos/{CASINO}/gaming-days/{day.isoformat()}/close",
            "supervisor" if supervisor else "merchant",
            None,
            idem,
            expect,
        )
        if expect is None:
            m.closed.add(day)
            balance_before, sweep = merchant.avail, max(merchant.avail - m.float, 0)
            merchant.avail -= sweep
            m.ops["BOC"].vault += sweep
            assert got["ok"] and all(c["ok"] for c in got["checks"]), got["checks"]
            assert (got["gaming_day"], got["players"]) == (day.isoformat(), len(recs))
            figures = (buy_ins, cash_outs, wagered, paid_out, ggr)
            names = ("buy_ins", "cash_outs", "turnover", "payouts", "ggr")
            assert [got[n] for n in names] == [money(f) for f in figures], got
            assert got["special_gaming_tax"]["amount"] == money(tax)
            assert got["contributions"]["amount"] == money(sum(contributions))
            assert [p["amount"] for p in got["contributions"]["payments"]] == [
                money(k) for k in contributions
            ]
            assert (got["sweep"]["balance_before"], got["sweep"]["amount"]) == (
                money(balance_before),
                money(sweep),
            )
            assert got["chips_with_players"] == {
                "at_start": money(m.chips_before(start)),
                "at_end": money(m.chips_before(end)),
            }
        return call

    @rule(
        target=done,
        data=st.data(),
        holder=st.sampled_from(HOLDERS),
        everywhere=st.booleans(),
        starts_in=st.integers(0, 1),
        days=st.sampled_from([0, 0, 0, 1, 1, 30]),
        revoke=st.booleans(),
    )
    def exclusion(self, data, holder, everywhere, starts_in, days, revoke):
        """The supervisor excludes a holder (at this casino or all, from today
        or tomorrow, for one day or more), or asks to revoke an exclusion."""
        if revoke and self.m.exclusions:
            return self.revoke(data)
        return self.exclude(holder, everywhere, starts_in, days)

    def exclude(self, holder, everywhere, starts_in, days, idem=None):
        m = self.m
        starts = m.today() + timedelta(days=starts_in)
        body = {
            "holder_id": holder,
            "kind": "self",
            "starts_on": starts.isoformat(),
            "ends_on": (starts + timedelta(days=days)).isoformat(),
        }
        if not everywhere:
            body["casino"] = CASINO
        _, got, call = self.call(
            "exclude",
            (holder, everywhere, starts_in, days),
            "POST",
            "/v1/exclusions",
            "supervisor",
            body,
            idem,
        )
        e = Exclusion(got["id"], holder, everywhere, starts, starts + timedelta(days=days))
        m.exclusions[e.id] = e
        assert got["status"] == e.status(m.now)
        return call

    def revoke(self, data, exclusion_id=None, idem=None):
        m = self.m
        exclusion_id = exclusion_id or data.draw(st.sampled_from(sorted(m.exclusions)))
        e = m.exclusions[exclusion_id]
        expect = "exclusion_already_revoked" if e.revoked_from is not None else None
        _, got, call = self.call(
            "revoke",
            (None, exclusion_id),
            "POST",
            f"/v1/exclusions/{e.id}/revoke",
            "supervisor",
            None,
            idem,
            expect,
            ok=200,
        )
        if expect is None:
            e.revoked_from = m.now + timedelta(days=m.rules["revocation_days"])
            assert got["status"] == e.status(m.now)
        return call

    @rule(
        target=done,
        data=st.data(),
        part=PART,
        win=st.sampled_from([0, 50, 100, 200]),
        minutes=st.integers(0, 120),
        supervisor=st.booleans(),
    )
    def end_of_gaming_day(self, data, part, win, minutes, supervisor):
        """The last round of the night, the night passes (the clock to the next
        cut-off, and some minutes), and the day that ended is closed."""
        m = self.m
        self.play(data, part, win, False)
        ended = m.gaming_day()
        self.clock(int((m.day_bounds(ended)[1] - m.now).total_seconds()) + 60 * minutes)
        return self.close_gaming_day(None, 0, supervisor, day=ended)

    # ---- managed anonymity (docs/anonymity.md) ----------------------------

    @rule(
        name=st.sampled_from(NAMES),
        by=st.sampled_from(["central_bank", "supervisor"]),
        approve=st.booleans(),
    )
    def identity_reveal(self, name, by, approve):
        """The central bank or COTAI's supervisor asks who holds a player's
        wallet; the requester's role cannot decide (four eyes); the other role
        approves or rejects (a supervisor reaches only wallets that played at
        its casino); the requester reads the model's holder once, or nothing."""
        w = self.w(name)
        other = "supervisor" if by == "central_bank" else "central_bank"
        out_of_scope = not w.player
        body = {"legal_basis": "court_order", "case_reference": f"CASE-{name}"}
        path = f"/v1/wallets/{w.id}/identity-reveals"
        if by == "supervisor" and out_of_scope:
            self.call("reveal", (), "POST", path, by, body, expect="wallet_not_found")
            return
        _, reveal, _ = self.call("reveal", (), "POST", path, by, body)
        base = f"/v1/identity-reveals/{reveal['id']}"
        self.call("reveal", (), "POST", f"{base}/approve", by, expect="four_eyes_required")
        decide = f"{base}/approve" if approve else f"{base}/reject"
        if other == "supervisor" and out_of_scope:
            self.call("reveal", (), "POST", decide, other, expect="identity_reveal_not_found")
            return
        self.call("reveal", (), "POST", decide, other, {} if not approve else None, ok=200)
        if not approve:
            self.call(
                "reveal",
                (),
                "POST",
                f"{base}/read",
                by,
                expect="invalid_identity_reveal_transition",
            )
            return
        _, got, _ = self.call("reveal", (), "POST", f"{base}/read", by, ok=200)
        assert got["identity"] == {
            "wallet_class": w.cls,
            "holder_id": w.holder,
            "holder_name": None,
            "phone": "+8613800000000" if w.cls == 4 else None,  # the sandbox's default
            "birth_date": None if w.birth is None else w.birth.isoformat(),
            "region": w.region,
        }, got
        self.call(
            "reveal", (), "POST", f"{base}/read", by, expect="invalid_identity_reveal_transition"
        )

    # ---- the admin's clock, and retries ----------------------------------

    @rule(
        target=done,
        seconds=st.one_of(
            *[st.integers(0, 3 * 3600)] * 3,
            st.sampled_from([6 * 3600, 86400, 31 * 86400]),
        ),
    )
    def clock(self, seconds, idem=None):
        _, got, call = self.call(
            "clock",
            (seconds,),
            "POST",
            "/v1/sandbox/clock/advance",
            "admin",
            {"seconds": seconds},
            idem,
            ok=200,
        )
        self.m.advance(seconds)
        assert datetime.fromisoformat(got["now"]) == self.m.now
        return call

    @rule(target=done, call=consumes(done))
    def retry(self, call):
        if call.status >= 300:  # refused: the key was left free, so the request runs afresh
            return getattr(self, call.rule)(*call.args, idem=call.idem)
        r = self.sb.call(call.method, call.path, call.key, json=call.body, idem=call.idem)
        assert r.status_code == call.status and r.get_data() == call.data, (call, r.get_data())
        assert r.headers.get("Idempotent-Replayed") == "true"
        event(f"retry {call.rule}")
        if call.other is not None:  # the same key with another body is refused, and changes nothing
            r = self.sb.call(call.method, call.path, call.key, json=call.other, idem=call.idem)
            assert (r.status_code, r.get_json()["code"]) == (422, "idempotency_key_reused")
        return call

    # ---- checks ----------------------------------------------------------

    def check_operator(self, got: dict) -> None:
        m = self.m
        o = m.ops[got["code"]]
        mine = [w for w in m.wallets.values() if w.op == o.code]
        wallets_total, held = sum(w.avail for w in mine), sum(w.held for w in mine)
        net, cap = o.received - o.sent, m.ndc_cap(o)
        expected = {
            "reserve": money(o.reserve),
            "position": money(o.position),
            "vault": money(o.vault),
            "wallets_total": money(wallets_total),
            "holds": money(held),
            "reserve_total": money(o.deposits),
            "reserve_consumed": money(o.consumed),
            "open_window_net": money(net),
            "net_debit_cap": money(cap),
            "utilisation_percent": f"{Decimal(max(-net, 0)) * 100 / Decimal(cap):.2f}"
            if cap
            else None,
            "wallet_count": len(mine),
            "reconciled": True,
        }
        assert {k: got[k] for k in expected} == expected, (got, expected)
        assert o.position + net == o.vault + wallets_total + held  # invariant 4, in the model too

    def check(self) -> None:
        sb, m = self.sb, self.m
        wallets = {w["id"]: w for w in sb.ok("GET", "/v1/wallets?limit=100")["items"]}
        for w in m.wallets.values():
            got = wallets[w.id]
            expected = {
                "balance": money(w.avail + w.held),
                "available": money(w.avail),
                "held": money(w.held),
                "status": "frozen" if w.frozen else "active",
            }
            assert {k: got[k] for k in expected} == expected, (w.name, got, expected)
        for got in sb.ok("GET", "/v1/operators")["items"]:
            self.check_operator(got)
        casino = sb.ok("GET", f"/v1/casinos/{CASINO}", key="merchant")
        assert casino["merchant_balance"] == money(self.w("merchant").avail)
        assert casino["chips_with_players"] == money(sum(w.chips for w in m.wallets.values()))
        # The API shows chips per casino; each player's chips are in the ledger's accounts.
        with sb.db.engine.connect() as conn:
            chips = dict(
                conn.execute(
                    sa.text(
                        "SELECT wallet_id, credits_posted - debits_posted FROM accounts"
                        " WHERE asset = :asset AND wallet_id IS NOT NULL"
                    ),
                    {"asset": CHIPS},
                ).all()
            )
        assert chips == {w.id: w.chips for w in m.wallets.values() if w.player}, chips
        days = sb.ok("GET", f"/v1/casinos/{CASINO}/players?limit=500", key="supervisor")["items"]
        got_days = {
            (date.fromisoformat(d["gaming_day"]), d["player"]): [
                d["buy_ins"],
                d["cash_outs"],
                d["turnover"],
                d["payouts"],
                d["transactions"],
            ]
            for d in days
        }
        assert got_days == {k: [*map(money, r[:4]), r[4]] for k, r in m.days.items()}, (
            got_days,
            m.days,
        )
        report = sb.ok("GET", "/v1/audit/reconciliation", key="auditor")
        assert report["ok"], [c for c in report["checks"] if not c["ok"]]

    def check_usage(self, w: Wallet) -> None:
        got = self.sb.ok("GET", f"/v1/wallets/{w.id}/limits")
        today = self.m.today()
        assert (got["day"], got["used_today"], got["used_this_year"]) == (
            today.isoformat(),
            money(self.m.usage[w.id, today]),
            money(self.m.usage[w.id, today.year]),
        ), (w.name, got)
        assert got["limits"] == {n: cap_text(v) for n, v in self.m.limits(w).items()}, got

    @invariant()
    def matches_the_model(self):
        if self.m.wallets:  # after the set-up
            self.check()
            # Limits and usage: one wallet a step, in turn (each call costs).
            wallets = list(self.m.wallets.values())
            self.steps += 1
            self.check_usage(wallets[self.steps % len(wallets)])


def test_api_state_machine(another_sandbox):
    class Walk(LedgerWalk):
        def __init__(self) -> None:
            super().__init__(another_sandbox)

    Walk.TestCase.settings = settings(
        max_examples=60 if SOAK else 6,
        stateful_step_count=80 if SOAK else 40,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    Walk.TestCase().runTest()
