"""A generated day that looks like Macau: calibration presets, the calibrated
generator and the calibration report (docs/scenarios.md, "A calibrated Macau day").

A **preset** (``presets/<name>.yaml``) holds the published figures of a year,
each with its source, and the modelling assumptions (player segments with
their buy-in, bet and session distributions, wallet classes, regions,
typology rates), labelled as such. ``generate_calibrated`` draws one gaming
day at a ``scale`` of the whole market:

1. the day's players (visitor arrivals a day x scale), split into segments;
   each gets a wallet (class and region drawn from the preset), a casino and
   a session plan (buy-in, plays and the stake of each play);
2. per segment, the **house edge** is derived so that the day's *expected*
   GGR is the segment's published share of the day's GGR (a session's result
   is the edge times its turnover plus its luck, bounded by a loss of the
   buy-in and by the win the wallet can hold);
3. the players' **luck** is drawn in blocks of sessions of similar stakes:
   one draw from every stratum of the normal distribution, then taken given
   that the block's luck adds up to nothing, so the day's GGR lands on its
   expected value while every player still wins or loses by chance;
4. the sessions are written as cage steps in time order, each casino's
   gaming day is closed, and the day's figures (computed here) become the
   scenario's expectations.

The preset's typologies are planted among the players at their rates, each
named by the rule that should find it (structuring, minimal play, third-party
payouts, chip pooling, chip walking) and labelled; chip walking adds the
profile's ``chip_walking.gaming_days`` quiet gaming days after the day, whose
last close reports it.

The report sets the day's GGR, its shares, players and transactions beside
the preset's targets: after generating (from the generator's own figures) and
after replaying (from the gaming-day closes and the wallets' end balances of
``ecny scenario run --json``).
"""

from __future__ import annotations

import json
import math
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from statistics import NormalDist
from typing import Any

import yaml

from app.scenario.generate import DayBuilder, epoch_day, iso_date, output_files
from app.scenario.loader import profile_request
from wallets.ledger.money import divide_by_rate, format_amount, parse_amount, parse_signed_amount
from wallets.rules.profile import Limits, Profile, ProfileError, load_profile, parse_profile

PRESET_DIR = Path(__file__).with_name("presets")
YUAN = 100  # fen
# The published share that the published ones leave over (1 - their sum).
REMAINDER = "other_games"
# Sessions of similar stakes whose luck is drawn together, one draw per stratum.
LUCK_BLOCK = 16
START = "2026-03-02"  # a Monday


class PresetError(ValueError):
    """The preset file is missing or malformed."""


def available_presets() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


# ---- the preset -------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    name: str
    counts_toward: str  # a published share (or REMAINDER)
    ggr_split: float  # the part of that share this segment makes (an assumption)
    players_share: float
    game: str
    hand_sd: float
    wallet_classes: tuple[tuple[int, float], ...]
    buy_in: tuple[int, float, int, int]  # median (fen), sigma, min, max (fen)
    bet: tuple[float, float]  # a play's stake, as a share of the buy-in
    plays: tuple[int, int]
    hands_per_play: int
    minutes_between_plays: tuple[int, int]
    short_session_share: float


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    profile: str | dict  # a shipped profile's name, or a document extending one (as a scenario's)
    year: int
    days_in_year: int
    ggr_mop: int  # avos, the year's
    shares: dict[str, Decimal]  # published, and REMAINDER derived
    sources: dict[str, str]
    visitor_arrivals: int
    concessionaires: int
    segments: tuple[Segment, ...]
    players_per_visitor: float
    casinos_per_concessionaire: int
    max_win_multiple: int
    regions: tuple[tuple[str, float, str], ...]  # code, share, operator
    casino_operator: str
    funding_headroom: float
    arrivals: tuple[int, int, int]  # first, peak, last play: seconds after the day's 00:00
    typologies: dict[str, dict[str, Any]] = field(default_factory=dict)
    tolerance: tuple[float, float] = (2.0, 1.0)  # GGR percent, share points, at scale 1


# The planted patterns, each named by the rule (alert type) that should catch it.
TYPOLOGIES = ("structuring", "minimal_play", "third_party_payout", "chip_pooling", "chip_walking")
# Players of a pooling group who hand their chips to the planted one (not labelled).
CONTRIBUTOR = "pool_contributor"
# Sessions whose result is fixed by the plan, not drawn (GGR: the result as planned).
FIXED = ("minimal_play", CONTRIBUTOR)
# Sessions whose luck is drawn (the others are fixed, or one small play: "short").
DRAWN = ("play", "structuring", "third_party_payout", "chip_pooling", "chip_walking")
PAYEE = "payee"  # a third-party payout's payee: a wallet, not a player
THIRD_PARTY_REFUSED = "third_party_payout_refused"  # the cage's code when the profile refuses
# The settings each typology needs beside its rate and segment.
TYPOLOGY_SETTINGS = {
    "structuring": ("buy_ins",),
    "minimal_play": ("buy_in", "wager_share"),
    "third_party_payout": ("min_chips",),
    "chip_pooling": ("contributor_buy_in",),
    "chip_walking": ("min_chips", "kept_share"),
}


def _clock(text: str) -> int:
    h, m = (int(x) for x in str(text).split(":"))
    return h * 3600 + m * 60


def load_preset(name: str) -> Preset:
    """The preset ``presets/<name>.yaml``, validated (:class:`PresetError`)."""
    path = PRESET_DIR / f"{name}.yaml"
    if name not in available_presets():
        raise PresetError(f"unknown preset {name!r}; presets: {', '.join(available_presets())}")
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    try:
        return _parse(doc)
    except (KeyError, TypeError, ValueError) as e:
        raise PresetError(f"{path}: {type(e).__name__}: {e}") from None


def preset_profile(preset: Preset) -> Profile:
    """The rule profile the day is replayed under: a shipped one by name, or a
    document of the preset's own (``extends`` a shipped one, as a scenario's)."""
    request = profile_request(preset.profile)
    try:
        if "name" in request:
            return load_profile(request["name"])
        return parse_profile(request["document"], source=f"preset {preset.name}: profile")
    except ProfileError as e:
        raise PresetError(str(e)) from None


