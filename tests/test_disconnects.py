"""A database connection lost under a request: the request runs again on a
fresh connection or answers 503 busy with Retry-After, never a 500; nothing
is half-written (the conftest reconciles after each test); and the server log
holds none of the request's values."""

from __future__ import annotations

import logging
import threading
import time

import pytest
import sqlalchemy as sa

from wallets.ledger import posting as ledger

SECRET_REFERENCE = "ref-Zq8vX3"
SECRET_KEY = "idem-Wm4kP7"
SECRET_AMOUNT = "987.65"


def _pay(demo, amount="10.00", idem=None, reference=None):
    a, b = demo.demo_wallets["a"], demo.demo_wallets["b"]
    body = {"from_wallet": a, "to_wallet": b, "amount": amount}
    if reference is not None:
        body["reference"] = reference
    return demo.post("/v1/transfers", body, key="ICBC", idem=idem)


class _Lost(Exception):
    """Stands for the driver's error when the server goes away."""


def _cut_the_next_commit_after_the_work(demo, monkeypatch) -> list[bool]:
    """The COMMIT of the next transaction that posts a payment is applied, and
    then its connection is reported lost: the client cannot know the outcome."""
    dialect = demo.db.engine.dialect
    armed: list[bool] = []
    real_commit, real_is_disconnect = dialect.do_commit, dialect.is_disconnect
    lock_accounts = ledger.lock_accounts

    def arm(tx, ids):
        armed.append(True)
        return lock_accounts(tx, ids)

    def do_commit(dbapi_connection):
        real_commit(dbapi_connection)
        if armed and armed[-1]:
            armed[-1] = False
            raise dialect.loaded_dbapi.OperationalError("server closed the connection")

    def is_disconnect(e, connection, cursor):
        if isinstance(e, dialect.loaded_dbapi.OperationalError) and "server closed" in str(e):
            return True
        return real_is_disconnect(e, connection, cursor)

    monkeypatch.setattr(ledger, "lock_accounts", arm)
    monkeypatch.setattr(dialect, "do_commit", do_commit)
    monkeypatch.setattr(dialect, "is_disconnect", is_disconnect)
    return armed


def test_a_keyed_write_whose_commit_is_cut_off_pays_once(demo, monkeypatch):
    """With an Idempotency-Key the write runs again: its second run finds the
    answer the first one stored, so it pays nothing more and replays it."""
    entries = demo.journal_count()
    armed = _cut_the_next_commit_after_the_work(demo, monkeypatch)
    r = _pay(demo, idem="cut-1")
    assert armed, "the payment never reached its commit"
    assert r.status_code == 201, r.get_json()
    # The answer is the request's own, not a replay of another's: no
    # Idempotent-Replayed header, and one audit event for it.
    assert r.headers.get("Idempotent-Replayed") is None
    again = _pay(demo, idem="cut-1")
    assert again.status_code == 201 and again.get_json() == r.get_json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert demo.balance(demo.demo_wallets["a"]) == "990.00"
    assert demo.journal_count() == entries + 1
    events = demo.ok("GET", "/v1/audit/events?path_prefix=/v1/transfers", key="auditor")["items"]
    assert [(e["status"], e["replayed"]) for e in events if e["idempotency_key"] == "cut-1"] == [
        (201, False),
        (201, True),
    ]


def test_a_keyed_write_whose_commit_is_cut_off_answers_its_success_not_a_refusal(demo, monkeypatch):
    """The whole balance paid: run again, the work itself would be refused
    (insufficient_funds) though the first run's payment committed. The second
    run checks its claim first and answers the stored 201."""
    a = demo.demo_wallets["a"]
    entries = demo.journal_count()
    whole = demo.balance(a)
    armed = _cut_the_next_commit_after_the_work(demo, monkeypatch)
    r = _pay(demo, amount=whole, idem="cut-all")
    assert armed, "the payment never reached its commit"
    assert r.status_code == 201, r.get_json()
    assert demo.balance(a) == "0.00" and demo.journal_count() == entries + 1
    again = _pay(demo, amount=whole, idem="cut-all")
    assert again.status_code == 201 and again.get_json() == r.get_json()
    codes = [
        e["error_code"]
        for e in demo.ok("GET", "/v1/audit/events?path_prefix=/v1/transfers", key="auditor")[
            "items"
        ]
    ]
    assert "insufficient_funds" not in codes


