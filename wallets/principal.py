"""Who is acting, and what they may see.

Roles (SPEC.md §10) say what kind of thing a caller may do; the scope says
which operator or casino it may do it to. Outside its scope a thing does not
exist for the caller: lookups answer "not found", never "forbidden".
"""

from __future__ import annotations

from dataclasses import dataclass

ADMIN = "admin"
CENTRAL_BANK = "central_bank"
OPERATOR = "operator"
MERCHANT = "merchant"
SUPERVISOR = "supervisor"
AUDITOR = "auditor"
ROLES = (ADMIN, CENTRAL_BANK, OPERATOR, MERCHANT, SUPERVISOR, AUDITOR)


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


# The system itself (CLI seeding, scenario set-up): may do everything.
SYSTEM = Principal(role=ADMIN)