def _parse(doc: dict) -> Preset:
    pub = doc["published"]
    sources = {"ggr_mop": pub["ggr_mop"]["source"]}
    shares: dict[str, Decimal] = {}
    for group, item in pub["segment_shares"].items():
        shares[group] = Decimal(str(item["value"]))
        sources[f"share:{group}"] = item["source"]
    rest = Decimal(1) - sum(shares.values(), Decimal(0))
    if rest < 0:
        raise ValueError("the published shares add up to more than 1")
    shares[REMAINDER] = rest
    sources[f"share:{REMAINDER}"] = "derived: 1 - the published shares"
    sources["visitor_arrivals"] = pub["visitor_arrivals"]["source"]
    sources["concessionaires"] = pub["concessionaires"]["source"]
    a = doc["assumptions"]
    games = a["games"]
    segments = []
    for name, s in doc["segments"].items():
        if s["counts_toward"] not in shares:
            raise ValueError(f"segment {name}: counts_toward {s['counts_toward']!r} is no share")
        b = s["buy_in"]
        segments.append(
            Segment(
                name=name,
                counts_toward=s["counts_toward"],
                ggr_split=float(s["ggr_split"]),
                players_share=float(s["players_share"]),
                game=s["game"],
                hand_sd=float(games[s["game"]]["hand_sd"]),
                wallet_classes=tuple((int(c), float(p)) for c, p in s["wallet_classes"].items()),
                buy_in=(b["median"] * YUAN, float(b["sigma"]), b["min"] * YUAN, b["max"] * YUAN),
                bet=(float(s["bet"][0]), float(s["bet"][1])),
                plays=(int(s["plays"][0]), int(s["plays"][1])),
                hands_per_play=int(s["hands_per_play"]),
                minutes_between_plays=(
                    int(s["minutes_between_plays"][0]),
                    int(s["minutes_between_plays"][1]),
                ),
                short_session_share=float(s.get("short_session_share", 0)),
            )
        )
    for group in shares:
        split = sum(s.ggr_split for s in segments if s.counts_toward == group)
        if abs(split - 1) > 1e-9:
            raise ValueError(f"the segments' ggr_split of {group} add up to {split}, not 1")
    if abs(sum(s.players_share for s in segments) - 1) > 1e-9:
        raise ValueError("the segments' players_share do not add up to 1")
    typologies = doc.get("typologies") or {}
    names = {s.name for s in segments}
    for t, spec in typologies.items():
        if t not in TYPOLOGIES:
            raise ValueError(f"typology {t!r}: the generator plants {', '.join(TYPOLOGIES)}")
        if spec["segment"] not in names:
            raise ValueError(f"typology {t}: segment {spec['segment']!r} is no segment")
        if not 0 <= float(spec["rate"]) < 1:
            raise ValueError(f"typology {t}: rate {spec['rate']} is not a share (0 to below 1)")
        missing = [k for k in TYPOLOGY_SETTINGS[t] if k not in spec]
        if missing:
            raise ValueError(f"typology {t}: no {', '.join(missing)}")
    arr = a["arrivals"]
    tol = doc.get("tolerance") or {}
    return Preset(
        name=doc["name"],
        description=doc.get("description", ""),
        profile=doc["profile"],
        year=int(pub["year"]),
        days_in_year=int(pub["days_in_year"]),
        ggr_mop=parse_amount(pub["ggr_mop"]["value"]),
        shares=shares,
        sources=sources,
        visitor_arrivals=int(pub["visitor_arrivals"]["value"]),
        concessionaires=int(pub["concessionaires"]["value"]),
        segments=tuple(segments),
        players_per_visitor=float(a["players_per_visitor"]),
        casinos_per_concessionaire=int(a["casinos_per_concessionaire"]),
        max_win_multiple=int(a["max_win_multiple"]),
        regions=tuple((c, float(r["share"]), r["operator"]) for c, r in a["regions"].items()),
        casino_operator=a["casino_operator"],
        funding_headroom=float(a["funding_headroom"]),
        arrivals=(
            _clock(arr["first"]),
            _clock(arr["peak"]) + (86400 if _clock(arr["peak"]) < _clock(arr["first"]) else 0),
            _clock(arr["last_play"])
            + (86400 if _clock(arr["last_play"]) < _clock(arr["first"]) else 0),
        ),
        typologies=typologies,
        tolerance=(float(tol.get("ggr_percent", 2.0)), float(tol.get("share_points", 1.0))),
    )


# ---- the targets of a day -----------------------------------------------------------


@dataclass(frozen=True)
class Targets:
    scale: float
    mop_per_cny: Decimal
    daily_ggr_mop: int  # avos, the whole market's day
    ggr: int  # fen, at this scale
    shares: dict[str, Decimal]
    players: int
    segment_ggr: dict[str, int]  # fen
    segment_players: dict[str, int]
    tolerance: tuple[float, float]  # at this scale


def targets(preset: Preset, scale: float, profile: Profile) -> Targets:
    assert profile.fx is not None, "a calibrated day needs a profile with fx rates"
    rate = profile.fx.mop_per_cny
    daily_mop = (Decimal(preset.ggr_mop) / preset.days_in_year).to_integral_value(ROUND_HALF_UP)
    daily_fen = divide_by_rate(int(daily_mop), rate, ROUND_HALF_UP)
    ggr = int((Decimal(daily_fen) * Decimal(str(scale))).to_integral_value(ROUND_HALF_UP))
    players = max(
        len(preset.segments),
        round(preset.visitor_arrivals / preset.days_in_year * preset.players_per_visitor * scale),
    )
    segment_ggr = {
        s.name: int(
            (
                Decimal(ggr) * preset.shares[s.counts_toward] * Decimal(str(s.ggr_split))
            ).to_integral_value(ROUND_HALF_UP)
        )
        for s in preset.segments
    }
    widen = 1 / math.sqrt(min(scale, 1.0))
    return Targets(
        scale=scale,
        mop_per_cny=rate,
        daily_ggr_mop=int(daily_mop),
        ggr=ggr,
        shares=preset.shares,
        players=players,
        segment_ggr=segment_ggr,
        segment_players=_apportion(players, {s.name: s.players_share for s in preset.segments}),
        tolerance=(preset.tolerance[0] * widen, preset.tolerance[1] * widen),
    )


