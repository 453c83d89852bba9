from __future__ import annotations

from flask import Response, send_file, stream_with_context

from wallets.audit import checkpoints as cp
from wallets.audit import digest as dg
from wallets.audit import export as ex
from wallets.audit import log as audit_log
from wallets.audit.reconcile import reconcile
from wallets.services import exports

from .. import present
from ..auth import current_principal, roles
from ..schemas.audit import (
    AuditEventArgs,
    AuditEventOut,
    CheckpointOut,
    DigestOut,
    ExportCreate,
    ExportJobOut,
    ReconciliationOut,
)
from ..schemas.common import Id32PageArgs, page_of
from ..state import database, settings
from ..writes import read, write
from .common import WRITE_PROBLEMS, Blueprint, int_cursor, problems

blp = Blueprint(
    "audit",
    __name__,
    url_prefix="/v1/audit",
    description="Reconciliation, the signed digest, exports and the audit log",
)

AuditEventPage = page_of(AuditEventOut, "AuditEventPage")
CheckpointPage = page_of(CheckpointOut, "CheckpointPage")
ExportJobPage = page_of(ExportJobOut, "ExportJobPage")
# The media type of each kind of file an export writes, by its suffix (the
# document lists them as the download's content types).
MEDIA_TYPES = {
    ".csv": "text/csv",
    ".jsonl": "application/x-ndjson",
    ".xml": "application/xml",
    ".json": "application/json",
}


@blp.route("/reconciliation", methods=["GET"])
@blp.response(200, ReconciliationOut)
@problems(blp)
@roles("admin", "central_bank", "auditor")
def reconciliation():
    """Check the ledger's invariants (SPEC.md §3) on the live database, with their figures."""
    return read(reconcile)


@blp.route("/digest", methods=["GET"])
@blp.response(200, DigestOut)
@problems(blp, 503)
@roles("admin", "central_bank", "auditor")
def get_digest():
    """The journal head (last seq and hash) signed by the central bank's Ed25519 key.
    Keep it: any later export must contain this head, unchanged."""
    key = dg.load_or_create_key(settings().signing_key_path)
    return read(lambda tx: dg.take(tx, key).as_dict())


@blp.route("/exports", methods=["POST"])
@blp.arguments(ExportCreate())
@blp.response(202, ExportJobOut, headers={"Location": "Location"})
@problems(blp, *WRITE_PROBLEMS)
@roles("admin", "auditor")
def create_export(body):
    """Start an export job (journal CSV/JSONL, balances, camt.053 statements, audit log,
    identity reveals, signed manifest). It runs in the background: poll `GET /v1/audit/exports/{id}`."""
    filters = ex.parse_filters(
        body["from_"], body["to"], body["operator"], body["wallet"], body["formats"]
    )
    db, cfg = database(), settings()
    response = write(
        lambda tx: ex.create_job(tx, filters, current_principal()), ExportJobOut, status=202
    )
    job_id = (response.get_json(silent=True) or {}).get("id")
    if job_id is not None:
        response.headers["Location"] = f"/v1/audit/exports/{job_id}"
        # Started once committed; a replay's job too, if its first request
        # never started it (a job runs once, however often it is started).
        exports.start_if_queued(db, job_id, cfg.export_dir, cfg.signing_key_path)
    return response


@blp.route("/checkpoints", methods=["GET"])
@blp.arguments(Id32PageArgs(), location="query")
@blp.response(200, CheckpointPage)
@problems(blp, 422)
@roles("admin", "central_bank", "auditor")
def list_checkpoints(args):
    """Signed checkpoints of the journal head, oldest first: one per period of sandbox
    time (`ECNY_CHECKPOINT_HOURS`) and one per export. Keep them: `ecny audit
    checkpoints verify` and `ecny audit verify --digest` check them later."""
    after = int_cursor(args["after"])

    def run(tx):
        found = cp.list_checkpoints(tx, after=after, limit=args["limit"] + 1)
        return present.page(found, args["limit"], lambda c: c["id"])

    return read(run)


