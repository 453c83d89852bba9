"""Audit: reconciliation, digest, exports, verification, checkpoints (`ecny audit ...`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from wallets.audit.reconcile import reconcile
from wallets.core.db import Database

from .common import audited, audited_run, cli_settings


@click.group()
def audit() -> None:
    """Audit: reconciliation, the signed digest, exports and their verification."""


@audit.command("reconcile")
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
def audit_reconcile(as_json: bool) -> None:
    """Check the invariants of the ledger on the live database; exit 1 if any fails."""
    report = Database(cli_settings().database_url).read(reconcile)
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


@audit.command("digest")
def audit_digest() -> None:
    """Print the journal head signed by the central bank's Ed25519 key, as JSON."""
    from wallets.audit import digest as dg
    from wallets.core.errors import DomainError

    settings = cli_settings()
    try:
        key = dg.load_or_create_key(settings.signing_key_path)
    except DomainError as exc:
        raise click.ClickException(exc.detail) from exc
    signed = Database(settings.database_url).read(dg.take, key)
    click.echo(json.dumps(signed.as_dict(), indent=2))


@audit.command("public-key")
def audit_public_key() -> None:
    """Print the central bank's public key (PEM), to hand to auditors out of band."""
    from wallets.audit import digest as dg
    from wallets.core.errors import DomainError

    try:
        key = dg.load_or_create_key(cli_settings().signing_key_path)
    except DomainError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(dg.public_key_pem(key), nl=False)


@audit.command("export")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="an empty or new directory",
)
@click.option(
    "--from", "from_", metavar="ISO", help="entries posted at or after (UTC+8 if no offset)"
)
@click.option("--to", metavar="ISO", help="entries posted before (UTC+8 if no offset)")
@click.option("--operator", metavar="CODE", help="only transfers from or to this operator")
@click.option("--wallet", type=int, metavar="ID", help="only transfers from or to this wallet")
@click.option("--formats", default="csv,jsonl,camt053", show_default=True, help="comma-separated")
@click.option("--quiet", is_flag=True, help="no progress bars")
def audit_export(
    out_dir: str,
    from_: str | None,
    to: str | None,
    operator: str | None,
    wallet: int | None,
    formats: str,
    quiet: bool,
) -> None:
    """Export the ledger for auditors: journal (CSV, JSONL), balances, camt.053
    statements, audit log, identity reveals and a signed manifest. Verify with
    `ecny audit verify`."""

    from tqdm import tqdm

    from wallets.audit import digest as dg
    from wallets.audit import export as ex
    from wallets.core.errors import DomainError

    settings = cli_settings()

    def progress(label: str, total: int | None):
        # Bars only on a terminal (disable=None), never with --quiet.
        return tqdm(
            total=total,
            desc=label,
            unit=" rows",
            file=sys.stderr,
            disable=True if quiet else None,
            leave=False,
        )

    database = Database(settings.database_url)

    def run():
        filters = ex.parse_filters(from_, to, operator, wallet, formats)
        key = dg.load_or_create_key(settings.signing_key_path)
        return ex.export(database, Path(out_dir), filters, key, progress=progress)

    options = {
        "out": out_dir,
        "from": from_,
        "to": to,
        "operator": operator,
        "wallet": wallet,
        "formats": formats,
    }
    try:
        result = audited_run(
            database,
            "audit export",
            run,
            body=options,
            resource=lambda r: r.manifest["export_id"],
        )
    except DomainError as exc:
        raise click.ClickException(exc.detail) from exc
    m = result.manifest
    click.echo(
        f"exported {m['range']['entries']} journal entries and {len(m['files'])} files to {out_dir}"
    )
    for asset, totals in m["control_totals"].items():
        click.echo(f"  {asset:<10} {totals['count']:>8} entries  {totals['amount']:>22}")
    click.echo(f"signed head: seq {m['digest']['sequence']} {m['digest']['head_hash']}")
    if result.checkpoint is not None:
        click.echo(f"checkpoint {result.checkpoint['id']} published for this head")
    click.echo(
        f"verify with: ecny audit verify {out_dir} --public-key <central bank public key file>"
    )


