"""Run mutmut over one module of mutation/modules.py (called by ``python -m mutation``).

mutmut 3 reads its settings from the ``[mutmut]`` section of setup.cfg (what
to copy, the timeout plugin); this process narrows them to one module: the
one file to mutate (``only_mutate``) and the tests that exercise it
(``pytest_add_cli_args_test_selection``), then runs mutmut in-process with
at most ``--max-children`` workers. With ``--sample N`` it first generates the
module's mutants and runs N of them, drawn with a fixed seed. With ``--recheck``
(in the ``mutants/`` of the module's last run) it runs only the mutants that
run did not kill and those of functions changed since.

Usage: python -m mutation.run_one MODULE [--sample N] [--recheck] [--max-children 2]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from mutation.modules import BY_NAME

SAMPLE_SEED = 24


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("module", choices=sorted(BY_NAME))
    parser.add_argument("--sample", type=int, default=0)
    parser.add_argument("--seed", type=int, default=SAMPLE_SEED)
    parser.add_argument("--max-children", type=int, default=2)
    parser.add_argument(
        "--recheck",
        action="store_true",
        help="in a mutants/ kept from an earlier run: only the mutants not killed then, "
        "and those of functions changed since",
    )
    args = parser.parse_args(argv)
    module = BY_NAME[args.module]

    # mutmut.__main__ sets the "fork" start method when imported.
    import mutmut.__main__ as mm
    from mutmut.configuration import config
    from mutmut.mutation.data import SourceFileMutationData

    from mutation.__main__ import TIMEOUT

    cfg = config()
    cfg.only_mutate = [module.path]
    cfg.pytest_add_cli_args_test_selection = list(module.tests)

    names: list[str] = []
    if args.sample or args.recheck:
        # Generate (or update) the mutants first, to choose among them.
        Path("mutants").mkdir(exist_ok=True)
        before = mutants_by_function(module.path) if args.recheck else {}
        mm.copy_src_dir()
        mm.copy_also_copy_files()
        mm.create_mutants(args.max_children)
        data = SourceFileMutationData(path=Path(module.path))
        data.load()
        if args.recheck:
            forget_renumbered(data, before)
        every = sorted(data.exit_code_by_key)
        if args.recheck:
            # A kill stands (tests are only added), and so does a documented hang
            # (mutation/modules.py); a function changed since has lost its
            # verdicts (None) and is run again.
            every = [
                n
                for n in every
                if data.exit_code_by_key[n] not in (1, 3)
                and not (data.exit_code_by_key[n] in TIMEOUT and n in module.documented_timeouts)
            ]
            if not every:
                return
        names = every
        if args.sample:
            names = sorted(random.Random(args.seed).sample(every, min(args.sample, len(every))))
    mm._run(names, max_children=args.max_children)
    write_diffs(module.path)


def mutants_by_function(path: str) -> dict[str, set[str]]:
    """The mutants of each function in the kept meta file (none without one)."""
    meta = Path("mutants") / (path + ".meta")
    if not meta.exists():
        return {}
    by_function: dict[str, set[str]] = {}
    for name in json.loads(meta.read_text())["exit_code_by_key"]:
        by_function.setdefault(name.rsplit("__mutmut_", 1)[0], set()).add(name)
    return by_function


def forget_renumbered(data, before: dict[str, set[str]]) -> None:
    """mutmut keeps a function's verdicts while its hash stands, and the hash
    leaves comments out: a ``# pragma: no mutate`` added to a function (or taken
    out) changes none, yet removes mutants and numbers the rest anew, so a kept
    verdict would name another mutant. A function whose mutants are not those
    of the kept run loses its verdicts: all of them run again."""
    after: dict[str, set[str]] = {}
    for name in data.exit_code_by_key:
        after.setdefault(name.rsplit("__mutmut_", 1)[0], set()).add(name)
    changed = [f for f, names in after.items() if f in before and before[f] != names]
    for function in changed:
        for name in after[function]:
            data.exit_code_by_key[name] = None
    if changed:
        data.save()


def write_diffs(path: str) -> None:
    """The changed lines of every mutant not killed, for results.json (mutants/diffs.json)."""
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    data = SourceFileMutationData(path=Path(path))
    data.load()
    diffs = {}
    for name, code in data.exit_code_by_key.items():
        if code is not None and code not in (1, 3):
            diff = get_diff_for_mutant(name, path=path).splitlines()
            diffs[name] = [line for line in diff[2:] if line[:1] in "+-"]
    Path("mutants/diffs.json").write_text(json.dumps(diffs, indent=1))


if __name__ == "__main__":
    main()
