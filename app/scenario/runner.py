"""Replaying a scenario through the API (app/client.py) and checking it.

The runner only ever holds an admin key: everything it does is an API call a
tester could make. A buy-in needs the player's consent (a payment code, under
the macau profile): the runner issues one for the player's wallet with that
key just before the buy-in, so scenario files never name codes. Wallets,
casinos, holds, transfers and exclusions are known by the scenario's own
references; database ids stay inside this module, so the digest of a replay is
the same on any engine and against a live server.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.client import ApiError, Client, OfflineDevice
from app.scenario.loader import Scenario, profile_request
from wallets.ledger.money import format_amount, parse_signed_amount

DEFAULT_BIRTH_DATE = "1990-01-01"
DEFAULT_PHONE = "+85360000000"
# Report figures of a gaming day, flattened: name -> how to read it.
GAMING_DAY_FIGURES = {
    "buy_ins": ("buy_ins",),
    "cash_outs": ("cash_outs",),
    "turnover": ("turnover",),
    "payouts": ("payouts",),
    "ggr": ("ggr",),
    "special_gaming_tax": ("special_gaming_tax", "amount"),
    "contributions": ("contributions", "amount"),
    "sweep": ("sweep", "amount"),
    "chips_with_players": ("chips_with_players", "at_end"),
}
# And of a casino whose chips are not CNY (docs/macau.md §13): the figures in
# CNY at the closing rate and the FX result (a CNY casino's state, and digest,
# stay as they were).
FX_FIGURES = {
    "ggr_cny": ("ggr_cny",),
    "special_gaming_tax_chips": ("special_gaming_tax", "amount_chip_currency"),
    "buy_ins_ecny": ("fx", "buy_ins_ecny"),
    "cash_outs_ecny": ("fx", "cash_outs_ecny"),
    "fx_result": ("fx", "result"),
}
OPERATOR_FIGURES = ("position", "vault", "wallets_total", "holds", "open_window_net")
SETTLEMENT_FIGURES = ("sent", "received", "net", "peak_debit")


@dataclass
class Check:
    """One expectation: where it was stated, what, expected and actual."""

    where: str
    what: str
    expected: Any
    actual: Any

    @property
    def ok(self) -> bool:
        return self.expected == self.actual


@dataclass
class Result:
    name: str
    path: str
    # The final expectations and the steps' failed ones; the steps' passed
    # expectations are only counted, so a long replay keeps no list of them.
    checks: list[Check] = field(default_factory=list)
    step_checks_passed: int = 0
    steps: int = 0
    final: dict = field(default_factory=dict)
    digest: str = ""
    aborted: str | None = None

    @property
    def ok(self) -> bool:
        return self.aborted is None and all(c.ok for c in self.checks)

    @property
    def expectations(self) -> int:
        return self.step_checks_passed + len(self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]


def seconds(duration: int | str) -> int:
    """``90``, ``"90s"``, ``"1h30m"``, ``"2d"`` as seconds."""
    if isinstance(duration, int):
        return duration
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    return sum(int(n) * units[u] for n, u in re.findall(r"([0-9]+)([dhms])", duration))


class Runner:
    def __init__(self, client: Client, scenario: Scenario) -> None:
        self.api = client
        self.scenario = scenario
        self.wallets: dict[str, int] = {}
        self.named: dict[str, int] = {}  # holds, transfers, exclusions named by steps
        # Offline purses' devices by their ref, and the vouchers they signed by name.
        self.devices: dict[str, OfflineDevice] = {}
        self.vouchers: dict[str, dict] = {}
        self.operators: list[str] = []
        self.casinos: list[str] = []
        self.outcomes: list[str] = []
        self.alerts_due: list[list] = []  # the end state's alerts, with their due_at
        self.actors: dict[tuple[str, str | None], Client] = {}  # keys made for `as`
        self.result = Result(scenario.name, str(scenario.path))

    # ---- the replay -----------------------------------------------------------

    def run(self, progress=None) -> Result:
        try:
            self.setup()
            for where, step in self.scenario.steps():
                self.step(where, step)
                self.result.steps += 1
                if progress is not None:
                    progress.update(1)
            self.final_expect()
        except ApiError as e:
            self.result.aborted = f"setup or state read failed: {e}"
        except KeyError as e:
            self.result.aborted = f"unknown reference {e}"
        if self.result.aborted is None:
            self.result.digest = digest(self.result.final)
        return self.result

    def setup(self) -> None:
        doc = self.scenario.doc
        api = self.api
        api.set_clock(doc["clock"], fixed=True)
        if doc.get("profile"):
            api.select_profile(**profile_request(doc["profile"]))
        if doc.get("settlement"):
            api.update_settlement_settings(**doc["settlement"])
        setup = doc.get("setup") or {}
        for op in setup.get("operators", []):
            code = op["code"]
            api.create_operator(code, op.get("name", f"{code} bank"))
            self.operators.append(code)
            if op.get("reserve"):
                api.deposit_reserve(code, op["reserve"])
            if op.get("issue"):
                api.issue(code, op["issue"])
            if op.get("net_debit_cap"):
                api.set_net_debit_cap(code, op["net_debit_cap"])
        for w in setup.get("wallets", []):
            self.open_wallet(w)
        for c in setup.get("casinos", []):
            casino = api.register_casino(
                c["ref"],
                c.get("name", c["ref"]),
                self.wallets[c["treasury"]],
                c["float"],
                operator=c["operator"],
                beneficiaries={k: self.wallets[v] for k, v in c.get("beneficiaries", {}).items()},
                chips_approved=c.get("chips_approved"),
                chip_currency=c.get("chip_currency"),
            )
            self.casinos.append(c["ref"])
            self.wallets[f"{c['ref']}:wallet"] = casino["merchant_wallet"]
        for x in setup.get("exclusions", []):
            made = api.add_exclusion(
                x["holder_id"], x["kind"], x["ends_on"], x.get("starts_on"), x.get("casino")
            )
            if x.get("name"):
                self.named[x["name"]] = made["id"]

    def open_wallet(self, w: dict) -> None:
        attrs = {
            "operator": w["operator"],
            "kind": w.get("kind"),
            "holder_id": w.get("holder_id"),
            "holder_name": w.get("holder_name"),
            "label": w.get("label"),
            "merchant_category": w.get("merchant_category"),
        }
        if w["class"] == 4:
            attrs["phone"] = w.get("phone", DEFAULT_PHONE)
        elif w.get("kind", "personal") == "personal":
            attrs["birth_date"] = w.get("birth_date", DEFAULT_BIRTH_DATE)
        made = self.api.open_wallet(
            w["class"], w["region"], **{k: v for k, v in attrs.items() if v is not None}
        )
        self.wallets[w["ref"]] = made["id"]
        if w.get("fund"):
            self.api.fund(made["id"], w["fund"])

    def step(self, where: str, step: dict) -> None:
        api = self.api
        if "at" in step:
            api.set_clock(step["at"], fixed=True)
        if step.get("after") is not None:
            api.advance_clock(seconds(step["after"]))
        expect = step.get("expect") or {}
        before = {a["id"] for a in api.all_alerts()} if "alerts" in expect else None
        label = f"{where} ({step['action']})"
        try:
            out = self.act(step)
            outcome = "ok"
        except ApiError as e:
            out, outcome = None, e.code
        self.outcomes.append(outcome)
        if expect.get("error"):
            self.check(label, "outcome", expect["error"], outcome)
        elif expect.get("ok", True):
            self.check(label, "outcome", "ok", outcome)
        else:
            self.check(label, "outcome", "refused", "ok" if outcome == "ok" else "refused")
        if step.get("name") and isinstance(out, dict) and "id" in out:
            self.named[step["name"]] = out["id"]
        for ref, amount in (expect.get("balances") or {}).items():
            self.check(label, f"balance {ref}", amount_of(amount), amount_of(self.balance(ref)))
        if before is not None:
            raised = sorted(a["type"] for a in api.all_alerts() if a["id"] not in before)
            self.check(label, "alerts raised", sorted(expect["alerts"]), raised)
        for name, value in (expect.get("identity") or {}).items():
            identity = (out or {}).get("identity") or {}
            self.check(label, f"identity {name}", value, identity.get(name))
        if "checks" in expect:  # a gaming-day close's report
            got = {c["name"]: c["ok"] for c in (out or {}).get("checks", [])}
            for name, ok in expect["checks"].items():
                self.check(label, f"check {name}", ok, got.get(name))

    def act(self, s: dict) -> Any:
        api, w, n = self.api, self.wallets, self.named
        a = s["action"]
        if a == "open_wallet":
            return self.open_wallet(s)
        if a in ("fund", "defund"):
            return getattr(api, a)(w[s["wallet"]], s["amount"], s.get("reference"))
        if a == "pay":
            return api.pay(w[s["from"]], w[s["to"]], s["amount"], s.get("reference"))
        if a == "batch":
            items = [
                {"from_wallet": w[t["from"]], "to_wallet": w[t["to"]], "amount": t["amount"]}
                for t in s["transfers"]
            ]
            return api.batch(items)
        if a == "hold":
            return api.hold(
                w[s["from"]],
                w[s["to"]],
                s["amount"],
                s.get("timeout_seconds"),
                condition=s.get("condition"),
                confirmer_wallet=w[s["confirmer"]] if "confirmer" in s else None,
            )
        if a == "confirm":
            return api.confirm(n[s["hold"]])
        if a == "create_campaign":
            now = datetime.fromisoformat(api.clock()["now"])
            return api.create_campaign(
                w[s["issuer"]],
                s.get("label") or s.get("name") or "red envelopes",
                s["amount"],
                s["envelopes"],
                (now + timedelta(seconds=seconds(s["valid_for"]))).isoformat(),
                claimable=s.get("claimable", False),
                regions=s.get("regions"),
                merchant_categories=s.get("merchant_categories"),
                min_payment=s.get("min_payment"),
            )
        if a == "grant_envelopes":
            return api.grant_envelopes(n[s["campaign"]], [w[ref] for ref in s["wallets"]])
        if a == "claim_envelope":
            return api.claim_envelope(n[s["campaign"]], w[s["wallet"]])
        if a == "capture":
            return api.capture(n[s["hold"]], s.get("amount"))
        if a == "void":
            return api.void(n[s["hold"]])
        if a == "refund":
            return api.refund(n[s["transfer"]], s["amount"])
        if a == "buy_in":
            player = w[s["player"]]
            code = self.payment_code(player)
            return api.buy_in(s["casino"], player, s["amount"], s.get("reference"), code)
        if a == "cash_out":
            pay_to = w[s["pay_to"]] if "pay_to" in s else None
            return api.cash_out(
                s["casino"], w[s["player"]], s["amount"], s.get("reference"), pay_to
            )
        if a == "play":
            return api.play(s["casino"], w[s["player"]], s["wager"], s.get("payout", "0.00"))
        if a == "advance":
            return None  # `after` moved the clock
        if a == "set_clock":
            return None  # `at` set it
        if a == "close_window":
            return api.close_window()
        if a == "close_gaming_day":
            return api.close_gaming_day(s["casino"], s["date"])
        if a in ("acknowledge_alert", "escalate_alert", "dismiss_alert"):
            alert_id = self.find_alert(s["alert"])
            if a == "escalate_alert":
                return api.escalate_alert(alert_id, s.get("note"))
            if a == "dismiss_alert":
                return api.dismiss_alert(alert_id, s.get("reason", "reviewed"))
            return api.acknowledge_alert(alert_id)
        if a == "add_exclusion":
            return api.add_exclusion(
                s["holder_id"], s["kind"], s["ends_on"], s.get("starts_on"), s.get("casino")
            )
        if a == "revoke_exclusion":
            return api.revoke_exclusion(n[s["exclusion"]])
        if a in ("freeze", "unfreeze"):
            return getattr(api, a)(w[s["wallet"]])
        if a == "hand_over_chips":
            return api.hand_over_chips(
                s["casino"], w[s["from_player"]], w[s["to_player"]], s["amount"]
            )
        if a == "grant_credit":
            return api.set_credit_line(s["casino"], w[s["player"]], s["limit"])
        if a == "draw_credit":
            return api.draw_credit(s["casino"], w[s["player"]], s["amount"])
        if a == "repay_credit":
            player = w[s["player"]]
            code = self.payment_code(player)
            return api.repay_credit(s["casino"], player, s["amount"], code)
        if a == "register_promoter":
            return api.register_promoter(
                s["casino"], s["licence"], w[s["wallet"]], s["commission_rate"]
            )
        if a == "attach_promoter_player":
            return api.attach_promoter_player(s["casino"], s["licence"], w[s["player"]])
        if a == "set_chips_approval":
            return api.set_chips_approval(s["casino"], s.get("chips_approved"))
        if a == "set_net_debit_cap":
            return api.set_net_debit_cap(s["operator"], s.get("net_debit_cap"))
        if a == "select_profile":
            return api.select_profile(**profile_request(s["profile"]))
        if a == "request_identity_reveal":
            return self.actor(s).request_identity_reveal(
                w[s["wallet"]], s["legal_basis"], s["case_reference"]
            )
        if a == "approve_identity_reveal":
            return self.actor(s).approve_identity_reveal(n[s["reveal"]])
        if a == "reject_identity_reveal":
            return self.actor(s).reject_identity_reveal(n[s["reveal"]], s.get("reason"))
        if a == "read_identity_reveal":
            return self.actor(s).read_identity_reveal(n[s["reveal"]])
        if a in ("open_purse", "load_purse", "offline_pay", "sync", "unload_purse"):
            return self.offline(s)
        raise AssertionError(a)  # the schema lists the actions

    def actor(self, s: dict) -> Client:
        """The client of the step's `as`: a key of that role made (with the
        runner's admin key) the first time, the same one for every step after,
        so that the requesting key is the one that reads (docs/anonymity.md)."""
        role = s["as"]
        casino = (s.get("casino") or self.casinos[0]) if role == "supervisor" else None
        if (role, casino) not in self.actors:
            made = self.api.create_key(role, casino=casino)
            self.actors[(role, casino)] = self.api.with_key(made["key"])
        return self.actors[(role, casino)]

    def offline(self, s: dict) -> Any:
        """Dual offline payments (docs/offline.md): a purse's device is the
        client's ``OfflineDevice``, its key from a seed of the scenario's name
        and the purse's ref (the same replay signs the same vouchers); a
        voucher is signed offline at the sandbox clock's time, kept by its
        name, and uploaded by a ``sync`` step."""
        api, a = self.api, s["action"]
        if a == "open_purse":
            seed = hashlib.sha256(f"{self.scenario.name}/{s['ref']}".encode()).digest()
            device = OfflineDevice.from_seed(seed)
            made = api.open_purse(self.wallets[s["wallet"]], device.device_key, s["amount"])
            device.purse_id = made["id"]
            self.devices[s["ref"]] = device
            return made
        if a == "load_purse":
            return api.load_purse(self.purse_id(s["purse"]), s["amount"])
        if a == "offline_pay":
            device = self.devices[s["purse"]]
            payee = self.purse_id(s["payee_purse"])
            at = datetime.fromisoformat(api.clock()["now"])
            counter = s.get("counter")
            voucher = (
                device.pay(payee, s["amount"], at)
                if counter is None
                else device.voucher(payee, s["amount"], counter, at)
            )
            if s.get("voucher"):
                self.vouchers[s["voucher"]] = voucher
            return None
        if a == "sync":
            return api.sync_vouchers([self.vouchers[v] for v in s["vouchers"]])
        device = self.devices[s["purse"]]
        statement = device.unload_statement() if s.get("statement", True) else None
        return api.unload_purse(self.purse_id(s["purse"]), statement)

    def purse_id(self, ref: str) -> int:
        device = self.devices[ref]
        assert device.purse_id is not None, "a purse's device is registered when it opens"
        return device.purse_id

    def payment_code(self, wallet_id: int) -> str | None:
        """The player's consent to a buy-in, as the player's side gives it: a
        fresh payment code of the wallet, issued with the runner's admin key
        (in-process and over --url alike). When none can be had (the profile
        has no casino rules), the buy-in goes without one and its own answer
        is the step's outcome."""
        try:
            return self.api.issue_payment_code(wallet_id)["code"]
        except ApiError:
            return None

    def find_alert(self, sel: dict) -> int:
        """The ``nth`` (default first) alert of a type, for a wallet, casino or operator."""
        filters = {"type": sel["type"], "casino": sel.get("casino"), "status": sel.get("status")}
        if sel.get("wallet"):
            filters["wallet"] = self.wallets[sel["wallet"]]
        found = [
            a
            for a in self.api.all_alerts(**filters)
            if sel.get("operator") in (None, a.get("operator"))
            and ("due_at" not in sel or same_instant(sel["due_at"], a.get("due_at")))
        ]
        nth = sel.get("nth", 1)
        if len(found) < nth:
            raise ApiError(404, {"code": "scenario_alert_not_found", "detail": str(sel)})
        return sorted(found, key=lambda a: a["id"])[nth - 1]["id"]

    def balance(self, ref: str) -> str:
        return self.api.balance(self.wallets[ref])["balance"]

    def check(self, where: str, what: str, expected: Any, actual: Any) -> None:
        check = Check(where, what, expected, actual)
        if check.ok and where != "expect":
            self.result.step_checks_passed += 1
        else:
            self.result.checks.append(check)

    # ---- the end state ----------------------------------------------------------

    def final_state(self) -> dict:
        """The scenario's world at the end, by its own references (the digest's input)."""
        api = self.api
        refs = {v: k for k, v in self.wallets.items()}
        balances = {ref: self.balance(ref) for ref in sorted(self.wallets)}
        operators = {}
        for code in sorted(self.operators):
            o = api.operator(code)
            operators[code] = {k: o.get(k) for k in OPERATOR_FIGURES}
        # [type, casino, wallet ref, operator, status] (the digest's), and due_at
        listed = sorted(
            (
                [
                    a["type"],
                    a.get("casino"),
                    refs.get(a.get("wallet"), None if a.get("wallet") is None else "?"),
                    a.get("operator"),
                    a["status"],
                    a.get("due_at"),
                ]
                for a in api.all_alerts()
                if a.get("casino") in self.casinos
                or a.get("wallet") in refs
                or a.get("operator") in self.operators
            ),
            key=lambda a: (a[:5], a[5] is not None, a[5] or ""),
        )
        self.alerts_due = listed
        alerts = [a[:5] for a in listed]
        days = []
        for ref in sorted(self.casinos):
            for r in api.every(api.gaming_days, ref):
                figures = {name: _dig(r, p) for name, p in GAMING_DAY_FIGURES.items()}
                if r.get("chip_currency", "CNY") != "CNY":
                    figures |= {name: _dig(r, p) for name, p in FX_FIGURES.items()}
                days.append(
                    {
                        "casino": ref,
                        "date": r["gaming_day"],
                        "players": r["players"],
                        "ok": r["ok"],
                        "checks": {c["name"]: c["ok"] for c in r["checks"]},
                        "figures": figures,
                    }
                )
        windows = []
        for win in api.every(api.windows):
            if win["status"] != "SETTLED":
                continue
            report = api.settlement_report(win["id"])
            windows.append(
                {
                    o["operator"]: {k: o.get(k) for k in SETTLEMENT_FIGURES}
                    for o in report["operators"]
                    if o["operator"] in self.operators
                }
            )
        return {
            "balances": balances,
            "operators": operators,
            "alerts": alerts,
            "gaming_days": days,
            "settlement": windows,
            "steps": self.outcomes,
        }

    def expect_events(self, expected: list[dict]) -> None:
        """The events stated, found in this order in the feed (others may come
        between), one check each."""
        found = 0
        for event in self.api.all_events():
            if found < len(expected) and event_matches(expected[found], event):
                found += 1
        for i, sel in enumerate(expected):
            fields = " ".join(f"{k}={v}" for k, v in (sel.get("data") or {}).items())
            what = f"event {i + 1}: {sel['type']} {fields}".rstrip()
            self.check("expect", what, True, i < found)

    def final_expect(self) -> None:
        state = self.final_state()
        self.result.final = state
        expect = self.scenario.doc.get("expect") or {}
        w = "expect"
        for ref, amount in (expect.get("balances") or {}).items():
            actual = state["balances"].get(ref)
            self.check(w, f"balance {ref}", amount_of(amount), amount_of(actual))
        for sel in expect.get("alerts") or []:
            count = sum(
                1
                for t, casino, wallet, operator, status, due_at in self.alerts_due
                if t == sel["type"]
                and sel.get("wallet") in (None, wallet)
                and sel.get("casino") in (None, casino)
                and sel.get("operator") in (None, operator)
                and sel.get("status") in (None, status)
                and ("due_at" not in sel or same_instant(sel["due_at"], due_at))
            )
            what = "alerts " + " ".join(f"{k}={v}" for k, v in sel.items() if k != "count")
            self.check(w, what, sel.get("count", 1), count)
        if "alert_count" in expect:
            self.check(w, "alerts in all", expect["alert_count"], len(state["alerts"]))
        for code, figures in (expect.get("operators") or {}).items():
            for k, v in figures.items():
                actual = state["operators"].get(code, {}).get(k)
                self.check(w, f"operator {code} {k}", amount_of(v), amount_of(actual))
        for gd in expect.get("gaming_days") or []:
            got = next(
                (
                    d
                    for d in state["gaming_days"]
                    if (d["casino"], d["date"]) == (gd["casino"], gd["date"])
                ),
                None,
            )
            what = f"gaming day {gd['casino']} {gd['date']}"
            self.check(w, f"{what} closed", True, got is not None)
            if got is None:
                continue
            for k in ("ok", "players"):
                if k in gd:
                    self.check(w, f"{what} {k}", gd[k], got[k])
            for name, ok in (gd.get("checks") or {}).items():
                self.check(w, f"{what} check {name}", ok, got["checks"].get(name))
            for k, v in (gd.get("figures") or {}).items():
                self.check(w, f"{what} {k}", amount_of(v), amount_of(got["figures"].get(k)))
        for ws in expect.get("settlement") or []:
            i = ws["window"]
            got = state["settlement"][i - 1] if i <= len(state["settlement"]) else None
            self.check(w, f"settlement window {i} settled", True, got is not None)
            for code, figures in (ws.get("operators") or {}).items():
                for k, v in figures.items():
                    actual = (got or {}).get(code, {}).get(k)
                    self.check(
                        w, f"settlement window {i} {code} {k}", amount_of(v), amount_of(actual)
                    )
        if expect.get("events"):
            self.expect_events(expect["events"])
        if "invariants" in expect:
            rec = self.api.reconciliation()
            state["invariants"] = rec["ok"]
            self.check(w, "invariants (reconciliation ok)", expect["invariants"], rec["ok"])