def _apportion(total: int, weights: dict[str, float]) -> dict[str, int]:
    """``total`` split by ``weights``, largest remainders first; every weight
    above zero gets at least one (``total`` permitting)."""
    exact = {k: total * w for k, w in weights.items()}
    out = {k: max(1 if weights[k] > 0 else 0, int(v)) for k, v in exact.items()}
    left = total - sum(out.values())
    for k in sorted(exact, key=lambda k: (out[k] - exact[k], k)):  # largest remainder first
        if left <= 0:
            break
        out[k] += 1
        left -= 1
    while left < 0:  # the minimum of one took too many: take back from the largest
        k = max(out, key=lambda k: (out[k], k))
        out[k] -= 1
        left += 1
    return out


# ---- sessions -------------------------------------------------------------------------

_NORMAL = NormalDist()
_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@dataclass
class Session:
    """One player's visit: the plan, then its luck and its result."""

    ref: str
    segment: str
    kind: str  # "play", "short", or a typology
    cls: int
    region: str
    operator: str
    casino: str
    fund: int
    buy_ins: list[int]  # fen; two for a structurer
    wagers: list[int]  # planned stake of each play (fen)
    sd: float = 0.0  # the luck of the whole session (fen)
    low: float = -math.inf  # the session's result is at least this (a win is negative)
    result: int = 0  # fen the player lost (GGR); negative: won
    z: float = 0.0
    second_at: int | None = None  # a structurer's second buy-in comes before this play
    keep: int = 0  # a chip walker ends the session with at least these chips (fen)
    payee: str | None = None  # a third-party payout: the wallet its chips are cashed out to
    contributors: list[Session] = field(default_factory=list)  # a pooler's: who hands it chips

    @property
    def buy_in(self) -> int:
        return sum(self.buy_ins)

    @property
    def turnover(self) -> int:
        return sum(self.wagers)

    @property
    def high(self) -> int:
        """The session's result is at most this (a loss of the buy-in, less
        what a chip walker keeps)."""
        return self.buy_in - self.keep


def _phi(x: float) -> tuple[float, float]:
    """The standard normal's cdf and density at ``x``."""
    if x == math.inf:
        return 1.0, 0.0
    if x == -math.inf:
        return 0.0, 0.0
    return 0.5 * (1.0 + math.erf(x / _SQRT2)), math.exp(-0.5 * x * x) * _INV_SQRT_2PI


def _clipped_mean(mu: float, sd: float, low: float, high: float) -> tuple[float, float]:
    """E[min(high, max(low, X))] for X ~ N(mu, sd^2), and its derivative in mu."""
    if sd <= 0:
        return min(max(mu, low), high), 1.0 if low < mu < high else 0.0
    cdf_a, pdf_a = _phi((low - mu) / sd)
    cdf_b, pdf_b = _phi((high - mu) / sd)
    low_part = low * cdf_a if low != -math.inf else 0.0
    mean = low_part + high * (1 - cdf_b) + mu * (cdf_b - cdf_a) + sd * (pdf_a - pdf_b)
    return mean, cdf_b - cdf_a


def _expected(sessions: list[Session], edge: float) -> tuple[float, float]:
    """The sessions' expected GGR at this house edge, and its derivative."""
    total = slope = 0.0
    for s in sessions:
        if s.kind in FIXED:
            total += s.result  # fixed: one losing play, or none
        elif s.kind == "short":
            total += edge * s.turnover
            slope += s.turnover
        else:
            m, d = _clipped_mean(edge * s.turnover, s.sd, s.low, s.high)
            total += m
            slope += d * s.turnover
    return total, slope


def derive_edge(sessions: list[Session], target: int) -> float:
    """The house edge (0..1) at which the sessions' expected GGR is ``target``:
    Newton's method inside a bisection bracket (the expectation rises with the edge)."""
    lo, hi = 0.0, 1.0
    if _expected(sessions, lo)[0] >= target:
        return lo
    if _expected(sessions, hi)[0] <= target:
        return hi
    turnover = sum(s.turnover for s in sessions) or 1
    edge = min(max(target / turnover, 1e-6), 0.5)
    for _ in range(100):
        value, slope = _expected(sessions, edge)
        gap = value - target
        if abs(gap) < 0.5:  # half a fen
            break
        if gap > 0:
            hi = edge
        else:
            lo = edge
        step = edge - gap / slope if slope > 0 else -1.0
        edge = step if lo < step < hi else (lo + hi) / 2
    return edge


# ---- the day ---------------------------------------------------------------------------


def _choice(rng: random.Random, options: tuple[tuple[Any, float], ...]) -> Any:
    r = rng.random() * sum(w for _, w in options)
    for value, w in options:
        r -= w
        if r < 0:
            return value
    return options[-1][0]


def _lognormal(rng: random.Random, median: int, sigma: float, low: int, high: int) -> int:
    value = median * math.exp(rng.gauss(0.0, sigma))
    return max(low, min(high, round(value / (10 * YUAN)) * 10 * YUAN))


def _payment_cap(limits: Limits) -> int | None:
    caps = [c for c in (limits.single_payment, limits.daily_out) if c is not None]
    return min(caps) if caps else None


