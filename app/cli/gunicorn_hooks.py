"""gunicorn's server hooks for `ecny serve --dispatch` (`make run`): the
webhook dispatcher as a thread of the server's master process, started once
the server is ready and stopped when it exits (docs/events.md)."""

from __future__ import annotations

import os
from typing import Any

from wallets.core.db import Database
from wallets.events import dispatch

from .common import cli_settings

DISPATCH_ENV = "ECNY_DISPATCH_THREAD"
_running: list[tuple[dispatch.Dispatcher, Database]] = []


def when_ready(server: Any) -> None:
    if os.environ.get(DISPATCH_ENV) != "1":
        return
    settings = cli_settings()
    db = Database(settings.database_url)
    dispatcher = dispatch.Dispatcher(db, dispatch.Policy.from_settings(settings)).start()
    _running.append((dispatcher, db))
    server.log.info("webhook dispatcher running (a thread of the master process)")


def on_exit(server: Any) -> None:
    while _running:
        dispatcher, db = _running.pop()
        dispatcher.stop(timeout=10)
        db.dispose()