def event_matches(sel: dict, event: dict) -> bool:
    """An event is the one ``sel`` describes: its type, and each field of
    ``sel["data"]`` equal to its data's (amounts as amounts)."""
    if event["type"] != sel["type"]:
        return False
    data = event["data"]
    return all(k in data and _same(v, data[k]) for k, v in (sel.get("data") or {}).items())


def _same(expected: Any, actual: Any) -> bool:
    if expected == actual:
        return True
    if isinstance(expected, str) and isinstance(actual, str):
        try:
            return amount_of(expected) == amount_of(actual)
        except ValueError:
            return False
    return False


def amount_of(text: str | None) -> str | None:
    """An amount as its canonical text (``"900"``, ``"900.0"`` -> ``"900.00"``), so
    that an expected and an actual amount compare as amounts, not as text."""
    return None if text is None else format_amount(parse_signed_amount(text))


def same_instant(expected: str | None, actual: str | None) -> bool:
    """Two ISO 8601 times name the same instant (``null``: no time)."""
    if expected is None or actual is None:
        return expected is actual
    return datetime.fromisoformat(expected) == datetime.fromisoformat(actual)


def _dig(d: Any, path: tuple[str, ...]) -> Any:
    for p in path:
        d = (d or {}).get(p)
    return d


def digest(state: dict) -> str:
    """SHA-256 of the end state's canonical JSON (docs/scenarios.md, "The digest")."""
    body = {
        k: state[k]
        for k in ("balances", "operators", "alerts", "gaming_days", "settlement", "steps")
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()
