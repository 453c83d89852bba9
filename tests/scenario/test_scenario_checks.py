"""The scenario checker and runner (issue 14, items 15-19): references in
expectations, enums from the domain, amounts compared as amounts, and the
expectations on gaming-day checks, alert status and due time, and profiles."""

from __future__ import annotations

import json
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


# ---- item 17: one source of truth for the schema's enums --------------------------------


def _enums(node, path=()):
    if isinstance(node, dict):
        if "enum" in node:
            yield "/".join(path), node["enum"]
        for k, v in node.items():
            yield from _enums(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _enums(v, (*path, str(i)))


def test_every_enum_of_schema_json_is_the_domains():
    from app.scenario.loader import SCHEMA_PATH, domain_enums

    in_file = dict(_enums(json.loads(SCHEMA_PATH.read_text())))
    domain = {f"$defs/{name}": values for name, values in domain_enums().items()}
    # the file's copies are the domain's, in the domain's order
    assert {k: v for k, v in in_file.items() if k in domain} == domain
    # and every other enum is the scenario format's own: its list of actions
    assert set(in_file) - set(domain) == {"$defs/step/properties/action"}
    assert domain["$defs/wallet_kind"] == ["personal", "merchant"]  # no government


def test_the_schema_in_use_takes_its_enums_from_the_domain(monkeypatch, tmp_path):
    from app.scenario import loader
    from wallets.retail import wallet

    path = write(tmp_path, GOVERNMENT)
    monkeypatch.setattr(wallet, "KINDS", (*wallet.KINDS, "government"))
    loader.schema.cache_clear()
    try:
        load(path)  # the domain's set, not the file's copy
    finally:
        monkeypatch.undo()
        loader.schema.cache_clear()
    with pytest.raises(ScenarioError):
        load(path)


GOVERNMENT = """\
name: government
clock: "2026-03-02T10:00:00+08:00"
setup:
  operators: [{code: BOCMO}]
  wallets:
    - {ref: gov, operator: BOCMO, class: 1, region: MO, kind: government}
"""


def test_a_kind_the_api_refuses_is_exit_2_before_running(tmp_path):
    path = write(tmp_path, GOVERNMENT)
    r = run_cli("run", str(path))
    assert r.exit_code == 2, r.output
    assert (
        f"{path}:6: setup.wallets[0].kind: 'government' is not one of ['personal', 'merchant']"
        in r.output
    )


@pytest.mark.parametrize(
    "step, message",
    [
        (
            "{action: open_wallet, ref: g, operator: BOCMO, class: 1, region: MO, kind: government}",
            "steps[0].kind: 'government' is not one of ['personal', 'merchant']",
        ),
        (
            "{action: add_exclusion, holder_id: h, kind: personal, ends_on: '2027-01-01'}",
            "steps[0].kind: 'personal' is not one of ['self', 'family']",
        ),
        (
            "{action: open_wallet, ref: g, operator: BOCMO, class: 5, region: MO}",
            "steps[0].class: 5 is not one of [1, 2, 3, 4]",
        ),
        (
            "{action: escalate_alert, alert: {type: structuring_, wallet: a}}",
            "steps[0].alert.type: 'structuring_' is not one of ['ltr', 'structuring'",
        ),
        (
            "{action: fund, wallet: a, amount: '1.00', expect: {alerts: [ltr_report]}}",
            "steps[0].expect.alerts[0]: 'ltr_report' is not one of ['ltr'",
        ),
        (
            "{action: select_profile, profile: macao}",
            "steps[0].profile: 'macao' is not one of ['default', 'macau']",
        ),
    ],
)
def test_step_enums_are_the_domains(step, message, tmp_path):
    path = write(
        tmp_path,
        GOVERNMENT.replace("kind: government", "kind: personal").replace("{ref: gov", "{ref: a")
        + f"steps:\n  - {step}\n",
    )
    with pytest.raises(ScenarioError) as refused:
        load(path)
    assert f"{path}:8: {message}" in str(refused.value)


def test_the_raised_types_are_the_listed_ones(sqlite_template, tmp_path):
    """raise_alert refuses a type outside alerts.TYPES, so the list cannot fall behind."""
    from wallets.supervision.alerts import TYPES, raise_alert

    assert "ndc_threshold" in TYPES and "mainland_yearly_cap" in TYPES
    with pytest.raises(ValueError, match="not one of alerts.TYPES"):
        raise_alert(None, "made_up", evidence={}, summary="")


def test_a_close_reports_the_listed_checks(sqlite_template, tmp_path):
    from wallets.casino.gaming_days import CHECKS

    result = replay_file(SCENARIOS / "normal_day.yaml", sqlite_template, tmp_path)
    (day,) = result.final["gaming_days"]
    assert list(day["checks"]) == list(CHECKS)


# ---- item 19: a close's checks, an alert's status and due time, a profile of one's own --

SUPERVISION = SCENARIOS / "supervision_checks.yaml"


def test_the_example_asserts_checks_status_due_times_and_its_own_profile(sqlite_template, tmp_path):
    result = replay_file(SUPERVISION, sqlite_template, tmp_path)
    assert result.ok, [(c.where, c.what, c.expected, c.actual) for c in result.failed]
    passed = {c.what for c in result.checks}
    assert {
        "gaming day COTAI 2026-03-02 check ltr_filed",
        "alerts type=minimal_play wallet=whale status=acknowledged due_at=2026-03-04T16:00:00Z",
        "alerts type=ltr wallet=whale status=open due_at=None",
    } <= passed
    assert result.final["steps"][0] == "mainland_wallet_refused"  # the macau profile only alerts


def test_failing_checks_status_and_due_times_are_failed_expectations(sqlite_template, tmp_path):
    text = SUPERVISION.read_text()
    for right, wrong in [
        (
            "expect:\n      checks: {ecny_receipts_match: false, chips_match_cage: true, "
            "taxes_paid: true, ltr_filed: false}",
            "expect:\n      checks: {ecny_receipts_match: false, ltr_filed: true}",
        ),
        ("status: acknowledged, due_at", "status: escalated, due_at"),
        ('due_at: "2026-03-05T00:00:00+08:00"', 'due_at: "2026-03-05T01:00:00+08:00"'),
        ("ltr, wallet: whale, status: open, due_at: null", "ltr, wallet: whale, due_at: null"),
    ]:
        assert right in text
        text = text.replace(right, wrong)
    text = text.replace("count: 2}", "count: 3}")  # ltr with no due time: 2, not 3
    path = write(tmp_path, text)
    db = tmp_path / "db.sqlite3"
    shutil.copy(sqlite_template, db)
    r = run_cli("run", str(path), "--database-url", f"sqlite:///{db}")
    assert r.exit_code == 1, r.output
    failed = [line.strip() for line in r.output.splitlines() if line.strip().startswith("FAIL")]
    assert failed == [
        "FAIL step 5 (acknowledge_alert): outcome: expected 'ok', got 'scenario_alert_not_found'",
        "FAIL step 7 (close_gaming_day): check ltr_filed: expected True, got False",
        "FAIL expect: alerts type=minimal_play wallet=whale status=escalated "
        "due_at=2026-03-04T16:00:00Z: expected 1, got 0",
        "FAIL expect: alerts type=ltr wallet=whale due_at=None: expected 3, got 2",
    ]


def test_checks_belong_to_a_close_and_are_named_as_the_domain_names_them(tmp_path):
    text = SUPERVISION.read_text()
    elsewhere = write(
        tmp_path,
        text.replace(
            "expect: {alerts: [ltr]}}", "expect: {alerts: [ltr], checks: {taxes_paid: true}}}"
        ),
    )
    with pytest.raises(ScenarioError) as refused:
        load(elsewhere)
    assert str(refused.value) == (
        f"{elsewhere}:29: steps[1].expect.checks: only a close_gaming_day step has checks"
    )
    misnamed = write(
        tmp_path,
        text.replace("taxes_paid: true, ltr_filed: false}\nexpect", "taxes: true}\nexpect"),
        "misnamed.yaml",
    )
    with pytest.raises(ScenarioError) as refused:
        load(misnamed)
    assert str(refused.value).startswith(
        f"{misnamed}:44: steps[6].expect.checks: 'taxes' is not one of ['ecny_receipts_match',"
    )


@pytest.mark.parametrize(
    "profile, line, message",
    [
        (
            "{extends: macau, name: mine, casino: {mainland: {action: ban}}}",
            8,
            "profile.casino.mainland.action: Must be one of: alert, refuse.",
        ),
        (
            "{extends: macau, name: macau, casino: {mainland: {action: refuse}}}",
            8,
            "profile.name: 'macau' is a shipped profile's; name yours otherwise",
        ),
        ("{extends: macao, name: mine}", 8, "profile.extends: 'macao' is not one of"),
        ("{name: mine, version: 2}", 8, "profile.wallet_limits: Missing data for required field."),
        ("macao", 8, "profile: 'macao' is not one of ['default', 'macau']"),
    ],
)
def test_a_profile_the_api_would_refuse_is_exit_2(profile, line, message, tmp_path):
    text = SUPERVISION.read_text()
    start = text.index("profile:")
    end = text.index("clock:")
    path = write(tmp_path, text[:start] + f"profile: {profile}\n" + text[end:])
    with pytest.raises(ScenarioError) as refused:
        load(path)
    assert str(refused.value).startswith(f"{path}:{line}: {message}"), str(refused.value)


def test_extends_merges_into_the_shipped_document():
    from app.scenario.loader import profile_request
    from wallets.rules.profile import load_profile, parse_profile

    request = profile_request(
        {"extends": "macau", "name": "mine", "casino": {"mainland": {"action": "refuse"}}}
    )
    macau = load_profile("macau").raw
    mine = request["document"]
    assert mine["casino"]["mainland"] == {**macau["casino"]["mainland"], "action": "refuse"}
    assert {k: v for k, v in mine.items() if k not in ("name", "casino")} == {
        k: v for k, v in macau.items() if k not in ("name", "casino")
    }
    assert macau["casino"]["mainland"]["action"] == "alert"  # the shipped one is untouched
    assert parse_profile(mine).casino.mainland_action == "refuse"
    assert profile_request("macau") == {"name": "macau"}


def test_a_step_selects_a_profile_document(sqlite_template, tmp_path):
    """The same `profile` value in a select_profile step: refused, then allowed."""
    text = SUPERVISION.read_text()
    start, end = text.index("profile:"), text.index("clock:")
    text = text[:start] + "profile: macau\n" + text[end:]
    steps = text.index("steps:\n") + len("steps:\n")
    text = (
        text[:steps]
        + "  - {action: buy_in, casino: COTAI, player: visitor, amount: '1.00', expect: {alerts: [mainland_wallet]}}\n"
        + "  - {action: select_profile, profile: {extends: macau, name: strict, casino: {mainland: {action: refuse}}}}\n"
        + text[steps:]
    )
    text = text.replace('visitor: "10000.00"', 'visitor: "9999.00"').replace(
        'balances: {visitor: "10000.00"}', 'balances: {visitor: "9999.00"}'
    )
    text = text.replace("{type: mainland_wallet, count: 0}", "{type: mainland_wallet, count: 1}")
    text = text.replace("alert_count: 3", "alert_count: 4").replace(
        'ggr: "10000.00"', 'ggr: "10000.00"'
    )
    text = text.replace('buy_ins: "500000.00"', 'buy_ins: "500001.00"')
    result = replay_file(write(tmp_path, text), sqlite_template, tmp_path)
    assert result.ok, [(c.where, c.what, c.expected, c.actual) for c in result.failed]
    assert result.final["steps"][:3] == ["ok", "ok", "mainland_wallet_refused"]


# ---- docs/scenarios.md ----------------------------------------------------------------

DOC = Path(__file__).resolve().parents[2] / "docs" / "scenarios.md"


def test_the_docs_examples_are_valid_files(tmp_path):
    import re

    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)
    files = [b for b in blocks if b.startswith("name:")]
    parts = [b for b in blocks if b.startswith("profile:")]
    assert files and parts
    for i, block in enumerate(files):
        load(write(tmp_path, block, f"doc{i}.yaml"))
    for i, block in enumerate(parts):
        text = f'name: part\nclock: "2026-03-02T10:00:00+08:00"\n{block}'
        load(write(tmp_path, text, f"part{i}.yaml"))


