"""The `ecny` command on the same database as `make run` (or DATABASE_URL)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from app.cli import main
from wallets.core import db as dbmod


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def run(*args: str, code: int = 0):
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, result.output + repr(result.exception)
    return result.output


def test_db_seed_keys_reconcile(cli_env):
    head = dbmod.head_revision(cli_env)
    assert f"database at {head}" in run("db", "upgrade")
    assert run("db", "current").strip() == head
    out = run("seed", "demo")
    assert "Demo sandbox seeded" in out
    keys = [
        line.split()[-1]
        for line in out.splitlines()
        if line.strip().startswith(("admin", "operator", "central", "auditor"))
    ]
    assert len(keys) == 6 and all(k.startswith("ecny_") for k in keys)
    assert "already seeded" in run("seed", "demo")  # keys are printed once only
    new = run("keys", "create", "--role", "operator", "--operator", "BOCMO").strip()
    assert new.startswith("ecny_")
    bad = CliRunner().invoke(main, ["keys", "create", "--role", "operator"])
    assert bad.exit_code != 0 and "needs its operator" in bad.output
    assert "all invariants hold" in run("audit", "reconcile")
    assert '"ok": true' in run("audit", "reconcile", "--json")
    assert "database at base" in run("db", "downgrade", "base")


def test_reconcile_exits_nonzero_when_broken(cli_env):
    run("db", "upgrade")
    run("seed", "demo")
    engine = dbmod.make_engine(cli_env)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE accounts SET debits_posted = debits_posted + 5 WHERE code = 'OP:ICBC:VAULT'"
        )
    engine.dispose()
    out = run("audit", "reconcile", code=1)
    assert "FAIL" in out and "OP:ICBC:VAULT" in out


def test_reserve_ratio_can_change_only_while_nothing_is_outstanding(cli_env):
    run("db", "upgrade")
    assert run("sandbox", "reserve-ratio").strip() == "1.00"
    assert "set to 0.90" in run("sandbox", "reserve-ratio", "0.90")
    bad = CliRunner().invoke(main, ["sandbox", "reserve-ratio", "1.5"])
    assert bad.exit_code != 0 and "at most 1" in bad.output
    run("seed", "demo")
    refused = CliRunner().invoke(main, ["sandbox", "reserve-ratio", "0.50"])
    assert refused.exit_code != 0 and "reserve_ratio_locked" in refused.output
    assert "all invariants hold" in run("audit", "reconcile")


def test_settlement_model_from_the_command_line(cli_env):
    run("db", "upgrade")
    run("seed", "demo")
    out = run("sandbox", "settlement", "--model", "deferred_net", "--cutoff", "17:00")
    assert '"model": "deferred_net"' in out and '"cutoff": "17:00"' in out
    bad = CliRunner().invoke(main, ["sandbox", "settlement", "--cutoff", "7pm"])
    assert bad.exit_code != 0 and "cutoff" in bad.output
    assert '"cutoff": null' in run("sandbox", "settlement", "--cutoff", "none")
    assert '"model": "gross"' in run("sandbox", "settlement", "--model", "gross")


@pytest.mark.parametrize(
    "option, value",
    [
        ("--ndc-alert-percent", "1e2"),
        ("--ndc-alert-percent", "0.5"),
        ("--ndc-alert-percent", "80.001"),
        ("--ndc-reserve-ratio", "50.123456789"),
        ("--ndc-reserve-ratio", "Infinity"),
        ("--ndc-reserve-ratio", "NaN"),
        ("--ndc-reserve-ratio", "-0"),
        ("--ndc-reserve-ratio", " 1"),
    ],
)
def test_settlement_settings_the_api_refuses_are_refused_here_too(cli_env, option, value):
    """One definition per setting (issue 14, item 26): the CLI stored "1e2" and
    crashed on "Infinity" where the API answered 422."""
    run("db", "upgrade")
    before = run("sandbox", "settlement")
    bad = CliRunner().invoke(main, ["sandbox", "settlement", option, value])
    assert bad.exit_code == 1
    field = option[2:].replace("-", "_")
    assert f"validation_failed: {field}: must be" in bad.output
    assert run("sandbox", "settlement") == before  # nothing stored


def test_settlement_settings_accepted_at_their_bounds(cli_env):
    run("db", "upgrade")
    out = run(
        "sandbox", "settlement", "--ndc-reserve-ratio", "100.0000", "--ndc-alert-percent", "1"
    )
    assert '"ndc_reserve_ratio": "100.0000"' in out and '"ndc_alert_percent": "1"' in out
    out = run("sandbox", "settlement", "--ndc-reserve-ratio", "0", "--ndc-alert-percent", "99.99")
    assert '"ndc_reserve_ratio": "0"' in out and '"ndc_alert_percent": "99.99"' in out


@pytest.mark.parametrize("value", ["1e-1", "0", "Infinity", "0.1234567", "1.0000001"])
def test_reserve_ratio_refuses_what_is_not_a_plain_ratio(cli_env, value):
    run("db", "upgrade")
    bad = CliRunner().invoke(main, ["sandbox", "reserve-ratio", value])
    assert bad.exit_code == 1 and "validation_failed: reserve_ratio: must be above 0" in bad.output
    assert run("sandbox", "reserve-ratio").strip() == "1.00"


def test_reconcile_names_the_first_entry_that_breaks_the_chain(cli_env):
    """Reconciliation walks the chain as checkpoints and exports do (one walk)."""
    run("db", "upgrade")
    run("seed", "demo")
    engine = dbmod.make_engine(cli_env)
    with engine.begin() as conn:
        triggers = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        for (name,) in triggers.all():
            conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
        conn.exec_driver_sql("UPDATE journal_entries SET amount = amount + 1 WHERE seq = 5")
    out = run("audit", "reconcile", code=1)
    assert "entry 5: its hash does not recompute from its columns" in out
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE journal_entries SET amount = amount - 1 WHERE seq = 5")
        conn.exec_driver_sql("UPDATE ledger_head SET last_seq = last_seq - 1")
    engine.dispose()
    assert "the recorded head does not match the last journal entry" in run(
        "audit", "reconcile", code=1
    )
