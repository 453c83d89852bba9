"""docs/macau.md's curl walk-through of a gaming day works as written, against a live server."""

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
    text = (ROOT / "docs/macau.md").read_text()
    match = re.search(r"<!-- walkthrough:[^>]*-->\s*```bash\n(.*?)```", text, re.S)
    assert match, "docs/macau.md lost its walk-through block"
    return match.group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_macau_walkthrough(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    dbmod.upgrade(url)
    settings = Settings(database_url=url)
    database = dbmod.Database(url)
    seeded = seed_demo(database, settings)
    keys = {(k.role, k.casino_ref): k.key for k in seeded.keys}
    app = create_app({"SETTINGS": settings, "DATABASE": database})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        env = {
            "PATH": "/usr/bin:/bin",
            "BASE": f"http://127.0.0.1:{server.server_port}",
            "ADMIN": keys[("admin", None)],
            "CASINO": keys[("merchant", "COTAI")],
            "DICJ": keys[("supervisor", "COTAI")],
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
    clock, rules, *ho, cn_buy, cn_play, cn_out, anon, ho_buy, ho_out = bodies[:11]
    alerts, acked, escalated, _advanced, report, players = bodies[11:]
    assert clock["local_now"] == "2026-03-02T10:00:00+08:00"
    assert rules["name"] == "macau" and rules["derived"]["ltr_threshold_cny"] == "454545.46"
    assert [op["kind"] for op in ho] == ["buy_in", "play", "play"]
    assert [a["type"] for a in cn_buy["alerts"]] == ["mainland_wallet"]
    assert cn_buy["transfers"][0]["from_operator"] == "ICBC"
    assert (cn_play["kind"], cn_out["kind"]) == ("play", "cash_out")
    assert anon["code"] == "identified_wallet_required"
    assert [a["type"] for a in ho_buy["alerts"]] == ["structuring"]
    assert [a["type"] for a in ho_out["alerts"]] == ["ltr", "minimal_play"]
    assert [a["type"] for a in alerts["items"]] == [
        "mainland_wallet",
        "structuring",
        "ltr",
        "minimal_play",
    ]
    assert acked["status"] == "acknowledged"
    assert (escalated["status"], escalated["str_reference"]) == ("escalated", "STR-000002")
    assert (report["ggr"], report["ok"]) == ("23000.00", True)
    assert report["special_gaming_tax"]["amount"] == "8050.00"
    assert report["contributions"]["amount"] == "1150.00"
    assert report["sweep"]["amount"] == "13800.00"
    assert {p["player"]: p["net_result"] for p in players["items"]} == {
        1: "-20000.00",
        9: "-3000.00",
    }
