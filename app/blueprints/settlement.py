from __future__ import annotations

import csv
import io

from flask import Response

from wallets.tier1 import operators as ops
from wallets.tier1 import settlement

from .. import present
from ..auth import current_principal, roles
from ..openapi import takes_if_match
from ..schemas.common import IdPageArgs, page_of
from ..schemas.operators import OperatorOut
from ..schemas.settlement import (
    NetDebitCapBody,
    ReportArgs,
    SettlementReportOut,
    SettlementSettingsBody,
    SettlementSettingsOut,
    WindowOut,
)
from ..writes import read, write
from .common import WRITE_PROBLEMS, Blueprint, etag_header, if_match, int_cursor, problems

blp = Blueprint(
    "settlement",
    __name__,
    url_prefix="/v1/settlement",
    description="Settlement between operators: gross or deferred net windows, net debit caps, reports",
)

WindowPage = page_of(WindowOut, "WindowPage")
READERS = ("admin", "central_bank", "auditor")
SETTINGS_ETAG = etag_header("settlement settings")


@blp.route("/settings", methods=["GET"])
@blp.response(200, SettlementSettingsOut, headers=SETTINGS_ETAG)
@problems(blp)
@roles(*READERS, "operator")
def get_settings():
    """The settlement model and its settings."""
    found = read(settlement.settings)
    return found, 200, {"ETag": settlement.settings_etag(found)}


@blp.route("/settings", methods=["PUT"])
@blp.arguments(SettlementSettingsBody())
@blp.response(200, SettlementSettingsOut, headers=SETTINGS_ETAG)
@problems(blp, *WRITE_PROBLEMS, 412)
@takes_if_match(required=False)
@roles("admin", "central_bank")
def update_settings(body):
    """Choose the model (`gross` or `deferred_net`; back to gross only while the
    open window has no transfers), the default NDC ratio, the alert percentage
    and the daily cut-off (UTC+8, null for none). `If-Match` is optional: when
    sent, it must match the settings' ETag."""
    precondition = if_match()
    return write(
        lambda tx: settlement.update_settings(tx, **body, if_match=precondition),
        SettlementSettingsOut,
        status=200,
        headers=lambda tx, found: {"ETag": settlement.settings_etag(found)},
    )


@blp.route("/windows", methods=["GET"])
@blp.arguments(IdPageArgs(), location="query")
@blp.response(200, WindowPage)
@problems(blp, 422)
@roles(*READERS)
def list_windows(args):
    """Settlement windows, oldest first."""
    after = int_cursor(args["after"])
    return read(
        lambda tx: present.page(
            settlement.list_(tx, after, args["limit"] + 1), args["limit"], lambda w: w.id
        )
    )


@blp.route("/windows/current", methods=["GET"])
@blp.response(200, WindowOut)
@problems(blp, 409)
@roles(*READERS)
def current_window():
    """The OPEN window with each operator's live gross and net positions, NDC and utilisation."""
    return read(settlement.current)


@blp.route("/windows/current/close", methods=["POST"])
@blp.response(200, WindowOut)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin", "central_bank")
def close_window():
    """Close the open window: net positions are computed (they sum to zero), the
    tier-1 moves are posted, the window is SETTLED and the next one opens."""
    return write(lambda tx: settlement.close(tx), WindowOut, status=200)


@blp.route("/windows/<int:window_id>", methods=["GET"])
@blp.response(200, WindowOut)
@problems(blp, 404)
@roles(*READERS)
def get_window(window_id):
    """One window."""
    return read(lambda tx: settlement.get(tx, window_id))


@blp.route("/windows/<int:window_id>/report", methods=["GET"])
@blp.arguments(ReportArgs(), location="query")
@blp.response(200, SettlementReportOut)
@blp.doc(
    responses={
        "200": {
            "description": "The report: as JSON, or with `format=csv` as CSV (text/csv), "
            "one row per operator",
            "content": {
                "application/json": {"schema": SettlementReportOut},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    }
)
@problems(blp, 404, 409)
@roles(*READERS)
def get_report(args, window_id):
    """The settlement report stored when the window settled: per operator gross
    sent and received, net, NDC, peak utilisation, and the tier-1 moves posted."""
    report = read(lambda tx: settlement.stored_report(tx, window_id))
    if args["format"] == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=settlement.REPORT_CSV_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(settlement.report_rows(report))
        return Response(out.getvalue(), 200, mimetype="text/csv")
    return report


@blp.route("/operators/<code>/net-debit-cap", methods=["PUT"])
@blp.arguments(NetDebitCapBody())
@blp.response(200, OperatorOut, headers=etag_header("operator"))
@problems(blp, *WRITE_PROBLEMS, 412)
@takes_if_match(required=False)
@roles("admin", "central_bank")
def set_net_debit_cap(body, code):
    """Set the operator's net debit cap (null: its free reserve x the NDC ratio).
    `If-Match` is optional: when sent, it must match the operator's ETag
    (`GET /v1/operators/{code}`)."""
    precondition = if_match()

    def run(tx):
        op = ops.get(tx, code, current_principal())
        ops.set_net_debit_cap(tx, op, body["net_debit_cap"], if_match=precondition)
        return op

    return write(
        run,
        OperatorOut,
        status=200,
        present=present.operator,
        headers=lambda tx, op: {"ETag": ops.etag(tx, op)},
    )
