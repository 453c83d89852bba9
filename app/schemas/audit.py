"""Schemas of audit: reconciliation, digests, exports, checkpoints, the audit log (issue 7)."""

from __future__ import annotations

from marshmallow import fields, validate

from wallets.audit import checkpoints
from wallets.audit import log as audit_log
from wallets.audit.digest import ALGORITHM
from wallets.audit.export import jobs
from wallets.core.schema import MAX_ID32

from .common import IdPageArgs, Instant, Integer, Output, StrictSchema, id_field, one_of, wallet_id


class CheckOut(Output):
    id = Integer()
    name = fields.String()
    ok = fields.Boolean()
    figures = fields.Dict()
    problems = fields.List(fields.String())


class ReconciliationOut(Output):
    ok = fields.Boolean()
    checked_at = fields.String()
    checks = fields.List(fields.Nested(CheckOut))


class DigestOut(Output):
    sequence = Integer(metadata={"description": "seq of the last journal entry"})
    head_hash = fields.String(metadata={"description": "hash of that entry (64 zeros if none)"})
    time = fields.String(metadata={"description": "Sandbox time of the digest, ISO 8601"})
    signature = fields.String(
        metadata={
            "description": "base64 Ed25519 signature of the canonical JSON "
            '{"head_hash":...,"sequence":...,"time":...} (sorted keys, no spaces)'
        }
    )
    public_key = fields.String(metadata={"description": "The central bank's public key (PEM)"})
    public_key_sha256 = fields.String(
        metadata={"description": "SHA-256 of the raw 32-byte public key, to compare out of band"}
    )
    algorithm = one_of([ALGORITHM])


class ExportCreate(StrictSchema):
    from_ = Instant(
        data_key="from",
        load_default=None,
        metadata={
            "description": "Entries posted at or after this time",
            "example": "2026-01-01T00:00:00+08:00",
        },
    )
    to = Instant(load_default=None, metadata={"description": "Entries posted before this time"})
    operator = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=32),
        metadata={"description": "Only transfers from or to this operator"},
    )
    wallet = wallet_id(
        load_default=None, metadata={"description": "Only transfers from or to this wallet"}
    )
    formats = fields.List(
        fields.String(validate=validate.OneOf(["csv", "jsonl", "camt053"])),
        load_default=None,
        validate=validate.Length(min=1),
        metadata={"description": "Default: all of csv, jsonl, camt053"},
    )


class ExportFileOut(Output):
    name = fields.String(metadata={"example": "journal.csv"})
    rows = Integer(allow_none=True)
    bytes = Integer()
    sha256 = fields.String()


class ExportJobOut(Output):
    id = Integer()
    status = one_of(jobs.STATUSES)
    filters = fields.Dict()
    created_at = fields.DateTime(metadata={"description": "Sandbox time"})
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    head_seq = Integer(allow_none=True)
    head_hash = fields.String(allow_none=True)
    files = fields.List(fields.Nested(ExportFileOut))
    error = fields.String(allow_none=True)
    error_code = fields.String(
        allow_none=True,
        metadata={"description": "Why a failed job failed, e.g. ledger_chain_broken"},
    )


class CheckpointOut(Output):
    id = fields.Integer()
    sequence = fields.Integer(metadata={"description": "seq of the journal head it signs"})
    head_hash = fields.String(metadata={"description": "hash of that entry (64 zeros if none)"})
    time = fields.String(metadata={"description": "Sandbox time, ISO 8601, as signed"})
    signature = fields.String(
        metadata={
            "description": "base64 Ed25519 signature of the canonical JSON "
            '{"head_hash":...,"sequence":...,"time":...}, as a digest\'s'
        }
    )
    public_key_sha256 = fields.String(
        metadata={"description": "SHA-256 of the raw 32-byte public key that signed it"}
    )
    algorithm = one_of([ALGORITHM])
    reason = one_of(
        checkpoints.REASONS, metadata={"description": "Taken on schedule or for an export"}
    )
    export_id = fields.String(
        allow_none=True, metadata={"description": "The export it was taken for"}
    )


class AuditEventArgs(IdPageArgs):
    method = fields.String(
        validate=validate.OneOf(["POST", "PUT", "PATCH", "DELETE", "CLI"]),
        metadata={"description": "CLI: a write of the `ecny` command line"},
    )
    path_prefix = fields.String(validate=validate.Length(min=1, max=255))
    key_id = id_field(MAX_ID32)
    start = Instant(
        data_key="from",
        load_default=None,
        metadata={"description": "Events at or after this sandbox time (inclusive)"},
    )
    end = Instant(
        data_key="to",
        load_default=None,
        metadata={"description": "Events before this sandbox time (exclusive)"},
    )
    outcome = fields.String(validate=validate.OneOf(audit_log.OUTCOMES))
    status = Integer(validate=validate.Range(min=100, max=599))


class AuditEventOut(Output):
    id = Integer()
    at = fields.DateTime(metadata={"description": "Sandbox time"})
    wall_at = fields.DateTime(metadata={"description": "Real time"})
    api_key_id = Integer(allow_none=True)
    role = fields.String(allow_none=True)
    operator = fields.String(attribute="operator_code", allow_none=True)
    casino = fields.String(attribute="casino_ref", allow_none=True)
    method = fields.String()
    path = fields.String()
    idempotency_key = fields.String(allow_none=True)
    replayed = fields.Boolean()
    status = Integer()
    outcome = one_of(audit_log.OUTCOMES)
    error_code = fields.String(allow_none=True)
    request_id = fields.String(allow_none=True)
    resource = fields.String(allow_none=True, metadata={"description": "id or code written"})
    summary = fields.String(
        allow_none=True, metadata={"description": "Plain request fields, without personal data"}
    )
