"""A seeded, synthetic casino workload with planted suspicious patterns.

``generate`` writes three files next to each other: the scenario (YAML: the
world and the final expectations), its steps (JSON lines, one step a line, in
time order) and the labels (JSON lines: which wallet was planted with which
pattern). Players' sessions are drawn one gaming day at a time, so memory
grows with the players of a day, never with the whole file. The same seed
writes the same files.

``score`` compares the alerts a replay raised with the labels: precision and
recall per planted rule.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from wallets.ledger.money import format_amount

YUAN = 100  # fen


@dataclass(frozen=True)
class Workload:
    """The knobs of a synthetic day; the defaults are the documented workload."""

    players: int = 200
    days: int = 1
    seed: int = 1
    plant: dict[str, int] = field(default_factory=lambda: {"structuring": 3, "minimal_play": 3})
    start: str = "2026-03-02"  # a Monday; play runs 10:00 to 04:00 (UTC+8)
    visit_share: float = 0.6  # players who come on a given day
    mainland_share: float = 0.15  # wallets of region CN (at ICBC)
    class4_share: float = 0.10  # anonymous wallets
    class2_share: float = 0.25
    short_session_share: float = 0.04  # honest players who leave after one small bet
    win_probability: float = 0.47  # even-money bets with a house edge
    # Buy-in sizes (CNY): log-normal median and cap per wallet class.
    buy_in_median: dict[int, int] = field(default_factory=lambda: {1: 3000, 2: 1500, 4: 200})
    buy_in_cap: dict[int, int] = field(default_factory=lambda: {1: 50000, 2: 20000, 4: 1000})
    funding: dict[int, int] = field(default_factory=lambda: {1: 200000, 2: 40000, 4: 3000})
    # Planted patterns (CNY): a structurer's two buy-ins, a minimal player's one.
    structuring_buy_in: tuple[int, int] = (230000, 260000)
    minimal_play_buy_in: tuple[int, int] = (50000, 150000)


def output_files(out: Path) -> tuple[Path, Path]:
    stem = out.name.removesuffix(".yaml").removesuffix(".yml")
    return out.with_name(f"{stem}.steps.jsonl"), out.with_name(f"{stem}.labels.jsonl")


class DayBuilder:
    """One gaming day's events, sorted by time when written."""

    def __init__(self) -> None:
        # (time, order, the step as JSON): kept serialised, a day holds many
        self.events: list[tuple[int, int, str]] = []
        self.figures: defaultdict[str, int] = defaultdict(int)
        self.players: set[str] = set()

    def add(self, t: int, step: dict) -> None:
        self.events.append((t, len(self.events), json.dumps(step, separators=(",", ":"))))
        kind = step["action"]
        if kind in ("buy_in", "cash_out", "play"):
            self.players.add(step["player"])


