"""The console's pages, one per task of a role (docs/console.md)."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from flask import (
    Response,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    session,
    stream_with_context,
    url_for,
)
from marshmallow import Schema, fields

from wallets.access import keys
from wallets.audit import checkpoints as cp
from wallets.audit import digest as dg
from wallets.audit import export as ex
from wallets.audit.export.jobs import SUCCEEDED
from wallets.audit.reconcile import reconcile
from wallets.casino import cage, model, registry
from wallets.casino import exclusions as excl
from wallets.casino import gaming_days as gd
from wallets.core import clock, errors
from wallets.events import endpoints as hooks
from wallets.ledger import journal as ledger_journal
from wallets.ledger.money import format_amount, format_cny, parse_signed_amount
from wallets.retail import limits
from wallets.retail import wallet as wl
from wallets.services import exports, sandbox
from wallets.supervision import alerts as al
from wallets.tier1 import history, settlement
from wallets.tier1 import operators as ops

from ..state import database, settings
from ..writes import read, write
from . import bp, charts, formats, page

PAGE_SIZE = 25
ALERT_DAYS = 13  # the alerts chart: today and the 13 days before
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
        figures = [ops.figures(tx, op) for op in ops.list_(tx, g.principal, None, 1000)]
        instants = _spread(ledger_journal.first_posted_at(tx), tx.now(), HISTORY_POINTS)
        return figures, history.tier1_history(tx, g.principal, instants)

    figures, past = read(run)
    money = {"value_text": format_amount, "value_label": format_cny}
    totals = charts.line_chart(
        id="chart-outstanding",
        title="e-CNY outstanding and reserves over the sandbox clock",
        xs=past.instants,
        series=[
            charts.Series("e-CNY outstanding", past.outstanding),
            charts.Series(
                "Free reserves, all operators",
                [sum(v) for v in zip(*past.reserves.values(), strict=True)],
            ),
        ],
        x_label=formats.chart_time,
        **money,
    )
    positions = charts.line_chart(
        id="chart-positions",
        title="Each operator's e-CNY position over the sandbox clock",
        xs=past.instants,
        series=[charts.Series(f"{code} position", v) for code, v in past.positions.items()],
        x_label=formats.chart_time,
        **money,
    )
    return render_template(
        "console/operators.html",
        figures=figures,
        utilisation=[
            (
                f,
                charts.gauge(
                    id=f"gauge-ndc-{f.operator.code}",
                    label=f"{f.operator.code}: net debit in the open window against its cap",
                    used=max(-f.open_window_net, 0),
                    cap=f.net_debit_cap,
                    **money,
                ),
            )
            for f in figures
        ],
        totals=totals,
        positions=positions,
    )


HISTORY_POINTS = 25


def _spread(first: datetime | None, last: datetime, n: int) -> list[datetime]:
    """``n`` instants from ``first`` to ``last`` (the sandbox's now), evenly spread."""
    if first is None or first >= last:
        return [last]
    step = (last - first) / (n - 1)
    return [first + step * i for i in range(n - 1)] + [last]


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

    current, windows, cfg, now = read(lambda tx: (*run(tx), tx.now()))
    more = len(windows) > PAGE_SIZE
    windows = windows[:PAGE_SIZE]
    return render_template(
        "console/settlement.html",
        current=current,
        windows=windows,
        cfg=cfg,
        timeline=_windows_timeline(windows, now),
        gauges=_window_gauges(windows),
        next_after=windows[-1].id if more else None,
        may_close=g.principal.role in ("admin", "central_bank"),
    )


def _windows_timeline(windows, now: datetime):
    """Each window as a span from its opening to its settlement (or now)."""
    if not windows:
        return None
    rows = [
        charts.Row(
            f"Window {w.id}",
            spans=[
                charts.Span(
                    w.opened_at,
                    w.settled_at,
                    f"{w.status}: {formats.chart_time(w.opened_at)} to "
                    + (formats.chart_time(w.settled_at) if w.settled_at else "now"),
                    kind=w.status.lower(),
                )
            ],
        )
        for w in windows
    ]
    return charts.timeline(
        id="chart-windows",
        title="Settlement windows over the sandbox clock (UTC+8)",
        start=windows[0].opened_at,
        end=max(now, windows[-1].settled_at or now),
        rows=rows,
        x_label=formats.chart_time,
    )


def _window_gauges(windows) -> list[tuple]:
    """Per window, each operator's peak debit against its net debit cap."""
    out = []
    for w in windows:
        gauges = [
            (
                p,
                charts.gauge(
                    id=f"gauge-w{w.id}-{p['operator']}",
                    label=f"Window {w.id}, {p['operator']}: peak debit against the net debit cap",
                    used=p["peak_debit"],
                    cap=p["net_debit_cap"],
                    value_text=format_amount,
                    value_label=format_cny,
                ),
            )
            for p in w.positions
            if p["sent"] or p["received"]
        ]
        out.append((w, gauges))
    return out


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
    # The overdue queue comes first, on its own, when no overdue filter is chosen.
    split = overdue is None and after is None
    rest = replace(filters, overdue=False) if split else filters

    def run(tx):
        now = tx.now()
        late = al.list_(tx, g.principal, replace(filters, overdue=True), after=None, limit=500)
        found = al.list_(tx, g.principal, rest, after=after, limit=PAGE_SIZE + 1)
        days = [
            clock.local_midnight(clock.local_date(now) - timedelta(days=n))
            for n in range(ALERT_DAYS, -2, -1)
        ]
        counts = al.counts_per_period(tx, g.principal, days, filters.casino)
        return (late if split else None), found, now, days, counts, al.holidays_of(tx)

    late, found, now, days, counts, holiday = read(run)
    more = len(found) > PAGE_SIZE
    found = found[:PAGE_SIZE]
    per_day = charts.bar_chart(
        id="chart-alerts",
        title=f"Alerts raised per day by type, the last {ALERT_DAYS + 1} days (UTC+8)",
        groups=[f"{clock.local_date(d):%d %b}" for d in days[:-1]],
        series=[charts.Series(t, n[1:]) for t, n in sorted(counts.items())],
        value_text=str,
        value_label=str,
    )
    return render_template(
        "console/alerts.html",
        late=late,
        alerts=found,
        per_day=per_day,
        now=now,
        holiday=holiday,
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
        chips = cage.chip_account_of(tx, c, wallet_id)
        instants = [o.at for o in operations]
        held = ledger_journal.balances_at(tx, [chips], instants)[chips] if chips else []
        return operations, raised, days, held

    operations, raised, days, held = read(run)
    timeline = sorted(
        [("operation", o.at, o) for o in operations] + [("alert", a.raised_at, a) for a in raised],
        key=lambda item: item[1],
    )
    return render_template(
        "console/player.html",
        ref=ref,
        wallet_id=wallet_id,
        timeline=timeline,
        days=days,
        chart=_player_chart(wallet_id, operations, raised, held) if operations else None,
    )


def _player_chart(wallet_id: int, operations, raised, held: list[int]):
    """Chips held (from the journal) and e-CNY into and out of the cage, summed
    operation by operation, with the alerts marked where they were raised."""
    paid_in, paid_out, into, out = [], [], 0, 0
    for o in operations:
        into += o.amount if o.kind == model.BUY_IN else 0
        out += o.amount if o.kind == model.CASH_OUT else 0
        paid_in.append(into)
        paid_out.append(out)
    return charts.line_chart(
        id="chart-player",
        title=f"Player wallet {wallet_id}: chips held and e-CNY at the cage over time (UTC+8)",
        xs=[o.at for o in operations],
        series=[
            charts.Series("Chips held", held or [0] * len(operations)),
            charts.Series("e-CNY in (buy-ins)", paid_in),
            charts.Series("e-CNY out (cash-outs)", paid_out),
        ],
        value_text=format_amount,
        value_label=format_cny,
        x_label=formats.chart_time,
        marks=[
            charts.Mark(
                a.raised_at,
                f"alert {a.id} {a.type}, raised {formats.chart_time(a.raised_at)}: {a.summary}",
                value=f"alert {a.id}",
                kind="alert",
            )
            for a in raised
        ],
        step=True,
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

    casinos = [(c, reports, _gaming_days_chart(c.ref, reports)) for c, reports in read(run)]
    return render_template("console/gaming_days.html", casinos=casinos)


CHART_DAYS = 14


def _gaming_days_chart(ref: str, reports: list[dict]):
    """Buy-ins, cash-outs, GGR and the special gaming tax of the last closed days."""
    if not reports:
        return None
    shown = reports[-CHART_DAYS:]
    figures = (
        ("Buy-ins", lambda r: r["buy_ins"]),
        ("Cash-outs", lambda r: r["cash_outs"]),
        ("GGR", lambda r: r["ggr"]),
        ("Special gaming tax", lambda r: r["special_gaming_tax"]["amount"]),
    )
    return charts.bar_chart(
        id=f"chart-days-{ref}",
        title=f"{ref}: buy-ins, cash-outs, GGR and tax per gaming day",
        groups=[r["gaming_day"] for r in shown],
        series=[
            charts.Series(name, [parse_signed_amount(get(r)) for r in shown])
            for name, get in figures
        ],
        value_text=format_amount,
        value_label=format_cny,
    )


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

    export_dir = settings().export_dir

    def run(tx):
        jobs = None
        if g.principal.role in AUDITORS:
            jobs = [
                ex.job_progress(tx, export_dir, j.id)
                for j in ex.list_jobs(tx, after=None, limit=20)
            ]
        instants = _spread(ledger_journal.first_posted_at(tx), tx.now(), HISTORY_POINTS)
        chain = ledger_journal.chain_length_at(tx, instants)
        marks = cp.list_checkpoints(tx, after=None, limit=MAX_CHECKPOINT_MARKS)
        return reconcile(tx), dg.take(tx, key), jobs, instants, chain, marks

    report, digest, jobs, instants, chain, marks = read(run)
    return render_template(
        "console/audit.html",
        report=report,
        digest=digest,
        jobs=jobs,
        chain=_chain_chart(instants, chain, marks),
        checkpoints=marks,
    )


MAX_CHECKPOINT_MARKS = 200


def _chain_chart(instants, chain: list[int], marks: list[dict]):
    """The hash chain's length over the sandbox clock, each signed checkpoint marked."""
    return charts.line_chart(
        id="chart-chain",
        title="Journal entries in the hash chain over the sandbox clock, with signed checkpoints",
        xs=instants,
        series=[charts.Series("Entries in the chain", chain)],
        value_text=str,
        value_label=lambda n: f"{n:,}",
        x_label=formats.chart_time,
        marks=[
            charts.Mark(
                datetime.fromisoformat(c["time"]),
                f"checkpoint {c['id']} ({c['reason']}) at entry {c['sequence']:,}, "
                f"{formats.chart_time(datetime.fromisoformat(c['time']))}",
                value=str(c["sequence"]),
                kind="checkpoint",
            )
            for c in marks
            if instants and instants[0] <= datetime.fromisoformat(c["time"]) <= instants[-1]
        ],
        step=True,
    )


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


@bp.get("/audit/exports/<int:job_id>/progress")
@page(*AUDITORS)
def export_progress(job_id: int):
    """How far an export job is, as JSON: what the audit page's script polls."""
    p = read(lambda tx: ex.job_progress(tx, settings().export_dir, job_id))
    done = p.job.status == SUCCEEDED
    return {
        "id": p.job.id,
        "status": p.job.status,
        "percent": p.percent,
        "stage": p.stage,
        "done": p.done,
        "total": p.total,
        "error": p.job.error,
        "archive": url_for("console.export_archive", job_id=job_id) if done else None,
        "files": [
            {
                "name": f["name"],
                "url": url_for("console.export_file", job_id=job_id, name=f["name"]),
            }
            for f in p.job.files
        ],
    }


@bp.get("/audit/exports/<int:job_id>/archive")
@page(*AUDITORS)
def export_archive(job_id: int):
    """The whole export as one .tar.gz, streamed (the API's archive, one click away)."""
    directory, names = read(lambda tx: ex.job_archive_files(tx, settings().export_dir, job_id))
    name = ex.archive_name(job_id)
    return Response(
        stream_with_context(ex.tar_gz_chunks(directory, names, name)),
        200,
        mimetype="application/gzip",
        headers={"Content-Disposition": f'attachment; filename="{name}.tar.gz"'},
    )


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


@bp.get("/wallets/<int:wallet_id>")
@page(*WALLET_READERS)
def wallet_page(wallet_id: int):
    """One wallet: its balance and what it paid out, as gauges against its class's caps."""

    def run(tx):
        w = wl.get(tx, wallet_id, g.principal)
        day = clock.local_date(tx.now())
        used = limits.usage(tx, [w.id], day)
        return w, limits.effective(tx, w.operator_id, w.wallet_class), used, day

    w, lim, used, day = read(run)
    caps = lim.as_dict()
    measures = (
        ("balance", "Balance (available + held) against the balance cap", w.balance, "balance_cap"),
        (
            "today",
            f"Paid out today ({day}) against the daily cap",
            used.get((w.id, "day"), 0),
            "daily_out",
        ),
        (
            "year",
            f"Paid out in {day.year} against the annual cap",
            used.get((w.id, "year"), 0),
            "annual_out",
        ),
    )
    gauges = [
        (
            name,
            label,
            charts.gauge(
                id=f"gauge-{name}",
                label=label,
                used=value,
                cap=caps[cap],
                value_text=format_amount,
                value_label=format_cny,
            ),
        )
        for name, label, value, cap in measures
    ]
    return render_template("console/wallet.html", w=w, caps=caps, gauges=gauges, day=day)


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
    state, moves = read(lambda tx: (clock.state(tx), sandbox.quick_moves(tx)))
    return render_template(
        "console/clock.html",
        state=state,
        local_now=state.now.astimezone(clock.SANDBOX_TZ),
        moves=moves,
    )


MOVE_NAMES = {
    sandbox.HOUR: "one hour on",
    sandbox.GAMING_DAY: "to the next gaming day",
    sandbox.CUTOFF: "to the next settlement cut-off",
}


@bp.post("/clock/move")
@page("admin")
def move_clock():
    move = request.form.get("move", "")
    return _act(
        lambda tx: sandbox.quick_move(tx, move),
        f"The clock moved {MOVE_NAMES.get(move, move)}.",
        url_for("console.clock_page"),
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
