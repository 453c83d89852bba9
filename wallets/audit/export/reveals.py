"""identity_reveals.jsonl: every identity reveal in scope, one JSON object per
line (docs/anonymity.md), without any identity: who asked, on which legal basis
and case, who decided, when it was read."""

from __future__ import annotations

import json
from pathlib import Path

from ...core.db import Tx
from ...retail import anonymity
from .common import ExportedFile, _Scope

REVEALS_FILE = "identity_reveals.jsonl"
REVEAL_FIELDS = (
    "id",
    "wallet",
    "operator",
    "legal_basis",
    "case_reference",
    "status",
    "requested_by_role",
    "requested_by_key",
    "requested_at",
    "expires_at",
    "decided_by_role",
    "decided_by_key",
    "decided_at",
    "reason",
    "read_at",
)


def _write_reveals(tx: Tx, scope: _Scope, out_dir: Path) -> ExportedFile:
    found = anonymity.reveals_in(
        tx,
        operator_id=scope.operator_id,
        wallet_id=scope.filters.wallet,
        start=scope.filters.from_,
        end=scope.filters.to,
    )
    with open(out_dir / REVEALS_FILE, "w", encoding="utf-8", newline="\n") as f:
        for r in found:
            doc = anonymity.document(r, scope.now)
            row = {
                k: v.isoformat() if hasattr(v, "isoformat") else v
                for k, v in doc.items()
                if k in REVEAL_FIELDS
            }
            f.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
    return ExportedFile(REVEALS_FILE, len(found))
