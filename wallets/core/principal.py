"""Who is acting, and what they may see.

Roles (SPEC.md §10) say what kind of thing a caller may do; the scope says
which operator or casino it may do it to. Outside its scope a thing does not
exist for the caller: lookups answer "not found", never "forbidden".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ADMIN = "admin"
CENTRAL_BANK = "central_bank"
OPERATOR = "operator"
MERCHANT = "merchant"
SUPERVISOR = "supervisor"
AUDITOR = "auditor"
ROLES = (ADMIN, CENTRAL_BANK, OPERATOR, MERCHANT, SUPERVISOR, AUDITOR)


def a_role(role: str) -> str:
    """The role with its article, for messages: "an admin", "a merchant"."""
    return f"{'an' if role[:1] in ('a', 'e', 'i', 'o', 'u') else 'a'} {role}"


# A casino's reference (its chips are the asset CHIP:<ref>).
CASINO_REF_RE = re.compile(r"[A-Z][A-Z0-9_]{1,15}")


@dataclass(frozen=True)
class Principal:
    role: str
    key_id: int | None = None
    operator_id: int | None = None
    operator_code: str | None = None
    casino_ref: str | None = None

    def sees_operator(self, operator_id: int) -> bool:
        """May this caller see the operator's own figures and its wallets?"""
        if self.role == OPERATOR:
            return self.operator_id == operator_id
        return self.role in (ADMIN, CENTRAL_BANK, AUDITOR)

    def sees_wallets_of(self, operator_id: int) -> bool:
        # The central bank sees positions, not holders: managed anonymity.
        if self.role == OPERATOR:
            return self.operator_id == operator_id
        return self.role in (ADMIN, AUDITOR)

    @property
    def casino_refs(self) -> frozenset[str]:
        """The casinos of a merchant key (one) or a supervisor key (one or more,
        stored comma-separated in the key's casino_ref)."""
        if self.role not in (MERCHANT, SUPERVISOR) or not self.casino_ref:
            return frozenset()
        return frozenset(r for r in self.casino_ref.split(",") if r)

    def sees_casino(self, ref: str) -> bool:
        if self.role in (MERCHANT, SUPERVISOR):
            return ref in self.casino_refs
        return self.role in (ADMIN, AUDITOR)

    def sees_alerts_of(self, casino_ref: str | None) -> bool:
        """Casino alerts are their casino's and its supervisors' business; others
        (a settlement alert, say) the central bank's. Admin and auditor see all."""
        if self.role in (ADMIN, AUDITOR):
            return True
        if casino_ref is None:
            return self.role == CENTRAL_BANK
        return self.sees_casino(casino_ref)


# The system itself (CLI seeding, scenario set-up): may do everything.
SYSTEM = Principal(role=ADMIN)
# Who the audit log names for a write of the `ecny` command line (no API key:
# whoever can run it can reach the database).
CLI_ROLE = "cli"
CLI = Principal(role=CLI_ROLE)
