"""The `ecny` command: database, demo seed, keys, server, sandbox settings,
audit, scenarios — one module per command group.

Every command works on the database of `make run` unless DATABASE_URL says
otherwise.
"""

from __future__ import annotations

import click

from . import audit, db, events, keys, sandbox, scenario, seed, serve


@click.group()
def main() -> None:
    """e-CNY wallet and payments sandbox."""


main.add_command(db.db)
main.add_command(seed.seed)
main.add_command(keys.keys_group)
main.add_command(serve.serve)
main.add_command(sandbox.sandbox_group)
main.add_command(audit.audit)
main.add_command(scenario.scenario)
main.add_command(events.events_group)
