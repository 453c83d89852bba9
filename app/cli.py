"""The `ecny` command: database, demo seed, keys, server, audit.

Every command works on the database of `make run` unless DATABASE_URL says
otherwise.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from wallets.access import keys
from wallets.audit.reconcile import reconcile
from wallets.core import db as dbmod
from wallets.core.config import Settings
from wallets.core.db import Database
from wallets.core.principal import ROLES
from wallets.core.schema import MAX_ID32


def _settings() -> Settings:
    return Settings.from_env()


def _audited(
    database: Database, command: str, use_case, *, body: dict | None = None, resource=None
):
    """Run a write of the command line in one transaction with its audit event:
    method ``CLI``, path ``ecny <command>``, role ``cli`` and no key id
    (docs/security.md). A refusal is recorded too, in a transaction of its own."""
    from wallets.audit import log as audit_log

    call = _cli_call(command, body)

    def work(tx):
        result = use_case(tx)
        audit_log.record(tx, call, 200, resource=resource(result) if resource else None)
        return result

    try:
        return database.write(work)
    except Exception as exc:
        _record_refused(database, call, exc)
        raise


def _audited_run(database: Database, command: str, run, *, body: dict | None = None, resource=None):
    """Run a command line write that is not one transaction (an export: its
    numbering, snapshot and checkpoint), and record one audit event for the
    command once it has finished (200) or was refused or failed, as
    :func:`_audited` records them."""
    from wallets.audit import log as audit_log

    call = _cli_call(command, body)
    try:
        result = run()
    except Exception as exc:
        _record_refused(database, call, exc)
        raise
    database.write(audit_log.record, call, 200, resource=resource(result) if resource else None)
    return result


def _cli_call(command: str, body: dict | None):
    from wallets.audit import log as audit_log
    from wallets.core.principal import CLI

    return audit_log.Call(
        principal=CLI,
        method="CLI",
        path=f"ecny {command}",
        idempotency_key=None,
        request_id=None,
        body={k: v for k, v in (body or {}).items() if v is not None},
    )


def _record_refused(database: Database, call, exc: Exception) -> None:
    """The audit event of a command refused (its error code) or failed
    (``internal_error``); a failure to record it does not hide the refusal."""
    from wallets.audit import log as audit_log
    from wallets.core.errors import VALIDATION_FAILED, DomainError

    from .errors import status_for

    if isinstance(exc, DomainError):
        status, code = status_for(exc.code), exc.code
    elif isinstance(exc, ValueError):
        status, code = 422, VALIDATION_FAILED
    else:
        status, code = 500, "internal_error"
    try:
        database.write(audit_log.record, call, status, error_code=code)
    except Exception as failed:  # noqa: BLE001 - the refusal itself is what the user sees
        click.echo(f"(could not record this command in the audit log: {failed})", err=True)


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
@click.option(
    "--keys-file",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also write the keys as JSON to this file, created with mode 0600 "
    '({"admin": KEY, ..., "operator": {"ICBC": KEY, ...}, "merchant": {"COTAI": KEY}, ...}).',
)
def seed_demo(keys_file: Path | None) -> None:
    """Seed the demo sandbox once, and print its API keys (shown only this once)."""
    settings = _settings()
    from wallets.seed import seed_demo_in

    # Made before seeding: a file that cannot be written stops the seed, not its keys.
    secret_file = _PrivateFile(keys_file) if keys_file is not None else None
    try:
        result = _audited(
            Database(settings.database_url), "seed demo", lambda tx: seed_demo_in(tx, settings)
        )
        if not result.created:
            kept = f" ({keys_file} is left as it is)" if keys_file is not None else ""
            click.echo(
                "demo sandbox already seeded (its keys were printed when it was)"
                f"{kept}; {MORE_KEYS_HINT}"
            )
            return
        if secret_file is not None:
            secret_file.write(json.dumps(_keys_document(result.keys), indent=2) + "\n")
    finally:
        if secret_file is not None:
            secret_file.discard()
    ids = ", ".join(map(str, result.wallet_ids))
    click.echo(
        f"Demo sandbox seeded: operators ICBC, BOC, BOCMO; {len(result.wallet_ids)} wallets (ids {ids}); "
        "casino COTAI under the macau rule profile."
    )
    click.echo("API keys (shown once, store them now):")
    for k in result.keys:
        scope = f" {k.operator_code or k.casino_ref}" if k.operator_code or k.casino_ref else ""
        click.echo(f"  {k.role + scope:<22} {k.key}")
    if keys_file is not None:
        click.echo(f"The keys are in {keys_file} too (JSON, mode 0600).")


MORE_KEYS_HINT = "`ecny keys create --role ROLE` makes more (`--operator CODE` or `--casino REF` for a scoped role)"


def _keys_document(new_keys: list[keys.NewKey]) -> dict:
    """Keys by role; a scoped role's by its operator code or casino reference."""
    out: dict = {}
    for k in new_keys:
        scope = k.operator_code or k.casino_ref
        if scope is None:
            out[k.role] = k.key
        else:
            out.setdefault(k.role, {})[scope] = k.key
    return out


