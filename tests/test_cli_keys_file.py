"""`ecny seed demo --keys-file FILE`: the demo's keys, machine-readable, for
the owner's eyes only; and the hints name `--role`."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main
from wallets.access import keys
from wallets.core import db as dbmod
from wallets.core.db import Database

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def database_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("ECNY_SIGNING_KEY", str(tmp_path / "cb.pem"))
    dbmod.upgrade(url)
    return url


def _run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, result.output + repr(result.exception)
    return result.output


def test_seed_demo_writes_its_keys_as_json_with_mode_0600(database_url, tmp_path):
    path = tmp_path / "secrets" / "demo-keys.json"
    path.parent.mkdir()
    path.write_text("an old file, readable by all")
    path.chmod(0o644)
    out = _run("seed", "demo", "--keys-file", str(path))
    assert f"The keys are in {path} too" in out
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    found = json.loads(path.read_text())
    assert set(found) == {"admin", "central_bank", "auditor", "operator", "merchant", "supervisor"}
    assert set(found["operator"]) == {"ICBC", "BOC", "BOCMO"}
    assert set(found["merchant"]) == set(found["supervisor"]) == {"COTAI"}
    printed = {line.split()[-1] for line in out.splitlines() if "ecny_" in line}
    every_key = [found[r] for r in ("admin", "central_bank", "auditor")] + [
        k for r in ("operator", "merchant", "supervisor") for k in found[r].values()
    ]
    assert set(every_key) == printed and len(every_key) == 8
    # Each is the key of its role and scope.
    db = Database(database_url)
    try:
        icbc = db.read(keys.authenticate, found["operator"]["ICBC"])
        assert (icbc.role, icbc.operator_code) == ("operator", "ICBC")
        assert db.read(keys.authenticate, found["auditor"]).role == "auditor"
    finally:
        db.dispose()
    assert os.listdir(path.parent) == ["demo-keys.json"]  # no temporary file left

    # Seeded already: no keys to write, and the file keeps the ones it has.
    again = _run("seed", "demo", "--keys-file", str(path))
    assert "already seeded" in again and "is left as it is" in again
    assert "`ecny keys create --role ROLE`" in again
    assert json.loads(path.read_text()) == found


def test_a_keys_file_that_cannot_be_written_stops_the_seed(database_url, tmp_path):
    blocked = tmp_path / "blocked"
    blocked.write_text("")  # a file where the directory should be
    bad = CliRunner().invoke(main, ["seed", "demo", "--keys-file", str(blocked / "keys.json")])
    assert bad.exit_code == 1 and "cannot write" in bad.output
    # Nothing was seeded: the keys are not lost, they are still to be made.
    assert "Demo sandbox seeded" in _run("seed", "demo")


def test_the_hints_for_more_keys_name_the_role():
    for doc in (
        "README.md",
        "docs/api.md",
        "docs/console.md",
        "app/cli/keys.py",
        "app/cli/seed.py",
        "app/console/templates/console/sign_in.html",
    ):
        text = (ROOT / doc).read_text()
        hints = [text[m.start() : m.start() + 40] for m in re.finditer("ecny keys create", text)]
        assert hints and all("ecny keys create --role" in h for h in hints), (doc, hints)
