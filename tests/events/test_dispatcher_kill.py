"""A dispatcher process (`ecny events dispatch`) SIGKILLed mid-batch loses
nothing: once its lease has run out, another worker sends again what was in
flight (at least once, the same webhook-id) and the rest, in order."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from wallets.events import dispatch

sys.path.insert(0, str(Path(__file__).parent))
from receiver import Receiver  # noqa: E402

ECNY = Path(sys.executable).parent / "ecny"


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


# The lease and the pending rows behave alike on both databases (the workers'
# SKIP LOCKED on PostgreSQL: tests/events/test_webhooks.py); a process start
# is the cost, paid once.
@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_dispatcher_killed_mid_batch_loses_nothing(sandbox, receiver, tmp_path):
    sb = sandbox
    sb.operator("BOCMO")
    payer, payee = sb.wallet("BOCMO", fund="100.00"), sb.wallet("BOCMO")
    ep = sb.ok(
        "POST",
        "/v1/webhook-endpoints",
        key="BOCMO",
        json={"url": receiver.url, "event_types": ["transfer.posted"]},
    )
    transfers = [
        sb.ok(
            "POST",
            "/v1/transfers",
            key="BOCMO",
            json={"from_wallet": payer, "to_wallet": payee, "amount": "1.00"},
        )["id"]
        for _ in range(6)
    ]
    release = threading.Event()

    def answer(got) -> int:
        if len(receiver.received) == 3:  # the third request hangs until the kill
            release.wait(10)
        return 200

    receiver.answer = answer
    env = {**os.environ, "DATABASE_URL": sb.db.url}
    proc = subprocess.Popen(
        [str(ECNY), "events", "dispatch", "--lease-seconds", "1", "--interval", "0.05"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        receiver.wait_for(3, timeout=30)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        release.set()
    assert proc.returncode == -signal.SIGKILL
    log = sb.ok("GET", f"/v1/webhook-endpoints/{ep['id']}/deliveries", key="BOCMO")["items"]
    assert [d["status"] for d in log] == ["succeeded"] * 2 + ["pending"] * 4
    # Another worker takes over once the dead one's lease (1 s) has run out.
    deadline = time.monotonic() + 10
    while len(receiver.received) < 7 and time.monotonic() < deadline:
        if not dispatch.run_once(sb.db, dispatch.Policy(timeout_seconds=2.0)):
            time.sleep(0.1)
    sent = [r.event["data"]["id"] for r in receiver.received]
    assert sent == transfers[:3] + transfers[2:]  # the one in flight twice, then the rest
    assert receiver.received[2].webhook_id == receiver.received[3].webhook_id
    log = sb.ok("GET", f"/v1/webhook-endpoints/{ep['id']}/deliveries", key="BOCMO")["items"]
    assert [d["status"] for d in log] == ["succeeded"] * 6