def generate(w: Workload, out: Path) -> dict:
    """Write the scenario, its steps and labels; return counts."""
    rng = random.Random(w.seed)
    steps_path, labels_path = output_files(out)
    planted: dict[str, str] = {}
    kinds = ["structuring"] * w.plant.get("structuring", 0) + ["minimal_play"] * w.plant.get(
        "minimal_play", 0
    )
    wallets: list[dict] = []
    balance: dict[str, int] = {}
    for i in range(w.players + len(kinds)):
        ref = f"p{i + 1:06d}"
        if i >= w.players:
            pattern = kinds[i - w.players]
            planted[ref] = pattern
            cls, region, op = 1, "MO", "BOCMO"
            fund = 700000 if pattern == "structuring" else 200000
        else:
            r = rng.random()
            cls = 4 if r < w.class4_share else 2 if r < w.class4_share + w.class2_share else 1
            mainland = cls == 1 and rng.random() < w.mainland_share
            region = "CN" if mainland else rng.choice(["MO", "MO", "HK"])
            op = "ICBC" if mainland or region == "HK" else "BOCMO"
            fund = w.funding[cls]
        wallet = {"action": "open_wallet", "ref": ref, "operator": op, "class": cls}
        wallet["region"] = region
        if cls == 4:
            wallet["phone"] = f"+8536{i + 1:07d}"
        else:
            wallet["holder_id"] = f"h-{ref}"
            wallet["birth_date"] = (
                f"{rng.randint(1950, 2000)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"
            )
        wallet["fund"] = format_amount(fund * YUAN)
        wallets.append(wallet)
        balance[ref] = fund * YUAN
    # Planted players spread over the days, one pattern each.
    plant_day = {ref: rng.randrange(w.days) for ref in planted}

    counts = {"events": 0, "players": len(wallets), "labels": len(planted)}
    gaming_days = []
    issue: defaultdict[str, int] = defaultdict(int)
    for wal in wallets:
        issue[wal["operator"]] += balance[wal["ref"]]
    start = epoch_day(w.start)
    with steps_path.open("w", encoding="utf-8") as f:
        for wal in wallets:
            f.write(json.dumps(wal, separators=(",", ":")) + "\n")
            counts["events"] += 1
        clock = 10 * 3600  # seconds since the start day's 00:00 (UTC+8)
        for d in range(w.days):
            day = DayBuilder()
            base = d * 86400
            for wal in wallets:
                ref = wal["ref"]
                if ref in planted:
                    if plant_day[ref] == d:
                        _planted(rng, w, day, base, ref, planted[ref], balance)
                elif rng.random() < w.visit_share:
                    _session(rng, w, day, base, ref, wal["class"], balance)
            day.events.sort(key=lambda e: (e[0], e[1]))
            for t, _, line in day.events:
                if t > clock:
                    line = f'{{"after":{t - clock},{line[1:]}'
                    clock = t
                f.write(line + "\n")
            close_at = base + 86400 + 7 * 3600  # 07:00 the next morning
            date = iso_date(start + d)
            f.write(
                json.dumps(
                    {
                        "action": "close_gaming_day",
                        "casino": "COTAI",
                        "date": date,
                        "after": close_at - clock,
                    }
                )
                + "\n"
            )
            clock = close_at
            counts["events"] += len(day.events) + 1
            fig = day.figures
            gaming_days.append(
                {
                    "casino": "COTAI",
                    "date": date,
                    "players": len(day.players),
                    "figures": {
                        k: format_amount(fig[k])
                        for k in ("buy_ins", "cash_outs", "turnover", "payouts")
                    }
                    | {"ggr": format_amount(fig["turnover"] - fig["payouts"])},
                }
            )
    with labels_path.open("w", encoding="utf-8") as f:
        for ref, pattern in sorted(planted.items()):
            f.write(json.dumps({"wallet": ref, "pattern": pattern}) + "\n")
    treasury_op = "BOCMO"
    doc = {
        "name": f"generated-{w.players}p-{w.days}d-seed{w.seed}",
        "description": "Synthetic casino workload (ecny scenario generate); labels in "
        + labels_path.name,
        "profile": "macau",
        "clock": f"{w.start}T10:00:00+08:00",
        "setup": {
            "operators": [
                {
                    "code": code,
                    "reserve": format_amount(2 * issue[code] + 10_000_000 * YUAN),
                    "issue": format_amount(issue[code] + 5_000_000 * YUAN),
                }
                for code in ("BOCMO", "ICBC")
            ],
            "wallets": [
                {
                    "ref": "treasury",
                    "operator": treasury_op,
                    "class": 1,
                    "region": "MO",
                    "kind": "merchant",
                }
            ],
            "casinos": [
                {
                    "ref": "COTAI",
                    "name": "Cotai Grand",
                    "operator": "BOCMO",
                    "treasury": "treasury",
                    "float": "2000000.00",
                }
            ],
        },
        "steps_file": steps_path.name,
        "expect": {"gaming_days": gaming_days, "invariants": True},
    }
    out.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return counts


def _amount(rng: random.Random, median: int, cap: int) -> int:
    """A log-normal amount in fen, rounded to CNY 100, between 100 and ``cap``."""
    value = median * math.exp(rng.gauss(0, 1.0))
    return max(100, min(cap, round(value / 100) * 100)) * YUAN


def _arrival(rng: random.Random, base: int) -> int:
    """Evenings are busier: a triangular draw over 10:00 .. 04:00, peaking at 22:00."""
    return base + int(rng.triangular(10 * 3600, 28 * 3600, 22 * 3600))


def _cage(day: DayBuilder, t: int, action: str, ref: str, **amounts: int) -> None:
    step = {"action": action, "casino": "COTAI", "player": ref}
    step |= {k: format_amount(v) for k, v in amounts.items()}
    day.add(t, step)
    key = {"buy_in": "buy_ins", "cash_out": "cash_outs"}.get(action)
    if key:
        day.figures[key] += amounts["amount"]
    else:
        day.figures["turnover"] += amounts["wager"]
        day.figures["payouts"] += amounts["payout"]


