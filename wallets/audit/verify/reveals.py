"""The check of identity_reveals.jsonl (docs/anonymity.md)."""

from __future__ import annotations

import json
from datetime import datetime

from ...retail.anonymity import APPROVED, EXPIRED, READ, REJECTED, REQUESTED, REVEALERS, STATUSES
from ..export.reveals import REVEAL_FIELDS, REVEALS_FILE
from .checks import _Checks


class _RevealChecks(_Checks):
    """identity_reveals.jsonl: the rows the manifest says, in id order, each a
    reveal with no identity whose story holds: four eyes (decided by another
    role than the requester's), decided before it expired, read only after its
    approval."""

    def _reveals(self) -> None:
        if REVEALS_FILE not in self.listed:
            return
        c = self.check("identity reveals")
        path = self.dir / REVEALS_FILE
        if not path.is_file():
            return
        rows, last_id = 0, 0
        with open(path, encoding="utf-8") as f:
            for line_no, line in enumerate(f, start=1):
                rows += 1
                try:
                    row = json.loads(line)
                except ValueError:
                    self.fail(c, REVEALS_FILE, line_no, "not a JSON object")
                    continue
                if not isinstance(row, dict) or set(row) != set(REVEAL_FIELDS):
                    self.fail(c, REVEALS_FILE, line_no, f"not a reveal's fields {REVEAL_FIELDS}")
                    continue
                if not isinstance(row["id"], int) or row["id"] <= last_id:
                    self.fail(c, REVEALS_FILE, line_no, f"id {row['id']} out of order")
                    continue
                last_id = row["id"]
                for problem in _story(row):
                    self.fail(c, REVEALS_FILE, line_no, f"reveal {row['id']}: {problem}")
        listed = self.listed[REVEALS_FILE].get("rows")
        if rows != listed:
            self.fail(c, REVEALS_FILE, None, f"{rows} rows, the manifest says {listed}")
        if c.ok:
            c.detail = f"{rows} identity reveals"


def _story(row: dict) -> list[str]:
    """What is wrong with one reveal's recorded story (nothing: [])."""
    status = row["status"]
    if status not in STATUSES:
        return [f"status {status!r} is not one of {STATUSES}"]
    if row["requested_by_role"] not in REVEALERS:
        return [f"requested by the {row['requested_by_role']} role"]
    try:
        requested, expires = _at(row["requested_at"]), _at(row["expires_at"])
        decided = _at(row["decided_at"]) if row["decided_at"] is not None else None
        read = _at(row["read_at"]) if row["read_at"] is not None else None
    except (TypeError, ValueError):
        return ["a time is not ISO 8601"]
    problems = []
    if expires <= requested:
        problems.append("expires before it was requested")
    if status in (REQUESTED, EXPIRED):
        if decided is not None or read is not None or row["decided_by_role"] is not None:
            problems.append(f"{status}, yet decided or read")
        return problems
    if decided is None or row["decided_by_role"] is None:
        return [*problems, f"{status} without a decision"]
    if row["decided_by_role"] == row["requested_by_role"]:
        problems.append("decided by the requester's role: not four eyes")
    if not requested <= decided < expires:
        problems.append("decided outside its time limit")
    if status == READ and (read is None or read < decided):
        problems.append("read without, or before, its approval")
    if status in (APPROVED, REJECTED) and read is not None:
        problems.append(f"{status}, yet read")
    return problems


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)
