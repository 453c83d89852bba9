"""Webhooks to a real HTTP receiver on 127.0.0.1 (tests/events/receiver.py):
signatures (the Standard Webhooks test vector), order per endpoint, retries
on the sandbox clock's schedule, a receiver that fails then recovers, the
disabling after N failures, redelivery, rotation, the allow-list, several
workers at once."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from standardwebhooks.webhooks import WebhookVerificationError

from app.client import verify_webhook
from wallets.core.config import Settings
from wallets.events import dispatch, signing

sys.path.insert(0, str(Path(__file__).parent))
from receiver import Receiver  # noqa: E402

START = "2026-03-02T10:00:00+08:00"
# Most of these tests run on SQLite only: what PostgreSQL changes (the
# set-based fan-out, SKIP LOCKED between workers) is tested on both.
SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])
POLICY = dispatch.Policy(timeout_seconds=2.0, retry_base_seconds=10, max_failures=8)

# The test vector of the Standard Webhooks libraries (libraries/*/tests: "sign
# function works"), github.com/standard-webhooks/standard-webhooks.
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIME = datetime.fromtimestamp(1614265330, tz=UTC)
VECTOR_BODY = '{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_signatures_follow_the_published_test_vector():
    assert signing.sign([VECTOR_SECRET], VECTOR_ID, VECTOR_TIME, VECTOR_BODY) == VECTOR_SIGNATURE
    headers = signing.headers([VECTOR_SECRET], VECTOR_ID, VECTOR_TIME, VECTOR_BODY)
    assert headers["webhook-timestamp"] == "1614265330"
    assert headers["webhook-signature"] == VECTOR_SIGNATURE
    # The client's helper verifies the vector at its time, not five minutes after.
    assert verify_webhook(VECTOR_SECRET, VECTOR_BODY.encode(), headers, now=VECTOR_TIME) == {
        "test": 2432232314
    }
    later = VECTOR_TIME + timedelta(minutes=5, seconds=1)
    for body, when, secret in [
        ('{"test": 2432232315}', VECTOR_TIME, VECTOR_SECRET),  # another body
        (VECTOR_BODY, later, VECTOR_SECRET),  # too old
        (VECTOR_BODY, VECTOR_TIME, signing.new_secret()),  # another secret
    ]:
        with pytest.raises(WebhookVerificationError):
            verify_webhook(secret, body, headers, now=when)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(
            VECTOR_SECRET, VECTOR_BODY, {**headers, "webhook-id": "msg_other"}, VECTOR_TIME
        )


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def world(sandbox):
    sb = sandbox
    sb.ok("PUT", "/v1/sandbox/clock", json={"now": START, "fixed": True})
    sb.operator("BOCMO")
    sb.operator("ICBC")
    payer = sb.wallet("BOCMO", fund="1000.00")
    payee = sb.wallet("BOCMO")
    return {"payer": payer, "payee": payee}


def _endpoint(sb, url, key="BOCMO", idem=None, **body) -> dict:
    return sb.ok("POST", "/v1/webhook-endpoints", key=key, json={"url": url, **body}, idem=idem)


def _pay(sb, world, n: int, amount="1.00") -> list[int]:
    return [
        sb.ok(
            "POST",
            "/v1/transfers",
            key="BOCMO",
            json={"from_wallet": world["payer"], "to_wallet": world["payee"], "amount": amount},
        )["id"]
        for _ in range(n)
    ]


def _deliveries(sb, endpoint_id, key="BOCMO") -> list[dict]:
    return sb.ok("GET", f"/v1/webhook-endpoints/{endpoint_id}/deliveries", key=key)["items"]


def _set_clock(sb, now: datetime) -> None:
    sb.ok("PUT", "/v1/sandbox/clock", json={"now": now.isoformat(), "fixed": True}, status=200)


def _advance(sb, seconds: int) -> None:
    sb.ok("POST", "/v1/sandbox/clock/advance", json={"seconds": seconds}, status=200)


def test_delivered_signed_in_order_and_logged(sandbox, world, receiver):
    sb = sandbox
    ep = _endpoint(sb, receiver.url, event_types=["transfer.posted"], description="cage system")
    assert ep["secret"].startswith("whsec_") and ep["status"] == "enabled"
    # The secret is shown once: never by a read.
    assert sb.ok("GET", f"/v1/webhook-endpoints/{ep['id']}", key="BOCMO")["secret"] is None
    transfers = _pay(sb, world, 3)
    other = sb.wallet("BOCMO")  # a wallet.opened event: not of the endpoint's types
    assert dispatch.run_once(sb.db, POLICY) == 3
    assert [r.event["data"]["id"] for r in receiver.received] == transfers
    feed = sb.ok("GET", "/v1/events?type=transfer.posted", key="BOCMO")["items"][-3:]
    for got, event in zip(receiver.received, feed, strict=True):
        assert verify_webhook(ep["secret"], got.body, got.headers) == event
        assert got.webhook_id == f"evt_{event['id']}"
        assert event["data"] == sb.ok("GET", f"/v1/transfers/{event['data']['id']}")
    log = _deliveries(sb, ep["id"])
    assert [(d["status"], d["attempts"], d["response_status"]) for d in log] == [
        ("succeeded", 1, 204)
    ] * 3
    assert all(d["latency_ms"] is not None and d["next_attempt_at"] is None for d in log)
    assert other and dispatch.run_once(sb.db, POLICY) == 0


@SQLITE_ONLY
def test_retries_follow_the_schedule_on_the_sandbox_clock(sandbox, world, receiver):
    """A receiver that fails three times then recovers gets every event, at
    least once and never out of order; each retry waits between half and all
    of 10 s × 2^(n−1) of sandbox time, and not a second less."""
    sb = sandbox
    receiver.answer = lambda r: 500 if len(receiver.received) <= 3 else 200
    ep = _endpoint(sb, receiver.url, event_types=["transfer.posted"])
    transfers = _pay(sb, world, 3)
    for failures in (1, 2, 3):
        assert dispatch.run_once(sb.db, POLICY) == 1  # the head fails; the rest wait behind it
        (head, *rest) = _deliveries(sb, ep["id"])
        assert head["attempts"] == failures and head["response_status"] == 500
        assert [d["attempts"] for d in rest] == [0, 0]
        wait = datetime.fromisoformat(head["next_attempt_at"]) - datetime.fromisoformat(
            head["last_attempt_at"]
        )
        full = 10 * 2 ** (failures - 1)
        assert full / 2 <= wait.total_seconds() <= full
        assert (
            sb.ok("GET", f"/v1/webhook-endpoints/{ep['id']}", key="BOCMO")["failures"] == failures
        )
        due = datetime.fromisoformat(head["next_attempt_at"])
        _set_clock(sb, due - timedelta(milliseconds=1))
        assert dispatch.run_once(sb.db, POLICY) == 0  # not yet due
        assert not sb.db.read(dispatch.has_work, datetime.now(UTC))  # nor a write to find so
        _set_clock(sb, due)
    assert dispatch.run_once(sb.db, POLICY) == 3  # recovered: the head, then the rest
    data = [r.event["data"]["id"] for r in receiver.received]
    assert data == [transfers[0]] * 4 + transfers[1:]
    assert [d["status"] for d in _deliveries(sb, ep["id"])] == ["succeeded"] * 3
    assert sb.ok("GET", f"/v1/webhook-endpoints/{ep['id']}", key="BOCMO")["failures"] == 0


@SQLITE_ONLY
def test_disabled_after_n_failures_then_enabled_gets_everything(sandbox, world, receiver):
    sb = sandbox
    policy = dispatch.Policy(timeout_seconds=2.0, retry_base_seconds=1, max_failures=3)
    healthy = [False]
    receiver.answer = lambda r: 200 if healthy[0] else 503
    ep = _endpoint(sb, receiver.url, event_types=["transfer.posted"])
    transfers = _pay(sb, world, 2)
    for _ in range(3):
        assert dispatch.run_once(sb.db, policy) == 1
        _advance(sb, 60)
    got = sb.ok("GET", f"/v1/webhook-endpoints/{ep['id']}", key="BOCMO")
    assert got["status"] == "disabled" and got["disabled_reason"] == "3 failed attempts in a row"
    assert dispatch.run_once(sb.db, policy) == 0  # a disabled endpoint is sent nothing
    assert not sb.db.read(dispatch.has_work, datetime.now(UTC))
    more = _pay(sb, world, 1)  # events still queue for it
    healthy[0] = True
    r = sb.call("POST", f"/v1/webhook-endpoints/{ep['id']}/enable", key="BOCMO")
    assert r.status_code == 200 and r.get_json()["status"] == "enabled"
    r = sb.call("POST", f"/v1/webhook-endpoints/{ep['id']}/enable", key="BOCMO")
    assert r.get_json()["code"] == "webhook_endpoint_already_enabled"
    assert dispatch.run_once(sb.db, policy) == 3
    delivered = [r.event["data"]["id"] for r in receiver.received if r is not None]
    assert delivered[-3:] == transfers + more


@SQLITE_ONLY
def test_manual_redelivery_and_disabling(sandbox, world, receiver):
    sb = sandbox
    ep = _endpoint(sb, receiver.url, event_types=["transfer.posted"])
    _pay(sb, world, 2)
    dispatch.run_once(sb.db, POLICY)
    first = _deliveries(sb, ep["id"])[0]
    again = sb.ok(
        "POST", f"/v1/webhook-endpoints/{ep['id']}/deliveries/{first['id']}/redeliver", key="BOCMO"
    )
    assert (
        again["manual"] and again["status"] == "pending" and again["event_id"] == first["event_id"]
    )
    assert dispatch.run_once(sb.db, POLICY) == 1
    assert (
        receiver.received[-1].webhook_id == f"evt_{first['event_id']}"
    )  # the same id: a duplicate
    assert _deliveries(sb, ep["id"], key="admin")[-1]["status"] == "succeeded"
    # Another operator's key sees neither the endpoint nor its deliveries.
    for path in (
        f"/v1/webhook-endpoints/{ep['id']}",
        f"/v1/webhook-endpoints/{ep['id']}/deliveries",
    ):
        assert sb.call("GET", path, key="ICBC").get_json()["code"] == "webhook_endpoint_not_found"
    r = sb.call("POST", f"/v1/webhook-endpoints/{ep['id']}/deliveries/999/redeliver", key="BOCMO")
    assert r.status_code == 404 and r.get_json()["code"] == "webhook_delivery_not_found"
    sb.ok("POST", f"/v1/webhook-endpoints/{ep['id']}/disable", key="BOCMO", status=200)
    r = sb.call("POST", f"/v1/webhook-endpoints/{ep['id']}/disable", key="BOCMO")
    assert r.status_code == 409 and r.get_json()["code"] == "webhook_endpoint_already_disabled"
    _pay(sb, world, 1)
    assert dispatch.run_once(sb.db, POLICY) == 0


@SQLITE_ONLY
def test_rotation_signs_with_both_secrets_for_a_day(sandbox, world, receiver):
    sb = sandbox
    ep = _endpoint(sb, receiver.url, event_types=["transfer.posted"], idem="make-endpoint")
    replay = sb.call(
        "POST",
        "/v1/webhook-endpoints",
        key="BOCMO",
        json={"url": receiver.url, "event_types": ["transfer.posted"]},
        idem="make-endpoint",
    )
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json()["secret"] is None and replay.get_json()["id"] == ep["id"]
    rotated = sb.ok(
        "POST", f"/v1/webhook-endpoints/{ep['id']}/rotate-secret", key="BOCMO", status=200
    )
    assert rotated["secret"] not in (None, ep["secret"])
    _pay(sb, world, 1)
    dispatch.run_once(sb.db, POLICY)
    got = receiver.received[-1]
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    for secret in (ep["secret"], rotated["secret"]):
        verify_webhook(secret, got.body, got.headers)
    _advance(sb, 24 * 3600)  # the old secret's day is over
    _pay(sb, world, 1)
    dispatch.run_once(sb.db, POLICY)
    got = receiver.received[-1]
    verify_webhook(rotated["secret"], got.body, got.headers)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(ep["secret"], got.body, got.headers)


@SQLITE_ONLY
def test_outbound_hosts_outside_the_allow_list_are_refused(sandbox):
    sandbox.operator("BOCMO")
    for url, code in [
        ("http://example.com/hooks", "webhook_url_not_allowed"),
        ("http://10.0.0.1:8080/hooks", "webhook_url_not_allowed"),
        ("https://169.254.169.254/latest/meta-data", "webhook_url_not_allowed"),
        ("http://127.0.0.1.nip.io/hooks", "webhook_url_not_allowed"),
        ("ftp://127.0.0.1/hooks", "validation_failed"),
        ("http://user:pw@127.0.0.1/hooks", "validation_failed"),
        ("http://127.0.0.1:99999/hooks", "validation_failed"),
        ("127.0.0.1/hooks", "validation_failed"),
    ]:
        r = sandbox.call("POST", "/v1/webhook-endpoints", key="BOCMO", json={"url": url})
        assert (r.status_code, r.get_json()["code"]) == (422, code), url
    assert sandbox.ok("GET", "/v1/webhook-endpoints", key="BOCMO")["items"] == []


@SQLITE_ONLY
def test_a_host_taken_off_the_allow_list_is_not_reached(sandbox, world, receiver):
    sb = sandbox
    ep = _endpoint(sb, receiver.url, event_types=["transfer.posted"])
    _pay(sb, world, 1)
    narrower = dispatch.Policy.from_settings(Settings(webhook_allowed_hosts=("localhost",)))
    assert dispatch.run_once(sb.db, narrower) == 1
    assert receiver.received == []
    (d,) = _deliveries(sb, ep["id"])
    assert d["status"] == "pending" and "127.0.0.1 is not one of the hosts" in d["error"]


def test_several_workers_deliver_each_event_once_in_order(sandbox, world, receiver):
    sb = sandbox
    other = Receiver().start()
    try:
        eps = [_endpoint(sb, r.url, event_types=["transfer.posted"]) for r in (receiver, other)]
        transfers = _pay(sb, world, 12)
        workers = dispatch.Dispatcher(sb.db, POLICY, workers=3, interval=0.01).start()
        try:
            receiver.wait_for(12)
            other.wait_for(12)
        finally:
            workers.stop(timeout=10)
        for r in (receiver, other):
            assert [x.event["data"]["id"] for x in r.received] == transfers
        for ep in eps:
            assert {d["status"] for d in _deliveries(sb, ep["id"])} == {"succeeded"}
    finally:
        other.stop()


@SQLITE_ONLY
def test_make_runs_server_delivers_from_a_thread(sandbox, world, receiver, monkeypatch):
    """`ecny serve --dispatch` (make run): gunicorn's when_ready starts the
    dispatcher in the server's process, on_exit stops it."""
    from types import SimpleNamespace

    from app.cli import gunicorn_hooks

    sb = sandbox
    monkeypatch.setenv("DATABASE_URL", sb.db.url)
    server = SimpleNamespace(log=SimpleNamespace(info=lambda *a: None))
    monkeypatch.setenv(gunicorn_hooks.DISPATCH_ENV, "0")
    gunicorn_hooks.when_ready(server)  # `make serve`: no thread
    assert gunicorn_hooks._running == []
    monkeypatch.setenv(gunicorn_hooks.DISPATCH_ENV, "1")
    gunicorn_hooks.when_ready(server)
    try:
        ((dispatcher, _db),) = gunicorn_hooks._running
        assert all(t.is_alive() for t in dispatcher.threads)
        _endpoint(sb, receiver.url, event_types=["transfer.posted"])
        (paid,) = _pay(sb, world, 1)
        receiver.wait_for(1)
        assert receiver.received[0].event["data"]["id"] == paid
    finally:
        gunicorn_hooks.on_exit(server)
    assert gunicorn_hooks._running == [] and not any(t.is_alive() for t in dispatcher.threads)