class _PrivateFile:
    """A file only its owner can read: written to a temporary file created
    with mode 0600 (never wider, not even for a moment), then renamed over
    ``path``, so that an existing file of wider mode is replaced, not reused."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        self.fd: int | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.fd = os.open(
                self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600
            )
        except OSError as exc:
            raise click.ClickException(f"cannot write {path}: {exc.strerror}") from exc

    def write(self, text: str) -> None:
        assert self.fd is not None
        with os.fdopen(self.fd, "w", encoding="utf-8") as f:
            self.fd = None
            f.write(text)
        os.replace(self.tmp, self.path)

    def discard(self) -> None:
        """Remove the temporary file unless it was written and renamed."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        self.tmp.unlink(missing_ok=True)


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
    from wallets.core.errors import DomainError

    database = Database(_settings().database_url)
    try:
        new = _audited(
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

    database = Database(_settings().database_url)
    try:
        revoked = _audited(
            database,
            f"keys revoke {key_id}",
            lambda tx: keys.revoke(tx, key_id),
            resource=lambda revoked: str(revoked.id),
        )
    except DomainError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(f"revoked key {revoked.id} ({revoked.role})")


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
    from wallets.core.errors import DomainError
    from wallets.tier1 import issuance

    database = Database(_settings().database_url)
    if ratio is None:
        click.echo(database.read(lambda tx: tx.sandbox.reserve_ratio))
        return
    try:
        _audited(
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
@click.option("--ndc-alert-percent", help="alert when a net debit passes this share of its cap")
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
    database = Database(_settings().database_url)
    try:
        result = _audited(
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

    database = Database(_settings().database_url)
    if name is None:
        click.echo(database.read(lambda tx: active_profile(tx).name))
        return
    try:
        _audited(
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


@main.group()
def audit() -> None:
    """Audit: reconciliation, the signed digest, exports and their verification."""


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


@audit.command("digest")
def audit_digest() -> None:
    """Print the journal head signed by the central bank's Ed25519 key, as JSON."""
    from wallets.audit import digest as dg
    from wallets.core.errors import DomainError

    settings = _settings()
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
        key = dg.load_or_create_key(_settings().signing_key_path)
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
    statements, audit log and a signed manifest. Verify with `ecny audit verify`."""
    from pathlib import Path

    from tqdm import tqdm

    from wallets.audit import digest as dg
    from wallets.audit import export as ex
    from wallets.core.errors import DomainError

    settings = _settings()

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
        result = _audited_run(
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
    help="the central bank's public key (PEM or base64), obtained separately: required, "
    "unless --integrity-only",
)
@click.option(
    "--integrity-only",
    is_flag=True,
    help="without --public-key: check the export against the key it names itself; the "
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
    the signer is the central bank's key given (or, with --integrity-only, when
    the export is intact: UNAUTHENTICATED)."""
    import tarfile
    import tempfile
    from pathlib import Path

    from wallets.audit import checkpoints as cp
    from wallets.audit import digest as dg
    from wallets.audit.verify import verify_export

    key = None
    if public_key_file:
        try:
            key = dg.load_public_key(Path(public_key_file).read_bytes())
        except ValueError as exc:
            raise click.ClickException(f"{public_key_file}: {exc}") from exc
    elif not integrity_only:
        raise click.UsageError(
            "no --public-key: an export that carries its own key proves only that it is "
            "intact, not that the central bank signed it. Give the central bank's public key, "
            "obtained separately (`ecny audit public-key`), or --integrity-only for an "
            "UNAUTHENTICATED check"
        )
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

    items = Database(_settings().database_url).read(lambda tx: list(cp.iter_all(tx)))
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

    settings = _settings()
    database = Database(settings.database_url)
    try:
        key = dg.load_or_create_key(settings.signing_key_path)
        taken = _audited(
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
    from pathlib import Path

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
    report = Database(_settings().database_url).read(cp.verify_held, held, key)
    for line in report.lines:
        click.echo(line)
    sys.exit(0 if report.ok else 1)


@main.group()
def scenario() -> None:
    """Scenario replay and synthetic casino workloads (docs/scenarios.md)."""


@scenario.command("run")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--url", help="Replay against this live server (needs --key, an admin key).")
@click.option("--key", envvar="ECNY_ADMIN_KEY", help="The admin key for --url.")
@click.option(
    "--database-url",
    envvar="ECNY_SCENARIO_DATABASE_URL",
    help="In-process: an empty database to migrate and use instead of a temp SQLite file.",
)
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False), help="Write JUnit XML.")
@click.option(
    "--json", "json_path", type=click.Path(dir_okay=False), help="Write the results as JSON."
)
def scenario_run(files, url, key, database_url, junit_path, json_path) -> None:
    """Validate every FILE, then replay each through the API and check its expectations."""
    from app.client import Client
    from app.scenario import report
    from app.scenario.loader import ScenarioError, load

    if url and not key:
        raise click.UsageError("--url needs --key (an admin key)")
    try:
        scenarios = [load(f) for f in files]
    except ScenarioError as e:
        click.echo(f"scenario refused, nothing was run:\n{e}", err=True)
        sys.exit(2)
    results = []
    for sc in scenarios:
        if url:
            results.append(report.replay(sc, Client.http(url, key), progress=True))
        else:
            with report.fresh_sandbox(database_url) as client:
                results.append(report.replay(sc, client, progress=True))
        click.echo(report.text(results[-1]))
    if junit_path:
        report.write_junit(results, junit_path)
    if json_path:
        report.write_json(results, json_path)
    failed = [r.name for r in results if not r.ok]
    click.echo(f"{len(results) - len(failed)} of {len(results)} scenarios passed")
    sys.exit(1 if failed else 0)


def _plant(text: str | None) -> dict[str, int]:
    plant = {"structuring": 3, "minimal_play": 3}
    for part in filter(None, (text or "").split(",")):
        rule, _, count = part.partition("=")
        if rule not in plant or not count.isdigit():
            raise click.BadParameter(
                f"{part!r}: use structuring=K,minimal_play=K", param_hint="--plant"
            )
        plant[rule] = int(count)
    return plant


@scenario.command("generate")
@click.option("--players", type=click.IntRange(1), default=200, show_default=True)
@click.option("--days", type=click.IntRange(1), default=1, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--plant", help="Planted patterns, e.g. structuring=3,minimal_play=3 (the default).")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The scenario (YAML).")
def scenario_generate(players, days, seed, plant, out) -> None:
    """Write a synthetic casino workload: OUT, OUT's .steps.jsonl and .labels.jsonl."""
    import time
    from pathlib import Path

    from app.scenario.generate import Workload, generate

    started = time.perf_counter()
    counts = generate(
        Workload(players=players, days=days, seed=seed, plant=_plant(plant)), Path(out)
    )
    took = time.perf_counter() - started
    click.echo(
        f"{out}: {counts['players']} players, {counts['events']} steps, {counts['labels']} planted "
        f"({took:.1f} s, {counts['events'] / max(took, 1e-9):,.0f} steps/s)"
    )


@scenario.command("score")
@click.argument("labels", type=click.Path(exists=True, dir_okay=False))
@click.argument("results", type=click.Path(exists=True, dir_okay=False))
def scenario_score(labels, results) -> None:
    """Precision and recall per rule: LABELS of `generate` against RESULTS of `run --json`."""
    from pathlib import Path

    from app.scenario.generate import score

    scores = score(Path(labels), json.loads(Path(results).read_text(encoding="utf-8")))

    def pct(x):
        return "   n/a" if x is None else f"{x:6.3f}"

    click.echo(
        f"{'rule':22} {'labelled':>8} {'alerted':>8} {'hits':>5} {'precision':>9} {'recall':>7}"
    )
    for rule, s in scores.items():
        click.echo(
            f"{rule:22} {s['labelled']:8} {s['alerted']:8} {s['true_positives']:5} "
            f"{pct(s['precision']):>9} {pct(s['recall']):>7}"
        )
