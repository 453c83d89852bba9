"""Scenarios: replay, generate, score (`ecny scenario ...`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


@click.group()
def scenario() -> None:
    """Scenario replay and synthetic casino workloads (docs/scenarios.md)."""


@scenario.command("run")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--url", help="Replay against this live server (needs --key, an admin key).")
@click.option("--key", envvar="ECNY_ADMIN_KEY", help="The admin key for --url.")
@click.option(
    "--database-url",
    envvar="ECNY_SCENARIO_DATABASE_URL",
    help="In-process: an empty database to migrate and use instead of a temp SQLite file.",
)
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False), help="Write JUnit XML.")
@click.option(
    "--json", "json_path", type=click.Path(dir_okay=False), help="Write the results as JSON."
)
def scenario_run(files, url, key, database_url, junit_path, json_path) -> None:
    """Validate every FILE, then replay each through the API and check its expectations."""
    from app.client import Client
    from app.scenario import report
    from app.scenario.loader import ScenarioError, load

    if url and not key:
        raise click.UsageError("--url needs --key (an admin key)")
    try:
        scenarios = [load(f) for f in files]
    except ScenarioError as e:
        click.echo(f"scenario refused, nothing was run:\n{e}", err=True)
        sys.exit(2)
    results = []
    for sc in scenarios:
        if url:
            results.append(report.replay(sc, Client.http(url, key), progress=True))
        else:
            with report.fresh_sandbox(database_url) as client:
                results.append(report.replay(sc, client, progress=True))
        click.echo(report.text(results[-1]))
    if junit_path:
        report.write_junit(results, junit_path)
    if json_path:
        report.write_json(results, json_path)
    failed = [r.name for r in results if not r.ok]
    click.echo(f"{len(results) - len(failed)} of {len(results)} scenarios passed")
    sys.exit(1 if failed else 0)


def _plant(text: str | None) -> dict[str, int]:
    plant = {"structuring": 3, "minimal_play": 3}
    for part in filter(None, (text or "").split(",")):
        rule, _, count = part.partition("=")
        if rule not in plant or not count.isdigit():
            raise click.BadParameter(
                f"{part!r}: use structuring=K,minimal_play=K", param_hint="--plant"
            )
        plant[rule] = int(count)
    return plant


@scenario.command("generate")
@click.option(
    "--players", type=click.IntRange(1), help="Players (default 200; not with --calibrate)."
)
@click.option("--days", type=click.IntRange(1), help="Days (default 1; not with --calibrate).")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--plant", help="Planted patterns, e.g. structuring=3,minimal_play=3 (the default).")
@click.option(
    "--calibrate",
    "preset",
    metavar="PRESET",
    help="A day calibrated to a preset's published figures, e.g. macau-2024 (docs/scenarios.md).",
)
@click.option(
    "--scale",
    type=click.FloatRange(0, 1, min_open=True),
    default=1.0,
    show_default=True,
    help="With --calibrate: the share of a whole day of the market (0.01 for CI).",
)
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The scenario (YAML).")
def scenario_generate(players, days, seed, plant, preset, scale, out) -> None:
    """Write a synthetic casino workload: OUT, OUT's .steps.jsonl and .labels.jsonl
    (and, calibrated, .calibration.json with its report)."""
    import time

    from app.scenario.calibration import PresetError, generate_calibrated, report, report_text
    from app.scenario.generate import Workload, generate

    started = time.perf_counter()
    if preset:
        if players or days or plant:
            raise click.UsageError("--calibrate sets the players, days and planted patterns")
        try:
            calibration = generate_calibrated(preset, scale, seed, Path(out))
        except PresetError as e:
            raise click.UsageError(str(e)) from None
        counts = {
            "players": calibration["generated"]["players"],
            "events": calibration["generated"]["steps"],
            "labels": sum(calibration["generated"]["planted"].values()),
        }
    else:
        workload = Workload(players=players or 200, days=days or 1, seed=seed, plant=_plant(plant))
        counts = generate(workload, Path(out))
    took = time.perf_counter() - started
    click.echo(
        f"{out}: {counts['players']} players, {counts['events']} steps, {counts['labels']} planted "
        f"({took:.1f} s, {counts['events'] / max(took, 1e-9):,.0f} steps/s)"
    )
    if preset:
        click.echo(report_text(report(calibration)))


@scenario.command("calibration")
@click.argument("scenario_file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--results",
    type=click.Path(exists=True, dir_okay=False),
    help="The replay's results (`run --json`): report the replayed day.",
)
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write it as JSON.")
def scenario_calibration(scenario_file, results, json_path) -> None:
    """The calibration report of a calibrated day: its GGR, shares, players and
    transactions beside the preset's targets, as generated or as replayed.
    Exit status 1 when a figure is out of tolerance (or the replay failed)."""
    from app.scenario.calibration import calibration_path, replayed, report, report_text

    path = Path(scenario_file)
    calibration_file = calibration_path(path)
    if not calibration_file.is_file():
        raise click.UsageError(f"{calibration_file} not found: not a calibrated day")
    calibration = json.loads(calibration_file.read_text(encoding="utf-8"))
    after = None
    if results:
        after = replayed(path, json.loads(Path(results).read_text(encoding="utf-8")))
    rep = report(calibration, after)
    click.echo(report_text(rep))
    if json_path:
        Path(json_path).write_text(json.dumps(rep, indent=1) + "\n", encoding="utf-8")
    sys.exit(0 if rep["ok"] else 1)


@scenario.command("score")
@click.argument("labels", type=click.Path(exists=True, dir_okay=False))
@click.argument("results", type=click.Path(exists=True, dir_okay=False))
def scenario_score(labels, results) -> None:
    """Precision and recall per rule: LABELS of `generate` against RESULTS of `run --json`."""

    from app.scenario.generate import score

    scores = score(Path(labels), json.loads(Path(results).read_text(encoding="utf-8")))

    def pct(x):
        return "   n/a" if x is None else f"{x:6.3f}"

    click.echo(
        f"{'rule':22} {'labelled':>8} {'alerted':>8} {'hits':>5} {'precision':>9} {'recall':>7}"
    )
    for rule, s in scores.items():
        click.echo(
            f"{rule:22} {s['labelled']:8} {s['alerted']:8} {s['true_positives']:5} "
            f"{pct(s['precision']):>9} {pct(s['recall']):>7}"
        )
