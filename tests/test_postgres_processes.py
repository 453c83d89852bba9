"""Concurrency on PostgreSQL across OS processes (issue 9, item 4).

Eight processes, each with its own app, engine and API keys, hammer the same
hot wallets at three operators and one casino cage through the HTTP API (the
Flask test client: the whole write path, Idempotency-Key included) with a
seeded random mix: payments within and across operators, holds captured in full
or in part or voided (every hold is put up twice, so two processes race to
resolve it), buy-ins, plays and cash-outs. The hot wallets have low limits, so
the limit checks are contended.

Afterwards, from what the processes recorded and from the database:
  - every balance, chip balance and hold equals its start plus the successful results;
  - every successful write posted exactly the transfers it answered with;
  - replaying the journal in posting order, no wallet ever went negative or
    past its balance cap, daily cap or single-payment cap; the usage table agrees;
  - every refusal has an expected code, and nothing answered 5xx;
  - every hold resolved exactly once; reconciliation (hash chain included) is ok.
"""

from __future__ import annotations

import json
import multiprocessing
import queue
import random
import time
import traceback
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from wallets.core.schema import accounts, holds, journal_entries, transfers, wallet_usage
from wallets.ledger.money import format_amount, parse_amount

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PROCESSES = 8
OPERATIONS = 45  # per process
SEED = 20260302
START = "2026-03-02T10:00:00+08:00"  # the clock stands still: one sandbox day, no hold expires
DAY = date(2026, 3, 2)
CASINO = "COTAI"

# What each operation may be refused with; all of them must have happened.
EXPECTED_REFUSALS = {
    "limit_exceeded",
    "insufficient_funds",
    "insufficient_chips",
    "hold_already_resolved",
}
# The mix of operations (weights).
MIX = {"payment": 34, "hold": 18, "resolve": 18, "buy_in": 14, "play": 8, "cash_out": 8}

# Lower limits the operators set for the classes of the hot wallets (the rest: the profile's).
OPERATOR_LIMITS = {
    ("ICBC", 2): {"single_payment": "800.00", "daily_out": "8000.00"},
    ("ICBC", 4): {"single_payment": "200.00", "daily_out": "300.00"},
    ("BOC", 3): {"single_payment": "1500.00"},
    ("BOCMO", 2): {"single_payment": "2000.00", "daily_out": "12000.00"},
}
# The hot wallets: operator, class, region, funding, and the most one operation asks for.
HOT = [
    ("ICBC", 2, "MO", "9000.00", "920.00"),
    ("ICBC", 2, "HK", "9000.00", "920.00"),
    ("ICBC", 4, "MO", "10000.00", "250.00"),  # at its balance cap; pays little
    ("BOC", 3, "MO", "9000.00", "1700.00"),  # daily cap 10,000.00, balance cap 20,000.00
    ("BOC", 3, "CN", "9000.00", "1700.00"),
    ("BOCMO", 2, "MO", "14000.00", "2300.00"),
    ("BOCMO", 1, "MO", "500.00", "3000.00"),  # no limits, little money: insufficient_funds
]


@pytest.fixture
def backend():
    return "postgres"


def _fen(text: str) -> int:
    return parse_amount(text, allow_zero=True)


# ---- the world ---------------------------------------------------------------------


def _build_world(sb) -> dict:
    """Three operators with lowered limits, the hot wallets, the casino and its keys."""
    sb.ok("PUT", "/v1/sandbox/clock", json={"now": START})
    sb.ok("PUT", "/v1/sandbox/profile", json={"name": "macau"})
    for code in ("BOCMO", "ICBC", "BOC"):
        sb.operator(code, reserve="5000000.00", issue="1000000.00")
    for (code, wallet_class), lowered in OPERATOR_LIMITS.items():
        sb.ok(
            "PUT", f"/v1/operators/{code}/limits/{wallet_class}", json=lowered, key=code, status=200
        )
    hot = []
    for code, wallet_class, region, fund, most in HOT:
        wallet_id = sb.wallet(code, wallet_class, fund=fund, region=region)
        effective = {
            c["wallet_class"]: c["effective"]
            for c in sb.ok("GET", f"/v1/operators/{code}/limits")["classes"]
        }[wallet_class]
        hot.append(
            {
                "id": wallet_id,
                "operator": code,
                "limits": {k: parse_amount(v) if v else None for k, v in effective.items()},
                "most": parse_amount(most),
            }
        )
    treasury = sb.wallet("BOCMO", 1, kind="merchant", region="MO", label="Macau SAR treasury")
    casino = sb.ok(
        "POST",
        "/v1/casinos",
        json={
            "ref": CASINO,
            "name": "Cotai Grand",
            "operator": "BOCMO",
            "treasury_wallet": treasury,
            "float": "200000.00",
        },
    )
    sb.keys["merchant"] = sb.key("merchant", casino_ref=CASINO)
    return {
        "hot": hot,
        "merchant": casino["merchant_wallet"],
        "treasury": treasury,
        "keys": {name: sb.keys[name] for name in ("ICBC", "BOC", "BOCMO", "merchant")},
    }


