"""Export jobs (the API's): queued, run in the background, their files served
one by one or as one tar.gz archive."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from ...core import errors, outbox
from ...core.db import Database, Tx, inserted_id
from ...core.principal import Principal
from ...core.schema import (
    MAX_ID32,
    export_jobs,
)
from .. import digest as dg
from .bundle import export
from .common import Filters, file_digest, resolve

# ---- export jobs (the API's) ---------------------------------------------------------

QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"
STATUSES = (QUEUED, RUNNING, SUCCEEDED, FAILED)


@dataclass(frozen=True)
class Job:
    id: int
    status: str
    filters: dict
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    head_seq: int | None
    head_hash: str | None
    files: list[dict]
    error: str | None
    error_code: str | None = None


def _job(row: sa.Row) -> Job:
    return Job(
        id=row.id,
        status=row.status,
        filters=json.loads(row.filters),
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        head_seq=row.head_seq,
        head_hash=row.head_hash,
        files=json.loads(row.files) if row.files else [],
        error=row.error,
        error_code=row.error_code,
    )


def create_job(tx: Tx, filters: Filters, actor: Principal) -> Job:
    """Record a queued export; its operator and wallet must exist."""
    resolve(tx, filters)
    job_id = inserted_id(
        tx.conn.execute(
            export_jobs.insert().values(
                status=QUEUED,
                api_key_id=actor.key_id,
                filters=json.dumps(filters.as_dict()),
                created_at=tx.now(),
            )
        )
    )
    return _emitted(tx, "audit.export_queued", job_id)


def _emitted(tx: Tx, type_: str, job_id: int) -> Job:
    """The job's event, as ``GET /v1/audit/exports/{id}`` renders it: the admin's
    and the auditor's (no scope column: no other role sees it)."""
    job = get_job(tx, job_id)
    outbox.emit(tx, outbox.Event(type_, dict(job.__dict__)))
    return job


def get_job(tx: Tx, job_id: int) -> Job:
    if not 0 < job_id <= MAX_ID32:  # the column's range: beyond it there is no such job
        raise errors.DomainError(errors.EXPORT_NOT_FOUND, f"no export job {job_id}")
    row = tx.conn.execute(sa.select(export_jobs).where(export_jobs.c.id == job_id)).first()
    if row is None:
        raise errors.DomainError(errors.EXPORT_NOT_FOUND, f"no export job {job_id}")
    return _job(row)


def list_jobs(tx: Tx, *, after: int | None, limit: int) -> list[Job]:
    """Export jobs, newest first (``after``: show those older than this id)."""
    stmt = sa.select(export_jobs).order_by(export_jobs.c.id.desc()).limit(limit)
    if after is not None:
        stmt = stmt.where(export_jobs.c.id < after)
    return [_job(r) for r in tx.conn.execute(stmt)]


def job_directory(export_dir: Path, job_id: int) -> Path:
    return Path(export_dir) / f"job-{job_id}"


def job_file(tx: Tx, export_dir: Path, job_id: int, name: str) -> Path:
    """The path of one listed file of a succeeded job."""
    job = get_job(tx, job_id)
    if job.status != SUCCEEDED:
        raise errors.DomainError(
            errors.EXPORT_NOT_READY, f"export job {job_id} is {job.status}", job_status=job.status
        )
    if name != "manifest.json" and name not in {f["name"] for f in job.files}:
        raise errors.DomainError(
            errors.EXPORT_FILE_NOT_FOUND, f"export job {job_id} has no file {name!r}"
        )
    path = job_directory(export_dir, job_id) / name
    if not path.is_file():
        raise errors.DomainError(
            errors.EXPORT_FILE_NOT_FOUND, f"the file {name!r} of export job {job_id} is gone"
        )
    return path


# ---- progress of a running job ------------------------------------------------------
# A running job writes how far it is into a small file next to its directory
# (not in it: the directory holds the export's files and nothing else), so
# that any worker of the server, polling, reads the same figure.

PROGRESS_EVERY = 0.25  # seconds between two writes of the progress file


def progress_path(export_dir: Path, job_id: int) -> Path:
    return Path(export_dir) / f"job-{job_id}.progress.json"


@dataclass(frozen=True)
class JobProgress:
    """How far a job is: ``percent`` from 0 (queued) to 100 (succeeded), None if
    it failed; ``stage`` (journal, statements) and its rows while running."""

    job: Job
    percent: int | None
    stage: str | None = None
    done: int = 0
    total: int | None = None


def _stages(filters: Filters) -> list[str]:
    """The stages an export reports, in order (bundle.py: the journal, then the statements)."""
    return ["journal"] + (["statements"] if "camt053" in filters.formats else [])


def job_progress(tx: Tx, export_dir: Path, job_id: int) -> JobProgress:
    job = get_job(tx, job_id)
    if job.status == SUCCEEDED:
        return JobProgress(job, 100)
    if job.status == FAILED:
        return JobProgress(job, None)
    try:
        state = json.loads(progress_path(export_dir, job_id).read_text())
    except (OSError, ValueError):
        return JobProgress(job, 0)
    stages = _stages(Filters.from_dict(job.filters))
    stage, done, total = state["stage"], state["done"], state["total"]
    share = done / total if total else 1.0
    index = stages.index(stage) if stage in stages else 0
    # 99 at most until the job has written its last files and the manifest.
    percent = min(int((index + share) / len(stages) * 100), 99)
    return JobProgress(job, percent, stage, done, total)


