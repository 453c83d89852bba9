"""The verifier: the checks of each file (one mix-in per format), in order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .audit_events import _AuditEventChecks
from .balances import _BalanceChecks
from .camt053 import _Camt053Checks
from .journal import _JournalChecks
from .manifest import _ManifestChecks
from .report import Report
from .reveals import _RevealChecks


class _Verifier(
    _ManifestChecks,
    _Camt053Checks,
    _JournalChecks,
    _BalanceChecks,
    _AuditEventChecks,
    _RevealChecks,
):
    """The checks of every format, run in order (the state and the bookkeeping
    are :class:`.checks._Checks`)."""

    # -- the checks
    def run(self) -> Report:
        if not self._manifest():
            return self.report
        self._signatures()
        self._files()
        journal = self._journal()
        if journal is not None:
            self._journal_copy()
            self._control_totals(journal)
            balances = self._balances(journal)
            self._statements(journal, balances)
            self._earlier_digests(journal)
        self._audit_events()
        self._reveals()
        return self.report


def verify_export(
    directory: Path,
    public_key: Ed25519PublicKey | None = None,
    earlier_digests: list[dict[str, Any]] | None = None,
) -> Report:
    """Verify the export in ``directory``; trust ``public_key`` when given; check
    that the chain still passes through the heads of ``earlier_digests``."""
    return _Verifier(Path(directory), public_key, earlier_digests or []).run()
