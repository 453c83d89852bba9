"""A verification's report: its checks and the problems found, each named
with its file and line."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

MAX_PROBLEMS = 200
# Fields of a journal row that belong to its transfer: equal on all its rows.
TRANSFER_FIELDS = (
    "kind",
    "posted_at",
    "from_wallet",
    "to_wallet",
    "from_operator",
    "to_operator",
    "reference",
)
INT_FIELDS = ("seq", "transfer_id", "amount_fen", "from_wallet", "to_wallet")
OPTIONAL_FIELDS = ("from_wallet", "to_wallet", "from_operator", "to_operator", "reference")


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.message}"


@dataclass
class Check:
    name: str
    ok: bool = True
    detail: str = ""


@dataclass
class Report:
    directory: Path
    checks: list[Check] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    # Signed by the key given (the central bank's, obtained separately)? Without
    # one, the export's own key was used: integrity only.
    authenticated: bool = False
    # What this export cannot prove (a filtered export), said apart from problems.
    not_checkable: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every check holds (whether the signer is authenticated or not)."""
        return self.problem_count == 0 and all(c.ok for c in self.checks)

    @property
    def verified(self) -> bool:
        """Every check holds and the signatures are the key given's."""
        return self.ok and self.authenticated

    @property
    def first_bad_row(self) -> Problem | None:
        with_line = [p for p in self.problems if p.line is not None]
        return with_line[0] if with_line else (self.problems[0] if self.problems else None)

    def lines(self) -> list[str]:
        out = [f"Verifying the audit export in {self.directory}"]
        for c in self.checks:
            out.append(f"[{'ok' if c.ok else 'FAIL'}] {c.name}: {c.detail}")
        for note in self.not_checkable:
            out.append(f"[not checkable] {note}")
        unchecked = (
            f" ({len(self.not_checkable)} thing(s) not checkable, listed above)"
            if self.not_checkable
            else ""
        )
        if self.ok and self.authenticated:
            out.append(f"EXPORT VERIFIED: every check holds{unchecked}")
            return out
        if self.ok:
            out.append(
                "UNAUTHENTICATED: the export is intact (integrity checked with the key it names "
                "itself), but its signer is not authenticated: give --public-key with the "
                f"central bank's key to verify it{unchecked}"
            )
            return out
        out.append(f"EXPORT DOES NOT VERIFY: {self.problem_count} problem(s)")
        first = self.first_bad_row
        if first is not None:
            out.append(f"first bad row: {first}")
        out.extend(f"  {p}" for p in self.problems)
        if self.problem_count > len(self.problems):
            out.append(f"  ... and {self.problem_count - len(self.problems)} more")
        return out


@dataclass
class _Row:
    line: int
    values: dict


@dataclass
class _Journal:
    """What the journal pass learns, for the checks after it."""

    rows: int = 0
    first_seq: int | None = None
    first_prev_hash: str | None = None
    last_seq: int | None = None
    last_hash: str | None = None
    totals: dict[str, list[int]] = field(default_factory=dict)  # asset -> [count, fen]
    # account code -> [debits, credits, entries]
    accounts: dict[str, list[int]] = field(default_factory=dict)
