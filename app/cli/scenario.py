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
@click.option("--players", type=click.IntRange(1), default=200, show_default=True)
@click.option("--days", type=click.IntRange(1), default=1, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--plant", help="Planted patterns, e.g. structuring=3,minimal_play=3 (the default).")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The scenario (YAML).")
def scenario_generate(players, days, seed, plant, out) -> None:
    """Write a synthetic casino workload: OUT, OUT's .steps.jsonl and .labels.jsonl."""
    import time

    from app.scenario.generate import Workload, generate

    started = time.perf_counter()
    counts = generate(
        Workload(players=players, days=days, seed=seed, plant=_plant(plant)), Path(out)
    )
    took = time.perf_counter() - started
    click.echo(
        f"{out}: {counts['players']} players, {counts['events']} steps, {counts['labels']} planted "
        f"({took:.1f} s, {counts['events'] / max(took, 1e-9):,.0f} steps/s)"
    )


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
