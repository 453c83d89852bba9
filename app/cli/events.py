"""`ecny events dispatch`: the webhook dispatcher as a process of its own
(beside `make serve`; `make run` runs it as a thread of the server)."""

from __future__ import annotations

import signal

import click

from wallets.core.db import Database
from wallets.events import dispatch

from .common import cli_settings


@click.group("events")
def events_group() -> None:
    """Events and their webhooks (docs/events.md)."""


@events_group.command("dispatch")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 32))
@click.option(
    "--interval",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0.01, 60),
    help="Seconds an idle worker waits before it looks again.",
)
@click.option(
    "--lease-seconds",
    default=60.0,
    show_default=True,
    type=click.FloatRange(1, 3600),
    help="How long a claim on an endpoint outlives a worker that stopped answering.",
)
@click.option("--once", is_flag=True, help="One round, then exit (prints the attempts made).")
def dispatch_command(workers: int, interval: float, lease_seconds: float, once: bool) -> None:
    """Deliver the events to the webhook endpoints, until stopped (SIGTERM or
    Ctrl-C). Safe beside other dispatchers, in this process or others."""
    settings = cli_settings()
    db = Database(settings.database_url)
    policy = dispatch.Policy.from_settings(settings, lease_seconds=lease_seconds)
    if once:
        click.echo(dispatch.run_once(db, policy))
        return
    dispatcher = dispatch.Dispatcher(db, policy, workers=workers, interval=interval)

    def stop(_signum, _frame) -> None:
        dispatcher.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    click.echo(f"dispatching webhooks with {workers} worker(s)", err=True)
    dispatcher.start()
    while not dispatcher.stopping.wait(0.5):
        pass
    dispatcher.stop()
    db.dispose()