def test_the_webhook_settings_from_the_environment():
    s = Settings.from_env(
        {
            "ECNY_WEBHOOK_ALLOWED_HOSTS": " Hooks.Example ,127.0.0.1,,",
            "ECNY_WEBHOOK_TIMEOUT_SECONDS": "120",
            "ECNY_WEBHOOK_MAX_FAILURES": "3",
        }
    )
    assert s.webhook_allowed_hosts == ("hooks.example", "127.0.0.1")
    assert s.webhook_timeout_seconds == 30.0  # bounded
    policy = dispatch.Policy.from_settings(s)
    assert (policy.max_failures, policy.timeout_seconds) == (3, 30.0)
    assert Settings.from_env({}).webhook_allowed_hosts == ("127.0.0.1", "localhost", "::1")
    # The schedule: 10 s doubling up to an hour, times 0.5 to 1.
    assert [dispatch.backoff(POLICY, n, lambda: 1.0).total_seconds() for n in (1, 2, 3, 9, 20)] == [
        10,
        20,
        40,
        2560,
        3600,
    ]
    assert dispatch.backoff(POLICY, 3, lambda: 0.0).total_seconds() == 20


@SQLITE_ONLY
def test_the_client_reads_the_feed_and_manages_endpoints(sandbox, world, receiver):
    from app.client import ApiError, Client

    sb = sandbox
    client = Client.in_process(sb.app, sb.keys["BOCMO"])
    _pay(sb, world, 3)
    events = client.all_events()  # `every` over the feed, 500 at a time
    assert events == sb.ok("GET", "/v1/events?limit=500", key="BOCMO")["items"]
    assert [e["id"] for e in Client.every(client.events, type=["transfer.posted"])] == [
        e["id"] for e in events if e["type"] == "transfer.posted"
    ]
    ep = client.create_webhook_endpoint(receiver.url, event_types=["transfer.posted"])
    assert client.webhook_endpoints()["items"] == [{**ep, "secret": None}]
    (paid,) = _pay(sb, world, 1)
    dispatch.run_once(sb.db, POLICY)
    got = receiver.received[-1]
    assert verify_webhook(ep["secret"], got.body, got.headers)["data"]["id"] == paid
    (delivery,) = client.webhook_deliveries(ep["id"], status="succeeded")["items"]
    assert client.redeliver_webhook(ep["id"], delivery["id"])["manual"] is True
    assert client.rotate_webhook_secret(ep["id"])["secret"] != ep["secret"]
    assert client.disable_webhook_endpoint(ep["id"])["status"] == "disabled"
    assert client.enable_webhook_endpoint(ep["id"])["status"] == "enabled"
    with pytest.raises(ApiError) as refused:
        Client.in_process(sb.app, sb.keys["ICBC"]).webhook_endpoint(ep["id"])
    assert refused.value.code == "webhook_endpoint_not_found"


