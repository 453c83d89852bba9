"""The console's pages, one per task of a role (docs/console.md)."""

from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal, InvalidOperation

from flask import flash, g, redirect, render_template, request, send_file, session, url_for
from marshmallow import Schema, fields

from wallets.access import keys
from wallets.audit import digest as dg
from wallets.audit import export as ex
from wallets.audit.reconcile import reconcile
from wallets.casino import cage, registry
from wallets.casino import exclusions as excl
from wallets.casino import gaming_days as gd
from wallets.core import clock, errors
from wallets.events import endpoints as hooks
from wallets.ledger import journal as ledger_journal
from wallets.retail import limits
from wallets.retail import wallet as wl
from wallets.services import exports, sandbox
from wallets.supervision import alerts as al
from wallets.tier1 import operators as ops
from wallets.tier1 import settlement

from ..state import database, settings
from ..writes import read, write
from . import bp, page

PAGE_SIZE = 25
MAX_PAGE_SIZE = 100

CENTRAL = ("admin", "central_bank", "auditor")
EXCLUSION_READERS = ("admin", "auditor", "supervisor")
CASINO_READERS = ("admin", "auditor", "merchant", "supervisor")
ALERT_READERS = ("admin", "auditor", "central_bank", "merchant", "supervisor")
ALERT_DECIDERS = ("admin", "central_bank", "supervisor")
AUDITORS = ("admin", "auditor")
WALLET_READERS = ("admin", "auditor", "operator")
EVERY_ROLE = ("admin", "central_bank", "operator", "merchant", "supervisor", "auditor")
# The auditor reads the deliveries of no endpoint of its own (it makes none).
WEBHOOK_WRITERS = ("admin", "central_bank", "operator", "merchant", "supervisor")

# The menu: (endpoint, label, roles that see it).
MENU = (
    ("console.operators", "Operators", CENTRAL),
    ("console.settlement_page", "Settlement", CENTRAL),
    ("console.alerts", "Alerts", ALERT_READERS),
    ("console.exclusions", "Exclusions", EXCLUSION_READERS),
    ("console.gaming_days", "Gaming days", CASINO_READERS),
    ("console.journal", "Journal", AUDITORS),
    ("console.audit", "Audit", CENTRAL),
    ("console.wallets", "Wallets", WALLET_READERS),
    ("console.webhooks", "Webhooks", EVERY_ROLE),
    ("console.clock_page", "Clock", ("admin",)),
)


@bp.app_context_processor
def _menu():
    p = g.get("principal")
    if p is None or request.blueprint != "console":
        return {}
    return {"menu": [(e, label) for e, label, roles in MENU if p.role in roles], "me": p}


class _Ref(Schema):
    """What the audit log records of a console action: the id it acted on."""

    id = fields.Raw()


def _act(use_case, done: str, back: str, after=None):
    """Run a console action as one audited write, then go back with a message."""
    try:
        write(use_case, _Ref(), status=200, after=after)
    except errors.DomainError as exc:
        flash(f"{exc.code}: {exc.detail}", "error")
    else:
        flash(done, "ok")
    return redirect(back)


def _limit() -> int:
    """The page size: ``?limit=`` from 1 to 100, else PAGE_SIZE."""
    asked = _int_arg("limit")
    return asked if asked is not None and 1 <= asked <= MAX_PAGE_SIZE else PAGE_SIZE


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "").strip()
    return int(value) if value.isdigit() else None


# ---- sign in and out ------------------------------------------------------------------


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    if request.method == "POST":
        secret = request.form.get("api_key", "").strip()
        principal = database().read(keys.authenticate, secret) if secret else None
        if principal is None:
            return render_template("console/sign_in.html", failed=True), 401
        session.clear()  # a new session, and a new CSRF token, on sign-in
        session["key_hash"] = keys.hash_key(secret)
        session["csrf_token"] = secrets.token_urlsafe(32)
        target = request.args.get("next", "")
        # Only our own pages: never an open redirect.
        if not target.startswith("/console/") or target.startswith("//"):
            target = url_for("console.home")
        return redirect(target)
    if g.principal is not None:
        return redirect(url_for("console.home"))
    return render_template("console/sign_in.html", failed=False)


@bp.post("/sign-out")
def sign_out():
    session.clear()
    flash("Signed out.", "ok")
    return redirect(url_for("console.sign_in"))


