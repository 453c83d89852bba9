"""One export: the files of a snapshot and their signed manifest (the package
docstring lists the files)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ...core import errors
from ...core.db import Database, Tx
from ...ledger.money import format_amount
from .. import checkpoints as cp
from .. import digest as dg
from .camt053 import _statement_rows, _Unnumbered, _write_statements, reserve_statement_numbers
from .common import (
    YIELD_PER,
    ExportedFile,
    Filters,
    ProgressFactory,
    _invalid,
    _silent,
    file_digest,
    resolve,
)
from .csv import _write_audit_events, _write_balances
from .journal import _write_journal
from .reveals import _write_reveals

MANIFEST_FORMAT = "ecny-audit-export/1"


# ---- the export ------------------------------------------------------------------


@dataclass
class ExportResult:
    directory: Path
    manifest: dict
    files: list[ExportedFile] = field(default_factory=list)
    checkpoint: dict | None = None  # the export's checkpoint (checkpoints.py)


def export(
    db: Database,
    out_dir: Path,
    filters: Filters,
    signing_key: Ed25519PrivateKey,
    *,
    export_id: str | None = None,
    progress: ProgressFactory = _silent,
) -> ExportResult:
    """Write an export of one consistent snapshot of the ledger into ``out_dir``
    (which must be empty or absent)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise _invalid("out", f"{out_dir} is not empty")
    export_id = export_id or f"EXP-{secrets.token_hex(6)}"
    # Nothing is signed over a chain that does not recompute, and no statement
    # number is given before it does: the whole chain is recomputed first, in a
    # read transaction; the snapshot recomputes only what was appended since.
    verified = db.read(lambda tx: cp.check_chain(tx, yield_per=YIELD_PER))
    numbered = "camt053" in filters.formats
    out_dir.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, NUMBERING_ATTEMPTS + 1):
        if numbered:
            db.write(reserve_statement_numbers, filters, export_id)
            before_snapshot(export_id)
        try:
            result = db.snapshot(
                _export, out_dir, filters, signing_key, export_id, progress, verified
            )
        except _Unnumbered as missing:
            # A wallet opened in scope (or another export numbered the same
            # statements) between the numbering and the snapshot: number what
            # this export has not, and take the snapshot again.
            if attempt == NUMBERING_ATTEMPTS:
                raise errors.DomainError(
                    errors.BUSY,
                    f"{missing.count} wallet(s) in scope had no statement number for this "
                    f"export after {NUMBERING_ATTEMPTS} attempts (wallets being opened, or "
                    "other exports numbering the same statements); retry",
                ) from None
            continue
        result.checkpoint = cp.record_export(db, result.manifest["digest"], export_id)
        return result
    raise AssertionError("unreachable")


NUMBERING_ATTEMPTS = 3


def before_snapshot(export_id: str) -> None:
    """Called between the statements' numbering and the snapshot (tests hook it)."""


def _export(
    tx: Tx,
    out_dir: Path,
    filters: Filters,
    key: Ed25519PrivateKey,
    export_id: str,
    progress: ProgressFactory,
    verified: tuple[int, str],
) -> ExportResult:
    scope = resolve(tx, filters)
    statements = _statement_rows(tx, scope, export_id) if "camt053" in filters.formats else []
    # The chain up to ``verified`` was recomputed before the numbering (export()):
    # the entries appended since are, here.
    cp.check_chain(tx, scope.head_seq, YIELD_PER, start=verified)
    signed = dg.take(tx, key)
    files: list[ExportedFile] = []
    journal = _write_journal(tx, scope, out_dir, progress)
    files.extend(journal.files)
    files.append(_write_balances(tx, scope, out_dir))
    if "camt053" in filters.formats:
        files.extend(_write_statements(tx, scope, out_dir, export_id, progress, statements))
    files.append(_write_audit_events(tx, scope, out_dir))
    files.append(_write_reveals(tx, scope, out_dir))
    for f in files:
        f.bytes, f.sha256 = file_digest(out_dir / f.name)
    manifest = {
        "format": MANIFEST_FORMAT,
        "export_id": export_id,
        "created_at": scope.now.isoformat(),
        "filters": filters.as_dict(),
        "complete": filters.complete,
        "hash_encoding": (
            "sha256 hex of seq|transfer_id|debit_account|credit_account|asset|amount_fen|"
            "posted_at|prev_hash (posted_at as written, UTC); first prev_hash is 64 zeros"
        ),
        "range": {
            "entries": journal.rows,
            "first_seq": journal.first_seq,
            "first_prev_hash": journal.first_prev_hash,
            "last_seq": journal.last_seq,
            "last_hash": journal.last_hash,
        },
        "head": {"sequence": scope.head_seq, "hash": scope.head_hash},
        "control_totals": {
            asset: {"count": count, "amount": format_amount(total), "amount_fen": total}
            for asset, (count, total) in sorted(journal.totals.items())
        },
        "files": [f.as_dict() for f in files],
        "digest": signed.as_dict(),
    }
    manifest["signature"] = {
        "algorithm": dg.ALGORITHM,
        "value": dg.sign_bytes(key, manifest_message(manifest)),
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return ExportResult(out_dir, manifest, files)


def manifest_message(manifest: dict) -> bytes:
    """What the manifest's own signature covers: all of it but the signature."""
    return dg.canonical_json({k: v for k, v in manifest.items() if k != "signature"})
