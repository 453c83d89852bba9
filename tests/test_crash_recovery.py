"""Crash recovery: gunicorn is killed with SIGKILL in the middle of a load of
payments, restarted, and every request is retried with its Idempotency-Key.

Afterwards: no partial transfer, the hash chain is intact, every invariant
holds, and each request took effect exactly once or was refused — never twice.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from wallets.access import keys
from wallets.audit.reconcile import reconcile
from wallets.core import db as dbmod
from wallets.core.principal import SYSTEM
from wallets.retail import payments
from wallets.retail import wallet as wl
from wallets.tier1 import issuance
from wallets.tier1 import operators as ops

ROOT = Path(__file__).resolve().parents[1]
THREADS, PER_THREAD = 4, 15


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(base: str, key: str, idem: str, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(
        f"{base}/v1/transfers",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
            "Idempotency-Key": idem,
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


class Server:
    def __init__(self, url: str, tmp: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": url,
            "ECNY_IDEMPOTENCY_STALE_SECONDS": "1",
            "ECNY_SIGNING_KEY": str(tmp / "key.pem"),
            "ECNY_EXPORT_DIR": str(tmp / "exports"),
        }
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                "2",
                "--bind",
                f"127.0.0.1:{self.port}",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not come up")

    def kill(self) -> None:
        """SIGKILL the master and its workers: no chance to finish anything."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)


def _seed(url: str) -> tuple[str, list[int]]:
    database = dbmod.Database(url)
    wallets: list[int] = []
    for code in ("ICBC", "BOC"):
        database.write(ops.create, code, code)
        database.write(issuance.deposit_reserve, code, 10**10, SYSTEM)
        database.write(issuance.issue, code, 10**9, SYSTEM)
        for _ in range(3):
            w = database.write(
                lambda tx, code=code: wl.open_wallet(
                    tx,
                    SYSTEM,
                    operator_code=code,
                    wallet_class=1,
                    region="CN",
                    birth_date=date(1990, 1, 1),
                    phone_secret="s",
                )
            )
            database.write(payments.fund, w.id, 5_000_000, SYSTEM)
            wallets.append(w.id)
    admin = database.write(keys.create, "admin").key
    database.dispose()
    return admin, wallets


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def crash_url(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'crash.sqlite3'}"
        dbmod.upgrade(url)
        yield url
        return
    yield request.getfixturevalue("pg_url")


def test_sigkill_mid_load_then_retries_take_effect_exactly_once(crash_url, tmp_path):
    if not str(crash_url).startswith("sqlite"):
        dbmod.upgrade(crash_url)
    admin, wallets = _seed(crash_url)
    server = Server(crash_url, tmp_path)
    server.start()
    requests = {
        f"crash-{t}-{i}": {
            "from_wallet": wallets[(t + i) % 6],
            "to_wallet": wallets[(t + 2 * i + 1) % 6]
            if (t + i) % 6 != (t + 2 * i + 1) % 6
            else wallets[(t + i + 1) % 6],
            "amount": f"{1 + (t * 37 + i * 11) % 50}.{(t + i) % 100:02d}",
        }
        for t in range(THREADS)
        for i in range(PER_THREAD)
    }
    first: dict[str, tuple[int, dict] | str] = {}

    def load(t: int) -> None:
        for i in range(PER_THREAD):
            idem = f"crash-{t}-{i}"
            try:
                first[idem] = _call(server.base, admin, idem, requests[idem])
            except (OSError, http.client.HTTPException) as exc:  # the server died under us
                first[idem] = f"connection: {exc.__class__.__name__}"

    threads = [threading.Thread(target=load, args=(t,)) for t in range(THREADS)]
    for t in threads:
        t.start()
    # Kill once some requests are through: the rest are in flight or not sent yet.
    deadline = time.monotonic() + 20
    while len(first) < THREADS * 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    server.kill()
    for t in threads:
        t.join()
    lost = [k for k, v in first.items() if isinstance(v, str)]
    assert lost, "the kill came too late to interrupt anything"

    server.start()
    try:
        final: dict[str, tuple[int, dict]] = {}
        for idem, body in requests.items():
            deadline = time.monotonic() + 30
            while True:
                status, answer = _call(server.base, admin, idem, body)
                if status in (409, 503) and time.monotonic() < deadline:
                    time.sleep(0.3)  # a claim the crash left behind goes stale after 1 s
                    continue
                final[idem] = (status, answer)
                break
    finally:
        server.kill()

    assert {s for s, _ in final.values()} <= {201, 422}, {
        k: v for k, v in final.items() if v[0] not in (201, 422)
    }
    done = {idem: answer["id"] for idem, (status, answer) in final.items() if status == 201}
    # Whatever succeeded before the crash is the same transfer after it.
    for idem, result in first.items():
        if not isinstance(result, str) and result[0] == 201:
            assert done[idem] == result[1]["id"]
    assert len(set(done.values())) == len(done)  # no two requests share a transfer
    database = dbmod.Database(crash_url)
    with database.engine.connect() as conn:
        posted = conn.execute(
            sa.text("SELECT COUNT(*) FROM transfers WHERE kind = 'payment'")
        ).scalar_one()
    report = database.read(reconcile)
    database.dispose()
    assert posted == len(done), (
        f"{posted} payments in the ledger for {len(done)} successful requests"
    )
    assert report.ok, [c.problems for c in report.checks if not c.ok]
