"""A calibrated Macau day (issue 23): the preset's published figures and their
sources, generated days at scale 0.001 and 0.01 within the report's
tolerances, the same seed giving the same bytes, and a small replayed day that
reconciles, whose gaming-day closes agree with the generator's totals and
whose planted patterns are found."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from app.cli import main
from app.scenario.calibration import (
    PresetError,
    calibration_path,
    generate_calibrated,
    load_preset,
    replayed,
    report,
    targets,
)
from app.scenario.generate import score
from app.scenario.loader import load
from wallets.ledger.money import format_amount, parse_amount, parse_signed_amount
from wallets.rules.profile import load_profile


def run_cli(*args: str):
    return CliRunner().invoke(main, ["scenario", *args])


def test_the_preset_holds_the_published_figures_with_their_sources():
    preset = load_preset("macau-2024")
    assert preset.ggr_mop == parse_amount("226780000000.00")
    assert preset.shares == {
        "mass_baccarat": Decimal("0.608"),
        "vip_baccarat": Decimal("0.241"),
        "slots": Decimal("0.057"),
        "other_games": Decimal("0.094"),  # the remainder, derived
    }
    assert preset.concessionaires == 6 and preset.visitor_arrivals == 35_000_000
    assert all("DOMAIN.md" in v for k, v in preset.sources.items() if k != "share:other_games")
    assert preset.sources["share:other_games"].startswith("derived")
    t = targets(preset, 1.0, load_profile("macau"))
    # MOP 226.78 billion over 2024's 366 days: about MOP 620 million a day (DOMAIN.md §3)
    assert format_amount(t.daily_ggr_mop) == "619617486.34"
    assert t.mop_per_cny == Decimal("1.10")  # the profile's rate
    assert t.players == 95_628  # about 96,000 visitor arrivals a day
    assert sum(t.segment_players.values()) == t.players
    assert abs(sum(t.segment_ggr.values()) - t.ggr) <= len(t.segment_ggr)
    assert t.tolerance == (2.0, 1.0)
    with pytest.raises(PresetError, match="unknown preset"):
        load_preset("macau-1999")


def _figures_of_steps(steps_path: Path) -> dict[str, dict]:
    """Each casino's figures, summed from the steps file itself."""
    days: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    players: dict[str, set] = defaultdict(set)
    for line in steps_path.read_text().splitlines():
        s = json.loads(line)
        if s["action"] not in ("buy_in", "play", "cash_out"):
            continue
        d = days[s["casino"]]
        players[s["casino"]].add(s["player"])
        if s["action"] == "play":
            d["turnover"] += parse_amount(s["wager"])
            d["payouts"] += parse_amount(s["payout"], allow_zero=True)
        else:
            d[s["action"] + "s"] += parse_amount(s["amount"])
    return {c: dict(d) | {"players": len(players[c])} for c, d in days.items()}


@pytest.mark.parametrize("scale", [0.001, 0.01])
def test_a_generated_day_meets_the_preset_within_the_tolerances(tmp_path, scale):
    out = tmp_path / "day.yaml"
    r = run_cli("generate", "--calibrate", "macau-2024", "--scale", str(scale), "--out", str(out))
    assert r.exit_code == 0, r.output
    assert "within tolerance" in r.output
    calibration = json.loads(calibration_path(out).read_text())
    rep = report(calibration)
    assert rep["ok"], rep
    t = calibration["targets"]
    tol_pct, tol_pts = t["tolerance"]["ggr_percent"], t["tolerance"]["share_points"]
    assert tol_pct == pytest.approx(2.0 / scale**0.5)
    # The generator's GGR is what its steps add up to, casino by casino, and
    # what the scenario expects each gaming-day close to find.
    doc = yaml.safe_load(out.read_text())
    summed = _figures_of_steps(out.with_name("day.steps.jsonl"))
    expected = {d["casino"]: d for d in doc["expect"]["gaming_days"]}
    assert set(expected) == {f"C{c}{x}" for c in range(1, 7) for x in "AB"}
    ggr = 0
    for casino, d in expected.items():
        got = summed[casino]
        for k in ("buy_ins", "cash_outs", "turnover", "payouts"):
            assert parse_amount(d["figures"][k], allow_zero=True) == got[k], (casino, k)
        assert d["players"] == got["players"]
        ggr += got["turnover"] - got["payouts"]
        assert got["turnover"] - got["payouts"] == got["buy_ins"] - got["cash_outs"]
    assert format_amount(ggr) == calibration["generated"]["ggr"]
    # Six concessionaires (DOMAIN.md §3), two casinos each, their GGR the day's.
    groups = calibration["concessionaires"]
    assert [len(g["casinos"]) for g in groups.values()] == [2] * 6
    assert sum(parse_signed_amount(g["ggr"]) for g in groups.values()) == ggr
    target = parse_amount(t["ggr"])
    assert abs(ggr - target) <= target * tol_pct / 100
    seg_ggr = {k: parse_signed_amount(v["ggr"]) for k, v in calibration["segments"].items()}
    assert sum(seg_ggr.values()) == ggr
    for group, share in t["shares"].items():
        part = sum(
            g for k, g in seg_ggr.items() if calibration["segments"][k]["counts_toward"] == group
        )
        assert abs(100 * part / ggr - 100 * float(share)) <= tol_pts, group
    assert (
        calibration["generated"]["players"]
        == t["players"]
        == sum(d["players"] for d in expected.values())
    )
    # Planted at the preset's rates (0.5% of the players each, at least one).
    labels = [json.loads(x) for x in out.with_name("day.labels.jsonl").read_text().splitlines()]
    want = max(1, round(t["players"] * 0.005))
    assert sorted(x["pattern"] for x in labels) == ["minimal_play"] * want + ["structuring"] * want
    assert min(s["house_edge"] for s in calibration["segments"].values()) > 0
    load(out)  # the files validate


