"""The `ecny` command: database, demo seed, keys, server, audit.

Every command works on the database of `make run` unless DATABASE_URL says
otherwise.
"""

from __future__ import annotations

import json
import os
import sys

import click

from wallets import db as dbmod
from wallets import keys
from wallets.audit.reconcile import reconcile
from wallets.config import Settings
from wallets.db import Database
from wallets.principal import ROLES


def _settings() -> Settings:
    return Settings.from_env()


@click.group()
def main() -> None:
    """e-CNY wallet and payments sandbox."""


@main.group()
def db() -> None:
    """Schema migrations (Alembic)."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION."""
    url = _settings().database_url
    dbmod.upgrade(url, revision)
    click.echo(f"database at {dbmod.current_revision(dbmod.make_engine(url)) or 'base'}")


@db.command("downgrade")
@click.argument("revision", default="-1")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (default: one step; 'base' for all)."""
    url = _settings().database_url
    dbmod.downgrade(url, revision)
    click.echo(f"database at {dbmod.current_revision(dbmod.make_engine(url)) or 'base'}")


@db.command("current")
def db_current() -> None:
    """Print the revision the database is at."""
    click.echo(dbmod.current_revision(dbmod.make_engine(_settings().database_url)) or "base")


@main.group()
def seed() -> None:
    """Seed data."""


@seed.command("demo")
def seed_demo() -> None:
    """Seed the demo sandbox once, and print its API keys (shown only this once)."""
    from wallets.seed import seed_demo as run

    settings = _settings()
    result = run(Database(settings.database_url), settings)
    if not result.created:
        click.echo(
            "demo sandbox already seeded (its keys were printed when it was); `ecny keys create` makes more"
        )
        return
    ids = ", ".join(map(str, result.wallet_ids))
    click.echo(
        f"Demo sandbox seeded: operators ICBC, BOC, BOCMO; {len(result.wallet_ids)} wallets (ids {ids})."
    )
    click.echo("API keys (shown once, store them now):")
    for k in result.keys:
        scope = f" {k.operator_code}" if k.operator_code else ""
        click.echo(f"  {k.role + scope:<22} {k.key}")


@main.group("keys")
def keys_group() -> None:
    """API keys."""


@keys_group.command("create")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--operator", "operator_code", help="operator code, for an operator key")
@click.option("--casino", "casino_ref", help="casino reference, for merchant and supervisor keys")
@click.option("--label")
def keys_create(
    role: str, operator_code: str | None, casino_ref: str | None, label: str | None
) -> None:
    """Create an API key and print it (only its hash is stored)."""
    from wallets.errors import DomainError

    database = Database(_settings().database_url)
    try:
        new = database.write(
            keys.create, role, operator_code=operator_code, casino_ref=casino_ref, label=label
        )
    except DomainError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(new.key)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
def serve(host: str, port: int, workers: int) -> None:
    """Serve the API under gunicorn (docs at /docs)."""
    click.echo(f"serving on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    os.execvp(
        sys.executable,
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(workers),
            "--bind",
            f"{host}:{port}",
            "--access-logfile",
            "-",
            "wsgi:app",
        ],
    )


@main.group("sandbox")
def sandbox_group() -> None:
    """Sandbox settings."""


@sandbox_group.command("reserve-ratio")
@click.argument("ratio", required=False)
def reserve_ratio(ratio: str | None) -> None:
    """Show the reserve ratio, or set it to RATIO (0 < RATIO <= 1) while no e-CNY is outstanding."""
    from wallets import issuance
    from wallets.errors import DomainError

    database = Database(_settings().database_url)
    if ratio is None:
        click.echo(database.read(lambda tx: tx.sandbox.reserve_ratio))
        return
    try:
        database.write(issuance.set_reserve_ratio, ratio)
    except (DomainError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"reserve ratio set to {ratio}")


@main.group()
def audit() -> None:
    """Audit: reconciliation."""


@audit.command("reconcile")
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
def audit_reconcile(as_json: bool) -> None:
    """Check the invariants of the ledger on the live database; exit 1 if any fails."""
    report = Database(_settings().database_url).read(reconcile)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "ok": report.ok,
                    "checked_at": report.checked_at,
                    "checks": [c.__dict__ for c in report.checks],
                },
                indent=2,
            )
        )
    else:
        for c in report.checks:
            click.echo(f"[{'ok' if c.ok else 'FAIL'}] {c.id}. {c.name}")
            for p in c.problems:
                click.echo(f"       {p}")
        click.echo("all invariants hold" if report.ok else "INVARIANTS BROKEN")
    sys.exit(0 if report.ok else 1)