@SQLITE_ONLY
def test_revoking_a_key_disables_the_endpoints_it_made(sandbox, world, receiver):
    """An endpoint stops with the key that made it (its pending deliveries wait);
    the scope's other keys and the admin still see it and may enable it."""
    sb = sandbox
    made = sb.ok("POST", "/v1/keys", json={"role": "operator", "operator": "BOCMO"})
    sb.keys["BOCMO_2"] = made["key"]
    ep = _endpoint(sb, receiver.url, key="BOCMO_2", event_types=["transfer.posted"])
    kept = _endpoint(sb, receiver.url, key="BOCMO", event_types=["transfer.posted"])
    _pay(sb, world, 1)
    assert dispatch.run_once(sb.db, POLICY) == 2  # one round serves both
    sb.ok("POST", f"/v1/keys/{made['id']}/revoke", status=200)
    got = sb.ok("GET", f"/v1/webhook-endpoints/{ep['id']}", key="BOCMO")
    assert got["status"] == "disabled"
    assert got["disabled_reason"] == f"its API key {made['id']} was revoked"
    assert sb.ok("GET", f"/v1/webhook-endpoints/{kept['id']}", key="BOCMO")["status"] == "enabled"
    _pay(sb, world, 2)
    assert dispatch.run_once(sb.db, POLICY) == 2  # the kept endpoint's two, none to the other
    assert [d["status"] for d in _deliveries(sb, ep["id"])] == ["succeeded", "pending", "pending"]
    sb.ok("POST", f"/v1/webhook-endpoints/{ep['id']}/enable", key="BOCMO", status=200)
    assert dispatch.run_once(sb.db, POLICY) == 2  # what waited, in order
    assert [d["status"] for d in _deliveries(sb, ep["id"])] == ["succeeded"] * 3
