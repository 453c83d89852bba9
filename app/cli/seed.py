"""The demo seed (`ecny seed demo`)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from wallets.access import keys
from wallets.core.db import Database

from .common import audited, cli_settings


@click.group()
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
    settings = cli_settings()
    from wallets.seed import seed_demo_in

    # Made before seeding: a file that cannot be written stops the seed, not its keys.
    secret_file = _PrivateFile(keys_file) if keys_file is not None else None
    try:
        result = audited(
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