def test_the_docs_list_the_domains_enums():
    from app.scenario.loader import domain_enums

    text = DOC.read_text()
    for name, values in domain_enums().items():
        row = next(line for line in text.splitlines() if line.startswith(f"| `{name}` |"))
        assert row.split("|")[2].strip() == ", ".join(
            str(v) if isinstance(v, int) else f"`{v}`" for v in values
        ), name


def test_a_due_time_that_is_no_time_is_exit_2(tmp_path):
    text = SUPERVISION.read_text().replace(
        'due_at: "2026-03-05T00:00:00+08:00"', 'due_at: "2026-02-30T00:00:00+08:00"'
    )
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as refused:
        load(path)
    assert str(refused.value).startswith(
        f"{path}:33: steps[4].alert.due_at: '2026-02-30T00:00:00+08:00' is not a time"
    )


# ---- events (docs/events.md) -----------------------------------------------------


def test_expected_events_must_come_in_their_order(sqlite_template, tmp_path):
    """normal_day.yaml's events hold (tests/scenario/test_scenarios.py); here
    the close comes before the buy-in's chips and a payment of an amount never
    paid: the two events out of order and the one never written fail, by name."""
    text = (SCENARIOS / "normal_day.yaml").read_text()
    listed = """\
    - {type: transfer.posted, data: {kind: payment, amount: "20000.00"}}
    - {type: transfer.posted, data: {kind: chip_issue, asset: "CHIP:COTAI", amount: "20000.00"}}
    - {type: gaming_day.closed, data: {casino: COTAI, ggr: "11000.00", ok: true}}
"""
    assert listed in text
    text = text.replace(
        listed,
        """\
    - {type: transfer.posted, data: {kind: payment, amount: "20000"}}
    - {type: gaming_day.closed, data: {casino: COTAI}}
    - {type: transfer.posted, data: {kind: chip_issue, amount: "20000.00"}}
    - {type: transfer.posted, data: {kind: payment, amount: "12345.67"}}
""",
    )
    result = replay_file(write(tmp_path, text), sqlite_template, tmp_path)
    assert [(c.what, c.actual) for c in result.failed] == [
        ("event 3: transfer.posted kind=chip_issue amount=20000.00", False),
        ("event 4: transfer.posted kind=payment amount=12345.67", False),
    ]
