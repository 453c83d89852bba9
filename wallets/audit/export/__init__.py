"""Audit exports: the journal, balances, statements and audit log as files that
an auditor verifies offline (see wallets/audit/verify/ and docs/audit.md).

An export reads one consistent snapshot of the database and streams every
table it writes (``yield_per``): rows go from the cursor to the file one by
one, so memory stays flat however long the journal is. It writes

- ``journal.csv`` / ``journal.jsonl``: one row per journal entry in ``seq``
  order, with its ``prev_hash`` and ``hash`` and its transfer's fields
  (journal.py, csv.py, jsonl.py);
- ``balances.csv``: each account's totals from the journal, as of the export's end (csv.py);
- ``camt053/<wallet id>.xml``: an ISO 20022 camt.053.001.08 statement per wallet (camt053.py);
- ``audit_events.csv``: the audit log of API writes (csv.py);
- ``identity_reveals.jsonl``: the identity reveals requested in scope, without
  any identity (reveals.py);
- ``manifest.json``: every file's rows, bytes and SHA-256, control totals, the
  exported range of the chain, the filters, the central bank's signed digest of
  the head, and a signature of the manifest itself (bundle.py).

Filters (time range, operator, wallet) select whole *transfers*: every entry of
a selected transfer is exported, so the rows of a transfer stay together.
The API runs exports as jobs (jobs.py).
"""

from .bundle import MANIFEST_FORMAT, ExportResult, export, manifest_message
from .camt053 import CAMT_NS, XSD_PATH
from .common import FORMATS, ExportedFile, Filters, file_digest, parse_filters
from .csv import AUDIT_EVENT_FIELDS, BALANCE_FIELDS, JOURNAL_FIELDS, csv_text, csv_text_value
from .jobs import (
    Job,
    JobProgress,
    archive_name,
    create_job,
    get_job,
    job_archive_files,
    job_directory,
    job_file,
    job_progress,
    list_jobs,
    run_job,
    tar_gz_chunks,
)
from .jsonl import jsonl_line

__all__ = [
    "AUDIT_EVENT_FIELDS",
    "BALANCE_FIELDS",
    "CAMT_NS",
    "FORMATS",
    "JOURNAL_FIELDS",
    "MANIFEST_FORMAT",
    "XSD_PATH",
    "ExportResult",
    "ExportedFile",
    "Filters",
    "Job",
    "JobProgress",
    "archive_name",
    "create_job",
    "csv_text",
    "csv_text_value",
    "export",
    "file_digest",
    "get_job",
    "job_archive_files",
    "job_directory",
    "job_file",
    "job_progress",
    "jsonl_line",
    "list_jobs",
    "manifest_message",
    "parse_filters",
    "run_job",
    "tar_gz_chunks",
]