@bp.get("/")
def home():
    state = read(clock.state)
    return render_template(
        "console/home.html", now=state.now, local_now=state.now.astimezone(clock.SANDBOX_TZ)
    )


# ---- the central bank ---------------------------------------------------------------------


@bp.get("/operators")
@page(*CENTRAL)
def operators():
    def run(tx):
        return [ops.figures(tx, op) for op in ops.list_(tx, g.principal, None, 1000)]

    figures = read(run)
    return render_template(
        "console/operators.html", figures=figures, chart=_utilisation_chart(figures)
    )


def _utilisation_chart(figures) -> dict:
    """Bars of each operator's net debit cap utilisation, for an SVG drawn server-side."""
    bars = []
    for f in figures:
        percent = f.utilisation_percent
        value = Decimal(percent) if percent is not None else Decimal(0)
        # A debit too small to draw still shows as a sliver (SVG widths in %, as text).
        width = (
            min(value, Decimal(100)) if value == 0 or value >= Decimal("0.4") else Decimal("0.4")
        )
        bars.append({"code": f.operator.code, "percent": percent, "width": width})
    return {"bars": bars, "height": 30 * len(bars) + 30}


@bp.get("/settlement")
@page(*CENTRAL)
def settlement_page():
    after = _int_arg("after")

    def run(tx):
        try:
            current = settlement.current(tx)
        except errors.DomainError as exc:
            if exc.code != errors.NO_OPEN_WINDOW:
                raise
            current = None
        windows = settlement.list_(tx, after, PAGE_SIZE + 1)
        return current, windows, settlement.settings(tx)

    current, windows, cfg = read(run)
    more = len(windows) > PAGE_SIZE
    windows = windows[:PAGE_SIZE]
    return render_template(
        "console/settlement.html",
        current=current,
        windows=windows,
        cfg=cfg,
        next_after=windows[-1].id if more else None,
        may_close=g.principal.role in ("admin", "central_bank"),
    )


@bp.post("/settlement/close")
@page("admin", "central_bank")
def close_window():
    return _act(
        lambda tx: settlement.close(tx),
        "The window is closed and settled.",
        url_for("console.settlement_page"),
    )


@bp.get("/settlement/windows/<int:window_id>")
@page(*CENTRAL)
def settlement_report(window_id: int):
    report = read(lambda tx: settlement.stored_report(tx, window_id))
    return render_template(
        "console/report.html",
        window_id=window_id,
        report=report,
        rows=settlement.report_rows(report),
    )


# ---- supervisors --------------------------------------------------------------------------


@bp.get("/alerts")
@page(*ALERT_READERS)
def alerts():
    status = request.args.get("status") or None
    overdue = {"yes": True, "no": False}.get(request.args.get("overdue", ""))
    filters = al.AlertFilters(
        casino=request.args.get("casino") or None,
        type=request.args.get("type") or None,
        status=status if status in al.STATUSES else None,
        overdue=overdue,
    )
    after = _int_arg("after")

    def run(tx):
        found = al.list_(tx, g.principal, filters, after=after, limit=PAGE_SIZE + 1)
        return found, tx.now()

    found, now = read(run)
    more = len(found) > PAGE_SIZE
    found = found[:PAGE_SIZE]
    return render_template(
        "console/alerts.html",
        alerts=found,
        now=now,
        filters=filters,
        statuses=al.STATUSES,
        next_after=found[-1].id if more else None,
        may_decide=g.principal.role in ALERT_DECIDERS,
    )


@bp.post("/alerts/<int:alert_id>/<any(acknowledge, escalate, dismiss):action>")
@page(*ALERT_DECIDERS)
def decide_alert(alert_id: int, action: str):
    note = request.form.get("note", "").strip() or None
    done = {"acknowledge": "acknowledged", "escalate": "escalated", "dismiss": "dismissed"}
    back = request.form.get("back") or ""
    return _act(
        lambda tx: al.change_status(tx, alert_id, g.principal, action, note),
        f"Alert {alert_id} {done[action]}.",
        back if back.startswith("/console/") else url_for("console.alerts"),
    )


