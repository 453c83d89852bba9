"""The scenario checker and runner (issue 14, items 15-19): references in
expectations, enums from the domain, amounts compared as amounts, and the
expectations on gaming-day checks, alert status and due time, and profiles."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main
from app.scenario import report
from app.scenario.loader import ScenarioError, load

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def run_cli(*args: str):
    return CliRunner().invoke(main, ["scenario", *args])


def replay_file(path: Path, sqlite_template, tmp_path):
    db = tmp_path / f"{path.stem}.sqlite3"
    shutil.copy(sqlite_template, db)
    with report.fresh_sandbox(f"sqlite:///{db}") as client:
        return report.replay(load(path), client)


def write(tmp_path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# ---- item 15: a wallet ref that is also an argument name ---------------------------

ARGUMENT_NAMES = ["treasury", "wallet", "from", "to", "player"]

REF_AS_ARGUMENT = """\
name: ref-{ref}
profile: macau
clock: "2026-03-02T10:00:00+08:00"
setup:
  operators: [{{code: BOCMO, reserve: "1000000.00", issue: "500000.00"}}]
  wallets:
    - {{ref: "{ref}", operator: BOCMO, class: 1, region: MO, kind: merchant}}
    - {{ref: p, operator: BOCMO, class: 1, region: MO, fund: "1000.00"}}
  casinos:
    - {{ref: COTAI, operator: BOCMO, treasury: "{ref}", float: "1000.00"}}
steps:
  - action: pay
    from: p
    to: "{ref}"
    amount: "100.00"
    expect: {{balances: {{"{ref}": "100.00", p: "900.00"}}}}
  - action: pay
    from: "{ref}"
    to: p
    amount: "1.00"
    expect: {{balances: {{"{ref}": "99.00"}}}}
expect:
  balances: {{"{ref}": "99.00"}}
  alerts: [{{type: ltr, wallet: "{ref}", count: 0}}]
"""


@pytest.mark.parametrize("ref", ARGUMENT_NAMES)
def test_a_wallet_ref_named_like_an_argument_is_a_wallet(ref, tmp_path, sqlite_template):
    path = write(tmp_path, REF_AS_ARGUMENT.format(ref=ref))
    load(path)  # was: steps[0].expect.balances.<ref>: unknown wallet '100.00'
    result = replay_file(path, sqlite_template, tmp_path)
    assert result.ok, [(c.where, c.what, c.expected, c.actual) for c in result.failed]


def test_the_balances_of_a_step_are_not_references_of_its_arguments(tmp_path):
    """A balance's value is never read as a reference, whatever its key."""
    text = REF_AS_ARGUMENT.format(ref="treasury").replace(
        'expect: {balances: {"treasury": "99.00"}}', 'expect: {balances: {"player": "99.00"}}'
    )
    with pytest.raises(ScenarioError) as refused:
        load(write(tmp_path, text))
    assert str(refused.value).splitlines() == [
        f"{tmp_path / 's.yaml'}:21: steps[1].expect.balances.player: unknown wallet 'player'"
    ]


# ---- item 16: unknown wallets in expectations are refused before anything runs -------

UNKNOWN_IN_EXPECT = """\
name: bad
profile: macau
clock: "2026-03-02T10:00:00+08:00"
setup:
  operators: [{code: BOCMO}]
  wallets:
    - {ref: a, operator: BOCMO, class: 1, region: MO}
  casinos:
    - {ref: COTAI, operator: BOCMO, treasury: a, float: "1.00"}
steps:
  - {action: fund, wallet: a, amount: "1.00", expect: {balances: {a: "1.00", ghost: "0.00"}}}
  - {action: open_wallet, ref: late, operator: BOCMO, class: 1, region: MO, expect: {balances: {late: "0.00"}}}
expect:
  balances: {a: "1.00", late: "0.00", nobody: "0.00", "COTAI:wallet": "0.00", "NOPE:wallet": "0.00"}
  alerts:
    - {type: ltr, wallet: zz, count: 0}
    - {type: ltr, casino: NOPE, count: 0}
    - {type: ndc_threshold, operator: NOPE, count: 0}
    - {type: ltr, wallet: late, casino: COTAI, operator: BOCMO, count: 0}
"""