@blp.route("/exports", methods=["GET"])
@blp.arguments(Id32PageArgs(), location="query")
@blp.response(200, ExportJobPage)
@problems(blp, 422)
@roles("admin", "auditor")
def list_exports(args):
    """Export jobs, newest first (`after`: the jobs older than that id)."""
    after = int_cursor(args["after"])

    def run(tx):
        found = ex.list_jobs(tx, after=after, limit=args["limit"] + 1)
        return present.page(found, args["limit"], lambda j: j.id)

    return read(run)


@blp.route("/exports/<id32:job_id>", methods=["GET"])
@blp.response(200, ExportJobOut)
@problems(blp, 404)
@roles("admin", "auditor")
def get_export(job_id):
    """An export job: its status and, once it succeeded, its files with sizes and SHA-256."""
    return read(lambda tx: ex.get_job(tx, job_id))


@blp.route("/exports/<id32:job_id>/files/<path:name>", methods=["GET"])
@blp.doc(
    responses={
        "200": {
            "description": "The file, as an attachment, in the media type of its suffix: "
            "`.csv` text/csv, `.jsonl` application/x-ndjson, `.xml` application/xml "
            "(camt.053), `.json` application/json (the manifest)",
            "content": {
                media_type: {"schema": {"type": "string", "format": "binary"}}
                for media_type in MEDIA_TYPES.values()
            },
            "headers": {
                "ETag": {
                    "description": "The file's version (a file of a job never changes)",
                    "schema": {"type": "string"},
                }
            },
        }
    }
)
@problems(blp, 404, 409)
@roles("admin", "auditor")
def get_export_file(job_id, name):
    """Download one file of a succeeded export job, e.g. `manifest.json`, `journal.csv`,
    `camt053/1.xml`."""
    path = read(lambda tx: ex.job_file(tx, settings().export_dir, job_id, name))
    mimetype = MEDIA_TYPES[path.suffix]  # every file an export writes has one of them
    return send_file(path, mimetype=mimetype, as_attachment=True, download_name=path.name)


@blp.route("/exports/<id32:job_id>/archive", methods=["GET"])
@blp.doc(
    responses={
        "200": {
            "description": "The whole export as one gzip-compressed tar, streamed: "
            "`export-job-<id>/manifest.json` and every listed file under `export-job-<id>/`",
            "content": {"application/gzip": {"schema": {"type": "string", "format": "binary"}}},
        }
    }
)
@problems(blp, 404, 409)
@roles("admin", "auditor")
def get_export_archive(job_id):
    """Download a succeeded export job whole, as one `.tar.gz`: unpack it and run
    `ecny audit verify export-job-<id>`, or give the archive to `ecny audit verify` as is."""
    directory, names = read(lambda tx: ex.job_archive_files(tx, settings().export_dir, job_id))
    name = ex.archive_name(job_id)
    return Response(
        stream_with_context(ex.tar_gz_chunks(directory, names, name)),
        200,
        mimetype="application/gzip",
        headers={"Content-Disposition": f'attachment; filename="{name}.tar.gz"'},
    )


@blp.route("/events", methods=["GET"])
@blp.arguments(AuditEventArgs(), location="query")
@blp.response(200, AuditEventPage)
@problems(blp, 422)
@roles("admin", "auditor")
def list_events(args):
    """The audit log: every state-changing API call (and `ecny` command-line write),
    accepted or refused, oldest first. Filters: method, path_prefix, key_id, outcome
    (succeeded, refused, failed), status, and a range of sandbox time: `from`
    inclusive, `to` exclusive."""
    after = int_cursor(args["after"])
    filters = audit_log.EventFilters(
        method=args.get("method"),
        path_prefix=args.get("path_prefix"),
        key_id=args.get("key_id"),
        outcome=args.get("outcome"),
        status=args.get("status"),
        start=args.get("start"),
        end=args.get("end"),
    )

    def run(tx):
        found = audit_log.list_events(tx, filters, after=after, limit=args["limit"] + 1)
        return present.page(found, args["limit"], lambda e: e.id)

    return read(run)
