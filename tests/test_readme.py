"""The README's curl walk-through works as written, against a live server."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app import create_app
from wallets import db as dbmod
from wallets.config import Settings
from wallets.seed import seed_demo

ROOT = Path(__file__).resolve().parents[1]


def walkthrough() -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- walkthrough:[^>]*-->\s*```bash\n(.*?)```", text, re.S)
    assert match, "README.md lost its walk-through block"
    return match.group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_readme_walkthrough(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    dbmod.upgrade(url)
    settings = Settings(database_url=url)
    database = dbmod.Database(url)
    seeded = seed_demo(database, settings)
    keys = {(k.role, k.operator_code): k.key for k in seeded.keys}
    app = create_app({"SETTINGS": settings, "DATABASE": database})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        env = {
            "PATH": "/usr/bin:/bin",
            "BASE": f"http://127.0.0.1:{server.server_port}",
            "CB": keys[("central_bank", None)],
            "ICBC": keys[("operator", "ICBC")],
            "AUDITOR": keys[("auditor", None)],
        }
        script = "set -euo pipefail\n" + walkthrough().replace("\ncurl ", "\necho; curl ")
        done = subprocess.run(
            ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stdout + done.stderr
        bodies = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    finally:
        server.shutdown()
        database.dispose()
    issued, funded, paid, replayed, balance, icbc, report = bodies
    assert issued["kind"] == "issuance" and issued["amount"] == "1000000.00"
    assert funded["to_wallet"] == 2 and funded["amount"] == "2500.50"
    assert paid["to_operator"] == "BOCMO" and len(paid["entries"]) == 3
    assert replayed == paid
    assert balance["balance"] == "81265.94"  # 80,000.00 seeded + 2,500.50 - 1,234.56
    assert icbc["reconciled"] is True
    assert report["ok"] is True
