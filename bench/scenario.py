"""Scenario replay: a calibrated Macau day (``ecny scenario generate --calibrate
macau-2024``) replayed in-process by the scenario runner (``ecny scenario run``):
every step an API call through the Flask app, on a fresh SQLite file, with
every rule on and every expectation checked.

The target is absolute: 1,000,000 events in at most 60 s, that is at least
16,667 events/s. A whole Macau day (scale 1) is the target's natural size,
about 860,000 steps; the size is 1,000,000 events times ECNY_BENCH_SCALE, or
ECNY_BENCH_SCENARIO_EVENTS when set, and the day's scale follows from it (at
most 1). The full size takes hours at the rates of docs/performance.md, so the
rate is what is compared, whatever the size.
"""

from __future__ import annotations

import os
from pathlib import Path

from app.scenario.calibration import generate_calibrated
from app.scenario.loader import load
from app.scenario.report import fresh_sandbox, replay

from .common import Result, Timer, log, scaled

EVENTS = 1_000_000
TARGET_SECONDS = 60
PRESET = "macau-2024"
# The steps of a whole day of the preset (scale 1, seed 1: 859,681).
STEPS_AT_SCALE_1 = 860_000


def size() -> int:
    override = os.environ.get("ECNY_BENCH_SCENARIO_EVENTS")
    return int(override) if override else scaled(EVENTS, minimum=2_000)


def run(workdir: Path) -> list[Result]:
    wanted = size()
    scale = min(1.0, wanted / STEPS_AT_SCALE_1)
    out = workdir / "day.yaml"
    generated = generate_calibrated(PRESET, scale, 1, out)["generated"]
    counts = {"players": generated["players"], "events": generated["steps"]}
    events = counts["events"]
    log(
        f"scenario: {PRESET} at scale {scale:.4g}, {counts['players']:,} players, {events:,} events; replaying"
    )
    scenario = load(out)
    with fresh_sandbox() as client, Timer() as t:
        result = replay(scenario, client)
    if not result.ok:
        failed = "; ".join(f"{c.where}: {c.what}" for c in result.failed[:3])
        raise RuntimeError(f"the replay failed: {result.aborted or failed}")
    rate = result.steps / t.elapsed
    needed = EVENTS / TARGET_SECONDS
    projected = EVENTS / rate
    log(f"scenario: {result.steps:,} steps in {t.elapsed:.1f} s ({rate:,.0f}/s)")
    return [
        Result(
            "scenario_replay",
            rate,
            "events/s",
            target=f"1,000,000 events in <= {TARGET_SECONDS} s (>= {needed:,.0f} events/s)",
            met=rate >= needed,
            notes=(
                f"{result.steps:,} events ({PRESET} at scale {scale:.4g}, {counts['players']:,} "
                f"players) in {t.elapsed:.1f} s;"
                f" 1,000,000 at this rate: {projected:,.0f} s"
            ),
            extra={
                "events": result.steps,
                "players": counts["players"],
                "preset": PRESET,
                "scale": scale,
                "seconds": round(t.elapsed, 2),
                "projected_seconds_for_1m": round(projected),
                "expectations_checked": result.expectations,
                "digest": result.digest,
            },
        )
    ]
