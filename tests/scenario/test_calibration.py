"""A calibrated Macau day (issue 23): the preset's published figures and their
sources, generated days at scale 0.001 and 0.01 within the report's
tolerances, the same seed giving the same bytes, and a small replayed day that
reconciles, whose gaming-day closes agree with the generator's totals and
whose planted patterns are found. The planted patterns (structuring, minimal
play, third-party payouts, chip pooling, chip walking) come at the preset's
rates, each as its rule reads it, and follow the profile: a third-party
payout under a refusing profile is an expected refusal, found by it."""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.cli import main
from app.scenario import calibration as calibration_module
from app.scenario.calibration import (
    TYPOLOGIES,
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

SHIPPED_PRESETS = calibration_module.PRESET_DIR


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
    """Each casino's figures, summed from the steps file itself (a step
    expected to be refused moves nothing)."""
    days: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    players: dict[str, set] = defaultdict(set)
    for line in steps_path.read_text().splitlines():
        s = json.loads(line)
        if s["action"] not in ("buy_in", "play", "cash_out") or "error" in s.get("expect", {}):
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
    day = doc["clock"][:10]
    expected = {d["casino"]: d for d in doc["expect"]["gaming_days"] if d["date"] == day}
    assert set(expected) == {f"C{c}{x}" for c in range(1, 7) for x in "AB"}
    # chip walking: three gaming days without play follow, every casino closing each
    quiet = [d for d in doc["expect"]["gaming_days"] if d["date"] != day]
    assert sorted({d["date"] for d in quiet}) == ["2026-03-03", "2026-03-04", "2026-03-05"]
    assert len(quiet) == 3 * 12 and all(d["players"] == 0 for d in quiet)
    assert all(parse_signed_amount(v) == 0 for d in quiet for v in d["figures"].values())
    ggr = 0
    for casino, d in expected.items():
        got = summed[casino]
        for k in ("buy_ins", "cash_outs", "turnover", "payouts"):
            assert parse_amount(d["figures"][k], allow_zero=True) == got[k], (casino, k)
        assert d["players"] == got["players"]
        ggr += got["turnover"] - got["payouts"]
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
    # Planted at the preset's rates (at least one each), as the calibration says.
    labels = [json.loads(x) for x in out.with_name("day.labels.jsonl").read_text().splitlines()]
    preset = load_preset("macau-2024")
    want = {k: max(1, round(t["players"] * float(v["rate"]))) for k, v in preset.typologies.items()}
    assert set(want) == set(TYPOLOGIES)
    got = {k: sum(1 for x in labels if x["pattern"] == k) for k in TYPOLOGIES}
    assert got == want == calibration["generated"]["planted"]
    _check_planted(out, labels, preset)
    assert min(s["house_edge"] for s in calibration["segments"].values()) > 0
    load(out)  # the files validate


def _check_planted(out: Path, labels: list[dict], preset) -> None:
    """Each planted pattern is in the steps as its rule reads it."""
    steps = [json.loads(x) for x in out.with_name("day.steps.jsonl").read_text().splitlines()]
    of = {x["wallet"]: x["pattern"] for x in labels}
    wallets = {s["ref"]: s for s in steps if s["action"] == "open_wallet"}
    cage = [s for s in steps if "player" in s or "from_player" in s]
    chips: dict[str, int] = defaultdict(int)
    bought: dict[tuple[str, str], int] = defaultdict(int)  # casino, wallet
    for s in cage:
        if s["action"] == "buy_in":
            chips[s["player"]] += parse_amount(s["amount"])
            bought[s["casino"], s["player"]] += 1
        elif s["action"] == "play":
            chips[s["player"]] += parse_amount(s["payout"], allow_zero=True)
            chips[s["player"]] -= parse_amount(s["wager"])
        elif s["action"] == "cash_out":
            chips[s["player"]] -= parse_amount(s["amount"])
        else:
            chips[s["from_player"]] -= parse_amount(s["amount"])
            chips[s["to_player"]] += parse_amount(s["amount"])
    # third-party payouts: the cash-out is paid to a wallet that never buys in, nor is funded
    third = [s for s in cage if s.get("pay_to")]
    assert sorted(s["player"] for s in third) == sorted(
        w for w, p in of.items() if p == "third_party_payout"
    )
    for s in third:
        assert "fund" not in wallets[s["pay_to"]]
        assert not any(p == s["pay_to"] for (_, p) in bought)
    # pooling: each pooler is handed all the chips of `contributors` other
    # holders who bought in at its casino, before its cash-out; nobody else is
    handovers = [s for s in cage if s["action"] == "hand_over_chips"]
    poolers = sorted(w for w, p in of.items() if p == "chip_pooling")
    contributors = preset.typologies["chip_pooling"]["contributors"]
    assert sorted({s["to_player"] for s in handovers}) == poolers
    for pooler in poolers:
        mine = [i for i, s in enumerate(cage) if s.get("to_player") == pooler]
        givers = {cage[i]["from_player"] for i in mine}
        assert len(givers) == len(mine) == contributors and pooler not in givers
        cash_out = max(i for i, s in enumerate(cage) if s.get("player") == pooler)
        assert cage[cash_out]["action"] == "cash_out" and max(mine) < cash_out
        assert {cage[i]["casino"] for i in mine} == {cage[cash_out]["casino"]}
        assert all(chips[g] == 0 and g not in of for g in givers)
    # chip walking: the walkers end with at least min_chips; every other player with none
    walkers = {w for w, p in of.items() if p == "chip_walking"}
    floor = preset.typologies["chip_walking"]["min_chips"] * 100
    assert {w for w, c in chips.items() if c} == walkers
    assert all(chips[w] >= floor for w in walkers)


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


def test_a_replayed_day_reconciles_agrees_with_the_generator_and_is_scored(tmp_path, database_url):
    out = tmp_path / "day.yaml"
    generated = generate_calibrated("macau-2024", 0.001, 3, out)  # 96 players, 933 steps
    results = tmp_path / "results.json"
    r = run_cli("run", str(out), "--database-url", database_url, "--json", str(results))
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
    assert {k: scores[k]["labelled"] for k in TYPOLOGIES} == generated["generated"]["planted"]
    assert all(scores[k]["recall"] == 1.0 for k in TYPOLOGIES), scores
    # exact rules: only the planted patterns can raise them (no honest player
    # pays a third party, is handed chips or leaves with chips); minimal play's
    # false positives are honest short visits
    for k in ("structuring", "third_party_payout", "chip_pooling", "chip_walking"):
        assert scores[k]["precision"] == 1.0, (k, scores[k])
    walked = [a for a in outcome["scenarios"][0]["final"]["alerts"] if a[0] == "chip_walking"]
    assert [a[1] for a in walked] != [] and all(a[4] == "open" for a in walked)
    days = outcome["scenarios"][0]["final"]["gaming_days"]
    assert {d["date"] for d in days} == {"2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"}


def _preset_variant(tmp_path, monkeypatch, name: str, change) -> str:
    """A copy of macau-2024 under another name, changed, in a preset directory of its own."""
    doc = yaml.safe_load((SHIPPED_PRESETS / "macau-2024.yaml").read_text())
    doc["name"] = name
    change(doc)
    presets = tmp_path / "presets"
    presets.mkdir(exist_ok=True)
    (presets / f"{name}.yaml").write_text(yaml.safe_dump(doc))
    monkeypatch.setattr(calibration_module, "PRESET_DIR", presets)
    return name


def test_under_a_profile_that_refuses_third_party_payouts_the_step_expects_the_refusal(
    tmp_path, monkeypatch
):
    """The generator and the scorer under a refusing profile, replayed on the
    runner's own fresh database (SQLite: the refusal is the cage's, the same on
    PostgreSQL, where the calibrated day above is replayed too)."""

    def refuse(doc):
        doc["profile"] = {
            "name": "macau-refusing",
            "extends": "macau",
            "casino": {"third_party_payout": {"action": "refuse"}},
        }

    name = _preset_variant(tmp_path, monkeypatch, "macau-refusing", refuse)
    out = tmp_path / "day.yaml"
    generated = generate_calibrated(name, 0.0005, 3, out)  # 48 players: one of each pattern
    assert generated["generated"]["third_party_payout"] == "refuse"
    steps = out.with_name("day.steps.jsonl").read_text().splitlines()
    labels = [json.loads(x) for x in out.with_name("day.labels.jsonl").read_text().splitlines()]
    (third,) = [x for x in labels if x["pattern"] == "third_party_payout"]
    attempt = json.loads(steps[third["line"] - 1])
    assert attempt["player"] == third["wallet"] and attempt["pay_to"]
    assert attempt["expect"] == {"error": "third_party_payout_refused"}
    # then the chips are cashed out to the player's own wallet
    after = [json.loads(x) for x in steps[third["line"] :]]
    own = next(s for s in after if s.get("player") == third["wallet"])
    assert (
        own["action"] == "cash_out" and own["amount"] == attempt["amount"] and "pay_to" not in own
    )
    results = tmp_path / "results.json"
    r = run_cli("run", str(out), "--json", str(results))
    assert r.exit_code == 0, r.output  # the refusal came, and every close agreed
    outcome = json.loads(results.read_text())
    final = outcome["scenarios"][0]["final"]
    assert final["steps"][third["line"] - 1] == "third_party_payout_refused"
    assert final["balances"][attempt["pay_to"]] == "0.00"  # the third party got nothing
    assert not [a for a in final["alerts"] if a[0] == "third_party_payout"]
    after_replay = replayed(out, outcome)
    assert after_replay["transactions"] == generated["generated"]["transactions"]
    assert {k: format_amount(v) for k, v in after_replay["segment_ggr"].items()} == {
        k: v["ggr"] for k, v in generated["segments"].items()
    }
    scores = score(out.with_name("day.labels.jsonl"), outcome)
    assert scores["third_party_payout"] == {
        "labelled": 1,
        "alerted": 1,
        "true_positives": 1,
        "precision": 1.0,
        "recall": 1.0,
    }
    # a refusal at a step no label names is a false positive
    final["steps"][0] = "third_party_payout_refused"
    assert (
        score(out.with_name("day.labels.jsonl"), outcome)["third_party_payout"]["precision"] == 0.5
    )


def test_a_pattern_is_planted_only_where_the_profile_has_its_rule(tmp_path, monkeypatch):
    def few(doc):
        doc["typologies"]["chip_pooling"]["contributors"] = 1

    name = _preset_variant(tmp_path, monkeypatch, "macau-few", few)
    with pytest.raises(PresetError, match="fewer than the profile's min_contributors"):
        generate_calibrated(name, 0.001, 1, tmp_path / "a.yaml")

    without_walking = copy.deepcopy(load_profile("macau").raw)
    del without_walking["casino"]["chip_walking"]
    without_walking["name"] = "macau-nowalk"

    def no_walking_rule(doc):  # a profile document of the preset's own, without the rule
        doc["profile"] = without_walking

    name = _preset_variant(tmp_path, monkeypatch, "macau-nowalk", no_walking_rule)
    with pytest.raises(PresetError, match="no rule for chip_walking"):
        generate_calibrated(name, 0.001, 1, tmp_path / "b.yaml")

    def off(doc):
        doc["profile"] = without_walking
        doc["typologies"]["chip_walking"]["rate"] = 0

    name = _preset_variant(tmp_path, monkeypatch, "macau-off", off)
    calibration = generate_calibrated(name, 0.001, 1, tmp_path / "c.yaml")
    assert calibration["generated"]["planted"]["chip_walking"] == 0
    assert calibration["generated"]["quiet_days"] == 0  # no days without play follow
    doc = yaml.safe_load((tmp_path / "c.yaml").read_text())
    assert {d["date"] for d in doc["expect"]["gaming_days"]} == {"2026-03-02"}

    def crowded(doc):
        doc["typologies"]["structuring"]["rate"] = 0.5

    name = _preset_variant(tmp_path, monkeypatch, "macau-crowded", crowded)
    with pytest.raises(PresetError, match="too few"):
        generate_calibrated(name, 0.001, 1, tmp_path / "d.yaml")


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 10_000), scale=st.sampled_from([0.0005, 0.001, 0.002, 0.004]))
def test_any_seed_plants_each_pattern_at_its_rate_as_its_rule_reads_it(tmp_path, seed, scale):
    out = tmp_path / f"{seed}-{scale}" / "day.yaml"
    out.parent.mkdir()
    calibration = generate_calibrated("macau-2024", scale, seed, out)
    preset = load_preset("macau-2024")
    players = calibration["targets"]["players"]
    want = {k: max(1, round(players * float(v["rate"]))) for k, v in preset.typologies.items()}
    labels = [json.loads(x) for x in out.with_name("day.labels.jsonl").read_text().splitlines()]
    assert {k: sum(1 for x in labels if x["pattern"] == k) for k in TYPOLOGIES} == want
    contributors = preset.typologies["chip_pooling"]["contributors"]
    assert calibration["generated"]["pool_contributors"] == want["chip_pooling"] * contributors
    assert calibration["generated"]["players"] == players  # accomplices are players too
    _check_planted(out, labels, preset)


def test_a_typology_without_its_settings_is_refused(tmp_path, monkeypatch):
    def bare(doc):
        del doc["typologies"]["chip_walking"]["kept_share"]

    name = _preset_variant(tmp_path, monkeypatch, "macau-bare", bare)
    with pytest.raises(PresetError, match="typology chip_walking: no kept_share"):
        load_preset(name)
