"""Settings from the environment, with defaults that make `make run` work as is."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def default_var_dir() -> Path:
    """``var/`` of the current directory: the sandbox's files (SQLite database,
    signing key, exports, console secret) by default. Not the package's own
    directory: an installed wheel lives in site-packages, which is not written to.
    ``make run`` runs in the checkout, so there it is the checkout's ``var/``."""
    return Path.cwd() / "var"


def default_database_url() -> str:
    return f"sqlite:///{default_var_dir() / 'ecny.sqlite3'}"


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=default_database_url)
    # Secret mixed into phone-number hashes so that the stored value cannot be
    # reversed by hashing every phone number.
    phone_hash_secret: str = "ecny-sandbox-demo-secret"
    # The central bank's Ed25519 signing key: a file outside the database, so
    # that whoever can rewrite the database cannot also re-sign its digest.
    signing_key_path: Path = field(
        default_factory=lambda: default_var_dir() / "central-bank-ed25519.pem"
    )
    # Where audit export jobs of the API write their files.
    export_dir: Path = field(default_factory=lambda: default_var_dir() / "exports")
    # After how long a retry may take over an idempotency claim left in flight by an
    # older version, which committed claims before the work (wallets/services/idempotency.py).
    idempotency_stale_seconds: int = 60
    # The web console's session signing secret; unset: a random one kept in a
    # file next to the signing key (made on first use).
    secret_key: str | None = None
    # Send the console's session cookie over HTTPS only (set it behind TLS).
    secure_cookie: bool = False
    # Signed checkpoints of the journal head: one per this many hours of
    # sandbox time (0: only on exports). docs/audit.md.
    checkpoint_hours: int = 6
    # Webhooks (docs/events.md): the hosts a webhook URL may name (loopback
    # only by default: a sandbox must not be a way to reach other machines),
    # the timeout of one delivery (connect and read, each; at most 30 s),
    # the retry schedule on the sandbox clock, and the failed attempts in a
    # row after which an endpoint is disabled.
    webhook_allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")
    webhook_timeout_seconds: float = 5.0
    webhook_retry_base_seconds: int = 10
    webhook_retry_max_seconds: int = 3600
    webhook_max_failures: int = 8

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        kwargs: dict[str, Any] = {}
        if env.get("DATABASE_URL"):
            kwargs["database_url"] = env["DATABASE_URL"]
        if env.get("ECNY_PHONE_HASH_SECRET"):
            kwargs["phone_hash_secret"] = env["ECNY_PHONE_HASH_SECRET"]
        if env.get("ECNY_SIGNING_KEY"):
            kwargs["signing_key_path"] = Path(env["ECNY_SIGNING_KEY"])
        if env.get("ECNY_EXPORT_DIR"):
            kwargs["export_dir"] = Path(env["ECNY_EXPORT_DIR"])
        if env.get("ECNY_IDEMPOTENCY_STALE_SECONDS"):
            kwargs["idempotency_stale_seconds"] = int(env["ECNY_IDEMPOTENCY_STALE_SECONDS"])
        if env.get("ECNY_SECRET_KEY"):
            kwargs["secret_key"] = env["ECNY_SECRET_KEY"]
        if env.get("ECNY_CHECKPOINT_HOURS"):
            kwargs["checkpoint_hours"] = int(env["ECNY_CHECKPOINT_HOURS"])
        if env.get("ECNY_SECURE_COOKIE"):
            kwargs["secure_cookie"] = env["ECNY_SECURE_COOKIE"].lower() in ("1", "true", "yes")
        if env.get("ECNY_WEBHOOK_ALLOWED_HOSTS"):
            kwargs["webhook_allowed_hosts"] = tuple(
                h.strip().lower() for h in env["ECNY_WEBHOOK_ALLOWED_HOSTS"].split(",") if h.strip()
            )
        if env.get("ECNY_WEBHOOK_TIMEOUT_SECONDS"):
            kwargs["webhook_timeout_seconds"] = min(
                30.0, max(0.1, float(env["ECNY_WEBHOOK_TIMEOUT_SECONDS"]))
            )
        if env.get("ECNY_WEBHOOK_MAX_FAILURES"):
            kwargs["webhook_max_failures"] = max(1, int(env["ECNY_WEBHOOK_MAX_FAILURES"]))
        return cls(**kwargs)
