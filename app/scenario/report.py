"""Running scenario files and telling how it went: text, JSON and JUnit XML."""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree as ET

from app.client import Client
from app.scenario.loader import Scenario
from app.scenario.runner import Result, Runner


@contextlib.contextmanager
def fresh_sandbox(database_url: str | None = None) -> Iterator[Client]:
    """An in-process sandbox on a new database (a temp SQLite file unless
    ``database_url`` names an empty one), migrated, with an admin key."""
    from app import create_app
    from wallets.access import keys
    from wallets.core import db as dbmod
    from wallets.core.config import Settings

    with tempfile.TemporaryDirectory(prefix="ecny-scenario-") as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'scenario.sqlite3'}"
        dbmod.upgrade(url)
        settings = Settings(
            database_url=url,
            signing_key_path=Path(tmp) / "cb-ed25519.pem",
            export_dir=Path(tmp) / "exports",
        )
        db = dbmod.Database(url)
        try:
            app = create_app({"SETTINGS": settings, "DATABASE": db})
            yield Client.in_process(app, db.write(keys.create, "admin").key)
        finally:
            db.dispose()


def replay(scenario: Scenario, client: Client, progress: bool = False) -> Result:
    bar = None
    if progress:
        from tqdm import tqdm

        total = sum(1 for _ in scenario.steps())  # streamed: a count, not a list
        bar = tqdm(total=total, desc=scenario.name, unit="step", leave=False, disable=None)
    try:
        return Runner(client, scenario).run(bar)
    finally:
        if bar is not None:
            bar.close()


def text(result: Result) -> str:
    lines = [f"== {result.name} ({result.path}): {'PASS' if result.ok else 'FAIL'}"]
    lines.append(
        f"   {result.steps} steps, {result.expectations} expectations, {len(result.failed)} failed"
    )
    if result.aborted:
        lines.append(f"   ABORTED: {result.aborted}")
    for c in result.checks:
        if not c.ok:
            lines.append(f"   FAIL {c.where}: {c.what}: expected {c.expected!r}, got {c.actual!r}")
    passed = [c for c in result.checks if c.ok and c.where == "expect"]
    for c in passed:
        lines.append(f"   ok   {c.what}: {c.actual!r}")
    final = result.final
    if final.get("alerts"):
        lines.append("   alerts:")
        for t, casino, wallet, operator, status in final["alerts"]:
            subject = " ".join(x for x in (casino, wallet, operator) if x)
            lines.append(f"     {t:20} {subject:24} {status}")
    for d in final.get("gaming_days", []):
        f = d["figures"]
        lines.append(
            f"   gaming day {d['casino']} {d['date']}: players {d['players']}, buy-ins {f['buy_ins']}, "
            f"cash-outs {f['cash_outs']}, turnover {f['turnover']}, payouts {f['payouts']}, "
            f"GGR {f['ggr']}, tax {f['special_gaming_tax']}, contributions {f['contributions']}, "
            f"sweep {f['sweep']}, checks {'ok' if d['ok'] else 'FAILED'}"
        )
    for i, window in enumerate(final.get("settlement", []), 1):
        nets = ", ".join(
            f"{op} net {v['net']} (peak debit {v['peak_debit']})" for op, v in window.items()
        )
        lines.append(f"   settlement window {i}: {nets}")
    if result.digest:
        lines.append(f"   digest {result.digest}")
    return "\n".join(lines)


def as_json(results: list[Result]) -> dict:
    return {
        "ok": all(r.ok for r in results),
        "scenarios": [
            {
                "name": r.name,
                "path": r.path,
                "ok": r.ok,
                "aborted": r.aborted,
                "steps": r.steps,
                "step_expectations_held": r.step_checks_passed,
                "digest": r.digest,
                "checks": [
                    {
                        "where": c.where,
                        "what": c.what,
                        "ok": c.ok,
                        "expected": c.expected,
                        "actual": c.actual,
                    }
                    for c in r.checks
                ],
                "final": r.final,
            }
            for r in results
        ],
    }


def write_json(results: list[Result], path: str) -> None:
    Path(path).write_text(json.dumps(as_json(results), indent=1), encoding="utf-8")


def write_junit(results: list[Result], path: str) -> None:
    suites = ET.Element("testsuites")
    for r in results:
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=r.name,
            tests=str(len(r.checks) + 1 + (1 if r.aborted else 0)),
            failures=str(len(r.failed)),
            errors=str(1 if r.aborted else 0),
        )
        ET.SubElement(  # the steps' expectations that held, as one case
            suite,
            "testcase",
            classname=r.name,
            name=f"steps: {r.step_checks_passed} expectations held",
        )
        for c in r.checks:
            case = ET.SubElement(suite, "testcase", classname=r.name, name=f"{c.where}: {c.what}")
            if not c.ok:
                ET.SubElement(case, "failure", message=f"expected {c.expected!r}, got {c.actual!r}")
        if r.aborted:
            case = ET.SubElement(suite, "testcase", classname=r.name, name="replay")
            ET.SubElement(case, "error", message=r.aborted)
        ET.SubElement(suite, "properties").append(
            ET.Element("property", name="digest", value=r.digest)
        )
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)
