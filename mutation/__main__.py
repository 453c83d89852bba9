"""`make mutation`: mutmut over each module of mutation/modules.py, one at a time.

Environment:
  MUTATION_MODULES   comma-separated names (default: all), e.g. money,limits
  MUTATION_SAMPLE    run only this many mutants per module (drawn with a fixed seed,
                     MUTATION_SEED, default 24: another seed draws another sample)
  MUTATION_CHILDREN  mutmut's worker processes (default 2, the most allowed here)
  MUTATION_TEST_TIMEOUT  seconds one test may run under a mutant (default 60)
  MUTATION_RECHECK   1: where a module's last full run was kept (mutation/.work/), run
                     only the mutants it did not kill and those of functions changed
                     since; its kills stand (tests are only ever added)

Per module: a fresh ``mutants/`` directory (or, to recheck, the one its last full
run left in mutation/.work/), one ``mutmut run`` (mutation/run_one.py), then the
module's verdicts read from mutmut's meta file (``mutants/<path>.meta``, an exit
code per mutant). Prints a table and writes mutation/results.json (every module's
latest run). The exit status is 1 when a module is below TARGET.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from mutation.modules import BY_NAME, MODULES, Module

TARGET = 0.90
RESULTS = Path("mutation/results.json")
# Each module's mutants/ of its last full run, for MUTATION_RECHECK=1 (git-ignored).
WORK = Path("mutation/.work")
NO_MUTATE = "# pragma: no mutate"

# mutmut's exit codes (mutmut.stats.status_by_exit_code), grouped for the table.
KILLED = {1, 3}
SURVIVED = {0}
NO_TESTS = {5, 33}
TIMEOUT = {36, 24, -24, 152, 255, -9}
SKIPPED = {34}


def classify(code: int | None) -> str:
    if code in KILLED:
        return "killed"
    if code in SURVIVED:
        return "survived"
    if code in NO_TESTS:
        return "no_tests"
    if code in TIMEOUT:
        return "timeout"
    if code in SKIPPED:
        return "skipped"
    if code is None:
        return "not_checked"
    return "suspicious"


def summarise(module: Module, verdicts: dict[str, int | None], seconds: float) -> dict:
    by_status: dict[str, list[str]] = {}
    for name, code in sorted(verdicts.items()):
        by_status.setdefault(classify(code), []).append(name)
    timeouts = by_status.get("timeout", [])
    documented = [n for n in timeouts if n in module.documented_timeouts]
    skipped = len(by_status.get("skipped", []))
    counted = len(verdicts) - skipped
    caught = len(by_status.get("killed", [])) + len(documented)
    source = Path(module.path).read_text()
    return {
        "module": module.name,
        "path": module.path,
        "tests": list(module.tests),
        "mutants": len(verdicts),
        "killed": len(by_status.get("killed", [])),
        # Not caught: survivors, mutants no selected test reached, and the rest.
        "survived": len(by_status.get("survived", [])),
        "no_tests": len(by_status.get("no_tests", [])),
        "timeout": len(timeouts),
        "timeout_documented": len(documented),
        "suspicious": len(by_status.get("suspicious", [])) + len(by_status.get("not_checked", [])),
        "skipped": skipped,
        # Lines marked equivalent: mutmut makes no mutants of them at all.
        "equivalent_lines": source.count(NO_MUTATE),
        "score": round(caught / counted, 4) if counted else None,
        "seconds": round(seconds, 1),
        "not_caught": sorted(
            by_status.get("survived", [])
            + by_status.get("no_tests", [])
            + by_status.get("suspicious", [])
            + by_status.get("not_checked", [])
            + [n for n in timeouts if n not in module.documented_timeouts]
        ),
    }


def run_module(module: Module, sample: int, children: int, recheck: bool) -> dict:
    kept = WORK / module.name / "mutants"
    shutil.rmtree("mutants", ignore_errors=True)
    recheck = recheck and kept.is_dir()
    if recheck:
        shutil.move(kept, "mutants")
    cmd = [sys.executable, "-m", "mutation.run_one", module.name, "--max-children", str(children)]
    if sample:
        cmd += ["--sample", str(sample), "--seed", os.environ.get("MUTATION_SEED", "24")]
    if recheck:
        cmd += ["--recheck"]
    started = time.monotonic()
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seconds = time.monotonic() - started
    meta = Path("mutants") / (module.path + ".meta")
    if done.returncode != 0 or not meta.exists():
        sys.stdout.write(done.stdout[-4000:])
        raise SystemExit(f"mutmut failed on {module.name} (exit {done.returncode})")
    verdicts = json.loads(meta.read_text())["exit_code_by_key"]
    diffs_file = Path("mutants/diffs.json")
    diffs = json.loads(diffs_file.read_text()) if diffs_file.exists() else {}
    if sample:
        verdicts = {k: v for k, v in verdicts.items() if v is not None}
    # Kept for MUTATION_RECHECK=1 (a full run's verdicts only: a sample's are partial).
    shutil.rmtree(kept, ignore_errors=True)
    if not sample:
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.move("mutants", kept)
    summary = summarise(module, verdicts, seconds)
    summary["not_caught"] = {name: diffs.get(name, []) for name in summary["not_caught"]}
    return {
        **summary,
        "sample": sample or None,
        "seed": int(os.environ.get("MUTATION_SEED", "24")) if sample else None,
        "ran_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


COLUMNS = ("module", "mutants", "killed", "survived", "no_tests", "timeout", "skipped", "score")


def table(rows: list[dict]) -> str:
    head = (
        f"{'module':<13}"
        + "".join(f"{c:>10}" for c in COLUMNS[1:])
        + f"{'eq. lines':>10}{'seconds':>9}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        timeout = f"{r['timeout']}" + (
            f"({r['timeout_documented']}d)" if r["timeout_documented"] else ""
        )
        score = "-" if r["score"] is None else f"{100 * r['score']:.1f}%"
        cells = [
            r["mutants"],
            r["killed"],
            r["survived"],
            r["no_tests"],
            timeout,
            r["skipped"],
            score,
        ]
        lines.append(
            f"{r['module']:<13}"
            + "".join(f"{c!s:>10}" for c in cells)
            + f"{r['equivalent_lines']:>10}{r['seconds']:>9}"
        )
    return "\n".join(lines)


def save(row: dict) -> None:
    """Put a module's figures into results.json, which keeps every module's latest run."""
    kept = json.loads(RESULTS.read_text())["modules"] if RESULTS.exists() else []
    merged = {r["module"]: r for r in kept if r["module"] in BY_NAME}
    merged[row["module"]] = row
    ordered = [merged[m.name] for m in MODULES if m.name in merged]
    RESULTS.write_text(json.dumps({"target": TARGET, "modules": ordered}, indent=2) + "\n")


def main() -> None:
    wanted = [n.strip() for n in os.environ.get("MUTATION_MODULES", "").split(",") if n.strip()]
    unknown = [n for n in wanted if n not in BY_NAME]
    if unknown:
        raise SystemExit(f"unknown module(s) {unknown}; known: {', '.join(BY_NAME)}")
    modules = [BY_NAME[n] for n in wanted] if wanted else list(MODULES)
    sample = int(os.environ.get("MUTATION_SAMPLE", "0"))
    children = min(2, int(os.environ.get("MUTATION_CHILDREN", "2")))
    recheck = os.environ.get("MUTATION_RECHECK") == "1"
    rows = []
    for module in modules:
        print(f"mutmut: {module.name} ({module.path})", flush=True)
        rows.append(run_module(module, sample, children, recheck))
        print(table(rows[-1:]).splitlines()[-1], flush=True)
        save(rows[-1])
    print()
    print(table(rows))
    print(f"\nwritten: {RESULTS} (every module's latest run)")
    below = [r["module"] for r in rows if r["score"] is not None and r["score"] < TARGET]
    if below:
        print(f"below {TARGET:.0%}: {', '.join(below)}")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
