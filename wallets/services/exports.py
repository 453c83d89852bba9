"""Audit export jobs as a use case: the job is queued in the write's
transaction, and runs once that has committed, in a thread of its own, so that
the request does not hold a transaction open for the export's length."""

from __future__ import annotations

import threading
from pathlib import Path

from ..audit import export as ex
from ..audit.export.jobs import QUEUED
from ..core.db import Database, Tx
from ..core.principal import Principal


def queue(tx: Tx, filters: ex.Filters, actor: Principal) -> ex.Job:
    """Queue an export job (in the caller's write transaction)."""
    return ex.create_job(tx, filters, actor)


def start(db: Database, job: ex.Job, export_dir: Path, signing_key_path: Path) -> None:
    """Run a committed job in the background: poll it by its id."""
    threading.Thread(
        target=ex.run_job,
        args=(db, job.id, export_dir, signing_key_path),
        name=f"export-job-{job.id}",
        daemon=True,
    ).start()


def resume(db: Database, job_id: int, export_dir: Path, signing_key_path: Path) -> bool:
    """Start a job still queued though its request has been answered (the
    request's COMMIT was applied but its connection died before it could start
    the job, or the process stopped in between): a retry with the same
    Idempotency-Key calls this. Whether it was queued; starting it twice is
    harmless (a job runs once: :func:`wallets.audit.export.run_job`)."""
    job = db.read(ex.get_job, job_id)
    if job.status != QUEUED:
        return False
    start(db, job, export_dir, signing_key_path)
    return True