@bp.get("/casinos/<ref>/players/<int:wallet_id>")
@page(*CASINO_READERS)
def player(ref: str, wallet_id: int):
    """A player's casino activity and alerts, oldest first."""

    def run(tx):
        c = registry.get(tx, ref, g.principal)
        operations = cage.list_operations(tx, c, wallet_id=wallet_id, limit=500)
        raised = al.list_(
            tx, g.principal, al.AlertFilters(casino=ref, wallet_id=wallet_id), after=None, limit=500
        )
        days = cage.list_player_days(
            tx, c, gaming_day=None, wallet_id=wallet_id, after=None, limit=500
        )
        return operations, raised, days

    operations, raised, days = read(run)
    timeline = sorted(
        [("operation", o.at, o) for o in operations] + [("alert", a.raised_at, a) for a in raised],
        key=lambda item: item[1],
    )
    return render_template(
        "console/player.html", ref=ref, wallet_id=wallet_id, timeline=timeline, days=days
    )


@bp.get("/exclusions")
@page(*EXCLUSION_READERS)
def exclusions():
    holder = request.args.get("holder") or None
    after = _int_arg("after")

    def run(tx):
        return excl.list_(
            tx, g.principal, holder_id=holder, after=after, limit=PAGE_SIZE + 1
        ), tx.now()

    found, now = read(run)
    more = len(found) > PAGE_SIZE
    found = found[:PAGE_SIZE]
    return render_template(
        "console/exclusions.html",
        exclusions=found,
        now=now,
        holder=holder,
        next_after=found[-1].id if more else None,
    )


@bp.get("/gaming-days")
@page(*CASINO_READERS)
def gaming_days():
    def run(tx):
        return [
            (c, gd.list_(tx, c.ref, g.principal, after=None, limit=60))
            for c in registry.list_(tx, g.principal, None, 100)
        ]

    return render_template("console/gaming_days.html", casinos=read(run))


# ---- auditors -----------------------------------------------------------------------------


@bp.get("/journal")
@page(*AUDITORS)
def journal():
    wallet_id = _int_arg("wallet")
    operator = (request.args.get("operator") or "").strip().upper() or None
    after, limit = _int_arg("after"), _limit()

    def run(tx):
        operator_id = ops.get(tx, operator, g.principal).id if operator else None
        found = ledger_journal.list_transfers(
            tx, wallet_id=wallet_id, operator_id=operator_id, after=after, limit=limit + 1
        )
        return found, ops.codes_by_id(tx)

    found, codes = read(run)
    more = len(found) > limit
    found = found[:limit]
    return render_template(
        "console/journal.html",
        transfers=found,
        codes=codes,
        wallet_id=wallet_id,
        operator=operator,
        limit=limit,
        next_after=found[-1].id if more else None,
    )


@bp.get("/audit")
@page(*CENTRAL)
def audit():
    key = dg.load_or_create_key(settings().signing_key_path)

    def run(tx):
        jobs = ex.list_jobs(tx, after=None, limit=20) if g.principal.role in AUDITORS else None
        return reconcile(tx), dg.take(tx, key), jobs

    report, digest, jobs = read(run)
    return render_template("console/audit.html", report=report, digest=digest, jobs=jobs)


@bp.post("/audit/exports")
@page(*AUDITORS)
def create_export():
    try:
        filters = ex.parse_filters(
            request.form.get("from") or None,
            request.form.get("to") or None,
            request.form.get("operator") or None,
            _form_int("wallet"),
            None,
        )
    except errors.DomainError as exc:
        flash(f"{exc.code}: {exc.detail}", "error")
        return redirect(url_for("console.audit"))
    db, cfg = database(), settings()
    return _act(
        lambda tx: ex.create_job(tx, filters, g.principal),
        "Export job queued.",
        url_for("console.audit") + "#exports",
        after=lambda job: exports.start(db, job, cfg.export_dir, cfg.signing_key_path),
    )


def _form_int(name: str) -> int | None:
    value = request.form.get(name, "").strip()
    return int(value) if value.isdigit() else None


@bp.get("/audit/exports/<int:job_id>/files/<path:name>")
@page(*AUDITORS)
def export_file(job_id: int, name: str):
    path = read(lambda tx: ex.job_file(tx, settings().export_dir, job_id, name))
    return send_file(path, as_attachment=True, download_name=path.name)


# ---- testers and the admin ----------------------------------------------------------------


