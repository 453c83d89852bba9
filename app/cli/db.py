"""Schema migrations (`ecny db ...`)."""

from __future__ import annotations

import click

from wallets.core import db as dbmod

from .common import cli_settings


@click.group()
def db() -> None:
    """Schema migrations (Alembic)."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION."""
    url = cli_settings().database_url
    dbmod.upgrade(url, revision)
    click.echo(f"database at {dbmod.current_revision(dbmod.make_engine(url)) or 'base'}")


@db.command("downgrade")
@click.argument("revision", default="-1")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (default: one step; 'base' for all)."""
    url = cli_settings().database_url
    dbmod.downgrade(url, revision)
    click.echo(f"database at {dbmod.current_revision(dbmod.make_engine(url)) or 'base'}")


@db.command("current")
def db_current() -> None:
    """Print the revision the database is at."""
    click.echo(dbmod.current_revision(dbmod.make_engine(cli_settings().database_url)) or "base")