@audit.command("verify")
@click.argument("directory", type=click.Path(exists=True))
@click.option(
    "--public-key",
    "public_key_file",
    type=click.Path(exists=True, dir_okay=False),
    help="the central bank's public key (PEM or base64), obtained separately; without it, "
    "this installation's central bank key (the file ECNY_SIGNING_KEY names) when there is "
    "one, else --integrity-only is needed",
)
@click.option(
    "--integrity-only",
    is_flag=True,
    help="without --public-key: check the export against the key it names itself (not this "
    "installation's); the "
    "verdict is then UNAUTHENTICATED (intact, but anybody could have signed it)",
)
@click.option(
    "--digest",
    "digest_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="a digest or checkpoints kept from earlier (JSON of `ecny audit digest`, "
    "GET /v1/audit/digest, GET /v1/audit/checkpoints or `ecny audit checkpoints list --json`): "
    "the chain must still pass through each head; repeatable",
)
def audit_verify(
    directory: str,
    public_key_file: str | None,
    integrity_only: bool,
    digest_files: tuple[str, ...],
) -> None:
    """Verify an export offline (no database): DIRECTORY, or the .tar.gz of
    GET /v1/audit/exports/{id}/archive. Exit 0 only when every check holds and
    the signer is the central bank's key: the one given, else this installation's
    own (ECNY_SIGNING_KEY), never one the export names (or, with --integrity-only,
    when the export is intact: UNAUTHENTICATED). Exit 2 with neither key."""
    import tarfile
    import tempfile

    from wallets.audit import checkpoints as cp
    from wallets.audit import digest as dg
    from wallets.audit.verify import verify_export
    from wallets.core.errors import DomainError

    key = None
    if public_key_file:
        try:
            key = dg.load_public_key(Path(public_key_file).read_bytes())
        except ValueError as exc:
            raise click.ClickException(f"{public_key_file}: {exc}") from exc
    elif not integrity_only:
        # On the central bank's side its own key file is the key to check
        # against (never the key the export names); an auditor elsewhere has
        # no such file and gives the public key.
        own = cli_settings().signing_key_path
        if not own.is_file():
            raise click.UsageError(
                f"no --public-key, and no central bank key at {own} (ECNY_SIGNING_KEY): an "
                "export that carries its own key proves only that it is intact, not that the "
                "central bank signed it. Give the central bank's public key, obtained "
                "separately (`ecny audit public-key`), or --integrity-only for an "
                "UNAUTHENTICATED check"
            )
        try:
            key = dg.load_or_create_key(own).public_key()
        except DomainError as exc:
            raise click.ClickException(exc.detail) from exc
        click.echo(f"checking against this installation's central bank key: {own}")
    earlier: list[dict] = []
    for name in digest_files:
        try:
            earlier.extend(cp.load_held(json.loads(Path(name).read_text())))
        except ValueError as exc:
            raise click.ClickException(
                f"{name}: not a digest or checkpoints (JSON): {exc}"
            ) from exc
    with tempfile.TemporaryDirectory(prefix="ecny-verify-") as tmp:
        target = Path(directory)
        if target.is_file():
            try:
                with tarfile.open(target, "r:*") as archive:
                    archive.extractall(tmp, filter="data")
            except (tarfile.TarError, OSError) as exc:
                raise click.ClickException(f"{directory}: not an export archive: {exc}") from exc
            tops = list(Path(tmp).iterdir())
            target = tops[0] if len(tops) == 1 and tops[0].is_dir() else Path(tmp)
        report = verify_export(target, key, earlier)
        for line in report.lines():
            click.echo(line)
    sys.exit(0 if report.ok else 1)


@audit.group("checkpoints")
def audit_checkpoints() -> None:
    """Signed checkpoints of the journal head: list, take, and check a held history."""


@audit_checkpoints.command("list")
@click.option("--json", "as_json", is_flag=True, help="print them as a JSON list, to keep")
def audit_checkpoints_list(as_json: bool) -> None:
    """List the published checkpoints, oldest first."""
    from wallets.audit import checkpoints as cp

    items = Database(cli_settings().database_url).read(lambda tx: list(cp.iter_all(tx)))
    if as_json:
        click.echo(json.dumps(items, indent=2))
        return
    for c in items:
        click.echo(
            f"{c['id']:>6}  seq {c['sequence']:>10}  {c['head_hash']}  {c['time']}  {c['reason']}"
            + (f" {c['export_id']}" if c["export_id"] else "")
        )


@audit_checkpoints.command("take")
def audit_checkpoints_take() -> None:
    """Take a checkpoint now (refused when the chain does not recompute)."""
    from wallets.audit import checkpoints as cp
    from wallets.audit import digest as dg
    from wallets.core.errors import DomainError

    settings = cli_settings()
    database = Database(settings.database_url)
    try:
        key = dg.load_or_create_key(settings.signing_key_path)
        taken = audited(
            database,
            "audit checkpoints take",
            lambda tx: cp.take_now_in(tx, key, settings.checkpoint_hours),
            resource=lambda c: str(c["id"]),
        )
    except DomainError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(json.dumps(taken, indent=2))


@audit_checkpoints.command("verify")
@click.argument("held_file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--public-key",
    "public_key_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="the central bank's public key (PEM or base64), obtained separately",
)
def audit_checkpoints_verify(held_file: str, public_key_file: str) -> None:
    """Check checkpoints kept from earlier (HELD_FILE: JSON of `checkpoints list --json`,
    GET /v1/audit/checkpoints or a digest) against the live database: exit 1 if the
    journal no longer passes through one of them, naming the entry."""

    from wallets.audit import checkpoints as cp
    from wallets.audit import digest as dg

    try:
        key = dg.load_public_key(Path(public_key_file).read_bytes())
    except ValueError as exc:
        raise click.ClickException(f"{public_key_file}: {exc}") from exc
    try:
        held = cp.load_held(json.loads(Path(held_file).read_text()))
    except ValueError as exc:
        raise click.ClickException(f"{held_file}: {exc}") from exc
    report = Database(cli_settings().database_url).read(cp.verify_held, held, key)
    for line in report.lines:
        click.echo(line)
    sys.exit(0 if report.ok else 1)
