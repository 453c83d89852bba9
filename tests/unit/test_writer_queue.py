"""SQLite's writers queue in front of its lock (wallets/core/db.py WriterQueue):
threads and forked processes writing one file all get their turn, one at a time."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time

import sqlalchemy as sa

from wallets.core.db import Database, WriterQueue

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
    def run() -> None:
        for _ in range(rounds):
            with queue.turn():
                fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                time.sleep(0.001)
                os.close(fd)
                os.unlink(marker)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_a_turn_excludes_every_other_thread_and_forked_process(tmp_path):
    """The queue alone (no SQLite): a forked child must not share its parent's
    lock (a descriptor inherited through fork would), nor threads each other's."""
    queue = WriterQueue(str(tmp_path / "db.sqlite3"))
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