def _rounds(rng, w, day, t, ref, chips, buy_in, rounds, share) -> tuple[int, int]:
    """Even-money rounds, each wagering ``share`` (lo, hi) of the chips; stops
    at twice the buy-in. Returns (time, chips)."""
    for _ in range(rounds):
        if chips < 10 * YUAN or chips >= 2 * buy_in:
            break
        wager = max(10 * YUAN, int(chips * rng.uniform(*share)) // (10 * YUAN) * 10 * YUAN)
        payout = 2 * wager if rng.random() < w.win_probability else 0
        t += rng.randint(60, 300)
        _cage(day, t, "play", ref, wager=wager, payout=payout)
        chips += payout - wager
    return t, chips


def _session(rng, w, day, base, ref, cls, balance) -> None:
    if balance[ref] < 100 * YUAN:
        return
    amount = min(_amount(rng, w.buy_in_median[cls], w.buy_in_cap[cls]), balance[ref])
    amount -= amount % (10 * YUAN)
    if amount <= 0:
        return
    t = _arrival(rng, base)
    _cage(day, t, "buy_in", ref, amount=amount)
    if rng.random() < w.short_session_share:
        t, chips = _rounds(rng, w, day, t, ref, amount, amount, 1, (0.05, 0.15))
    else:
        t, chips = _rounds(rng, w, day, t, ref, amount, amount, rng.randint(3, 20), (0.1, 0.5))
    if chips > 0:
        _cage(day, t + rng.randint(60, 600), "cash_out", ref, amount=chips)
    balance[ref] += chips - amount


def _planted(rng, w, day, base, ref, pattern, balance) -> None:
    t = base + rng.randint(10 * 3600, 16 * 3600)  # early enough for a second visit the same day
    if pattern == "structuring":
        first, second = (rng.randint(*w.structuring_buy_in) * YUAN for _ in range(2))
        _cage(day, t, "buy_in", ref, amount=first)
        t, chips = _rounds(rng, w, day, t, ref, first, first, rng.randint(3, 8), (0.1, 0.3))
        t += rng.randint(3600, 4 * 3600)
        _cage(day, t, "buy_in", ref, amount=second)
        chips += second
        total = first + second
        t, chips = _rounds(rng, w, day, t, ref, chips, total, rng.randint(3, 8), (0.1, 0.3))
    else:
        total = rng.randint(*w.minimal_play_buy_in) // 100 * 100 * YUAN
        _cage(day, t, "buy_in", ref, amount=total)
        wager = int(total * rng.uniform(0.01, 0.05)) // YUAN * YUAN
        t += rng.randint(120, 900)
        _cage(day, t, "play", ref, wager=wager, payout=0)
        chips = total - wager
    if chips > 0:
        _cage(day, t + rng.randint(60, 600), "cash_out", ref, amount=chips)
    balance[ref] += chips - total


def epoch_day(date: str) -> int:
    return dt.date.fromisoformat(date).toordinal()


def iso_date(ordinal: int) -> str:
    return dt.date.fromordinal(ordinal).isoformat()


# A pattern the profile refuses instead of alerting is found by its refusal.
REFUSAL_OF = {"third_party_payout": "third_party_payout_refused"}


def score(labels_path: Path, results: dict) -> dict[str, dict]:
    """Per planted rule: flagged wallets vs labelled ones (from ``run --json``).
    A wallet is flagged by the rule's alerts; where the profile refuses the
    pattern instead, a label names the refused step (``line`` of the steps
    file) and the wallet is flagged when that step was refused with the rule's
    code; a refusal with that code at a step no label names is a false
    positive of its own."""
    labelled: dict[str, set[str]] = defaultdict(set)
    lines: dict[str, dict[int, str]] = defaultdict(dict)  # rule: refused step's line: wallet
    with labels_path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                labelled[row["pattern"]].add(row["wallet"])
                if "line" in row:
                    lines[row["pattern"]][row["line"]] = row["wallet"]
    alerted: dict[str, set[str]] = defaultdict(set)
    unnamed: dict[str, int] = defaultdict(int)  # refusals at steps no label names
    for sc in results["scenarios"]:
        for rule, _casino, wallet, _operator, _status in sc["final"].get("alerts", []):
            if wallet:
                alerted[rule].add(wallet)
        for rule, code in REFUSAL_OF.items():
            for n, outcome in enumerate(sc["final"].get("steps", []), start=1):
                if outcome != code:
                    continue
                if n in lines[rule]:
                    alerted[rule].add(lines[rule][n])
                else:
                    unnamed[rule] += 1
    scores = {}
    for rule in sorted(set(labelled) | set(alerted) | set(unnamed)):
        hit = labelled[rule] & alerted[rule]
        flagged = len(alerted[rule]) + unnamed[rule]
        scores[rule] = {
            "labelled": len(labelled[rule]),
            "alerted": flagged,
            "true_positives": len(hit),
            # A rule nothing was planted for is not scored: its alerts are no errors.
            "precision": len(hit) / flagged if flagged and labelled[rule] else None,
            "recall": len(hit) / len(labelled[rule]) if labelled[rule] else None,
        }
    return scores