class _Planner:
    """Draws the players and their sessions (everything but luck)."""

    def __init__(self, preset: Preset, profile: Profile, rng: random.Random) -> None:
        assert profile.casino is not None, "a calibrated day needs a profile with casino rules"
        self.preset, self.profile, self.rng = preset, profile, rng
        self.ltr = profile.casino.ltr_threshold
        self.casinos = [
            f"C{c}{chr(ord('A') + j)}"
            for c in range(1, preset.concessionaires + 1)
            for j in range(preset.casinos_per_concessionaire)
        ]

    def wallet(
        self, seg: Segment, ref: str, kind: str, buy_ins_of: Callable[[Limits], list[int]]
    ) -> Session:
        rng, p = self.rng, self.preset
        # planted players and their accomplices: class 1 (identified, a holder, no caps)
        cls = 1 if kind in (*TYPOLOGIES, CONTRIBUTOR, PAYEE) else _choice(rng, seg.wallet_classes)
        limits = self.profile.wallet_limits[cls]
        region = _choice(rng, tuple((c, w) for c, w, _ in p.regions))
        operator = next(op for c, _, op in p.regions if c == region)
        buy_ins = buy_ins_of(limits)
        total = sum(buy_ins)
        fund = total + round(total * rng.uniform(0, p.funding_headroom) / YUAN) * YUAN
        cap = limits.balance_cap
        if cap is not None:  # keep room for a win of at least the buy-in
            fund = max(total, min(fund, cap - total))
        s = Session(
            ref=ref,
            segment=seg.name,
            kind=kind,
            cls=cls,
            region=region,
            operator=operator,
            casino=rng.choice(self.casinos),
            fund=fund,
            buy_ins=buy_ins,
            wagers=[],
        )
        low = -float(p.max_win_multiple * total)
        if cap is not None:
            low = max(low, float(fund - cap))
        s.low = low
        return s

    def plays(self, seg: Segment, s: Session, at_least: int = 1) -> None:
        rng = self.rng
        for _ in range(max(at_least, rng.randint(*seg.plays))):
            stake = s.buy_in * rng.uniform(*seg.bet)
            wager = max(10 * YUAN, int(stake) // (10 * YUAN) * 10 * YUAN)
            # no single play is an LTR: a play records many hands, each far below it
            s.wagers.append(min(wager, (self.ltr - 1) // (10 * YUAN) * 10 * YUAN))
        s.sd = seg.hand_sd * math.sqrt(sum(w * w for w in s.wagers) / seg.hands_per_play)

    def session(self, seg: Segment, ref: str, kind: str) -> Session:
        rng = self.rng
        if kind == "structuring":
            lo, hi = self.preset.typologies["structuring"]["buy_ins"]
            s = self.wallet(
                seg, ref, kind, lambda _: [rng.randint(lo, hi) * YUAN, rng.randint(lo, hi) * YUAN]
            )
            self.plays(seg, s, at_least=2)  # the second buy-in comes between two plays
            s.second_at = len(s.wagers) // 2
            return s
        if kind == "minimal_play":
            t = self.preset.typologies["minimal_play"]
            s = self.wallet(
                seg, ref, kind, lambda _: [rng.randint(*t["buy_in"]) // 100 * 100 * YUAN]
            )
            wager = int(s.buy_in * rng.uniform(*t["wager_share"])) // YUAN * YUAN
            s.wagers = [wager]
            s.result = wager  # one losing play
            return s
        if kind == CONTRIBUTOR:  # buys chips and hands them all to its pooler: no play
            lo, hi = self.preset.typologies["chip_pooling"]["contributor_buy_in"]
            return self.wallet(seg, ref, kind, lambda _: [rng.randint(lo, hi) // 10 * 10 * YUAN])
        median, sigma, low, high = seg.buy_in
        keep = 0
        if kind in ("third_party_payout", "chip_walking"):
            # chips in hand at the end, to be paid to the third party or walked out
            keep = int(self.preset.typologies[kind]["min_chips"]) * YUAN
            low = max(low, 2 * keep)

        def buy_in(limits: Limits) -> list[int]:
            cap = _payment_cap(limits)
            return [_lognormal(rng, median, sigma, low, high if cap is None else min(high, cap))]

        s = self.wallet(seg, ref, kind, buy_in)
        s.keep = keep
        if kind == "short":
            share = rng.uniform(0.05, 0.15)
            s.wagers = [max(10 * YUAN, int(s.buy_in * share) // (10 * YUAN) * 10 * YUAN)]
        else:
            self.plays(seg, s)
        return s

    def payee(self, seg: Segment, ref: str) -> Session:
        """The wallet a third-party payout pays: a holder's that never plays (not a player)."""
        s = self.wallet(seg, ref, PAYEE, lambda _: [])
        s.fund = 0
        return s


def _draw_luck(rng: random.Random, sessions: list[Session]) -> None:
    """Balanced luck: sessions sorted by the size of their luck, in blocks of
    LUCK_BLOCK; each block's draws come one from each of its equal-probability
    strata of the normal distribution, in random order, ..."""
    ordered = sorted(sessions, key=lambda s: (s.sd, s.ref))
    starts = list(range(0, len(ordered), LUCK_BLOCK))
    if len(starts) > 1 and len(ordered) - starts[-1] < LUCK_BLOCK // 2:
        starts.pop()  # a short last block joins the one before
    for i, j in zip(starts, [*starts[1:], len(ordered)], strict=True):
        block = ordered[i:j]
        strata = list(range(len(block)))
        rng.shuffle(strata)
        for s, k in zip(block, strata, strict=True):
            u = (k + rng.random()) / len(block)
            s.z = _NORMAL.inv_cdf(min(max(u, 1e-12), 1 - 1e-12))
        # ... given that the block's luck in fen adds up to nothing: what its
        # winners won by chance its losers lost (a normal's conditional)
        weight = sum(s.sd * s.sd for s in block)
        if weight > 0:
            net = sum(s.sd * s.z for s in block)
            for s in block:
                s.z -= s.sd * net / weight


def _settle(rng: random.Random, s: Session, edge: float) -> None:
    """The session's result from its luck."""
    if s.kind in FIXED:
        return
    if s.kind == "short":
        wager = s.wagers[0]
        s.result = wager if rng.random() < (1 + edge) / 2 else -wager
        return
    value = edge * s.turnover + s.sd * s.z
    value = min(max(value, s.low), float(s.high))
    s.result = round(value / YUAN) * YUAN


def _plays_of(
    rng: random.Random, s: Session, edge: float, hand_sd: float, hands: int
) -> list[tuple[int, int] | None]:
    """(wager, payout) of each play, ending with the chips of the session's
    result: each play's result is drawn given the session's (a normal's
    conditional), then kept within the chips in hand and the stake."""
    k = len(s.wagers)
    sds = [hand_sd * w / math.sqrt(hands) for w in s.wagers]
    raw = [edge * w + sd * rng.gauss(0.0, 1.0) for w, sd in zip(s.wagers, sds, strict=True)]
    var = sum(sd * sd for sd in sds)
    gap = s.result - sum(raw)
    raw = [x + (sd * sd / var if var else 1 / k) * gap for x, sd in zip(raw, sds, strict=True)]
    final = s.buy_in - s.result
    chips = s.buy_ins[0]
    second = s.second_at
    out: list[tuple[int, int] | None] = []
    for j, (plan, x) in enumerate(zip(s.wagers, raw, strict=True)):
        if j == second:
            chips += s.buy_ins[1]
            out.append(None)  # the second buy-in
        if j == k - 1:
            loss = chips - final
            wager = max(min(plan, chips), loss)
        else:
            wager = min(plan, chips)
            loss = min(round(x / YUAN) * YUAN, wager, chips - 10 * YUAN)
        out.append((wager, wager - loss))
        chips -= loss
    assert chips == final, (s.ref, chips, final)
    return out


@dataclass(frozen=True)
class _Rules:
    """What the profile's rules make of the planted patterns."""

    third_party_action: str | None  # "alert" or "refuse"
    contributors: int  # a pooler's contributors
    walking_days: int  # the quiet gaming days after the day (chip walking's)


def _planted_rules(preset: Preset, profile: Profile) -> _Rules:
    """A pattern is planted only where the profile has its rule: its alert (or
    refusal) is how a replay finds it."""
    casino = profile.casino
    assert casino is not None, "a calibrated day needs a profile with casino rules"
    t = preset.typologies
    planted = {k for k, spec in t.items() if float(spec["rate"]) > 0}
    off = [
        k
        for k, setting in (
            ("third_party_payout", casino.third_party_payout_action),
            ("chip_pooling", casino.pooling_min_contributors),
            ("chip_walking", casino.chip_walking_gaming_days),
        )
        if k in planted and setting is None
    ]
    if off:
        raise PresetError(
            f"the profile has no rule for {', '.join(off)}: a planted pattern no rule can "
            "find is not planted (set its rate to 0, or replay under a profile that has it)"
        )
    contributors = 0
    if "chip_pooling" in planted:
        assert casino.pooling_min_contributors is not None
        contributors = int(t["chip_pooling"].get("contributors", casino.pooling_min_contributors))
        if contributors < casino.pooling_min_contributors:
            raise PresetError(
                f"chip_pooling: {contributors} contributors, fewer than the profile's "
                f"min_contributors ({casino.pooling_min_contributors})"
            )
    return _Rules(
        third_party_action=casino.third_party_payout_action,
        contributors=contributors,
        walking_days=(casino.chip_walking_gaming_days or 0) if "chip_walking" in planted else 0,
    )


_REFUSED = {"expect": {"error": THIRD_PARTY_REFUSED}}


def _step(s: Session, action: str, amount: int) -> dict[str, Any]:
    return {"action": action, "casino": s.casino, "player": s.ref, "amount": format_amount(amount)}


@dataclass
class _Tally:
    buy_ins: int = 0
    cash_outs: int = 0
    turnover: int = 0
    payouts: int = 0
    players: set[str] = field(default_factory=set)
    operations: int = 0

    @property
    def ggr(self) -> int:
        return self.turnover - self.payouts

    def figures(self) -> dict[str, str]:
        return {
            "buy_ins": format_amount(self.buy_ins),
            "cash_outs": format_amount(self.cash_outs),
            "turnover": format_amount(self.turnover),
            "payouts": format_amount(self.payouts),
            "ggr": format_amount(self.ggr),
        }


def generate_calibrated(preset_name: str, scale: float, seed: int, out: Path) -> dict:
    """Write a calibrated day (the scenario, its steps, its labels and its
    calibration: ``<stem>.calibration.json``); return its calibration."""
    if not 0 < scale <= 1:
        raise PresetError("--scale must be above 0 and at most 1")
    preset = load_preset(preset_name)
    profile = preset_profile(preset)
    rules = _planted_rules(preset, profile)
    target = targets(preset, scale, profile)
    rng = random.Random(seed)
    planner = _Planner(preset, profile, rng)

    # 1. players and plans, segment by segment; planted players among them (a
    # pooler's contributors are players of its segment too)
    sessions: list[Session] = []
    by_segment: dict[str, list[Session]] = {}
    planted: dict[str, str] = {}
    kinds: dict[str, list[str]] = defaultdict(list)
    for typology, spec in preset.typologies.items():
        rate = float(spec["rate"])
        count = max(1, round(target.players * rate)) if rate > 0 else 0
        kinds[spec["segment"]] += [typology] * count
        if typology == "chip_pooling":
            kinds[spec["segment"]] += [CONTRIBUTOR] * (count * rules.contributors)
    payees: list[Session] = []
    for seg in preset.segments:
        n = target.segment_players[seg.name]
        special = kinds.get(seg.name, [])
        if len(special) > n:
            raise PresetError(
                f"segment {seg.name} has {n} players at scale {scale:g}: too few for the "
                f"{len(special)} its planted patterns need"
            )
        slots = rng.sample(range(n), len(special))
        kind_of = dict(zip(slots, special, strict=True))
        made = []
        for i in range(n):
            ref = f"{seg.name}-{i + 1:06d}"
            kind = kind_of.get(i) or ("short" if rng.random() < seg.short_session_share else "play")
            if kind in TYPOLOGIES:
                planted[ref] = kind
            made.append(planner.session(seg, ref, kind))
            if kind == "third_party_payout":
                made[-1].payee = f"{seg.name}-t{len(payees) + 1:06d}"
                payees.append(planner.payee(seg, made[-1].payee))
        # each pooler's contributors, in order, at its casino
        helpers = iter(x for x in made if x.kind == CONTRIBUTOR)
        for pooler in (x for x in made if x.kind == "chip_pooling"):
            pooler.contributors = [next(helpers) for _ in range(rules.contributors)]
            for helper in pooler.contributors:
                helper.casino = pooler.casino
        by_segment[seg.name] = made
        sessions += made

    # 2. the house edge of each segment; 3. luck, stratified; results
    edges = {}
    for seg in preset.segments:
        group = by_segment[seg.name]
        edges[seg.name] = derive_edge(group, target.segment_ggr[seg.name])
        _draw_luck(rng, [s for s in group if s.kind in DRAWN])
        for s in group:
            _settle(rng, s, edges[seg.name])

    # 4. the steps, in time order
    first, peak, last = preset.arrivals
    day = DayBuilder()
    seg_of = {s.name: s for s in preset.segments}
    casinos: dict[str, _Tally] = {c: _Tally() for c in planner.casinos}
    segments: dict[str, _Tally] = {seg.name: _Tally() for seg in preset.segments}
    flows: dict[str, list[tuple[int, int, int]]] = defaultdict(list)  # casino: (t, order, e-CNY)

    def cage(s: Session, t: int, action: str, extra: dict | None = None, **amounts: int) -> None:
        step: dict[str, Any] = {"action": action, "casino": s.casino, "player": s.ref}
        step |= {k: format_amount(v) for k, v in amounts.items()}
        day.add(t, step | (extra or {}))
        for tally in (casinos[s.casino], segments[s.segment]):
            tally.players.add(s.ref)
            tally.operations += 1
            if action == "buy_in":
                tally.buy_ins += amounts["amount"]
            elif action == "cash_out":
                tally.cash_outs += amounts["amount"]
            else:
                tally.turnover += amounts["wager"]
                tally.payouts += amounts["payout"]
        if action != "play":
            sign = 1 if action == "buy_in" else -1
            flows[s.casino].append((t, len(day.events), sign * amounts["amount"]))

    refused: dict[int, str] = {}  # a refused step's order in the day: its player
    for s in sessions:
        if s.kind == CONTRIBUTOR:
            continue  # with its pooler
        seg = seg_of[s.segment]
        plays = _plays_of(rng, s, edges[s.segment], seg.hand_sd, seg.hands_per_play)
        gaps = [rng.randint(*seg.minutes_between_plays) * 60 + rng.randint(0, 59) for _ in plays]
        if s.kind == "structuring":  # the second buy-in 1-4 hours after the first
            gaps[plays.index(None)] = rng.randint(3600, 4 * 3600)
        length = sum(gaps) + 600
        t = int(rng.triangular(first, last, peak))
        t = start = max(first, min(t, last - length))
        cage(s, t, "buy_in", amount=s.buy_ins[0])
        for gap, play in zip(gaps, plays, strict=True):
            t += gap
            if play is None:
                cage(s, t, "buy_in", amount=s.buy_ins[1])
            else:
                cage(s, t, "play", wager=play[0], payout=play[1])
        chips = s.buy_in - s.result
        end = t + rng.randint(60, 600)  # the cash-out
        if s.kind == "chip_pooling":
            # each contributor buys in during the pooler's session and hands it
            # all its chips before the pooler cashes out
            for helper in s.contributors:
                bought = rng.randint(start, end - 300)
                cage(helper, bought, "buy_in", amount=helper.buy_in)
                handover = {
                    "action": "hand_over_chips",
                    "casino": s.casino,
                    "from_player": helper.ref,
                    "to_player": s.ref,
                    "amount": format_amount(helper.buy_in),
                }
                day.add(rng.randint(bought + 30, end - 30), handover)
                chips += helper.buy_in
        elif s.kind == "chip_walking":  # walks out with a share of its chips
            lo, hi = preset.typologies["chip_walking"]["kept_share"]
            kept = int(chips * rng.uniform(lo, hi)) // (10 * YUAN) * 10 * YUAN
            chips -= min(max(kept, s.keep), chips)
        elif s.kind == "third_party_payout":
            paid = {"pay_to": s.payee}
            if rules.third_party_action == "refuse":  # refused, then cashed out to itself
                refused[len(day.events)] = s.ref
                day.add(end, _step(s, "cash_out", chips) | paid | _REFUSED)
                end += rng.randint(30, 300)
                cage(s, end, "cash_out", amount=chips)
                continue
            cage(s, end, "cash_out", paid, amount=chips)
            continue
        if chips > 0:
            cage(s, end, "cash_out", amount=chips)

    # The float each casino needs: its largest running outflow, and a margin.
    floats = {}
    for c in planner.casinos:
        low = running = 0
        for _, _, amount in sorted(flows[c]):
            running += amount
            low = min(low, running)
        need = -low + max(100_000 * YUAN, -low // 10)
        floats[c] = -(-need // (10_000 * YUAN)) * 10_000 * YUAN

    counts = _write(
        preset,
        target,
        seed,
        out,
        [*sessions, *payees],
        planted,
        day,
        casinos,
        floats,
        refused=refused,
        quiet_days=rules.walking_days,
    )
    calibration = {
        "preset": preset.name,
        "scale": scale,
        "seed": seed,
        "mop_per_cny": str(target.mop_per_cny),
        "targets": {
            "ggr": format_amount(target.ggr),
            "daily_ggr_mop_whole_market": format_amount(target.daily_ggr_mop),
            "shares": {k: str(v) for k, v in target.shares.items()},
            "players": target.players,
            "segment_ggr": {k: format_amount(v) for k, v in target.segment_ggr.items()},
            "segment_players": target.segment_players,
            "tolerance": {
                "ggr_percent": target.tolerance[0],
                "share_points": target.tolerance[1],
            },
        },
        "sources": preset.sources,
        "segments": {
            seg.name: {
                "counts_toward": seg.counts_toward,
                "players": len(segments[seg.name].players),
                "house_edge": round(edges[seg.name], 6),
                **segments[seg.name].figures(),
            }
            for seg in preset.segments
        },
        "concessionaires": {
            f"C{c}": {
                "casinos": mine,
                "players": sum(len(casinos[x].players) for x in mine),
                "ggr": format_amount(sum(casinos[x].ggr for x in mine)),
            }
            for c in range(1, preset.concessionaires + 1)
            for mine in [[x for x in planner.casinos if x[1:-1] == str(c)]]
        },
        "generated": {
            "ggr": format_amount(sum(t.ggr for t in casinos.values())),
            "players": sum(len(t.players) for t in casinos.values()),
            "transactions": sum(t.operations for t in casinos.values()),
            "steps": counts["events"],
            "planted": {k: sum(1 for v in planted.values() if v == k) for k in TYPOLOGIES},
            "pool_contributors": sum(1 for s in sessions if s.kind == CONTRIBUTOR),
            "third_party_payees": len(payees),
            "third_party_payout": rules.third_party_action,
            "quiet_days": rules.walking_days,
        },
    }
    calibration_path(out).write_text(
        json.dumps(calibration, indent=1, sort_keys=False) + "\n", encoding="utf-8"
    )
    return calibration


def calibration_path(out: Path) -> Path:
    """``day.yaml`` -> ``day.calibration.json``."""
    stem = out.name.removesuffix(".yaml").removesuffix(".yml")
    return out.with_name(f"{stem}.calibration.json")


def _write(
    preset: Preset,
    target: Targets,
    seed: int,
    out: Path,
    sessions: list[Session],
    planted: dict[str, str],
    day: DayBuilder,
    casinos: dict[str, _Tally],
    floats: dict[str, int],
    *,
    refused: dict[int, str],
    quiet_days: int,
) -> dict:
    """The steps (wallets, then the cage's operations in time order, then each
    casino's close, then its closes of ``quiet_days`` gaming days without play),
    the labels and the scenario with its expectations."""
    steps_path, labels_path = output_files(out)
    first = preset.arrivals[0]
    start = epoch_day(START)
    issue: defaultdict[str, int] = defaultdict(int)
    events = 0
    with steps_path.open("w", encoding="utf-8") as f:
        for s in sessions:
            wallet: dict[str, Any] = {
                "action": "open_wallet",
                "ref": s.ref,
                "operator": s.operator,
                "class": s.cls,
                "region": s.region,
            }
            if s.cls == 4:
                wallet["phone"] = f"+8536{events + 1:07d}"
            else:
                wallet["holder_id"] = f"h-{s.ref}"
                wallet["birth_date"] = f"{1950 + events % 50}-0{1 + events % 9}-1{events % 10}"
            if s.fund:  # a third party's wallet starts empty
                wallet["fund"] = format_amount(s.fund)
            issue[s.operator] += s.fund
            f.write(json.dumps(wallet, separators=(",", ":")) + "\n")
            events += 1
        clock = first
        day.events.sort(key=lambda e: (e[0], e[1]))
        line_of: dict[str, int] = {}  # a refused step's line in the steps file (1-based)
        for t, order, line in day.events:
            events += 1
            if order in refused:
                line_of[refused[order]] = events
            if t > clock:
                line = f'{{"after":{t - clock},{line[1:]}'
                clock = t
            f.write(line + "\n")
        for k in range(quiet_days + 1):
            close_at = (k + 1) * 86400 + 7 * 3600  # 07:00 the next morning
            for c in sorted(casinos):
                step: dict[str, Any] = {
                    "action": "close_gaming_day",
                    "casino": c,
                    "date": iso_date(start + k),
                }
                if close_at > clock:
                    step["after"] = close_at - clock
                    clock = close_at
                f.write(json.dumps(step, separators=(",", ":")) + "\n")
                events += 1
    with labels_path.open("w", encoding="utf-8") as f:
        for ref, pattern in sorted(planted.items()):
            label: dict[str, Any] = {"wallet": ref, "pattern": pattern}
            if ref in line_of:  # refused, not alerted: found at this step
                label["line"] = line_of[ref]
            f.write(json.dumps(label) + "\n")
    issue[preset.casino_operator] += sum(floats.values())
    codes = sorted({op for _, _, op in preset.regions} | {preset.casino_operator})
    quiet = _Tally()  # a gaming day without play
    gaming_days = [
        {
            "casino": c,
            "date": iso_date(start + k),
            "players": len(tally.players),
            "figures": tally.figures(),
        }
        for k in range(quiet_days + 1)
        for c in sorted(casinos)
        for tally in [casinos[c] if k == 0 else quiet]
    ]
    doc = {
        "name": f"{preset.name}-scale{target.scale:g}-seed{seed}",
        "description": f"A Macau gaming day calibrated to {preset.name} at scale {target.scale:g} "
        f"(ecny scenario generate --calibrate); labels in {labels_path.name}, "
        f"calibration in {calibration_path(out).name}",
        "profile": preset.profile,
        "clock": f"{START}T{first // 3600:02d}:{first % 3600 // 60:02d}:00+08:00",
        "setup": {
            "operators": [
                {
                    "code": code,
                    "reserve": format_amount(2 * issue[code] + 10_000_000 * YUAN),
                    "issue": format_amount(issue[code] + 5_000_000 * YUAN),
                }
                for code in codes
            ],
            "wallets": [
                {
                    "ref": "treasury",
                    "operator": preset.casino_operator,
                    "class": 1,
                    "region": "MO",
                    "kind": "merchant",
                }
            ],
            "casinos": [
                {
                    "ref": c,
                    "name": f"Concessionaire {c[1:-1]} casino {c[-1]}",
                    "operator": preset.casino_operator,
                    "treasury": "treasury",
                    "float": format_amount(floats[c]),
                }
                for c in sorted(casinos)
            ],
        },
        "steps_file": steps_path.name,
        "expect": {"gaming_days": gaming_days, "invariants": True},
    }
    out.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return {"events": events}


# ---- the calibration report --------------------------------------------------------------

CAGE_ACTIONS = ("buy_in", "play", "cash_out")


def replayed(scenario_path: Path, results: dict) -> dict:
    """The day's figures after a replay (``ecny scenario run --json``): GGR and
    players from the gaming-day closes, each segment's GGR from its players'
    wallets (funded, less their balance at the end: what they lost), the cage
    operations that went through, and whether the replay held."""
    from app.scenario.loader import load

    run = results["scenarios"][0]
    final = run["final"]
    scenario = load(scenario_path)
    funds: dict[str, int] = {}
    chips: defaultdict[str, int] = defaultdict(
        int
    )  # held at the end, by the steps that went through
    operations = 0
    outcomes = final.get("steps", [])
    for n, (_, step) in enumerate(scenario.steps()):
        action = step["action"]
        if action == "open_wallet":
            funds[step["ref"]] = parse_amount(step["fund"]) if "fund" in step else 0
            continue
        if n >= len(outcomes) or outcomes[n] != "ok":
            continue
        if action in CAGE_ACTIONS:
            operations += 1
        if action == "buy_in":
            chips[step["player"]] += parse_amount(step["amount"])
        elif action == "cash_out":
            chips[step["player"]] -= parse_amount(step["amount"])
        elif action == "play":
            chips[step["player"]] += parse_amount(step["payout"], allow_zero=True) - parse_amount(
                step["wager"]
            )
        elif action == "hand_over_chips":
            chips[step["from_player"]] -= parse_amount(step["amount"])
            chips[step["to_player"]] += parse_amount(step["amount"])
    by_segment: defaultdict[str, int] = defaultdict(int)
    for ref, fund in funds.items():
        # what the wallet lost, less the chips it still holds (walked out): not lost
        lost = fund - parse_signed_amount(final["balances"][ref]) - chips[ref]
        by_segment[ref.rpartition("-")[0]] += lost
    days = final.get("gaming_days", [])
    casino_ggr: defaultdict[str, int] = defaultdict(int)  # over its closes (quiet days: none)
    for d in days:
        casino_ggr[d["casino"]] += parse_signed_amount(d["figures"]["ggr"])
    closes = [c for c in run["checks"] if c["what"].startswith("gaming day ")]
    return {
        "ggr": sum(parse_signed_amount(d["figures"]["ggr"]) for d in days),
        "players": sum(d["players"] for d in days),
        "transactions": operations,
        "segment_ggr": dict(by_segment),
        "casino_ggr": dict(casino_ggr),
        "ok": run["ok"],
        "closes_agree": bool(closes) and all(c["ok"] for c in closes),
        "reconciled": final.get("invariants"),
    }


def report(calibration: dict, after_replay: dict | None = None) -> dict:
    """The day's figures beside the preset's targets: after generating, or
    (``after_replay``, from :func:`replayed`) after replaying."""
    t = calibration["targets"]
    segs = calibration["segments"]
    if after_replay is None:
        seg_ggr = {k: parse_signed_amount(v["ggr"]) for k, v in segs.items()}
        ggr = parse_signed_amount(calibration["generated"]["ggr"])
        players = calibration["generated"]["players"]
        transactions = calibration["generated"]["transactions"]
    else:
        seg_ggr = {k: after_replay["segment_ggr"].get(k, 0) for k in segs}
        ggr = after_replay["ggr"]
        players = after_replay["players"]
        transactions = after_replay["transactions"]
    target_ggr = parse_amount(t["ggr"])
    tol_pct, tol_pts = t["tolerance"]["ggr_percent"], t["tolerance"]["share_points"]
    rate = Decimal(calibration["mop_per_cny"])
    rows = []
    diff = 100 * (ggr - target_ggr) / target_ggr
    rows.append(
        {
            "figure": "GGR (CNY)",
            "target": format_amount(target_ggr),
            "actual": format_amount(ggr),
            "difference": f"{diff:+.2f}%",
            "tolerance": f"±{tol_pct:.2f}%",
            "ok": abs(diff) <= tol_pct,
        }
    )
    mop = int((Decimal(ggr) * rate).to_integral_value(ROUND_HALF_UP))
    whole_day_mop = Decimal(parse_amount(t["daily_ggr_mop_whole_market"]))
    target_mop = int((whole_day_mop * Decimal(str(calibration["scale"]))).to_integral_value())
    rows.append(
        {
            "figure": f"GGR (MOP at {rate})",
            "target": format_amount(target_mop),
            "actual": format_amount(mop),
            "difference": f"{diff:+.2f}%",
            "tolerance": "",
            "ok": None,
        }
    )
    for group, share in t["shares"].items():
        members = [k for k in segs if segs[k]["counts_toward"] == group]
        part = sum(seg_ggr[k] for k in members)
        total = sum(seg_ggr.values())
        actual = 100 * part / total if total > 0 else math.nan  # no share of a loss
        points = actual - 100 * float(share)
        rows.append(
            {
                "figure": f"share {group}" + (" (derived)" if group == REMAINDER else ""),
                "target": f"{100 * float(share):.2f}%",
                "actual": f"{actual:.2f}%" if total > 0 else "-",
                "difference": f"{points:+.2f} pt" if total > 0 else "-",
                "tolerance": f"±{tol_pts:.2f} pt",
                "ok": total > 0 and abs(points) <= tol_pts,
            }
        )
    rows.append(
        {
            "figure": "players",
            "target": str(t["players"]),
            "actual": str(players),
            "difference": f"{players - t['players']:+d}",
            "tolerance": "exact",
            "ok": players == t["players"],
        }
    )
    generated_ops = calibration["generated"]["transactions"]
    rows.append(
        {
            "figure": "transactions (cage operations)",
            "target": f"{generated_ops} generated" if after_replay else "none published",
            "actual": str(transactions),
            "difference": f"{transactions - generated_ops:+d}" if after_replay else "",
            "tolerance": "exact" if after_replay else "",
            "ok": transactions == generated_ops if after_replay else None,
        }
    )
    segments = [
        {
            "segment": k,
            "counts_toward": v["counts_toward"],
            "players": v["players"],
            "target_ggr": t["segment_ggr"][k],
            "ggr": format_amount(seg_ggr[k]),
            "house_edge": v["house_edge"],
            "turnover": v["turnover"],
        }
        for k, v in segs.items()
    ]
    concessionaires = [
        {"concessionaire": k, **v} for k, v in calibration.get("concessionaires", {}).items()
    ]
    if after_replay is not None:  # their GGR as their casinos' closes found it
        for c in concessionaires:
            c["ggr"] = format_amount(
                sum(after_replay["casino_ggr"].get(x, 0) for x in c["casinos"])
            )
    out = {
        "preset": calibration["preset"],
        "scale": calibration["scale"],
        "seed": calibration["seed"],
        "stage": "replayed" if after_replay else "generated",
        "rows": rows,
        "segments": segments,
        "concessionaires": concessionaires,
        "ok": all(r["ok"] is not False for r in rows),
    }
    if after_replay is not None:
        out["replay"] = {k: after_replay[k] for k in ("ok", "closes_agree", "reconciled")}
        out["ok"] = out["ok"] and all(out["replay"].values())
    return out


def report_text(rep: dict) -> str:
    lines = [
        f"calibration {rep['preset']} at scale {rep['scale']:g}, seed {rep['seed']} "
        f"({rep['stage']}): {'within tolerance' if rep['ok'] else 'OUT OF TOLERANCE'} "
        f"({sum(r['ok'] is not None for r in rep['rows'])} figures checked)",
        f"  {'figure':34} {'target':>18} {'actual':>18} {'difference':>11} {'tolerance':>10}",
    ]
    for r in rep["rows"]:
        mark = {True: "", False: "  <- out", None: ""}[r["ok"]]
        lines.append(
            f"  {r['figure']:34} {r['target']:>18} {r['actual']:>18} {r['difference']:>11} "
            f"{r['tolerance']:>10}{mark}"
        )
    lines.append(
        f"  {'segment':14} {'share of':14} {'players':>8} {'target GGR':>15} {'GGR':>15} "
        f"{'house edge':>10} {'turnover':>16}"
    )
    for s in rep["segments"]:
        lines.append(
            f"  {s['segment']:14} {s['counts_toward']:14} {s['players']:>8} {s['target_ggr']:>15} "
            f"{s['ggr']:>15} {100 * s['house_edge']:>9.2f}% {s['turnover']:>16}"
        )
    for c in rep["concessionaires"]:
        lines.append(
            f"  concessionaire {c['concessionaire']} ({', '.join(c['casinos'])}): "
            f"{c['players']} players, GGR {c['ggr']} (no published split)"
        )
    if "replay" in rep:
        r = rep["replay"]
        lines.append(
            f"  replay: {'passed' if r['ok'] else 'FAILED'}; gaming-day closes agree with the "
            f"generator: {'yes' if r['closes_agree'] else 'NO'}; ledger reconciled: "
            f"{'yes' if r['reconciled'] else 'NO'}"
        )
    return "\n".join(lines)