# ---- one process -------------------------------------------------------------------


def _hammer(number: int, url: str, var_dir: str, world: dict, tickets, barrier, out: str) -> None:
    """A process's life: its own app and engine, then OPERATIONS random writes.
    Writes what happened to ``out`` (JSON), or the traceback that stopped it."""
    try:
        outcomes = _operations(number, url, Path(var_dir), world, tickets, barrier)
        Path(out).write_text(json.dumps({"outcomes": outcomes}))
    except BaseException:
        Path(out).write_text(json.dumps({"error": traceback.format_exc()}))
        raise


def _operations(number: int, url: str, var_dir: Path, world: dict, tickets, barrier) -> list:
    from app import create_app
    from wallets.core.config import Settings
    from wallets.core.db import Database

    settings = Settings(
        database_url=url,
        signing_key_path=var_dir / "cb-ed25519.pem",
        export_dir=var_dir / "exports",
    )
    database = Database(url)
    client = create_app({"TESTING": True, "SETTINGS": settings, "DATABASE": database}).test_client()
    rng = random.Random(SEED * 100 + number)
    keys, hot = world["keys"], world["hot"]
    by_id = {w["id"]: w for w in hot}
    outcomes: list[dict] = []
    calls = iter(range(10**9))

    def call(kind: str, path: str, key: str, body: dict | None, **facts) -> dict:
        idem = f"p{number}-{next(calls)}"
        headers = {"Authorization": f"Bearer {keys[key]}", "Idempotency-Key": idem}
        r = client.post(path, json=body, headers=headers)
        data = r.get_json(silent=True) or {}
        outcome = {"kind": kind, "status": r.status_code, **facts}
        if r.status_code < 300:
            outcome["body"] = data
            if rng.random() < 0.15:  # the same request again: answered from the first
                again = client.post(path, json=body, headers=headers)
                outcome["replayed"] = (
                    again.status_code == r.status_code
                    and again.headers.get("Idempotent-Replayed") == "true"
                    and again.get_data() == r.get_data()
                )
        else:
            outcome["code"] = data.get("code")
            outcome["limit"] = data.get("limit")
            outcome["detail"] = data.get("detail")
        outcomes.append(outcome)
        return outcome

    def payment_code(wallet: dict) -> str:
        r = client.post(
            f"/v1/wallets/{wallet['id']}/payment-codes",
            json={},
            headers={"Authorization": f"Bearer {keys[wallet['operator']]}"},
        )
        assert r.status_code == 201, r.get_json()
        return r.get_json()["code"]

    def amount_for(wallet: dict) -> int:
        return rng.randint(1_00, wallet["most"])

    def resolve(ticket: dict) -> None:
        hold_id, payer, payee = ticket["hold"], by_id[ticket["from"]], by_id[ticket["to"]]
        key = rng.choice([payer["operator"], payee["operator"]])
        action = rng.choice(["capture", "partial", "void"])
        if action == "void":
            body, path = None, f"/v1/holds/{hold_id}/void"
        else:
            part = ticket["amount"] if action == "capture" else rng.randint(1, ticket["amount"] - 1)
            body, path = {"amount": format_amount(part)}, f"/v1/holds/{hold_id}/capture"
        done = call(action, path, key, body, hold=hold_id, amount=0 if body is None else part)
        if done["status"] >= 300 and done["code"] != "hold_already_resolved":
            # A capture refused (the payee's balance cap, say) leaves the hold open: void it.
            call("void", f"/v1/holds/{hold_id}/void", key, None, hold=hold_id, amount=0)

    barrier.wait(timeout=60)
    for _ in range(OPERATIONS):
        kind = rng.choices(list(MIX), weights=list(MIX.values()))[0]
        player = rng.choice(hot)
        if kind in ("payment", "hold"):
            payee = rng.choice([w for w in hot if w is not player])
            facts = {"from": player["id"], "to": payee["id"], "amount": amount_for(player)}
            body = {
                "from_wallet": facts["from"],
                "to_wallet": facts["to"],
                "amount": format_amount(facts["amount"]),
            }
            path = "/v1/transfers" if kind == "payment" else "/v1/holds"
            done = call(kind, path, player["operator"], body, **facts)
            if kind == "hold" and done["status"] == 201:
                ticket = {**facts, "hold": done["body"]["id"]}
                tickets.put(ticket)  # twice: two processes race to resolve it
                tickets.put(ticket)
        elif kind == "resolve":
            ticket = _take(tickets)
            if ticket is not None:
                resolve(ticket)
        else:
            facts = {"player": player["id"]}
            if kind == "play":
                wager = rng.randint(1_00, 600_00)
                facts |= {"amount": wager, "payout": rng.choice([0, 0, 2 * wager])}
                body = {
                    "player": player["id"],
                    "wager": format_amount(wager),
                    "payout": format_amount(facts["payout"]),
                }
            else:
                facts["amount"] = (
                    amount_for(player) if kind == "buy_in" else rng.randint(1_00, 1500_00)
                )
                body = {"player": player["id"], "amount": format_amount(facts["amount"])}
                if kind == "buy_in":  # the holder's consent, from the wallet's operator
                    body["payment_code"] = payment_code(player)
            path = f"/v1/casinos/{CASINO}/{kind.replace('_', '-')}s"
            call(kind, path, "merchant", body, **facts)
    # Every hold put up by this process is taken by now; take what is left.
    while (ticket := _take(tickets)) is not None:
        resolve(ticket)
    database.dispose()
    return outcomes


