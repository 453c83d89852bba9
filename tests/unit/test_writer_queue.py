"""SQLite's writers queue in front of its lock (wallets/core/db.py WriterQueue):
threads and forked processes writing one file all get their turn, one at a time."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import threading
import time

import pytest
import sqlalchemy as sa

from wallets.core import db as dbmod
from wallets.core.db import Database, WriterQueue, writer_queue
from wallets.core.errors import DomainError

COUNTER = sa.Table("counter", sa.MetaData(), sa.Column("n", sa.Integer, nullable=False))
ROUNDS = 40


def _bump(tx, marker: str) -> None:
    # Two writers at once would find the other's marker: O_EXCL refuses it.
    fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    try:
        tx.conn.execute(COUNTER.update().values(n=COUNTER.c.n + 1))
    finally:
        os.close(fd)
        os.unlink(marker)


def _writer(url: str, marker: str) -> None:
    db = Database(url)
    threads = [
        threading.Thread(target=lambda: [db.write(_bump, marker) for _ in range(ROUNDS)])
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    db.dispose()


def test_threads_and_processes_take_turns(tmp_path):
    url = f"sqlite:///{tmp_path / 'queue.sqlite3'}"
    db = Database(url)
    with db.engine.begin() as conn:
        COUNTER.create(conn)
        conn.execute(COUNTER.insert().values(n=0))
    db.write(lambda tx: None)  # the parent opens its lock file before forking
    marker = str(tmp_path / "writing")
    ctx = multiprocessing.get_context("fork")
    children = [ctx.Process(target=_writer, args=(url, marker)) for _ in range(2)]
    for child in children:
        child.start()
    _writer(url, marker)
    for child in children:
        child.join(120)
        assert child.exitcode == 0
    with db.engine.connect() as conn:
        assert conn.execute(sa.select(COUNTER.c.n)).scalar_one() == 3 * 2 * ROUNDS
    assert os.path.exists(f"{tmp_path / 'queue.sqlite3'}-writers.lock")
    db.dispose()


def _turns(queue: WriterQueue, marker: str, rounds: int) -> None:
    """Two threads taking turns; an overlap (the other's marker found) fails
    this process (a thread's exception alone would not)."""
    overlaps: list[BaseException] = []

    def run() -> None:
        try:
            for _ in range(rounds):
                with queue.turn():
                    fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                    time.sleep(0.001)
                    os.close(fd)
                    os.unlink(marker)
        except FileExistsError as exc:
            overlaps.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not overlaps, "two writers had their turn at once"


def test_a_turn_excludes_every_other_thread_and_forked_process(tmp_path):
    """The queue alone (no SQLite): a forked child must not share its parent's
    lock (a descriptor inherited through fork would), nor threads each other's."""
    queue = writer_queue(str(tmp_path / "db.sqlite3"))
    with queue.turn():
        pass  # the parent's descriptor exists before the fork
    marker = str(tmp_path / "in-turn")
    ctx = multiprocessing.get_context("fork")
    children = [ctx.Process(target=_turns, args=(queue, marker, 30)) for _ in range(2)]
    for child in children:
        child.start()
    _turns(queue, marker, 30)
    for child in children:
        child.join(120)
        assert child.exitcode == 0  # an overlap: FileExistsError in the child


def _counter_db(tmp_path) -> tuple[str, Database]:
    url = f"sqlite:///{tmp_path / 'nested.sqlite3'}"
    db = Database(url)
    with db.engine.begin() as conn:
        COUNTER.create(conn)
        conn.execute(COUNTER.insert().values(n=0))
    return url, db


def test_one_queue_per_file_and_a_write_inside_a_write_passes_through(tmp_path):
    """Two Database objects on one file share its queue; a write inside a write
    of the same thread is not made to wait for itself (it meets SQLite's lock,
    as before the queue: here the inner write's own file, so it proceeds)."""
    url, db = _counter_db(tmp_path)
    other = Database(url)
    assert db._writers is other._writers
    assert isinstance(db._writers, WriterQueue)
    inner = Database(f"sqlite:///{tmp_path / 'inner.sqlite3'}")
    with db._writers.turn(), db._writers.turn():
        pass  # re-entered in this thread: no deadlock
    db.write(lambda tx: inner.write(lambda itx: None))
    for d in (db, other, inner):
        d.dispose()


def test_a_writer_waits_no_longer_than_the_busy_timeout(tmp_path, monkeypatch):
    """Another process holding the queue past the wait answers busy, never hangs."""
    monkeypatch.setattr(dbmod, "WRITER_WAIT_SECONDS", 0.3)
    _, db = _counter_db(tmp_path)
    assert db._writers is not None
    holder = os.open(db._writers.path, os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)  # another open file: as another process's
    try:
        started = time.monotonic()
        with pytest.raises(DomainError) as refused:
            db.write(lambda tx: tx.conn.execute(COUNTER.update().values(n=COUNTER.c.n + 1)))
        assert refused.value.code == "busy"
        assert time.monotonic() - started < 5
    finally:
        fcntl.flock(holder, fcntl.LOCK_UN)
        os.close(holder)
    db.write(lambda tx: tx.conn.execute(COUNTER.update().values(n=COUNTER.c.n + 1)))
    with db.engine.connect() as conn:
        assert conn.execute(sa.select(COUNTER.c.n)).scalar_one() == 1
    db.dispose()