def test_a_write_without_a_key_whose_commit_is_cut_off_is_503_outcome_unknown(demo, monkeypatch):
    """Without a key a second run could pay twice: the answer is busy, and says
    that the write may have been applied (here it was)."""
    _cut_the_next_commit_after_the_work(demo, monkeypatch)
    r = _pay(demo)
    assert r.status_code == 503, r.get_json()
    assert r.get_json()["code"] == "busy" and "may or may not" in r.get_json()["detail"]
    assert r.headers["Retry-After"] == "1"
    assert demo.balance(demo.demo_wallets["a"]) == "990.00"


# ---- PostgreSQL: backends terminated by an administrator -------------------------


def _terminate(demo, where: str = "TRUE") -> int:
    """pg_terminate_backend every connection of the sandbox's database but this one."""
    with demo.db.engine.connect() as conn:
        n = conn.execute(
            sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid() AND " + where
            )
        ).scalar_one()
    return n


def _terminate_the_waiting_one(demo, locker) -> None:
    """Terminate the backend that waits on ``locker``'s lock, once there is one."""
    mine = locker.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
    for _ in range(200):
        # pg_stat_activity is read once per transaction: poll from another connection.
        with demo.db.engine.connect() as poller:
            killed = poller.execute(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    " AND :mine = ANY(pg_blocking_pids(pid))"
                ),
                {"mine": mine},
            ).scalar_one()
            poller.commit()
        if killed:
            return
        time.sleep(0.05)
    raise AssertionError("no request waited on the lock")


def _in_thread(fn) -> tuple[threading.Thread, list]:
    out: list = []
    thread = threading.Thread(target=lambda: out.append(fn()))
    thread.start()
    return thread, out


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
def test_connections_killed_between_requests_are_replaced(demo):
    a = demo.demo_wallets["a"]
    for _ in range(3):
        assert _pay(demo).status_code == 201  # the pool holds connections now
        _terminate(demo)
        assert demo.get(f"/v1/wallets/{a}/balance").status_code == 200
        _terminate(demo)
        r = _pay(demo)
        assert r.status_code == 201, r.get_json()
        _terminate(demo)
        r = _pay(demo, idem=f"between-{_}")
        assert r.status_code == 201, r.get_json()
    assert demo.balance(a) == "910.00"


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
@pytest.mark.parametrize("idem", [None, "killed-while-waiting"])
def test_a_write_whose_connection_is_killed_mid_request_runs_again(demo, idem):
    """The request waits on the payer's account row (locked from another
    connection); its backend is terminated; the write runs again on a fresh
    connection once the lock is gone and pays once."""
    a = demo.demo_wallets["a"]
    entries = demo.journal_count()
    with demo.db.engine.connect() as locker:
        locker.execute(sa.text("SELECT id FROM accounts WHERE wallet_id = :w FOR UPDATE"), {"w": a})
        thread, out = _in_thread(lambda: _pay(demo, idem=idem))
        _terminate_the_waiting_one(demo, locker)
        locker.rollback()
    thread.join(30)
    (r,) = out
    assert r.status_code == 201, r.get_json()
    assert demo.balance(a) == "990.00"
    assert demo.journal_count() == entries + 1


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
def test_a_read_whose_connection_is_killed_mid_request_runs_again(demo):
    a = demo.demo_wallets["a"]
    with demo.db.engine.connect() as locker:
        locker.execute(sa.text("LOCK TABLE wallets IN ACCESS EXCLUSIVE MODE"))
        thread, out = _in_thread(lambda: demo.get(f"/v1/wallets/{a}", key="ICBC"))
        _terminate_the_waiting_one(demo, locker)
        locker.rollback()
    thread.join(30)
    (r,) = out
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["id"] == a


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
def test_a_server_that_keeps_dropping_connections_answers_503(demo, monkeypatch):
    """Every connection dies at its first statement: busy with Retry-After."""
    a = demo.demo_wallets["a"]
    dialect = demo.db.engine.dialect
    monkeypatch.setattr(dialect, "is_disconnect", lambda *_: True)
    monkeypatch.setattr(
        ledger, "lock_accounts", lambda *_: (_ for _ in ()).throw(_raise_driver_error(demo))
    )
    r = _pay(demo)
    assert r.status_code == 503 and r.get_json()["code"] == "busy"
    assert r.headers["Retry-After"] == "1"
    monkeypatch.undo()
    assert demo.balance(a) == "1000.00"