def _take(tickets) -> dict | None:
    try:
        return tickets.get_nowait()
    except queue.Empty:
        return None


def _run_processes(url: str, tmp_path: Path, world: dict) -> list[dict]:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        tickets = manager.Queue()
        barrier = ctx.Barrier(PROCESSES)
        outs = [tmp_path / f"process-{n}.json" for n in range(PROCESSES)]
        procs = [
            ctx.Process(
                target=_hammer,
                args=(n, url, str(tmp_path / "var"), world, tickets, barrier, str(outs[n])),
            )
            for n in range(PROCESSES)
        ]
        for p in procs:
            p.start()
        deadline = time.monotonic() + 240
        for p in procs:
            p.join(timeout=max(0, deadline - time.monotonic()))
        stuck = [p for p in procs if p.is_alive()]
        for p in stuck:
            p.kill()
            p.join()
        assert not stuck, f"{len(stuck)} processes did not finish"
        leftover = tickets.qsize()
    outcomes = []
    for p, out in zip(procs, outs, strict=True):
        found = json.loads(out.read_text()) if out.exists() else {"error": "no result file"}
        assert p.exitcode == 0 and "error" not in found, found.get("error")
        outcomes.extend(found["outcomes"])
    assert leftover == 0
    return outcomes


# ---- the test ----------------------------------------------------------------------


