"""What every file's checks share: the verifier's state and its bookkeeping
(a check begun, a problem recorded). The mix-ins of each format derive from
:class:`_Checks`, so each knows the attributes the others set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .report import MAX_PROBLEMS, Check, Problem, Report


class _Checks:
    def __init__(
        self, directory: Path, public_key: Ed25519PublicKey | None, earlier: list[dict[str, Any]]
    ) -> None:
        self.dir = Path(directory)
        self.trusted_key = public_key
        self.earlier = earlier
        # seq -> (hash, line) of the journal rows that earlier digests name
        self.earlier_found: dict[int, tuple[str, int]] = {}
        self.report = Report(self.dir)
        self.manifest: dict[str, Any] = {}
        self.listed: dict[str, dict[str, Any]] = {}
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
