"""API keys: `ecny keys create --role ...` and `ecny keys revoke`."""

from __future__ import annotations

import click

from wallets.access import keys
from wallets.core.db import Database
from wallets.core.principal import ROLES
from wallets.core.schema import MAX_ID32

from .common import audited, cli_settings


@click.group("keys")
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
    from wallets.core.errors import DomainError

    database = Database(cli_settings().database_url)
    try:
        new = audited(
            database,
            "keys create",
            lambda tx: keys.create(
                tx, role, operator_code=operator_code, casino_ref=casino_ref, label=label
            ),
            body={"role": role, "operator": operator_code, "casino": casino_ref, "label": label},
            resource=lambda new: str(new.id),
        )
    except DomainError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(new.key)


@keys_group.command("revoke")
@click.argument("key_id", type=click.IntRange(1, MAX_ID32))
def keys_revoke(key_id: int) -> None:
    """Revoke an API key by its id: from now on it authenticates nothing."""
    from wallets.core.errors import DomainError

    database = Database(cli_settings().database_url)
    try:
        revoked = audited(
            database,
            f"keys revoke {key_id}",
            lambda tx: keys.revoke(tx, key_id),
            resource=lambda revoked: str(revoked.id),
        )
    except DomainError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(f"revoked key {revoked.id} ({revoked.role})")