def test_processes_hammering_hot_wallets_and_a_cage(sandbox, tmp_path):
    sb = sandbox
    world = _build_world(sb)
    hot = {w["id"]: w for w in world["hot"]}
    merchant, treasury = world["merchant"], world["treasury"]
    tracked = [*hot, merchant, treasury]
    start = {w: _fen(sb.balance(w)) for w in tracked}
    with sb.db.engine.connect() as conn:
        baseline = conn.execute(sa.select(sa.func.max(transfers.c.id))).scalar_one()

    outcomes = _run_processes(sb.db.url, tmp_path, world)

    # -- what was answered ---------------------------------------------------------------
    assert not [o for o in outcomes if o["status"] >= 500], "a 5xx"
    ok = [o for o in outcomes if o["status"] < 300]
    refused = [o for o in outcomes if o["status"] >= 300]
    assert {o["status"] for o in refused} <= {422, 409}, Counter(o["status"] for o in refused)
    codes = Counter(o["code"] for o in refused)
    assert set(codes) == EXPECTED_REFUSALS, codes
    limits_hit = Counter(o["limit"] for o in refused if o["code"] == "limit_exceeded")
    assert {"single_payment", "daily_out", "balance_cap"} <= set(limits_hit), limits_hit
    succeeded = Counter(o["kind"] for o in ok)
    assert {"payment", "hold", "buy_in", "play", "cash_out"} <= set(succeeded), succeeded
    assert succeeded["capture"] + succeeded["partial"] > 0 and len(ok) > 60, succeeded
    replays = [o["replayed"] for o in ok if "replayed" in o]
    assert replays and all(replays), "an Idempotency-Key retry was not answered from the first"

    # -- the model: balances, chips, usage and holds from the successes ----------------------
    balance = Counter(start)
    chips: Counter = Counter()
    usage: Counter = Counter()
    made: dict[int, dict] = {}  # hold id -> the hold as made
    resolved: defaultdict[int, list[dict]] = defaultdict(list)
    answered_ids: set[int] = set()
    for o in ok:
        body = o["body"]
        answered_ids.update(t["id"] for t in body.get("transfers", []))
        kind, amount = o["kind"], o.get("amount")
        if kind == "payment":
            answered_ids.add(body["id"])
            assert (body["kind"], body["from_wallet"], body["to_wallet"]) == (
                "payment",
                o["from"],
                o["to"],
            )
            assert parse_amount(body["amount"]) == amount
            balance[o["from"]] -= amount
            balance[o["to"]] += amount
            usage[o["from"]] += amount
        elif kind == "hold":
            assert (body["status"], body["from_wallet"], body["to_wallet"]) == (
                "pending",
                o["from"],
                o["to"],
            )
            assert parse_amount(body["amount"]) == amount
            made[body["id"]] = o
            balance[o["from"]] -= amount
            usage[o["from"]] += amount
        elif kind in ("capture", "partial", "void"):
            resolved[o["hold"]].append(o)
        elif kind in ("buy_in", "play", "cash_out"):
            assert (body["kind"], body["player"], _fen(body["amount"])) == (
                kind,
                o["player"],
                amount,
            )
        if kind == "buy_in":
            balance[o["player"]] -= amount
            balance[merchant] += amount
            usage[o["player"]] += amount
            chips[o["player"]] += amount
        elif kind == "play":
            chips[o["player"]] += o["payout"] - amount
        elif kind == "cash_out":
            balance[merchant] -= amount
            balance[o["player"]] += amount
            chips[o["player"]] -= amount
    # Each hold resolved exactly once; what it paid and gave back.
    assert set(resolved) == set(made), "a hold never resolved, or an unknown one did"
    final_holds: dict[int, tuple[str, int]] = {}
    for hold_id, hold in made.items():
        (done,) = resolved[hold_id]  # exactly one successful capture or void
        paid = _fen(done["body"]["captured"])
        assert paid == done["amount"], done
        assert (done["kind"] == "partial") == (0 < paid < hold["amount"]), done
        final_holds[hold_id] = ("voided" if done["kind"] == "void" else "captured", paid)
        balance[hold["to"]] += paid
        balance[hold["from"]] += hold["amount"] - paid
        usage[hold["from"]] -= hold["amount"] - paid

    # -- balances through the API ----------------------------------------------------------
    for w in tracked:
        got = sb.ok("GET", f"/v1/wallets/{w}/balance")
        assert (got["balance"], got["available"], got["held"]) == (
            format_amount(balance[w]),
            format_amount(balance[w]),
            "0.00",
        ), w
        assert balance[w] >= 0
    assert balance[treasury] == start[treasury]
    casino = sb.ok("GET", f"/v1/casinos/{CASINO}")
    assert casino["chips_with_players"] == format_amount(sum(chips.values()))
    assert casino["merchant_balance"] == format_amount(balance[merchant])

    with sb.db.engine.connect() as conn:
        # -- chips per player, never negative ------------------------------------------------
        chip_rows = conn.execute(
            sa.select(
                accounts.c.wallet_id, accounts.c.credits_posted - accounts.c.debits_posted
            ).where(accounts.c.asset == f"CHIP:{CASINO}", accounts.c.wallet_id.is_not(None))
        ).all()
        assert {w: n for w, n in chip_rows if n} == {w: n for w, n in chips.items() if n}
        assert all(n >= 0 for _, n in chip_rows)
        negative = conn.execute(
            sa.select(accounts.c.code).where(
                ~accounts.c.may_go_negative, accounts.c.credits_posted < accounts.c.debits_posted
            )
        ).all()
        assert not negative

        # -- exactly the transfers the successes answered with, and nothing else ---------------
        posted = conn.execute(
            sa.select(
                transfers.c.id,
                transfers.c.kind,
                transfers.c.amount,
                transfers.c.from_wallet_id,
                transfers.c.hold_id,
            )
            .where(transfers.c.id > baseline)
            .order_by(transfers.c.id)
        ).all()
        assert {t.id for t in posted} == answered_ids

        # -- holds: each resolved once, as answered --------------------------------------------
        hold_rows = conn.execute(
            sa.select(holds.c.id, holds.c.status, holds.c.captured).where(
                holds.c.id.in_(list(made)) | (holds.c.status == "pending")
            )
        ).all()
        assert {h.id: (h.status, h.captured) for h in hold_rows} == final_holds
        kinds_by_hold = defaultdict(list)
        for t in posted:
            if t.hold_id is not None:
                kinds_by_hold[t.hold_id].append(t.kind)
        for hold_id, (status, paid) in final_holds.items():
            expected = ["hold", "void"] if status == "voided" else ["hold", "capture"]
            if status == "captured" and paid < made[hold_id]["amount"]:
                expected.append("hold_release")
            assert sorted(kinds_by_hold[hold_id]) == sorted(expected), hold_id

        # -- the limits, replaying the journal in posting order -------------------------------
        entries = conn.execute(
            sa.select(
                journal_entries.c.transfer_id,
                journal_entries.c.amount,
                sa.select(accounts.c.wallet_id)
                .where(accounts.c.id == journal_entries.c.debit_account_id)
                .scalar_subquery()
                .label("debit_wallet"),
                sa.select(accounts.c.wallet_id)
                .where(accounts.c.id == journal_entries.c.credit_account_id)
                .scalar_subquery()
                .label("credit_wallet"),
            )
            .where(journal_entries.c.transfer_id > baseline, journal_entries.c.asset == "ECNY")
            .order_by(journal_entries.c.seq)
        ).all()
        usage_rows = conn.execute(sa.select(wallet_usage)).all()
    by_transfer = defaultdict(list)
    for e in entries:
        by_transfer[e.transfer_id].append(e)
    running = Counter({w: start[w] for w in hot})
    held: Counter = Counter()
    used: Counter = Counter()
    for t in posted:
        payer = hot.get(t.from_wallet_id)
        if payer is not None and t.kind in ("payment", "hold"):
            cap = payer["limits"]["single_payment"]
            assert cap is None or t.amount <= cap, f"transfer {t.id} passed the single-payment cap"
            used[payer["id"]] += t.amount
        if payer is not None and t.kind in ("void", "hold_release"):
            used[payer["id"]] -= t.amount
        if t.kind == "hold":
            held[t.from_wallet_id] += t.amount
        elif t.kind in ("capture", "void", "hold_release"):
            held[t.from_wallet_id] -= t.amount
        for e in by_transfer[t.id]:
            running[e.debit_wallet] -= e.amount
            running[e.credit_wallet] += e.amount
        for w, wallet in hot.items():
            limits = wallet["limits"]
            assert running[w] >= 0, f"wallet {w} below zero after transfer {t.id}"
            for name in ("daily_out", "annual_out"):  # one day: the year's usage is the day's
                cap = limits[name]
                assert cap is None or used[w] <= cap, f"wallet {w} past its {name} at {t.id}"
            cap = limits["balance_cap"]
            assert cap is None or running[w] + held[w] <= cap, f"wallet {w} past its cap at {t.id}"
    for w in hot:
        assert running[w] == balance[w] and held[w] == 0
    # The usage table: what the ledger counted, the same on the day and the year.
    table = {(u.wallet_id, u.period, u.period_start): u.amount_out for u in usage_rows}
    for w in hot:
        assert used[w] == usage[w], w
        day, year = table.get((w, "day", DAY), 0), table.get((w, "year", date(DAY.year, 1, 1)), 0)
        assert day == year == usage[w], w

    # -- reconciliation, hash chain included ---------------------------------------------------
    report = sb.ok("GET", "/v1/audit/reconciliation", key="auditor")
    assert report["ok"], [c for c in report["checks"] if not c["ok"]]
    assert any("hash chain" in c["name"] and c["ok"] for c in report["checks"])
