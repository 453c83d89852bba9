"""The check of audit_events.csv."""

from __future__ import annotations

import csv

from .checks import _Checks


class _AuditEventChecks(_Checks):
    """audit_events.csv: the rows the manifest says."""

    def _audit_events(self) -> None:
        name = "audit_events.csv"
        if name not in self.listed:
            return
        c = self.check("audit log")
        path = self.dir / name
        if not path.is_file():
            return
        with open(path, newline="", encoding="utf-8") as f:
            rows = sum(1 for _ in csv.DictReader(f))
        if rows != self.listed[name].get("rows"):
            self.fail(
                c, name, None, f"{rows} rows, the manifest says {self.listed[name].get('rows')}"
            )
        c.detail = f"{rows} audit events"