def test_unknown_wallets_in_expectations_are_refused_first(tmp_path):
    path = write(tmp_path, UNKNOWN_IN_EXPECT)
    with pytest.raises(ScenarioError) as refused:
        load(path)
    assert str(refused.value).splitlines() == [
        f"{path}:11: steps[0].expect.balances.ghost: unknown wallet 'ghost'",
        f"{path}:14: expect.balances.nobody: unknown wallet 'nobody'",
        f"{path}:14: expect.balances.NOPE:wallet: unknown wallet 'NOPE:wallet'",
        f"{path}:16: expect.alerts[0].wallet: unknown wallet 'zz'",
        f"{path}:17: expect.alerts[1].casino: unknown casino 'NOPE'",
        f"{path}:18: expect.alerts[2].operator: unknown operator 'NOPE'",
    ]


def test_an_unknown_wallet_in_a_steps_file_expectation_is_named(tmp_path):
    (tmp_path / "s.steps.jsonl").write_text(
        '{"action": "advance", "after": 60, "expect": {"balances": {"ghost": "1.00"}}}\n'
    )
    path = write(
        tmp_path, 'name: s\nclock: "2026-03-02T10:00:00+08:00"\nsteps_file: s.steps.jsonl\n'
    )
    with pytest.raises(ScenarioError) as refused:
        load(path)
    assert str(refused.value) == (
        f"{tmp_path / 's.steps.jsonl'}:1: expect.balances.ghost: unknown wallet 'ghost'"
    )


def test_an_unknown_wallet_in_expectations_is_exit_2_before_any_step(tmp_path, sqlite_template):
    path = write(tmp_path, UNKNOWN_IN_EXPECT)
    db = tmp_path / "db.sqlite3"
    shutil.copy(sqlite_template, db)
    r = run_cli(
        "run", str(SCENARIOS / "structuring.yaml"), str(path), "--database-url", f"sqlite:///{db}"
    )
    assert r.exit_code == 2, r.output
    assert "nothing was run" in r.output and "unknown wallet 'ghost'" in r.output


# ---- item 18: expected amounts are amounts --------------------------------------------


def test_expected_amounts_compare_as_amounts(tmp_path, sqlite_template):
    text = (SCENARIOS / "structuring.yaml").read_text()
    for exact, loose in [
        (
            '{alerts: [structuring], balances: {smurf: "100000.00"}}',
            '{alerts: [structuring], balances: {smurf: "100000"}}',
        ),
        ('smurf: "500000.00", treasury: "40000.00"', 'smurf: "500000", treasury: "40000.0"'),
        ('ggr: "100000.00"', 'ggr: "100000.0"'),
    ]:
        assert exact in text
        text = text.replace(exact, loose)
    result = replay_file(write(tmp_path, text), sqlite_template, tmp_path)
    assert result.ok, [(c.where, c.what, c.expected, c.actual) for c in result.failed]
    shown = {c.what: (c.expected, c.actual) for c in result.checks}
    assert shown["balance treasury"] == ("40000.00", "40000.00")  # reported as amounts


def test_a_different_amount_still_fails(tmp_path, sqlite_template):
    text = (
        (SCENARIOS / "structuring.yaml")
        .read_text()
        .replace('treasury: "40000.00"', 'treasury: "40000.1"')
    )
    result = replay_file(write(tmp_path, text), sqlite_template, tmp_path)
    assert [(c.what, c.expected, c.actual) for c in result.failed] == [
        ("balance treasury", "40000.10", "40000.00")
    ]


@pytest.mark.parametrize(
    "where, bad",
    [
        ('smurf: "500000.00"', 'smurf: "0500000.00"'),
        ('ggr: "100000.00"', 'ggr: "-0100000.00"'),
        (
            '{alerts: [structuring], balances: {smurf: "100000.00"}}',
            '{alerts: [structuring], balances: {smurf: "00"}}',
        ),
    ],
)
def test_a_malformed_expected_amount_is_refused_at_validation(where, bad, tmp_path):
    text = (SCENARIOS / "structuring.yaml").read_text()
    assert where in text
    path = write(tmp_path, text.replace(where, bad))
    with pytest.raises(ScenarioError, match="must be a positive decimal string") as refused:
        load(path)
    assert len(str(refused.value).splitlines()) == 1


def test_a_malformed_expected_amount_is_exit_2(tmp_path):
    text = (SCENARIOS / "structuring.yaml").read_text()
    path = write(tmp_path, text.replace('treasury: "40000.00"', 'treasury: "040000.00"'))
    r = run_cli("run", str(path))
    assert r.exit_code == 2, r.output
    assert f"{path}:32: expect.balances.treasury: '040000.00': " in r.output
