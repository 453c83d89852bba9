"""The sandbox's settings (`ecny sandbox ...`)."""

from __future__ import annotations

import json

import click

from wallets.core.db import Database

from .common import audited, cli_settings


@click.group("sandbox")
def sandbox_group() -> None:
    """Sandbox settings."""


@sandbox_group.command("reserve-ratio")
@click.argument("ratio", required=False)
def reserve_ratio(ratio: str | None) -> None:
    """Show the reserve ratio, or set it to RATIO (0 < RATIO <= 1) while no e-CNY is outstanding."""
    from wallets.core.errors import DomainError
    from wallets.tier1 import issuance

    database = Database(cli_settings().database_url)
    if ratio is None:
        click.echo(database.read(lambda tx: tx.sandbox.reserve_ratio))
        return
    try:
        audited(
            database,
            "sandbox reserve-ratio",
            lambda tx: issuance.set_reserve_ratio(tx, ratio),
            body={"ratio": ratio},
        )
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.detail}") from exc
    click.echo(f"reserve ratio set to {ratio}")


@sandbox_group.command("settlement")
@click.option("--model", type=click.Choice(["gross", "deferred_net"]))
@click.option("--ndc-reserve-ratio", help="default net debit cap = free reserve x this")
@click.option(
    "--ndc-alert-percent", help="alert when a net debit reaches this percentage of its cap"
)
@click.option(
    "--cutoff", help="daily window close, local time HH:MM (UTC+8); 'none' for no cut-off"
)
def settlement_settings(model, ndc_reserve_ratio, ndc_alert_percent, cutoff) -> None:
    """Show or change the settlement model and its settings."""
    from wallets.core.errors import DomainError
    from wallets.tier1 import settlement

    changes = {
        "model": model,
        "ndc_reserve_ratio": ndc_reserve_ratio,
        "ndc_alert_percent": ndc_alert_percent,
    }
    if cutoff is not None:
        changes["cutoff"] = None if cutoff == "none" else cutoff
    database = Database(cli_settings().database_url)
    try:
        result = audited(
            database,
            "sandbox settlement",
            lambda tx: settlement.update_settings(tx, **changes),
            body=changes,
        )
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.detail}") from exc
    click.echo(json.dumps(result.__dict__, indent=2))


@sandbox_group.command("profile")
@click.argument("name", required=False)
def profile(name: str | None) -> None:
    """Show the active rule profile, or make the shipped profile NAME (default, macau) active."""
    from wallets.core.errors import DomainError
    from wallets.rules import active_profile
    from wallets.rules.profile import available_profiles, select_profile

    database = Database(cli_settings().database_url)
    if name is None:
        click.echo(database.read(lambda tx: active_profile(tx).name))
        return
    try:
        audited(
            database,
            "sandbox profile",
            lambda tx: select_profile(tx, name=name),
            body={"name": name},
        )
    except DomainError as exc:
        raise click.ClickException(
            f"no rule profile named {name!r} (have: {', '.join(available_profiles())})"
        ) from exc
    click.echo(f"rule profile set to {name}")


@sandbox_group.command("reset")
@click.option(
    "--template",
    type=click.Choice(["empty", "demo"]),
    default="empty",
    show_default=True,
    help="empty: as a freshly migrated database; demo: as a fresh `ecny seed demo`",
)
@click.option("--yes", is_flag=True, help="Yes, wipe the sandbox's world (required).")
def reset(template: str, yes: bool) -> None:
    """Reset the sandbox: every operator, wallet, transfer, casino, alert and
    event goes; admin, central bank and auditor keys and the audit log stay
    (docs/api.md, "Resetting the sandbox")."""
    from wallets.core.errors import DomainError
    from wallets.services import reset as reset_service

    if not yes:
        raise click.UsageError("this wipes the sandbox's world: add --yes to do it")
    settings = cli_settings()
    database = Database(settings.database_url)
    try:
        result = audited(
            database,
            "sandbox reset",
            lambda tx: reset_service.reset(tx, template, settings),
            body={"template": template},
        )
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.detail}") from exc
    finally:
        database.dispose()
    click.echo(
        f"sandbox reset to the {template} template (reset {result.generation});"
        f" {result.revoked_keys} operator, merchant and supervisor keys revoked."
    )
    if result.keys:
        click.echo("API keys of the demo (shown once, store them now):")
        for k in result.keys:
            scope = f" {k.operator_code or k.casino_ref}" if k.operator_code or k.casino_ref else ""
            click.echo(f"  {k.role + scope:<22} {k.key}")