class _ProgressFile:
    """A progress factory (common.ProgressFactory) that keeps ``path`` up to date."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, label: str, total: int | None) -> _Stage:
        return _Stage(self, label, total)

    def write(self, stage: str, done: int, total: int | None) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps({"stage": stage, "done": done, "total": total}))
        tmp.replace(self.path)  # whole, never half-written


class _Stage:
    def __init__(self, out: _ProgressFile, label: str, total: int | None) -> None:
        self.out, self.label, self.total, self.done = out, label, total, 0
        self.written = time.monotonic()
        out.write(label, 0, total)

    def update(self, n: int) -> None:
        self.done += n
        if time.monotonic() - self.written >= PROGRESS_EVERY:
            self.out.write(self.label, self.done, self.total)
            self.written = time.monotonic()

    def close(self) -> None:
        self.out.write(self.label, self.done, self.total)


def _set(tx: Tx, job_id: int, **values) -> None:
    tx.conn.execute(export_jobs.update().where(export_jobs.c.id == job_id).values(**values))


def _end(tx: Tx, job_id: int, type_: str, generation: int, **values) -> Job | None:
    """Record the job's end and its event, in one write; nothing if the
    sandbox was reset since the job started (wallets/services/reset.py): its
    record is gone, and its id may be another job's by now."""
    if tx.generation != generation:
        return None
    _set(tx, job_id, **values)
    return _emitted(tx, type_, job_id)


def run_job(db: Database, job_id: int, export_dir: Path, signing_key_path: Path) -> Job | None:
    """Run a queued job to its end; a failure is recorded on the job, not raised.
    A job that is no longer queued (another thread or process started it) is
    left to whoever did, and returned as it stands. None: the sandbox was
    reset while it ran, and the job with it."""

    def take(tx: Tx) -> int | None:
        taken = tx.conn.execute(
            export_jobs.update()
            .where(export_jobs.c.id == job_id, export_jobs.c.status == QUEUED)
            .values(status=RUNNING, started_at=datetime.now(UTC))
        ).rowcount
        return tx.generation if taken == 1 else None

    generation = db.write(take)
    if generation is None:
        return db.read(get_job, job_id)
    try:
        filters = Filters.from_dict(db.read(get_job, job_id).filters)
        key = dg.load_or_create_key(signing_key_path)
        directory = job_directory(export_dir, job_id)
        # A job id is used once per database: files already there are a previous
        # database's (the sandbox was rebuilt), not this job's.
        shutil.rmtree(directory, ignore_errors=True)
        result = export(
            db,
            directory,
            filters,
            key,
            export_id=f"JOB-{job_id}",
            progress=_ProgressFile(progress_path(export_dir, job_id)),
        )
    except Exception as exc:  # noqa: BLE001 - the job records why it failed
        if isinstance(exc, errors.DomainError):
            detail, code = exc.detail, exc.code
        else:
            detail, code = f"{type(exc).__name__}: {exc}", "internal_error"
        ended = db.write(
            _end,
            job_id,
            "audit.export_failed",
            generation,
            status=FAILED,
            finished_at=datetime.now(UTC),
            error=detail[:500],
            error_code=code,
        )
    else:
        size, sha = file_digest(result.directory / "manifest.json")
        listing = [{"name": "manifest.json", "rows": None, "bytes": size, "sha256": sha}]
        listing += [f.as_dict() for f in result.files]
        ended = db.write(
            _end,
            job_id,
            "audit.export_succeeded",
            generation,
            status=SUCCEEDED,
            finished_at=datetime.now(UTC),
            head_seq=result.manifest["head"]["sequence"],
            head_hash=result.manifest["head"]["hash"],
            files=json.dumps(listing),
        )
    progress_path(export_dir, job_id).unlink(missing_ok=True)  # the job's status says the rest
    return None if ended is None else db.read(get_job, job_id)


# ---- the whole export as one archive -----------------------------------------------

ARCHIVE_CHUNK = 1 << 16


def job_archive_files(tx: Tx, export_dir: Path, job_id: int) -> tuple[Path, list[str]]:
    """The directory and the file names (manifest first) of a succeeded job."""
    job = get_job(tx, job_id)
    if job.status != SUCCEEDED:
        raise errors.DomainError(
            errors.EXPORT_NOT_READY, f"export job {job_id} is {job.status}", job_status=job.status
        )
    names = ["manifest.json"] + [f["name"] for f in job.files if f["name"] != "manifest.json"]
    directory = job_directory(export_dir, job_id)
    for name in names:
        if not (directory / name).is_file():
            raise errors.DomainError(
                errors.EXPORT_FILE_NOT_FOUND, f"the file {name!r} of export job {job_id} is gone"
            )
    return directory, names


def archive_name(job_id: int) -> str:
    return f"export-job-{job_id}"


def tar_gz_chunks(directory: Path, names: list[str], prefix: str) -> Iterator[bytes]:
    """A gzip-compressed POSIX tar of ``names`` under ``directory``, each as
    ``prefix/name``, produced piece by piece: memory stays flat however large
    the files (a file is read ARCHIVE_CHUNK bytes at a time)."""
    import tarfile
    import zlib

    gz = zlib.compressobj(6, zlib.DEFLATED, 31)  # 31: gzip wrapper
    for name in names:
        path = directory / name
        info = tarfile.TarInfo(f"{prefix}/{name}")
        stat = path.stat()
        info.size, info.mtime, info.mode = stat.st_size, int(stat.st_mtime), 0o644
        out = gz.compress(info.tobuf(format=tarfile.PAX_FORMAT))
        if out:
            yield out
        with open(path, "rb") as f:
            while chunk := f.read(ARCHIVE_CHUNK):
                out = gz.compress(chunk)
                if out:
                    yield out
        pad = -stat.st_size % tarfile.BLOCKSIZE
        if pad:
            out = gz.compress(b"\0" * pad)
            if out:
                yield out
    yield gz.compress(b"\0" * (2 * tarfile.BLOCKSIZE)) + gz.flush()
