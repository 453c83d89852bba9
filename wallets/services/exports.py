"""Audit export jobs as a use case: the job is queued in the write's
transaction (:func:`wallets.audit.export.create_job`), and runs once that has
committed, in a thread of its own, so that the request does not hold a
transaction open for the export's length."""

from __future__ import annotations

import threading
from pathlib import Path

from ..audit import export as ex
from ..audit.export.jobs import QUEUED
from ..core.db import Database


def start(db: Database, job: ex.Job, export_dir: Path, signing_key_path: Path) -> None:
    """Run a committed job in the background: poll it by its id."""
    threading.Thread(
        target=ex.run_job,
        args=(db, job.id, export_dir, signing_key_path),
        name=f"export-job-{job.id}",
        daemon=True,
    ).start()


def start_if_queued(db: Database, job_id: int, export_dir: Path, signing_key_path: Path) -> bool:
    """Start a committed job if it is still queued: the request that created it
    calls this, and so does a retry of that request with the same
    Idempotency-Key (its first request may have been cut off before starting
    it). Whether it was queued; starting it twice is harmless (a job runs
    once: :func:`wallets.audit.export.run_job`)."""
    job = db.read(ex.get_job, job_id)
    if job.status != QUEUED:
        return False
    start(db, job, export_dir, signing_key_path)
    return True
