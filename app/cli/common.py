"""What the commands of `ecny` share: the settings, and a write run as a
command of the services (wallets/services) with its audit event."""

from __future__ import annotations

from wallets import services
from wallets.audit import log as audit_log
from wallets.core.config import Settings
from wallets.core.db import Database
from wallets.core.errors import VALIDATION_FAILED
from wallets.core.principal import CLI


def cli_settings() -> Settings:
    return Settings.from_env()


def audited(database: Database, command: str, use_case, *, body: dict | None = None, resource=None):
    """Run a write of the command line as a command of the services
    (wallets/services): one transaction with its audit event — method ``CLI``,
    path ``ecny <command>``, role ``cli`` and no key id (docs/security.md). A
    refusal is recorded too, in a transaction of its own."""
    outcome = services.execute(
        database,
        cli_command(command, body),
        use_case,
        status=200,
        render=lambda tx, result: None,
        resource=resource or (lambda result: None),
    )
    return outcome.result


def audited_run(database: Database, command: str, run, *, body: dict | None = None, resource=None):
    """Run a command line write that is not one transaction (an export: its
    numbering, snapshot and checkpoint), and record one audit event for the
    command once it has finished (200) or was refused or failed, as
    :func:`audited` records them."""
    call = cli_command(command, body).call
    try:
        result = run()
    except ValueError:  # a value of the command line the command could not take
        services.record_refusal(database, call, 422, VALIDATION_FAILED)
        raise
    except Exception as exc:
        services.record_failure(database, call, exc)
        raise
    database.write(audit_log.record, call, 200, resource=resource(result) if resource else None)
    return result


def cli_command(command: str, body: dict | None):
    return services.Command(
        actor=CLI,
        method="CLI",
        path=f"ecny {command}",
        payload={k: v for k, v in (body or {}).items() if v is not None},
    )