@bp.get("/wallets")
@page(*WALLET_READERS)
def wallets():
    after = _int_arg("after")

    def run(tx):
        found = wl.list_(tx, g.principal, operator_code=None, after=after, limit=PAGE_SIZE + 1)
        day = clock.local_date(tx.now())
        used = limits.usage(tx, [w.id for w in found], day)
        effective = {
            (w.operator_id, w.wallet_class): limits.effective(tx, w.operator_id, w.wallet_class)
            for w in found
        }
        return found, used, effective, day

    found, used, effective, day = read(run)
    more = len(found) > PAGE_SIZE
    found = found[:PAGE_SIZE]
    rows = [
        {
            "wallet": w,
            "limits": effective[(w.operator_id, w.wallet_class)],
            "used_today": used.get((w.id, "day"), 0),
        }
        for w in found
    ]
    return render_template(
        "console/wallets.html", rows=rows, day=day, next_after=found[-1].id if more else None
    )


@bp.get("/webhooks")
@page(*EVERY_ROLE)
def webhooks():
    """The webhook endpoints of the key's scope (docs/events.md)."""
    after = _int_arg("after")
    found = read(lambda tx: hooks.list_(tx, g.principal, after=after, limit=PAGE_SIZE + 1))
    more = len(found) > PAGE_SIZE
    found = found[:PAGE_SIZE]
    return render_template(
        "console/webhooks.html", endpoints=found, next_after=found[-1].id if more else None
    )


@bp.get("/webhooks/<id32:endpoint_id>")
@page(*EVERY_ROLE)
def webhook_deliveries(endpoint_id: int):
    """An endpoint's deliveries, newest page last, with their redelivery."""
    after = _int_arg("after")
    limit = _limit()

    def run(tx):
        endpoint = hooks.get(tx, g.principal, endpoint_id)
        found = hooks.deliveries(
            tx, g.principal, endpoint_id, status=None, after=after, limit=limit + 1
        )
        return endpoint, found

    try:
        endpoint, found = read(run)
    except errors.DomainError as exc:
        return render_template("console/error.html", title="Not found", message=exc.detail), 404
    more = len(found) > limit
    found = found[:limit]
    return render_template(
        "console/webhook_deliveries.html",
        endpoint=endpoint,
        deliveries=found,
        next_after=found[-1].id if more else None,
        may_redeliver=g.principal.role in WEBHOOK_WRITERS,
    )


@bp.post("/webhooks/<id32:endpoint_id>/deliveries/<int:delivery_id>/redeliver")
@page(*WEBHOOK_WRITERS)
def redeliver_webhook(endpoint_id: int, delivery_id: int):
    back = request.form.get("back") or ""
    return _act(
        lambda tx: hooks.redeliver(tx, g.principal, endpoint_id, delivery_id),
        f"Event of delivery {delivery_id} queued again (sent at the next dispatch).",
        back
        if back.startswith("/console/")
        else url_for("console.webhook_deliveries", endpoint_id=endpoint_id),
    )


@bp.get("/clock")
@page("admin")
def clock_page():
    state = read(clock.state)
    return render_template(
        "console/clock.html", state=state, local_now=state.now.astimezone(clock.SANDBOX_TZ)
    )


@bp.post("/clock/set")
@page("admin")
def set_clock():
    try:
        when = datetime.fromisoformat(request.form.get("now", "").strip())
    except ValueError:
        flash("Give the time as ISO 8601, e.g. 2026-03-01T09:00:00+08:00.", "error")
        return redirect(url_for("console.clock_page"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=clock.SANDBOX_TZ)
    fixed = request.form.get("fixed") == "on"
    return _act(
        lambda tx: sandbox.set_clock(tx, when, fixed),
        "The clock is set.",
        url_for("console.clock_page"),
    )


@bp.post("/clock/advance")
@page("admin")
def advance_clock():
    try:
        seconds = int(Decimal(request.form.get("seconds", "")))
    except (InvalidOperation, ValueError):
        seconds = 0
    if seconds <= 0:
        flash("Advance by a positive number of seconds.", "error")
        return redirect(url_for("console.clock_page"))
    return _act(
        lambda tx: sandbox.advance_clock(tx, seconds),
        f"The clock moved {seconds} s forward.",
        url_for("console.clock_page"),
    )
