from __future__ import annotations

from wallets.supervision import alerts as al

from .. import present
from ..auth import current_principal, roles
from ..schemas.alerts import AlertListArgs, AlertOut, DismissBody, EscalateBody
from ..schemas.common import page_of
from ..writes import read, write
from .common import WRITE_PROBLEMS, Blueprint, int_cursor, problems

blp = Blueprint(
    "alerts",
    __name__,
    url_prefix="/v1/alerts",
    description="Alerts of the supervision rules: acknowledge, escalate to an STR, or dismiss",
)

AlertPage = page_of(AlertOut, "AlertPage")
READERS = ("admin", "auditor", "central_bank", "merchant", "supervisor")
DECIDERS = ("admin", "central_bank", "supervisor")


def _alert(tx, a: al.Alert) -> dict:
    return {**a.__dict__, "overdue": a.overdue(tx.now()), "filed_late": a.filed_late}


@blp.route("", methods=["GET"])
@blp.arguments(AlertListArgs(), location="query")
@blp.response(200, AlertPage)
@problems(blp, 422)
@roles(*READERS)
def list_alerts(args):
    """Alerts by id; filter by casino, type, status, wallet and `overdue` (not yet
    escalated or dismissed, past their due time). Supervisors and merchants see
    their casinos'; the central bank those tied to no casino."""
    after = int_cursor(args["after"])

    def run(tx):
        filters = al.AlertFilters(
            casino=args.get("casino"),
            type=args.get("type"),
            status=args.get("status"),
            overdue=args.get("overdue"),
            wallet_id=args.get("wallet"),
        )
        found = al.list_(tx, current_principal(), filters, after=after, limit=args["limit"] + 1)
        return present.page([_alert(tx, a) for a in found], args["limit"], lambda a: a["id"])

    return read(run)


@blp.route("/<int:alert_id>", methods=["GET"])
@blp.response(200, AlertOut)
@problems(blp, 404)
@roles(*READERS)
def get_alert(alert_id):
    """One alert with its evidence."""
    return read(lambda tx: _alert(tx, al.get(tx, alert_id, current_principal())))


@blp.route("/<int:alert_id>/acknowledge", methods=["POST"])
@blp.response(200, AlertOut)
@problems(blp, *WRITE_PROBLEMS)
@roles(*DECIDERS)
def acknowledge_alert(alert_id):
    """Acknowledge an open alert: someone is looking at it."""
    return write(
        lambda tx: al.change_status(tx, alert_id, current_principal(), "acknowledge"),
        AlertOut,
        status=200,
        present=_alert,
    )


@blp.route("/<int:alert_id>/escalate", methods=["POST"])
@blp.arguments(EscalateBody())
@blp.response(200, AlertOut)
@problems(blp, *WRITE_PROBLEMS)
@roles(*DECIDERS)
def escalate_alert(body, alert_id):
    """Escalate an acknowledged alert to a suspicious transaction report (STR):
    it gets its STR reference; `filed_late` says whether that was after its due time."""
    return write(
        lambda tx: al.change_status(
            tx, alert_id, current_principal(), "escalate", body.get("note")
        ),
        AlertOut,
        status=200,
        present=_alert,
    )


@blp.route("/<int:alert_id>/dismiss", methods=["POST"])
@blp.arguments(DismissBody())
@blp.response(200, AlertOut)
@problems(blp, *WRITE_PROBLEMS)
@roles(*DECIDERS)
def dismiss_alert(body, alert_id):
    """Dismiss an acknowledged alert, with the reason."""
    return write(
        lambda tx: al.change_status(tx, alert_id, current_principal(), "dismiss", body["reason"]),
        AlertOut,
        status=200,
        present=_alert,
    )
