"""The verifier: the checks of each file (one mix-in per format), in order."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .audit_events import _AuditEventChecks
from .balances import _BalanceChecks
from .camt053 import _Camt053Checks
from .journal import _JournalChecks
from .manifest import _ManifestChecks
from .report import MAX_PROBLEMS, Check, Problem, Report


class _Verifier(_ManifestChecks, _JournalChecks, _BalanceChecks, _Camt053Checks, _AuditEventChecks):
    def __init__(
        self, directory: Path, public_key: Ed25519PublicKey | None, earlier: list[dict]
    ) -> None:
        self.dir = Path(directory)
        self.trusted_key = public_key
        self.earlier = earlier
        # seq -> (hash, line) of the journal rows that earlier digests name
        self.earlier_found: dict[int, tuple[str, int]] = {}
        self.report = Report(self.dir)
        self.manifest: dict = {}
        self.listed: dict[str, dict] = {}
        # A gap in a complete export's seq, told only at the next row: that row
        # may be the "missing" entry, out of order. (prev seq, seq, line, where
        # in the problems its report goes)
        self._gap: tuple[int, int, int, int] | None = None

    # -- bookkeeping
    def check(self, name: str) -> Check:
        c = Check(name)
        self.report.checks.append(c)
        return c

    def fail(
        self,
        check: Check | None,
        file: str,
        line: int | None,
        message: str,
        at: int | None = None,
    ) -> None:
        """Record a problem (``at``: in this place of the list, for a problem
        found late); with no check, stay silent (a second reading of a file whose
        problems were already reported)."""
        if check is None:
            return
        check.ok = False
        self.report.problem_count += 1
        if len(self.report.problems) < MAX_PROBLEMS:
            problem = Problem(file, line, message)
            if at is None:
                self.report.problems.append(problem)
            else:
                self.report.problems.insert(at, problem)

    def _missing(self, c: Check, name: str) -> None:
        """Report the pending gap as missing entries."""
        if self._gap is None:
            return
        p_seq, seq, line, at = self._gap
        self._gap = None
        missing = f"{p_seq + 1}" if seq == p_seq + 2 else f"{p_seq + 1}..{seq - 1}"
        self.fail(c, name, line, f"seq {seq} follows seq {p_seq}: entry {missing} is missing", at)

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
        return self.report


def verify_export(
    directory: Path,
    public_key: Ed25519PublicKey | None = None,
    earlier_digests: list[dict] | None = None,
) -> Report:
    """Verify the export in ``directory``; trust ``public_key`` when given; check
    that the chain still passes through the heads of ``earlier_digests``."""
    return _Verifier(Path(directory), public_key, earlier_digests or []).run()
