"""`ecny sandbox profile` and the demo casino of `ecny seed demo`."""

from __future__ import annotations

from click.testing import CliRunner
from test_cli import cli_env, run  # noqa: F401 - the fixture is used by name

from app.cli import main


def test_profile_command_and_the_demo_casino(cli_env):  # noqa: F811
    run("db", "upgrade")
    assert run("sandbox", "profile").strip() == "default"
    assert "set to macau" in run("sandbox", "profile", "macau")
    assert run("sandbox", "profile").strip() == "macau"
    bad = CliRunner().invoke(main, ["sandbox", "profile", "nope"])
    assert bad.exit_code != 0 and "have: default, macau" in bad.output
    run("sandbox", "profile", "default")
    out = run("seed", "demo")
    assert "casino COTAI under the macau rule profile" in out
    assert [line.split()[:2] for line in out.splitlines() if "COTAI" in line][-2:] == [
        ["merchant", "COTAI"],
        ["supervisor", "COTAI"],
    ]
    assert run("sandbox", "profile").strip() == "macau"
    assert "all invariants hold" in run("audit", "reconcile")
