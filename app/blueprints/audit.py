from __future__ import annotations

from flask_smorest import Blueprint

from wallets.audit.reconcile import reconcile

from ..auth import roles
from ..schemas import ReconciliationOut
from ..writes import read
from .common import problems

blp = Blueprint("audit", __name__, url_prefix="/v1/audit", description="Reconciliation and audit")


@blp.route("/reconciliation", methods=["GET"])
@blp.response(200, ReconciliationOut)
@problems(blp)
@roles("admin", "central_bank", "auditor")
def reconciliation():
    """Check the ledger's invariants (SPEC.md §3) on the live database, with their figures."""
    return read(reconcile)