def _raise_driver_error(demo):
    with demo.db.engine.connect() as conn:
        try:
            conn.exec_driver_sql("SELECT 1/0")
        except sa.exc.DBAPIError as exc:
            return exc
    raise AssertionError("unreachable")


# ---- the server log ---------------------------------------------------------------


def _log_text(caplog) -> str:
    formatter = logging.Formatter()
    return "\n".join(
        record.getMessage()
        + (formatter.formatException(record.exc_info) if record.exc_info else "")
        + (record.stack_info or "")
        for record in caplog.records
    )


def _assert_no_request_values(demo, text: str) -> None:
    a, b = demo.demo_wallets["a"], demo.demo_wallets["b"]
    for secret in (SECRET_REFERENCE, SECRET_KEY, SECRET_AMOUNT, "98765"):
        assert secret not in text
    assert "parameters:" not in text
    assert f"{a}, {b}" not in text and f"'from_wallet': {a}" not in text


def test_a_database_error_logs_no_value_of_the_request(demo, monkeypatch, caplog):
    """A database error whose text quotes the request's values (its SQL
    parameters, a PostgreSQL DETAIL line) reaches the 500 handler, and the audit
    log's own write fails: the server log names neither."""
    from wallets.audit import log as audit_log

    a, b = demo.demo_wallets["a"], demo.demo_wallets["b"]
    leaky = sa.exc.IntegrityError(
        "INSERT INTO transfers (amount, reference) VALUES (?, ?)",
        (98765, SECRET_REFERENCE, a, b, SECRET_KEY),
        Exception(f"DETAIL: Key (reference)=({SECRET_REFERENCE}, {SECRET_AMOUNT}) exists"),
    )

    def fail(*_args, **_kwargs):
        raise leaky

    caplog.set_level(logging.INFO)
    monkeypatch.setattr(ledger, "lock_accounts", fail)
    monkeypatch.setattr(audit_log, "record", fail)
    r = _pay(demo, amount=SECRET_AMOUNT, idem=SECRET_KEY, reference=SECRET_REFERENCE)
    assert r.status_code == 500
    monkeypatch.undo()
    text = _log_text(caplog)
    assert "unhandled error on POST /v1/transfers" in text and "IntegrityError" in text
    assert "could not record POST /v1/transfers" in text
    _assert_no_request_values(demo, text)


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
def test_a_dropped_connection_logs_no_value_of_the_request(demo, caplog):
    """The case of the issue: a connection terminated under a keyed payment,
    with every logger at INFO (SQLAlchemy's own included)."""
    a = demo.demo_wallets["a"]
    caplog.set_level(logging.INFO)
    with demo.db.engine.connect() as locker:
        locker.execute(sa.text("SELECT id FROM accounts WHERE wallet_id = :w FOR UPDATE"), {"w": a})
        thread, out = _in_thread(
            lambda: _pay(demo, amount=SECRET_AMOUNT, idem=SECRET_KEY, reference=SECRET_REFERENCE)
        )
        _terminate_the_waiting_one(demo, locker)
        locker.rollback()
    thread.join(30)
    assert out[0].status_code == 201
    text = _log_text(caplog)
    assert "connection lost" in text
    _assert_no_request_values(demo, text)


def test_an_unreachable_database_answers_503_busy(tmp_path):
    """No server at all (nothing listens on the port): reads, writes and the
    API-key check answer busy with Retry-After, not 500."""
    from app import create_app
    from wallets.core.config import Settings
    from wallets.core.db import Database

    url = "postgresql+psycopg://postgres@127.0.0.1:9/nothing"
    settings = Settings(database_url=url, signing_key_path=tmp_path / "k.pem")
    app = create_app({"TESTING": True, "SETTINGS": settings, "DATABASE": Database(url)})
    client = app.test_client()
    auth = {"Authorization": "Bearer ecny_whatever"}
    for r in (
        client.get("/v1/wallets", headers=auth),
        client.post("/v1/transfers", json={"amount": "1.00"}, headers=auth),
    ):
        assert r.status_code == 503 and r.get_json()["code"] == "busy", r.get_json()
        assert r.headers["Retry-After"] == "1"