def test_the_same_seed_writes_the_same_bytes(tmp_path):
    a, b, c = (tmp_path / n / "day.yaml" for n in "abc")
    for p in (a, b, c):
        p.parent.mkdir()
    generate_calibrated("macau-2024", 0.001, 7, a)
    generate_calibrated("macau-2024", 0.001, 7, b)
    generate_calibrated("macau-2024", 0.001, 8, c)
    names = ("day.yaml", "day.steps.jsonl", "day.labels.jsonl", "day.calibration.json")
    for name in names:
        assert (a.parent / name).read_bytes() == (b.parent / name).read_bytes(), name
    assert (a.parent / "day.steps.jsonl").read_bytes() != (
        c.parent / "day.steps.jsonl"
    ).read_bytes()


def test_calibrate_takes_no_workload_knobs_and_names_its_presets(tmp_path):
    out = str(tmp_path / "d.yaml")
    r = run_cli("generate", "--calibrate", "macau-2024", "--players", "5", "--out", out)
    assert r.exit_code == 2 and "--calibrate sets the players" in r.output
    r = run_cli("generate", "--calibrate", "nowhere", "--out", out)
    assert r.exit_code == 2 and "macau-2024" in r.output
    r = run_cli("calibration", str(Path(__file__)))
    assert r.exit_code == 2 and "not a calibrated day" in r.output


def test_a_replayed_day_reconciles_agrees_with_the_generator_and_is_scored(
    tmp_path, sqlite_template
):
    out = tmp_path / "day.yaml"
    generated = generate_calibrated("macau-2024", 0.0005, 3, out)  # 48 players, 450 steps
    db = tmp_path / "db.sqlite3"
    shutil.copy(sqlite_template, db)
    results = tmp_path / "results.json"
    r = run_cli("run", str(out), "--database-url", f"sqlite:///{db}", "--json", str(results))
    assert r.exit_code == 0, r.output  # every close's figures and the invariants held
    outcome = json.loads(results.read_text())
    after = replayed(out, outcome)
    assert after["ok"] and after["closes_agree"] and after["reconciled"] is True
    # The ledger's own figures: the closes' GGR, and each segment's from its
    # players' wallets, are the generator's to the fen.
    assert format_amount(after["ggr"]) == generated["generated"]["ggr"]
    assert {k: format_amount(v) for k, v in after["segment_ggr"].items()} == {
        k: v["ggr"] for k, v in generated["segments"].items()
    }
    assert after["players"] == generated["targets"]["players"]
    assert after["transactions"] == generated["generated"]["transactions"]
    printed = run_cli("calibration", str(out), "--results", str(results))
    assert printed.exit_code == 0, printed.output
    assert "(replayed): within tolerance" in printed.output
    assert "gaming-day closes agree with the generator: yes" in printed.output
    as_replayed = report(generated, after)["concessionaires"]
    assert as_replayed == report(generated)["concessionaires"]  # the closes' GGR, per group
    scores = score(out.with_name("day.labels.jsonl"), outcome)
    assert scores["structuring"]["recall"] == 1.0 and scores["minimal_play"]["recall"] == 1.0
    assert scores["structuring"]["precision"] == 1.0
